//! GPU FFT convolution of waveforms with impulse responses.
