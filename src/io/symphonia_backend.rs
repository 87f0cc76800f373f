//! The pure-Rust decoding backend, on symphonia 0.6.

use std::fs::File;
use std::io::{Cursor, ErrorKind, Read, Seek, SeekFrom};

use symphonia::core::audio::conv::FromSample;
use symphonia::core::audio::{Audio as _, GenericAudioBufferRef};
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::decoder::{AudioChunk, Decoder, StreamInfo};
use super::mp4::{self, Mp4Edit};
use super::probe::ProbeInfo;
use super::source::{Source, SourceKind};
use crate::error::{Error, Result};

const BACKEND: &str = "symphonia";

/// The symphonia backend's [`Decoder`]: WAV/AIFF/CAF (PCM, float, ADPCM), FLAC, MP1/2/3,
/// Ogg Vorbis, AAC-LC in MP4/M4A or ADTS, ALAC, and the MKV/WebM container.
///
/// Gapless: MP3 (LAME/Xing delay and padding) and Vorbis are trimmed by symphonia. For
/// MP4/M4A the edit list is applied here: the AAC encoder's priming frames are skipped, as
/// FFmpeg does, and the output stops at the presented length (the edit's duration capped by
/// the sample table's), which drops the trailing padding that FFmpeg 5.1 still returns. A file
/// so encoded from N samples decodes to N samples, aligned with the original.
///
/// The frame count in [`StreamInfo::frames`] comes from the headers; a stream that ends
/// before it is reported as truncated ([`Error::Decode`]). Streams without a count (an MP3
/// with no Xing/LAME header, say) decode as far as their data goes.
///
/// Opus has no symphonia decoder: opening it gives [`Error::Unsupported`].
///
/// Usually opened through [`Backend::open`](super::Backend::open).
pub struct SymphoniaDecoder<'a> {
    format: Box<dyn FormatReader + 'a>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: StreamInfo,
    /// The current chunk, planar `(channels, frames)`.
    buf: Vec<f32>,
    frames: usize,
    /// `buf` holds a chunk decoded while opening that `next_chunk` has not yet handed out.
    pending: bool,
    /// Frames still to drop from the start (MP4 edit list).
    skip: u64,
    /// Frames still allowed out (MP4 edit list duration).
    remaining: Option<u64>,
    /// Frames handed out so far (after trimming).
    produced: u64,
    failed_packets: u64,
    last_error: Option<String>,
    done: bool,
}

impl std::fmt::Debug for SymphoniaDecoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymphoniaDecoder")
            .field("info", &self.info)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

/// An opened container: the format reader, the chosen audio track and what we know about it.
struct Opened<'a> {
    format: Box<dyn FormatReader + 'a>,
    track: Track,
    info: StreamInfo,
    edit: Option<Mp4Edit>,
    duration_secs: Option<f64>,
}

fn sym_error(input: &str, component: &'static str, e: SymError) -> Error {
    let decode = |reason: String| Error::Decode {
        input: input.to_string(),
        component,
        reason,
    };
    match e {
        SymError::Unsupported(what) => Error::Unsupported {
            input: input.to_string(),
            component,
            reason: what.to_string(),
        },
        SymError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => decode(
            "unexpected end of data (the file is truncated or is not a complete audio file)"
                .to_string(),
        ),
        SymError::IoError(io) => Error::Io {
            path: input.to_string(),
            source: io,
        },
        SymError::DecodeError(what) => decode(format!("malformed stream: {what}")),
        SymError::LimitError(what) => decode(format!("limit reached: {what}")),
        other => decode(other.to_string()),
    }
}

/// Runs a symphonia call, turning a panic on malformed data into [`Error::Decode`], so that no
/// input can take the caller down (a no-op when built with `panic = "abort"`).
fn guarded<T>(input: &str, component: &'static str, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        Error::Decode {
            input: input.to_string(),
            component,
            reason: format!("failed on malformed data (panic: {what})"),
        }
    })
}

