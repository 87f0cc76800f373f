//! Constant-Q and variable-Q transform plans.

use ndarray::{Array3, ArrayView2};
use num_complex::Complex32;

use crate::audio::{Audio, AudioBatch};
use crate::cpu::cqt::CpuCqt;
use crate::cpu::features::Post;
use crate::device::Device;
use crate::dsp::cqt::{frequencies, lengths, octave_bases, pseudo_bank, CqtParams};
use crate::dsp::frames::{Framing, PadMode};
use crate::error::{self, Error, Result};
use crate::gpu::cqt::GpuCqt;
use crate::transform::features::{FeatureConfig, FeaturePlan};
use crate::transform::stft::{frame_counts, Spectrogram};

impl Spectrogram {
    /// A constant-Q transform for audio at `sample_rate`, librosa.cqt's defaults: hop 512,
    /// fmin C1 (32.70 Hz), 84 bins, 12 per octave, tuning 0, filter_scale 1, L1-normalised
    /// Hann wavelets, sparsity 0.01, `scale` (divide by sqrt(filter length)), zero padding.
    /// Output `|C|`, `(channels, n_bins, frames)`, bins in ascending frequency.
    ///
    /// **Algorithm: full rate.** librosa's `cqt` filters each octave with the same frequency-
    /// domain basis it builds here, but on a signal it downsamples by 2 per octave with soxr.
    /// This plan runs every octave at the original rate: per octave, an STFT (window all ones,
    /// n_fft the octave's, centred, hop as given) projected on the octave's sparse basis —
    /// librosa's `__cqt_response` without the resampling. No GPU reproduces soxr bit for bit;
    /// the full rate needs no resampler at all and is exactly librosa's own computation
    /// whenever librosa does not downsample (odd hop lengths: measured within 5e-8 relative).
    /// Against librosa.cqt defaults on real signals (where librosa resamples), the result is
    /// within about 1% (relative Frobenius: 7.4e-3 on speech and music at 22.05 kHz) — the
    /// spread librosa shows between its own resamplers. Cost: the low octaves run long FFTs
    /// at every hop (the lowest octave's n_fft is 16384 at the defaults and 22.05 kHz).
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let sr = 22_050;
    /// let tone: Vec<f32> = (0..sr).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / sr as f32).sin()).collect();
    /// let cqt = Spectrogram::cqt(sr as u32).build(&Device::cpu())?;
    /// let c = cqt.run(&Audio::from_mono(tone, sr as u32))?;   // (1, 84, 44)
    /// assert_eq!(c.dim(), (1, 84, 1 + sr / 512));
    /// // A4 = 440 Hz is bin 45 above C1 (3 octaves and 9 semitones).
    /// let mid = c.index_axis(ndarray::Axis(2), 22);
    /// let peak = (0..84).max_by(|&a, &b| mid[[0, a]].total_cmp(&mid[[0, b]])).unwrap();
    /// assert_eq!(peak, 45);
    /// assert!((cqt.frequencies()[45] - 440.0).abs() < 1e-9);
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn cqt(sample_rate: u32) -> CqtBuilder {
        CqtBuilder {
            p: CqtParams::cqt(sample_rate),
            pad_mode: PadMode::Constant,
            max_buffer_bytes: None,
            pseudo: false,
        }
    }

    /// librosa.pseudo_cqt: one Hann-windowed STFT (n_fft of the longest filter, at least
    /// twice the hop rounded up to a power of two) whose magnitude is projected on the
    /// magnitudes of every bin's basis, divided by `sqrt(n_fft)` (`scale`) or multiplied by
    /// `sqrt(length / n_fft)`. librosa's defaults (those of [`Spectrogram::cqt`]); constant Q
    /// only (no `gamma`), magnitude only (no `run_complex`). It is the mel plan's fused
    /// pipeline with a CQT filterbank: one GPU dispatch per run. librosa computes exactly this
    /// (it never resamples here): measured within 5e-8.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let x = Audio::from_mono((0..22_050).map(|i| (i as f32 * 0.1).sin()).collect(), 22_050);
    /// let c = Spectrogram::pseudo_cqt(22_050).build(&Device::cpu())?.run(&x)?;
    /// assert_eq!(c.dim(), (1, 84, 44));
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn pseudo_cqt(sample_rate: u32) -> CqtBuilder {
        CqtBuilder {
            pseudo: true,
            ..Spectrogram::cqt(sample_rate)
        }
    }

