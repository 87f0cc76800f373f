//! Audio input and output.
//!
//! - [`load`] decodes a file or in-memory bytes into an [`Audio`](crate::Audio), like
//!   `librosa.load`: mono mixdown, optional resampling ([`resample`]), offset and duration.
//! - [`probe`] reads container, codec, rate, channels and length from the headers only.
//! - [`Decoder`] is the streaming interface behind both: packets in, planar `f32`
//!   [`AudioChunk`]s out. [`Backend::Symphonia`] (pure Rust) is always built in;
//!   [`Backend::Ffmpeg`] needs the `ffmpeg` cargo feature; [`Backend::Auto`] (the default)
//!   tries symphonia, then FFmpeg for what symphonia does not support.
//! - [`ChunkReader`] reads any decoder into a caller's buffer, a block of frames at a time,
//!   with seeking and optional mono mixdown, in memory bounded by one decoded chunk.
//! - [`Source`] says where the encoded audio is: a path, bytes, or any `Read + Seek`.
//! - [`write_wav`] and [`write_npy`] save results.
//! - [`Encoder`] is the streaming interface for writing audio: planar `f32` chunks in, a file
//!   out. [`WavEncoder`] (pure Rust) is always built in; [`FfmpegEncoder`] (FLAC, MP3, Opus,
//!   AAC, Vorbis, ... through FFmpeg) needs the `ffmpeg` cargo feature. [`encode_audio`]
//!   writes a whole [`Audio`](crate::Audio), choosing the format from the extension.
//!
//! Formats decoded by the symphonia backend: WAV (integer PCM 8/16/24/32-bit, float 32/64,
//! A-law, µ-law, ADPCM), AIFF, CAF, FLAC, MP1/MP2/MP3, Ogg Vorbis, AAC-LC in MP4/M4A or
//! ADTS, ALAC, and the Matroska/WebM container. Not Opus (symphonia has no Opus decoder:
//! [`Error::Unsupported`](crate::Error::Unsupported)).

mod decoder;
mod encode;
#[cfg(feature = "ffmpeg")]
mod ffmpeg_backend;
mod load;
mod mp4;
mod npy_stream;
mod probe;
mod resample;
mod source;
mod stream;
mod symphonia_backend;
mod write;

pub use decoder::{open_decoder, AudioChunk, Backend, Decoder, StreamInfo};
pub use encode::{
    encode_audio, open_encoder, EncodeOptions, Encoder, EncoderInfo, FfmpegEncoder, SampleFormat,
    WavEncoder,
};
#[cfg(feature = "ffmpeg")]
pub use ffmpeg_backend::{FfmpegDecoder, FfmpegOptions};
pub use load::{load, LoadOptions};
pub use npy_stream::NpyStreamWriter;
pub use probe::{probe, ProbeInfo};
pub use resample::{resample, ResampleStream};
pub use source::Source;
pub use stream::ChunkReader;
pub use symphonia_backend::SymphoniaDecoder;
pub use write::{write_npy, write_wav};
