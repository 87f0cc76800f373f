// Philox4x32-10 counter-based generator (twin of src/augment/rng.rs).
