//! Spectral features (librosa.feature.spectral_centroid, _bandwidth, _rolloff, _flatness,
//! _contrast), rms and zero-crossing rate.
//!
//! On the GPU each frame is reduced where it is computed: the spectral features run the STFT
//! kernel and reduce its spectrum in workgroup memory (no spectrogram is written to or read
//! from GPU memory), rms and zero-crossing rate reduce raw frames of the signal; a run reads
//! back a few values per frame. The CPU path computes in f64 (the reference).

use ndarray::{Array3, ArrayView2};

use crate::audio::{Audio, AudioBatch};
use crate::cpu::spectral::{
    bin_hz, contrast_finish, frame_stats, spectral_frames, Band, FrameStat, Reduce,
};
use crate::cpu::stft::CpuStft;
use crate::device::Device;
use crate::dsp::frames::{Framing, PadMode};
use crate::dsp::window::Window;
use crate::error::{Error, Result};
use crate::gpu::spectral::{GpuSpectral, SpectralKernel};
use crate::transform::stft::{Epilogue, Spectrogram, StftBuilder, StftConfig};

/// A spectral feature with librosa's parameters: what a [`Spectral`] plan computes per frame
/// of the magnitude spectrogram `S = |stft|`. The constructors give librosa's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SpectralFeature {
    /// `spectral_centroid`: `sum_k f_k S_k / sum_k S_k` in Hz (0 on a silent frame).
    Centroid,
    /// `spectral_bandwidth(p, norm=True)`: `(sum_k S_k |f_k - centroid|^p / sum_k S_k)^(1/p)`.
    Bandwidth {
        /// The order p (> 0). Default 2.
        p: f64,
    },
    /// `spectral_rolloff`: the lowest bin frequency whose cumulative magnitude reaches
    /// `roll_percent` of the frame's total (0 Hz on a silent frame).
    Rolloff {
        /// In (0, 1). Default 0.85.
        roll_percent: f64,
    },
    /// `spectral_flatness`: `exp(mean(ln X)) / mean(X)` with `X = max(amin, S^power)`.
    Flatness {
        /// Exponent of the magnitude (> 0). Default 2 (power spectrum).
        power: f64,
        /// Floor of `S^power` (> 0). Default 1e-10.
        amin: f64,
    },
    /// `spectral_contrast`: per octave band `[0, fmin], [fmin, 2 fmin], ...` (the last one up
    /// to Nyquist), the mean of the `quantile` highest magnitudes (peak) against the mean of
    /// the lowest (valley): `power_to_db(peak) - power_to_db(valley)` (librosa's defaults:
    /// ref 1, amin 1e-10, top_db 80 below the maximum of the whole peak, resp. valley, array:
    /// every channel of a clip, every row of a batch, unless
    /// [`SpectralBuilder::per_item`]), or `peak - valley` when `linear`.
    /// `n_bands + 1` values per frame.
    Contrast {
        /// Octave bands above the first (>= 1). Default 6.
        n_bands: usize,
        /// Top of the first band in Hz (> 0). Default 200.
        fmin: f64,
        /// Share of each band's bins averaged, in (0, 1). Default 0.02.
        quantile: f64,
        /// `peak - valley` instead of the dB difference. Default false.
        linear: bool,
    },
}

impl SpectralFeature {
    /// `Bandwidth { p: 2.0 }`.
    pub const fn bandwidth() -> Self {
        SpectralFeature::Bandwidth { p: 2.0 }
    }
    /// `Rolloff { roll_percent: 0.85 }`.
    pub const fn rolloff() -> Self {
        SpectralFeature::Rolloff { roll_percent: 0.85 }
    }
    /// `Flatness { power: 2.0, amin: 1e-10 }`.
    pub const fn flatness() -> Self {
        SpectralFeature::Flatness {
            power: 2.0,
            amin: 1e-10,
        }
    }
    /// `Contrast { n_bands: 6, fmin: 200.0, quantile: 0.02, linear: false }`.
    pub const fn contrast() -> Self {
        SpectralFeature::Contrast {
            n_bands: 6,
            fmin: 200.0,
            quantile: 0.02,
            linear: false,
        }
    }
}

