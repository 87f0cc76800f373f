//! Resolved operations: what one transform does to one row, with every random parameter
//! already drawn and every length-dependent quantity resolved. The CPU kernels here are the
//! twins of `shaders/augment.wgsl`'s; both read the same [`OpRec`].

use super::rng::sample_normals;

/// Operation codes shared with `shaders/augment.wgsl`.
pub(crate) mod code {
    pub const IDENTITY: u32 = 0;
    pub const GAIN: u32 = 1;
    pub const GAIN_TRANSITION: u32 = 2;
    pub const REVERSE: u32 = 3;
    pub const SHIFT: u32 = 4;
    pub const CLIP: u32 = 5;
    pub const NORMALIZE: u32 = 6;
    pub const NOISE: u32 = 7;
    pub const SNR: u32 = 8;
    pub const TIME_MASK: u32 = 9;
    pub const BIT_CRUSH: u32 = 10;
    pub const PADDING: u32 = 11;
    pub const TANH: u32 = 12;
    pub const CLIPPING_DISTORTION: u32 = 13;
    pub const BACKGROUND_NOISE: u32 = 14;
    pub const COLOR_NOISE: u32 = 15;
    pub const IMPULSE_RESPONSE: u32 = 16;
    /// An IIR filter: the apply kernel copies the row through, then the IIR kernels filter
    /// it in place with the row's sections (`cpu::iir`, `gpu::iir`).
    pub const FILTER: u32 = 17;
    /// add_short_noises: the row's events are records in the run's event words
    /// (`b` first event, `c` count, `d` level, `x` signal gain in dB; see
    /// `spec::short_noises`).
    pub const SHORT_NOISES: u32 = 20;
    /// time_stretch / pitch_shift: the apply kernel copies the row through, then the phase
    /// vocoder (`augment::stretch`, `gpu::stretch`) replaces it.
    pub const STRETCH: u32 = 19;
}

/// A row's filter at one step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RowFilter {
    /// IIR sections and how they run.
    Iir {
        sos: Vec<crate::dsp::iir::Section>,
        mode: crate::dsp::iir::IirMode,
    },
    /// Centred FIR taps (the band filters' `fir_taps` option).
    Fir { taps: Vec<f64> },
    /// time_stretch / pitch_shift by the phase vocoder (`super::stretch`).
    Stretch(super::stretch::Stretch),
}

/// Flag bits of [`OpRec::flags`].
pub(crate) mod flag {
    /// Reductions (peak, RMS) over this row only (per-channel mode) instead of the example.
    pub const OWN_ROW: u32 = 1;
    /// shift: samples rolled past an end come back at the other.
    pub const ROLLOVER: u32 = 2;
    /// normalize: only when the peak is >= 1.
    pub const ONLY_TOO_LOUD: u32 = 4;
    /// padding: pad the start instead of the end.
    pub const PAD_START: u32 = 8;
    /// add_background_noise: `x` is the noise RMS itself, not an SNR divisor.
    pub const ABSOLUTE: u32 = 16;
    /// add_color_noise: A-weighted noise.
    pub const A_WEIGHTING: u32 = 32;
    /// apply_impulse_response on the GPU: the row is convolved by the FFT kernel
    /// (`gpu::conv`) after the step's pass; the direct kernel copies it through.
    pub const FFT_CONV: u32 = 64;
}

/// One row's operation at one step, as the kernels read it (16 words).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct OpRec {
    pub code: u32,
    pub flags: u32,
    /// A signed sample offset (shift amount, transition or mask start).
    pub a: i32,
    pub b: u32,
    pub c: u32,
    pub d: u32,
    /// The example id and counter word 2 of the row's per-sample stream.
    pub id_lo: u32,
    pub id_hi: u32,
    pub word2: u32,
    pub _pad: [u32; 3],
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub w: f32,
}

impl OpRec {
    pub fn identity() -> Self {
        OpRec {
            code: code::IDENTITY,
            ..OpRec::default()
        }
    }
    pub fn id(&self) -> u64 {
        u64::from(self.id_lo) | (u64::from(self.id_hi) << 32)
    }
    /// True when the op needs the per-row statistics pass first.
    pub fn needs_stats(&self) -> bool {
        matches!(
            self.code,
            code::NORMALIZE
                | code::SNR
                | code::TANH
                | code::CLIPPING_DISTORTION
                | code::BACKGROUND_NOISE
                | code::COLOR_NOISE
                | code::SHORT_NOISES
        )
    }
    /// True when the CPU twin needs [`row_stats`] first (the reductions, and the
    /// convolution whose peak sets the gain).
    pub fn needs_cpu_stats(&self) -> bool {
        self.needs_stats() || self.code == code::IMPULSE_RESPONSE
    }
    /// True when the op needs the order-statistics pass (percentiles) first.
    pub fn needs_select(&self) -> bool {
        matches!(self.code, code::TANH | code::CLIPPING_DISTORTION)
    }
}

