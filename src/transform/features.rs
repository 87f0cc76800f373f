//! The engine behind every feature plan (mel, MFCC, chroma): STFT -> |X|^power -> sparse
//! filterbank -> post stages (dB, DCT, per-frame normalisation), on the GPU or the CPU.

use std::sync::Arc;

use ndarray::{Array3, ArrayView2};

use crate::cpu::features::{bank_frames, row_max, Post};
use crate::cpu::stft::CpuStft;
use crate::device::Device;
use crate::dsp::mel::SparseBank;
use crate::error::{Error, Result};
use crate::gpu::features::GpuFeatures;
use crate::transform::device_spectrogram::{DeviceSpectrogram, Resident};
use crate::transform::stft::StftConfig;
use crate::transform::stream::{FeatureStream, Framer, RunWindow};

/// Everything a feature plan computes with, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct FeatureConfig {
    pub stft: StftConfig,
    pub sr: u32,
    pub bank: SparseBank,
    pub post: Post,
}

impl FeatureConfig {
    pub fn n_bands(&self) -> usize {
        self.bank.bands.len()
    }
    pub fn n_out(&self) -> usize {
        self.post.dct.as_ref().map_or(self.n_bands(), |d| d.n_out)
    }
}

pub(crate) enum Backend {
    Cpu(CpuStft),
    Gpu(Box<GpuFeatures>),
}

/// The engine behind [`Mel`] and [`Mfcc`]: STFT -> |X|^power -> sparse mel -> dB -> DCT.
pub(crate) struct FeaturePlan {
    pub cfg: FeatureConfig,
    backend: Backend,
    pub device: Device,
    /// The same plan without post stages, for streams; built on first use.
    bare: std::sync::OnceLock<Box<FeaturePlan>>,
}

impl FeaturePlan {
    pub fn new(cfg: FeatureConfig, device: &Device) -> Result<Self> {
        let backend = match device.gpu_context() {
            Some(ctx) => Backend::Gpu(Box::new(GpuFeatures::new(ctx.clone(), &cfg)?)),
            None => Backend::Cpu(CpuStft::new(cfg.stft.framing, &cfg.stft.window)),
        };
        Ok(FeaturePlan {
            cfg,
            backend,
            device: device.clone(),
            bare: std::sync::OnceLock::new(),
        })
    }

    /// A stream of `channels` channels through this plan (see [`FeatureStream`]).
    pub fn stream(&self, channels: usize) -> Result<FeatureStream<'_>> {
        let bare: &FeaturePlan = if self.cfg.post.is_empty() {
            self
        } else {
            if self.bare.get().is_none() {
                let cfg = FeatureConfig {
                    post: Post::default(),
                    ..self.cfg.clone()
                };
                let _ = self
                    .bare
                    .set(Box::new(FeaturePlan::new(cfg, &self.device)?));
            }
            self.bare
                .get()
                .ok_or_else(|| Error::param("stream", "plan without post stages"))?
        };
        // dB relative to the maximum, or floored under it, needs the whole output first.
        let deferred = self.cfg.post.db.is_some_and(|db| {
            db.top_db.is_some() || matches!(db.reference, crate::dsp::db::DbRef::Max)
        });
        Ok(FeatureStream {
            plan: self,
            bare,
            framer: Framer::new(self.cfg.stft.framing, channels)?,
            maxes: vec![0.0; channels],
            deferred,
        })
    }

    pub fn shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
        Ok((
            rows,
            self.cfg.n_out(),
            self.cfg.stft.framing.frames(len, "audio")?,
        ))
    }

    pub async fn rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        sr: u32,
        input: &str,
    ) -> Result<Array3<f32>> {
        if sr != self.cfg.sr {
            return Err(Error::audio(
                input,
                format!(
                    "sample rate is {sr} Hz, the plan was built for {} Hz",
                    self.cfg.sr
                ),
            ));
        }
        let (frames, max) = self.cfg.stft.frame_counts(data, lengths, input)?;
        crate::error::check_alloc(
            input,
            "the output",
            &[lengths.len(), self.cfg.n_out(), max],
            crate::error::F32,
        )?;
        match &self.backend {
            Backend::Cpu(c) => Ok(cpu_features(c, &self.cfg, data, lengths, &frames, max)),
            Backend::Gpu(g) => g.run(data, lengths, &frames, max).await,
        }
    }
}

impl FeaturePlan {
    /// The filterbank and post stages over `spec` (used as is, like librosa's `S=`): in GPU
    /// memory when `spec` is on this plan's GPU, else moved to where the plan runs.
    pub async fn spectrogram_rows(&self, spec: &DeviceSpectrogram) -> Result<Array3<f32>> {
        let n_freq = self.cfg.stft.n_freq();
        if spec.shape.1 != n_freq {
            return Err(Error::param(
                "spectrogram",
                format!(
                    "has {} frequency bins (n_fft {}); this plan's n_fft {} needs {n_freq}",
                    spec.shape.1, spec.n_fft, self.cfg.stft.framing.n_fft
                ),
            ));
        }
        if spec.sample_rate != self.cfg.sr {
            return Err(Error::audio(
                "spectrogram",
                format!(
                    "sample rate is {} Hz, the plan was built for {} Hz",
                    spec.sample_rate, self.cfg.sr
                ),
            ));
        }
        let (frames, frames_max) = (&spec.frames, spec.shape.2);
        match (&self.backend, &spec.data) {
            (Backend::Gpu(g), Resident::Gpu { ctx, pieces }) if Arc::ptr_eq(ctx, g.context()) => {
                g.run_pieces(pieces, n_freq, frames, frames_max).await
            }
            (Backend::Gpu(g), Resident::Host(host)) => {
                let pieces = g.upload(host.view())?;
                g.run_pieces(&pieces, n_freq, frames, frames_max).await
            }
            (Backend::Gpu(g), Resident::Gpu { .. }) => {
                let host = spec.to_array_async().await?;
                let pieces = g.upload(host.view())?;
                g.run_pieces(&pieces, n_freq, frames, frames_max).await
            }
            (Backend::Cpu(_), data) => {
                let read;
                let host = match data {
                    Resident::Host(h) => h,
                    Resident::Gpu { .. } => {
                        read = spec.to_array_async().await?;
                        &read
                    }
                };
                let x = bank_frames(&self.cfg.bank, host.view(), frames);
                if self.cfg.post.is_empty() {
                    return Ok(x);
                }
                let maxes = row_max(&x, frames);
                Ok(self.cfg.post.apply(x, frames, &maxes))
            }
        }
    }
}

