//! GPU IIR filtering: second-order sections as a block-state recursion.
