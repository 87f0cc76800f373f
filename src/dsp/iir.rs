//! IIR filter design: Butterworth second-order sections as `scipy.signal.butter(...,
//! output='sos', fs=sr)` gives them, and the RBJ cookbook biquads of audiomentations'
//! `PeakingFilter`, `LowShelfFilter`, `HighShelfFilter` and `SevenBandParametricEQ`.
//!
//! A filter is a list of second-order sections ([`Section`]), each a row
//! `[b0, b1, b2, 1, a1, a2]` as scipy's `sos` arrays: the cascade runs section 0 first.
//! Everything here is computed in `f64`.
//!
//! The Butterworth design follows scipy step by step (`buttap` -> `lp2lp_zpk` / `lp2hp_zpk` /
//! `lp2bp_zpk` / `lp2bs_zpk` on the prewarped frequencies -> `bilinear_zpk` -> `zpk2sos` with
//! its default `'nearest'` pairing, the poles closest to the unit circle in the last section,
//! and the overall gain in the first section), so that the sections equal scipy's to about
//! 1e-12 relative, not just the same filter in a different factorisation.
//!
//! Filtering a signal with such a list: [`sosfilt`] (with [`IirMode`]: zero initial state as
//! `scipy.signal.sosfilt`, the steady state of the first sample as audiomentations' filters,
//! or zero-phase as `scipy.signal.sosfiltfilt`). The batched CPU and GPU kernels behind the
//! augmentations take the same lists, one per row.
//!
//! ```
//! use wavegpu::dsp::iir::{butter, sosfilt, Band, IirMode};
//! // audiomentations' LowPassFilter at 1 kHz with a 24 dB/octave roll-off: order 24 / 6 = 4.
//! let sos = butter(4, Band::Lowpass(1000.0), 16_000.0)?;
//! assert_eq!(sos.len(), 2);
//! let x: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.9).sin()).collect(); // ~2.3 kHz tone
//! let y = sosfilt(&sos, &x, IirMode::Zero)?;
//! let tail_rms = (y[800..].iter().map(|v| v * v).sum::<f32>() / 800.0).sqrt();
//! assert!(tail_rms < 0.05); // about -29 dB at 2.3 kHz
//! # Ok::<(), wavegpu::Error>(())
//! ```

use num_complex::Complex64 as C;

use crate::error::{Error, Result};

/// One second-order section `[b0, b1, b2, a0, a1, a2]` with `a0 == 1`, scipy's `sos` row.
pub type Section = [f64; 6];

/// The highest Butterworth order accepted (scipy has no limit; beyond this the sections of a
/// band filter lose all accuracy in double precision anyway).
pub const MAX_ORDER: usize = 64;

/// The band of a Butterworth filter: cutoff frequencies in Hz, as scipy's `Wn` with `fs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// `btype='lowpass'`, the -3 dB frequency.
    Lowpass(f64),
    /// `btype='highpass'`, the -3 dB frequency.
    Highpass(f64),
    /// `btype='bandpass'`, the low and high -3 dB frequencies (low < high).
    Bandpass(f64, f64),
    /// `btype='bandstop'`, the low and high -3 dB frequencies (low < high).
    Bandstop(f64, f64),
}

/// How a section list filters a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IirMode {
    /// `scipy.signal.sosfilt(sos, x)`: zero initial state.
    #[default]
    Zero,
    /// `sosfilt(sos, x, zi=sosfilt_zi(sos) * x[0])`: starts in the steady state of a constant
    /// input equal to the first sample, so there is no start-up transient on a DC offset.
    /// This is what audiomentations' filters (`LowPassFilter` ... `SevenBandParametricEQ`
    /// with `zero_phase=False`) do.
    Steady,
    /// `scipy.signal.sosfiltfilt(sos, x)`: forward then backward (zero phase, squared
    /// magnitude), on the signal extended by an odd reflection of `padlen = 3 * (2 *
    /// n_sections + 1 - min(#(b2 == 0), #(a2 == 0)))` samples at each end, each pass starting
    /// from the steady state of its first sample. scipy raises for signals of `padlen` samples
    /// or fewer; so do the filters here (a typed error); empty signals are left as they are.
    ZeroPhase,
}

fn check_rate(sample_rate: f64) -> Result<()> {
    if !(sample_rate.is_finite() && sample_rate > 0.0) {
        return Err(Error::param(
            "sample_rate",
            format!("must be a positive finite number of Hz, got {sample_rate}"),
        ));
    }
    Ok(())
}