/// Per-row statistics: sum of squares of the valid samples, peak |x|, and for
/// add_gaussian_snr the sum of squares of the row's noise.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowStats {
    pub sumsq: f64,
    pub peak: f32,
    pub noise_sumsq: f64,
    /// Op-specific thresholds (percentiles) computed on the CPU twin; for add_color_noise
    /// `hi` is the noise RMS over the example (or row).
    pub lo: f32,
    pub hi: f32,
    /// add_color_noise: the row's filtered noise; add_gaussian_snr: the row's white noise;
    /// apply_impulse_response: the row convolved
    /// (full length: the peak counts the tail).
    pub colored: Vec<f32>,
    /// add_short_noises ("relative"): per event, the row's sum of squares over the event's
    /// region, then the clean RMS there combined over the example's rows.
    pub region_sumsq: Vec<f64>,
    pub region_rms: Vec<f64>,
}

/// What the CPU kernels read besides the row: the seed, the background-noise bank and the
/// run's FIR taps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    pub seed: u64,
    pub bank: &'a [f32],
    pub aux: &'a [f32],
    /// add_short_noises' event records.
    pub events: &'a [u32],
}

/// audiomentations' `get_crossfade_mask_pair(length, equal_energy)` element `j`:
/// (fade_in, fade_out), in f32 as there (x = linspace(0, 1, length)).
pub(crate) fn crossfade(j: usize, length: usize, equal_energy: bool) -> (f32, f32) {
    let x = if length > 1 {
        j as f32 / (length - 1) as f32
    } else {
        0.0
    };
    let x2 = 1.0 - x;
    let a = x * x2;
    let k = if equal_energy { 1.4186f32 } else { -0.70912f32 };
    let b = a * (1.0 + k * a);
    let c = b + x;
    let d = b + x2;
    (c * c, d * d)
}

/// Where numpy's default (linear) percentile `q` of `n` values falls: the index `k` of the
/// lower order statistic and the fraction `t` towards the next one.
pub(crate) fn percentile_index(q: f64, n: usize) -> (u32, f32) {
    let pos = q / 100.0 * n.saturating_sub(1) as f64;
    let k = pos.floor().max(0.0);
    (k as u32, (pos - k) as f32)
}

/// Sets the percentile indices of a tanh_distortion or clipping_distortion record over
/// `n` values (the row's, or its example's): tanh `c`/`z` (of |x|), clipping `c`/`z`
/// (lower) and `d`/`w` (upper).
pub(crate) fn set_percentiles(rec: &mut OpRec, n: usize) {
    match rec.code {
        code::TANH => {
            (rec.c, rec.z) = percentile_index(100.0 - 99.0 * f64::from(rec.x), n);
        }
        code::CLIPPING_DISTORTION => {
            let lower = f64::from(rec.b / 2);
            (rec.c, rec.z) = percentile_index(lower, n);
            (rec.d, rec.w) = percentile_index(100.0 - lower, n);
        }
        _ => {}
    }
}

/// Order statistic `k` of `v` (by selection, which reorders `v`) interpolated a fraction `t`
/// towards the next, in f32 as the kernel does.
fn interpolated(v: &mut [f32], k: u32, t: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let k = (k as usize).min(v.len() - 1);
    let (_, a, rest) = v.select_nth_unstable_by(k, f32::total_cmp);
    let a = *a;
    let b = rest.iter().copied().min_by(f32::total_cmp).unwrap_or(a);
    a + (b - a) * t
}

