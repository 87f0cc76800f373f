// FFT convolution of waveforms with impulse responses (overlap-save).
