#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod audio;
pub mod error;
pub mod io;

pub use audio::{Audio, AudioBatch};
pub use error::{Error, Result};
pub use wgpu;
