//! Public plans: build once (pipelines, windows, twiddles, buffers), run many times.

pub mod chroma;
pub mod cqt;
pub mod device_spectrogram;
pub(crate) mod features;
pub mod istft;
pub mod mel;
pub mod spectral;
pub mod stft;
pub mod stream;

pub use chroma::{Chroma, ChromaBuilder};
pub use cqt::{ChromaCqt, ChromaCqtBuilder, Cqt, CqtBuilder};
pub use device_spectrogram::DeviceSpectrogram;
pub use istft::{Istft, IstftBuilder};
pub use mel::{Mel, MelBuilder, Mfcc, MfccBuilder};
pub use spectral::{
    Rms, RmsBuilder, Spectral, SpectralBuilder, SpectralFeature, ZeroCrossingRate,
    ZeroCrossingRateBuilder,
};
pub use stft::{Spectrogram, Stft, StftBuilder};
pub use stream::{FeatureStream, StftStream};
