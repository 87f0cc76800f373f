//! Framing and padding rules (librosa.stft semantics), shared by both paths.

use crate::error::{Error, Result};

/// The largest `n_fft` a plan accepts: 2^22 samples (95 s at 44.1 kHz), the same bound as the
/// CQT's longest filter. Above it a CPU FFT plan of an awkward length (a large prime factor)
/// takes seconds and gigabytes to build (n_fft = 16_777_213: 6 s and 2.6 GB for the f64
/// forward plan alone), so larger values are refused with an error instead.
pub const MAX_N_FFT: usize = 1 << 22;

/// How the signal is extended past its ends when `center` is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PadMode {
    /// Zeros (librosa's default, `pad_mode="constant"`).
    #[default]
    Constant,
    /// Mirror without repeating the edge sample (`numpy.pad(mode="reflect")`).
    Reflect,
}

impl PadMode {
    /// Parses `constant` or `reflect`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "constant" | "zeros" => Ok(PadMode::Constant),
            "reflect" => Ok(PadMode::Reflect),
            other => Err(Error::param(
                "pad_mode",
                format!("unknown pad mode `{other}` (expected constant or reflect)"),
            )),
        }
    }
}

/// Framing of one signal: frame `f` covers unpadded sample indices
/// `f * hop - left_pad .. f * hop - left_pad + n_fft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framing {
    pub n_fft: usize,
    pub hop: usize,
    pub center: bool,
    pub pad_mode: PadMode,
}

impl Framing {
    pub fn left_pad(&self) -> usize {
        if self.center {
            self.n_fft / 2
        } else {
            0
        }
    }

    /// Number of frames for a signal of `len` samples, as librosa counts them.
    pub fn frames(&self, len: usize, input: &str) -> Result<usize> {
        let padded = if self.center {
            len + 2 * (self.n_fft / 2)
        } else {
            len
        };
        if len == 0 {
            return Err(Error::audio(input, "no samples"));
        }
        if padded < self.n_fft {
            return Err(Error::audio(
                input,
                format!(
                    "{len} samples is shorter than n_fft = {} with center=false (use center=true or a smaller n_fft)",
                    self.n_fft
                ),
            ));
        }
        if self.center && self.pad_mode == PadMode::Reflect && len < 2 && self.n_fft > 1 {
            return Err(Error::audio(
                input,
                "reflect padding needs at least 2 samples",
            ));
        }
        Ok(1 + (padded - self.n_fft) / self.hop)
    }
}

/// Index into a signal of `len >= 1` samples for the (possibly out-of-range) index `t`,
/// or None where the padded value is zero. numpy's "reflect" extended past one period
/// is the periodic fold with period `2 (len - 1)`.
#[inline]
pub(crate) fn padded_index(t: i64, len: usize, mode: PadMode) -> Option<usize> {
    let n = len as i64;
    if (0..n).contains(&t) {
        return Some(t as usize);
    }
    match mode {
        PadMode::Constant => None,
        PadMode::Reflect => {
            if n == 1 {
                return Some(0);
            }
            let period = 2 * (n - 1);
            let mut i = t.rem_euclid(period);
            if i >= n {
                i = period - i;
            }
            Some(i as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([0,1,2,3], 5, mode="reflect") -> [1 2 3 2 1 | 0 1 2 3 | 2 1 0 1 2]
        let idx: Vec<usize> = (-5..9)
            .map(|t| padded_index(t, 4, PadMode::Reflect).unwrap())
            .collect();
        assert_eq!(idx, vec![1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
        assert_eq!(padded_index(-1, 4, PadMode::Constant), None);
    }

    #[test]
    fn frame_counts() {
        let f = Framing {
            n_fft: 512,
            hop: 128,
            center: true,
            pad_mode: PadMode::Constant,
        };
        assert_eq!(f.frames(1000, "x").unwrap(), 1 + 1000 / 128);
        let f = Framing {
            n_fft: 1023,
            hop: 100,
            center: true,
            pad_mode: PadMode::Constant,
        };
        assert_eq!(f.frames(1000, "x").unwrap(), 1 + 999 / 100);
        let f = Framing {
            n_fft: 512,
            hop: 128,
            center: false,
            pad_mode: PadMode::Constant,
        };
        assert_eq!(f.frames(1000, "x").unwrap(), 1 + (1000 - 512) / 128);
        assert!(f.frames(300, "x").is_err());
        assert!(f.frames(0, "x").is_err());
    }
}
