//! Pure math shared by the GPU and CPU paths: windows, framing and padding rules, FFT
//! factorisation and twiddle tables, mel filterbanks, DCT, dB scaling.

pub mod chroma;
pub(crate) mod cqt;
pub mod db;
pub mod dct;
pub mod frames;
pub mod iir;
pub mod mel;
pub mod window;

pub(crate) mod fft;

pub use chroma::ChromaParams;
pub use db::{DbRef, DbScale};
pub use mel::{MelNorm, MelParams};
pub use window::Window;