    /// A variable-Q transform, librosa.vqt's defaults: as [`Spectrogram::cqt`] but with each
    /// filter's bandwidth widened by `gamma / alpha` Hz, `gamma = 24.7 * alpha / 0.108` per
    /// bin (a constant fraction of the ERB) unless [`CqtBuilder::gamma`] sets it.
    pub fn vqt(sample_rate: u32) -> CqtBuilder {
        CqtBuilder {
            p: CqtParams::vqt(sample_rate),
            ..Spectrogram::cqt(sample_rate)
        }
    }
}

/// Builder of a [`Cqt`] plan (CQT or VQT). Parameter names are librosa's.
#[derive(Debug, Clone)]
pub struct CqtBuilder {
    p: CqtParams,
    pad_mode: PadMode,
    max_buffer_bytes: Option<u64>,
    pseudo: bool,
}

impl CqtBuilder {
    /// Samples between frames. Default 512. Any hop >= 1 works (the full-rate algorithm has
    /// no power-of-two constraint).
    pub fn hop_length(mut self, n: usize) -> Self {
        self.p.hop_length = n;
        self
    }
    /// Centre frequency of the lowest bin in Hz. Default C1 = 32.70 Hz.
    pub fn fmin(mut self, f: f64) -> Self {
        self.p.fmin = f;
        self
    }
    /// Number of bins. Default 84 (7 octaves).
    pub fn n_bins(mut self, n: usize) -> Self {
        self.p.n_bins = n;
        self
    }
    /// Bins per octave. Default 12.
    pub fn bins_per_octave(mut self, n: usize) -> Self {
        self.p.bins_per_octave = n;
        self
    }
    /// Tuning offset in fractions of a bin. Default 0 (librosa's `tuning=None` estimates it
    /// from the signal; that is not reproduced: pass librosa.estimate_tuning's value).
    pub fn tuning(mut self, t: f64) -> Self {
        self.p.tuning = t;
        self
    }
    /// Filter length factor. Default 1.
    pub fn filter_scale(mut self, s: f64) -> Self {
        self.p.filter_scale = s;
        self
    }
    /// VQT bandwidth offset in Hz (0 = constant Q). Default 0 for [`Spectrogram::cqt`], the
    /// ERB-derived value for [`Spectrogram::vqt`].
    pub fn gamma(mut self, g: f64) -> Self {
        self.p.gamma = Some(g);
        self
    }
    /// Fraction of each basis row's L1 mass dropped to make it sparse, in [0, 1). Default 0.01.
    pub fn sparsity(mut self, s: f64) -> Self {
        self.p.sparsity = s;
        self
    }
    /// Normalisation of the time-domain filters (`librosa.util.normalize`'s `norm`): `Some(1.0)`
    /// (default) L1, `Some(2.0)` L2, `Some(f64::INFINITY)` max, `None` none.
    pub fn norm(mut self, n: Option<f64>) -> Self {
        self.p.norm = n;
        self
    }
    /// Divide each bin by the square root of its filter length. Default true.
    pub fn scale(mut self, on: bool) -> Self {
        self.p.scale = on;
        self
    }
    /// Padding of the centred frames. Default [`PadMode::Constant`] (zeros), as librosa.cqt.
    pub fn pad_mode(mut self, m: PadMode) -> Self {
        self.pad_mode = m;
        self
    }
    /// Caps the bytes of any one GPU buffer below the device's own limit, forcing split runs
    /// (for tests of the splitting; results are identical).
    #[doc(hidden)]
    pub fn max_buffer_bytes(mut self, n: u64) -> Self {
        self.max_buffer_bytes = Some(n);
        self
    }

