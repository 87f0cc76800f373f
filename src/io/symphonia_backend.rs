//! The pure-Rust decoding backend, on symphonia 0.6.

use std::fs::File;
use std::io::{Cursor, ErrorKind, Read, Seek, SeekFrom};

use symphonia::core::audio::conv::FromSample;
use symphonia::core::audio::{Audio as _, GenericAudioBufferRef};
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::errors::SeekErrorKind;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::{TimeBase, Timestamp};

use super::decoder::{AudioChunk, Decoder, StreamInfo};
use super::mp4::{self, Mp4Edit};
use super::probe::ProbeInfo;
use super::source::{ReadSeek, Source, SourceKind};
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
/// [`seek`](Decoder::seek) is sample exact for every format it opens: the next chunk starts at
/// the frame asked for and holds the samples a decode from the start gives there, bit for bit.
/// It asks symphonia for an accurate seek to a point a little before the target (the codec's
/// pre-roll: 3 frames for MPEG audio, 8192 samples for Vorbis, none for PCM, FLAC and ALAC),
/// makes the codec afresh, and drops decoded frames up to the target using the packets'
/// timestamps; the pre-roll lets the codec's overlap, filter-bank and bit-reservoir state
/// settle. Targets near the start, or a little ahead of the decoder, are reached by decoding
/// on, counting frames. Two cases always decode up to the target (from where the decoder
/// stands when that is before it, else from the start): AAC, unless
/// [`fast_seek`](Self::fast_seek) is set (its noise substitution depends on the whole stream
/// before), and the Matroska/WebM container (its millisecond timestamps cannot place frames).
/// An MP3 whose length is only estimated (no LAME/Xing header) finds its end by decoding.
///
/// Usually opened through [`Backend::open`](super::Backend::open).
pub struct SymphoniaDecoder<'a> {
    /// The container reader; `None` only after a failed attempt to reopen it (see `rewind`).
    format: Option<Box<dyn FormatReader + 'a>>,
    decoder: Box<dyn AudioDecoder>,
    /// The track's codec parameters, to make a fresh decoder after a seek.
    params: AudioCodecParameters,
    /// The extension hint the container was probed with, to probe it again on a rewind.
    hint: Option<String>,
    track_id: u32,
    info: StreamInfo,
    /// The track's time base (packet timestamps are in its units).
    time_base: Option<TimeBase>,
    /// Frames a seek starts early so that the codec state has settled by the target.
    preroll: u64,
    /// MP4 edit list: frames skipped at the start, and the presented length.
    edit_skip: u64,
    edit_end: Option<u64>,
    /// After a seek: the frame the next chunk must start at; packets before it are dropped.
    seek_target: Option<u64>,
    /// After a seek reached by decoding on (from the start or from where the decoder was):
    /// frames are counted as they come and dropped up to this one.
    drop_to: Option<u64>,
    /// Packet timestamps place decoded frames exactly (not so for Matroska, whose timestamps
    /// are in milliseconds and carry no codec delay): container seeks are usable.
    timestamps_exact: bool,
    /// AAC seeks by container seek and pre-roll rather than decoding from the start.
    fast_seek: bool,
    /// `info.frames` is the stream's true length, not an estimate.
    frames_exact: bool,
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

/// A [`Source::reader`] as a symphonia `MediaSource`: seekable, its length measured once.
struct ReaderSource<'a> {
    inner: Box<dyn ReadSeek + 'a>,
    len: Option<u64>,
}

impl Read for ReaderSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for ReaderSource<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl MediaSource for ReaderSource<'_> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        self.len
    }
}

/// An opened container: the format reader, the chosen audio track and what we know about it.
struct Opened<'a> {
    format: Box<dyn FormatReader + 'a>,
    hint: Option<String>,
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
    let hint_ext = source.extension_hint().map(str::to_string);
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
        SourceKind::Reader(mut reader) => {
            let len = reader.seek(SeekFrom::End(0)).map_err(io_err)?;
            if len == 0 {
                return Err(empty_input(&input));
            }
            reader.seek(SeekFrom::Start(0)).map_err(io_err)?;
            let mut head = [0u8; 12];
            let n = read_head(&mut reader, &mut head).map_err(io_err)?;
            let edits = if mp4::looks_like_mp4(&head[..n]) {
                mp4::read_edits(&mut reader)
            } else {
                Vec::new()
            };
            reader.seek(SeekFrom::Start(0)).map_err(io_err)?;
            let media = ReaderSource {
                inner: reader,
                len: Some(len),
            };
            (Box::new(media), edits, sniff(&head[..n]))
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
    let probed = probe_format(&input, hint_ext.as_deref(), mss)?;
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
        hint: hint_ext,
        track,
        info,
        edit,
        duration_secs,
    })
}

