//! Chroma filterbanks, as `librosa.filters.chroma`.

use crate::error::{Error, Result};

/// The parameters of a chroma filterbank (librosa.filters.chroma; defaults in `Default`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaParams {
    /// Sample rate in Hz.
    pub sr: u32,
    /// FFT length.
    pub n_fft: usize,
    /// Bins per octave. Default 12.
    pub n_chroma: usize,
    /// Deviation from A440 tuning in fractions of a chroma bin. Default 0.
    pub tuning: f64,
    /// Centre of the octave weighting, in octaves above C0 (`ctroct`). Default 5.
    pub ctroct: f64,
    /// Width of the octave weighting in octaves (`octwidth`); None for flat. Default Some(2).
    pub octwidth: Option<f64>,
    /// L2-normalise each frequency column (`norm=2`); false for `norm=None`. Default true.
    pub norm: bool,
    /// Start the bins at C instead of A. Default true.
    pub base_c: bool,
}

impl ChromaParams {
    /// librosa's defaults at `sr` and `n_fft`.
    pub fn new(sr: u32, n_fft: usize) -> Self {
        ChromaParams {
            sr,
            n_fft,
            n_chroma: 12,
            tuning: 0.0,
            ctroct: 5.0,
            octwidth: Some(2.0),
            norm: true,
            base_c: true,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.sr == 0 {
            return Err(Error::param("sr", "must be > 0"));
        }
        if self.n_fft < 2 {
            return Err(Error::param("n_fft", "chroma needs n_fft >= 2"));
        }
        if self.n_chroma == 0 || self.n_chroma > 1200 {
            return Err(Error::param(
                "n_chroma",
                format!("must be in 1..=1200, got {}", self.n_chroma),
            ));
        }
        if !self.tuning.is_finite() || self.tuning.abs() > 0.5 {
            return Err(Error::param(
                "tuning",
                format!("must be in [-0.5, 0.5], got {}", self.tuning),
            ));
        }
        let entries = self.n_chroma as u64 * self.n_fft as u64;
        if entries > 1 << 26 {
            return Err(Error::param(
                "n_fft",
                format!(
                    "a chroma filterbank of n_chroma x n_fft = {entries} weights is too large (max 2^26)"
                ),
            ));
        }
        if !self.ctroct.is_finite() {
            return Err(Error::param("ctroct", "must be finite"));
        }
        if let Some(w) = self.octwidth {
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::param(
                    "octwidth",
                    format!("must be finite and > 0, got {w}"),
                ));
            }
        }
        Ok(())
    }
}

/// The dense `(n_chroma, n_fft / 2 + 1)` chroma filterbank, row-major, f64.
pub fn chroma_filterbank(p: &ChromaParams) -> Result<Vec<f64>> {
    p.validate()?;
    let n = p.n_fft;
    let nc = p.n_chroma;
    let ncf = nc as f64;
    // frqbins for the n_fft - 1 nonzero FFT frequencies (np.linspace(0, sr, n_fft, endpoint=False)[1:]),
    // with a made-up bin in front for DC.
    let a440 = 440.0 * 2f64.powf(p.tuning / ncf);
    let mut frqbins = Vec::with_capacity(n);
    for k in 1..n {
        let f = p.sr as f64 * k as f64 / n as f64;
        frqbins.push(ncf * (f / (a440 / 16.0)).log2());
    }
    frqbins.insert(0, frqbins[0] - 1.5 * ncf);
    let mut binwidth: Vec<f64> = frqbins.windows(2).map(|w| (w[1] - w[0]).max(1.0)).collect();
    binwidth.push(1.0);
    let half = (ncf / 2.0).round_ties_even();
    let mut w = vec![0.0f64; nc * n];
    for (k, (&fb, &bw)) in frqbins.iter().zip(&binwidth).enumerate() {
        for c in 0..nc {
            let d = (fb - c as f64 + half + 10.0 * ncf).rem_euclid(ncf) - half;
            w[c * n + k] = (-0.5 * (2.0 * d / bw).powi(2)).exp();
        }
    }
    if p.norm {
        for k in 0..n {
            let l2 = (0..nc).map(|c| w[c * n + k].powi(2)).sum::<f64>().sqrt();
            if l2 > f64::MIN_POSITIVE {
                for c in 0..nc {
                    w[c * n + k] /= l2;
                }
            }
        }
    }
    if let Some(ow) = p.octwidth {
        for (k, &fb) in frqbins.iter().enumerate() {
            let g = (-0.5 * ((fb / ncf - p.ctroct) / ow).powi(2)).exp();
            for c in 0..nc {
                w[c * n + k] *= g;
            }
        }
    }
    let roll = if p.base_c { 3 * (nc / 12) } else { 0 };
    let n_freq = n / 2 + 1;
    let mut out = vec![0.0; nc * n_freq];
    for c in 0..nc {
        // np.roll(wts, -roll, axis=0): row c comes from row (c + roll) % nc.
        let src = (c + roll) % nc;
        out[c * n_freq..(c + 1) * n_freq].copy_from_slice(&w[src * n..src * n + n_freq]);
    }
    Ok(out)
}
