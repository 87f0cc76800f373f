//! GPU augmentation kernels.
