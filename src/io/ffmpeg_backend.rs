//! The FFmpeg decoding backend (cargo feature `ffmpeg`), on ffmpeg-next 9 and FFmpeg >= 5.1.
//!
//! # How input reaches FFmpeg
//!
//! Every source, a path included, is read by Rust and handed to FFmpeg through a custom
//! `AVIOContext` whose read/seek callbacks call a boxed `Read + Seek` stream: a `File`, a
//! `Cursor` over in-memory bytes, or a caller's reader. So a path is never parsed as an FFmpeg
//! URL (`http:`, `pipe:`, `concat:` ... are plain file names here), I/O errors come back as the
//! `std::io::Error` they were, and the optional timeout is enforced in one place. FFmpeg's
//! `io_open` callback is replaced by one that refuses, so no demuxer (HLS, concat, MOV data
//! references ...) can make FFmpeg open another file or URL named inside the input.
//!
//! # The unsafe parts and why they are sound
//!
//! - [`IoBox`] owns the callbacks' state (`IoState`: the stream, the timeout, the last I/O
//!   error) through a raw pointer made by `Box::into_raw` and freed in its `Drop`. The pointer
//!   is the `opaque` of every `AVIOContext` and of the format context's interrupt callback.
//!   [`FfmpegDecoder`] declares its FFmpeg state (`core`) before the `IoBox`, so every
//!   `AVIOContext` and format context is gone before the state is freed. FFmpeg calls back
//!   only synchronously, from inside a call this module makes through `&mut FfmpegDecoder`;
//!   Rust code touches the state only between such calls (never holding a reference across
//!   one), so the callbacks' `&mut IoState` is never aliased.
//! - [`Avio`] owns one `AVIOContext` and its buffer (allocated with `av_malloc`; freed, as the
//!   API requires, through the context's current `buffer` field, which FFmpeg may have
//!   replaced) and is dropped after the format context that uses it ([`Demuxer`] field order;
//!   the context is opened with `AVFMT_FLAG_CUSTOM_IO`, so closing it leaves the `AVIOContext`
//!   alone).
//! - The read callback never lends FFmpeg's (possibly uninitialised) buffer to the Rust
//!   reader: it reads into an initialised scratch `Vec` and copies what was read. Panics in a
//!   reader are caught and become I/O errors instead of unwinding into C.
//! - Decoded frames are read through ffmpeg-next's safe `frame::Audio::data`, after checking
//!   the plane sizes against the frame's sample count, format and channel count.
//! - The resampler is called with pointers into initialised `Vec<f32>`s sized by
//!   `swr_get_out_samples`, which bounds what `swr_convert` writes.
//! - FFmpeg's log goes to the `log` crate (see [`init`]): the callback formats each message
//!   with `av_log_format_line2` into a fixed stack buffer, passing FFmpeg's own `va_list`
//!   through untouched, and never unwinds into C.
//!
//! # Logging
//!
//! FFmpeg prints warnings about damaged input to stderr by default. The first FFmpeg call
//! wavegpu makes (decoding, probing or encoding) installs a log callback for the whole
//! process that forwards FFmpeg's messages to the [`log`](https://docs.rs/log) crate under the
//! target `ffmpeg` (FFmpeg's errors as `warn`, since wavegpu reports the failures that matter
//! as [`Error`] values; warnings as `warn`, info as `info`, verbose and debug as `debug` and
//! `trace`): set a logger to see them, none is set by default. On targets whose `va_list` this
//! module does not know (other than x86-64 Linux and macOS), FFmpeg's log is set to quiet.

use std::ffi::{c_char, c_int, c_void, CString};
use std::fs::File;
use std::io::{Cursor, ErrorKind, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::time::{Duration, Instant};

use ff::ffi;
use ff::format::sample::Type as SampleType;
use ff::format::Sample;
use ffmpeg_next as ff;

use super::decoder::{AudioChunk, Decoder, StreamInfo};
use super::probe::ProbeInfo;
use super::source::{Source, SourceKind};
use crate::error::{Error, Result};

const BACKEND: &str = "ffmpeg";
/// Size of the `AVIOContext` buffer (FFmpeg's own default is 32 KiB).
const AVIO_BUFFER: usize = 64 * 1024;
/// Consecutive "try again" answers from FFmpeg tolerated before giving up (never spin).
const MAX_STALLS: u32 = 10_000;
/// Frames whose timestamp may be missing right after a seek before falling back to decoding
/// from the start.
const MAX_UNTIMED: u32 = 64;

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

/// How an [`FfmpegDecoder`] shapes what it decodes; a builder.
///
/// The stages run in this order: decode, then the FFmpeg [`filter`](FfmpegOptions::filter)
/// graph (if any), then conversion to `f32` (integer PCM divided by `2^(bits-1)`, as
/// soundfile does), then [`mono`](FfmpegOptions::mono) (the channel mean, as
/// `librosa.to_mono`), then [`sample_rate`](FfmpegOptions::sample_rate) conversion with
/// FFmpeg's swresample.
///
/// ```no_run
/// use wavegpu::io::{FfmpegDecoder, Decoder};
/// let dec = FfmpegDecoder::options()
///     .mono()
///     .sample_rate(16_000)
///     .filter("highpass=f=200,volume=0.5")
///     .open("speech.opus")?;
/// assert_eq!(dec.spec().sample_rate, 16_000);
/// assert_eq!(dec.spec().channels, 1);
/// # Ok::<(), wavegpu::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FfmpegOptions {
    sample_rate: Option<u32>,
    mono: bool,
    filter: Option<String>,
    timeout: Option<Duration>,
    fast_seek: bool,
}

impl FfmpegOptions {
    /// The defaults: the stream's own rate and channels, no filter, no timeout.
    pub fn new() -> Self {
        FfmpegOptions::default()
    }

    /// Resamples to `hz` with swresample (FFmpeg's default resampler: the same filter as the
    /// `ffmpeg` command line's `-ar`), channel by channel. A stream already at `hz` is left
    /// untouched. Not bit-compatible with librosa's resamplers (soxr_hq by default); use
    /// [`crate::io::load`] for that.
    pub fn sample_rate(mut self, hz: u32) -> Self {
        self.sample_rate = Some(hz);
        self
    }

    /// Mixes down to one channel by averaging the channels (`sum / channels` in `f32`, as
    /// `librosa.to_mono` / numpy's mean), not with FFmpeg's downmix matrix (which weighs
    /// centre and surround channels differently). For FFmpeg's own downmix, use a filter such
    /// as `"aresample=ocl=mono"` or `"pan=mono|c0=0.5*c0+0.5*c1"` instead.
    pub fn mono(mut self) -> Self {
        self.mono = true;
        self
    }

    /// Runs the decoded audio through an FFmpeg audio filter graph (`abuffer -> description ->
    /// abuffersink`), as torio's `filter_desc` does: for example `"volume=0.5"`,
    /// `"highpass=f=200,lowpass=f=3000"` or `"atrim=start=1:end=2"`. The graph sees the
    /// decoder's own sample format, rate and channel layout; what it outputs (any format,
    /// rate or layout) is what the later stages get. With a filter, the stream's length is not
    /// known in advance ([`StreamInfo::frames`] is `None`). A description FFmpeg cannot build
    /// gives [`Error::InvalidParameter`] when the decoder is opened.
    pub fn filter(mut self, description: impl Into<String>) -> Self {
        self.filter = Some(description.into());
        self
    }

    /// Fails any single call (opening, [`Decoder::next_chunk`], [`Decoder::seek`]) that is
    /// still waiting for input after `limit`, with [`Error::Decode`] saying it timed out. The
    /// limit is checked whenever FFmpeg reads or seeks the input and through FFmpeg's
    /// interrupt callback, so it bounds stalls in slow readers; a reader blocked inside one
    /// `read` call is only noticed when that call returns. No limit by default (files and
    /// memory cannot stall).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Lets [`Decoder::seek`] use the container's seek for AAC too. AAC decoders fill PNS
    /// (perceptual noise substitution) bands from a noise generator that runs through the
    /// whole stream and that a seek cannot rewind, so by default an AAC seek decodes up to the
    /// target (from the start when seeking backwards) and yields exactly the samples of a
    /// decode from the start. With `fast_seek`, the position is still exact but PNS bands hold
    /// different noise (measured: 1.8e-3 max abs difference on speech). Other codecs always
    /// seek by the container, bit-exactly.
    pub fn fast_seek(mut self, on: bool) -> Self {
        self.fast_seek = on;
        self
    }

    /// The target sample rate, if set.
    pub fn target_sample_rate(&self) -> Option<u32> {
        self.sample_rate
    }

    /// Whether the channels are averaged to one.
    pub fn is_mono(&self) -> bool {
        self.mono
    }