fn check_freq(name: &'static str, f: f64, sample_rate: f64) -> Result<()> {
    let nyq = sample_rate / 2.0;
    if !(f.is_finite() && f > 0.0 && f < nyq) {
        return Err(Error::param(
            name,
            format!("must lie strictly between 0 and the Nyquist frequency {nyq} Hz, got {f}"),
        ));
    }
    Ok(())
}

/// Butterworth second-order sections as `scipy.signal.butter(order, Wn, btype, output='sos',
/// fs=sample_rate)`: `ceil(order / 2)` sections for low/high-pass, `order` for band-pass and
/// band-stop (whose order doubles, as in scipy).
///
/// audiomentations' `LowPassFilter` etc. take a roll-off in dB/octave: `order = rolloff / 6`
/// (`rolloff / 12` with `zero_phase`, as filtering twice doubles the slope).
///
/// Errors: `order` 0 or above [`MAX_ORDER`]; a cutoff not strictly between 0 and
/// `sample_rate / 2`; band edges not increasing; a sample rate that is not positive.
///
/// ```
/// use wavegpu::dsp::iir::{butter, Band};
/// let sos = butter(2, Band::Highpass(100.0), 44_100.0)?;
/// assert_eq!(sos.len(), 1);
/// assert!(butter(0, Band::Lowpass(100.0), 44_100.0).is_err());
/// assert!(butter(4, Band::Bandpass(3000.0, 2000.0), 44_100.0).is_err());
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn butter(order: usize, band: Band, sample_rate: f64) -> Result<Vec<Section>> {
    if order == 0 || order > MAX_ORDER {
        return Err(Error::param(
            "order",
            format!("must be between 1 and {MAX_ORDER}, got {order}"),
        ));
    }
    check_rate(sample_rate)?;
    let nyq = sample_rate / 2.0;
    let warp = |f: f64| 4.0 * (std::f64::consts::PI * (f / nyq) / 2.0).tan();
    let (z, p, k) = buttap(order);
    let (z, p, k) = match band {
        Band::Lowpass(f) | Band::Highpass(f) => {
            check_freq("cutoff_freq", f, sample_rate)?;
            let wo = warp(f);
            if matches!(band, Band::Lowpass(_)) {
                lp2lp(&z, &p, k, wo)
            } else {
                lp2hp(&z, &p, k, wo)
            }
        }
        Band::Bandpass(lo, hi) | Band::Bandstop(lo, hi) => {
            check_freq("low_freq", lo, sample_rate)?;
            check_freq("high_freq", hi, sample_rate)?;
            if lo >= hi {
                return Err(Error::param(
                    "low_freq",
                    format!("the band edges must increase: low {lo} Hz >= high {hi} Hz"),
                ));
            }
            let (w0, w1) = (warp(lo), warp(hi));
            let bw = w1 - w0;
            let wo = (w0 * w1).sqrt();
            if matches!(band, Band::Bandpass(..)) {
                lp2bp(&z, &p, k, wo, bw)
            } else {
                lp2bs(&z, &p, k, wo, bw)
            }
        }
    };
    let (z, p, k) = bilinear(&z, &p, k);
    Ok(zpk2sos(z, p, k))
}

