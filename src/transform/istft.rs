//! The inverse STFT plan (librosa.istft semantics).

use ndarray::{Array2, ArrayView3, Axis};
use num_complex::Complex32;

use crate::cpu::stft::CpuIstft;
use crate::device::Device;
use crate::dsp::frames::Framing;
use crate::dsp::window::Window;
use crate::error::{Error, Result};
use crate::gpu::istft::GpuIstft;
use crate::transform::stft::StftBuilder;

/// Builder of an [`Istft`] plan; librosa.istft's parameters and defaults.
///
/// ```
/// use wavegpu::{Audio, Device, Spectrogram};
/// let dev = Device::cpu();
/// let x: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.01).sin()).collect();
/// let stft = Spectrogram::stft().n_fft(512).hop_length(128).build(&dev)?;
/// let spec = stft.run_complex(&Audio::from_mono(x.clone(), 8000))?;
/// let istft = Spectrogram::istft().n_fft(512).hop_length(128).build(&dev)?;
/// let y = istft.run(spec.view(), Some(x.len()))?;          // (rows, samples)
/// let err = x.iter().zip(y.row(0)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
/// assert!(err < 1e-4);
/// # Ok::<(), wavegpu::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct IstftBuilder {
    /// The analysis parameters being inverted (only n_fft, hop, window and center matter).
    stft: StftBuilder,
}

impl crate::transform::stft::Spectrogram {
    /// An inverse STFT, librosa.istft's defaults (n_fft 2048, hop win_length/4, Hann, center).
    pub fn istft() -> IstftBuilder {
        IstftBuilder::default()
    }
}

impl IstftBuilder {
    /// FFT length of the STFT being inverted (its bins are `n_fft / 2 + 1`).
    pub fn n_fft(self, n: usize) -> Self {
        IstftBuilder {
            stft: self.stft.n_fft(n),
        }
    }
    /// Hop length. Default `win_length / 4`, at least 1 (librosa refuses the 0 that win_length < 4 would give).
    pub fn hop_length(self, n: usize) -> Self {
        IstftBuilder {
            stft: self.stft.hop_length(n),
        }
    }
    /// Window length. Default n_fft.
    pub fn win_length(self, n: usize) -> Self {
        IstftBuilder {
            stft: self.stft.win_length(n),
        }
    }
    /// Synthesis window (the analysis window of the STFT). Default Hann.
    pub fn window(self, w: Window) -> Self {
        IstftBuilder {
            stft: self.stft.window(w),
        }
    }
    /// Whether the STFT was centred. Default true.
    pub fn center(self, c: bool) -> Self {
        IstftBuilder {
            stft: self.stft.center(c),
        }
    }

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Istft> {
        let cfg = self.stft.resolve()?;
        let cpu = CpuIstft::new(cfg.framing, &cfg.window);
        let gpu = match device.gpu_context() {
            Some(ctx) => Some(GpuIstft::new(ctx.clone(), &cfg)?),
            None => None,
        };
        Ok(Istft {
            framing: cfg.framing,
            window: cfg.window,
            cpu,
            gpu,
        })
    }
}

/// A built inverse STFT plan (`Send + Sync`).
pub struct Istft {
    framing: Framing,
    window: Vec<f64>,
    cpu: CpuIstft,
    gpu: Option<GpuIstft>,
}

impl std::fmt::Debug for Istft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Istft")
            .field("framing", &self.framing)
            .field("gpu", &self.gpu.is_some())
            .finish()
    }
}

/// Frames used, the full overlap-add length, and the output length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IstftShape {
    pub n_frames: usize,
    pub full: usize,
    pub out_len: usize,
}

impl Istft {
    /// The output length for an STFT of `frames` frames and an optional target `length`.
    pub fn output_len(&self, frames: usize, length: Option<usize>) -> Result<usize> {
        Ok(self.shape(frames, length)?.out_len)
    }

    pub(crate) fn shape(&self, frames: usize, length: Option<usize>) -> Result<IstftShape> {
        let n = self.framing.n_fft;
        let hop = self.framing.hop;
        if frames == 0 {
            return Err(Error::param("stft_matrix", "has no frames"));
        }
        let n_frames = match length {
            Some(0) => return Err(Error::param("length", "must be >= 1")),
            Some(l) => {
                let padded = if self.framing.center {
                    l + 2 * (n / 2)
                } else {
                    l
                };
                frames.min(padded.div_ceil(hop))
            }
            None => frames,
        };
        let full = n + hop * (n_frames - 1);
        let out_len = match length {
            Some(l) => l,
            None if self.framing.center => full.saturating_sub(2 * (n / 2)),
            None => full,
        };
        Ok(IstftShape {
            n_frames,
            full,
            out_len,
        })
    }

    /// Inverts `(rows, n_fft/2+1, frames)` complex STFTs into `(rows, samples)`. With `length`,
    /// the output is trimmed or zero-padded to exactly that many samples (librosa's `length`).
    pub fn run(
        &self,
        stft: ArrayView3<'_, Complex32>,
        length: Option<usize>,
    ) -> Result<Array2<f32>> {
        let nf = self.framing.n_fft / 2 + 1;
        if stft.len_of(Axis(1)) != nf {
            return Err(Error::param(
                "stft_matrix",
                format!(
                    "has {} bins, n_fft = {} needs {nf}",
                    stft.len_of(Axis(1)),
                    self.framing.n_fft
                ),
            ));
        }
        if stft.len_of(Axis(0)) == 0 {
            return Err(Error::param("stft_matrix", "has no rows"));
        }
        if let Some(i) = stft
            .iter()
            .position(|c| !c.re.is_finite() || !c.im.is_finite())
        {
            return Err(Error::param(
                "stft_matrix",
                format!("element {i} is not finite"),
            ));
        }
        let shape = self.shape(stft.len_of(Axis(2)), length)?;
        crate::error::check_alloc(
            "stft_matrix",
            "the iSTFT",
            &[stft.len_of(Axis(0)), shape.out_len.max(shape.full)],
            crate::error::F32,
        )?;
        match &self.gpu {
            Some(g) => pollster::block_on(g.run(stft, shape)),
            None => {
                let wsum = self.window_sumsquare(shape.n_frames, shape.full);
                Ok(self.cpu.inverse(stft, shape.n_frames, shape.out_len, &wsum))
            }
        }
    }

    fn window_sumsquare(&self, n_frames: usize, full: usize) -> Vec<f64> {
        let mut w = vec![0.0; full];
        for f in 0..n_frames {
            let off = f * self.framing.hop;
            for (j, x) in self.window.iter().enumerate() {
                w[off + j] += x * x;
            }
        }
        w
    }
}