    /// Designs the filters and builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Cqt> {
        self.p.validate()?;
        let p = &self.p;
        let backend = if self.pseudo {
            let (n_fft, bank) = pseudo_bank(p)?;
            let stft = Spectrogram::stft()
                .n_fft(n_fft)
                .hop_length(p.hop_length)
                .pad_mode(self.pad_mode)
                .power(1.0)
                .resolve()?;
            let cfg = FeatureConfig {
                stft,
                sr: p.sr,
                bank,
                post: Post::default(),
            };
            Backend::Pseudo(Box::new(FeaturePlan::new(cfg, device)?))
        } else {
            match device.gpu_context() {
                Some(ctx) => {
                    let bases = octave_bases(p)?;
                    let gain: Vec<f64> = if p.scale {
                        lengths(p).iter().map(|l| 1.0 / l.sqrt()).collect()
                    } else {
                        vec![1.0; p.n_bins]
                    };
                    Backend::Gpu(Box::new(GpuCqt::new(
                        ctx.clone(),
                        &bases,
                        &gain,
                        p.hop_length,
                        self.pad_mode,
                        self.max_buffer_bytes,
                    )?))
                }
                None => Backend::Cpu(CpuCqt::new(p, self.pad_mode)?),
            }
        };
        let longest = lengths(p).iter().cloned().fold(0.0f64, f64::max);
        // Every octave's n_fft is an even power of two: the frame count is the same for all.
        let framing = Framing {
            n_fft: (longest.ceil() as usize).next_power_of_two().max(2),
            hop: p.hop_length,
            center: true,
            pad_mode: self.pad_mode,
        };
        Ok(Cqt {
            freqs: frequencies(p),
            p: self.p,
            framing,
            backend,
            device: device.clone(),
        })
    }
}

enum Backend {
    Cpu(CpuCqt),
    Gpu(Box<GpuCqt>),
    /// The pseudo-CQT: the feature engine with the CQT magnitude bank.
    Pseudo(Box<FeaturePlan>),
}

/// A built CQT/VQT plan: `Send + Sync`, run it many times. Outputs are `(rows, n_bins,
/// frames)`, bins in ascending frequency ([`Cqt::frequencies`]), `frames = 1 + len / hop`; for
/// a batch, a row's frames past its own count are zero.
pub struct Cqt {
    p: CqtParams,
    freqs: Vec<f64>,
    framing: Framing,
    backend: Backend,
    device: Device,
}

impl std::fmt::Debug for Cqt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cqt")
            .field("sr", &self.p.sr)
            .field("hop_length", &self.p.hop_length)
            .field("fmin", &self.p.fmin)
            .field("n_bins", &self.p.n_bins)
            .field("bins_per_octave", &self.p.bins_per_octave)
            .field("gamma", &self.p.gamma)
            .field("device", &self.device)
            .finish()
    }
}