impl Spectrogram {
    /// A spectral feature of audio at `sample_rate` (see [`SpectralFeature`]), on librosa's
    /// STFT defaults: n_fft 2048, hop `win_length / 4`, periodic Hann, centred with zero
    /// padding. Output `(channels, 1, frames)`, or `(channels, n_bands + 1, frames)` for
    /// contrast, in Hz for centroid, bandwidth and rolloff. Runs refuse audio at another
    /// sample rate, except flatness's, which does not depend on it (librosa's takes none).
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram, SpectralFeature};
    /// let sr = 16_000;
    /// let tone: Vec<f32> = (0..sr).map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / sr as f32).sin()).collect();
    /// let audio = Audio::from_mono(tone, sr as u32);
    /// let centroid = Spectrogram::spectral(16_000, SpectralFeature::Centroid).n_fft(512).build(&Device::cpu())?;
    /// let c = centroid.run(&audio)?;                           // (channels, 1, frames)
    /// assert_eq!(c.dim(), (1, 1, 1 + 16_000 / 128));
    /// assert!((c[[0, 0, 60]] - 1000.0).abs() < 20.0);          // a 1 kHz tone
    /// let contrast = Spectrogram::spectral(16_000, SpectralFeature::contrast()).build(&Device::cpu())?;
    /// assert_eq!(contrast.run(&audio)?.dim().1, 7);            // n_bands + 1
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn spectral(sample_rate: u32, feature: SpectralFeature) -> SpectralBuilder {
        SpectralBuilder {
            stft: Spectrogram::stft(),
            sr: sample_rate,
            feature,
            per_item: false,
            max_buffer_bytes: None,
        }
    }

    /// Root-mean-square energy of raw frames, librosa.feature.rms(y=...)'s defaults:
    /// frame_length 2048, hop 512, centred with zero padding; no window. Output
    /// `(channels, 1, frames)`. librosa squares and averages in float32 by default; this plan
    /// uses f64 on the CPU (as librosa's `dtype=np.float64`) and f32 on the GPU.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let audio = Audio::from_mono(vec![0.5; 8_000], 8_000);
    /// let rms = Spectrogram::rms().frame_length(1024).hop_length(256).build(&Device::cpu())?;
    /// let r = rms.run(&audio)?;                           // (channels, 1, frames)
    /// assert_eq!(r.dim(), (1, 1, 1 + 8_000 / 256));
    /// assert!((r[[0, 0, 10]] - 0.5).abs() < 1e-6);        // a constant: its own level
    /// assert!((r[[0, 0, 0]] - 0.5 / 2f32.sqrt()).abs() < 1e-6); // half the first frame is padding
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn rms() -> RmsBuilder {
        RmsBuilder {
            frames: FrameArgs::default(),
            pad_mode: PadMode::Constant,
        }
    }

    /// Zero-crossing rate of raw frames, librosa.feature.zero_crossing_rate's defaults:
    /// frame_length 2048, hop 512, centred by repeating the end samples (librosa's
    /// `mode="edge"`), `|x| <= 1e-10` counted as zero and zero as positive, the crossings of
    /// each frame's `frame_length - 1` neighbour pairs divided by `frame_length`. Output
    /// `(channels, 1, frames)`.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let alternating: Vec<f32> = (0..4_096).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    /// let zcr = Spectrogram::zero_crossing_rate().frame_length(512).hop_length(128).build(&Device::cpu())?;
    /// let z = zcr.run(&Audio::from_mono(alternating, 16_000))?;
    /// assert_eq!(z.dim(), (1, 1, 1 + 4_096 / 128));
    /// assert_eq!(z[[0, 0, 10]], 511.0 / 512.0);           // every neighbour pair crosses
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn zero_crossing_rate() -> ZeroCrossingRateBuilder {
        ZeroCrossingRateBuilder {
            frames: FrameArgs::default(),
        }
    }
}

/// Builder of a [`Spectral`] plan.
#[derive(Debug, Clone)]
pub struct SpectralBuilder {
    stft: StftBuilder,
    sr: u32,
    feature: SpectralFeature,
    per_item: bool,
    max_buffer_bytes: Option<u64>,
}

impl SpectralBuilder {
    crate::transform::mel::stft_setters!(stft);

    /// The feature (replaces the one given to [`Spectrogram::spectral`]).
    pub fn feature(mut self, f: SpectralFeature) -> Self {
        self.feature = f;
        self
    }

    /// Contrast in dB: take each `top_db` floor from the maximum of each row (channel or batch
    /// row) instead of the whole output array (librosa's semantics, the default), so that a
    /// row's values are those of that row run alone. Other features are per frame anyway.
    pub fn per_item(mut self, on: bool) -> Self {
        self.per_item = on;
        self
    }