/// add_color_noise's FIR, as audiomentations' generate_decaying_white_noise builds it:
/// `irfft(sqrt(1 / f^beta) e^{i phase} [* A-weighting])` over `n_fft` points (f[0] = 1,
/// beta from the decay in dB/octave), or no taps (plain white noise) for a flat, unweighted
/// decay. `phases` are uniforms in [0, 1), one per bin.
pub(crate) fn color_taps(
    f_decay: f64,
    a_weighting: bool,
    n_fft: usize,
    sr: u32,
    phases: &[f64],
) -> Vec<f32> {
    let beta = f_decay / -10.0 / 2f64.log10();
    if beta == 0.0 && !a_weighting {
        return Vec::new();
    }
    let bins = n_fft / 2 + 1;
    let mut spec: Vec<num_complex::Complex64> = (0..bins)
        .map(|k| {
            let f = if k == 0 {
                1.0
            } else {
                k as f64 * f64::from(sr) / n_fft as f64
            };
            let mut mag = (1.0 / f.powf(beta)).sqrt();
            if a_weighting {
                let fr = k as f64 * f64::from(sr) / n_fft as f64;
                let f2 = fr * fr;
                mag *= 12194f64.powi(2) * f2 * f2
                    / ((f2 + 20.6f64.powi(2))
                        * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
                        * (f2 + 12194f64.powi(2)))
                    + 2.0;
            }
            num_complex::Complex64::from_polar(mag, 2.0 * std::f64::consts::PI * phases[k])
        })
        .collect();
    // numpy's irfft ignores the imaginary parts of the DC and Nyquist bins.
    spec[0].im = 0.0;
    if n_fft % 2 == 0 {
        spec[bins - 1].im = 0.0;
    }
    let mut out = vec![0.0f64; n_fft];
    let plan = realfft::RealFftPlanner::<f64>::new().plan_fft_inverse(n_fft);
    if plan.process(&mut spec, &mut out).is_err() {
        return Vec::new();
    }
    out.iter().map(|&v| (v / n_fft as f64) as f32).collect()
}

/// The full linear convolution of `x` and `h` (length `len x + len h - 1`), by FFT in f64
/// ([`crate::cpu::conv::full_convolution`], the GPU convolution's twin), rounded to f32;
/// NaN throughout when an input is not finite.
pub(crate) fn convolve_full(x: &[f32], h: &[f32]) -> Vec<f32> {
    thread_local! {
        // Plans (and their twiddles) are kept per thread across rows and runs.
        static PLANNER: std::cell::RefCell<realfft::RealFftPlanner<f64>> =
            std::cell::RefCell::new(realfft::RealFftPlanner::new());
    }
    let y = PLANNER.with(|p| crate::cpu::conv::full_convolution(&mut p.borrow_mut(), x, h));
    match y {
        Ok(y) => y.iter().map(|&v| v as f32).collect(),
        // Only realfft's length checks fail, which its own plans satisfy.
        Err(_) => vec![f32::NAN; (x.len() + h.len()).saturating_sub(1)],
    }
}

/// add_color_noise's noise over a row of `n` samples: white normals filtered by the taps
/// `aux[b .. b + c]` in `np.convolve(.., 'same')` alignment, f32 accumulation in tap order
/// (as the kernel); the white normals themselves when there are no taps.
pub(crate) fn color_noise(op: &OpRec, aux: &[f32], n: usize, seed: u64) -> Vec<f32> {
    let m = op.c as usize;
    let white = |len: usize, at: usize| {
        let mut w = vec![0.0f32; len];
        sample_normals(seed, op.id(), op.word2, n, |i, z| w[at + i] = z);
        w
    };
    if m == 0 {
        return white(n, 0);
    }
    let taps = &aux[op.b as usize..op.b as usize + m];
    let half = (m - 1) / 2;
    // w[t] = normal t - (m - 1 - half), zero outside the row: the window every output reads
    // from, with a block of zeros more at the end for the last block of outputs.
    const BLOCK: usize = 16;
    let w = white(n + m - 1 + BLOCK, m - 1 - half);
    // out[i] = sum over k (in order) of taps[k] w[i + m - 1 - k]: sixteen outputs at a time,
    // each accumulated in tap order as the kernel does (the same bits as one by one), which
    // the compiler vectorises across the outputs.
    let mut out = vec![0.0f32; n];
    for (c, chunk) in out.chunks_mut(BLOCK).enumerate() {
        let i0 = c * BLOCK;
        let mut acc = [0.0f32; BLOCK];
        for (k, &h) in taps.iter().enumerate() {
            let base = i0 + m - 1 - k;
            let wv: &[f32; BLOCK] = w[base..base + BLOCK].try_into().expect("BLOCK samples");
            for j in 0..BLOCK {
                acc[j] += h * wv[j];
            }
        }
        chunk.copy_from_slice(&acc[..chunk.len()]);
    }
    out
}

/// add_background_noise's noise sample `i` of a row of `n` samples: the bank clip at `b`
/// of `c` samples, cropped from offset `d` when it is long enough, else tiled.
pub(crate) fn bank_sample(op: &OpRec, bank: &[f32], i: usize, n: usize) -> f32 {
    let (start, len, off) = (op.b as usize, op.c as usize, op.d as usize);
    if len == 0 {
        return 0.0;
    }
    if len >= n {
        bank[start + off + i]
    } else {
        bank[start + i % len]
    }
}