impl Cqt {
    /// Centre frequency of every bin in Hz, ascending (librosa.cqt_frequencies with tuning).
    pub fn frequencies(&self) -> &[f64] {
        &self.freqs
    }
    /// Number of bins.
    pub fn n_bins(&self) -> usize {
        self.p.n_bins
    }
    /// Hop length in samples.
    pub fn hop_length(&self) -> usize {
        self.p.hop_length
    }
    /// The device the plan runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
    /// The shape `run` returns for `rows` rows of `len` samples.
    pub fn output_shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
        Ok((rows, self.p.n_bins, self.framing.frames(len, "audio")?))
    }

    /// `|C|` of every channel: `(channels, n_bins, frames)`.
    pub fn run(&self, audio: &Audio) -> Result<Array3<f32>> {
        pollster::block_on(self.run_async(audio))
    }
    /// The async core of [`run`](Self::run).
    pub async fn run_async(&self, audio: &Audio) -> Result<Array3<f32>> {
        let lengths = vec![audio.len(); audio.channels()];
        self.real_rows(audio.data(), &lengths, audio.sample_rate(), audio.label())
            .await
    }
    /// `|C|` of every row of a batch: `(rows, n_bins, frames of the longest row)`.
    pub fn run_batch(&self, batch: &AudioBatch) -> Result<Array3<f32>> {
        pollster::block_on(self.real_rows(
            batch.data(),
            batch.lengths(),
            batch.sample_rate(),
            "batch",
        ))
    }
    /// The complex transform of every channel (librosa.cqt's own output).
    pub fn run_complex(&self, audio: &Audio) -> Result<Array3<Complex32>> {
        let lengths = vec![audio.len(); audio.channels()];
        self.complex_rows(audio.data(), &lengths, audio.sample_rate(), audio.label())
    }
    /// The complex transform of every row of a batch.
    pub fn run_batch_complex(&self, batch: &AudioBatch) -> Result<Array3<Complex32>> {
        self.complex_rows(batch.data(), batch.lengths(), batch.sample_rate(), "batch")
    }

    async fn real_rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        sr: u32,
        input: &str,
    ) -> Result<Array3<f32>> {
        match &self.backend {
            Backend::Pseudo(f) => f.rows(data, lengths, sr, input).await,
            Backend::Cpu(c) => {
                let (frames, max) = self.check(data, lengths, sr, input, error::F32)?;
                Ok(c.run(data, lengths, &frames, max))
            }
            Backend::Gpu(g) => {
                let (frames, max) = self.check(data, lengths, sr, input, error::F32)?;
                g.run(data, lengths, &frames, max).await
            }
        }
    }

    fn complex_rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        sr: u32,
        input: &str,
    ) -> Result<Array3<Complex32>> {
        let (frames, max) = self.check(data, lengths, sr, input, error::C64)?;
        match &self.backend {
            Backend::Cpu(c) => Ok(c.complex(data, lengths, &frames, max)),
            Backend::Gpu(g) => pollster::block_on(g.complex(data, lengths, &frames, max)),
            Backend::Pseudo(_) => Err(Error::param(
                "complex",
                "a pseudo-CQT has no phase (use Spectrogram::cqt for the complex transform)",
            )),
        }
    }

    /// Sample rate, finite samples, frame counts, and an output of `elem` values that can be
    /// allocated.
    fn check(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        sr: u32,
        input: &str,
        elem: error::Elem,
    ) -> Result<(Vec<usize>, usize)> {
        if sr != self.p.sr {
            return Err(Error::audio(
                input,
                format!(
                    "sample rate is {sr} Hz, the plan was built for {} Hz",
                    self.p.sr
                ),
            ));
        }
        let (frames, max) = frame_counts(&self.framing, data, lengths, input)?;
        error::check_alloc(input, "the CQT", &[lengths.len(), self.p.n_bins, max], elem)?;
        Ok((frames, max))
    }
}

impl Spectrogram {
    /// A chromagram from the CQT, librosa.feature.chroma_cqt's defaults: 12 chroma from a
    /// CQT of 7 octaves at 36 bins per octave from C1 (hop 512), each frame divided by its
    /// largest chroma (`norm=inf`), threshold 0. Tuning is given (default 0; librosa
    /// estimates it when not given: pass librosa.estimate_tuning's value). The CQT is the
    /// full-rate [`Spectrogram::cqt`] (on the plan's device); the fold of its bins into chroma
    /// (librosa.filters.cq_to_chroma: each CQT bin adds to one chroma) and the normalisation
    /// run on the host on the `(rows, n_bins, frames)` magnitudes, a small fraction of the work.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let sr = 22_050;
    /// let a4: Vec<f32> = (0..sr).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / sr as f32).sin()).collect();
    /// let chroma = Spectrogram::chroma_cqt(sr as u32).build(&Device::cpu())?.run(&Audio::from_mono(a4, sr as u32))?;
    /// assert_eq!(chroma.dim(), (1, 12, 44));
    /// assert_eq!(chroma[[0, 9, 22]], 1.0);                 // A is the loudest chroma
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn chroma_cqt(sample_rate: u32) -> ChromaCqtBuilder {
        ChromaCqtBuilder {
            cqt: Spectrogram::cqt(sample_rate).bins_per_octave(36),
            bins_per_octave: 36,
            fmin: crate::dsp::cqt::C1_HZ,
            n_chroma: 12,
            n_octaves: 7,
            norm: Some(f64::INFINITY),
            threshold: 0.0,
        }
    }
}

