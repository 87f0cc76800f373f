//! Analysis/synthesis windows, as `scipy.signal.get_window(name, n, fftbins=True)`.

use crate::error::{Error, Result};

/// A window function. Built-in windows are periodic ("fftbins=True"), as librosa uses them.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Window {
    /// Periodic Hann, `0.5 - 0.5 cos(2 pi n / N)` (librosa's default).
    #[default]
    Hann,
    /// Periodic Hamming, `0.54 - 0.46 cos(2 pi n / N)`.
    Hamming,
    /// Periodic Blackman, `0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)`.
    Blackman,
    /// Rectangular (scipy's "boxcar"): all ones.
    Ones,
    /// The caller's own samples; their length is the window length.
    Custom(Vec<f32>),
}

impl Window {
    /// Parses a window name: `hann`, `hamming`, `blackman`, `ones` (or `boxcar`, `rect`).
    pub fn from_name(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "hann" | "hanning" => Ok(Window::Hann),
            "hamming" => Ok(Window::Hamming),
            "blackman" => Ok(Window::Blackman),
            "ones" | "boxcar" | "rect" | "rectangular" => Ok(Window::Ones),
            other => Err(Error::param(
                "window",
                format!("unknown window `{other}` (expected hann, hamming, blackman or ones)"),
            )),
        }
    }

    /// The window's samples for length `n` in f64 (`Custom` must have length `n`). A built-in
    /// window of length 1 is `[1.0]`, as scipy's `get_window` gives it (the cosine sums would
    /// give 0 there: a zero spectrogram for n_fft 1).
    pub fn samples(&self, n: usize) -> Result<Vec<f64>> {
        if n == 1 && !matches!(self, Window::Custom(_)) {
            return Ok(vec![1.0]);
        }
        let cos_sum = |a: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let x = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
                    a.iter()
                        .enumerate()
                        .map(|(k, &c)| if k % 2 == 0 { c } else { -c } * (k as f64 * x).cos())
                        .sum()
                })
                .collect()
        };
        Ok(match self {
            Window::Hann => cos_sum(&[0.5, 0.5]),
            Window::Hamming => cos_sum(&[0.54, 0.46]),
            Window::Blackman => cos_sum(&[0.42, 0.5, 0.08]),
            Window::Ones => vec![1.0; n],
            Window::Custom(w) => {
                if w.len() != n {
                    return Err(Error::param(
                        "window",
                        format!(
                            "custom window has {} samples, expected win_length = {n}",
                            w.len()
                        ),
                    ));
                }
                if let Some(i) = w.iter().position(|x| !x.is_finite()) {
                    return Err(Error::param(
                        "window",
                        format!("custom window sample {i} is not finite"),
                    ));
                }
                w.iter().map(|&x| x as f64).collect()
            }
        })
    }

    /// The window of length `win_length` zero-padded, centred, to `n_fft` (librosa's `pad_center`).
    pub fn padded(&self, win_length: usize, n_fft: usize) -> Result<Vec<f64>> {
        if win_length == 0 || win_length > n_fft {
            return Err(Error::param(
                "win_length",
                format!("must be in 1..=n_fft ({n_fft}), got {win_length}"),
            ));
        }
        let w = self.samples(win_length)?;
        let mut out = vec![0.0; n_fft];
        let lpad = (n_fft - win_length) / 2;
        out[lpad..lpad + win_length].copy_from_slice(&w);
        Ok(out)
    }

    /// The natural length of a `Custom` window, if any.
    pub(crate) fn custom_len(&self) -> Option<usize> {
        match self {
            Window::Custom(w) => Some(w.len()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_one_is_one_as_in_scipy() {
        // scipy.signal.get_window(name, 1, fftbins=True) == [1.0] for every name.
        for w in [
            Window::Hann,
            Window::Hamming,
            Window::Blackman,
            Window::Ones,
        ] {
            assert_eq!(w.samples(1).unwrap(), vec![1.0], "{w:?}");
        }
    }

    #[test]
    fn hann_is_periodic() {
        let w = Window::Hann.samples(4).unwrap();
        let expect = [0.0, 0.5, 1.0, 0.5];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15, "{w:?}");
        }
    }

    #[test]
    fn padded_is_centred() {
        let w = Window::Ones.padded(3, 8).unwrap();
        assert_eq!(w, vec![0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(Window::Ones.padded(9, 8).is_err());
        assert!(Window::Ones.padded(0, 8).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(Window::from_name("boxcar").unwrap(), Window::Ones);
        assert!(Window::from_name("kaiser").is_err());
    }
}