    /// The filter description, if set.
    pub fn filter_description(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// Opens `source` with these options; see [`FfmpegDecoder::open`].
    pub fn open<'a>(&self, source: impl Into<Source<'a>>) -> Result<FfmpegDecoder<'a>> {
        FfmpegDecoder::open_with(source, self)
    }

    fn validate(&self) -> Result<()> {
        if self.sample_rate == Some(0) {
            return Err(Error::param("sample_rate", "must be positive"));
        }
        if let Some(f) = &self.filter {
            if f.trim().is_empty() {
                return Err(Error::param("filter", "the filter description is empty"));
            }
            if f.contains('\0') {
                return Err(Error::param(
                    "filter",
                    "the filter description contains a NUL character",
                ));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Custom I/O: the callbacks' state and the AVIOContext that calls them
// ---------------------------------------------------------------------------------------

/// A byte stream FFmpeg can read and seek.
trait Stream: Read + Seek + Send {}
impl<T: Read + Seek + Send + ?Sized> Stream for T {}

/// What the AVIO and interrupt callbacks reach through their `opaque` pointer.
struct IoState<'a> {
    stream: Box<dyn Stream + 'a>,
    /// The stream's position when opened: FFmpeg's offset 0.
    base: u64,
    /// The read callback's staging buffer (see the module notes).
    scratch: Vec<u8>,
    deadline: Option<Instant>,
    timed_out: bool,
    /// The I/O error a read met: FFmpeg makes read errors sticky (no more input after one),
    /// so it stands until the input is opened again, and is reported instead of FFmpeg's
    /// generic code.
    error: Option<std::io::Error>,
    /// The I/O error of the last failed seek in the current operation (FFmpeg may recover
    /// from those, so it is forgotten when the next operation begins).
    seek_error: Option<std::io::Error>,
    /// The container the first bytes announce, if any (for error messages).
    sniffed: Option<&'static str>,
    /// A RIFF WAV header's own length: (data chunk bytes, block align), when it states one.
    riff: Option<(u64, u64)>,
}

impl IoState<'_> {
    /// Starts one operation: clears the previous one's error and arms the timeout.
    fn begin(&mut self, timeout: Option<Duration>) {
        self.seek_error = None;
        self.timed_out = false;
        self.deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    }

    fn expired(&mut self) -> bool {
        if !self.timed_out {
            if let Some(d) = self.deadline {
                self.timed_out = Instant::now() >= d;
            }
        }
        self.timed_out
    }

    fn fail(&mut self, e: std::io::Error) -> c_int {
        let code = averror_of(&e);
        self.error = Some(e);
        code
    }

    /// Takes the I/O error behind a failure, if a callback met one.
    fn take_error(&mut self) -> Option<std::io::Error> {
        self.error.take().or_else(|| self.seek_error.take())
    }

    fn has_io_cause(&self) -> bool {
        self.error.is_some() || self.seek_error.is_some() || self.timed_out
    }

    /// Reads up to `size` bytes (at most [`MAX_READ`]: FFmpeg takes short reads, and a
    /// corrupt header can make it ask for a gigabyte at once) into `scratch`; the byte count,
    /// or an AVERROR code.
    fn read(&mut self, size: usize) -> std::result::Result<usize, c_int> {
        let size = size.min(MAX_READ);
        if self.scratch.len() < size {
            self.scratch.resize(size, 0);
        }
        let mut attempts = 0u32;
        loop {
            if self.expired() {
                return Err(ffi::AVERROR_EXIT);
            }
            let (stream, scratch) = (&mut self.stream, &mut self.scratch[..size]);
            let result = guard(|| stream.read(scratch));
            return match result {
                Ok(n) if n > size => Err(self.fail(std::io::Error::other(format!(
                    "the reader claims {n} bytes read into a {size}-byte buffer"
                )))),
                Ok(n) => Ok(n),
                Err(e) if e.kind() == ErrorKind::Interrupted && attempts < MAX_STALLS => {
                    attempts += 1;
                    continue;
                }
                Err(e) => Err(self.fail(e)),
            };
        }
    }

    /// FFmpeg's seek callback: `whence` is SEEK_SET/CUR/END or AVSEEK_SIZE.
    fn seek(&mut self, offset: i64, whence: c_int) -> i64 {
        if self.expired() {
            return ffi::AVERROR_EXIT as i64;
        }
        let whence = whence & !ffi::AVSEEK_FORCE;
        let base = self.base;
        let stream = &mut self.stream;
        if whence == ffi::AVSEEK_SIZE {
            // Not fatal for FFmpeg (it then reads without knowing the size): no error kept.
            let size = guard(|| {
                let here = stream.stream_position()?;
                let end = stream.seek(SeekFrom::End(0))?;
                stream.seek(SeekFrom::Start(here))?;
                Ok(end.saturating_sub(base))
            });
            return match size {
                Ok(n) => i64::try_from(n).unwrap_or(ffi::AVERROR(ffi::EINVAL) as i64),
                Err(_) => ffi::AVERROR(ffi::EIO) as i64,
            };
        }
        let to = match whence {
            ffi::SEEK_SET if offset >= 0 => SeekFrom::Start(base.saturating_add(offset as u64)),
            ffi::SEEK_CUR => SeekFrom::Current(offset),
            ffi::SEEK_END => SeekFrom::End(offset),
            _ => return ffi::AVERROR(ffi::EINVAL) as i64,
        };
        let result = guard(|| stream.seek(to));
        match result {
            Ok(pos) if pos >= base => {
                i64::try_from(pos - base).unwrap_or(ffi::AVERROR(ffi::EINVAL) as i64)
            }
            Ok(_) => ffi::AVERROR(ffi::EINVAL) as i64,
            Err(e) => {
                let code = averror_of(&e);
                self.seek_error = Some(e);
                code as i64
            }
        }
    }
}

/// Runs a call into the caller's reader, turning a panic into an I/O error.
fn guard<T>(f: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(std::io::Error::other("the reader panicked")))
}

fn averror_of(e: &std::io::Error) -> c_int {
    match e.raw_os_error() {
        Some(errno) if errno > 0 => ffi::AVERROR(errno),
        _ => ffi::AVERROR(ffi::EIO),
    }
}

/// Owns the [`IoState`] the callbacks use (see the module notes on soundness).
struct IoBox<'a>(NonNull<IoState<'a>>);

// SAFETY: the state is a heap allocation owned by this box alone; its stream is `Send`, and
// it is only reached through `&mut` access to the decoder that owns the box (or FFmpeg calls
// made through that access), never from two threads at once.
unsafe impl Send for IoBox<'_> {}

impl<'a> IoBox<'a> {
    fn new(mut stream: Box<dyn Stream + 'a>) -> std::io::Result<Self> {
        let base = guard(|| stream.stream_position())?;
        let state = Box::new(IoState {
            stream,
            base,
            scratch: Vec::new(),
            deadline: None,
            timed_out: false,
            error: None,
            seek_error: None,
            sniffed: None,
            riff: None,
        });
        Ok(IoBox(NonNull::from(Box::leak(state))))
    }

    fn state(&mut self) -> &mut IoState<'a> {
        // SAFETY: the pointer comes from `Box::leak` and stays valid until `drop`; `&mut self`
        // excludes other Rust references, and no FFmpeg call (hence no callback) runs while
        // the returned borrow lives, as callers never hold it across one.
        unsafe { self.0.as_mut() }
    }

    fn opaque(&self) -> *mut c_void {
        self.0.as_ptr().cast()
    }

    /// Puts the stream back where it was when opened (to decode from the start again).
    fn rewind(&mut self) -> std::io::Result<()> {
        let state = self.state();
        state.error = None;
        state.seek_error = None;
        let (base, stream) = (state.base, &mut state.stream);
        guard(|| stream.seek(SeekFrom::Start(base))).map(|_| ())
    }

    /// Notes which container the first bytes announce, then rewinds.
    fn sniff(&mut self) -> std::io::Result<()> {
        let mut head = [0u8; 12];
        let mut n = 0;
        let state = self.state();
        while n < head.len() {
            let (stream, rest) = (&mut state.stream, &mut head[n..]);
            match guard(|| stream.read(rest)) {
                Ok(0) => break,
                Ok(k) => n += k.min(head.len() - n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        state.sniffed = sniff(&head[..n]);
        if state.sniffed == Some("WAV") {
            self.rewind()?;
            let state = self.state();
            let stream = &mut state.stream;
            let riff = guard(|| Ok(riff_data(stream.as_mut()))).ok().flatten();
            state.riff = riff;
        }
        self.rewind()
    }
}

/// The data chunk's byte count and the block align a RIFF WAV header states, read from the
/// stream's start: `None` when the header has no `fmt ` before `data`, a block align of 0,
/// or a placeholder length (0 or 0xFFFFFFFF, as streaming writers leave it). FFmpeg's WAV
/// reader takes the length of what the file holds, so a file cut short decodes as a clean,
/// shorter stream; symphonia checks the header's count, and so does this backend with it.
fn riff_data(stream: &mut (dyn Stream + '_)) -> Option<(u64, u64)> {
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    let mut align = 0u64;
    // A bounded walk: files have a handful of chunks.
    for _ in 0..64 {
        let mut ch = [0u8; 8];
        stream.read_exact(&mut ch).ok()?;
        let size = u64::from(u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]));
        match &ch[..4] {
            b"fmt " => {
                let mut fmt = [0u8; 14];
                stream.read_exact(&mut fmt).ok()?;
                align = u64::from(u16::from_le_bytes([fmt[12], fmt[13]]));
                let rest = (size + (size & 1)).checked_sub(14)?;
                stream
                    .seek(SeekFrom::Current(i64::try_from(rest).ok()?))
                    .ok()?;
            }
            b"data" => {
                return (align > 0 && size > 0 && size < u64::from(u32::MAX))
                    .then_some((size, align));
            }
            _ => {
                let skip = i64::try_from(size + (size & 1)).ok()?;
                stream.seek(SeekFrom::Current(skip)).ok()?;
            }
        }
    }
    None
}

/// Where the container is a RIFF WAV of a PCM codec and its header states the data length,
/// the frame count is that length's, not the one FFmpeg takes from the file's size.
fn header_frames(facts: &mut Facts, io: &mut IoBox<'_>) {
    let Some((bytes, align)) = io.state().riff else {
        return;
    };
    if facts.container == "wav" && facts.codec.starts_with("pcm_") && facts.sample_rate > 0 {
        let frames = bytes / align;
        facts.frames = Some(frames);
        facts.duration = Some(frames as f64 / f64::from(facts.sample_rate));
    }
}

impl Drop for IoBox<'_> {
    fn drop(&mut self) {
        // SAFETY: made by `Box::leak` in `new`, freed only here; every AVIOContext and format
        // context using it has been dropped before (field order of `FfmpegDecoder`, and local
        // scopes in `probe`).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// The container a file's first bytes announce, for the formats with a clear signature.
fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at8 = |magic: &[u8]| head.len() < 12 || &head[8..12] == magic;
    if starts(b"RIFF") && at8(b"WAVE") {
        Some("WAV")
    } else if starts(b"fLaC") {
        Some("FLAC")
    } else if starts(b"OggS") {
        Some("Ogg")
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some("MP4")
    } else if starts(b"ID3") {
        Some("MP3 (ID3-tagged)")
    } else if starts(b"FORM") && (at8(b"AIFF") || at8(b"AIFC")) {
        Some("AIFF")
    } else if starts(b"caff") {
        Some("CAF")
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("Matroska/WebM")
    } else if starts(b"wvpk") {
        Some("WavPack")
    } else {
        None
    }
}

/// The most bytes one read callback asks the reader for (found by fuzzing: a WAV header that
/// made FFmpeg request 1.1 GB had the staging buffer grown to match).
const MAX_READ: usize = 1 << 20;
/// # Safety
/// `opaque` must be the pointer of a live [`IoBox`], with no reference to its state alive.
unsafe fn io_state<'x>(opaque: *mut c_void) -> &'x mut IoState<'x> {
    unsafe { &mut *opaque.cast::<IoState<'x>>() }
}

unsafe extern "C" fn read_callback(opaque: *mut c_void, buf: *mut u8, size: c_int) -> c_int {
    if size <= 0 || buf.is_null() {
        return ffi::AVERROR(ffi::EINVAL);
    }
    // SAFETY: `opaque` is the IoBox pointer given to `avio_alloc_context`; see `IoBox`.
    let state = unsafe { io_state(opaque) };
    match state.read(size as usize) {
        Ok(0) => ffi::AVERROR_EOF,
        Ok(n) => {
            // SAFETY: `buf` holds `size >= n` bytes (FFmpeg's contract); `scratch` holds `n`
            // initialised bytes; they do not overlap.
            unsafe { ptr::copy_nonoverlapping(state.scratch.as_ptr(), buf, n) };
            n as c_int
        }
        Err(code) => code,
    }
}

unsafe extern "C" fn seek_callback(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    // SAFETY: as in `read_callback`.
    unsafe { io_state(opaque) }.seek(offset, whence)
}

unsafe extern "C" fn interrupt_callback(opaque: *mut c_void) -> c_int {
    // SAFETY: the format context's interrupt opaque is the same IoBox pointer; FFmpeg polls it
    // from its own code, never from inside our read/seek callbacks.
    c_int::from(unsafe { io_state(opaque) }.expired())
}

/// Replaces `AVFormatContext.io_open`: the input may not make FFmpeg open anything else.
unsafe extern "C" fn refuse_io_open(
    _s: *mut ffi::AVFormatContext,
    _pb: *mut *mut ffi::AVIOContext,
    _url: *const c_char,
    _flags: c_int,
    _options: *mut *mut ffi::AVDictionary,
) -> c_int {
    ffi::AVERROR(ffi::EPERM)
}

/// One `AVIOContext` and its buffer.
struct Avio(*mut ffi::AVIOContext);

// SAFETY: a heap object not tied to a thread, used only through the decoder that owns it.
unsafe impl Send for Avio {}

impl Drop for Avio {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by `avio_alloc_context` in `open_demuxer`; the format context
            // using it is already closed (`Demuxer` field order). The buffer in use is freed
            // through the context's field, as FFmpeg may have replaced the original.
            unsafe {
                ffi::av_freep(ptr::addr_of_mut!((*self.0).buffer).cast());
                ffi::avio_context_free(&mut self.0);
            }
        }
    }
}