/// Builder of a [`ChromaCqt`] plan. Parameter names are librosa's.
#[derive(Debug, Clone)]
pub struct ChromaCqtBuilder {
    cqt: CqtBuilder,
    bins_per_octave: usize,
    fmin: f64,
    n_chroma: usize,
    n_octaves: usize,
    norm: Option<f64>,
    threshold: f64,
}

impl ChromaCqtBuilder {
    /// Samples between frames. Default 512.
    pub fn hop_length(mut self, n: usize) -> Self {
        self.cqt = self.cqt.hop_length(n);
        self
    }
    /// Lowest CQT frequency in Hz. Default C1 = 32.70 Hz.
    pub fn fmin(mut self, f: f64) -> Self {
        self.fmin = f;
        self
    }
    /// Tuning offset in fractions of a CQT bin. Default 0.
    pub fn tuning(mut self, t: f64) -> Self {
        self.cqt = self.cqt.tuning(t);
        self
    }
    /// Chroma bins per octave. Default 12.
    pub fn n_chroma(mut self, n: usize) -> Self {
        self.n_chroma = n;
        self
    }
    /// Octaves of the CQT. Default 7.
    pub fn n_octaves(mut self, n: usize) -> Self {
        self.n_octaves = n;
        self
    }
    /// CQT bins per octave, a multiple of `n_chroma`. Default 36.
    pub fn bins_per_octave(mut self, n: usize) -> Self {
        self.bins_per_octave = n;
        self
    }
    /// Per-frame normalisation over the chroma (`util.normalize`'s `norm`): `Some(inf)`
    /// (default) divides by the largest, `Some(1.0)` by the sum, `Some(2.0)` by the
    /// Euclidean norm, `None` leaves the sums as they are.
    pub fn norm(mut self, n: Option<f64>) -> Self {
        self.norm = n;
        self
    }
    /// Values below this are set to 0 before normalising. Default 0.
    pub fn threshold(mut self, t: f64) -> Self {
        self.threshold = t;
        self
    }

    /// Builds the CQT plan and the chroma fold on `device`.
    pub fn build(self, device: &Device) -> Result<ChromaCqt> {
        let (bpo, nc) = (self.bins_per_octave, self.n_chroma);
        if nc == 0 {
            return Err(Error::param("n_chroma", "must be >= 1"));
        }
        if self.n_octaves == 0 {
            return Err(Error::param("n_octaves", "must be >= 1"));
        }
        if bpo == 0 || bpo % nc != 0 {
            return Err(Error::param(
                "bins_per_octave",
                format!("must be a positive multiple of n_chroma ({nc}), got {bpo}"),
            ));
        }
        if !self.threshold.is_finite() {
            return Err(Error::param("threshold", "must be finite"));
        }
        match self.norm {
            Some(p) if p.is_nan() || p <= 0.0 => {
                return Err(Error::param(
                    "norm",
                    format!("must be > 0 (1, 2, inf) or None, got {p}"),
                ))
            }
            _ => {}
        }
        let n_bins = self
            .n_octaves
            .checked_mul(bpo)
            .ok_or_else(|| Error::param("n_octaves", "too many bins"))?;
        let cqt = self
            .cqt
            .fmin(self.fmin)
            .bins_per_octave(bpo)
            .n_bins(n_bins)
            .build(device)?;
        Ok(ChromaCqt {
            fold: cq_to_chroma(n_bins, bpo, nc, self.fmin),
            cqt,
            n_chroma: nc,
            norm: self.norm,
            threshold: self.threshold as f32,
        })
    }
}

