//! [`ChunkReader`]: read any [`Decoder`] into a caller's buffer, a block of frames at a time.

use ndarray::{s, ArrayView1, ArrayViewMut2};

use super::decoder::{Backend, Decoder, StreamInfo};
use super::source::Source;
use crate::error::{Error, Result};

/// Reads decoded audio into a buffer the caller owns, `frames` at a time, whatever the sizes
/// of the chunks the [`Decoder`] behind it lends.
///
/// [`read`](ChunkReader::read) fills `out` (planar: channel `c` in
/// `out[c * frames..(c + 1) * frames]`) and returns the number of frames written: `frames`,
/// fewer only at the end of the stream, then 0. Frames of a decoder chunk that do not fit are
/// kept for the next call in one carry buffer, which grows to the largest chunk the decoder
/// lends and is reused from then on: a steady-state `read` allocates nothing. Memory is
/// bounded by that chunk plus the decoder's own packet buffer, however long the stream.
///
/// - [`mono(true)`](ChunkReader::mono) mixes the channels down as [`load`](super::load)
///   does (their `f32` sum divided by the channel count, numpy's `mean`), bit for bit.
/// - [`seek`](ChunkReader::seek) and [`seek_seconds`](ChunkReader::seek_seconds) forward to
///   [`Decoder::seek`] and drop the carried frames.
/// - Samples come out as the decoder yields them: no resampling (use [`load`](super::load)
///   with [`LoadOptions::sample_rate`](super::LoadOptions::sample_rate), which resamples
///   whole files, or resample blocks yourself) and no NaN/Inf check (`load` has one).
///
/// ```
/// use wavegpu::io::{Backend, ChunkReader};
/// let mut reader = ChunkReader::open("tests/data/fixtures/stereo_48k.wav", Backend::Auto)?.mono(true);
/// assert_eq!((reader.spec().channels, reader.channels()), (2, 1));
///
/// let mut block = vec![0f32; 4096]; // 1 channel x 4096 frames
/// let mut total = 0;
/// loop {
///     let n = reader.read(&mut block, 4096)?;
///     if n == 0 {
///         break;
///     }
///     total += n; // block[..n] holds the next n frames
/// }
/// assert_eq!(Some(total as u64), reader.spec().frames);
///
/// // Seek to 0.25 s and read 100 frames (planar stereo this time: left, then right).
/// let mut reader = ChunkReader::open("tests/data/fixtures/stereo_48k.wav", Backend::Auto)?;
/// assert_eq!(reader.seek_seconds(0.25)?, 12_000);
/// let mut two = vec![0f32; 2 * 100];
/// assert_eq!(reader.read(&mut two, 100)?, 100);
/// assert_eq!(reader.position(), 12_100);
/// // Past the end: positioned at the end, and reads return 0.
/// assert_eq!(reader.seek(1 << 40)?, 24_000);
/// assert_eq!(reader.read(&mut two, 100)?, 0);
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub struct ChunkReader<'a> {
    decoder: Box<dyn Decoder + 'a>,
    mono: bool,
    /// Frames of the last decoder chunk not yet handed out: planar, `carry_frames` per channel.
    carry: Vec<f32>,
    carry_frames: usize,
    /// How many of the carried frames have been handed out.
    carry_pos: usize,
    /// The frame the next `read` starts at.
    position: u64,
    done: bool,
}

impl std::fmt::Debug for ChunkReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkReader")
            .field("spec", self.decoder.spec())
            .field("mono", &self.mono)
            .field("position", &self.position)
            .field("carried", &(self.carry_frames - self.carry_pos))
            .finish()
    }
}

impl<'a> ChunkReader<'a> {
    /// Reads from an opened decoder.
    pub fn new(decoder: Box<dyn Decoder + 'a>) -> Self {
        ChunkReader {
            decoder,
            mono: false,
            carry: Vec::new(),
            carry_frames: 0,
            carry_pos: 0,
            position: 0,
            done: false,
        }
    }

    /// Opens `source` with `backend` and reads from it (see [`Backend::open`]).
    pub fn open(source: impl Into<Source<'a>>, backend: Backend) -> Result<Self> {
        Ok(ChunkReader::new(backend.open(source)?))
    }

    /// Mix the channels down to one (`true`) or keep them (`false`, the default).
    pub fn mono(mut self, mono: bool) -> Self {
        self.mono = mono;
        self
    }

    /// The decoder's stream description (its channel count, not the reader's: see
    /// [`channels`](ChunkReader::channels)).
    pub fn spec(&self) -> &StreamInfo {
        self.decoder.spec()
    }

    /// Channels per frame that [`read`](ChunkReader::read) writes: 1 when mixing down, else the
    /// stream's.
    pub fn channels(&self) -> usize {
        if self.mono {
            1
        } else {
            self.decoder.spec().channels
        }
    }

