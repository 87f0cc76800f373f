//! Mel filterbanks, as `librosa.filters.mel`.

use crate::error::{Error, Result};

/// Normalisation of the mel filters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum MelNorm {
    /// Divide each triangle by its width in Hz (Slaney's constant-area filters; librosa's default).
    #[default]
    Slaney,
    /// Peak 1 triangles (`norm=None`).
    None,
}

/// Hz to mel: Slaney's scale (linear below 1 kHz, log above; librosa's default) or HTK.
pub fn hz_to_mel(f: f64, htk: bool) -> f64 {
    if htk {
        return 2595.0 * (1.0 + f / 700.0).log10();
    }
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

/// Mel to Hz, the inverse of [`hz_to_mel`].
pub fn mel_to_hz(m: f64, htk: bool) -> f64 {
    if htk {
        return 700.0 * (10f64.powf(m / 2595.0) - 1.0);
    }
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// The parameters of a mel filterbank (librosa.filters.mel).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelParams {
    /// Sample rate in Hz.
    pub sr: u32,
    /// FFT length.
    pub n_fft: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest frequency, Hz.
    pub fmin: f64,
    /// Highest frequency, Hz (librosa: `sr / 2` when None).
    pub fmax: f64,
    /// HTK mel scale instead of Slaney's.
    pub htk: bool,
    /// Filter normalisation.
    pub norm: MelNorm,
}

impl MelParams {
    /// Checks the parameters; the error names the one at fault.
    pub fn validate(&self) -> Result<()> {
        if self.sr == 0 {
            return Err(Error::param("sr", "must be > 0"));
        }
        if self.n_mels == 0 || self.n_mels > 4096 {
            return Err(Error::param(
                "n_mels",
                format!("must be in 1..=4096, got {}", self.n_mels),
            ));
        }
        if !(self.fmin.is_finite() && self.fmin >= 0.0) {
            return Err(Error::param(
                "fmin",
                format!("must be finite and >= 0, got {}", self.fmin),
            ));
        }
        if !(self.fmax.is_finite() && self.fmax > self.fmin) {
            return Err(Error::param(
                "fmax",
                format!(
                    "must be finite and > fmin ({}), got {}",
                    self.fmin, self.fmax
                ),
            ));
        }
        Ok(())
    }
}

/// The band edges `mel_f` (n_mels + 2 frequencies in Hz) and the FFT bin frequencies.
fn edges(p: &MelParams) -> Result<(Vec<f64>, Vec<f64>)> {
    p.validate()?;
    let n_freq = p.n_fft / 2 + 1;
    // np.fft.rfftfreq(n_fft, 1 / sr)
    let fftfreqs: Vec<f64> = (0..n_freq)
        .map(|k| k as f64 * p.sr as f64 / p.n_fft as f64)
        .collect();
    let (mmin, mmax) = (hz_to_mel(p.fmin, p.htk), hz_to_mel(p.fmax, p.htk));
    let n_pts = p.n_mels + 2;
    let mel_f: Vec<f64> = (0..n_pts)
        .map(|i| mel_to_hz(mmin + (mmax - mmin) * i as f64 / (n_pts - 1) as f64, p.htk))
        .collect();
    Ok((mel_f, fftfreqs))
}

/// Band `i`'s weight at frequency `f` (librosa's triangle, times the Slaney norm).
#[inline]
fn weight(p: &MelParams, mel_f: &[f64], i: usize, f: f64) -> f64 {
    let (lo, c, hi) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
    let enorm = match p.norm {
        MelNorm::Slaney => 2.0 / (hi - lo),
        MelNorm::None => 1.0,
    };
    let lower = (f - lo) / (c - lo);
    let upper = (hi - f) / (hi - c);
    lower.min(upper).max(0.0) * enorm
}

/// The dense `(n_mels, n_fft / 2 + 1)` filterbank, row-major, computed in f64.
pub fn mel_filterbank(p: &MelParams) -> Result<Vec<f64>> {
    let (mel_f, fftfreqs) = edges(p)?;
    let n_freq = fftfreqs.len();
    let mut w = vec![0.0f64; p.n_mels * n_freq];
    for i in 0..p.n_mels {
        for (k, &f) in fftfreqs.iter().enumerate() {
            w[i * n_freq + k] = weight(p, &mel_f, i, f);
        }
    }
    Ok(w)
}

/// A filterbank stored sparse: each band keeps only its nonzero run of bins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SparseBank {
    /// Per band: (first bin, number of bins, offset into `weights`).
    pub bands: Vec<[u32; 3]>,
    /// The weights, band after band, as f32 (librosa's melspectrogram uses an f32 basis).
    pub weights: Vec<f32>,
}

