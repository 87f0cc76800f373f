//! The [`Decoder`] trait and what it yields, plus backend selection.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView2;

use super::probe::ProbeInfo;
use super::source::Source;
use super::symphonia_backend::SymphoniaDecoder;
use crate::error::{Error, Result};

/// A streaming audio decoder: packets in, planar `f32` chunks out.
///
/// Shaped like symphonia's decode loop. Each [`next_chunk`](Decoder::next_chunk) call decodes
/// until it has audio and lends it as an [`AudioChunk`] that borrows the decoder's own buffer
/// (valid until the next call); `Ok(None)` is the end of the stream. Integer PCM is scaled to
/// `[-1, 1)` by dividing by `2^(bits-1)`, as soundfile (and so librosa) does.
///
/// The trait is object safe; backends are opened as `Box<dyn Decoder>` with
/// [`Backend::open`] or [`open_decoder`].
///
/// ```
/// use wavegpu::io::{open_decoder, Backend};
/// let mut dec = open_decoder("tests/data/fixtures/speech_16k.wav", Backend::Symphonia)?;
/// assert_eq!(dec.spec().sample_rate, 16_000);
/// let mut total = 0;
/// while let Some(chunk) = dec.next_chunk()? {
///     total += chunk.frames();
/// }
/// assert_eq!(Some(total as u64), dec.spec().frames);
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub trait Decoder: Send {
    /// What the stream holds, as known after opening (read from the headers).
    fn spec(&self) -> &StreamInfo;

    /// Decodes the next chunk of audio, or returns `Ok(None)` at the end of the stream.
    ///
    /// Packets that fail to decode with a recoverable error are skipped (as in symphonia's
    /// examples). A stream that ends before the number of frames its header announces, or in
    /// which no packet decodes at all, gives [`Error::Decode`].
    fn next_chunk(&mut self) -> Result<Option<AudioChunk<'_>>>;

    /// Moves the stream so that the next chunk starts exactly at `frame` (samples per channel
    /// from the start of the stream as this decoder yields it, after any encoder delay it
    /// trims): the backend seeks to the nearest point at or before it and discards what lies
    /// in between. Returns the frame the next chunk starts at: `frame`, or the stream's
    /// length when `frame` is past the end. Decoders that cannot seek return
    /// [`Error::Unsupported`].
    fn seek(&mut self, frame: u64) -> Result<u64> {
        let _ = frame;
        Err(Error::Unsupported {
            input: self.spec().input.clone(),
            component: "seek",
            reason: "this decoder cannot seek".to_string(),
        })
    }
}

/// A block of decoded audio lent by a [`Decoder`]: `channels x frames` planar `f32`.
#[derive(Debug, Clone, Copy)]
pub struct AudioChunk<'a> {
    data: &'a [f32],
    channels: usize,
    frames: usize,
}

impl<'a> AudioChunk<'a> {
    /// Wraps planar samples: channel `c` is `data[c * frames..(c + 1) * frames]`.
    ///
    /// Fails with [`Error::InvalidParameter`] when `data.len() != channels * frames` or
    /// `channels == 0`.
    pub fn new(data: &'a [f32], channels: usize, frames: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::param(
                "channels",
                "an audio chunk needs at least one channel",
            ));
        }
        if channels.checked_mul(frames) != Some(data.len()) {
            return Err(Error::param(
                "data",
                format!(
                    "{} samples do not make {channels} channels x {frames} frames",
                    data.len()
                ),
            ));
        }
        Ok(AudioChunk {
            data,
            channels,
            frames,
        })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// True when the chunk holds no frames.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// One channel's samples.
    ///
    /// # Panics
    /// If `c >= self.channels()`.
    pub fn channel(&self, c: usize) -> &'a [f32] {
        assert!(c < self.channels, "channel {c} of {}", self.channels);
        &self.data[c * self.frames..(c + 1) * self.frames]
    }

    /// All samples, planar: channel 0's frames, then channel 1's, ...
    pub fn planar(&self) -> &'a [f32] {
        self.data
    }

    /// The chunk as a `(channels, frames)` array view.
    pub fn as_array(&self) -> ArrayView2<'a, f32> {
        ArrayView2::from_shape((self.channels, self.frames), self.data)
            .expect("length checked in AudioChunk::new")
    }
}

/// What a decoder knows about its stream after reading the headers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// The input's name (path or the name given to in-memory bytes).
    pub input: String,
    /// The backend decoding it: `"symphonia"` or `"ffmpeg"`.
    pub backend: &'static str,
    /// Container format, e.g. `"wav"`, `"flac"`, `"mp3"`, `"ogg"`, `"mp4"`.
    pub container: String,
    /// Codec, using FFmpeg's names where one exists: `"pcm_s16le"`, `"flac"`, `"mp3"`,
    /// `"vorbis"`, `"aac"`, `"opus"`, ...
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: usize,
    /// Frames per channel the stream will yield, when the headers say (after removing encoder
    /// delay and padding the backend trims).
    pub frames: Option<u64>,
    /// Bits per sample of the stored PCM, for PCM-like codecs.
    pub bits_per_sample: Option<u32>,
}

impl StreamInfo {
    /// A stream description with the required fields; `frames` and `bits_per_sample` unknown.
    pub fn new(
        input: impl Into<String>,
        backend: &'static str,
        container: impl Into<String>,
        codec: impl Into<String>,
        sample_rate: u32,
        channels: usize,
    ) -> Self {
        StreamInfo {
            input: input.into(),
            backend,
            container: container.into(),
            codec: codec.into(),
            sample_rate,
            channels,
            frames: None,
            bits_per_sample: None,
        }
    }