impl RunWindow for FeaturePlan {
    fn values(&self) -> usize {
        self.cfg.n_out()
    }
    fn run_window(&self, data: ArrayView2<'_, f32>) -> Result<Array3<f32>> {
        let lengths = vec![data.ncols(); data.nrows()];
        pollster::block_on(self.rows(data, &lengths, self.cfg.sr, "stream"))
    }
}

/// The CPU path: mel power per frame (power scratch reused per thread), then the post stages.
pub(crate) fn cpu_features(
    c: &CpuStft,
    cfg: &FeatureConfig,
    data: ArrayView2<'_, f32>,
    lengths: &[usize],
    frames: &[usize],
    frames_max: usize,
) -> Array3<f32> {
    let epilogue = cfg.stft.epilogue;
    let bank = &cfg.bank;
    let mel = c.frames_par(
        data,
        lengths,
        frames,
        frames_max,
        cfg.n_bands(),
        |spec, tmp, col| {
            tmp.clear();
            tmp.extend(spec.iter().map(|x| epilogue.apply64(x.re, x.im)));
            bank.apply(tmp, col);
        },
    );
    if cfg.post.is_empty() {
        return mel;
    }
    let maxes = row_max(&mel, frames);
    cfg.post.apply(mel, frames, &maxes)
}

/// The public run methods of a plan type whose `plan` field has `rows`, `shape` and `device`
/// (feature plans here, frame statistics in spectral.rs).
macro_rules! plan_api {
    ($ty:ident, $what:literal) => {
        impl $ty {
            #[doc = concat!("The ", $what, " of every channel: `(channels, values, frames)`.")]
            pub fn run(&self, audio: &Audio) -> Result<Array3<f32>> {
                pollster::block_on(self.run_async(audio))
            }
            #[doc = concat!("The ", $what, " of every row of a batch: `(rows, values, frames of the longest row)`; a row's frames past its own count are zero.")]
            pub fn run_batch(&self, batch: &AudioBatch) -> Result<Array3<f32>> {
                pollster::block_on(self.plan.rows(batch.data(), batch.lengths(), batch.sample_rate(), "batch"))
            }
            /// The async core of `run`.
            pub async fn run_async(&self, audio: &Audio) -> Result<Array3<f32>> {
                let lengths = vec![audio.len(); audio.channels()];
                self.plan.rows(audio.data(), &lengths, audio.sample_rate(), audio.label()).await
            }
            /// The shape `run` returns for `rows` rows of `len` samples.
            pub fn output_shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
                self.plan.shape(rows, len)
            }
            /// The device the plan runs on.
            pub fn device(&self) -> &Device {
                &self.plan.device
            }
        }
    };
}

pub(crate) use plan_api;

/// [`plan_api`] plus a `Debug` that shows the feature plan's parameters.
macro_rules! feature_plan_api {
    ($ty:ident, $what:literal) => {
        crate::transform::features::plan_api!($ty, $what);

        impl $ty {
            /// The plan's filterbank and post stages over a spectrogram from
            /// [`Stft::run_to_device`](crate::Stft::run_to_device), used as is (librosa's `S=`
            /// argument; for MFCCs, `mfcc(S=power_to_db(melspectrogram(S=spec)))`):
            /// `(rows, values, frames)`. When `spec` is in this plan's GPU memory nothing moves
            /// through the host but the result. Only the plan's `n_fft` (through the bin count)
            /// and sample rate must match `spec`; its other STFT settings are not used.
            pub fn run_spectrogram(
                &self,
                spec: &crate::transform::device_spectrogram::DeviceSpectrogram,
            ) -> Result<Array3<f32>> {
                pollster::block_on(self.plan.spectrogram_rows(spec))
            }
            /// A stream over a long signal of `channels` channels pushed chunk by chunk, with
            /// memory bounded by the chunk size; the blocks (finalized where the stream is
            /// [`deferred`](crate::FeatureStream::deferred)) concatenate to `run` on the whole
            /// signal.
            pub fn stream(&self, channels: usize) -> Result<crate::FeatureStream<'_>> {
                self.plan.stream(channels)
            }
            /// The async core of `run_spectrogram`.
            pub async fn run_spectrogram_async(
                &self,
                spec: &crate::transform::device_spectrogram::DeviceSpectrogram,
            ) -> Result<Array3<f32>> {
                self.plan.spectrogram_rows(spec).await
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("sr", &self.plan.cfg.sr)
                    .field("n_fft", &self.plan.cfg.stft.framing.n_fft)
                    .field("hop_length", &self.plan.cfg.stft.framing.hop)
                    .field("bands", &self.plan.cfg.n_bands())
                    .field("outputs", &self.plan.cfg.n_out())
                    .field("device", &self.plan.device)
                    .finish()
            }
        }
    };
}

pub(crate) use feature_plan_api;