/// An open format context reading through its own `AVIOContext`.
struct Demuxer {
    // Dropped first: `avformat_close_input` leaves a custom `pb` alone.
    input: ff::format::context::Input,
    _avio: Avio,
}

/// Opens a format context on `io`'s stream. `hint` is a file extension for the probe.
fn open_demuxer(io: &IoBox<'_>, hint: Option<&str>) -> std::result::Result<Demuxer, ff::Error> {
    // A file name only for the probe's extension scoring (never opened: see refuse_io_open).
    let url = hint
        .filter(|e| !e.is_empty() && e.len() <= 16 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .and_then(|e| CString::new(format!("input.{e}")).ok());
    // SAFETY: plain FFmpeg allocation calls; ownership of each allocation is handed to a Rust
    // guard as soon as it exists (Avio for the AVIOContext and buffer, Input for the format
    // context), and `avformat_open_input` frees the format context itself on failure.
    unsafe {
        let buffer = ffi::av_malloc(AVIO_BUFFER).cast::<u8>();
        if buffer.is_null() {
            return Err(ff::Error::Other { errno: ffi::ENOMEM });
        }
        let pb = ffi::avio_alloc_context(
            buffer,
            AVIO_BUFFER as c_int,
            0,
            io.opaque(),
            Some(read_callback),
            None,
            Some(seek_callback),
        );
        if pb.is_null() {
            ffi::av_free(buffer.cast());
            return Err(ff::Error::Other { errno: ffi::ENOMEM });
        }
        let avio = Avio(pb);
        let mut ctx = ffi::avformat_alloc_context();
        if ctx.is_null() {
            return Err(ff::Error::Other { errno: ffi::ENOMEM });
        }
        (*ctx).pb = pb;
        (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
        (*ctx).interrupt_callback = ffi::AVIOInterruptCB {
            callback: Some(interrupt_callback),
            opaque: io.opaque(),
        };
        (*ctx).io_open = Some(refuse_io_open);
        let url_ptr = url.as_ref().map_or(ptr::null(), |u| u.as_ptr());
        let r = ffi::avformat_open_input(&mut ctx, url_ptr, ptr::null(), ptr::null_mut());
        if r < 0 {
            return Err(ff::Error::from(r));
        }
        Ok(Demuxer {
            input: ff::format::context::Input::wrap(ctx),
            _avio: avio,
        })
    }
}

/// Routes FFmpeg's log to the `log` crate (target `ffmpeg`), once per process (see the
/// module docs). Every entry point into FFmpeg calls it first.
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_arch = "x86_64", not(windows)))]
        // SAFETY: `forward_log` has the signature FFmpeg calls its log callback with and stays
        // valid for the life of the process.
        unsafe {
            ffi::av_log_set_callback(Some(forward_log));
        }
        #[cfg(not(all(target_arch = "x86_64", not(windows))))]
        // SAFETY: a plain setter of FFmpeg's global log level.
        unsafe {
            ffi::av_log_set_level(ffi::AV_LOG_QUIET);
        }
    });
}

/// FFmpeg's level as a `log` level: `None` for AV_LOG_QUIET.
fn log_level(level: c_int) -> Option<log::Level> {
    Some(match level {
        l if l < ffi::AV_LOG_PANIC => return None,
        l if l <= ffi::AV_LOG_WARNING => log::Level::Warn,
        l if l <= ffi::AV_LOG_INFO => log::Level::Info,
        l if l <= ffi::AV_LOG_VERBOSE => log::Level::Debug,
        _ => log::Level::Trace,
    })
}

/// FFmpeg's log callback: one `log` record per message, formatted by FFmpeg itself.
#[cfg(all(target_arch = "x86_64", not(windows)))]
unsafe extern "C" fn forward_log(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    vl: *mut ffi::__va_list_tag,
) {
    let Some(lvl) = log_level(level) else { return };
    if lvl > log::max_level() || !log::log_enabled!(target: "ffmpeg", lvl) {
        return;
    }
    let mut line = [0 as c_char; 1024];
    let mut prefix: c_int = 1;
    // SAFETY: FFmpeg's own arguments, passed on unchanged; `line` holds `line.len()` bytes and
    // av_log_format_line2 writes at most that many, NUL included.
    unsafe {
        ffi::av_log_format_line2(
            avcl,
            level,
            fmt,
            vl,
            line.as_mut_ptr(),
            line.len() as c_int,
            &mut prefix,
        );
    }
    // SAFETY: av_log_format_line2 NUL-terminates within the buffer.
    let text = unsafe { std::ffi::CStr::from_ptr(line.as_ptr()) }.to_string_lossy();
    let text = text.trim_end();
    if !text.is_empty() {
        // A logger that panics must not unwind into C.
        let _ = catch_unwind(|| log::log!(target: "ffmpeg", lvl, "{text}"));
    }
}

/// Opens the source's bytes as a stream FFmpeg can read.
fn open_stream<'a>(source: Source<'a>) -> Result<(IoBox<'a>, String, Option<String>)> {
    init();
    let input = source.name().to_string();
    let hint = source.extension_hint().map(str::to_string);
    let io_err = |e: std::io::Error| Error::Io {
        path: input.clone(),
        source: e,
    };
    let empty = || Error::Decode {
        input: input.clone(),
        component: "ffmpeg probe",
        reason: "empty input (0 bytes)".to_string(),
    };
    let stream: Box<dyn Stream + 'a> = match source.kind {
        SourceKind::Path(path) => {
            let file = File::open(&path).map_err(io_err)?;
            let meta = file.metadata().map_err(io_err)?;
            if meta.is_dir() {
                return Err(io_err(std::io::Error::new(
                    ErrorKind::InvalidInput,
                    "is a directory, not an audio file",
                )));
            }
            if meta.is_file() && meta.len() == 0 {
                return Err(empty());
            }
            Box::new(file)
        }
        SourceKind::Bytes(bytes) => {
            if bytes.as_ref().is_empty() {
                return Err(empty());
            }
            Box::new(Cursor::new(bytes))
        }
        SourceKind::Reader(mut reader) => {
            // As for every backend, the encoded stream starts at the reader's byte 0.
            guard(|| reader.seek(SeekFrom::Start(0))).map_err(io_err)?;
            Box::new(reader)
        }
    };
    let mut io = IoBox::new(stream).map_err(io_err)?;
    io.sniff().map_err(io_err)?;
    Ok((io, input, hint))
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Turns an FFmpeg error into the crate's, preferring what the I/O callbacks saw.
fn ff_error(input: &str, component: &'static str, e: ff::Error, io: &mut IoBox<'_>) -> Error {
    let state = io.state();
    if let Some(source) = state.take_error() {
        return Error::Io {
            path: input.to_string(),
            source,
        };
    }
    if state.timed_out || e == ff::Error::Exit {
        return Error::Decode {
            input: input.to_string(),
            component,
            reason: "timed out waiting for input (FfmpegOptions::timeout)".to_string(),
        };
    }
    plain_ff_error(input, component, e)
}

/// FFmpeg's message for `e` (`av_strerror`; ffmpeg-next's `Display` needs a global init).
fn ff_message(e: ff::Error) -> String {
    let mut buf = [0 as c_char; 256];
    // SAFETY: `buf` has the length passed; av_strerror always NUL-terminates it.
    let r = unsafe { ffi::av_strerror(c_int::from(e), buf.as_mut_ptr(), buf.len()) };
    // SAFETY: NUL-terminated within `buf` (above).
    let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    if r < 0 || msg.trim().is_empty() {
        format!("{e:?}")
    } else {
        msg.into_owned()
    }
}