    /// Caps the bytes of any one GPU buffer (forces split runs in tests; same results).
    #[doc(hidden)]
    pub fn max_buffer_bytes(mut self, n: u64) -> Self {
        self.max_buffer_bytes = Some(n);
        self
    }

    fn resolve(&self) -> Result<SpectralConfig> {
        if self.sr == 0 {
            return Err(Error::param("sr", "must be > 0"));
        }
        let reduce = match self.feature {
            SpectralFeature::Centroid => Reduce::Centroid,
            SpectralFeature::Bandwidth { p } => {
                if !(p.is_finite() && p > 0.0) {
                    return Err(Error::param(
                        "p",
                        format!("must be finite and > 0, got {p}"),
                    ));
                }
                Reduce::Bandwidth { p }
            }
            SpectralFeature::Rolloff { roll_percent } => {
                if !(roll_percent > 0.0 && roll_percent < 1.0) {
                    return Err(Error::param(
                        "roll_percent",
                        format!("must lie in the range (0, 1), got {roll_percent}"),
                    ));
                }
                Reduce::Rolloff { roll_percent }
            }
            SpectralFeature::Flatness { power, amin } => {
                if !(amin.is_finite() && amin > 0.0) {
                    return Err(Error::param(
                        "amin",
                        format!("must be finite and strictly positive, got {amin}"),
                    ));
                }
                if !(power.is_finite() && power > 0.0) {
                    return Err(Error::param(
                        "power",
                        format!("must be finite and > 0, got {power}"),
                    ));
                }
                Reduce::Flatness { power, amin }
            }
            SpectralFeature::Contrast {
                n_bands,
                fmin,
                quantile,
                ..
            } => {
                let n_fft = self.stft.resolve()?.framing.n_fft;
                Reduce::Contrast {
                    bands: contrast_bands(self.sr, n_fft, n_bands, fmin, quantile)?,
                }
            }
        };
        let stft = self.stft.clone().power(reduce.power() as f32).resolve()?;
        let hz = bin_hz(self.sr, stft.framing.n_fft);
        Ok(SpectralConfig {
            stft,
            sr: self.sr,
            feature: self.feature,
            reduce,
            hz,
            per_item: self.per_item,
        })
    }

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Spectral> {
        let cfg = self.resolve()?;
        let backend = match device.gpu_context() {
            Some(ctx) => Backend::Gpu(Box::new(GpuSpectral::new(
                ctx.clone(),
                &cfg.stft,
                &SpectralKernel::spectral(&cfg.reduce, cfg.hz),
                self.max_buffer_bytes,
            )?)),
            None => Backend::Cpu(Box::new(CpuStft::new(cfg.stft.framing, &cfg.stft.window))),
        };
        Ok(Spectral {
            plan: SpectralPlan {
                cfg,
                backend,
                device: device.clone(),
            },
        })
    }
}

