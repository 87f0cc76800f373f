//! The CPU twins of the GPU kernels, on realfft. Same arguments, same results; they are
//! what `Device::Cpu` runs and the oracle of the GPU tests.

pub(crate) mod conv;
pub(crate) mod cqt;
pub(crate) mod features;
pub(crate) mod iir;
pub(crate) mod spectral;
pub(crate) mod stft;