fn plain_ff_error(input: &str, component: &'static str, e: ff::Error) -> Error {
    use ff::Error as E;
    let unsupported = |reason: String| Error::Unsupported {
        input: input.to_string(),
        component,
        reason,
    };
    let decode = |reason: String| Error::Decode {
        input: input.to_string(),
        component,
        reason,
    };
    match e {
        E::DecoderNotFound
        | E::DemuxerNotFound
        | E::StreamNotFound
        | E::FilterNotFound
        | E::BsfNotFound
        | E::ProtocolNotFound
        | E::PatchWelcome
        | E::Experimental => unsupported(format!("FFmpeg: {}", ff_message(e))),
        E::Eof => decode(
            "unexpected end of data (the input is truncated or not a complete audio file)"
                .to_string(),
        ),
        E::InvalidData => decode("FFmpeg found invalid data (corrupt or truncated input)".into()),
        other => decode(format!("FFmpeg: {}", ff_message(other))),
    }
}

/// The error for a failed `avformat_open_input`.
fn open_error(input: &str, e: ff::Error, io: &mut IoBox<'_>) -> Error {
    let state = io.state();
    let (has_io_cause, sniffed) = (state.has_io_cause(), state.sniffed);
    match (e, sniffed) {
        (ff::Error::InvalidData | ff::Error::Eof | ff::Error::Other { .. }, Some(what))
            if !has_io_cause =>
        {
            // A known container's signature, yet FFmpeg cannot read its header: damaged,
            // typically cut short (an MP4 whose index never got written, a WAV cut inside
            // its header).
            Error::Decode {
                input: input.to_string(),
                component: "ffmpeg probe",
                reason: format!(
                    "has the signature of {what} data but FFmpeg cannot read its header \
                     (truncated or corrupt): {}",
                    ff_message(e)
                ),
            }
        }
        (e, None) if !has_io_cause && e != ff::Error::Exit => {
            // No container signature, and FFmpeg's probe found none it could open (or took
            // the bytes for a format with a weak signature, then failed on its header).
            Error::Unsupported {
                input: input.to_string(),
                component: "ffmpeg probe",
                reason: format!(
                    "FFmpeg recognises no audio container in it (an unknown format, or a \
                     damaged header): {}",
                    ff_message(e)
                ),
            }
        }
        (e, _) => ff_error(input, "ffmpeg probe", e, io),
    }
}

// ---------------------------------------------------------------------------------------
// Stream facts from the headers
// ---------------------------------------------------------------------------------------

/// What the headers say about the chosen audio stream.
#[derive(Debug, Clone)]
struct Facts {
    index: usize,
    time_base: ff::Rational,
    container: String,
    codec_id: ff::codec::Id,
    codec: String,
    sample_rate: u32,
    channels: usize,
    frames: Option<u64>,
    duration: Option<f64>,
    bits_per_sample: Option<u32>,
    /// Frames to decode before a seek target (codec warm-up); 0 for intra-only lossless codecs.
    preroll: u64,
}

fn container_name(name: &str) -> String {
    let first = name.split(',').next().unwrap_or(name);
    match first {
        "mov" => "mp4",
        "aac" => "adts",
        "matroska" => "matroska",
        other => other,
    }
    .to_string()
}

/// The best audio stream of `input`, or None.
fn best_audio(input: &ff::format::context::Input) -> Option<usize> {
    input
        .streams()
        .best(ff::media::Type::Audio)
        .map(|s| s.index())
}

fn read_facts(input: &ff::format::context::Input, index: usize) -> Option<Facts> {
    let stream = input.stream(index)?;
    let params = stream.parameters();
    let codec_id = params.id();
    // SAFETY: `params` wraps the stream's live AVCodecParameters (kept alive by `input`).
    let (rate, channels, raw_bits, frame_size, seek_preroll, initial_padding) = unsafe {
        let p = &*params.as_ptr();
        (
            p.sample_rate,
            p.ch_layout.nb_channels,
            p.bits_per_raw_sample,
            p.frame_size,
            p.seek_preroll,
            p.initial_padding,
        )
    };
    // SAFETY: descriptor lookups return static data or null.
    let (pcm_bits, props) = unsafe {
        let d = ffi::avcodec_descriptor_get(codec_id.into());
        (
            ffi::av_get_bits_per_sample(codec_id.into()),
            if d.is_null() { 0 } else { (*d).props },
        )
    };
    let lossless = props & ffi::AV_CODEC_PROP_LOSSLESS != 0;
    let intra = props & ffi::AV_CODEC_PROP_INTRA_ONLY != 0;
    let sample_rate = u32::try_from(rate).unwrap_or(0);
    let tb = stream.time_base();
    // SAFETY: reads one field of the live format context.
    let from_bitrate = unsafe {
        (*input.as_ptr()).duration_estimation_method
            == ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE
    };
    let container = container_name(input.format().name());
    // The duration is a frame count only where the container times the stream in samples,
    // and where it is known to match what FFmpeg's decoder yields: lossless codecs in any such
    // container (WAV, AIFF, FLAC, MP4/ALAC ...), and lossy ones in MP4 (edit list applied)
    // and Ogg (less the Opus pre-skip, which the duration includes). Elsewhere (MP3's Xing
    // count includes the encoder delay, MKV times in milliseconds ...) it is left unknown.
    let d = stream.duration();
    let sample_timed = d > 0
        && !from_bitrate
        && sample_rate > 0
        && tb.numerator() == 1
        && i64::from(tb.denominator()) == i64::from(sample_rate);
    let frames = match container.as_str() {
        _ if !sample_timed => None,
        _ if lossless => Some(d as u64),
        "mp4" => Some(d as u64),
        "ogg" => (d as u64).checked_sub(u64::try_from(initial_padding).unwrap_or(0)),
        _ => None,
    };
    let duration = match frames {
        Some(n) => Some(n as f64 / f64::from(sample_rate)),
        None if d > 0 && tb.denominator() != 0 => Some(d as f64 * f64::from(tb)),
        None if input.duration() > 0 => {
            Some(input.duration() as f64 / f64::from(ffi::AV_TIME_BASE))
        }
        None => None,
    };
    let bits_per_sample = if pcm_bits > 0 {
        Some(pcm_bits as u32)
    } else if lossless && raw_bits > 0 {
        Some(raw_bits as u32)
    } else {
        None
    };
    let preroll = if lossless && intra {
        0
    } else {
        let frame = if frame_size > 0 {
            frame_size as u64
        } else {
            2048
        };
        let warmup = if seek_preroll > 0 && sample_rate > 0 {
            // seek_preroll is in samples at the codec's rate (48 kHz for Opus).
            seek_preroll as u64
        } else {
            0
        };
        warmup + 8 * frame
    };
    Some(Facts {
        index,
        time_base: tb,
        container,
        codec_id,
        codec: codec_id.name().to_string(),
        sample_rate,
        channels: usize::try_from(channels).unwrap_or(0),
        frames,
        duration,
        bits_per_sample,
        preroll,
    })
}

/// Reads `source`'s headers with FFmpeg (no decoding, except that FFmpeg parses the first
/// packets when the headers lack the sample rate or channel count, as for raw ADTS AAC).
pub(crate) fn probe(source: Source<'_>) -> Result<ProbeInfo> {
    let (mut io, input, hint) = open_stream(source)?;
    io.state().begin(None);
    let facts = {
        let mut demuxer =
            open_demuxer(&io, hint.as_deref()).map_err(|e| open_error(&input, e, &mut io))?;
        let mut facts = best_audio(&demuxer.input).and_then(|i| read_facts(&demuxer.input, i));
        let incomplete = facts
            .as_ref()
            .is_none_or(|f| f.sample_rate == 0 || f.channels == 0);
        if incomplete {
            find_stream_info(&mut demuxer, &input, &mut io)?;
            facts = best_audio(&demuxer.input).and_then(|i| read_facts(&demuxer.input, i));
        }
        facts.ok_or_else(|| no_audio(&input, &demuxer, &mut io))?
        // `demuxer` (and its AVIOContext) is dropped here, before `io`.
    };
    let mut facts = facts;
    header_frames(&mut facts, &mut io);
    Ok(ProbeInfo {
        input,
        backend: BACKEND,
        container: facts.container,
        codec: facts.codec,
        sample_rate: facts.sample_rate,
        channels: facts.channels,
        frames: facts.frames,
        duration: facts.duration,
        bits_per_sample: facts.bits_per_sample,
    })
}

fn find_stream_info(demuxer: &mut Demuxer, input: &str, io: &mut IoBox<'_>) -> Result<()> {
    // SAFETY: the context is open and owned by `demuxer`; no options dictionary.
    let r = unsafe { ffi::avformat_find_stream_info(demuxer.input.as_mut_ptr(), ptr::null_mut()) };
    if r < 0 {
        return Err(ff_error(input, "ffmpeg probe", ff::Error::from(r), io));
    }
    Ok(())
}

fn no_audio(input: &str, demuxer: &Demuxer, io: &mut IoBox<'_>) -> Error {
    let container = container_name(demuxer.input.format().name());
    if io.state().sniffed.is_none() {
        // FFmpeg took bytes without a container signature for a weakly signed format and
        // found nothing in them: not audio it knows.
        return Error::Unsupported {
            input: input.to_string(),
            component: "ffmpeg probe",
            reason: format!(
                "FFmpeg recognises no audio in it (read as {container}, it holds no audio \
                 stream)"
            ),
        };
    }
    Error::Decode {
        input: input.to_string(),
        component: "ffmpeg probe",
        reason: format!("the {container} container holds no audio stream"),
    }
}

// ---------------------------------------------------------------------------------------
// The pipeline: demuxer -> decoder -> filter graph -> f32 -> mono -> resampler
// ---------------------------------------------------------------------------------------

/// The filter graph `abuffer -> description -> abuffersink`.
struct FilterGraph {
    graph: ff::filter::Graph,
    /// What `abuffer` was configured with: (format, rate, channel layout).
    input: (Sample, u32, String),
    next_pts: i64,
    pushed: bool,
}