fn codec_name(id: AudioCodecId) -> String {
    if let Some(reg) = symphonia::default::get_codecs().get_audio_decoder(id) {
        return reg.codec.info.short_name.to_string();
    }
    let known = [
        (codec_ids::CODEC_ID_OPUS, "opus"),
        (codec_ids::CODEC_ID_SPEEX, "speex"),
        (codec_ids::CODEC_ID_AC3, "ac3"),
        (codec_ids::CODEC_ID_EAC3, "eac3"),
        (codec_ids::CODEC_ID_DCA, "dts"),
        (codec_ids::CODEC_ID_WMA, "wma"),
        (codec_ids::CODEC_ID_WAVPACK, "wavpack"),
        (codec_ids::CODEC_ID_MONKEYS_AUDIO, "ape"),
        (codec_ids::CODEC_ID_TTA, "tta"),
        (codec_ids::CODEC_ID_TRUEHD, "truehd"),
        (codec_ids::CODEC_ID_MUSEPACK, "musepack"),
        (codec_ids::CODEC_ID_ATRAC3, "atrac3"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("unknown codec {id}"))
}

fn container_name(short: &str) -> String {
    match short {
        "wave" => "wav",
        "isomp4" => "mp4",
        "aac" => "adts",
        other => other,
    }
    .to_string()
}

fn empty_input(input: &str) -> Error {
    Error::Decode {
        input: input.to_string(),
        component: "symphonia probe",
        reason: "empty input (0 bytes)".to_string(),
    }
}

/// Opens the container, picks the default audio track and reads its parameters.
fn open_container(source: Source<'_>) -> Result<Opened<'_>> {
    let input = source.name().to_string();
    let mut hint = Hint::new();
    if let Some(ext) = source.extension_hint() {
        hint.with_extension(ext);
    }
    let io_err = |e: std::io::Error| Error::Io {
        path: input.clone(),
        source: e,
    };

    let (media, edits, sniffed): (Box<dyn MediaSource + '_>, Vec<Mp4Edit>, _) = match source.kind {
        SourceKind::Path(path) => {
            let mut file = File::open(&path).map_err(io_err)?;
            let meta = file.metadata().map_err(io_err)?;
            if meta.is_dir() {
                return Err(io_err(std::io::Error::new(
                    ErrorKind::InvalidInput,
                    "is a directory, not an audio file",
                )));
            }
            if meta.len() == 0 {
                return Err(empty_input(&input));
            }
            let mut head = [0u8; 12];
            let n = read_head(&mut file, &mut head).map_err(io_err)?;
            let edits = if mp4::looks_like_mp4(&head[..n]) {
                mp4::read_edits(&mut file)
            } else {
                Vec::new()
            };
            file.seek(SeekFrom::Start(0)).map_err(io_err)?;
            (Box::new(file), edits, sniff(&head[..n]))
        }
        SourceKind::Bytes(bytes) => {
            let data = bytes.as_ref();
            if data.is_empty() {
                return Err(empty_input(&input));
            }
            let edits = if mp4::looks_like_mp4(data) {
                mp4::read_edits(&mut Cursor::new(data))
            } else {
                Vec::new()
            };
            let sniffed = sniff(&data[..data.len().min(12)]);
            (Box::new(Cursor::new(bytes)), edits, sniffed)
        }
    };

    let mss = MediaSourceStream::new(media, Default::default());
    let probed = guarded(&input, "symphonia probe", || {
        symphonia::default::get_probe().probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
    })?;
    let format = probed.map_err(|e| match e {
        // A known container's magic, yet no reader accepts it: a damaged file, typically one
        // cut short (an MP4 whose index never got written, a WAV cut inside its header).
        SymError::Unsupported(_) if sniffed.is_some() => Error::Decode {
            input: input.clone(),
            component: "symphonia probe",
            reason: format!(
                "has the signature of {} data but its header cannot be read (truncated or corrupt)",
                sniffed.unwrap_or("?")
            ),
        },
        SymError::Unsupported(_) => Error::Unsupported {
            input: input.clone(),
            component: "symphonia probe",
            reason: "no known audio container found (supported: wav, aiff, caf, flac, \
                         mp3, ogg, mp4/m4a, adts aac, mkv/webm)"
                .to_string(),
        },
        e => sym_error(&input, "symphonia probe", e),
    })?;

    let container = container_name(format.format_info().short_name);
    let Some(track) = format.default_track(TrackType::Audio).cloned() else {
        return Err(Error::Decode {
            input,
            component: "symphonia probe",
            reason: format!("the {container} container holds no audio track"),
        });
    };
    let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) else {
        return Err(Error::Decode {
            input,
            component: "symphonia probe",
            reason: "the audio track has no codec parameters".to_string(),
        });
    };
    let codec = codec_name(params.codec);
    let sample_rate = params.sample_rate.unwrap_or(0);
    let channels = params.channels.as_ref().map_or(0, |c| c.count());
    let mut info = StreamInfo::new(&input, BACKEND, container, codec, sample_rate, channels);
    info.bits_per_sample = params.bits_per_sample;
    info.frames = track.num_frames;

    let mut edit = edits.into_iter().find(|e| e.track_id == track.id);
    // The edit is in media timescale units; apply it only where that is the sample rate
    // (always the case for AAC written by FFmpeg or Apple's encoders).
    if let Some(e) = edit {
        if e.media_timescale != sample_rate || sample_rate == 0 {
            edit = None;
        }
    }
    if let (Some(e), Some(total)) = (edit, info.frames) {
        let after_skip = total.saturating_sub(e.skip);
        info.frames = Some(e.duration.map_or(after_skip, |d| d.min(after_skip)));
    }

    let duration_secs = match (info.frames, sample_rate) {
        (Some(n), sr) if sr > 0 => Some(n as f64 / sr as f64),
        _ => match (track.time_base, track.duration) {
            (Some(tb), Some(d)) => tb.calc_duration(d).map(|t| t.as_secs_f64()),
            _ => None,
        },
    };

    Ok(Opened {
        format,
        track,
        info,
        edit,
        duration_secs,
    })
}

/// The container a file's first bytes announce, for the formats symphonia reads.
fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"RIFF") && (head.len() < 12 || &head[8..12] == b"WAVE") {
        Some("WAV")
    } else if starts(b"fLaC") {
        Some("FLAC")
    } else if starts(b"OggS") {
        Some("Ogg")
    } else if mp4::looks_like_mp4(head) {
        Some("MP4")
    } else if starts(b"ID3") {
        Some("MP3 (ID3-tagged)")
    } else if starts(b"FORM") && (head.len() < 12 || matches!(&head[8..12], b"AIFF" | b"AIFC")) {
        Some("AIFF")
    } else if starts(b"caff") {
        Some("CAF")
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("Matroska/WebM")
    } else {
        None
    }
}