impl SparseBank {
    /// The mel filterbank built sparse directly: each band visits only the bins inside its
    /// triangle, so memory is O(nonzero weights) whatever n_fft is.
    pub fn mel(p: &MelParams) -> Result<Self> {
        let (mel_f, fftfreqs) = edges(p)?;
        let bin = p.sr as f64 / p.n_fft as f64;
        let n_freq = fftfreqs.len();
        let mut bands = Vec::with_capacity(p.n_mels);
        let mut weights = Vec::new();
        for i in 0..p.n_mels {
            // Bins strictly inside (lo, hi), widened by one each side against rounding.
            let first = ((mel_f[i] / bin).floor().max(0.0) as usize).min(n_freq);
            let last =
                (((mel_f[i + 2] / bin).ceil().max(0.0) as usize).saturating_add(1)).min(n_freq);
            let ws: Vec<(usize, f64)> = (first..last)
                .map(|k| (k, weight(p, &mel_f, i, fftfreqs[k])))
                .filter(|&(_, w)| w != 0.0)
                .collect();
            match (ws.first(), ws.last()) {
                (Some(&(f, _)), Some(&(l, _))) => {
                    bands.push([f as u32, (l + 1 - f) as u32, weights.len() as u32]);
                    weights.extend((f..=l).map(|k| weight(p, &mel_f, i, fftfreqs[k]) as f32));
                }
                _ => bands.push([0, 0, weights.len() as u32]),
            }
        }
        Ok(SparseBank { bands, weights })
    }

    pub fn from_dense(dense: &[f64], n_bands: usize, n_freq: usize) -> Self {
        let mut bands = Vec::with_capacity(n_bands);
        let mut weights = Vec::new();
        for b in 0..n_bands {
            let row = &dense[b * n_freq..(b + 1) * n_freq];
            let first = row.iter().position(|&x| x != 0.0);
            let last = row.iter().rposition(|&x| x != 0.0);
            match (first, last) {
                (Some(f), Some(l)) => {
                    bands.push([f as u32, (l + 1 - f) as u32, weights.len() as u32]);
                    weights.extend(row[f..=l].iter().map(|&x| x as f32));
                }
                _ => bands.push([0, 0, weights.len() as u32]),
            }
        }
        SparseBank { bands, weights }
    }

    /// `out[b] = sum_k w[b, k] * spec[k]`, accumulated in f64.
    #[inline]
    pub fn apply(&self, spec: &[f64], out: &mut [f32]) {
        for (o, &[first, len, off]) in out.iter_mut().zip(&self.bands) {
            let (first, len, off) = (first as usize, len as usize, off as usize);
            let s: f64 = self.weights[off..off + len]
                .iter()
                .zip(&spec[first..first + len])
                .map(|(&w, s)| w as f64 * s)
                .sum();
            *o = s as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_trip() {
        for f in [0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0] {
            for htk in [false, true] {
                assert!((mel_to_hz(hz_to_mel(f, htk), htk) - f).abs() < 1e-9);
            }
        }
        assert!((hz_to_mel(1000.0, false) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn sparse_matches_dense() {
        let p = MelParams {
            sr: 16_000,
            n_fft: 512,
            n_mels: 40,
            fmin: 0.0,
            fmax: 8000.0,
            htk: false,
            norm: MelNorm::Slaney,
        };
        let dense = mel_filterbank(&p).unwrap();
        let bank = SparseBank::mel(&p).unwrap();
        assert_eq!(bank, SparseBank::from_dense(&dense, 40, 257));
        let spec: Vec<f64> = (0..257).map(|k| (k as f64 * 0.1).sin().abs()).collect();
        let mut out = vec![0.0; 40];
        bank.apply(&spec, &mut out);
        for b in 0..40 {
            let want: f64 = (0..257).map(|k| dense[b * 257 + k] * spec[k]).sum();
            assert!(
                (out[b] as f64 - want).abs() < 1e-5 * want.abs().max(1e-3),
                "band {b}"
            );
        }
        assert!(
            bank.weights.len() < 257 * 40 / 8,
            "sparse: {}",
            bank.weights.len()
        );
    }

    /// fuzz `plans`, `crash-a29bd252…` (tests/data/fuzz/plans/): an fmax of 2e183 Hz put the
    /// upper edges of the top bands past usize::MAX bins; the cast saturated and `+ 1`
    /// overflowed (a panic with overflow checks, an empty band without). Bands reaching far
    /// past Nyquist keep the bins below it, as the dense filterbank has them.
    #[test]
    fn fmax_far_past_nyquist_keeps_the_bands() {
        for fmax in [2.194_134_932_918_261_6e183, 1e30, 9000.0] {
            let p = MelParams {
                sr: 16_000,
                n_fft: 64,
                n_mels: 4,
                fmin: 0.0,
                fmax,
                htk: true,
                norm: MelNorm::None,
            };
            let dense = mel_filterbank(&p).unwrap();
            assert_eq!(
                SparseBank::mel(&p).unwrap(),
                SparseBank::from_dense(&dense, 4, 33),
                "fmax {fmax}"
            );
        }
    }
}