/// audiomentations' `BaseButterworthFilter.apply` (`LowPassFilter`, `HighPassFilter`,
/// `BandPassFilter`, `BandStopFilter`) for drawn parameters: the sections and how to run
/// them.
///
/// - `band`: the drawn cutoff (`Lowpass`/`Highpass`), or for the two-sided filters
///   `(center_freq - bandwidth / 2, center_freq + bandwidth / 2)`;
/// - `rolloff`: the drawn roll-off in dB/octave, a multiple of 6 (of 12 with `zero_phase`);
///   the order is `rolloff / 6` (`rolloff / 12` with `zero_phase`);
/// - a cutoff (or the upper band edge) above `sample_rate // 2` (integer division, as
///   audiomentations) becomes `0.9999 * (sample_rate // 2)`, as audiomentations does;
/// - the mode is [`IirMode::ZeroPhase`] with `zero_phase`, else [`IirMode::Steady`]
///   (audiomentations passes `zi = sosfilt_zi(sos) * x[0]`).
///
/// ```
/// use wavegpu::dsp::iir::{butterworth_transform, Band, IirMode};
/// let (sos, mode) = butterworth_transform(Band::Lowpass(9000.0), 24, false, 16_000)?;
/// assert_eq!((sos.len(), mode), (2, IirMode::Steady)); // cutoff clamped to 7999.2 Hz
/// assert!(butterworth_transform(Band::Lowpass(1000.0), 18, true, 16_000).is_err());
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn butterworth_transform(
    band: Band,
    rolloff: u32,
    zero_phase: bool,
    sample_rate: u32,
) -> Result<(Vec<Section>, IirMode)> {
    let step = if zero_phase { 12 } else { 6 };
    if rolloff == 0 || rolloff % step != 0 {
        return Err(Error::param(
            "rolloff",
            format!(
                "must be a positive multiple of {step} dB/octave{}, got {rolloff}",
                if zero_phase { " with zero_phase" } else { "" }
            ),
        ));
    }
    let nyq = (sample_rate / 2) as f64;
    let clamp = |f: f64| if f > nyq { nyq * 0.9999 } else { f };
    let band = match band {
        Band::Lowpass(f) => Band::Lowpass(clamp(f)),
        Band::Highpass(f) => Band::Highpass(clamp(f)),
        Band::Bandpass(lo, hi) => Band::Bandpass(lo, clamp(hi)),
        Band::Bandstop(lo, hi) => Band::Bandstop(lo, clamp(hi)),
    };
    let sos = butter((rolloff / step) as usize, band, sample_rate as f64)?;
    let mode = if zero_phase {
        IirMode::ZeroPhase
    } else {
        IirMode::Steady
    };
    Ok((sos, mode))
}

/// The most taps [`firwin`] designs.
pub const MAX_TAPS: usize = 1 << 14;

/// The FIR option of the band filters: a linear-phase windowed-sinc filter as
/// `scipy.signal.firwin(numtaps, cutoff, window='hamming', pass_zero=btype, scale=True,
/// fs=sample_rate)`, the taps in f64. Applied centred (no delay: `np.convolve(x, h,
/// mode='same')`, zeros outside the signal) by the FIR kernels, so `numtaps` must be odd
/// (scipy also requires odd counts for high-pass and band-stop; this keeps the centring
/// exact for every band).
///
/// Errors: `numtaps` even, 0 or above [`MAX_TAPS`]; cutoffs as [`butter`].
///
/// ```
/// use wavegpu::dsp::iir::{firwin, Band};
/// let h = firwin(101, Band::Lowpass(1000.0), 16_000.0)?;
/// assert_eq!(h.len(), 101);
/// assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-12); // unit gain at DC
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn firwin(numtaps: usize, band: Band, sample_rate: f64) -> Result<Vec<f64>> {
    if numtaps == 0 || numtaps % 2 == 0 || numtaps > MAX_TAPS {
        return Err(Error::param(
            "numtaps",
            format!("must be odd and between 1 and {MAX_TAPS}, got {numtaps}"),
        ));
    }
    check_rate(sample_rate)?;
    let nyq = 0.5 * sample_rate;
    let (cut, pass_zero): (Vec<f64>, bool) = match band {
        Band::Lowpass(f) | Band::Highpass(f) => {
            check_freq("cutoff_freq", f, sample_rate)?;
            (vec![f / nyq], matches!(band, Band::Lowpass(_)))
        }
        Band::Bandpass(lo, hi) | Band::Bandstop(lo, hi) => {
            check_freq("low_freq", lo, sample_rate)?;
            check_freq("high_freq", hi, sample_rate)?;
            if lo >= hi {
                return Err(Error::param(
                    "low_freq",
                    format!("the band edges must increase: low {lo} Hz >= high {hi} Hz"),
                ));
            }
            (vec![lo / nyq, hi / nyq], matches!(band, Band::Bandstop(..)))
        }
    };
    let pass_nyquist = (cut.len() % 2 == 0) == pass_zero;
    let mut edges = Vec::new();
    if pass_zero {
        edges.push(0.0);
    }
    edges.extend(&cut);
    if pass_nyquist {
        edges.push(1.0);
    }
    let alpha = 0.5 * (numtaps as f64 - 1.0);
    let m: Vec<f64> = (0..numtaps).map(|i| i as f64 - alpha).collect();
    let sinc = |x: f64| {
        let y = std::f64::consts::PI * if x == 0.0 { 1.0e-20 } else { x };
        y.sin() / y
    };
    let mut h = vec![0.0f64; numtaps];
    for pair in edges.chunks(2) {
        let (left, right) = (pair[0], pair[1]);
        for (v, &mi) in h.iter_mut().zip(&m) {
            *v += right * sinc(right * mi);
            *v -= left * sinc(left * mi);
        }
    }
    // Symmetric Hamming window, as get_window('hamming', numtaps, fftbins=False).
    if numtaps > 1 {
        let step = 2.0 * std::f64::consts::PI / (numtaps as f64 - 1.0);
        for (i, v) in h.iter_mut().enumerate() {
            let fac = if i == numtaps - 1 {
                std::f64::consts::PI
            } else {
                -std::f64::consts::PI + i as f64 * step
            };
            *v *= 0.54 + 0.46 * fac.cos();
        }
    }
    let (left, right) = (edges[0], edges[1]);
    let scale_frequency = if left == 0.0 {
        0.0
    } else if right == 1.0 {
        1.0
    } else {
        0.5 * (left + right)
    };
    let s: f64 = h
        .iter()
        .zip(&m)
        .map(|(v, mi)| v * (std::f64::consts::PI * mi * scale_frequency).cos())
        .sum();
    for v in &mut h {
        *v /= s;
    }
    Ok(h)
}