/// The statistics of one row under `op` (sample stream from the op's counters).
pub(crate) fn row_stats(op: &OpRec, row: &[f32], env: Env<'_>) -> RowStats {
    let (seed, bank) = (env.seed, env.bank);
    let mut st = RowStats {
        sumsq: row.iter().map(|&x| f64::from(x) * f64::from(x)).sum(),
        peak: row.iter().fold(0.0f32, |m, &x| m.max(x.abs())),
        ..Default::default()
    };
    if op.code == code::SNR {
        // The noise is kept for the apply step (drawn once, not twice).
        let mut noise = vec![0.0f32; row.len()];
        sample_normals(seed, op.id(), op.word2, row.len(), |i, z| noise[i] = z);
        st.noise_sumsq = noise.iter().map(|&z| f64::from(z) * f64::from(z)).sum();
        st.colored = noise;
    }
    if op.code == code::COLOR_NOISE {
        st.colored = color_noise(op, env.aux, row.len(), seed);
        st.noise_sumsq = st
            .colored
            .iter()
            .map(|&z| f64::from(z) * f64::from(z))
            .sum();
    }
    if op.code == code::IMPULSE_RESPONSE {
        let ir = &bank[op.b as usize..(op.b + op.c) as usize];
        st.colored = convolve_full(row, ir);
        st.peak = st.colored.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    }
    if op.code == code::SHORT_NOISES {
        st.region_sumsq = super::spec::short_noises::region_sumsq(op, row, env.events);
    }
    if op.code == code::BACKGROUND_NOISE {
        let n = row.len();
        st.noise_sumsq = (0..n)
            .map(|i| f64::from(bank_sample(op, bank, i, n)).powi(2))
            .sum();
    }
    st
}

/// Percentile thresholds over the valid samples of an example's rows (or one row).
pub(crate) fn thresholds(op: &OpRec, rows: &[&[f32]]) -> (f32, f32) {
    match op.code {
        code::TANH => {
            // audiomentations: threshold = percentile(|x|, 100 - 99 amount), gain =
            // 0.5 / (threshold + 1e-6), y = tanh(gain x), then y scaled back to the input's
            // RMS when that exceeds 1e-9 (all in float64 there, as here).
            let mut v: Vec<f32> = rows
                .iter()
                .flat_map(|r| r.iter().map(|x| x.abs()))
                .collect();
            let gain = 0.5 / (f64::from(interpolated(&mut v, op.c, op.z)) + 1e-6);
            // RMS per row, averaged over the rows.
            let mean_rms = |sumsq: &dyn Fn(&[f32]) -> f64| {
                rows.iter()
                    .map(|r| {
                        if r.is_empty() {
                            0.0
                        } else {
                            (sumsq(r) / r.len() as f64).sqrt()
                        }
                    })
                    .sum::<f64>()
                    / rows.len().max(1) as f64
            };
            let before = mean_rms(&|r| r.iter().map(|&x| f64::from(x).powi(2)).sum());
            let post = if before > 1e-9 {
                before
                    / mean_rms(&|r| {
                        let mut ss = 0.0;
                        for_tanh_blocks(gain, r, |_, y| ss += y.iter().map(|y| y * y).sum::<f64>());
                        ss
                    })
            } else {
                1.0
            };
            (gain as f32, post as f32)
        }
        code::CLIPPING_DISTORTION => {
            let mut v: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
            let lo = interpolated(&mut v, op.c, op.z);
            (lo, interpolated(&mut v, op.d, op.w))
        }
        _ => (0.0, 0.0),
    }
}

