//! Constant-Q and variable-Q filter design, as librosa 0.11's `vqt` builds it
//! (`librosa/core/constantq.py`, `filters.wavelet`, `filters.wavelet_lengths`,
//! `util.sparsify_rows`), computed in f64.
//!
//! The transform this serves is the "full-rate" one: every octave is analysed at the original
//! sample rate and hop, with the FFT basis librosa's `__vqt_filter_fft` builds for that octave at
//! the full rate. librosa itself halves the rate after each octave (soxr), which no GPU
//! reproduces bit for bit; see DESIGN.md.
//!
//! Layout: bins are in ascending frequency (librosa's order). Octave 0 is the top octave, the
//! last `min(bins_per_octave, n_bins)` bins; octave `i` holds the `n_filters` bins below octave
//! `i - 1`, and the last (lowest) octave may hold fewer.

use std::ops::Range;

use num_complex::Complex64;
use rustfft::FftPlanner;

use crate::dsp::mel::SparseBank;
use crate::dsp::window::Window;
use crate::error::{Error, Result};

/// librosa's `filters.window_bandwidth("hann")`: the tabulated equivalent noise bandwidth of
/// the Hann window in FFT bins (`WINDOW_BANDWIDTHS["hann"]`, not exactly 1.5).
pub const HANN_BANDWIDTH: f64 = 1.50018310546875;

/// The largest FFT length an octave may need (2^22 samples, as any STFT's).
pub const MAX_N_FFT: usize = crate::dsp::frames::MAX_N_FFT;

/// The note C1 in Hz (`librosa.note_to_hz("C1")`), librosa's default `fmin`.
pub const C1_HZ: f64 = 32.70319566257483;

/// The parameters of a constant-Q / variable-Q transform (librosa.vqt's, with
/// `intervals="equal"` and `window="hann"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CqtParams {
    /// Sample rate in Hz.
    pub sr: u32,
    /// Samples between successive frames.
    pub hop_length: usize,
    /// Centre frequency of the lowest bin before tuning, Hz (librosa: C1 when None).
    pub fmin: f64,
    /// Number of bins.
    pub n_bins: usize,
    /// Bins per octave.
    pub bins_per_octave: usize,
    /// Tuning offset in fractions of a bin: the lowest bin sits at
    /// `fmin * 2^(tuning / bins_per_octave)`. librosa's `tuning=None` (estimated from the
    /// signal) is not supported here: estimate it first.
    pub tuning: f64,
    /// Filter scale factor: larger values give longer filters (librosa default 1).
    pub filter_scale: f64,
    /// Bandwidth offset in Hz: `Some(0.0)` is the constant-Q transform (`librosa.cqt`);
    /// `None` is librosa.vqt's default, `gamma = 24.7 * alpha / 0.108` per bin, which makes
    /// each bandwidth a constant fraction of the ERB at its frequency.
    pub gamma: Option<f64>,
    /// Fraction of each basis row's L1 mass that may be discarded (`sparsity`, in `[0, 1)`;
    /// 0 keeps every bin). Default 0.01.
    pub sparsity: f64,
    /// Normalisation of each time-domain filter, as `librosa.util.normalize`'s `norm`:
    /// `Some(p)` with `p > 0` the L^p norm (librosa's default is `Some(1.0)`),
    /// `Some(f64::INFINITY)` the largest magnitude, `Some(f64::NEG_INFINITY)` the smallest,
    /// `Some(0.0)` the number of nonzero samples, `None` no normalisation.
    pub norm: Option<f64>,
    /// Divide each bin's response by the square root of its filter length (`scale=True`).
    pub scale: bool,
}

impl CqtParams {
    /// `librosa.cqt`'s defaults at `sr`: hop 512, fmin C1, 84 bins, 12 per octave, tuning 0,
    /// filter_scale 1, gamma 0, sparsity 0.01, L1 norm, scale true.
    pub fn cqt(sr: u32) -> Self {
        CqtParams {
            sr,
            hop_length: 512,
            fmin: C1_HZ,
            n_bins: 84,
            bins_per_octave: 12,
            tuning: 0.0,
            filter_scale: 1.0,
            gamma: Some(0.0),
            sparsity: 0.01,
            norm: Some(1.0),
            scale: true,
        }
    }

    /// `librosa.vqt`'s defaults at `sr`: as [`CqtParams::cqt`] but with the ERB-derived
    /// gamma (`gamma: None`).
    pub fn vqt(sr: u32) -> Self {
        CqtParams {
            gamma: None,
            ..Self::cqt(sr)
        }
    }

    /// Number of octaves, `ceil(n_bins / bins_per_octave)`.
    pub fn n_octaves(&self) -> usize {
        self.n_bins.div_ceil(self.bins_per_octave.max(1))
    }

    /// Bins per (full) octave block, `min(bins_per_octave, n_bins)` (librosa's `n_filters`).
    pub fn n_filters(&self) -> usize {
        self.bins_per_octave.min(self.n_bins)
    }

    /// The bin range of octave `i` (0 = top), ascending frequency, end exclusive.
    pub fn octave_range(&self, i: usize) -> Range<usize> {
        let nf = self.n_filters();
        let hi = self.n_bins.saturating_sub(nf * i);
        hi.saturating_sub(nf)..hi
    }