/// Filters one signal with FIR taps, centred (`np.convolve(x, taps, mode='same')` for an odd
/// number of taps: no delay, zeros outside the signal), accumulating in f64.
///
/// Errors: an even or empty tap list, or taps that are not finite.
pub fn fir_same(taps: &[f64], x: &[f32]) -> Result<Vec<f32>> {
    check_taps(taps)?;
    let mut y = x.to_vec();
    crate::cpu::iir::fir_row(taps, &mut y);
    Ok(y)
}

/// Checks FIR taps: an odd, non-empty count (centred application), all finite.
pub fn check_taps(taps: &[f64]) -> Result<()> {
    if taps.len() % 2 == 0 || taps.len() > MAX_TAPS {
        return Err(Error::param(
            "taps",
            format!(
                "an odd number of taps up to {MAX_TAPS} is needed to centre the filter, got {}",
                taps.len()
            ),
        ));
    }
    if let Some(v) = taps.iter().find(|v| !v.is_finite()) {
        return Err(Error::param("taps", format!("a tap is not finite: {v}")));
    }
    Ok(())
}

// --- scipy's zpk pipeline, step by step -------------------------------------------------

fn buttap(n: usize) -> (Vec<C>, Vec<C>, f64) {
    let p = (0..n)
        .map(|i| {
            let m = -(n as f64) + 1.0 + 2.0 * i as f64;
            let th = std::f64::consts::PI * m / (2.0 * n as f64);
            C::new(-th.cos(), -th.sin())
        })
        .collect();
    (Vec::new(), p, 1.0)
}

/// Complex division as numpy does it (Smith's algorithm).
fn cdiv(a: C, b: C) -> C {
    let (ar, ai, br, bi) = (a.re, a.im, b.re, b.im);
    if br.abs() >= bi.abs() {
        if br == 0.0 && bi == 0.0 {
            return C::new(ar / br.abs(), ai / br.abs());
        }
        let rat = bi / br;
        let scl = 1.0 / (br + bi * rat);
        C::new((ar + ai * rat) * scl, (ai - ar * rat) * scl)
    } else {
        let rat = br / bi;
        let scl = 1.0 / (bi + br * rat);
        C::new((ar * rat + ai) * scl, (ai * rat - ar) * scl)
    }
}

/// The principal square root as C99 `csqrt`.
fn csqrt(z: C) -> C {
    let (x, y) = (z.re, z.im);
    if x == 0.0 && y == 0.0 {
        return C::new(0.0, y);
    }
    let t = ((x.abs() + x.hypot(y)) / 2.0).sqrt();
    if x >= 0.0 {
        C::new(t, y / (2.0 * t))
    } else {
        C::new(y.abs() / (2.0 * t), t.copysign(y))
    }
}

fn prod(v: impl Iterator<Item = C>) -> C {
    v.fold(C::new(1.0, 0.0), |a, b| a * b)
}

type Zpk = (Vec<C>, Vec<C>, f64);

fn lp2lp(z: &[C], p: &[C], k: f64, wo: f64) -> Zpk {
    let degree = p.len() - z.len();
    (
        z.iter().map(|&v| v * wo).collect(),
        p.iter().map(|&v| v * wo).collect(),
        k * wo.powf(degree as f64),
    )
}

