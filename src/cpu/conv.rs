//! CPU FFT convolution of waveforms with impulse responses: the twin of the GPU kernel.
