//! Audio augmentations: the audiomentations set, batched and seeded, identical on CPU and GPU.

pub mod batch;
pub(crate) mod ops;
pub mod pipeline;
pub mod rng;
pub(crate) mod spec;

pub use batch::Batch;
pub use pipeline::{Drawn, Pipeline};
pub use spec::Mode;