fn lp2hp(z: &[C], p: &[C], k: f64, wo: f64) -> Zpk {
    let degree = p.len() - z.len();
    let w = C::new(wo, 0.0);
    let mut zh: Vec<C> = z.iter().map(|&v| cdiv(w, v)).collect();
    let ph = p.iter().map(|&v| cdiv(w, v)).collect();
    zh.extend(std::iter::repeat_n(C::new(0.0, 0.0), degree));
    let kh = k * cdiv(prod(z.iter().map(|&v| -v)), prod(p.iter().map(|&v| -v))).re;
    (zh, ph, kh)
}

fn lp2bp(z: &[C], p: &[C], k: f64, wo: f64, bw: f64) -> Zpk {
    let degree = p.len() - z.len();
    let split = |v: &[C]| -> Vec<C> {
        let lp: Vec<C> = v.iter().map(|&x| x * bw / 2.0).collect();
        let r: Vec<C> = lp.iter().map(|&x| csqrt(x * x - wo * wo)).collect();
        let mut out: Vec<C> = lp.iter().zip(&r).map(|(&a, &b)| a + b).collect();
        out.extend(lp.iter().zip(&r).map(|(&a, &b)| a - b));
        out
    };
    let mut zb = split(z);
    zb.extend(std::iter::repeat_n(C::new(0.0, 0.0), degree));
    (zb, split(p), k * bw.powf(degree as f64))
}

fn lp2bs(z: &[C], p: &[C], k: f64, wo: f64, bw: f64) -> Zpk {
    let degree = p.len() - z.len();
    let half = C::new(bw / 2.0, 0.0);
    let split = |v: &[C]| -> Vec<C> {
        let hp: Vec<C> = v.iter().map(|&x| cdiv(half, x)).collect();
        let r: Vec<C> = hp.iter().map(|&x| csqrt(x * x - wo * wo)).collect();
        let mut out: Vec<C> = hp.iter().zip(&r).map(|(&a, &b)| a + b).collect();
        out.extend(hp.iter().zip(&r).map(|(&a, &b)| a - b));
        out
    };
    let mut zb = split(z);
    zb.extend(std::iter::repeat_n(C::new(0.0, wo), degree));
    zb.extend(std::iter::repeat_n(C::new(0.0, -wo), degree));
    let kb = k * cdiv(prod(z.iter().map(|&v| -v)), prod(p.iter().map(|&v| -v))).re;
    (zb, split(p), kb)
}

fn bilinear(z: &[C], p: &[C], k: f64) -> Zpk {
    let fs2 = C::new(4.0, 0.0); // 2 * fs with scipy's normalised fs = 2
    let degree = p.len() - z.len();
    let mut zz: Vec<C> = z.iter().map(|&v| cdiv(fs2 + v, fs2 - v)).collect();
    let pz = p.iter().map(|&v| cdiv(fs2 + v, fs2 - v)).collect();
    zz.extend(std::iter::repeat_n(C::new(-1.0, 0.0), degree));
    let kz = k * cdiv(
        prod(z.iter().map(|&v| fs2 - v)),
        prod(p.iter().map(|&v| fs2 - v)),
    )
    .re;
    (zz, pz, kz)
}

/// scipy's `_cplxreal`: the complex values (one of each conjugate pair, positive imaginary
/// part, sorted by real part) followed by the real ones (sorted).
fn cplxreal(mut z: Vec<C>) -> Vec<C> {
    let tol = 100.0 * f64::EPSILON;
    z.sort_by(|a, b| {
        a.re.total_cmp(&b.re)
            .then(a.im.abs().total_cmp(&b.im.abs()))
    });
    let is_real = |v: &C| v.im.abs() <= tol * v.norm();
    let zr: Vec<C> = z
        .iter()
        .filter(|v| is_real(v))
        .map(|v| C::new(v.re, 0.0))
        .collect();
    let zc: Vec<C> = z.iter().filter(|v| !is_real(v)).copied().collect();
    let mut zp: Vec<C> = zc.iter().filter(|v| v.im > 0.0).copied().collect();
    let mut zn: Vec<C> = zc.iter().filter(|v| v.im < 0.0).copied().collect();
    // Runs of equal real part: sort each by |imag|, as scipy does.
    let mut i = 0;
    while i < zp.len() {
        let mut j = i + 1;
        while j < zp.len() && zp[j].re - zp[j - 1].re <= tol * zp[j - 1].norm() {
            j += 1;
        }
        if j - i > 1 {
            zp[i..j].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
            let end = j.min(zn.len());
            if i < end {
                zn[i..end].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
            }
        }
        i = j;
    }
    let mut out: Vec<C> = zp
        .iter()
        .zip(&zn)
        .map(|(&a, &b)| (a + b.conj()) / 2.0)
        .collect();
    out.extend(zr);
    out
}

