#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod audio;
pub mod augment;
mod cpu;
pub mod device;
pub mod dsp;
pub mod error;
mod gpu;
pub mod io;
pub mod transform;

pub use audio::{Audio, AudioBatch};
pub use device::{AdapterDesc, Device, PassTiming};
pub use dsp::frames::PadMode;
pub use dsp::window::Window;
pub use dsp::{ChromaParams, DbRef, DbScale, MelNorm};
pub use error::{Error, GpuErrorKind, Result};
pub use transform::{
    Chroma, ChromaBuilder, ChromaCqt, ChromaCqtBuilder, Cqt, CqtBuilder, DeviceSpectrogram,
    FeatureStream, Istft, IstftBuilder, Mel, MelBuilder, Mfcc, MfccBuilder, Rms, RmsBuilder,
    Spectral, SpectralBuilder, SpectralFeature, Spectrogram, Stft, StftBuilder, StftStream,
    ZeroCrossingRate, ZeroCrossingRateBuilder,
};
pub use wgpu;