    /// The stream's sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.decoder.spec().sample_rate
    }

    /// The frame the next [`read`](ChunkReader::read) starts at.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The decoder, for what the reader does not expose. Frames carried by the reader are lost.
    pub fn into_inner(self) -> Box<dyn Decoder + 'a> {
        self.decoder
    }

    /// Reads up to `frames` frames into `out`, planar (`channels() x frames`: channel `c` in
    /// `out[c * frames..]`). Returns the number of frames written, `frames` unless the stream
    /// ends first; 0 means the end (or `frames == 0`). Samples of `out` past the count written
    /// in each channel are left as they were.
    ///
    /// Errors: [`Error::InvalidParameter`] when `out.len() != channels() * frames`, and the
    /// decoder's errors ([`Error::Decode`] for a corrupt or truncated stream, ...).
    pub fn read(&mut self, out: &mut [f32], frames: usize) -> Result<usize> {
        let out_ch = self.channels();
        if out_ch.checked_mul(frames) != Some(out.len()) {
            return Err(Error::param(
                "out",
                format!(
                    "{} samples do not hold {out_ch} channels x {frames} frames",
                    out.len()
                ),
            ));
        }
        let view =
            ArrayViewMut2::from_shape((out_ch, frames), out).map_err(|e| Error::param("out", e))?;
        self.read_into(view)
    }

    /// Reads up to `out.ncols()` frames into `out` (`channels() x frames`, any memory layout:
    /// a window of a larger array, say), as [`read`](ChunkReader::read) does.
    ///
    /// Errors: [`Error::InvalidParameter`] when `out.nrows() != channels()`, and the decoder's.
    pub fn read_into(&mut self, mut out: ArrayViewMut2<'_, f32>) -> Result<usize> {
        let in_ch = self.decoder.spec().channels;
        let out_ch = self.channels();
        let frames = out.ncols();
        if in_ch == 0 {
            return Err(Error::Decode {
                input: self.decoder.spec().input.clone(),
                component: "chunk reader",
                reason: "the stream reports no channels".to_string(),
            });
        }
        if out.nrows() != out_ch {
            return Err(Error::param(
                "out",
                format!("{} rows for {out_ch} channels", out.nrows()),
            ));
        }
        let mono = self.mono;
        let mut written = 0;
        // Frames carried over from the last chunk first.
        if self.carry_pos < self.carry_frames {
            let n = (self.carry_frames - self.carry_pos).min(frames);
            let stride = self.carry_frames;
            let pos = self.carry_pos;
            let carry = &self.carry;
            copy_frames(
                |c| &carry[c * stride + pos..c * stride + pos + n],
                in_ch,
                mono,
                &mut out,
                0,
            );
            self.carry_pos += n;
            written = n;
        }
        while written < frames && !self.done {
            let Some(chunk) = self.decoder.next_chunk()? else {
                self.done = true;
                break;
            };
            let got = chunk.channels();
            if got != in_ch {
                return Err(Error::Decode {
                    input: self.decoder.spec().input.clone(),
                    component: "chunk reader",
                    reason: format!("a chunk has {got} channels, the stream {in_ch}"),
                });
            }
            let len = chunk.frames();
            let n = len.min(frames - written);
            copy_frames(|c| &chunk.channel(c)[..n], in_ch, mono, &mut out, written);
            written += n;
            if n < len {
                // Keep the rest of the chunk for the next call (`resize` allocates only when
                // this chunk is larger than every one before).
                let rest = len - n;
                self.carry.resize(in_ch * rest, 0.0);
                for c in 0..in_ch {
                    self.carry[c * rest..(c + 1) * rest].copy_from_slice(&chunk.channel(c)[n..]);
                }
                self.carry_frames = rest;
                self.carry_pos = 0;
            }
        }
        self.position += written as u64;
        Ok(written)
    }

    /// Moves to `frame` (see [`Decoder::seek`]): the next [`read`](ChunkReader::read) starts
    /// there. Returns the new position: `frame`, or the stream's length when `frame` is past
    /// the end. Decoders that cannot seek give [`Error::Unsupported`].
    pub fn seek(&mut self, frame: u64) -> Result<u64> {
        self.carry_frames = 0;
        self.carry_pos = 0;
        let at = self.decoder.seek(frame)?;
        self.position = at;
        self.done = false;
        Ok(at)
    }

    /// Moves to `seconds` into the stream: frame `round(seconds * sample_rate)`, as
    /// [`LoadOptions::offset`](super::LoadOptions::offset) counts. Returns the new position in
    /// frames. `seconds` must be finite and `>= 0` ([`Error::InvalidParameter`]).
    pub fn seek_seconds(&mut self, seconds: f64) -> Result<u64> {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(Error::param(
                "seconds",
                format!("must be a finite number of seconds >= 0, got {seconds}"),
            ));
        }
        let frame = (seconds * f64::from(self.sample_rate())).round();
        // `as` saturates: a time past u64's range is past the end anyway.
        self.seek(frame as u64)
    }
}

/// Writes `n` frames (the length of each `src(c)`) into `out` (`channels x frames`) at frame
/// `at`, mixing the `channels` down to one when `mono`.
fn copy_frames<'s>(
    src: impl Fn(usize) -> &'s [f32],
    channels: usize,
    mono: bool,
    out: &mut ArrayViewMut2<'_, f32>,
    at: usize,
) {
    let n = src(0).len();
    let span = s![at..at + n];
    if mono && channels > 1 {
        // numpy's mean over axis 0, as `load` does it: f32 sum over channels, then divide.
        let mut dst = out.row_mut(0);
        let mut dst = dst.slice_mut(span);
        dst.assign(&ArrayView1::from(src(0)));
        for c in 1..channels {
            dst.zip_mut_with(&ArrayView1::from(src(c)), |d, s| *d += *s);
        }
        let k = channels as f32;
        dst.mapv_inplace(|d| d / k);
    } else {
        for c in 0..channels {
            out.row_mut(c)
                .slice_mut(span)
                .assign(&ArrayView1::from(src(c)));
        }
    }
}