    /// Checks the parameters; the error names the one at fault. Besides ranges, this rejects
    /// filters that reach past Nyquist (as librosa does) and filters too long or too short to
    /// build.
    pub fn validate(&self) -> Result<()> {
        if self.sr == 0 {
            return Err(Error::param("sr", "must be > 0"));
        }
        if self.hop_length == 0 {
            return Err(Error::param("hop_length", "must be > 0"));
        }
        if !(self.fmin.is_finite() && self.fmin > 0.0) {
            return Err(Error::param(
                "fmin",
                format!("must be finite and > 0, got {}", self.fmin),
            ));
        }
        if self.bins_per_octave == 0 || self.bins_per_octave > 1200 {
            return Err(Error::param(
                "bins_per_octave",
                format!("must be in 1..=1200, got {}", self.bins_per_octave),
            ));
        }
        if self.n_bins == 0 || self.n_bins > 16384 {
            return Err(Error::param(
                "n_bins",
                format!("must be in 1..=16384, got {}", self.n_bins),
            ));
        }
        if !self.tuning.is_finite() {
            return Err(Error::param(
                "tuning",
                format!("must be finite, got {}", self.tuning),
            ));
        }
        if !(self.filter_scale.is_finite() && self.filter_scale > 0.0) {
            return Err(Error::param(
                "filter_scale",
                format!("must be finite and > 0, got {}", self.filter_scale),
            ));
        }
        if let Some(g) = self.gamma {
            if !(g.is_finite() && g >= 0.0) {
                return Err(Error::param(
                    "gamma",
                    format!("must be finite and >= 0 (or None for ERB), got {g}"),
                ));
            }
        }
        if !(self.sparsity >= 0.0 && self.sparsity < 1.0) {
            return Err(Error::param(
                "sparsity",
                format!("must be in [0, 1), got {}", self.sparsity),
            ));
        }
        if let Some(n) = self.norm {
            if !(n.is_infinite() || (n.is_finite() && n >= 0.0)) {
                return Err(Error::param(
                    "norm",
                    format!("must be inf, -inf, 0, a number > 0, or None; got {n}"),
                ));
            }
        }
        let freqs = frequencies(self);
        if !freqs.iter().all(|f| f.is_finite() && *f > 0.0) {
            return Err(Error::param(
                "fmin",
                "the bin frequencies are not finite and positive",
            ));
        }
        let alpha = alpha(self);
        let (lengths, cutoff) = wavelet_lengths(
            &freqs,
            &alpha,
            self.sr as f64,
            self.filter_scale,
            self.gamma,
        );
        let nyquist = self.sr as f64 / 2.0;
        if cutoff.is_nan() || cutoff > nyquist {
            let top = &freqs[freqs.len().saturating_sub(self.bins_per_octave)..];
            let fmax = top.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            // The bins fit but a filter's width carries it past Nyquist, and a parameter that
            // sets the width departs from the default towards wider: name it, not n_bins.
            let by_gamma = self
                .gamma
                .is_some_and(|g| 0.5 * g >= cutoff - fmax - 0.5 * g);
            let by_scale = !by_gamma && self.filter_scale < 1.0;
            if fmax < nyquist && cutoff.is_finite() && (by_gamma || by_scale) {
                let (name, what) = if by_gamma {
                    ("gamma", format!("gamma = {}", self.gamma.unwrap_or(0.0)))
                } else {
                    (
                        "filter_scale",
                        format!("filter_scale = {}", self.filter_scale),
                    )
                };
                return Err(Error::param(
                    name,
                    format!(
                        "the filters are too wide with {what}: the top bins (up to {fmax:.2} \
                         Hz) reach {cutoff:.2} Hz, past the Nyquist frequency {nyquist} Hz; \
                         use a larger filter_scale, a smaller gamma or fewer bins"
                    ),
                ));
            }
            return Err(Error::param(
                "n_bins",
                format!(
                    "wavelet basis with max frequency={fmax} would exceed the Nyquist \
                     frequency={nyquist} (the filters reach {cutoff} Hz); try reducing the \
                     number of frequency bins"
                ),
            ));
        }
        for i in 0..self.n_octaves() {
            let longest = lengths[self.octave_range(i)]
                .iter()
                .cloned()
                .fold(0.0, f64::max);
            if longest.is_nan() || longest <= 1.0 {
                return Err(Error::param(
                    "filter_scale",
                    format!("octave {i}'s filters are at most {longest} samples long; need > 1"),
                ));
            }
            if longest > MAX_N_FFT as f64 {
                // The length is filter_scale x sr / (bandwidth of the lowest bin): name the
                // parameter that departs from its default.
                let name = if self.filter_scale > 1.0 {
                    "filter_scale"
                } else {
                    "fmin"
                };
                return Err(Error::param(
                    name,
                    format!(
                        "the longest filter (fmin = {} Hz, filter_scale = {}) is {longest:.0} \
                         samples; at most {MAX_N_FFT} are supported: raise fmin or lower \
                         filter_scale",
                        self.fmin, self.filter_scale
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The bin centre frequencies in Hz, ascending: `librosa.interval_frequencies(n_bins,
/// fmin=fmin * 2^(tuning / bpo), intervals="equal")`, i.e. `2^octave * 2^(j / bpo) * fmin'`
/// evaluated in that order.
pub fn frequencies(p: &CqtParams) -> Vec<f64> {
    let bpo = p.bins_per_octave.max(1);
    let fmin = p.fmin * 2f64.powf(p.tuning / bpo as f64);
    (0..p.n_bins)
        .map(|b| {
            let ratio = 2f64.powf((b % bpo) as f64 / bpo as f64);
            2f64.powi((b / bpo) as i32) * ratio * fmin
        })
        .collect()
}

/// `librosa.filters._relative_bandwidth`: from the local octave resolution `bpo_k` (one-sided
/// log2 differences at the ends, centred ones inside),
/// `alpha_k = (2^(2 / bpo_k) - 1) / (2^(2 / bpo_k) + 1)`. Needs at least 2 frequencies.
pub fn relative_bandwidth(freqs: &[f64]) -> Vec<f64> {
    let n = freqs.len();
    assert!(n >= 2, "relative_bandwidth needs 2 or more frequencies");
    let logf: Vec<f64> = freqs.iter().map(|f| f.log2()).collect();
    (0..n)
        .map(|k| {
            let bpo = if k == 0 {
                1.0 / (logf[1] - logf[0])
            } else if k == n - 1 {
                1.0 / (logf[n - 1] - logf[n - 2])
            } else {
                2.0 / (logf[k + 1] - logf[k - 1])
            };
            let r = 2f64.powf(2.0 / bpo);
            (r - 1.0) / (r + 1.0)
        })
        .collect()
}

/// librosa's `__et_relative_bw(bpo)` for a single bin: `r = 2^(1 / bpo)`,
/// `(r^2 - 1) / (r^2 + 1)`.
pub fn et_relative_bandwidth(bins_per_octave: usize) -> f64 {
    let r = 2f64.powf(1.0 / bins_per_octave as f64);
    (r.powi(2) - 1.0) / (r.powi(2) + 1.0)
}

/// The relative bandwidth of every bin as vqt computes it: [`et_relative_bandwidth`] when
/// `n_bins == 1`, else [`relative_bandwidth`] over all the bin frequencies (constant up to
/// rounding for equal intervals).
pub fn alpha(p: &CqtParams) -> Vec<f64> {
    if p.n_bins == 1 {
        vec![et_relative_bandwidth(p.bins_per_octave)]
    } else {
        relative_bandwidth(&frequencies(p))
    }
}

/// `librosa.filters.wavelet_lengths` for the Hann window: with `gamma_k = gamma` (or
/// `24.7 * alpha_k / 0.108` when `gamma` is None) and `Q_k = filter_scale / alpha_k`,
/// `length_k = Q_k * sr / (f_k + gamma_k / alpha_k)` (fractional samples) and the cutoff
/// `max_k f_k * (1 + 0.5 * HANN_BANDWIDTH / Q_k) + 0.5 * gamma_k` in Hz.
pub fn wavelet_lengths(
    freqs: &[f64],
    alpha: &[f64],
    sr: f64,
    filter_scale: f64,
    gamma: Option<f64>,
) -> (Vec<f64>, f64) {
    let mut cutoff = f64::NEG_INFINITY;
    let lengths = freqs
        .iter()
        .zip(alpha)
        .map(|(&f, &a)| {
            let g = gamma.unwrap_or(a * 24.7 / 0.108);
            let q = filter_scale / a;
            cutoff = cutoff.max(f * (1.0 + 0.5 * HANN_BANDWIDTH / q) + 0.5 * g);
            q * sr / (f + g / a)
        })
        .collect();
    (lengths, cutoff)
}

/// The filter lengths (fractional samples) of every bin, ascending frequency; `scale=True`
/// divides bin `k` by `sqrt(lengths[k])`.
pub(crate) fn lengths(p: &CqtParams) -> Vec<f64> {
    wavelet_lengths(
        &frequencies(p),
        &alpha(p),
        p.sr as f64,
        p.filter_scale,
        p.gamma,
    )
    .0
}

/// `librosa.util.normalize(x, norm)` of a 1-d complex vector (threshold = the smallest
/// normal f64; a vector whose norm is below it is left as is).
fn normalize(x: &mut [Complex64], norm: Option<f64>) {
    let Some(p) = norm else { return };
    let mags = x.iter().map(|c| c.norm());
    let length = if p == f64::INFINITY {
        mags.fold(f64::NEG_INFINITY, f64::max)
    } else if p == f64::NEG_INFINITY {
        mags.fold(f64::INFINITY, f64::min)
    } else if p == 0.0 {
        mags.filter(|&m| m > 0.0).count() as f64
    } else if p == 1.0 {
        mags.sum()
    } else {
        mags.map(|m| m.powf(p)).sum::<f64>().powf(1.0 / p)
    };
    if length >= f64::MIN_POSITIVE {
        for c in x.iter_mut() {
            *c /= length;
        }
    }
}

/// One time-domain wavelet as `filters.wavelet` builds it, before centring in the FFT frame:
/// `N = floor(l / 2) + ceil(l / 2)` samples at times `t = floor(-l / 2) .. floor(l / 2)`
/// (numpy's `arange(-l // 2, l // 2)`; N is `l` rounded to the nearest odd integer when `l`
/// is fractional), `exp(i * ((t * 2) * pi) * freq / sr)` times a periodic Hann window of length
/// N, then normalised with `norm`.
pub fn wavelet(freq: f64, length: f64, sr: f64, norm: Option<f64>) -> Vec<Complex64> {
    let start = (-length / 2.0).floor();
    let stop = (length / 2.0).floor();
    let n = (stop - start).max(0.0) as usize;
    // scipy's get_window returns ones for a length of 1.
    let window = if n == 1 {
        vec![1.0]
    } else {
        Window::Hann.samples(n).unwrap_or_default()
    };
    let mut sig: Vec<Complex64> = (0..n)
        .map(|j| {
            let angle = (start + j as f64) * 2.0 * std::f64::consts::PI * freq / sr;
            Complex64::new(angle.cos(), angle.sin()) * window[j]
        })
        .collect();
    normalize(&mut sig, norm);
    sig
}

/// The row `sparsify_rows` keeps: with `m = |x|`, `s` = m sorted ascending and
/// `c = cumsum(s / sum(m))`, the first `j` with `c[j] >= quantile` (0 if none) sets the
/// threshold `s[j]`; entries with `m >= s[j]` are kept, the others zeroed.
fn sparsify_row(x: &mut [Complex64], quantile: f64, sorted: &mut Vec<f64>) {
    sorted.clear();
    sorted.extend(x.iter().map(|c| c.norm()));
    let total: f64 = sorted.iter().sum();
    sorted.sort_by(f64::total_cmp);
    let mut cum = 0.0;
    let mut j = 0;
    for (i, &m) in sorted.iter().enumerate() {
        cum += m / total;
        // numpy: argmin(cumulative < quantile); a NaN compares false and stops the search.
        if cum.is_nan() || cum >= quantile {
            j = i;
            break;
        }
    }
    let Some(&threshold) = sorted.get(j) else {
        return;
    };
    for c in x.iter_mut() {
        let m = c.norm();
        if m.is_nan() || m < threshold {
            *c = Complex64::new(0.0, 0.0);
        }
    }
}

/// One octave's frequency-domain basis, as librosa's `__vqt_filter_fft` at the full rate:
/// row `r` (bin `bin_lo + r`) holds the nonnegative-frequency half (`n_fft / 2 + 1` bins) of
/// the FFT of its wavelet (centred in `n_fft` samples, times `length / n_fft`), sparsified.
/// Each row is stored as the contiguous span from its first to its last nonzero (zeros
/// inside the span kept), like the mel `SparseBank`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OctaveBasis {
    /// The octave's FFT length: the next power of two of its longest filter.
    pub n_fft: usize,
    /// First bin of the octave (ascending-frequency index into the output).
    pub bin_lo: usize,
    /// One past the octave's last bin.
    pub bin_hi: usize,
    /// Per bin: (first FFT bin, number of FFT bins, offset into `weights`).
    pub bands: Vec<[u32; 3]>,
    /// The complex weights, row after row.
    pub weights: Vec<Complex64>,
}

impl OctaveBasis {
    /// Number of FFT bins each row spans in full (`n_fft / 2 + 1`).
    #[cfg(test)]
    pub fn n_freq(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// The basis dense, `(bin_hi - bin_lo, n_fft / 2 + 1)` row-major.
    #[cfg(test)]
    pub fn dense(&self) -> Vec<Complex64> {
        let n_freq = self.n_freq();
        let mut d = vec![Complex64::new(0.0, 0.0); self.bands.len() * n_freq];
        for (r, &[first, len, off]) in self.bands.iter().enumerate() {
            let (first, len, off) = (first as usize, len as usize, off as usize);
            d[r * n_freq + first..r * n_freq + first + len]
                .copy_from_slice(&self.weights[off..off + len]);
        }
        d
    }
}

/// The FFT length of a filter bank whose longest filter is `longest` samples:
/// `2^ceil(log2(longest))` (`pad_fft=True`).
fn pad_fft_len(longest: f64) -> usize {
    1usize << (longest.log2().ceil().max(0.0) as u32)
}

/// The frequency-domain bases of every octave, top octave first (see [`OctaveBasis`]).
pub(crate) fn octave_bases(p: &CqtParams) -> Result<Vec<OctaveBasis>> {
    p.validate()?;
    let design = Design::new(p);
    let mut planner = FftPlanner::<f64>::new();
    (0..p.n_octaves())
        .map(|i| {
            let range = p.octave_range(i);
            let n_fft = pad_fft_len(design.longest(range.clone()));
            let (bands, weights) = design.basis(range.clone(), n_fft, n_fft, &mut planner)?;
            Ok(OctaveBasis {
                n_fft,
                bin_lo: range.start,
                bin_hi: range.end,
                bands,
                weights,
            })
        })
        .collect()
}

/// librosa.pseudo_cqt's filterbank: every bin's basis at one n_fft (the longest filter's,
/// at least `2^(1 + ceil(log2 hop))`), magnitudes only, with `scale`'s factor folded in
/// (`1 / sqrt(n_fft)`, else `sqrt(length / n_fft)`): `(n_fft, bank)` for `|STFT(hann)|`.
pub(crate) fn pseudo_bank(p: &CqtParams) -> Result<(usize, SparseBank)> {
    p.validate()?;
    if p.gamma.is_none_or(|g| g != 0.0) {
        return Err(Error::param(
            "gamma",
            "the pseudo-CQT is constant-Q (gamma 0)",
        ));
    }
    let design = Design::new(p);
    let all = 0..p.n_bins;
    let l0 = pad_fft_len(design.longest(all.clone()));
    let n_fft = l0.max(pad_fft_len(p.hop_length as f64) * 2);
    let (bands, weights) = design.basis(all, l0, n_fft, &mut FftPlanner::<f64>::new())?;
    let mut out = Vec::with_capacity(weights.len());
    for (k, &[_, n, off]) in bands.iter().enumerate() {
        let factor = if p.scale {
            1.0 / (n_fft as f64).sqrt()
        } else {
            (design.lengths[k] / n_fft as f64).sqrt()
        };
        out.extend(
            weights[off as usize..(off + n) as usize]
                .iter()
                .map(|w| (w.norm() * factor) as f32),
        );
    }
    Ok((
        n_fft,
        SparseBank {
            bands,
            weights: out,
        },
    ))
}

/// The frequencies and filter lengths of a design.
struct Design<'a> {
    p: &'a CqtParams,
    freqs: Vec<f64>,
    lengths: Vec<f64>,
}

impl<'a> Design<'a> {
    fn new(p: &'a CqtParams) -> Self {
        let freqs = frequencies(p);
        let alpha = alpha(p);
        let (lengths, _) = wavelet_lengths(&freqs, &alpha, p.sr as f64, p.filter_scale, p.gamma);
        Design { p, freqs, lengths }
    }

    fn longest(&self, range: Range<usize>) -> f64 {
        self.lengths[range].iter().cloned().fold(0.0, f64::max)
    }

    /// librosa's `__vqt_filter_fft` for bins `range`: each wavelet centred in `l0` samples
    /// (`pad_fft`), scaled by `length / n_fft`, FFT of `n_fft >= l0` points (zero-padded at
    /// the end, as `fft(basis, n=n_fft)`), bins `0..=n_fft/2`, `sparsify_rows`; each row kept
    /// as the span from its first to its last nonzero: `(bands, weights)`.
    #[allow(clippy::type_complexity)]
    fn basis(
        &self,
        range: Range<usize>,
        l0: usize,
        n_fft: usize,
        planner: &mut FftPlanner<f64>,
    ) -> Result<(Vec<[u32; 3]>, Vec<Complex64>)> {
        let p = self.p;
        let n_freq = n_fft / 2 + 1;
        let fft = planner.plan_fft_forward(n_fft);
        let mut buf = vec![Complex64::new(0.0, 0.0); n_fft];
        let mut scratch = vec![Complex64::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        let mut sorted = Vec::new();
        let mut bands = Vec::with_capacity(range.len());
        let mut weights = Vec::new();
        for k in range {
            let sig = wavelet(self.freqs[k], self.lengths[k], p.sr as f64, p.norm);
            // util.pad_center, then `basis *= lengths / n_fft` (the factor computed first).
            let lpad = (l0 - sig.len()) / 2;
            let factor = self.lengths[k] / n_fft as f64;
            buf.fill(Complex64::new(0.0, 0.0));
            for (b, &s) in buf[lpad..].iter_mut().zip(&sig) {
                *b = s * factor;
            }
            fft.process_with_scratch(&mut buf, &mut scratch);
            let row = &mut buf[..n_freq];
            sparsify_row(row, p.sparsity, &mut sorted);
            let first = row.iter().position(|c| c.norm_sqr() != 0.0);
            let last = row.iter().rposition(|c| c.norm_sqr() != 0.0);
            match (first, last) {
                (Some(f), Some(l)) => {
                    if weights.len() + (l + 1 - f) > u32::MAX as usize {
                        return Err(Error::param(
                            "sparsity",
                            format!("a basis of {n_fft} points has more than 2^32 weights"),
                        ));
                    }
                    bands.push([f as u32, (l + 1 - f) as u32, weights.len() as u32]);
                    weights.extend_from_slice(&row[f..=l]);
                }
                _ => bands.push([0, 0, weights.len() as u32]),
            }
        }
        Ok((bands, weights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every design in tests/data/cqt_filter_cases.json (librosa 0.11 in complex128,
    /// tests/data/make_cqt_dumps.py): frequencies, alpha, lengths and each octave's sparse
    /// basis (n_fft, bin range, kept entries, values).
    #[test]
    fn designs_match_librosa_dumps() {
        use ndarray::{Array1, Array2};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let text = std::fs::read_to_string(dir.join("cqt_filter_cases.json")).expect("manifest");
        let cases: serde_json::Value = serde_json::from_str(&text).expect("json");
        let cases = cases.as_array().expect("list");
        assert!(cases.len() >= 8, "{} cases", cases.len());
        let max_rel = |ours: &[f64], theirs: &Array1<f64>| {
            assert_eq!(ours.len(), theirs.len());
            ours.iter()
                .zip(theirs)
                .map(|(a, b)| (a - b).abs() / b.abs())
                .fold(0.0f64, f64::max)
        };
        for c in cases {
            let name = c["name"].as_str().expect("name");
            let f = |k: &str| c[k].as_f64().expect(k);
            let u = |k: &str| c[k].as_u64().expect(k) as usize;
            let p = CqtParams {
                sr: u("sr") as u32,
                hop_length: 512,
                fmin: f("fmin"),
                n_bins: u("n_bins"),
                bins_per_octave: u("bins_per_octave"),
                tuning: f("tuning"),
                filter_scale: f("filter_scale"),
                gamma: c["gamma"].as_f64(),
                sparsity: f("sparsity"),
                norm: c["norm"].as_f64(),
                scale: true,
            };
            let npy1 = |k: &str| -> Array1<f64> {
                ndarray_npy::read_npy(dir.join(c[k].as_str().expect(k))).expect(k)
            };
            assert!(
                max_rel(&frequencies(&p), &npy1("freqs")) < 1e-13,
                "{name} freqs"
            );
            assert!(max_rel(&alpha(&p), &npy1("alpha")) < 1e-12, "{name} alpha");
            assert!(
                max_rel(&lengths(&p), &npy1("lengths")) < 1e-12,
                "{name} lengths"
            );
            let bases = octave_bases(&p).expect(name);
            let octs = c["octaves"].as_array().expect("octaves");
            assert_eq!(bases.len(), octs.len(), "{name}");
            for (i, (b, o)) in bases.iter().zip(octs).enumerate() {
                assert_eq!(
                    b.n_fft as u64,
                    o["n_fft"].as_u64().expect("n_fft"),
                    "{name} {i}"
                );
                assert_eq!(
                    b.bin_lo as u64,
                    o["bin_lo"].as_u64().expect("lo"),
                    "{name} {i}"
                );
                assert_eq!(
                    b.bin_hi as u64,
                    o["bin_hi"].as_u64().expect("hi"),
                    "{name} {i}"
                );
                let theirs: Array2<Complex64> =
                    ndarray_npy::read_npy(dir.join(o["basis"].as_str().expect("basis")))
                        .expect("basis");
                let ours = b.dense();
                assert_eq!(ours.len(), theirs.len(), "{name} octave {i}");
                let scale = theirs.iter().map(|v| v.norm()).fold(0.0f64, f64::max);
                for (k, (a, t)) in ours.iter().zip(theirs.iter()).enumerate() {
                    assert_eq!(
                        *a == Complex64::new(0.0, 0.0),
                        *t == Complex64::new(0.0, 0.0),
                        "{name} octave {i} entry {k}: kept by one side only"
                    );
                    assert!(
                        (a - t).norm() <= 1e-12 * scale,
                        "{name} octave {i} entry {k}"
                    );
                }
            }
        }
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    fn small() -> CqtParams {
        CqtParams {
            sr: 8000,
            hop_length: 64,
            fmin: 110.0,
            n_bins: 30,
            bins_per_octave: 12,
            tuning: 0.2,
            filter_scale: 0.8,
            gamma: Some(0.0),
            sparsity: 0.05,
            norm: Some(1.0),
            scale: true,
        }
    }

    #[test]
    fn frequencies_double_per_octave() {
        let p = CqtParams::cqt(22050);
        let f = frequencies(&p);
        assert_eq!(f.len(), 84);
        assert!(rel(f[0], C1_HZ) < 1e-15);
        for k in 12..84 {
            assert!(rel(f[k], 2.0 * f[k - 12]) < 1e-14, "bin {k}");
        }
        for k in 1..84 {
            assert!(rel(f[k] / f[k - 1], 2f64.powf(1.0 / 12.0)) < 1e-14);
        }
        let q = small();
        let f = frequencies(&q);
        assert!(rel(f[0], 110.0 * 2f64.powf(0.2 / 12.0)) < 1e-15);
    }

    #[test]
    fn alpha_and_lengths_formula() {
        for p in [CqtParams::cqt(22050), small()] {
            let a = alpha(&p);
            let closed = et_relative_bandwidth(p.bins_per_octave);
            let f = frequencies(&p);
            let l = lengths(&p);
            for k in 0..p.n_bins {
                assert!(rel(a[k], closed) < 1e-12, "alpha {k}");
                let want = p.filter_scale / closed * p.sr as f64 / f[k];
                assert!(rel(l[k], want) < 1e-12, "length {k}");
            }
        }
        // ERB: gamma / alpha = 24.7 / 0.108 for every bin.
        let p = CqtParams::vqt(16000);
        let (f, a, l) = (frequencies(&p), alpha(&p), lengths(&p));
        for k in 0..p.n_bins {
            let want = p.filter_scale / a[k] * 16000.0 / (f[k] + 24.7 / 0.108);
            assert!(rel(l[k], want) < 1e-14);
        }
    }

    /// Values printed by librosa 0.11 (numpy 2.4.6) for `librosa.cqt`'s defaults at 22050 Hz:
    /// `freqs = librosa.interval_frequencies(84, fmin=librosa.note_to_hz("C1"), intervals="equal")`,
    /// `alpha = librosa.filters._relative_bandwidth(freqs=freqs)`,
    /// `lengths, cutoff = librosa.filters.wavelet_lengths(freqs=freqs, sr=22050, gamma=0, alpha=alpha)`,
    /// and the octaves' n_fft (`filters.wavelet(..., pad_fft=True)` per 12-bin slice).
    #[test]
    fn librosa_cqt_defaults() {
        let p = CqtParams::cqt(22050);
        let (l, a) = (lengths(&p), alpha(&p));
        assert!(rel(a[0], 0.05769810979985182) < 1e-12);
        assert!(rel(l[0], 11685.756034557166) < 1e-12);
        assert!(rel(l[1], 11029.884945283597) < 1e-12);
        assert!(rel(l[2], 10410.825071687712) < 1e-12);
        assert!(rel(l[83], 96.72365037734073) < 1e-12);
        let (_, cutoff) = wavelet_lengths(&frequencies(&p), &a, 22050.0, 1.0, Some(0.0));
        assert!(rel(cutoff, 4122.06407890525) < 1e-12);
        let bases = octave_bases(&p).unwrap();
        let n_fft: Vec<usize> = bases.iter().map(|o| o.n_fft).collect();
        assert_eq!(n_fft, [256, 512, 1024, 2048, 4096, 8192, 16384]);
        // __vqt_filter_fft's steps in complex128 (librosa itself builds the basis in
        // complex64): `basis, lens = filters.wavelet(freqs=freqs[sl], sr=22050, norm=1,
        // pad_fft=True, gamma=0, alpha=alpha[sl], dtype=np.complex128)`,
        // `basis *= lens[:, None] / n_fft`, `np.fft.fft(basis, axis=1)[:, :n_fft // 2 + 1]`,
        // `util.sparsify_rows(..., quantile=0.01)`: 147 nonzeros in every octave; the top
        // bin (83) spans FFT bins 37..=53 with its peak at 46, the lowest (0) 21..=29, peak 24.
        for o in &bases {
            assert_eq!(o.dense().iter().filter(|c| c.norm() != 0.0).count(), 147);
        }
        let check = |o: &OctaveBasis, r: usize, span: (u32, u32), at: usize, want: Complex64| {
            assert_eq!((o.bands[r][0], o.bands[r][0] + o.bands[r][1] - 1), span);
            let got = o.dense()[r * o.n_freq() + at];
            assert!((got - want).norm() < 1e-12 * want.norm(), "{got} vs {want}");
        };
        let want = Complex64::new(0.37725159317613716, 0.0005935515091454414);
        check(&bases[0], 11, (37, 53), 46, want);
        let want = Complex64::new(0.6924681871430449, -3.979855308805617e-05);
        check(&bases[6], 0, (21, 29), 24, want);
    }

    #[test]
    fn octave_layout() {
        let p = small();
        let bases = octave_bases(&p).unwrap();
        let ranges: Vec<_> = bases.iter().map(|o| (o.bin_lo, o.bin_hi)).collect();
        assert_eq!(ranges, [(18, 30), (6, 18), (0, 6)]);
        let p = CqtParams {
            n_bins: 5,
            ..small()
        };
        assert_eq!(p.n_octaves(), 1);
        assert_eq!(p.octave_range(0), 0..5);
    }

    #[test]
    fn wavelet_shape_and_norms() {
        let sr = 22050.0;
        for (l, n) in [
            (10.0, 10),
            (11.0, 11),
            (10.3, 11),
            (10.7, 11),
            (11.3, 11),
            (11.7, 11),
        ] {
            assert_eq!(wavelet(1000.0, l, sr, None).len(), n, "length {l}");
        }
        let p = CqtParams::cqt(22050);
        let (f, l) = (frequencies(&p), lengths(&p));
        for k in [0, 40, 83] {
            let w1 = wavelet(f[k], l[k], sr, Some(1.0));
            let s1: f64 = w1.iter().map(|c| c.norm()).sum();
            assert!((s1 - 1.0).abs() < 1e-12, "L1 {k}");
            let w2 = wavelet(f[k], l[k], sr, Some(2.0));
            let s2: f64 = w2.iter().map(|c| c.norm_sqr()).sum();
            assert!((s2 - 1.0).abs() < 1e-12, "L2 {k}");
            let wi = wavelet(f[k], l[k], sr, Some(f64::INFINITY));
            let mi = wi.iter().map(|c| c.norm()).fold(0.0, f64::max);
            assert!((mi - 1.0).abs() < 1e-15, "Linf {k}");
            let wn = wavelet(f[k], l[k], sr, None);
            // Unnormalised: unit phasors under a periodic Hann window of N samples (peak 1 at
            // n = N / 2 when N is even, just under 1 for odd N).
            let n = wn.len() as f64;
            for (j, c) in wn.iter().enumerate() {
                let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * j as f64 / n).cos();
                assert!((c.norm() - hann).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn sparsity_zero_keeps_every_bin() {
        let p = CqtParams {
            sparsity: 0.0,
            ..small()
        };
        for o in octave_bases(&p).unwrap() {
            for &[first, len, _] in &o.bands {
                assert_eq!((first, len as usize), (0, o.n_freq()));
            }
        }
        // With sparsity, each row keeps at least 1 - sparsity of its L1 mass.
        let p = small();
        let full = octave_bases(&CqtParams { sparsity: 0.0, ..p }).unwrap();
        for (o, f) in octave_bases(&p).unwrap().iter().zip(&full) {
            let (d, df) = (o.dense(), f.dense());
            let n = o.n_freq();
            for r in 0..o.bands.len() {
                let kept: f64 = d[r * n..(r + 1) * n].iter().map(|c| c.norm()).sum();
                let all: f64 = df[r * n..(r + 1) * n].iter().map(|c| c.norm()).sum();
                assert!(kept >= (1.0 - p.sparsity) * all * (1.0 - 1e-12));
                assert!(kept < all);
                assert!((o.bands[r][1] as usize) < n / 2, "row {r} is not sparse");
            }
        }
    }

    /// Kept indices printed by librosa 0.11 for
    /// `librosa.util.sparsify_rows(x, quantile=q).toarray()[0].nonzero()` with
    /// `n = np.arange(32); x = np.abs(np.sin(1.3 * n)) * (1 + n / 64)`, and for
    /// `x = scipy.signal.windows.hann(32)` at `q = 0.01` (the docstring's window).
    #[test]
    fn sparsify_matches_librosa() {
        let kept = |x: &[f64], q: f64| -> Vec<usize> {
            let mut row: Vec<Complex64> = x.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            sparsify_row(&mut row, q, &mut Vec::new());
            (0..x.len()).filter(|&i| row[i].re != 0.0).collect()
        };
        let x: Vec<f64> = (0..32)
            .map(|n| (1.3 * n as f64).sin().abs() * (1.0 + n as f64 / 64.0))
            .collect();
        assert_eq!(
            kept(&x, 0.1),
            [1, 2, 3, 4, 6, 8, 9, 11, 13, 14, 15, 16, 18, 19, 20, 21, 23, 25, 26, 27, 28, 30, 31]
        );
        assert_eq!(
            kept(&x, 0.3),
            [1, 4, 6, 8, 9, 11, 13, 16, 18, 20, 21, 23, 25, 26, 28, 30]
        );
        assert_eq!(kept(&x, 0.0), (1..32).collect::<Vec<_>>());
        let hann: Vec<f64> = (0..32)
            .map(|n| (std::f64::consts::PI * n as f64 / 31.0).sin().powi(2))
            .collect();
        assert_eq!(kept(&hann, 0.01), (3..29).collect::<Vec<_>>());
    }

    #[test]
    fn absurd_params_are_typed_errors() {
        let bad = |p: CqtParams, name: &str| match p.validate() {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("expected {name}: {other:?}"),
        };
        let p = CqtParams::cqt(22050);
        bad(CqtParams { sr: 0, ..p }, "sr");
        bad(CqtParams { hop_length: 0, ..p }, "hop_length");
        bad(CqtParams { fmin: 0.0, ..p }, "fmin");
        bad(
            CqtParams {
                fmin: f64::NAN,
                ..p
            },
            "fmin",
        );
        bad(CqtParams { n_bins: 0, ..p }, "n_bins");
        bad(
            CqtParams {
                bins_per_octave: 0,
                ..p
            },
            "bins_per_octave",
        );
        bad(
            CqtParams {
                tuning: f64::INFINITY,
                ..p
            },
            "tuning",
        );
        bad(
            CqtParams {
                filter_scale: 0.0,
                ..p
            },
            "filter_scale",
        );
        bad(
            CqtParams {
                gamma: Some(-1.0),
                ..p
            },
            "gamma",
        );
        bad(CqtParams { sparsity: 1.0, ..p }, "sparsity");
        bad(
            CqtParams {
                sparsity: -0.1,
                ..p
            },
            "sparsity",
        );
        bad(
            CqtParams {
                norm: Some(-1.0),
                ..p
            },
            "norm",
        );
        bad(
            CqtParams {
                norm: Some(f64::NAN),
                ..p
            },
            "norm",
        );
        bad(CqtParams { fmin: 1e-3, ..p }, "fmin");
        // The bins fit under Nyquist but their filters do not: the width's parameter is named.
        bad(
            CqtParams {
                filter_scale: 1e-9,
                ..p
            },
            "filter_scale",
        );
        bad(
            CqtParams {
                gamma: Some(1e9),
                ..p
            },
            "gamma",
        );
        // 84 bins from C1 reach 4122 Hz with their skirts: fine at 22050, past Nyquist at 8000.
        bad(CqtParams::cqt(8000), "n_bins");
        let msg = CqtParams::cqt(8000).validate().unwrap_err().to_string();
        assert!(
            msg.contains("would exceed the Nyquist frequency=4000"),
            "{msg}"
        );
        assert!(octave_bases(&CqtParams::cqt(8000)).is_err());
        for norm in [
            None,
            Some(0.0),
            Some(2.0),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
        ] {
            assert!(CqtParams { norm, ..p }.validate().is_ok());
        }
        assert!(CqtParams::vqt(22050).validate().is_ok());
    }
}
