//! `time_stretch` and `pitch_shift` by librosa's phase vocoder: the per-row plan (frames, time
//! steps, lengths) both paths share, resampy's `kaiser_best` table, and the CPU twin (f64) of
//! `gpu::stretch`.
//!
//! For a row of `n` valid samples and a rate `r` (pitch_shift: `r = 2^(-semitones / 12)`), as
//! `librosa.effects.time_stretch` (0.11) does it:
//! 1. STFT, `n_fft` 2048, hop 512, periodic Hann, centred with zero padding: `T = 1 + n / 512`
//!    frames;
//! 2. `phase_vocoder`: output frame `t` of `ceil(T / r)` sits at `s = t r` (f64, as
//!    `np.arange`): magnitude interpolated between frames `floor(s)` and `floor(s) + 1` (zero
//!    past the end), phase accumulated from frame 0's by the phase differences of those
//!    frames (the principal-argument step of librosa changes the phase by multiples of 2 pi
//!    only);
//! 3. iSTFT with `length = round(n / r)` (Python's rounding), the window-sum-square
//!    normalisation where it is not zero.
//!
//! time_stretch keeps the first `min(n, round(n / r))` samples and zeros after them
//! (audiomentations' `leave_length_unchanged`). pitch_shift resamples the stretched signal from
//! `sr / r` to `sr` with resampy's algorithm and its `kaiser_best` filter (what
//! `librosa.resample(res_type="kaiser_best")` runs) and keeps the first `n` samples.

use realfft::RealFftPlanner;

/// FFT length, hop and bins of the vocoder's STFT (librosa's defaults).
pub(crate) const N_FFT: usize = 2048;
pub(crate) const HOP: usize = 512;
pub(crate) const BINS: usize = N_FFT / 2 + 1;

/// One row's stretch at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stretch {
    /// The time-stretch rate (> 1 shortens).
    pub rate: f64,
    /// pitch_shift: the batch's sample rate (the stretched row is resampled from `sr / rate`
    /// to `sr`); `None` for time_stretch.
    pub pitch_sr: Option<u32>,
}

/// resampy's `kaiser_best`: zero crossings, table entries per crossing, the Kaiser window's
/// beta and the rolloff (rebuilds resampy's precomputed table within 4e-15, see
/// tests/data/make_stretch_dumps.py).
pub(crate) const KAISER_ZEROS: usize = 50;
pub(crate) const KAISER_PRECISION: usize = 8192;
const KAISER_BETA: f64 = 12.984585247046379;
const KAISER_ROLLOFF: f64 = 0.9173473712608761;

/// The modified Bessel function I0 (power series; converges fast for the arguments here).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..200 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// resampy's kaiser_best half window (`KAISER_ZEROS * KAISER_PRECISION + 1` values), built
/// once.
pub(crate) fn kaiser_best() -> &'static [f64] {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let n = KAISER_ZEROS * KAISER_PRECISION;
        let i0b = bessel_i0(KAISER_BETA);
        (0..=n)
            .map(|k| {
                let x = KAISER_ROLLOFF * (k as f64 * (KAISER_ZEROS as f64 / n as f64));
                let sinc = if x == 0.0 {
                    1.0
                } else {
                    let px = std::f64::consts::PI * x;
                    px.sin() / px
                };
                let r = k as f64 / n as f64;
                let taper = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0b;
                taper * KAISER_ROLLOFF * sinc
            })
            .collect()
    })
}

/// The resampling of a pitch-shifted row (resampy's parameters for `sr / rate -> sr`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Resample {
    /// `sr_new / sr_orig` and its inverse (the input time per output sample).
    pub ratio: f64,
    pub increment: f64,
    /// `min(1, ratio)` and the table stride `int(scale * precision)`.
    pub scale: f64,
    pub index_step: usize,
    /// Output samples resampy produces: `int(len * ratio)`.
    pub out_len: usize,
}

/// Everything about one row's stretch that depends only on its length and parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowPlan {
    /// Valid samples in and STFT frames `1 + n / HOP`.
    pub n: usize,
    pub frames: usize,
    /// Per output frame of the vocoder: the left input frame and the interpolation weight.
    pub steps: Vec<(u32, f64)>,
    /// Samples of the iSTFT output and the frames it sums.
    pub stretched: usize,
    pub synth_frames: usize,
    pub resample: Option<Resample>,
    /// Leading samples of the row's result that are not zero padding.
    pub out_valid: usize,
}