impl FilterGraph {
    fn new(description: &str, format: Sample, rate: u32, layout: &str) -> Result<Self, ff::Error> {
        if format == Sample::None || rate == 0 {
            return Err(ff::Error::InvalidData);
        }
        let mut graph = ff::filter::Graph::new();
        let args = format!(
            "time_base=1/{rate}:sample_rate={rate}:sample_fmt={}:channel_layout={layout}",
            format.name()
        );
        let abuffer = ff::filter::find("abuffer").ok_or(ff::Error::FilterNotFound)?;
        let sink = ff::filter::find("abuffersink").ok_or(ff::Error::FilterNotFound)?;
        graph.add(&abuffer, "in", &args)?;
        graph.add(&sink, "out", "")?;
        graph.output("in", 0)?.input("out", 0)?.parse(description)?;
        graph.validate()?;
        Ok(FilterGraph {
            graph,
            input: (format, rate, layout.to_string()),
            next_pts: 0,
            pushed: false,
        })
    }

    /// (rate, channels) of what the graph outputs.
    fn output(&mut self) -> Result<(u32, usize), ff::Error> {
        let sink = self.graph.get("out").ok_or(ff::Error::Bug)?;
        // SAFETY: `sink` is a configured abuffersink of the live graph.
        let (rate, channels) = unsafe {
            (
                ffi::av_buffersink_get_sample_rate(sink.as_ptr()),
                ffi::av_buffersink_get_channels(sink.as_ptr()),
            )
        };
        match (u32::try_from(rate), usize::try_from(channels)) {
            (Ok(r), Ok(c)) if r > 0 && c > 0 => Ok((r, c)),
            _ => Err(ff::Error::InvalidData),
        }
    }

    fn push(&mut self, frame: &mut ff::frame::Audio) -> Result<(), ff::Error> {
        frame.set_pts(Some(self.next_pts));
        self.next_pts += frame.samples() as i64;
        self.pushed = true;
        self.graph
            .get("in")
            .ok_or(ff::Error::Bug)?
            .source()
            .add(frame)
    }

    fn flush(&mut self) -> Result<(), ff::Error> {
        self.graph.get("in").ok_or(ff::Error::Bug)?.source().flush()
    }