fn isreal(v: &C) -> bool {
    v.im == 0.0
}

/// The index in `from` nearest to `to` among the real, complex or any values.
fn nearest(from: &[C], to: C, which: Option<bool>) -> usize {
    let mut order: Vec<usize> = (0..from.len()).collect();
    order.sort_by(|&a, &b| (from[a] - to).norm().total_cmp(&(from[b] - to).norm()));
    *order
        .iter()
        .find(|&&i| which.is_none_or(|real| isreal(&from[i]) == real))
        .expect("scipy's pairing always finds one")
}

/// The index of the value nearest the unit circle (scipy's digital "worst").
fn worst(p: &[C]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if (1.0 - v.norm()).abs() < (1.0 - p[best].norm()).abs() {
            best = i;
        }
    }
    best
}

/// The monic polynomial with roots `r`, real part (the roots come in conjugate pairs or are
/// real), highest power first.
fn poly(r: &[C]) -> Vec<f64> {
    let mut a = vec![C::new(1.0, 0.0)];
    for &root in r {
        let mut next = vec![C::new(0.0, 0.0); a.len() + 1];
        for (i, &c) in a.iter().enumerate() {
            next[i] += c;
            next[i + 1] += c * -root;
        }
        a = next;
    }
    a.iter().map(|c| c.re).collect()
}

fn single_section(z: &[C], p: &[C]) -> Section {
    let mut s = [0.0; 6];
    let b = poly(z);
    let a = poly(p);
    s[3 - b.len()..3].copy_from_slice(&b);
    s[6 - a.len()..6].copy_from_slice(&a);
    s
}

/// scipy's `zpk2sos(z, p, k)` with the default digital pairing `'nearest'`.
fn zpk2sos(mut z: Vec<C>, mut p: Vec<C>, k: f64) -> Vec<Section> {
    let zero = C::new(0.0, 0.0);
    if z.is_empty() && p.is_empty() {
        return vec![[k, 0.0, 0.0, 1.0, 0.0, 0.0]];
    }
    while p.len() < z.len() {
        p.push(zero);
    }
    while z.len() < p.len() {
        z.push(zero);
    }
    let n_sections = p.len().div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(zero);
        z.push(zero);
    }
    let mut z = cplxreal(z);
    let mut p = cplxreal(p);
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        let p1 = p.remove(worst(&p));
        let real_p = p.iter().filter(|v| isreal(v)).count();
        let real_z = z.iter().filter(|v| isreal(v)).count();
        if isreal(&p1) && real_p == 0 {
            let z1 = z.remove(nearest(&z, p1, Some(true)));
            sos[si] = single_section(&[z1, zero], &[p1, zero]);
        } else if p.len() + 1 == z.len() && !isreal(&p1) && real_p == 1 && real_z == 1 {
            let z1 = z.remove(nearest(&z, p1, Some(false)));
            sos[si] = single_section(&[z1, z1.conj()], &[p1, p1.conj()]);
        } else {
            let p2 = if isreal(&p1) {
                let reals: Vec<usize> = (0..p.len()).filter(|&i| isreal(&p[i])).collect();
                let vals: Vec<C> = reals.iter().map(|&i| p[i]).collect();
                p.remove(reals[worst(&vals)])
            } else {
                p1.conj()
            };
            sos[si] = if z.is_empty() {
                single_section(&[], &[p1, p2])
            } else {
                let z1 = z.remove(nearest(&z, p1, None));
                if !isreal(&z1) {
                    single_section(&[z1, z1.conj()], &[p1, p2])
                } else if !z.is_empty() {
                    let z2 = z.remove(nearest(&z, p1, Some(true)));
                    single_section(&[z1, z2], &[p1, p2])
                } else {
                    single_section(&[z1], &[p1, p2])
                }
            };
        }
    }
    for c in &mut sos[0][..3] {
        *c *= k;
    }
    sos
}