impl RowPlan {
    /// The plan of a row of `n` samples (`n > 0`).
    pub fn new(n: usize, s: &Stretch) -> RowPlan {
        let frames = 1 + n / HOP;
        let t_out = (frames as f64 / s.rate).ceil() as usize;
        let steps = (0..t_out)
            .map(|t| {
                let st = t as f64 * s.rate;
                let left = st.floor();
                (left as u32, st - left)
            })
            .collect();
        let len = (n as f64 / s.rate).round_ties_even() as usize;
        // librosa's istft takes length = 0 as no length: every frame, centre trimmed.
        let (stretched, synth_frames) = if len == 0 {
            (HOP * (t_out - 1), t_out)
        } else {
            (len, t_out.min((len + N_FFT).div_ceil(HOP)))
        };
        let resample = s.pitch_sr.map(|sr| {
            let orig = f64::from(sr) / s.rate;
            let ratio = f64::from(sr) / orig;
            let scale = ratio.min(1.0);
            Resample {
                ratio,
                increment: 1.0 / ratio,
                scale,
                index_step: (scale * KAISER_PRECISION as f64) as usize,
                out_len: (stretched as f64 * ratio) as usize,
            }
        });
        let out_valid = match &resample {
            // resampy refuses to produce nothing; librosa raises there: zeros here.
            Some(r) => r.out_len.min(n),
            None => stretched.min(n),
        };
        RowPlan {
            n,
            frames,
            steps,
            stretched,
            synth_frames,
            resample,
            out_valid,
        }
    }
}

/// The periodic Hann window of the vocoder's STFT.
pub(crate) fn window() -> Vec<f64> {
    (0..N_FFT)
        .map(|k| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / N_FFT as f64).cos())
        .collect()
}

/// What every CPU stretch shares, built once: the window and its square, the bins' phase
/// advance per hop and the two FFT plans.
struct Shared {
    w: Vec<f64>,
    w2: Vec<f64>,
    phi: Vec<f64>,
    fwd: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    inv: std::sync::Arc<dyn realfft::ComplexToReal<f64>>,
}

fn shared() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let w = window();
        let w2 = w.iter().map(|v| v * v).collect();
        let phi = (0..BINS)
            .map(|k| HOP as f64 * 2.0 * std::f64::consts::PI * k as f64 / N_FFT as f64)
            .collect();
        let mut planner = RealFftPlanner::<f64>::new();
        Shared {
            w,
            w2,
            phi,
            fwd: planner.plan_fft_forward(N_FFT),
            inv: planner.plan_fft_inverse(N_FFT),
        }
    })
}

/// `x.round_ties_even()` for `|x| < 2^51`, NaN and the infinities, without a libm call:
/// adding and subtracting 1.5 * 2^52 rounds to an integer in the default rounding mode (to
/// nearest, ties to even). The vocoder rounds a phase difference over 2 pi: a few hundred
/// at most.
#[inline]
fn round_ties_even_small(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    (x + MAGIC) - MAGIC
}

/// The analysis side of the vocoder's STFT: one frame at a time, as magnitudes and phases.
struct Analysis {
    buf: Vec<f64>,
    spec: Vec<num_complex::Complex64>,
    scratch: Vec<num_complex::Complex64>,
}

impl Analysis {
    fn new(sh: &Shared) -> Analysis {
        Analysis {
            buf: vec![0.0; N_FFT],
            spec: sh.fwd.make_output_vec(),
            scratch: sh.fwd.make_scratch_vec(),
        }
    }

