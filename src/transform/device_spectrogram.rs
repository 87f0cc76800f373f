//! A spectrogram that stays where its plan ran, for the next plan.

use std::sync::Arc;

use ndarray::Array3;

use crate::error::Result;
use crate::gpu::stft::{read_pieces, Piece};
use crate::gpu::GpuContext;

/// Where the values are.
pub(crate) enum Resident {
    /// On the CPU device: an ordinary array.
    Host(Array3<f32>),
    /// In GPU memory, in one buffer per piece the run was split into.
    Gpu {
        ctx: Arc<GpuContext>,
        pieces: Vec<Piece>,
    },
}

/// `|X|^power` of an STFT plan's run, kept on the plan's device: in GPU memory on a GPU
/// device (no readback), an ordinary array on the CPU device. Made by
/// [`Stft::run_to_device`](crate::Stft::run_to_device); feature plans take it as their input
/// (`Mel::run_spectrogram`, `Mfcc::run_spectrogram`, `Chroma::run_spectrogram`), so that
/// several features of one STFT run without moving the spectrogram to the host and back.
///
/// Shape `(rows, n_freq, frames)` like [`Stft::run`](crate::Stft::run): rows are channels or
/// batch rows, and a row's frames past its own count are zero.
///
/// ```
/// use wavegpu::{Audio, Device, Spectrogram};
/// let device = Device::cpu(); // on Device::gpu()? the same code keeps it in GPU memory
/// let audio = Audio::from_mono((0..16_000).map(|i| (i as f32 * 0.3).sin()).collect(), 16_000);
/// let stft = Spectrogram::stft().n_fft(512).hop_length(160).power(2.0).build(&device)?;
/// let spec = stft.run_to_device(&audio)?;
/// assert_eq!(spec.shape(), (1, 257, 101));
/// let mel = Spectrogram::mel(16_000).n_fft(512).hop_length(160).n_mels(40).build(&device)?;
/// let mfcc = Spectrogram::mfcc(16_000).n_fft(512).hop_length(160).n_mels(40).build(&device)?;
/// let m = mel.run_spectrogram(&spec)?;     // librosa.feature.melspectrogram(S=spec)
/// let c = mfcc.run_spectrogram(&spec)?;    // mfcc of power_to_db(melspectrogram(S=spec))
/// assert_eq!((m.dim(), c.dim()), ((1, 40, 101), (1, 20, 101)));
/// // The same numbers as running the mel plan on the audio itself:
/// let direct = mel.run(&audio)?;
/// let err = (&m - &direct).mapv(|v| v * v).sum().sqrt() / direct.mapv(|v| v * v).sum().sqrt();
/// assert!(err < 1e-5);
/// let host = spec.to_array()?;             // read back when wanted
/// assert_eq!(host.dim(), spec.shape());
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub struct DeviceSpectrogram {
    pub(crate) data: Resident,
    pub(crate) shape: (usize, usize, usize),
    pub(crate) frames: Vec<usize>,
    pub(crate) sample_rate: u32,
    pub(crate) n_fft: usize,
    pub(crate) hop_length: usize,
    pub(crate) power: f32,
}

impl std::fmt::Debug for DeviceSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSpectrogram")
            .field("shape", &self.shape)
            .field("on_gpu", &self.is_on_gpu())
            .field("sample_rate", &self.sample_rate)
            .field("n_fft", &self.n_fft)
            .field("hop_length", &self.hop_length)
            .field("power", &self.power)
            .finish()
    }
}

impl DeviceSpectrogram {
    /// `(rows, n_freq, frames of the longest row)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        self.shape
    }
    /// Each row's own frame count.
    pub fn frames(&self) -> &[usize] {
        &self.frames
    }
    /// Sample rate of the audio it came from.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    /// FFT length of the plan that made it.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }
    /// Hop length of the plan that made it.
    pub fn hop_length(&self) -> usize {
        self.hop_length
    }
    /// The exponent of `|X|^power` it holds.
    pub fn power(&self) -> f32 {
        self.power
    }
    /// True when the values are in GPU memory.
    pub fn is_on_gpu(&self) -> bool {
        matches!(self.data, Resident::Gpu { .. })
    }
    /// The values on the host, `(rows, n_freq, frames)` (a readback on a GPU device).
    pub fn to_array(&self) -> Result<Array3<f32>> {
        pollster::block_on(self.to_array_async())
    }
    /// The async core of [`to_array`](Self::to_array).
    pub async fn to_array_async(&self) -> Result<Array3<f32>> {
        match &self.data {
            Resident::Host(a) => Ok(a.clone()),
            Resident::Gpu { ctx, pieces } => read_pieces(ctx, pieces, self.shape).await,
        }
    }
}