/// The statistics the op uses for a row: its own, or combined over its example's rows
/// (peak: the maximum; RMS: the mean of the rows' RMS, as audiomentations' calculate_rms).
pub(crate) fn combine(stats: &[RowStats], lengths: &[usize]) -> (f32, f64) {
    let peak = stats.iter().fold(0.0f32, |m, s| m.max(s.peak));
    let rms = stats
        .iter()
        .zip(lengths)
        .map(|(s, &n)| {
            if n > 0 {
                (s.sumsq / n as f64).sqrt()
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / stats.len().max(1) as f64;
    (peak, rms)
}

/// Applies `op` to one row: `src` and `dst` are the row's valid samples. `peak` and `rms`
/// are the combined statistics, `own` this row's.
pub(crate) fn apply_row(
    op: &OpRec,
    src: &[f32],
    dst: &mut [f32],
    env: Env<'_>,
    peak: f32,
    rms: f64,
    own: &RowStats,
) {
    let (seed, bank) = (env.seed, env.bank);
    let n = src.len();
    debug_assert_eq!(n, dst.len());
    let ni = n as i64;
    match op.code {
        code::GAIN => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s * op.x;
            }
        }
        code::GAIN_TRANSITION => {
            let (t0, fade) = (i64::from(op.a), i64::from(op.b));
            for (i, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
                let j = i as i64 - t0;
                let g = if j < 0 {
                    op.z
                } else if j >= fade {
                    op.w
                } else {
                    let db = op.x + j as f32 * op.y;
                    10.0f32.powf(db / 20.0)
                };
                *d = s * g;
            }
        }
        code::REVERSE => {
            for (d, &s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = s;
            }
        }
        code::SHIFT => {
            // Whole segments (two copies, or a copy and a fill), then the fades on their
            // few samples: the same values as the GPU kernel's per-sample form.
            if n == 0 {
                return;
            }
            let sh = i64::from(op.a);
            if op.flags & flag::ROLLOVER != 0 {
                let s = sh.rem_euclid(ni) as usize;
                dst[s..].copy_from_slice(&src[..n - s]);
                dst[..s].copy_from_slice(&src[n - s..]);
            } else if sh.unsigned_abs() >= n as u64 {
                dst.fill(0.0);
            } else if sh >= 0 {
                let s = sh as usize;
                dst[..s].fill(0.0);
                dst[s..].copy_from_slice(&src[..n - s]);
            } else {
                let s = sh.unsigned_abs() as usize;
                dst[..n - s].copy_from_slice(&src[s..]);
                dst[n - s..].fill(0.0);
            }
            let fade = i64::from(op.b);
            if fade > 0 && sh != 0 {
                let stitch = if sh > 0 { sh } else { ni + sh };
                let clamp = |i: i64| i.clamp(0, ni) as usize;
                let (a, b) = (clamp(stitch), clamp(stitch + fade));
                for (i, d) in dst[a..b].iter_mut().enumerate() {
                    let j = (a + i) as i64 - stitch;
                    *d *= crossfade(j as usize, fade as usize, true).0;
                }
                let (a, b) = (clamp(stitch - fade), clamp(stitch));
                for (i, d) in dst[a..b].iter_mut().enumerate() {
                    let j = fade - (stitch - (a + i) as i64);
                    *d *= crossfade(j as usize, fade as usize, true).1;
                }
            }
        }
        code::CLIP => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = clip(s, op.x, op.y);
            }
        }
        code::NORMALIZE => {
            let skip = op.flags & flag::ONLY_TOO_LOUD != 0 && peak < 1.0;
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = if !skip && peak > 0.0 { s / peak } else { s };
            }
        }
        code::NOISE => {
            sample_normals(seed, op.id(), op.word2, n, |i, z| {
                dst[i] = src[i] + op.x * z
            });
        }
        code::SNR => {
            let scale = snr_scale(rms, op.x, own.noise_sumsq, n);
            for ((d, &s), &z) in dst.iter_mut().zip(src).zip(&own.colored) {
                *d = s + scale * z;
            }
        }
        code::COLOR_NOISE => {
            // audiomentations: unit-RMS noise (over the example) times the clean RMS /
            // 10^(snr/20); plain white noise is not normalised there.
            let want = rms / f64::from(op.x);
            let scale = if op.c == 0 {
                want as f32
            } else if own.hi > 0.0 {
                (want / f64::from(own.hi)) as f32
            } else {
                0.0
            };
            for ((d, &s), &z) in dst.iter_mut().zip(src).zip(&own.colored) {
                *d = s + scale * z;
            }
        }
        code::IMPULSE_RESPONSE => {
            // audiomentations: the full convolution scaled to a peak of 0.5 (over the
            // example's channels), then cut to the input's length.
            let scale = if peak > 0.0 { 0.5 / peak } else { 1.0 };
            if op.c == 0 || own.colored.len() < n {
                // An empty impulse response leaves the row as it is.
                dst.copy_from_slice(src);
            } else {
                for (d, &z) in dst.iter_mut().zip(&own.colored) {
                    *d = z * scale;
                }
            }
        }
        code::BACKGROUND_NOISE => {
            let scale = background_scale(op, rms, own.noise_sumsq, n);
            for (i, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
                *d = s + scale * bank_sample(op, bank, i, n);
            }
        }
        code::SHORT_NOISES => {
            super::spec::short_noises::apply(op, src, dst, env, rms, &own.region_rms)
        }
        code::TIME_MASK => {
            let (t0, t, f) = (op.a as usize, op.b as usize, op.c as usize);
            dst.copy_from_slice(src);
            let end = t0.saturating_add(t).min(n);
            for (i, d) in dst.iter_mut().enumerate().take(end).skip(t0) {
                *d *= time_mask_gain(i, t0, t, f);
            }
        }
        code::BIT_CRUSH => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = round_ties_even(s * op.x) / op.x;
            }
        }
        code::PADDING => {
            let p = (op.b as usize).min(n);
            let start = op.flags & flag::PAD_START != 0;
            // The untouched part is one copy; only the padded samples look up their source.
            let (keep, pad) = if start {
                (p..n, 0..p)
            } else {
                (0..n - p, n - p..n)
            };
            dst[keep.clone()].copy_from_slice(&src[keep]);
            for i in pad {
                dst[i] = padding_source(i, n, p, op.c, start).map_or(0.0, |k| src[k]);
            }
        }
        code::TANH => {
            // own.lo: the gain 0.5 / (threshold + 1e-6); own.hi: the post gain.
            let (gain, post) = (f64::from(own.lo), f64::from(own.hi));
            for_tanh_blocks(gain, src, |at, y| {
                for (d, &y) in dst[at..at + y.len()].iter_mut().zip(y) {
                    *d = (post * y) as f32;
                }
            });
        }
        code::CLIPPING_DISTORTION => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = clip(s, own.lo, own.hi);
            }
        }
        _ => dst.copy_from_slice(src),
    }
}