    /// Duration in seconds, when the frame count is known.
    pub fn duration(&self) -> Option<f64> {
        match (self.frames, self.sample_rate) {
            (Some(n), sr) if sr > 0 => Some(n as f64 / sr as f64),
            _ => None,
        }
    }
}

/// A decoding backend.
///
/// Parsed from the CLI's `--decoder` value with [`str::parse`]:
/// ```
/// use wavegpu::io::Backend;
/// assert_eq!("symphonia".parse::<Backend>().unwrap(), Backend::Symphonia);
/// assert_eq!("auto".parse::<Backend>().unwrap(), Backend::Auto);
/// assert_eq!(Backend::default(), Backend::Auto);
/// assert!("gstreamer".parse::<Backend>().is_err());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// Symphonia first; FFmpeg when symphonia does not support the input (an unknown
    /// container, or a codec it has no decoder for, such as Opus) and this build has the
    /// `ffmpeg` feature. Any other symphonia error (a corrupt or truncated file) is returned
    /// as it is, without trying FFmpeg. [`StreamInfo::backend`] says which one decodes.
    ///
    /// Paths and in-memory bytes can be opened twice; a [`Source::reader`] cannot (symphonia
    /// has consumed part of it when it gives up), so for readers `Auto` is symphonia alone.
    #[default]
    Auto,
    /// Pure Rust, always available: WAV (PCM/float/ADPCM), AIFF, CAF, FLAC, MP1/2/3,
    /// Ogg Vorbis, AAC-LC (MP4/M4A/ADTS), ALAC, MKV/WebM containers. No Opus.
    Symphonia,
    /// FFmpeg through `ffmpeg-next` (cargo feature `ffmpeg`): everything FFmpeg decodes,
    /// Opus included.
    Ffmpeg,
}

impl Backend {
    /// The backend's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Symphonia => "symphonia",
            Backend::Ffmpeg => "ffmpeg",
        }
    }

    /// Whether this build can use the backend (`Auto` always: it has symphonia).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Auto => true,
            Backend::Symphonia => true,
            Backend::Ffmpeg => cfg!(feature = "ffmpeg"),
        }
    }

    /// Opens `source` for streaming decode with this backend.
    pub fn open<'a>(self, source: impl Into<Source<'a>>) -> Result<Box<dyn Decoder + 'a>> {
        let source = source.into().readable()?;
        match self {
            Backend::Auto => auto(
                source,
                |s| Backend::Symphonia.open(s),
                |s| Backend::Ffmpeg.open(s),
            ),
            Backend::Symphonia => Ok(Box::new(SymphoniaDecoder::open(source)?)),
            #[cfg(feature = "ffmpeg")]
            Backend::Ffmpeg => Ok(Box::new(super::ffmpeg_backend::open(source)?)),
            #[cfg(not(feature = "ffmpeg"))]
            Backend::Ffmpeg => Err(ffmpeg_missing(source.name())),
        }
    }

    /// Reads `source`'s headers with this backend (see [`crate::io::probe`]).
    pub fn probe<'a>(self, source: impl Into<Source<'a>>) -> Result<ProbeInfo> {
        let source = source.into().readable()?;
        match self {
            Backend::Auto => auto(
                source,
                |s| Backend::Symphonia.probe(s),
                |s| Backend::Ffmpeg.probe(s),
            ),
            Backend::Symphonia => super::symphonia_backend::probe(source),
            #[cfg(feature = "ffmpeg")]
            Backend::Ffmpeg => super::ffmpeg_backend::probe(source),
            #[cfg(not(feature = "ffmpeg"))]
            Backend::Ffmpeg => Err(ffmpeg_missing(source.name())),
        }
    }
}

/// [`Backend::Auto`]: symphonia, then FFmpeg when symphonia reports the input unsupported,
/// FFmpeg is built in and the source can be opened a second time.
fn auto<'a, T>(
    source: Source<'a>,
    symphonia: impl FnOnce(Source<'a>) -> Result<T>,
    ffmpeg: impl FnOnce(Source<'a>) -> Result<T>,
) -> Result<T> {
    let second = if Backend::Ffmpeg.is_available() {
        source.try_clone()
    } else {
        None
    };
    match (symphonia(source), second) {
        (
            Err(Error::Unsupported {
                input,
                component,
                reason,
            }),
            Some(again),
        ) => ffmpeg(again).map_err(|e| match e {
            // Neither knows the input: say what both said.
            Error::Unsupported { reason: r2, .. } => Error::Unsupported {
                input,
                component: "auto decoder",
                reason: format!("symphonia ({component}): {reason}; ffmpeg: {r2}"),
            },
            e => e,
        }),
        (result, _) => result,
    }
}

#[cfg(not(feature = "ffmpeg"))]
fn ffmpeg_missing(input: &str) -> Error {
    Error::Unsupported {
        input: input.to_string(),
        component: "ffmpeg backend",
        reason: "this build of wavegpu has no FFmpeg decoder: it needs the cargo feature \
                 `ffmpeg` (not enabled); use the symphonia decoder instead"
            .to_string(),
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "symphonia" => Ok(Backend::Symphonia),
            "ffmpeg" => Ok(Backend::Ffmpeg),
            other => Err(Error::param(
                "decoder",
                format!("unknown decoder `{other}` (expected `auto`, `symphonia` or `ffmpeg`)"),
            )),
        }
    }
}

/// Opens `source` for streaming decode with `backend`; same as [`Backend::open`].
pub fn open_decoder<'a>(
    source: impl Into<Source<'a>>,
    backend: Backend,
) -> Result<Box<dyn Decoder + 'a>> {
    backend.open(source)
}