/// librosa.filters.cq_to_chroma(n_input, bins_per_octave, n_chroma, fmin, base_c=True) as
/// the chroma each CQT bin adds to (its matrix has one 1 per column).
fn cq_to_chroma(n_input: usize, bpo: usize, n_chroma: usize, fmin: f64) -> Vec<usize> {
    let n_merge = bpo / n_chroma;
    // np.roll(repeat(eye), -(n_merge // 2), axis=1), tiled over the octaves.
    let shift = n_merge / 2;
    let midi0 = (12.0 * (fmin.log2() - 440f64.log2()) + 69.0).rem_euclid(12.0);
    let roll = (midi0 * (n_chroma as f64 / 12.0)).round_ties_even() as i64;
    (0..n_input)
        .map(|j| {
            let row = ((j % bpo + shift) % bpo) / n_merge;
            (row as i64 + roll).rem_euclid(n_chroma as i64) as usize
        })
        .collect()
}

/// A built chroma-from-CQT plan: `Send + Sync`. Outputs `(rows, n_chroma, frames)`.
pub struct ChromaCqt {
    cqt: Cqt,
    fold: Vec<usize>,
    n_chroma: usize,
    norm: Option<f64>,
    threshold: f32,
}

impl std::fmt::Debug for ChromaCqt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromaCqt")
            .field("cqt", &self.cqt)
            .field("n_chroma", &self.n_chroma)
            .field("norm", &self.norm)
            .finish()
    }
}

impl ChromaCqt {
    /// The chromagram of every channel: `(channels, n_chroma, frames)`.
    pub fn run(&self, audio: &Audio) -> Result<Array3<f32>> {
        Ok(self.fold(self.cqt.run(audio)?))
    }
    /// The async core of [`run`](Self::run).
    pub async fn run_async(&self, audio: &Audio) -> Result<Array3<f32>> {
        Ok(self.fold(self.cqt.run_async(audio).await?))
    }
    /// The chromagram of every row of a batch; a row's frames past its own count are zero.
    pub fn run_batch(&self, batch: &AudioBatch) -> Result<Array3<f32>> {
        Ok(self.fold(self.cqt.run_batch(batch)?))
    }
    /// The shape `run` returns for `rows` rows of `len` samples.
    pub fn output_shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
        let (r, _, f) = self.cqt.output_shape(rows, len)?;
        Ok((r, self.n_chroma, f))
    }
    /// The device the CQT runs on.
    pub fn device(&self) -> &Device {
        self.cqt.device()
    }

    /// CQT magnitudes -> chroma sums, threshold, per-frame normalisation (zero frames stay 0).
    fn fold(&self, c: Array3<f32>) -> Array3<f32> {
        let (rows, _, frames) = c.dim();
        let mut out = Array3::<f32>::zeros((rows, self.n_chroma, frames));
        for (mut o, c) in out.outer_iter_mut().zip(c.outer_iter()) {
            for (bin, &ch) in self.fold.iter().enumerate() {
                let mut dst = o.row_mut(ch);
                dst += &c.row(bin);
            }
            o.mapv_inplace(|v| if v < self.threshold { 0.0 } else { v });
            let Some(p) = self.norm else { continue };
            for mut col in o.columns_mut() {
                let n = if p.is_infinite() {
                    col.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64))
                } else {
                    col.iter()
                        .map(|v| (v.abs() as f64).powf(p))
                        .sum::<f64>()
                        .powf(1.0 / p)
                };
                if n > f32::MIN_POSITIVE as f64 {
                    col.mapv_inplace(|v| (v as f64 / n) as f32);
                }
            }
        }
        out
    }
}
