//! CPU IIR filtering (sosfilt): the reference and twin of the GPU kernel.