/// `x.round_ties_even()` in a form the compiler vectorises on any x86-64 (the library call
/// it replaces has no SSE2 instruction): below 2^23 in magnitude, adding and subtracting
/// 2^23 rounds to the nearest integer, ties to even; above, every f32 is an integer
/// (infinities and NaN pass through). The sign is put back, so -0.3 gives -0.0 as
/// `round_ties_even` does.
#[inline(always)]
pub(crate) fn round_ties_even(x: f32) -> f32 {
    const TWO_23: f32 = 8_388_608.0;
    let a = x.abs();
    if a < TWO_23 {
        ((a + TWO_23) - TWO_23).copysign(x)
    } else {
        x
    }
}

/// Where [`tanh_scaled`]'s rational stops (tanh is 1 - 2.7e-7 there).
const TANH_EDGE: f64 = 7.905_311_107_635_498;

/// `tanh(gain * x)` for every `x` of `src`, into `out` (same length), in f64, fast: below
/// [`TANH_EDGE`] in magnitude the odd rational p(x)/q(x) of degrees 13/6 whose minimax
/// coefficients Eigen's `ptanh` and ONNX Runtime's MLAS use (evaluated in f64 it is within
/// 5.3e-8 of tanh there, tested), computed branch-free so the loop vectorises; then the
/// library's `tanh` for the few samples beyond the edge (where the rational would diverge)
/// and NaN. Several times faster than calling the library for every sample.
pub(crate) fn tanh_scaled(gain: f64, src: &[f32], out: &mut [f64]) {
    for (o, &s) in out.iter_mut().zip(src) {
        let x = (gain * f64::from(s)).clamp(-TANH_EDGE, TANH_EDGE);
        let x2 = x * x;
        let mut p = -2.760_768_477_423_55e-16;
        p = p * x2 + 2.000_187_904_824_77e-13;
        p = p * x2 - 8.604_671_522_137_35e-11;
        p = p * x2 + 5.122_297_090_371_14e-8;
        p = p * x2 + 1.485_722_357_179_79e-5;
        p = p * x2 + 6.372_619_288_754_36e-4;
        p = p * x2 + 4.893_524_558_917_86e-3;
        let mut q = 1.198_258_394_667_02e-6;
        q = q * x2 + 1.185_347_056_866_54e-4;
        q = q * x2 + 2.268_434_632_439e-3;
        q = q * x2 + 4.893_525_185_543_85e-3;
        *o = x * p / q;
    }
    for (o, &s) in out.iter_mut().zip(src) {
        let x = gain * f64::from(s);
        if x.is_nan() || x.abs() >= TANH_EDGE {
            *o = x.tanh();
        }
    }
}

/// Calls `f` with [`tanh_scaled`] of `src` block by block (a stack buffer, no allocation).
fn for_tanh_blocks(gain: f64, src: &[f32], mut f: impl FnMut(usize, &[f64])) {
    let mut buf = [0.0f64; 512];
    for (k, block) in src.chunks(buf.len()).enumerate() {
        let out = &mut buf[..block.len()];
        tanh_scaled(gain, block, out);
        f(k * 512, out);
    }
}