/// librosa's contrast bands for `n_fft` bins at `sr`: `[0, fmin], [fmin, 2 fmin], ...,
/// [fmin 2^(n_bands - 1), fmin 2^n_bands]`, every band but the first widened by the bin below
/// it, the last one extended to Nyquist, every band but the last without its top bin, and the
/// count `max(1, rint(quantile * bins))` taken before that bin is dropped.
fn contrast_bands(
    sr: u32,
    n_fft: usize,
    n_bands: usize,
    fmin: f64,
    quantile: f64,
) -> Result<Vec<Band>> {
    if n_bands == 0 {
        return Err(Error::param("n_bands", "must be a positive integer, got 0"));
    }
    if !(fmin.is_finite() && fmin > 0.0) {
        return Err(Error::param(
            "fmin",
            format!("must be a positive number, got {fmin}"),
        ));
    }
    if !(quantile > 0.0 && quantile < 1.0) {
        return Err(Error::param(
            "quantile",
            format!("must lie in the range (0, 1), got {quantile}"),
        ));
    }
    let nyquist = 0.5 * sr as f64;
    // octa = [0, fmin, 2 fmin, ..., fmin 2^n_bands]
    let octa: Vec<f64> = std::iter::once(0.0)
        .chain((0..=n_bands).map(|k| fmin * 2f64.powi(k as i32)))
        .collect();
    let top = octa[n_bands];
    if top >= nyquist {
        return Err(Error::param(
            "fmin",
            format!(
                "Frequency band exceeds Nyquist: band {n_bands} starts at fmin * 2^(n_bands - 1) = {top} Hz >= sr / 2 = {nyquist} Hz (reduce fmin or n_bands)"
            ),
        ));
    }
    let n_freq = n_fft / 2 + 1;
    let hz = bin_hz(sr, n_fft);
    let freq = |k: usize| k as f64 * hz;
    let mut bands = Vec::with_capacity(n_bands + 1);
    for k in 0..=n_bands {
        let (f_low, f_high) = (octa[k], octa[k + 1]);
        let first = (0..n_freq).find(|&i| freq(i) >= f_low && freq(i) <= f_high);
        let last = (0..n_freq)
            .rev()
            .find(|&i| freq(i) >= f_low && freq(i) <= f_high);
        let (Some(first), Some(last)) = (first, last) else {
            return Err(Error::param(
                "n_fft",
                format!(
                    "contrast band {k} ({f_low} to {f_high} Hz) holds no frequency bin at n_fft = {n_fft} (bins are {hz} Hz apart): use a larger n_fft or fmin"
                ),
            ));
        };
        let lo = if k > 0 { first - 1 } else { first };
        let hi_incl = if k == n_bands { n_freq - 1 } else { last };
        let count = hi_incl - lo + 1;
        let q = ((quantile * count as f64).round_ties_even() as usize).max(1);
        // every band but the last drops its top bin
        let hi = if k == n_bands { hi_incl + 1 } else { hi_incl };
        if hi == lo {
            return Err(Error::param(
                "n_fft",
                format!(
                    "contrast band {k} ({f_low} to {f_high} Hz) holds a single bin at n_fft = {n_fft}, which librosa drops (its mean is NaN): use a larger n_fft or fmin"
                ),
            ));
        }
        bands.push(Band {
            lo,
            hi,
            q: q.min(hi - lo),
        });
    }
    Ok(bands)
}

/// Everything a spectral plan computes with, resolved once.
#[derive(Debug, Clone)]
struct SpectralConfig {
    stft: StftConfig,
    sr: u32,
    feature: SpectralFeature,
    reduce: Reduce,
    hz: f64,
    per_item: bool,
}

enum Backend {
    Cpu(Box<CpuStft>),
    Gpu(Box<GpuSpectral>),
}

/// A built spectral-feature plan: `Send + Sync`, run it many times.
///
/// On the GPU every frame is transformed and reduced in one kernel; spectral contrast reads
/// back each band's peak and valley and takes their dB on the host (in f64: it needs the
/// maximum of the whole array, and it is `n_bands + 1` values per frame).
pub struct Spectral {
    plan: SpectralPlan,
}

impl Spectral {
    /// The feature the plan computes.
    pub fn feature(&self) -> SpectralFeature {
        self.plan.cfg.feature
    }

    /// Values per frame: 1, or `n_bands + 1` for contrast.
    pub fn n_out(&self) -> usize {
        self.plan.n_out()
    }
}

/// The engine of [`Spectral`].
struct SpectralPlan {
    cfg: SpectralConfig,
    backend: Backend,
    device: Device,
}

impl SpectralPlan {
    fn n_out(&self) -> usize {
        match &self.cfg.reduce {
            Reduce::Contrast { bands } => bands.len(),
            _ => 1,
        }
    }

    fn shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
        Ok((
            rows,
            self.n_out(),
            self.cfg.stft.framing.frames(len, "audio")?,
        ))
    }

    /// Contrast from peaks and valleys (identity otherwise).
    fn finish(&self, x: Array3<f64>, frames: &[usize]) -> Array3<f32> {
        match self.cfg.feature {
            SpectralFeature::Contrast { linear, .. } => {
                contrast_finish(&x, frames, linear, self.cfg.per_item)
            }
            _ => x.mapv(|v| v as f32),
        }
    }

    async fn rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        sr: u32,
        input: &str,
    ) -> Result<Array3<f32>> {
        // flatness alone does not depend on the sample rate (librosa takes none)
        let flatness = matches!(self.cfg.reduce, Reduce::Flatness { .. });
        if sr != self.cfg.sr && !flatness {
            return Err(Error::audio(
                input,
                format!(
                    "sample rate is {sr} Hz, the plan was built for {} Hz",
                    self.cfg.sr
                ),
            ));
        }
        let (frames, max) = self.cfg.stft.frame_counts(data, lengths, input)?;
        match &self.backend {
            Backend::Cpu(c) => {
                let x = spectral_frames(
                    c,
                    &self.cfg.reduce,
                    self.cfg.hz,
                    data,
                    lengths,
                    &frames,
                    max,
                );
                Ok(self.finish(x, &frames))
            }
            Backend::Gpu(g) => {
                let x = g.run(data, lengths, &frames, max).await?;
                if matches!(self.cfg.reduce, Reduce::Contrast { .. }) {
                    Ok(self.finish(x.mapv(f64::from), &frames))
                } else {
                    Ok(x)
                }
            }
        }
    }
}