fn read_head(file: &mut File, head: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads `source`'s headers with symphonia.
pub(crate) fn probe(source: Source<'_>) -> Result<ProbeInfo> {
    let opened = open_container(source)?;
    let info = opened.info;
    Ok(ProbeInfo {
        input: info.input,
        backend: info.backend,
        container: info.container,
        codec: info.codec,
        sample_rate: info.sample_rate,
        channels: info.channels,
        frames: info.frames,
        duration: opened.duration_secs,
        bits_per_sample: info.bits_per_sample,
    })
}

impl<'a> SymphoniaDecoder<'a> {
    /// Opens `source`: probes the container, picks the default audio track and creates its
    /// decoder. Fails with [`Error::Unsupported`] for unknown containers and codecs without a
    /// symphonia decoder (Opus), [`Error::Decode`] for empty, truncated or corrupt headers and
    /// [`Error::Io`] when the file cannot be read.
    pub fn open(source: impl Into<Source<'a>>) -> Result<Self> {
        let Opened {
            format,
            track,
            info,
            edit,
            ..
        } = open_container(source.into())?;
        let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) else {
            return Err(Error::Decode {
                input: info.input,
                component: "symphonia probe",
                reason: "the audio track has no codec parameters".to_string(),
            });
        };
        let made = guarded(&info.input, "symphonia decoder", || {
            symphonia::default::get_codecs()
                .make_audio_decoder(params, &AudioDecoderOptions::default())
        })?;
        let decoder = made.map_err(|e| match e {
            SymError::Unsupported(what) => {
                let reason = if params.codec == codec_ids::CODEC_ID_OPUS {
                    "symphonia has no Opus decoder; decode Opus with the ffmpeg backend \
                         (cargo feature `ffmpeg`) or convert the file to another format"
                        .to_string()
                } else {
                    format!("no symphonia decoder for codec `{}` ({what})", info.codec)
                };
                Error::Unsupported {
                    input: info.input.clone(),
                    component: "symphonia decoder",
                    reason,
                }
            }
            e => sym_error(&info.input, "symphonia decoder", e),
        })?;
        let info_frames = info.frames;
        let mut dec = SymphoniaDecoder {
            format,
            decoder,
            track_id: track.id,
            info,
            buf: Vec::new(),
            frames: 0,
            pending: false,
            skip: edit.map_or(0, |e| e.skip),
            // With an edit list, stop at the presented length: the edit's duration, capped by
            // the sample table's (whose last entry is often shortened to the true length).
            remaining: edit.and(info_frames).or(edit.and_then(|e| e.duration)),
            produced: 0,
            failed_packets: 0,
            last_error: None,
            done: false,
        };
        if dec.info.sample_rate == 0 || dec.info.channels == 0 {
            // The headers do not say: learn it from the first decoded audio.
            dec.pending = dec.decode_next()?;
            if !dec.pending {
                return Err(Error::Decode {
                    input: dec.info.input.clone(),
                    component: "symphonia decoder",
                    reason: "the stream holds no decodable audio".to_string(),
                });
            }
        }
        Ok(dec)
    }

    /// Decodes packets until a non-empty chunk is in `buf` (true) or the stream ends (false).
    fn decode_next(&mut self) -> Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            if self.remaining == Some(0) {
                self.finish()?;
                return Ok(false);
            }
            let format = &mut self.format;
            let next = guarded(&self.info.input, "symphonia demuxer", || {
                format.next_packet()
            })
            .inspect_err(|_| self.done = true)?;
            let packet = match next {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.finish()?;
                    return Ok(false);
                }
                Err(SymError::ResetRequired) => {
                    // A chained stream (e.g. concatenated Ogg files): decode only the first.
                    log::warn!(
                        "{}: the stream changes its track list; decoding stops after the first",
                        self.info.input
                    );
                    self.finish()?;
                    return Ok(false);
                }
                Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    // Cut short inside a packet: what was decoded so far stands, unless the
                    // headers announced more (checked in `finish`).
                    self.finish()?;
                    return Ok(false);
                }
                Err(e) => return Err(sym_error(&self.info.input, "symphonia demuxer", e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoder = &mut self.decoder;
            let result = match guarded(&self.info.input, "symphonia decoder", || {
                decoder.decode(&packet)
            }) {
                Ok(r) => r,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            let decoded = match result {
                Ok(decoded) => decoded,
                Err(SymError::DecodeError(what)) => {
                    self.skip_packet(format!("malformed packet: {what}"));
                    continue;
                }
                Err(SymError::IoError(e)) => {
                    self.skip_packet(format!("packet read error: {e}"));
                    continue;
                }
                Err(e) => return Err(sym_error(&self.info.input, "symphonia decoder", e)),
            };
            let (channels, frames) = copy_planar(&decoded, &mut self.buf);
            let rate = decoded.spec().rate();
            if self.info.sample_rate == 0 {
                self.info.sample_rate = rate;
            }
            if self.info.channels == 0 {
                self.info.channels = channels;
            }
            if frames == 0 {
                continue;
            }
            if channels != self.info.channels || rate != self.info.sample_rate {
                return Err(Error::Decode {
                    input: self.info.input.clone(),
                    component: "symphonia decoder",
                    reason: format!(
                        "the stream changes from {} channels at {} Hz to {channels} channels at \
                         {rate} Hz mid-stream, which is not supported",
                        self.info.channels, self.info.sample_rate
                    ),
                });
            }
            // MP4 edit list: drop priming frames, stop after the presented duration.
            let mut start = 0usize;
            if self.skip > 0 {
                start = self.skip.min(frames as u64) as usize;
                self.skip -= start as u64;
            }
            let mut len = frames - start;
            if let Some(rem) = self.remaining.as_mut() {
                len = len.min(usize::try_from(*rem).unwrap_or(usize::MAX));
                *rem -= len as u64;
            }
            if len == 0 {
                continue;
            }
            if start != 0 || len != frames {
                for c in 0..channels {
                    let from = c * frames + start;
                    self.buf.copy_within(from..from + len, c * len);
                }
                self.buf.truncate(channels * len);
            }
            self.frames = len;
            self.produced += len as u64;
            return Ok(true);
        }
    }

    fn skip_packet(&mut self, why: String) {
        self.failed_packets += 1;
        log::warn!("{}: skipping a packet: {why}", self.info.input);
        self.last_error = Some(why);
    }

    /// End of stream: check that it delivered what the headers announced.
    fn finish(&mut self) -> Result<()> {
        self.done = true;
        if self.produced == 0 && self.failed_packets > 0 {
            return Err(Error::Decode {
                input: self.info.input.clone(),
                component: "symphonia decoder",
                reason: format!(
                    "no packet could be decoded ({} failed; last: {})",
                    self.failed_packets,
                    self.last_error.as_deref().unwrap_or("?")
                ),
            });
        }
        if let Some(expected) = self.info.frames {
            if self.produced < expected {
                return Err(Error::Decode {
                    input: self.info.input.clone(),
                    component: "symphonia demuxer",
                    reason: format!(
                        "truncated stream: the header announces {expected} frames but only {} \
                         could be decoded",
                        self.produced
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Copies a decoded buffer of any sample format into `dst` as planar f32 (integer formats
/// divided by 2^(bits-1), unsigned ones re-centred). Returns (channels, frames).
fn copy_planar(src: &GenericAudioBufferRef<'_>, dst: &mut Vec<f32>) -> (usize, usize) {
    macro_rules! planes {
        ($b:expr) => {{
            let b = $b;
            let channels = b.num_planes();
            let frames = b.frames();
            dst.clear();
            dst.resize(channels * frames, 0.0);
            for c in 0..channels {
                if let Some(plane) = b.plane(c) {
                    let out = &mut dst[c * frames..(c + 1) * frames];
                    for (d, s) in out.iter_mut().zip(plane) {
                        *d = f32::from_sample(*s);
                    }
                }
            }
            (channels, frames)
        }};
    }
    match src {
        GenericAudioBufferRef::U8(b) => planes!(b),
        GenericAudioBufferRef::U16(b) => planes!(b),
        GenericAudioBufferRef::U24(b) => planes!(b),
        GenericAudioBufferRef::U32(b) => planes!(b),
        GenericAudioBufferRef::S8(b) => planes!(b),
        GenericAudioBufferRef::S16(b) => planes!(b),
        GenericAudioBufferRef::S24(b) => planes!(b),
        GenericAudioBufferRef::S32(b) => planes!(b),
        GenericAudioBufferRef::F32(b) => planes!(b),
        GenericAudioBufferRef::F64(b) => planes!(b),
    }
}

impl Decoder for SymphoniaDecoder<'_> {
    fn spec(&self) -> &StreamInfo {
        &self.info
    }

    fn next_chunk(&mut self) -> Result<Option<AudioChunk<'_>>> {
        if self.pending {
            self.pending = false;
        } else if !self.decode_next()? {
            return Ok(None);
        }
        AudioChunk::new(&self.buf, self.info.channels, self.frames).map(Some)
    }
}
