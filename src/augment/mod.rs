//! Audio augmentations: the audiomentations set, batched and seeded, identical on CPU and GPU.
