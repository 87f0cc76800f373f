//! Audio input and output.