    /// Magnitudes and phases of frame `f` of `x`'s STFT (centred, zero padding) into `m` and
    /// `p`; frames from `frames` on are zeros (|0| = 0, arg 0 = 0).
    fn frame(
        &mut self,
        sh: &Shared,
        x: &[f32],
        f: usize,
        frames: usize,
        m: &mut [f64],
        p: &mut [f64],
    ) {
        if f >= frames {
            m.fill(0.0);
            p.fill(0.0);
            return;
        }
        let buf = &mut self.buf;
        // Frame f holds x[f * HOP - N_FFT / 2 ..][..N_FFT], zeros outside x.
        let start = (f * HOP) as i64 - (N_FFT / 2) as i64;
        let lo = (-start).clamp(0, N_FFT as i64) as usize;
        let hi = (x.len() as i64 - start).clamp(lo as i64, N_FFT as i64) as usize;
        buf[..lo].fill(0.0);
        buf[hi..].fill(0.0);
        let xs = &x[(start + lo as i64) as usize..][..hi - lo];
        for ((b, &s), &wj) in buf[lo..hi].iter_mut().zip(xs).zip(&sh.w[lo..hi]) {
            *b = f64::from(s) * wj;
        }
        // Lengths are fixed: the transform cannot fail.
        let _ = sh
            .fwd
            .process_with_scratch(buf, &mut self.spec, &mut self.scratch);
        for ((m, p), c) in m.iter_mut().zip(p.iter_mut()).zip(&self.spec) {
            *m = c.norm();
            *p = c.arg();
        }
    }
}

/// librosa's `time_stretch` of `x` by the plan (f64 throughout): `plan.stretched` samples.
pub(crate) fn time_stretch(x: &[f32], plan: &RowPlan) -> Vec<f64> {
    use num_complex::Complex64;
    const TWO_PI: f64 = 2.0 * std::f64::consts::PI;
    let sh = shared();
    let (w, phi) = (&sh.w, &sh.phi);
    let mut an = Analysis::new(sh);
    // The two input frames the current output frame reads (left, left + 1), each analysed
    // once: the left frame only moves forward.
    let (mut ma, mut pa, mut mb, mut pb) = (
        vec![0.0f64; BINS],
        vec![0.0f64; BINS],
        vec![0.0f64; BINS],
        vec![0.0f64; BINS],
    );
    an.frame(sh, x, 0, plan.frames, &mut ma, &mut pa);
    let mut acc = pa.clone();
    let mut loaded: Option<usize> = None;
    // Synthesis: each output frame inverse transformed and overlap-added (windowed) as soon as
    // it is made.
    let mut spec = sh.inv.make_input_vec();
    let mut buf = vec![0.0f64; N_FFT];
    let mut scratch = sh.inv.make_scratch_vec();
    let total = N_FFT + HOP * (plan.synth_frames - 1);
    let mut y = vec![0.0f64; total];
    // The phase vocoder, as librosa's loop.
    for (t, &(left, alpha)) in plan.steps.iter().enumerate() {
        let l = left as usize;
        match loaded {
            Some(c) if c == l => {}
            Some(c) if c + 1 == l => {
                std::mem::swap(&mut ma, &mut mb);
                std::mem::swap(&mut pa, &mut pb);
                an.frame(sh, x, l + 1, plan.frames, &mut mb, &mut pb);
            }
            _ => {
                an.frame(sh, x, l, plan.frames, &mut ma, &mut pa);
                an.frame(sh, x, l + 1, plan.frames, &mut mb, &mut pb);
            }
        }
        loaded = Some(l);
        if t < plan.synth_frames {
            for (((s, &a), &b), &ph) in spec.iter_mut().zip(&ma).zip(&mb).zip(&acc) {
                *s = Complex64::from_polar((1.0 - alpha) * a + alpha * b, ph);
            }
            // numpy's irfft ignores the imaginary parts of the DC and Nyquist bins.
            spec[0].im = 0.0;
            spec[BINS - 1].im = 0.0;
            let _ = sh
                .inv
                .process_with_scratch(&mut spec, &mut buf, &mut scratch);
            for ((yo, &b), &wj) in y[t * HOP..][..N_FFT].iter_mut().zip(&buf).zip(w) {
                *yo += b / N_FFT as f64 * wj;
            }
        }
        for (((a, &p0), &p1), &ph) in acc.iter_mut().zip(&pa).zip(&pb).zip(phi) {
            let mut d = p1 - p0 - ph;
            d -= TWO_PI * round_ties_even_small(d / TWO_PI);
            *a += ph + d;
        }
    }
    // The iSTFT's normalisation: the window's sum of squares over the frames covering sample
    // j, summed in frame order (as the overlap-add would); not divided where it is zero.
    let wss = |j: usize| {
        let first = (j + 1).saturating_sub(N_FFT).div_ceil(HOP);
        let last = (j / HOP).min(plan.synth_frames - 1);
        (first..=last).fold(0.0f64, |s, t| s + sh.w2[j - t * HOP])
    };
    // Centre trimming: output i is y[i + N_FFT / 2], normalised in place (it only reads
    // further on), zeros past the end of y.
    let half = N_FFT / 2;
    let avail = total.saturating_sub(half).min(plan.stretched);
    for i in 0..avail {
        let j = i + half;
        let d = wss(j);
        y[i] = if d > f64::MIN_POSITIVE {
            y[j] / d
        } else {
            y[j]
        };
    }
    y.truncate(avail);
    y.resize(plan.stretched, 0.0);
    y
}

