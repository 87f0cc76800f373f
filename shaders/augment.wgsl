// Waveform augmentations. Composed with common/philox.wgsl (see src/gpu/shaders.rs).