// --- RBJ cookbook biquads as audiomentations computes them -------------------------------

/// The three RBJ biquads of audiomentations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rbj {
    /// `PeakingFilter`: `gain_db` at `center_freq`, bandwidth set by `q`.
    Peaking,
    /// `LowShelfFilter`: `gain_db` at DC, shelf midpoint `center_freq`, slope set by `q`.
    LowShelf,
    /// `HighShelfFilter`: `gain_db` at Nyquist, shelf midpoint `center_freq`.
    HighShelf,
}

/// One RBJ cookbook biquad with audiomentations' formulas (`A = 10^(gain_db / 40)`,
/// `alpha = sin(w0) / (2 q)`, the shelves' `2 sqrt(A) alpha` term), normalised by `a0`.
///
/// audiomentations clamps a shelf's `center_freq` above `sr // 2` to `0.9999 * (sr // 2)`
/// before calling this and never clamps the peaking filter's; here a frequency outside
/// (0, Nyquist) is an error, so the caller applies the clamp it wants first. The shelves'
/// `q` is audiomentations' `q_factor` in (0, 1].
///
/// ```
/// use wavegpu::dsp::iir::{rbj, Rbj};
/// let s = rbj(Rbj::Peaking, 1000.0, 6.0, 1.0, 16_000.0)?;
/// assert_eq!(s[3], 1.0);
/// assert!(rbj(Rbj::Peaking, 1000.0, 6.0, 0.0, 16_000.0).is_err());
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn rbj(kind: Rbj, center_freq: f64, gain_db: f64, q: f64, sample_rate: f64) -> Result<Section> {
    check_rate(sample_rate)?;
    check_freq("center_freq", center_freq, sample_rate)?;
    if !gain_db.is_finite() {
        return Err(Error::param(
            "gain_db",
            format!("must be finite, got {gain_db}"),
        ));
    }
    if !(q.is_finite() && q > 0.0) {
        return Err(Error::param(
            "q_factor",
            format!("must be a positive finite number, got {q}"),
        ));
    }
    let w = 2.0 * std::f64::consts::PI * center_freq / sample_rate;
    let g = 10f64.powf(gain_db / 40.0);
    let alpha = w.sin() / 2.0 / q;
    let c = w.cos();
    let sq = 2.0 * g.sqrt() * alpha;
    let (b0, b1, b2, a0, a1, a2) = match kind {
        Rbj::Peaking => (
            1.0 + alpha * g,
            -2.0 * c,
            1.0 - alpha * g,
            1.0 + alpha / g,
            -2.0 * c,
            1.0 - alpha / g,
        ),
        Rbj::LowShelf => (
            g * ((g + 1.0) - (g - 1.0) * c + sq),
            2.0 * g * ((g - 1.0) - (g + 1.0) * c),
            g * ((g + 1.0) - (g - 1.0) * c - sq),
            (g + 1.0) + (g - 1.0) * c + sq,
            -2.0 * ((g - 1.0) + (g + 1.0) * c),
            (g + 1.0) + (g - 1.0) * c - sq,
        ),
        Rbj::HighShelf => (
            g * ((g + 1.0) + (g - 1.0) * c + sq),
            -2.0 * g * ((g - 1.0) + (g + 1.0) * c),
            g * ((g + 1.0) + (g - 1.0) * c - sq),
            (g + 1.0) - (g - 1.0) * c + sq,
            2.0 * ((g - 1.0) - (g + 1.0) * c),
            (g + 1.0) - (g - 1.0) * c - sq,
        ),
    };
    Ok([b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0])
}

/// audiomentations' `PeakingFilter` / `LowShelfFilter` / `HighShelfFilter` `apply` for
/// drawn parameters: the shelves clamp a `center_freq` above `sample_rate // 2` to
/// `0.9999 * (sample_rate // 2)` first (the peaking filter does not, and a peak at or above
/// Nyquist is an error here); run the section with [`IirMode::Steady`].
pub fn rbj_transform(
    kind: Rbj,
    center_freq: f64,
    gain_db: f64,
    q: f64,
    sample_rate: u32,
) -> Result<Section> {
    let nyq = (sample_rate / 2) as f64;
    let f = if kind != Rbj::Peaking && center_freq > nyq {
        nyq * 0.9999
    } else {
        center_freq
    };
    rbj(kind, f, gain_db, q, sample_rate as f64)
}