/// `sum_i (w[i] + eta * (w1[i] - w[i])) * x[i]` over the common length: resampy's
/// interpolated filter taps (`w1` is the table one entry further on) against the signal, in
/// 4 x 2 partial sums (pairs the compiler keeps in SSE2 registers).
#[inline]
fn interp_dot(w: &[f64], w1: &[f64], eta: f64, x: &[f64]) -> f64 {
    const L: usize = 8;
    let n = x.len().min(w.len()).min(w1.len());
    let (w, w1, x) = (&w[..n], &w1[..n], &x[..n]);
    let mut acc = [[0.0f64; 2]; L / 2];
    let (wc, w1c, xc) = (w.chunks_exact(L), w1.chunks_exact(L), x.chunks_exact(L));
    let (wr, w1r, xr) = (wc.remainder(), w1c.remainder(), xc.remainder());
    for ((w, w1), x) in wc.zip(w1c).zip(xc) {
        for (p, a) in acc.iter_mut().enumerate() {
            for (l, a) in a.iter_mut().enumerate() {
                let i = 2 * p + l;
                *a += (w[i] + eta * (w1[i] - w[i])) * x[i];
            }
        }
    }
    let mut tail = 0.0;
    for ((w, w1), x) in wr.iter().zip(w1r).zip(xr) {
        tail += (w + eta * (w1 - w)) * x;
    }
    let s = [
        (acc[0][0] + acc[1][0]) + (acc[2][0] + acc[3][0]),
        (acc[0][1] + acc[1][1]) + (acc[2][1] + acc[3][1]),
    ];
    (s[0] + s[1]) + tail
}

/// resampy's resampler (`resample_f`, kaiser_best) of `x`: `r.out_len` samples.
///
/// resampy reads the window at `offset + i * step` (and the next entry, to interpolate) for
/// the taps `i` of an output sample. Here the window is laid out once per call by phase:
/// row `o` (`0..=step`) holds the entries `o + j * step`, so the taps of an output sample are
/// contiguous in two neighbouring rows, and the left taps read the signal reversed (a
/// reversed copy), so both sides are contiguous dot products. Same products as resampy's
/// loop; the order of the sum differs (f64 rounding).
pub(crate) fn resample(x: &[f64], r: &Resample) -> Vec<f64> {
    let table = kaiser_best();
    let nwin = table.len();
    let step = r.index_step.max(1);
    // Entry k of the (scaled) window, `nwin` itself reading as the last entry (resampy's delta
    // is 0 there); entries after that are never read.
    let entry = |k: usize| {
        let v = table[k.min(nwin - 1)];
        if r.ratio < 1.0 {
            r.ratio * v
        } else {
            v
        }
    };
    let row_len = nwin.div_ceil(step) + 1;
    let mut rows = vec![0.0f64; (step + 1) * row_len];
    for (o, row) in rows.chunks_exact_mut(row_len).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = entry(o + j * step);
        }
    }
    // The taps from `offset` on: the table entries `offset + i * step` and the ones after
    // them, as two slices.
    let taps = |offset: usize| -> (&[f64], &[f64]) {
        let (q, o) = (offset / step, offset % step);
        let q = q.min(row_len);
        (
            &rows[o * row_len..][q..row_len],
            &rows[(o + 1) * row_len..][q..row_len],
        )
    };
    let len = x.len();
    let xr: Vec<f64> = x.iter().rev().copied().collect();
    let num_table = KAISER_PRECISION as f64;
    // Output t: the input sample left of it, the fraction past it and its left offset.
    let left_of = |t: usize| {
        let time = t as f64 * r.increment;
        let n = time as usize;
        let frac = r.scale * (time - n as f64);
        (n, frac, (frac * num_table) as usize)
    };
    let sample = |t: usize| {
        let (n, mut frac, _) = left_of(t);
        if n >= len {
            // Past the input (resampy never gets there: out_len = int(len * ratio)).
            return 0.0;
        }
        let index_frac = frac * num_table;
        let offset = index_frac as usize;
        let eta = index_frac - offset as f64;
        let i_max = (n + 1).min(nwin.saturating_sub(offset) / step);
        let (w, w1) = taps(offset);
        // x[n - i] for i < i_max.
        let left = interp_dot(w, w1, eta, &xr[len - 1 - n..][..i_max]);
        frac = r.scale - frac;
        let index_frac = frac * num_table;
        let offset = index_frac as usize;
        let eta = index_frac - offset as f64;
        let k_max = (len - n - 1).min(nwin.saturating_sub(offset) / step);
        let (w, w1) = taps(offset);
        // x[n + 1 + k] for k < k_max.
        let right = interp_dot(w, w1, eta, &x[n + 1..][..k_max]);
        left + right
    };
    // The table (3.3 MB) does not stay in cache when consecutive outputs read rows far apart:
    // the outputs are visited grouped by their left offset (a counting sort), so that a group
    // reads the same rows (the right offset is `step` minus the left one, within one). Each
    // output is computed alone: the order changes nothing in the result.
    let keys: Vec<u32> = (0..r.out_len)
        .map(|t| left_of(t).2.min(step) as u32)
        .collect();
    let mut start = vec![0usize; step + 2];
    for &k in &keys {
        start[k as usize + 1] += 1;
    }
    for o in 0..=step {
        start[o + 1] += start[o];
    }
    let mut order = vec![0usize; r.out_len];
    for (t, &k) in keys.iter().enumerate() {
        let s = &mut start[k as usize];
        order[*s] = t;
        *s += 1;
    }
    let mut y = vec![0.0f64; r.out_len];
    for &t in &order {
        y[t] = sample(t);
    }
    y
}