impl std::fmt::Debug for Spectral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cfg = &self.plan.cfg;
        f.debug_struct("Spectral")
            .field("feature", &cfg.feature)
            .field("sr", &cfg.sr)
            .field("n_fft", &cfg.stft.framing.n_fft)
            .field("hop_length", &cfg.stft.framing.hop)
            .field("device", &self.plan.device)
            .finish()
    }
}

/// Framing parameters of rms and zero-crossing rate (librosa's names and defaults).
#[derive(Debug, Clone, Copy)]
struct FrameArgs {
    frame_length: usize,
    hop_length: usize,
    center: bool,
    max_buffer_bytes: Option<u64>,
}

impl Default for FrameArgs {
    fn default() -> Self {
        FrameArgs {
            frame_length: 2048,
            hop_length: 512,
            center: true,
            max_buffer_bytes: None,
        }
    }
}

/// Setters of a builder with a `frames: FrameArgs` field.
macro_rules! frame_setters {
    () => {
        /// Samples per frame. Default 2048.
        pub fn frame_length(mut self, n: usize) -> Self {
            self.frames.frame_length = n;
            self
        }
        /// Samples between frames. Default 512 (librosa's, whatever the frame length).
        pub fn hop_length(mut self, n: usize) -> Self {
            self.frames.hop_length = n;
            self
        }
        /// Centre frames on `t * hop` by padding `frame_length / 2` each side. Default true.
        pub fn center(mut self, c: bool) -> Self {
            self.frames.center = c;
            self
        }
        /// Caps the bytes of any one GPU buffer (forces split runs in tests; same results).
        #[doc(hidden)]
        pub fn max_buffer_bytes(mut self, n: u64) -> Self {
            self.frames.max_buffer_bytes = Some(n);
            self
        }
    };
}

/// Builder of an [`Rms`] plan.
#[derive(Debug, Clone)]
pub struct RmsBuilder {
    frames: FrameArgs,
    pad_mode: PadMode,
}

impl RmsBuilder {
    frame_setters!();

    /// Padding when centred. Default [`PadMode::Constant`] (zeros), librosa's.
    pub fn pad_mode(mut self, m: PadMode) -> Self {
        self.pad_mode = m;
        self
    }

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Rms> {
        Ok(Rms {
            plan: FramePlan::new(FrameStat::Rms, self.frames, self.pad_mode, device)?,
        })
    }
}

/// Builder of a [`ZeroCrossingRate`] plan.
#[derive(Debug, Clone)]
pub struct ZeroCrossingRateBuilder {
    frames: FrameArgs,
}

impl ZeroCrossingRateBuilder {
    frame_setters!();

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<ZeroCrossingRate> {
        Ok(ZeroCrossingRate {
            // the edge padding is the kernel's own; the framing's mode only counts frames
            plan: FramePlan::new(FrameStat::Zcr, self.frames, PadMode::Constant, device)?,
        })
    }
}

enum FrameBackend {
    Cpu,
    Gpu(Box<GpuSpectral>),
}

/// The engine of [`Rms`] and [`ZeroCrossingRate`].
struct FramePlan {
    stat: FrameStat,
    /// The framing (`n_fft` is the frame length); no window, no FFT.
    cfg: StftConfig,
    backend: FrameBackend,
    device: Device,
}