/// Runs symphonia's container probe over `mss`.
fn probe_format<'a>(
    input: &str,
    ext: Option<&str>,
    mss: MediaSourceStream<'a>,
) -> Result<std::result::Result<Box<dyn FormatReader + 'a>, SymError>> {
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    guarded(input, "symphonia probe", || {
        symphonia::default::get_probe().probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
    })
}

/// Creates symphonia's decoder for `params`.
fn make_decoder(params: &AudioCodecParameters, info: &StreamInfo) -> Result<Box<dyn AudioDecoder>> {
    let made = guarded(&info.input, "symphonia decoder", || {
        symphonia::default::get_codecs().make_audio_decoder(params, &AudioDecoderOptions::default())
    })?;
    made.map_err(|e| match e {
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

fn read_head(file: &mut (impl Read + ?Sized), head: &mut [u8]) -> std::io::Result<usize> {
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
            hint,
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
        let decoder = make_decoder(params, &info)?;
        let info_frames = info.frames;
        let preroll = preroll_frames(params.codec);
        // With an edit list, stop at the presented length: the edit's duration, capped by
        // the sample table's (whose last entry is often shortened to the true length).
        let edit_end = edit.and(info_frames).or(edit.and_then(|e| e.duration));
        // An MPEG audio stream without a LAME tag has its length estimated from the file size
        // (exact for CBR, not for VBR): neither a truncation check nor a seek bound.
        let mpeg = [
            codec_ids::CODEC_ID_MP1,
            codec_ids::CODEC_ID_MP2,
            codec_ids::CODEC_ID_MP3,
        ]
        .contains(&params.codec);
        let frames_exact = !(mpeg && track.delay.is_none());
        let timestamps_exact = info.container != "matroska";
        let mut dec = SymphoniaDecoder {
            frames_exact,
            format: Some(format),
            decoder,
            params: params.clone(),
            hint,
            track_id: track.id,
            info,
            time_base: track.time_base,
            preroll,
            edit_skip: edit.map_or(0, |e| e.skip),
            edit_end,
            seek_target: None,
            drop_to: None,
            timestamps_exact,
            fast_seek: false,
            buf: Vec::new(),
            frames: 0,
            pending: false,
            skip: edit.map_or(0, |e| e.skip),
            remaining: edit_end,
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
            let format = format_reader(&mut self.format, &self.info.input)?;
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
                // In a seek's pre-roll, a packet whose bit reservoir lies before the seek point
                // cannot decode; that is expected and not counted.
                Err(SymError::DecodeError(_) | SymError::IoError(_))
                    if self.seek_target.is_some() =>
                {
                    continue;
                }
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
            let mut start = 0usize;
            if let Some(target) = self.seek_target {
                // After a seek: place the packet by its timestamp, drop what precedes the target.
                let first = packet
                    .pts
                    .get()
                    .saturating_add_unsigned(packet.trim_start.get());
                let at = self.ts_to_frame(first) - self.edit_skip as i64;
                let end = at + frames as i64;
                if end <= target as i64 {
                    self.produced = self.produced.max(end.max(0) as u64);
                    continue;
                }
                if at > target as i64 {
                    log::warn!(
                        "{}: seeking to frame {target} landed at frame {at}",
                        self.info.input
                    );
                    self.produced = at as u64;
                } else {
                    start = (target as i64 - at) as usize;
                    self.produced = target;
                }
                self.seek_target = None;
                self.remaining = self.edit_end.map(|e| e.saturating_sub(self.produced));
                if self.remaining == Some(0) {
                    continue;
                }
            } else if self.skip > 0 {
                // MP4 edit list: drop priming frames, stop after the presented duration.
                start = self.skip.min(frames as u64) as usize;
                self.skip -= start as u64;
            }
            let mut len = frames - start;
            if let Some(rem) = self.remaining.as_mut() {
                len = len.min(usize::try_from(*rem).unwrap_or(usize::MAX));
                *rem -= len as u64;
            }
            if let Some(target) = self.drop_to {
                // A seek reached by decoding on: count frames, drop those before the target.
                let here = self.produced;
                if here + len as u64 <= target {
                    self.produced += len as u64;
                    continue;
                }
                let d = (target - here) as usize;
                start += d;
                len -= d;
                self.produced = target;
                self.drop_to = None;
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

    /// A timestamp in the track's time base as a frame index (sample-rate units).
    fn ts_to_frame(&self, ts: i64) -> i64 {
        let sr = i128::from(self.info.sample_rate);
        match self.time_base {
            Some(tb) if !(tb.numer.get() == 1 && i128::from(tb.denom.get()) == sr) && sr > 0 => {
                let n = i128::from(ts) * i128::from(tb.numer.get()) * sr;
                n.div_euclid(i128::from(tb.denom.get())) as i64
            }
            _ => ts,
        }
    }

    /// A frame index as a timestamp in the track's time base, rounded down.
    fn frame_to_ts(&self, frame: u64) -> i64 {
        let sr = i128::from(self.info.sample_rate);
        match self.time_base {
            Some(tb) if !(tb.numer.get() == 1 && i128::from(tb.denom.get()) == sr) && sr > 0 => {
                let n = i128::from(frame) * i128::from(tb.denom.get());
                let ts = n.div_euclid(i128::from(tb.numer.get()) * sr);
                i64::try_from(ts).unwrap_or(i64::MAX)
            }
            _ => i64::try_from(frame).unwrap_or(i64::MAX),
        }
    }

    /// Positions the stream at its end, `total` frames in.
    fn park_at_end(&mut self, total: u64) -> u64 {
        self.pending = false;
        self.seek_target = None;
        self.drop_to = None;
        self.skip = 0;
        self.remaining = Some(0);
        self.produced = total;
        self.done = true;
        total
    }

    /// Asks the format reader to move to `ts` (accurate mode) and gives the codec a fresh
    /// state. The outer error is ours (a panic caught in symphonia, a codec that cannot be
    /// made), the inner one symphonia's answer to the seek.
    fn container_seek(&mut self, ts: Timestamp) -> Result<std::result::Result<(), SymError>> {
        let track_id = self.track_id;
        let format = format_reader(&mut self.format, &self.info.input)?;
        let moved = guarded(&self.info.input, "symphonia seek", || {
            format.seek(SeekMode::Accurate, SeekTo::Timestamp { ts, track_id })
        })
        .inspect_err(|_| self.done = true)?;
        if moved.is_ok() {
            self.fresh_codec()?;
        }
        Ok(moved.map(|_| ()))
    }

    /// Replaces the codec by a new one: `AudioDecoder::reset` keeps some state (AAC's noise
    /// generator), a new decoder is in the state a decode from the start begins with.
    fn fresh_codec(&mut self) -> Result<()> {
        self.decoder = make_decoder(&self.params, &self.info).inspect_err(|_| self.done = true)?;
        Ok(())
    }

    /// Goes back to the very start by probing the container again from byte 0 (with the
    /// codec made afresh): the state right after opening, for every format.
    fn rewind(&mut self) -> Result<()> {
        let input = self.info.input.clone();
        let Some(format) = self.format.take() else {
            return Err(unusable(&input));
        };
        self.done = true;
        let mut mss = format.into_inner();
        mss.seek(SeekFrom::Start(0)).map_err(|e| Error::Io {
            path: input.clone(),
            source: e,
        })?;
        let format = probe_format(&input, self.hint.as_deref(), mss)?
            .map_err(|e| sym_error(&input, "symphonia probe", e))?;
        let Some(track) = format.default_track(TrackType::Audio) else {
            return Err(Error::Decode {
                input,
                component: "symphonia probe",
                reason: "the audio track is gone when probing the stream again".to_string(),
            });
        };
        self.track_id = track.id;
        self.format = Some(format);
        self.fresh_codec()?;
        // The state of a freshly opened decoder.
        self.skip = self.edit_skip;
        self.remaining = self.edit_end;
        self.produced = 0;
        self.done = false;
        Ok(())
    }

    fn seek_error(&self, e: SymError) -> Error {
        match e {
            SymError::SeekError(kind) => {
                let reason = match kind {
                    SeekErrorKind::Unseekable => "the stream is not seekable".to_string(),
                    SeekErrorKind::ForwardOnly => {
                        "the stream can only seek forward, and this seek goes back".to_string()
                    }
                    other => format!("symphonia cannot seek this stream ({other:?})"),
                };
                Error::Unsupported {
                    input: self.info.input.clone(),
                    component: "symphonia seek",
                    reason,
                }
            }
            e => sym_error(&self.info.input, "symphonia seek", e),
        }
    }

    /// Chooses how [`seek`](Decoder::seek) treats AAC. By default (`false`) a seek decodes
    /// from the start of the stream (or on from where the decoder stands, when that is before
    /// the target) so that the samples are exactly those of a decode from the start: symphonia's
    /// AAC decoder fills noise-substituted (PNS) bands from a random generator that runs
    /// through the whole stream, which no seek can restore. Decoding AAC runs at about 1500x
    /// real time (stereo 44.1 kHz, measured on one core of a server CPU), so a backward or far
    /// seek costs up to ~2.5 s per hour of audio before the target.
    ///
    /// With `true`, AAC seeks like the other codecs (container seek, 3 frames of pre-roll): the
    /// position is still exact and frames coded without PNS are bit-identical, but frames with
    /// PNS bands get other noise of the same energy in those bands (measured on FFmpeg-encoded
    /// files: up to 0.18 absolute on stereo noise-like material, 0.01 on speech).
    /// Other codecs seek exactly either way.
    pub fn fast_seek(mut self, fast: bool) -> Self {
        self.fast_seek = fast;
        self
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
        if let Some(expected) = self.info.frames.filter(|_| self.frames_exact) {
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

/// The format reader, or an error when a failed rewind left none.
fn format_reader<'r, 'a>(
    format: &'r mut Option<Box<dyn FormatReader + 'a>>,
    input: &str,
) -> Result<&'r mut Box<dyn FormatReader + 'a>> {
    format.as_mut().ok_or_else(|| unusable(input))
}

fn unusable(input: &str) -> Error {
    Error::Decode {
        input: input.to_string(),
        component: "symphonia seek",
        reason: "the stream could not be reopened after a failed seek".to_string(),
    }
}

/// A seek at most this many frames (plus the pre-roll) ahead of the decoder decodes on
/// instead of asking the container to seek.
const NEAR_FRAMES: u64 = 4096;

/// Frames decoded before a seek target so that the codec's state (overlap-add, synthesis
/// filter bank, bit reservoir) is that of a decode from the start by the target.
fn preroll_frames(codec: AudioCodecId) -> u64 {
    match codec {
        // One MPEG frame of overlap and filter-bank memory; the demuxer itself backs up over the
        // frames the bit reservoir reaches into. Three frames leave a margin.
        c if c == codec_ids::CODEC_ID_MP1
            || c == codec_ids::CODEC_ID_MP2
            || c == codec_ids::CODEC_ID_MP3 =>
        {
            3 * 1152
        }
        // One frame of MDCT overlap (1024, or 960 for the short-frame variant); three for margin.
        c if c == codec_ids::CODEC_ID_AAC => 3 * 1024,
        // A Vorbis packet's output overlaps the previous packet's long block (at most 8192).
        c if c == codec_ids::CODEC_ID_VORBIS => 8192,
        // PCM, ADPCM, FLAC, ALAC: every packet decodes on its own.
        _ => 0,
    }
}

impl Decoder for SymphoniaDecoder<'_> {
    fn spec(&self) -> &StreamInfo {
        &self.info
    }

    /// Sample-exact seek (see the type's docs). Seeking past the end (when the length is known,
    /// or found by decoding to the end when it is not) leaves the decoder at the end and
    /// returns the length. A stream that cannot seek gives [`Error::Unsupported`]; a stream that
    /// ends before the header's length while seeking gives [`Error::Decode`], as reading does.
    fn seek(&mut self, frame: u64) -> Result<u64> {
        self.pending = false;
        if self.info.sample_rate == 0 {
            return Err(Error::Unsupported {
                input: self.info.input.clone(),
                component: "symphonia seek",
                reason: "the stream's sample rate is unknown".to_string(),
            });
        }
        let known = self.info.frames.filter(|_| self.frames_exact);
        if let Some(total) = known.or(self.edit_end) {
            if frame >= total {
                return Ok(self.park_at_end(total));
            }
        }
        // Where the decoder stands: the frame after the last one decoded.
        let here = self.produced;
        // Codecs whose state a container seek cannot restore (AAC's noise generator), and
        // containers whose timestamps cannot place frames exactly, are decoded up to the target.
        let linear = (self.params.codec == codec_ids::CODEC_ID_AAC && !self.fast_seek)
            || !self.timestamps_exact;
        let near = frame.saturating_sub(here) <= self.preroll + NEAR_FRAMES;
        let from = frame
            .saturating_add(self.edit_skip)
            .saturating_sub(self.preroll);
        self.seek_target = None;
        self.drop_to = None;
        if !self.done && frame >= here && (near || linear) {
            // Ahead of the decoder and close by (or a linear case): decode on to the target.
            self.drop_to = Some(frame);
        } else if from == 0 || linear {
            // Within the pre-roll of the start (or a linear case): decode from the start.
            self.rewind()?;
            self.drop_to = Some(frame);
        } else {
            match self.container_seek(Timestamp::new(self.frame_to_ts(from)))? {
                Ok(()) => {
                    // Place the packets by their timestamps from here on.
                    self.skip = 0;
                    self.remaining = None;
                    self.produced = 0;
                    self.seek_target = Some(frame);
                }
                // Past the end of a stream of unknown length, or a seek symphonia's reader
                // cannot do (its Ogg reader fails near the start of small files): decode from
                // the start up to the target, or to the end.
                Err(SymError::SeekError(SeekErrorKind::OutOfRange)) => {
                    self.rewind()?;
                    self.drop_to = Some(frame);
                }
                Err(e) => return Err(self.seek_error(e)),
            }
        }
        self.done = false;
        let found = self.decode_next();
        self.seek_target = None;
        self.drop_to = None;
        if found? {
            self.pending = true;
            Ok(self.produced - self.frames as u64)
        } else {
            Ok(self.produced)
        }
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