/// The CPU twin of `gpu::stretch`: stretches (and for pitch_shift resamples) `row`'s valid
/// samples in place; the row keeps its length (zeros where the result is shorter).
pub(crate) fn stretch_row(row: &mut [f32], s: &Stretch) {
    if row.is_empty() {
        return;
    }
    let plan = RowPlan::new(row.len(), s);
    let y = time_stretch(row, &plan);
    let y = match &plan.resample {
        Some(r) if r.out_len > 0 => resample(&y, r),
        Some(_) => Vec::new(),
        None => y,
    };
    for (i, v) in row.iter_mut().enumerate() {
        *v = if i < plan.out_valid { y[i] as f32 } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    //! The vocoder and the resampler against librosa / resampy in float64
    //! (tests/data/stretch_cases.json, made by tests/data/make_stretch_dumps.py).
    use super::*;

    fn cases() -> serde_json::Value {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stretch_cases.json");
        serde_json::from_str(&std::fs::read_to_string(p).expect("dump")).expect("json")
    }

    fn nums(v: &serde_json::Value) -> Vec<f64> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    }

    fn rel(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
        let r: f64 = b.iter().map(|y| y * y).sum();
        (d / r).sqrt()
    }

    #[test]
    fn kaiser_table_matches_resampy() {
        let v = cases();
        let want = nums(&v["kaiser_best"]["every_4096"]);
        let t = kaiser_best();
        assert_eq!(t.len(), KAISER_ZEROS * KAISER_PRECISION + 1);
        for (i, w) in want.iter().enumerate() {
            // 8 significant digits in the dump: half a unit of the 8th is at most 5e-8 relative.
            assert!(
                (t[i * 4096] - w).abs() <= 5.1e-8 * w.abs() + 1e-15,
                "{i}: {} vs {w}",
                t[i * 4096]
            );
        }
    }

    #[test]
    fn time_stretch_matches_librosa_f64() {
        let v = cases();
        let signals: Vec<Vec<f64>> = v["signals"].as_array().unwrap().iter().map(nums).collect();
        let mut worst = 0.0f64;
        for c in v["time_stretch"].as_array().unwrap() {
            let x: Vec<f32> = signals[c["signal"].as_u64().unwrap() as usize]
                .iter()
                .map(|&s| s as f32)
                .collect();
            let s = Stretch {
                rate: c["rate"].as_f64().unwrap(),
                pitch_sr: None,
            };
            let plan = RowPlan::new(x.len(), &s);
            let y = time_stretch(&x, &plan);
            let e = rel(&y, &nums(&c["output"]));
            worst = worst.max(e);
        }
        // The dump keeps 8 significant digits.
        assert!(worst <= 1e-7, "relative error {worst:e}");
    }

    #[test]
    fn pitch_shift_matches_librosa_kaiser_best() {
        let v = cases();
        let sr = v["sample_rate"].as_u64().unwrap() as u32;
        let signals: Vec<Vec<f64>> = v["signals"].as_array().unwrap().iter().map(nums).collect();
        let mut worst = 0.0f64;
        for c in v["pitch_shift"].as_array().unwrap() {
            let mut x: Vec<f32> = signals[c["signal"].as_u64().unwrap() as usize]
                .iter()
                .map(|&s| s as f32)
                .collect();
            let steps = c["n_steps"].as_f64().unwrap();
            let s = Stretch {
                rate: 2f64.powf(-steps / 12.0),
                pitch_sr: Some(sr),
            };
            stretch_row(&mut x, &s);
            let y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            worst = worst.max(rel(&y, &nums(&c["output"])));
        }
        // f32 output: 6e-8 relative rounding.
        assert!(worst <= 2e-7, "relative error {worst:e}");
    }

    // ---- The straightforward transcriptions the fast versions are checked against. ----

    fn time_stretch_reference(x: &[f32], plan: &RowPlan) -> Vec<f64> {
        use num_complex::Complex64;
        let w = window();
        let mut planner = RealFftPlanner::<f64>::new();
        let (fwd, inv) = (
            planner.plan_fft_forward(N_FFT),
            planner.plan_fft_inverse(N_FFT),
        );
        // STFT, centred, zero padding.
        let mut buf = vec![0.0f64; N_FFT];
        let mut spec: Vec<Vec<Complex64>> = Vec::with_capacity(plan.frames);
        for f in 0..plan.frames {
            for (j, b) in buf.iter_mut().enumerate() {
                let i = (f * HOP + j) as i64 - (N_FFT / 2) as i64;
                *b = if i >= 0 && (i as usize) < x.len() {
                    f64::from(x[i as usize]) * w[j]
                } else {
                    0.0
                };
            }
            let mut out = fwd.make_output_vec();
            // Lengths are fixed: the transform cannot fail.
            let _ = fwd.process(&mut buf, &mut out);
            spec.push(out);
        }
        // The phase vocoder, as librosa's loop.
        let zero = vec![Complex64::new(0.0, 0.0); BINS];
        let col = |k: usize| spec.get(k).unwrap_or(&zero);
        let phi: Vec<f64> = (0..BINS)
            .map(|k| HOP as f64 * 2.0 * std::f64::consts::PI * k as f64 / N_FFT as f64)
            .collect();
        let mut acc: Vec<f64> = col(0).iter().map(|c| c.arg()).collect();
        let mut out: Vec<Vec<Complex64>> = Vec::with_capacity(plan.synth_frames);
        for (t, &(left, alpha)) in plan.steps.iter().enumerate() {
            let (a, b) = (col(left as usize), col(left as usize + 1));
            if t < plan.synth_frames {
                out.push(
                    (0..BINS)
                        .map(|k| {
                            let mag = (1.0 - alpha) * a[k].norm() + alpha * b[k].norm();
                            Complex64::from_polar(mag, acc[k])
                        })
                        .collect(),
                );
            }
            for k in 0..BINS {
                let mut d = b[k].arg() - a[k].arg() - phi[k];
                d -= 2.0
                    * std::f64::consts::PI
                    * (d / (2.0 * std::f64::consts::PI)).round_ties_even();
                acc[k] += phi[k] + d;
            }
        }
        // iSTFT: overlap-add of windowed frames, divided by the window's sum of squares.
        let total = N_FFT + HOP * (plan.synth_frames - 1);
        let mut y = vec![0.0f64; total];
        let mut wss = vec![0.0f64; total];
        for (t, s) in out.iter_mut().enumerate() {
            // numpy's irfft ignores the imaginary parts of the DC and Nyquist bins.
            s[0].im = 0.0;
            s[BINS - 1].im = 0.0;
            let _ = inv.process(s, &mut buf);
            for j in 0..N_FFT {
                y[t * HOP + j] += buf[j] / N_FFT as f64 * w[j];
                wss[t * HOP + j] += w[j] * w[j];
            }
        }
        (0..plan.stretched)
            .map(|i| {
                let j = i + N_FFT / 2;
                match (y.get(j), wss.get(j)) {
                    (Some(&v), Some(&d)) if d > f64::MIN_POSITIVE => v / d,
                    (Some(&v), _) => v,
                    _ => 0.0,
                }
            })
            .collect()
    }

    /// resampy's `resample_f` loop as it is written (the first CPU version): `r.out_len` samples.
    fn resample_reference(x: &[f64], r: &Resample) -> Vec<f64> {
        let table = kaiser_best();
        let win: Vec<f64> = if r.ratio < 1.0 {
            table.iter().map(|v| r.ratio * v).collect()
        } else {
            table.to_vec()
        };
        let nwin = win.len();
        let delta: Vec<f64> = (0..nwin)
            .map(|k| {
                if k + 1 < nwin {
                    win[k + 1] - win[k]
                } else {
                    0.0
                }
            })
            .collect();
        let num_table = KAISER_PRECISION as f64;
        let step = r.index_step.max(1);
        (0..r.out_len)
            .map(|t| {
                let time = t as f64 * r.increment;
                let n = time as usize;
                let mut frac = r.scale * (time - n as f64);
                let mut y = 0.0;
                let index_frac = frac * num_table;
                let offset = index_frac as usize;
                let eta = index_frac - offset as f64;
                let i_max = (n + 1).min(nwin.saturating_sub(offset) / step);
                for i in 0..i_max {
                    let k = offset + i * step;
                    y += (win[k] + eta * delta[k]) * x[n - i];
                }
                frac = r.scale - frac;
                let index_frac = frac * num_table;
                let offset = index_frac as usize;
                let eta = index_frac - offset as f64;
                let k_max = x
                    .len()
                    .saturating_sub(n + 1)
                    .min(nwin.saturating_sub(offset) / step);
                for k in 0..k_max {
                    let j = offset + k * step;
                    y += (win[j] + eta * delta[j]) * x[n + k + 1];
                }
                y
            })
            .collect()
    }

    /// Deterministic test signal: two tones and LCG noise.
    fn signal(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
                let t = i as f64 / 16000.0;
                (0.4 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                    + 0.2 * (2.0 * std::f64::consts::PI * 3150.0 * t).sin()
                    + 0.1 * noise) as f32
            })
            .collect()
    }

    fn rates() -> Vec<f64> {
        let mut r = vec![0.5, 0.8, 0.9137, 1.0, 1.0625, 1.25, 1.5, 2.5];
        r.extend([-4.0, -2.5, -0.3, 0.7, 3.0, 4.0].map(|s: f64| 2f64.powf(-s / 12.0)));
        r
    }

    #[test]
    fn time_stretch_equals_its_transcription() {
        // Same operations in the same order: the same bits.
        for (i, &n) in [1usize, 100, 511, 512, 2047, 2048, 3000, 20_000]
            .iter()
            .enumerate()
        {
            let x = signal(n, i as u64);
            for rate in rates() {
                let plan = RowPlan::new(
                    n,
                    &Stretch {
                        rate,
                        pitch_sr: None,
                    },
                );
                let (got, want) = (time_stretch(&x, &plan), time_stretch_reference(&x, &plan));
                assert_eq!(got.len(), want.len());
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g.to_bits() == w.to_bits(),
                        "n {n} rate {rate} sample {k}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn resample_matches_its_transcription() {
        // Same products, summed in another order: f64 rounding only.
        let mut worst = 0.0f64;
        for (i, &n) in [1usize, 2, 60, 500, 3000, 20_000].iter().enumerate() {
            let x: Vec<f64> = signal(n, 10 + i as u64)
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            for rate in rates() {
                let plan = RowPlan::new(
                    n,
                    &Stretch {
                        rate,
                        pitch_sr: Some(16_000),
                    },
                );
                let mut r = plan.resample.expect("pitch_shift plan");
                r.out_len = (n as f64 * r.ratio) as usize;
                if r.out_len == 0 {
                    continue;
                }
                let (got, want) = (resample(&x, &r), resample_reference(&x, &r));
                assert_eq!(got.len(), want.len());
                let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (g, w) in got.iter().zip(&want) {
                    worst = worst.max((g - w).abs() / scale);
                }
            }
        }
        assert!(
            worst <= 1e-13,
            "largest difference {worst:e} of the signal's peak"
        );
    }
}