impl FramePlan {
    fn new(stat: FrameStat, a: FrameArgs, pad_mode: PadMode, device: &Device) -> Result<Self> {
        if a.frame_length == 0 || a.frame_length > 1 << 24 {
            return Err(Error::param(
                "frame_length",
                format!("must be in 1..=2^24, got {}", a.frame_length),
            ));
        }
        if a.hop_length == 0 {
            return Err(Error::param("hop_length", "must be >= 1"));
        }
        let cfg = StftConfig {
            framing: Framing {
                n_fft: a.frame_length,
                hop: a.hop_length,
                center: a.center,
                pad_mode,
            },
            win_length: a.frame_length,
            window: Vec::new(),
            epilogue: Epilogue { power: 1.0 },
            frames_per_workgroup: None,
        };
        let backend = match device.gpu_context() {
            Some(ctx) => FrameBackend::Gpu(Box::new(GpuSpectral::new(
                ctx.clone(),
                &cfg,
                &SpectralKernel::frame_stat(stat),
                a.max_buffer_bytes,
            )?)),
            None => FrameBackend::Cpu,
        };
        Ok(FramePlan {
            stat,
            cfg,
            backend,
            device: device.clone(),
        })
    }

    fn check_len(&self, len: usize, input: &str) -> Result<usize> {
        let n = self.cfg.framing.n_fft;
        if !self.cfg.framing.center && len < n && len > 0 {
            return Err(Error::audio(
                input,
                format!(
                    "{len} samples is shorter than frame_length = {n} with center=false (use center=true or a smaller frame_length)"
                ),
            ));
        }
        self.cfg.framing.frames(len, input)
    }

    fn shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
        Ok((rows, 1, self.check_len(len, "audio")?))
    }

    async fn rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        _sr: u32,
        input: &str,
    ) -> Result<Array3<f32>> {
        for (i, &l) in lengths.iter().enumerate() {
            if input == "batch" {
                self.check_len(l, &format!("batch row {i}"))?;
            } else {
                self.check_len(l, input)?;
            }
        }
        let (frames, max) = self.cfg.frame_counts(data, lengths, input)?;
        match &self.backend {
            FrameBackend::Cpu => Ok(frame_stats(
                self.stat,
                self.cfg.framing,
                data,
                lengths,
                &frames,
                max,
            )),
            FrameBackend::Gpu(g) => g.run(data, lengths, &frames, max).await,
        }
    }
}

/// A built rms plan: `Send + Sync`, run it many times.
pub struct Rms {
    plan: FramePlan,
}

/// A built zero-crossing-rate plan: `Send + Sync`, run it many times.
pub struct ZeroCrossingRate {
    plan: FramePlan,
}

crate::transform::features::plan_api!(Spectral, "feature");
crate::transform::features::plan_api!(Rms, "rms");
crate::transform::features::plan_api!(ZeroCrossingRate, "zero-crossing rate");

impl std::fmt::Debug for Rms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.plan.describe("Rms", f)
    }
}

impl std::fmt::Debug for ZeroCrossingRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.plan.describe("ZeroCrossingRate", f)
    }
}

impl FramePlan {
    fn describe(&self, name: &str, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fr = &self.cfg.framing;
        f.debug_struct(name)
            .field("frame_length", &fr.n_fft)
            .field("hop_length", &fr.hop)
            .field("center", &fr.center)
            .field("device", &self.device)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn plans_are_send_sync() {
        is_send_sync::<Spectral>();
        is_send_sync::<Rms>();
        is_send_sync::<ZeroCrossingRate>();
    }

    #[test]
    fn contrast_bands_follow_librosa() {
        // sr 16000, n_fft 512: bins 31.25 Hz apart; bands [0,200] [200,400] ... [6400, 12800]
        let b = contrast_bands(16_000, 512, 6, 200.0, 0.02).unwrap();
        // band 0: bins 0..=6 (0..187.5 Hz), 7 bins counted, top dropped -> 0..6
        assert_eq!(b[0], Band { lo: 0, hi: 6, q: 1 });
        // band 1: bins 7..=12 (218.75..375) plus bin 6 below: 6..=12, 7 counted, top dropped
        assert_eq!(
            b[1],
            Band {
                lo: 6,
                hi: 12,
                q: 1
            }
        );
        // last band: bins from 205 (6406.25 Hz) minus one, to Nyquist (256), none dropped
        assert_eq!(
            b[6],
            Band {
                lo: 204,
                hi: 257,
                q: 1
            }
        );
        assert!(contrast_bands(8_000, 512, 6, 200.0, 0.02).is_err()); // 6400 >= 4000
        assert!(contrast_bands(8_000, 512, 6, 100.0, 0.02).is_ok());
    }
}