/// One band of a parametric EQ: centre frequency (Hz), gain (dB), quality factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EqBand {
    /// Centre (peaking) or shelf midpoint frequency in Hz.
    pub center_freq: f64,
    /// Gain in dB.
    pub gain_db: f64,
    /// Quality factor `q`.
    pub q: f64,
}

/// The centre frequency ranges (Hz) of audiomentations' `SevenBandParametricEQ`: a low shelf,
/// five peaking filters, a high shelf, in cascade order. Its `q` ranges are the defaults of
/// the single filters: (0.1, 0.999) for the shelves, (0.5, 5.0) for the peaks.
pub const SEVEN_BAND_CENTERS: [(f64, f64); 7] = [
    (42.0, 95.0),
    (91.0, 204.0),
    (196.0, 441.0),
    (421.0, 948.0),
    (909.0, 2045.0),
    (1957.0, 4404.0),
    (4216.0, 9486.0),
];

/// audiomentations' `SevenBandParametricEQ` as one section list: low shelf (band 0), five
/// peaking filters (bands 1..=5), high shelf (band 6), in that order. audiomentations runs
/// the seven filters one after another, each with `sosfilt_zi * (its first input sample)`;
/// the cascade filtered with [`IirMode::Steady`] is the same filter (`sosfilt_zi` scales
/// each section's state by the DC gain of the sections before it), up to the float32
/// rounding audiomentations applies between the stages.
pub fn seven_band_eq(bands: &[EqBand; 7], sample_rate: f64) -> Result<Vec<Section>> {
    bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let kind = match i {
                0 => Rbj::LowShelf,
                6 => Rbj::HighShelf,
                _ => Rbj::Peaking,
            };
            rbj(kind, b.center_freq, b.gain_db, b.q, sample_rate)
        })
        .collect()
}

/// `scipy.signal.sosfilt_zi(sos)`: the state of each section in the steady state of a unit
/// constant input (multiply by the first sample for [`IirMode::Steady`]).
///
/// A section with a pole at z = 1 (`1 + a1 + a2 == 0`) has no steady state; its entries are
/// then not finite (scipy raises a singular-matrix error there).
pub fn sosfilt_zi(sos: &[Section]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let (b0, b1, b2, a1, a2) = (s[0], s[1], s[2], s[4], s[5]);
            let (r0, r1) = (b1 - a1 * b0, b2 - a2 * b0);
            let z0 = (r0 + r1) / (1.0 + a1 + a2);
            let z1 = r1 - a2 * z0;
            let zi = [scale * z0, scale * z1];
            scale *= (b0 + b1 + b2) / (1.0 + a1 + a2);
            zi
        })
        .collect()
}

/// scipy's `sosfiltfilt` edge: the odd extension's length at each end.
pub fn filtfilt_padlen(sos: &[Section]) -> usize {
    let ntaps = 2 * sos.len() + 1;
    let zb = sos.iter().filter(|s| s[2] == 0.0).count();
    let za = sos.iter().filter(|s| s[5] == 0.0).count();
    3 * (ntaps - zb.min(za))
}

/// Checks a section list: non-empty, finite, `a0 == 1`.
pub fn check_sos(sos: &[Section]) -> Result<()> {
    if sos.is_empty() {
        return Err(Error::param("sos", "a filter needs at least one section"));
    }
    for (i, s) in sos.iter().enumerate() {
        if s.iter().any(|v| !v.is_finite()) {
            return Err(Error::param(
                "sos",
                format!("section {i} has a coefficient that is not finite: {s:?}"),
            ));
        }
        if s[3] != 1.0 {
            return Err(Error::param(
                "sos",
                format!(
                    "section {i} must be normalised (a0 == 1), got a0 = {}",
                    s[3]
                ),
            ));
        }
    }
    Ok(())
}

/// Filters one signal with a section list on the CPU, in `f64` as scipy does, returning
/// `f32`. See [`IirMode`] for the three modes.
///
/// Errors: a bad section list ([`check_sos`]); with [`IirMode::ZeroPhase`], a non-empty
/// signal of `padlen` samples or fewer (see [`filtfilt_padlen`]).
pub fn sosfilt(sos: &[Section], x: &[f32], mode: IirMode) -> Result<Vec<f32>> {
    check_sos(sos)?;
    let mut y = x.to_vec();
    crate::cpu::iir::filter_row(sos, &mut y, mode)
        .map_err(|reason| Error::audio("signal", reason))?;
    Ok(y)
}