/// `np.clip` that lets NaN through (WGSL's clamp leaves NaN unspecified; the kernel uses the
/// same comparisons).
fn clip(s: f32, lo: f32, hi: f32) -> f32 {
    if s < lo {
        lo
    } else if s > hi {
        hi
    } else {
        s
    }
}

/// add_gaussian_snr's noise scale: the target noise RMS (`rms / divisor`, divisor =
/// 10^(snr/20)) over the row noise's own RMS, so that the achieved SNR is exact.
pub(crate) fn snr_scale(rms: f64, divisor: f32, noise_sumsq: f64, n: usize) -> f32 {
    if n == 0 || noise_sumsq.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return 0.0;
    }
    let noise_rms = (noise_sumsq / n as f64).sqrt();
    ((rms / f64::from(divisor)) / noise_rms) as f32
}

/// add_background_noise's gain on the noise: the target RMS (`rms / x` relative, `x`
/// absolute) over the added noise's RMS; 0 (input unchanged) when the noise's RMS is
/// below 1e-9, as audiomentations.
pub(crate) fn background_scale(op: &OpRec, rms: f64, noise_sumsq: f64, n: usize) -> f32 {
    if n == 0 {
        return 0.0;
    }
    let noise_rms = (noise_sumsq / n as f64).sqrt();
    if noise_rms.partial_cmp(&1e-9) != Some(std::cmp::Ordering::Greater) {
        return 0.0;
    }
    let target = if op.flags & flag::ABSOLUTE != 0 {
        f64::from(op.x)
    } else {
        rms / f64::from(op.x)
    };
    (target / noise_rms) as f32
}

/// time_mask's gain at sample `i` (mask [t0, t0 + t), fades of `f` samples when f >= 2).
pub(crate) fn time_mask_gain(i: usize, t0: usize, t: usize, f: usize) -> f32 {
    if i < t0 || i >= t0 + t {
        return 1.0;
    }
    if f >= 2 {
        if i < t0 + f {
            return crossfade(i - t0, f, false).1;
        }
        if i >= t0 + t - f {
            return crossfade(i - (t0 + t - f), f, false).0;
        }
    }
    0.0
}

/// Which input sample lands at `i` after padding `p` samples of an `n`-sample row (mode 0
/// silence, 1 wrap, 2 reflect, as numpy.pad), or None for a zero.
pub(crate) fn padding_source(
    i: usize,
    n: usize,
    p: usize,
    mode: u32,
    start: bool,
) -> Option<usize> {
    let u = n - p; // untouched samples
    let (first, inside) = if start { (p, i >= p) } else { (0, i < u) };
    if inside {
        return Some(i);
    }
    if mode == 0 || u == 0 {
        return None;
    }
    // Position relative to the untouched part's first sample.
    let rel = i as i64 - first as i64;
    let k = if mode == 1 {
        rel.rem_euclid(u as i64)
    } else if u == 1 {
        0
    } else {
        let period = 2 * (u as i64 - 1);
        let m = rel.abs() % period;
        if m >= u as i64 {
            period - m
        } else {
            m
        }
    };
    Some(first + k as usize)
}

#[cfg(test)]
mod tests {
    //! The op kernels against audiomentations where a parameter cannot be fixed by a range
    //! (tests/data/augment_cases.json, `op_cases`).
    use super::*;

