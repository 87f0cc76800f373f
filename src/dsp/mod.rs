//! Pure math shared by the GPU and CPU paths: windows, framing and padding rules,
//! FFT factorisation and twiddle tables.

pub mod window;

pub(crate) mod fft;
pub mod frames;

pub use window::Window;
