// IIR filtering of waveforms (second-order sections).