    #[test]
    fn color_noise_equals_the_filter_written_out() {
        let aux: Vec<f32> = (0..200)
            .map(|k| ((k * 37 % 101) as f32 - 50.0) * 0.013)
            .collect();
        for (n, m) in [
            (0usize, 5usize),
            (1, 1),
            (7, 4),
            (15, 16),
            (16, 129),
            (100, 200),
            (1000, 33),
        ] {
            let op = OpRec {
                code: code::COLOR_NOISE,
                b: 0,
                c: m as u32,
                id_lo: 3,
                word2: 0x1_0007,
                ..OpRec::default()
            };
            let got = color_noise(&op, &aux, n, 99);
            let taps = &aux[..m];
            let half = ((m - 1) / 2) as i64;
            let white = |j: i64| {
                if (0..n as i64).contains(&j) {
                    crate::augment::rng::sample_normal(99, 3, 0x1_0007, j as u32)
                } else {
                    0.0
                }
            };
            let want: Vec<f32> = (0..n as i64)
                .map(|i| {
                    let mut acc = 0.0f32;
                    for (k, &h) in taps.iter().enumerate() {
                        acc += h * white(i + half - k as i64);
                    }
                    acc
                })
                .collect();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "n {n}, m {m}");
        }
    }

    #[test]
    fn round_ties_even_matches_the_library_call() {
        let mut x = -3.0e7f32;
        let mut checked = 0;
        while x < 3.0e7 {
            for v in [x, x + 0.5, -x, x * 1e-7, x * 1e-7 + 0.5] {
                assert_eq!(
                    round_ties_even(v).to_bits(),
                    v.round_ties_even().to_bits(),
                    "{v}"
                );
                checked += 1;
            }
            x += 1234.567;
        }
        for v in [
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            -0.3,
            0.0,
            -0.0,
            8_388_607.5,
            4_194_304.5,
        ] {
            assert_eq!(
                round_ties_even(v).to_bits(),
                v.round_ties_even().to_bits(),
                "{v}"
            );
        }
        for v in [f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN] {
            assert_eq!(round_ties_even(v), v);
        }
        assert!(round_ties_even(f32::NAN).is_nan());
        assert!(checked > 200_000);
    }

    #[test]
    fn tanh_scaled_is_within_6e8_of_tanh() {
        let mut xs: Vec<f32> = (0..1_800_000).map(|i| -12.0 + i as f32 * 1.3e-5).collect();
        xs.extend([
            1e-30,
            -1e-30,
            1e-6,
            4e-4,
            7.905,
            7.906,
            100.0,
            -1e30,
            f32::INFINITY,
        ]);
        for gain in [1.0, 0.37, 3.1] {
            let mut out = vec![0.0; xs.len()];
            tanh_scaled(gain, &xs, &mut out);
            let worst = xs
                .iter()
                .zip(&out)
                .map(|(&x, y)| (y - (gain * f64::from(x)).tanh()).abs())
                .fold(0.0f64, f64::max);
            assert!(
                worst <= 6e-8,
                "gain {gain}: max |tanh_scaled - tanh| = {worst:e}"
            );
        }
        let mut out = [1.0; 3];
        tanh_scaled(1.0, &[f32::NAN, 0.0, -0.0], &mut out);
        assert!(out[0].is_nan());
        assert_eq!((out[1], out[2].to_bits()), (0.0, (-0.0f64).to_bits()));
    }

    #[test]
    fn color_taps_match_audiomentations() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/augment_cases.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).expect("dump")).expect("json");
        let nums = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .expect("list")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        };
        for case in v["color_taps"].as_array().expect("color_taps") {
            let taps = color_taps(
                case["f_decay"].as_f64().expect("decay"),
                case["a_weighting"].as_bool().expect("a_weighting"),
                case["n_fft"].as_u64().expect("n_fft") as usize,
                case["sample_rate"].as_u64().expect("sr") as u32,
                &nums(&case["phases"]),
            );
            let want = nums(&case["taps"]);
            assert_eq!(taps.len(), want.len());
            let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
            for (a, b) in taps.iter().zip(&want) {
                assert!(
                    (f64::from(*a) - b).abs() <= 1e-6 * scale,
                    "{case}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn gain_transition_matches_audiomentations() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/augment_cases.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).expect("dump")).expect("json");
        let f = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array()
                .expect("list")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect()
        };
        let mut worst = 0.0f32;
        for case in v["op_cases"].as_array().expect("op_cases") {
            let (x, want) = (f(&case["input"]), f(&case["output"]));
            let fade = case["fade_time_samples"].as_i64().expect("fade");
            let (start, end) = (
                case["start_gain_db"].as_f64().expect("start"),
                case["end_gain_db"].as_f64().expect("end"),
            );
            let op = OpRec {
                code: code::GAIN_TRANSITION,
                a: case["t0"].as_i64().expect("t0") as i32,
                b: fade as u32,
                x: start as f32,
                y: ((end - start) / (fade - 1) as f64) as f32,
                z: 10f64.powf(start / 20.0) as f32,
                w: 10f64.powf(end / 20.0) as f32,
                ..OpRec::default()
            };
            let mut out = vec![0.0; x.len()];
            apply_row(
                &op,
                &x,
                &mut out,
                Env {
                    seed: 0,
                    bank: &[],
                    aux: &[],
                    events: &[],
                },
                0.0,
                0.0,
                &RowStats::default(),
            );
            for (a, b) in out.iter().zip(&want) {
                worst = worst.max((a - b).abs());
            }
        }
        assert!(worst <= 1e-6, "max abs diff {worst}");
    }
}