    /// The next filtered frame into `out`; false when none is ready.
    fn pull(&mut self, out: &mut ff::frame::Audio) -> Result<bool, ff::Error> {
        let mut sink = self.graph.get("out").ok_or(ff::Error::Bug)?;
        match sink.sink().frame(out) {
            Ok(()) => Ok(true),
            Err(ff::Error::Eof) => Ok(false),
            Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// One channel's swresample context (same rate conversion for every channel, no remix).
struct Resampler(ff::software::resampling::Context);

impl Resampler {
    fn new(from: u32, to: u32) -> Result<Self, ff::Error> {
        let f32p = Sample::F32(SampleType::Planar);
        let mono = ff::ChannelLayout::MONO;
        ff::software::resampling::Context::get(f32p, mono, from, f32p, mono, to).map(Resampler)
    }

    /// Resamples `input` (all of it; `None` flushes) and appends the result to `out`.
    fn run(&mut self, input: Option<&[f32]>, out: &mut Vec<f32>) -> Result<(), ff::Error> {
        let n_in = match input {
            Some(x) => c_int::try_from(x.len()).map_err(|_| ff::Error::InvalidData)?,
            None => 0,
        };
        loop {
            // SAFETY: a live, initialised swr context owned by `self`.
            let cap = unsafe { ffi::swr_get_out_samples(self.0.as_mut_ptr(), n_in) };
            if cap < 0 {
                return Err(ff::Error::from(cap));
            }
            // Room for `cap` samples (flushing may need a few more calls).
            let cap = cap.max(if input.is_none() { 256 } else { 0 });
            let start = out.len();
            out.resize(start + cap as usize, 0.0);
            let mut out_ptr = out[start..].as_mut_ptr().cast::<u8>();
            let mut in_ptr = input.map_or(ptr::null(), |x| x.as_ptr().cast::<u8>());
            // SAFETY: `out_ptr` points to `cap` initialised f32s, the most swr_convert writes
            // (it is given `cap` as the output count); `in_ptr` points to `n_in` f32s or is
            // null when flushing (n_in = 0). One plane each: mono planar float.
            let got = unsafe {
                ffi::swr_convert(
                    self.0.as_mut_ptr(),
                    &mut out_ptr,
                    cap,
                    if input.is_some() {
                        &mut in_ptr as *mut *const u8
                    } else {
                        ptr::null_mut()
                    },
                    n_in,
                )
            };
            if got < 0 {
                out.truncate(start);
                return Err(ff::Error::from(got));
            }
            out.truncate(start + got as usize);
            // Input is consumed in one call; a flush repeats until nothing is left.
            if input.is_some() || got == 0 {
                return Ok(());
            }
        }
    }
}

/// Gives a layout of unspecified order FFmpeg's default layout for its channel count, as the
/// ffmpeg command line does ("Guessed Channel Layout"): filters need a known layout.
fn guess_layout(layout: &mut ffi::AVChannelLayout) {
    if layout.order == ffi::AVChannelOrder::AV_CHANNEL_ORDER_UNSPEC && layout.nb_channels > 0 {
        let n = layout.nb_channels;
        // SAFETY: an UNSPEC layout owns no allocation (uninit is then a no-op reset);
        // av_channel_layout_default writes a native (or, failing that, unspec) layout of
        // `n` channels into it.
        unsafe {
            ffi::av_channel_layout_uninit(layout);
            ffi::av_channel_layout_default(layout, n);
        }
    }
}

/// A channel layout as FFmpeg describes it ("stereo", "5.1(side)", "3 channels"), after
/// [`guess_layout`].
fn describe_guessed(layout: &ffi::AVChannelLayout) -> String {
    if layout.order == ffi::AVChannelOrder::AV_CHANNEL_ORDER_UNSPEC && layout.nb_channels > 0 {
        // SAFETY: a zeroed AVChannelLayout is a valid empty layout; filled by guess_layout.
        let mut guessed: ffi::AVChannelLayout = unsafe { std::mem::zeroed() };
        guessed.order = ffi::AVChannelOrder::AV_CHANNEL_ORDER_UNSPEC;
        guessed.nb_channels = layout.nb_channels;
        guess_layout(&mut guessed);
        let d = describe_layout(&guessed);
        // SAFETY: releases whatever av_channel_layout_default stored (nothing for native).
        unsafe { ffi::av_channel_layout_uninit(&mut guessed) };
        d
    } else {
        describe_layout(layout)
    }
}

/// A frame's channel layout as FFmpeg describes it ("stereo", "5.1(side)", "3 channels").
fn describe_layout(layout: &ffi::AVChannelLayout) -> String {
    let mut buf = [0 as c_char; 128];
    // SAFETY: `buf` has the length passed; the layout is a live, initialised AVChannelLayout.
    let n = unsafe { ffi::av_channel_layout_describe(layout, buf.as_mut_ptr(), buf.len()) };
    if n <= 0 {
        return format!("{} channels", layout.nb_channels);
    }
    // SAFETY: av_channel_layout_describe NUL-terminates within `buf` (truncating if needed).
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn frame_channels(frame: &ff::frame::Audio) -> usize {
    // SAFETY: reads one field of the live frame.
    usize::try_from(unsafe { (*frame.as_ptr()).ch_layout.nb_channels }).unwrap_or(0)
}

/// Appends `frame`'s samples to `dst` (one `Vec` per channel) as `f32`: integers divided by
/// `2^(bits-1)` (unsigned 8-bit re-centred first), as soundfile and swresample do.
fn append_f32(
    frame: &ff::frame::Audio,
    dst: &mut Vec<Vec<f32>>,
) -> std::result::Result<(), String> {
    let channels = frame_channels(frame);
    let n = frame.samples();
    let format = frame.format();
    if channels == 0 {
        return Err("a decoded frame has no channels".to_string());
    }
    if dst.len() != channels {
        dst.resize_with(channels, Vec::new);
    }
    if n == 0 {
        return Ok(());
    }
    let (planar, bytes) = match format {
        Sample::None => return Err("a decoded frame has no sample format".to_string()),
        f => (f.is_planar(), f.bytes()),
    };
    let planes = if planar { channels } else { 1 };
    if frame.planes() < planes || bytes == 0 {
        return Err("a decoded frame lacks sample data".to_string());
    }
    let needed = if planar {
        n * bytes
    } else {
        n * channels * bytes
    };
    for (c, d) in dst.iter_mut().enumerate() {
        let plane = frame.data(if planar { c } else { 0 });
        if plane.len() < needed {
            return Err(format!(
                "a decoded frame's plane holds {} bytes, less than the {needed} its {n} samples \
                 need",
                plane.len()
            ));
        }
        let (offset, stride) = if planar {
            (0, bytes)
        } else {
            (c * bytes, channels * bytes)
        };
        let at = |i: usize| &plane[offset + i * stride..offset + i * stride + bytes];
        d.reserve(n);
        match format {
            Sample::U8(_) => d.extend((0..n).map(|i| (f32::from(at(i)[0]) - 128.0) / 128.0)),
            Sample::I16(_) => d.extend((0..n).map(|i| {
                let b = at(i);
                f32::from(i16::from_ne_bytes([b[0], b[1]])) * (1.0 / 32_768.0)
            })),
            Sample::I32(_) => d.extend((0..n).map(|i| {
                let b = at(i);
                i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f32 * (1.0 / 2_147_483_648.0)
            })),
            Sample::I64(_) => d.extend((0..n).map(|i| {
                let b = at(i);
                let v = i64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                v as f32 * (1.0 / 9_223_372_036_854_775_808.0)
            })),
            Sample::F32(_) => d.extend((0..n).map(|i| {
                let b = at(i);
                f32::from_ne_bytes([b[0], b[1], b[2], b[3]])
            })),
            Sample::F64(_) => d.extend((0..n).map(|i| {
                let b = at(i);
                f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            })),
            Sample::None => unreachable!("checked above"),
        }
    }
    Ok(())
}

/// Everything FFmpeg for one pass over the input (rebuilt to decode from the start again).
struct Core {
    // Field order is drop order: codec state first, the demuxer (format + AVIO) last.
    decoder: ff::decoder::Audio,
    graph: Option<FilterGraph>,
    resamplers: Vec<Resampler>,
    frame: ff::frame::Audio,
    filtered: ff::frame::Audio,
    pending_packet: Option<ff::Packet>,
    demuxer: Demuxer,

    input: String,
    facts: Facts,
    /// Rate and channels of what the decoder outputs.
    dec_rate: u32,
    dec_channels: usize,
    /// `frame` holds a decoded frame not yet processed (decoded while opening).
    have_raw: bool,
    eof_sent: bool,
    finished: bool,
    /// Converted samples of the current frame(s), per channel.
    conv: Vec<Vec<f32>>,
    /// Timestamp of the first decoded frame that fed the last `produce` call.
    chunk_pts: Option<i64>,
    produced_any: bool,
    failed_packets: u64,
    last_error: Option<String>,
    /// Why the demuxer stopped early, when it did.
    demux_error: Option<String>,
}

/// The shape of what a [`Core`] outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    rate: u32,
    channels: usize,
}

impl Core {
    fn open(
        io: &mut IoBox<'_>,
        opts: &FfmpegOptions,
        input: &str,
        hint: Option<&str>,
    ) -> Result<(Core, Shape)> {
        let mut demuxer = open_demuxer(io, hint).map_err(|e| open_error(input, e, io))?;
        find_stream_info(&mut demuxer, input, io)?;
        let mut facts = best_audio(&demuxer.input)
            .and_then(|i| read_facts(&demuxer.input, i))
            .ok_or_else(|| no_audio(input, &demuxer, io))?;
        header_frames(&mut facts, io);
        // Only the audio stream's packets are wanted.
        // SAFETY: `streams` holds `nb_streams` live stream pointers of the open context.
        unsafe {
            let ctx = demuxer.input.as_mut_ptr();
            for i in 0..(*ctx).nb_streams as usize {
                if i != facts.index {
                    (**(*ctx).streams.add(i)).discard = ffi::AVDiscard::AVDISCARD_ALL;
                }
            }
        }
        let Some(codec) = ff::decoder::find(facts.codec_id) else {
            return Err(Error::Unsupported {
                input: input.to_string(),
                component: "ffmpeg decoder",
                reason: format!(
                    "this FFmpeg build has no decoder for codec `{}`",
                    facts.codec
                ),
            });
        };
        let params = demuxer
            .input
            .stream(facts.index)
            .map(|s| s.parameters())
            .ok_or_else(|| no_audio(input, &demuxer, io))?;
        let ctx = ff::codec::Context::from_parameters(params)
            .map_err(|e| ff_error(input, "ffmpeg decoder", e, io))?;
        let mut dec = ctx.decoder();
        // As the ffmpeg command line does: lets FFmpeg keep timestamps right when it trims
        // encoder delay (skip_samples side data, MP4 edit lists).
        dec.set_packet_time_base(facts.time_base);
        let decoder = dec
            .open_as(codec)
            .and_then(|o| o.audio())
            .map_err(|e| ff_error(input, "ffmpeg decoder", e, io))?;

        let mut core = Core {
            decoder,
            graph: None,
            resamplers: Vec::new(),
            frame: ff::frame::Audio::empty(),
            filtered: ff::frame::Audio::empty(),
            pending_packet: None,
            demuxer,
            input: input.to_string(),
            dec_rate: 0,
            dec_channels: 0,
            facts,
            have_raw: false,
            eof_sent: false,
            finished: false,
            conv: Vec::new(),
            chunk_pts: None,
            produced_any: false,
            failed_packets: 0,
            last_error: None,
            demux_error: None,
        };
        // SAFETY: reads fields of the open codec context.
        let (mut format, mut rate, mut channels, mut layout) = unsafe {
            let c = &*core.decoder.as_ptr();
            (
                Sample::from(c.sample_fmt),
                c.sample_rate,
                c.ch_layout.nb_channels,
                describe_guessed(&c.ch_layout),
            )
        };
        if format == Sample::None || rate <= 0 || channels <= 0 {
            // The headers do not say: learn it from the first decoded frame.
            if !core.next_raw(io)? {
                return Err(Error::Decode {
                    input: input.to_string(),
                    component: "ffmpeg decoder",
                    reason: "the stream holds no decodable audio".to_string(),
                });
            }
            core.have_raw = true;
            format = core.frame.format();
            rate = core.frame.rate() as c_int;
            channels = frame_channels(&core.frame) as c_int;
            // SAFETY: reads the live frame's layout.
            layout = describe_guessed(unsafe { &(*core.frame.as_ptr()).ch_layout });
        }
        core.dec_rate = u32::try_from(rate).unwrap_or(0);
        core.dec_channels = usize::try_from(channels).unwrap_or(0);
        if core.dec_rate == 0 || core.dec_channels == 0 {
            return Err(Error::Decode {
                input: input.to_string(),
                component: "ffmpeg decoder",
                reason: "the stream has no sample rate or no channels".to_string(),
            });
        }
        let mut shape = Shape {
            rate: core.dec_rate,
            channels: core.dec_channels,
        };
        if let Some(desc) = &opts.filter {
            let bad = |e: ff::Error| {
                Error::param(
                    "filter",
                    format!(
                        "FFmpeg cannot build the audio filter graph `{desc}`: {}",
                        ff_message(e)
                    ),
                )
            };
            let mut graph = FilterGraph::new(desc, format, core.dec_rate, &layout).map_err(bad)?;
            let (r, c) = graph.output().map_err(bad)?;
            shape = Shape {
                rate: r,
                channels: c,
            };
            core.graph = Some(graph);
        }
        if opts.mono {
            shape.channels = 1;
        }
        if let Some(target) = opts.sample_rate {
            if target != shape.rate {
                core.resamplers = (0..shape.channels)
                    .map(|_| Resampler::new(shape.rate, target))
                    .collect::<Result<_, _>>()
                    .map_err(|e| Error::Decode {
                        input: input.to_string(),
                        component: "ffmpeg resampler",
                        reason: format!(
                            "swresample cannot convert {} Hz to {target} Hz: {}",
                            shape.rate,
                            ff_message(e)
                        ),
                    })?;
                shape.rate = target;
            }
        }
        Ok((core, shape))
    }

    fn packet_failed(&mut self, why: String) {
        self.failed_packets += 1;
        log::warn!("{}: FFmpeg skipped a packet: {why}", self.input);
        self.last_error = Some(why);
    }

    /// Sends one packet of the audio stream to the decoder (or end-of-stream).
    fn feed(&mut self, io: &mut IoBox<'_>) -> Result<()> {
        if let Some(packet) = self.pending_packet.take() {
            return self.send(packet);
        }
        let mut stalls = 0u32;
        loop {
            let mut packet = ff::Packet::empty();
            match packet.read(&mut self.demuxer.input) {
                Ok(()) => {
                    if packet.stream() == self.facts.index {
                        return self.send(packet);
                    }
                }
                Err(ff::Error::Eof) => return self.send_eof(),
                Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN && stalls < MAX_STALLS => {
                    stalls += 1;
                }
                Err(e) => {
                    if io.state().has_io_cause() || e == ff::Error::Exit {
                        return Err(ff_error(&self.input, "ffmpeg demuxer", e, io));
                    }
                    // Damaged data the demuxer cannot get past: the stream ends here (checked
                    // against the announced length at the end), as with the ffmpeg CLI.
                    let msg = ff_message(e);
                    log::warn!("{}: FFmpeg stops reading: {msg}", self.input);
                    self.demux_error = Some(msg);
                    return self.send_eof();
                }
            }
        }
    }

    fn send(&mut self, packet: ff::Packet) -> Result<()> {
        match self.decoder.send_packet(&packet) {
            Ok(()) => Ok(()),
            // The decoder wants its output read first: keep the packet for the next feed.
            Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN => {
                self.pending_packet = Some(packet);
                Ok(())
            }
            Err(e) => {
                self.packet_failed(ff_message(e));
                Ok(())
            }
        }
    }

    fn send_eof(&mut self) -> Result<()> {
        self.eof_sent = true;
        // Fails only if already draining: nothing to do then.
        let _ = self.decoder.send_eof();
        Ok(())
    }

    /// Decodes the next frame into `self.frame`; false once the decoder is drained.
    fn next_raw(&mut self, io: &mut IoBox<'_>) -> Result<bool> {
        if self.have_raw {
            self.have_raw = false;
            return Ok(true);
        }
        let mut stalls = 0u32;
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => return Ok(true),
                Err(ff::Error::Eof) => return Ok(false),
                Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN => {
                    if self.eof_sent && self.pending_packet.is_none() {
                        return Ok(false);
                    }
                }
                Err(e) => self.packet_failed(ff_message(e)),
            }
            stalls += 1;
            if stalls > MAX_STALLS {
                return Err(Error::Decode {
                    input: self.input.clone(),
                    component: "ffmpeg decoder",
                    reason: "the decoder makes no progress".to_string(),
                });
            }
            if !self.eof_sent || self.pending_packet.is_some() {
                self.feed(io)?;
            }
        }
    }

    fn check_frame(&self) -> Result<()> {
        let channels = frame_channels(&self.frame);
        let rate = self.frame.rate();
        if (channels != self.dec_channels || rate != self.dec_rate) && self.frame.samples() > 0 {
            return Err(Error::Decode {
                input: self.input.clone(),
                component: "ffmpeg decoder",
                reason: format!(
                    "the stream changes from {} channels at {} Hz to {channels} channels at \
                     {rate} Hz mid-stream, which is not supported",
                    self.dec_channels, self.dec_rate
                ),
            });
        }
        Ok(())
    }

    fn convert_error(&self, why: String) -> Error {
        Error::Decode {
            input: self.input.clone(),
            component: "ffmpeg decoder",
            reason: why,
        }
    }

    /// Runs the pipeline until `out` (one `Vec` per output channel, empty on entry) holds
    /// samples, or to the end. False when the stream is over and `out` is empty.
    fn produce(&mut self, io: &mut IoBox<'_>, mono: bool, out: &mut [Vec<f32>]) -> Result<bool> {
        self.chunk_pts = None;
        loop {
            if self.finished {
                return Ok(false);
            }
            if self.next_raw(io)? {
                self.check_frame()?;
                if self.frame.samples() == 0 {
                    continue;
                }
                if self.chunk_pts.is_none() {
                    self.chunk_pts = self.frame.pts().or(self.frame.timestamp());
                }
                if let Some(graph) = self.graph.as_mut() {
                    let (format, rate) = (self.frame.format(), self.frame.rate());
                    // SAFETY: the live frame's layout, guessed in place as for the graph.
                    let layout = unsafe {
                        let l = &mut (*self.frame.as_mut_ptr()).ch_layout;
                        guess_layout(l);
                        describe_layout(l)
                    };
                    if (format, rate, layout.as_str())
                        != (graph.input.0, graph.input.1, graph.input.2.as_str())
                    {
                        return Err(Error::Decode {
                            input: self.input.clone(),
                            component: "ffmpeg filter",
                            reason: format!(
                                "the decoded audio changes format mid-stream ({} at {rate} Hz, {layout}), which the filter graph cannot follow",
                                if format == Sample::None { "?" } else { format.name() }
                            ),
                        });
                    }
                    graph
                        .push(&mut self.frame)
                        .map_err(|e| self.filter_error(e))?;
                    self.drain_graph(mono, out)?;
                } else {
                    self.conv.iter_mut().for_each(Vec::clear);
                    append_f32(&self.frame, &mut self.conv).map_err(|e| self.convert_error(e))?;
                    self.post(mono, out)?;
                }
            } else {
                // Drained: flush the filter graph and the resamplers.
                if let Some(graph) = self.graph.as_mut() {
                    if graph.pushed {
                        graph.flush().map_err(|e| self.filter_error(e))?;
                        self.drain_graph(mono, out)?;
                    }
                }
                for (r, o) in self.resamplers.iter_mut().zip(out.iter_mut()) {
                    r.run(None, o).map_err(|e| Error::Decode {
                        input: self.input.clone(),
                        component: "ffmpeg resampler",
                        reason: ff_message(e),
                    })?;
                }
                self.finished = true;
            }
            if out.first().is_some_and(|o| !o.is_empty()) {
                self.produced_any = true;
                return Ok(true);
            }
        }
    }

    fn filter_error(&self, e: ff::Error) -> Error {
        Error::Decode {
            input: self.input.clone(),
            component: "ffmpeg filter",
            reason: ff_message(e),
        }
    }

    fn drain_graph(&mut self, mono: bool, out: &mut [Vec<f32>]) -> Result<()> {
        loop {
            let Some(graph) = self.graph.as_mut() else {
                return Ok(());
            };
            if !graph
                .pull(&mut self.filtered)
                .map_err(|e| self.filter_error(e))?
            {
                return Ok(());
            }
            self.conv.iter_mut().for_each(Vec::clear);
            append_f32(&self.filtered, &mut self.conv).map_err(|e| self.convert_error(e))?;
            self.post(mono, out)?;
        }
    }

    /// Mono mixdown and resampling of `conv`, appended to `out`.
    fn post(&mut self, mono: bool, out: &mut [Vec<f32>]) -> Result<()> {
        let n = self.conv.first().map_or(0, Vec::len);
        if n == 0 {
            return Ok(());
        }
        if self.conv.iter().any(|c| c.len() != n) {
            return Err(self.convert_error("channels of unequal length".to_string()));
        }
        let channels = if mono {
            if self.conv.len() > 1 {
                // numpy's mean over axis 0: sequential f32 sum over channels, then divide.
                let (first, rest) = self.conv.split_at_mut(1);
                let acc = &mut first[0];
                for c in rest.iter() {
                    for (a, s) in acc.iter_mut().zip(c) {
                        *a += *s;
                    }
                }
                let k = self.conv.len() as f32;
                for a in self.conv[0].iter_mut() {
                    *a /= k;
                }
            }
            1
        } else {
            self.conv.len()
        };
        if channels != out.len() {
            return Err(self.convert_error(format!(
                "the stream changes from {} to {channels} channels mid-stream",
                out.len()
            )));
        }
        if self.resamplers.is_empty() {
            for (o, c) in out.iter_mut().zip(&self.conv) {
                o.extend_from_slice(c);
            }
        } else {
            for ((r, o), c) in self
                .resamplers
                .iter_mut()
                .zip(out.iter_mut())
                .zip(&self.conv)
            {
                r.run(Some(c), o).map_err(|e| Error::Decode {
                    input: self.input.clone(),
                    component: "ffmpeg resampler",
                    reason: ff_message(e),
                })?;
            }
        }
        Ok(())
    }

    /// Seeks the demuxer to `ts` (stream time base) or before, and resets the decoder.
    fn seek_to(&mut self, ts: i64) -> std::result::Result<(), ff::Error> {
        // SAFETY: the context is open; stream index and flags are valid.
        let r = unsafe {
            ffi::av_seek_frame(
                self.demuxer.input.as_mut_ptr(),
                self.facts.index as c_int,
                ts,
                ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        if r < 0 {
            return Err(ff::Error::from(r));
        }
        self.decoder.flush();
        self.pending_packet = None;
        self.have_raw = false;
        self.eof_sent = false;
        self.finished = false;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The decoder
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Live,
    Ended,
    Failed,
}

/// The FFmpeg backend's [`Decoder`] (cargo feature `ffmpeg`): every container and codec the
/// linked FFmpeg decodes — Opus, AAC, MP3, FLAC, Vorbis, WAV/AIFF PCM, ALAC, WavPack, AC-3,
/// WMA, ... — from a path or in-memory bytes.
///
/// Output is what the `ffmpeg` command line's `-f f32le` gives, de-interleaved: the best audio
/// stream, with the encoder delay FFmpeg trims removed (MP3 LAME/Xing headers, MP4 edit
/// lists, Ogg Opus pre-skip); integer PCM is divided by `2^(bits-1)` (what swresample and
/// soundfile do). [`FfmpegOptions`] adds mono mixdown, resampling and an FFmpeg filter graph.
///
/// [`StreamInfo`] describes the *output* (after filter, mono and resampling); `frames` is
/// known where the container counts the stream in samples (WAV, FLAC, Ogg, MP4 ...) and no
/// filter is set. A stream that ends before the announced count gives [`Error::Decode`]
/// ("truncated"); damaged packets are skipped (with a `log` warning), and an undecodable
/// stream gives [`Error::Decode`]. Errors never panic and reading never hangs: FFmpeg's
/// retries are bounded and an optional [`FfmpegOptions::timeout`] bounds slow input.
///
/// [`Decoder::seek`] is exact, and yields the samples a decode from the start yields: it seeks
/// the demuxer to a point before the target (far enough back to warm the codec up: the
/// codec's pre-roll, 80 ms for Opus, plus eight codec frames), then decodes and discards up
/// to the target frame, located by the decoded frames' timestamps (bit-identical to decoding
/// from the start for PCM, FLAC, MP3, Vorbis and Opus, as the tests check). Short hops
/// forward decode on; targets within the pre-roll of the start, AAC (whose PNS noise
/// generator a seek cannot rewind; see [`FfmpegOptions::fast_seek`]), streams with a filter
/// or resampling (stateful stages), and streams without timestamps decode from the start
/// when seeking backwards.
///
/// FFmpeg's own messages (warnings about damaged input and the like) go to the
/// [`log`](https://docs.rs/log) crate under the target `ffmpeg`, not to stderr: wavegpu installs
/// FFmpeg's process-wide log callback on its first FFmpeg call (on targets other than x86-64
/// Linux and macOS it sets FFmpeg's log level to quiet instead).
///
/// Usually opened through [`Backend::open`](super::Backend::open).
pub struct FfmpegDecoder<'a> {
    // FFmpeg's state must go before `io` (see the module notes).
    core: Option<Core>,
    io: IoBox<'a>,
    options: FfmpegOptions,
    hint: Option<String>,
    info: StreamInfo,
    /// Staging planes (one per output channel) and the current chunk, planar.
    planes: Vec<Vec<f32>>,
    buf: Vec<f32>,
    frames: usize,
    /// `buf` holds a chunk not yet handed out.
    pending: bool,
    /// The frame the next chunk starts at.
    pos: u64,
    /// Whether `pos` is known (false between a demuxer seek and the first timestamp).
    located: bool,
    /// Nothing has been decoded since opening (or reopening).
    from_start: bool,
    /// Timestamp of the stream's first output frame (native seeking).
    origin: Option<i64>,
    chunk_pts: Option<i64>,
    state: State,
}

impl std::fmt::Debug for FfmpegDecoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfmpegDecoder")
            .field("info", &self.info)
            .field("options", &self.options)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl<'a> FfmpegDecoder<'a> {
    /// A builder for decoding options (mono, sample rate, filter, timeout).
    pub fn options() -> FfmpegOptions {
        FfmpegOptions::new()
    }

    /// Opens `source` (a path or bytes): probes the container, picks the best audio stream
    /// and opens its decoder. Fails with [`Error::Unsupported`] for inputs FFmpeg recognises
    /// no container in and codecs this FFmpeg build cannot decode, [`Error::Decode`] for
    /// empty, truncated or corrupt headers and inputs without audio, and [`Error::Io`] when
    /// the input cannot be read.
    pub fn open(source: impl Into<Source<'a>>) -> Result<Self> {
        Self::open_with(source, &FfmpegOptions::default())
    }

    /// Opens `source` with `options` (same as [`FfmpegOptions::open`]).
    pub fn open_with(source: impl Into<Source<'a>>, options: &FfmpegOptions) -> Result<Self> {
        options.validate()?;
        let (mut io, input, hint) = open_stream(source.into())?;
        io.state().begin(options.timeout);
        let (core, shape) = Core::open(&mut io, options, &input, hint.as_deref())?;
        let facts = &core.facts;
        let mut info = StreamInfo::new(
            &input,
            BACKEND,
            facts.container.clone(),
            facts.codec.clone(),
            shape.rate,
            shape.channels,
        );
        info.bits_per_sample = facts.bits_per_sample;
        info.frames = if options.filter.is_some() || core.dec_rate != facts.sample_rate {
            None
        } else if core.resamplers.is_empty() {
            facts.frames
        } else {
            facts
                .frames
                .map(|n| resampled_len(n, core.dec_rate, shape.rate))
        };
        Ok(FfmpegDecoder {
            planes: vec![Vec::new(); shape.channels],
            core: Some(core),
            io,
            options: options.clone(),
            hint,
            info,
            buf: Vec::new(),
            frames: 0,
            pending: false,
            pos: 0,
            located: true,
            from_start: true,
            origin: None,
            chunk_pts: None,
            state: State::Live,
        })
    }

    /// What the options ask for, as given when opening.
    pub fn decoding_options(&self) -> &FfmpegOptions {
        &self.options
    }

    /// Seeking by the demuxer gives the samples a decode from the start gives: no stage that
    /// keeps state across frames, and not AAC's noise generator (unless `fast_seek`).
    fn native_seek(&self) -> bool {
        self.core.as_ref().is_some_and(|c| {
            let aac = matches!(
                c.facts.codec_id,
                ff::codec::Id::AAC | ff::codec::Id::AAC_LATM
            );
            c.graph.is_none() && c.resamplers.is_empty() && (!aac || self.options.fast_seek)
        })
    }

    /// Decodes the next chunk into `buf`; false at the end of the stream.
    fn decode_next(&mut self) -> Result<bool> {
        let Some(core) = self.core.as_mut() else {
            return Ok(false);
        };
        for p in &mut self.planes {
            p.clear();
        }
        let produced = core.produce(&mut self.io, self.options.mono, &mut self.planes)?;
        self.chunk_pts = core.chunk_pts;
        if !produced {
            self.state = State::Ended;
            self.finish()?;
            return Ok(false);
        }
        let n = self.planes[0].len();
        if self.planes.iter().any(|p| p.len() != n) {
            return Err(Error::Decode {
                input: self.info.input.clone(),
                component: "ffmpeg decoder",
                reason: "channels of unequal length".to_string(),
            });
        }
        self.buf.clear();
        for p in &self.planes {
            self.buf.extend_from_slice(p);
        }
        self.frames = n;
        if self.from_start {
            self.from_start = false;
            if self.native_seek() {
                self.origin = self.chunk_pts;
            }
        }
        Ok(true)
    }

    /// End of stream: check it delivered what the headers announced.
    fn finish(&mut self) -> Result<()> {
        let Some(core) = self.core.as_ref() else {
            return Ok(());
        };
        if !core.produced_any && core.failed_packets > 0 && self.pos == 0 {
            return Err(Error::Decode {
                input: self.info.input.clone(),
                component: "ffmpeg decoder",
                reason: format!(
                    "no packet could be decoded ({} failed; last: {})",
                    core.failed_packets,
                    core.last_error.as_deref().unwrap_or("?")
                ),
            });
        }
        if let (true, Some(expected)) = (self.located, self.info.frames) {
            if self.pos < expected {
                let reason = if core.failed_packets > 0 {
                    format!(
                        "truncated or corrupt stream: only {} of the {expected} frames the \
                         header announces were decoded ({} packets could not be decoded; \
                         last: {})",
                        self.pos,
                        core.failed_packets,
                        core.last_error.as_deref().unwrap_or("?")
                    )
                } else {
                    let why = core
                        .demux_error
                        .as_deref()
                        .map(|e| format!(" (FFmpeg stopped reading: {e})"))
                        .unwrap_or_default();
                    format!(
                        "truncated stream: the header announces {expected} frames but only {} \
                         could be decoded{why}",
                        self.pos
                    )
                };
                return Err(Error::Decode {
                    input: self.info.input.clone(),
                    component: "ffmpeg demuxer",
                    reason,
                });
            }
        }
        Ok(())
    }

    /// Decodes forward, discarding, until the next chunk starts at `target` or the stream
    /// ends. Returns the position reached.
    fn discard_to(&mut self, target: u64) -> Result<u64> {
        loop {
            if !self.pending {
                if self.state != State::Live || !self.decode_next()? {
                    return Ok(self.pos);
                }
                self.pending = true;
            }
            let n = self.frames as u64;
            if self.pos + n <= target {
                self.pos += n;
                self.pending = false;
                continue;
            }
            let skip = target.saturating_sub(self.pos) as usize;
            if skip > 0 {
                let channels = self.planes.len();
                let len = self.frames - skip;
                for c in 0..channels {
                    let from = c * self.frames + skip;
                    self.buf.copy_within(from..from + len, c * len);
                }
                self.buf.truncate(channels * len);
                self.frames = len;
                self.pos = target;
            }
            return Ok(self.pos);
        }
    }

    /// Closes everything FFmpeg and opens the input again from its first byte.
    fn restart(&mut self) -> Result<()> {
        self.core = None;
        self.pending = false;
        self.state = State::Failed;
        self.io.rewind().map_err(|e| Error::Io {
            path: self.info.input.clone(),
            source: e,
        })?;
        let (core, shape) = Core::open(
            &mut self.io,
            &self.options,
            &self.info.input,
            self.hint.as_deref(),
        )?;
        if shape.rate != self.info.sample_rate || shape.channels != self.info.channels {
            return Err(Error::Decode {
                input: self.info.input.clone(),
                component: "ffmpeg decoder",
                reason: "the input changed while it was being decoded".to_string(),
            });
        }
        self.core = Some(core);
        self.pos = 0;
        self.located = true;
        self.from_start = true;
        self.state = State::Live;
        Ok(())
    }

    /// Seeks with the demuxer and locates the landing point by timestamps. `None` when that
    /// cannot be done exactly (the caller then decodes from the start).
    fn seek_native(&mut self, target: u64) -> Result<Option<u64>> {
        if self.origin.is_none() && self.from_start && self.state == State::Live && !self.pending {
            // Learn the first frame's timestamp.
            if self.decode_next()? {
                self.pending = true;
            }
        }
        let Some(origin) = self.origin else {
            return Ok(None);
        };
        let rate = self.info.sample_rate;
        let Some(core) = self.core.as_mut() else {
            return Ok(None);
        };
        let tb = core.facts.time_base;
        if tb.numerator() <= 0 || tb.denominator() <= 0 || rate == 0 {
            return Ok(None);
        }
        if target <= core.facts.preroll {
            // Near the start, decoding from the start is as cheap, and exact for every codec.
            return Ok(None);
        }
        let start = target - core.facts.preroll;
        let per_sample = ff::Rational::new(1, rate as i32);
        let Ok(start_i) = i64::try_from(start) else {
            return Ok(None);
        };
        // SAFETY: pure arithmetic.
        let offset = unsafe { ffi::av_rescale_q(start_i, per_sample.into(), tb.into()) };
        match core.seek_to(origin.saturating_add(offset)) {
            Ok(()) => {}
            Err(e) => {
                if self.io.state().has_io_cause() {
                    return Err(ff_error(&self.info.input, "ffmpeg seek", e, &mut self.io));
                }
                return Ok(None);
            }
        }
        self.pending = false;
        self.located = false;
        self.state = State::Live;
        let mut untimed = 0u32;
        loop {
            if !self.decode_next()? {
                return Ok(None);
            }
            let landed = self.chunk_pts.and_then(|p| {
                let d = p.checked_sub(origin)?;
                // SAFETY: pure arithmetic.
                let at = unsafe { ffi::av_rescale_q(d, tb.into(), per_sample.into()) };
                u64::try_from(at).ok()
            });
            match landed {
                None => {
                    untimed += 1;
                    if untimed > MAX_UNTIMED {
                        return Ok(None);
                    }
                }
                Some(at) if at > target => return Ok(None),
                Some(at) => {
                    self.pos = at;
                    self.pending = true;
                    self.located = true;
                    return self.discard_to(target).map(Some);
                }
            }
        }
    }

    fn seek_inner(&mut self, target: u64) -> Result<u64> {
        if self.state == State::Failed || self.core.is_none() {
            self.restart()?;
        }
        let forward = target >= self.pos;
        if forward && self.state == State::Ended {
            return Ok(self.pos);
        }
        // Short hops forward (and every forward hop when the pipeline has state) decode on.
        let window = self.core.as_ref().map_or(0, |c| {
            2 * c.facts.preroll + u64::from(self.info.sample_rate)
        });
        if forward && (!self.native_seek() || target - self.pos <= window) {
            return self.discard_to(target);
        }
        if self.native_seek() {
            if let Some(at) = self.seek_native(target)? {
                return Ok(at);
            }
        }
        self.restart()?;
        self.discard_to(target)
    }
}

/// The length swresample gives for `n` input frames at `from` Hz resampled to `to` Hz
/// (flushed): `ceil(n * to / from)`.
fn resampled_len(n: u64, from: u32, to: u32) -> u64 {
    let num = u128::from(n) * u128::from(to);
    let den = u128::from(from);
    u64::try_from(num.div_ceil(den)).unwrap_or(u64::MAX)
}

impl Decoder for FfmpegDecoder<'_> {
    fn spec(&self) -> &StreamInfo {
        &self.info
    }

    fn next_chunk(&mut self) -> Result<Option<AudioChunk<'_>>> {
        if self.pending {
            self.pending = false;
        } else {
            if self.state != State::Live {
                return Ok(None);
            }
            self.io.state().begin(self.options.timeout);
            match self.decode_next() {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => {
                    self.state = State::Failed;
                    return Err(e);
                }
            }
        }
        self.pos += self.frames as u64;
        AudioChunk::new(&self.buf, self.info.channels, self.frames).map(Some)
    }

    fn seek(&mut self, frame: u64) -> Result<u64> {
        self.io.state().begin(self.options.timeout);
        let result = self.seek_inner(frame);
        if result.is_err() {
            self.state = State::Failed;
            self.pending = false;
        }
        result
    }
}

/// Opens `source` with the default options (for [`Backend::open`](super::Backend::open)).
pub(crate) fn open(source: Source<'_>) -> Result<FfmpegDecoder<'_>> {
    FfmpegDecoder::open(source)
}
