//! Encoding audio: the streaming [`Encoder`] (planar `f32` chunks in, a file out) and
//! [`encode_audio`] for a whole [`Audio`].
//!
//! Two engines sit behind [`open_encoder`]:
//! - [`WavEncoder`] (pure Rust on hound, always built): WAV with 16/24/32-bit integer PCM or
//!   32-bit float samples, written as the chunks arrive (memory stays bounded).
//! - [`FfmpegEncoder`] (cargo feature `ffmpeg`): any FFmpeg audio encoder in any FFmpeg
//!   container — FLAC, MP3 (libmp3lame), Opus (libopus), AAC in M4A, Vorbis in Ogg, ... — with
//!   bit rate, compression level, VBR quality, sample format and raw codec options, sample-rate
//!   conversion through swresample, and frame-size buffering for codecs with fixed frames.
//!
//! The format comes from [`EncodeOptions::format`] or else from the output's extension; `.wav`
//! goes to [`WavEncoder`] unless an FFmpeg codec is named with [`EncodeOptions::codec`].

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::decoder::AudioChunk;
use super::resample::resample_named;
use crate::audio::Audio;
use crate::error::{Error, Result};

/// Frames per block when an [`Audio`] is fed to an encoder (bounds the copy buffer).
const BLOCK: usize = 1 << 14;

// ---------------------------------------------------------------------------------------
// options

/// How samples are stored: integer PCM of 16, 24 or 32 bits, or 32-bit IEEE float.
///
/// Integer formats scale by `2^(bits-1)`, round to nearest (ties to even, as FFmpeg's and
/// libsndfile's `lrintf`) and clip to `[-2^(bits-1), 2^(bits-1) - 1]`: the exact inverse of
/// the decoders' division by `2^(bits-1)`, so samples already on that grid come back bit for
/// bit. `+1.0` clips to `1 - 2^(1-bits)`.
///
/// ```
/// use wavegpu::io::SampleFormat;
/// assert_eq!("s24".parse::<SampleFormat>().unwrap(), SampleFormat::S24);
/// assert_eq!(SampleFormat::S16.bits(), 16);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 16-bit signed integers (soundfile's default for WAV and FLAC).
    S16,
    /// 24-bit signed integers.
    S24,
    /// 32-bit signed integers.
    S32,
    /// 32-bit IEEE float, stored as is (the default for WAV, as [`write_wav`](super::write_wav)).
    F32,
}

impl SampleFormat {
    /// Bits per stored sample.
    pub fn bits(self) -> u32 {
        match self {
            SampleFormat::S16 => 16,
            SampleFormat::S24 => 24,
            SampleFormat::S32 => 32,
            SampleFormat::F32 => 32,
        }
    }

    /// True for [`SampleFormat::F32`].
    pub fn is_float(self) -> bool {
        matches!(self, SampleFormat::F32)
    }

    /// The name [`str::parse`] takes: `s16`, `s24`, `s32`, `f32`.
    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::S16 => "s16",
            SampleFormat::S24 => "s24",
            SampleFormat::S32 => "s32",
            SampleFormat::F32 => "f32",
        }
    }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SampleFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "s16" | "pcm_16" | "int16" | "i16" => Ok(SampleFormat::S16),
            "s24" | "pcm_24" | "int24" | "i24" => Ok(SampleFormat::S24),
            "s32" | "pcm_32" | "int32" | "i32" => Ok(SampleFormat::S32),
            "f32" | "float" | "float32" | "flt" => Ok(SampleFormat::F32),
            other => Err(Error::param(
                "sample_format",
                format!("unknown sample format `{other}` (expected s16, s24, s32 or f32)"),
            )),
        }
    }
}

/// What [`open_encoder`] and [`encode_audio`] write: format, codec and codec settings, and
/// the output's rate and channels. Everything is optional; the defaults are the format's.
///
/// | option | WAV ([`WavEncoder`]) | FFmpeg ([`FfmpegEncoder`]) |
/// | --- | --- | --- |
/// | [`format`](Self::format) | `wav` | a container: `flac`, `mp3`, `ogg`, `opus`, `m4a`, `aac` (ADTS), `mka`, `wav`, or any FFmpeg muxer name |
/// | [`codec`](Self::codec) | — (naming one sends `.wav` to FFmpeg) | an FFmpeg encoder or codec name: `flac`, `mp3` (libmp3lame), `opus` (libopus), `aac`, `vorbis` (libvorbis), `pcm_s24le`, `alac`, ... Default: the container's |
/// | [`sample_format`](Self::sample_format) | s16, s24, s32, f32 (default) | lossless codecs: s16 (default) or s24 (s32 for PCM); lossy: the codec's input format (default: float when the codec takes it) |
/// | [`sample_rate`](Self::sample_rate) | must equal the input's ([`encode_audio`] resamples first) | resampled with swresample (its soxr engine where built in) |
/// | [`channels`](Self::channels) | mono mean or mono duplicated | same |
/// | [`bit_rate`](Self::bit_rate), [`quality`](Self::quality), [`compression_level`](Self::compression_level), [`codec_option`](Self::codec_option) | — | where the codec has them |
///
/// ```
/// use wavegpu::io::{EncodeOptions, SampleFormat};
/// let flac = EncodeOptions::default().sample_format(SampleFormat::S24).compression_level(8);
/// let mp3 = EncodeOptions::default().format("mp3").bit_rate(192_000);
/// let opus = EncodeOptions::default().codec("opus").sample_rate(48_000).codec_option("vbr", "off");
/// # let _ = (flac, mp3, opus);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EncodeOptions {
    format: Option<String>,
    codec: Option<String>,
    sample_format: Option<SampleFormat>,
    sample_rate: Option<u32>,
    channels: Option<usize>,
    bit_rate: Option<u64>,
    compression_level: Option<i32>,
    quality: Option<f32>,
    codec_options: Vec<(String, String)>,
}

impl EncodeOptions {
    /// The container, by extension-like name (`wav`, `flac`, `mp3`, `ogg`, `opus`, `m4a`,
    /// `aac`, `mka`, ...) or FFmpeg muxer name (`ipod`, `adts`, `matroska`, ...). Default: the
    /// output path's extension.
    pub fn format(mut self, name: impl Into<String>) -> Self {
        self.format = Some(name.into().trim().to_ascii_lowercase());
        self
    }

    /// The codec, by FFmpeg encoder name (`libmp3lame`, `libopus`, `aac`, `flac`,
    /// `pcm_s24le`, ...) or codec name (`mp3`, `opus`, `vorbis`: libmp3lame, libopus and
    /// libvorbis are preferred over FFmpeg's own encoders). Default: the container's. Needs
    /// the `ffmpeg` feature.
    pub fn codec(mut self, name: impl Into<String>) -> Self {
        self.codec = Some(name.into().trim().to_string());
        self
    }

    /// How samples are stored (see [`SampleFormat`]).
    pub fn sample_format(mut self, format: SampleFormat) -> Self {
        self.sample_format = Some(format);
        self
    }

    /// The output's sample rate in Hz. Without it the input's rate is kept where the codec
    /// takes it; otherwise (Opus: 8/12/16/24/48 kHz; MP3, AAC: their table) the audio is
    /// resampled to the lowest rate the codec takes at or above the input's (else its
    /// highest), and [`EncoderInfo::sample_rate`] says which. A rate given here that the
    /// codec does not take is an error.
    pub fn sample_rate(mut self, hz: u32) -> Self {
        self.sample_rate = Some(hz);
        self
    }

    /// The output's channel count. From one input channel the channel is repeated; to one
    /// output channel the input channels are averaged (as `librosa.to_mono`); other
    /// conversions are errors. Default: the input's.
    pub fn channels(mut self, n: usize) -> Self {
        self.channels = Some(n);
        self
    }

    /// Target bit rate in bits per second (lossy codecs: CBR for MP3, ABR for Vorbis, the
    /// Opus/AAC target).
    pub fn bit_rate(mut self, bits_per_second: u64) -> Self {
        self.bit_rate = Some(bits_per_second);
        self
    }

    /// Compression level: FLAC 0-12 (size only; the samples are the same), MP3 0-9 (LAME's
    /// `-q` algorithm quality, 0 best), Opus 0-10 (complexity), ALAC 0-2, WavPack 0-8.
    pub fn compression_level(mut self, level: i32) -> Self {
        self.compression_level = Some(level);
        self
    }

    /// Variable-bit-rate quality on the codec's own scale (FFmpeg's `-q:a`): MP3 0-9.999
    /// (LAME `-V`, 0 best), Vorbis -1-10 (10 best), AAC (FFmpeg's encoder) 0.1-2. Opus and
    /// lossless codecs have none. Exclusive with [`bit_rate`](Self::bit_rate).
    pub fn quality(mut self, q: f32) -> Self {
        self.quality = Some(q);
        self
    }

    /// A raw FFmpeg encoder option (`avcodec_open2`'s dictionary), e.g. `("vbr", "off")` for
    /// libopus or `("cutoff", "18000")`. An option the encoder does not know is an error.
    pub fn codec_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.codec_options.push((key.into(), value.into()));
        self
    }

    /// Checks what can be checked without the audio — the format exists in this build, the
    /// codec exists and fits the container, the options apply to the codec and are in range,
    /// an explicit sample rate is one the codec takes — and writes nothing.
    ///
    /// Errors: [`Error::Unsupported`] (naming `path`) for a format or codec this build cannot
    /// write, [`Error::InvalidParameter`] for an option the format or codec does not take.
    ///
    /// ```
    /// use wavegpu::io::EncodeOptions;
    /// assert!(EncodeOptions::default().validate("out.wav").is_ok());
    /// assert!(EncodeOptions::default().bit_rate(128_000).validate("out.wav").is_err());
    /// ```
    pub fn validate(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.check_values()?;
        match target(path, self)? {
            Target::Wav => wav_options(self).map(|_| ()),
            #[cfg(feature = "ffmpeg")]
            Target::Ffmpeg(fmt) => {
                let plan = ff::plan(path, &fmt, self)?;
                ff::check_container(path, &plan, self)
            }
        }
    }

    /// Range checks that hold for every format.
    fn check_values(&self) -> Result<()> {
        if self.sample_rate == Some(0) {
            return Err(Error::param("sample_rate", "must be > 0"));
        }
        if let Some(sr) = self.sample_rate {
            if sr > i32::MAX as u32 {
                return Err(Error::param("sample_rate", format!("{sr} Hz is too high")));
            }
        }
        if self.channels == Some(0) {
            return Err(Error::param("channels", "must be > 0"));
        }
        if let Some(c) = self.channels {
            if c > u16::MAX as usize {
                return Err(Error::param(
                    "channels",
                    format!("{c} channels are too many"),
                ));
            }
        }
        if self.bit_rate == Some(0) {
            return Err(Error::param("bit_rate", "must be > 0"));
        }
        if let Some(q) = self.quality {
            if !q.is_finite() {
                return Err(Error::param("quality", format!("must be finite, not {q}")));
            }
        }
        if self.quality.is_some() && self.bit_rate.is_some() {
            return Err(Error::param(
                "quality",
                "set either a VBR quality or a bit rate, not both",
            ));
        }
        if let Some(c) = self.compression_level {
            if c < 0 {
                return Err(Error::param("compression_level", "must be >= 0"));
            }
        }
        Ok(())
    }
}

/// What an [`Encoder`] writes, as settled when it opened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EncoderInfo {
    /// The output path.
    pub output: String,
    /// `"hound"` ([`WavEncoder`]) or `"ffmpeg"` ([`FfmpegEncoder`]).
    pub backend: &'static str,
    /// The container: `"wav"`, or FFmpeg's muxer name (`"flac"`, `"mp3"`, `"ogg"`, `"opus"`,
    /// `"ipod"` for .m4a, ...).
    pub container: String,
    /// The encoder: `"pcm_s16le"`, `"pcm_f32le"`, ... for WAV; FFmpeg's encoder name
    /// (`"flac"`, `"libmp3lame"`, `"libopus"`, `"aac"`, `"libvorbis"`, ...) otherwise.
    pub codec: String,
    /// The samples handed to the codec, in FFmpeg's sample-format names (`"s16"`, `"s32"`,
    /// `"flt"`, `"fltp"`, `"s16p"`, ...).
    pub sample_format: String,
    /// Bits stored per sample, for PCM and lossless codecs.
    pub bits_per_sample: Option<u32>,
    /// The output's sample rate.
    pub sample_rate: u32,
    /// The output's channel count.
    pub channels: usize,
    /// The rate the chunks given to [`Encoder::write`] must have.
    pub input_sample_rate: u32,
    /// The channel count the chunks given to [`Encoder::write`] must have.
    pub input_channels: usize,
    /// Samples per channel in each codec frame, for codecs with a fixed frame size (MP3 1152,
    /// AAC 1024, Opus 960 at 48 kHz, ...). The encoder buffers to feed exactly that.
    pub frame_size: Option<usize>,
    /// Frames (samples per channel, at `sample_rate`) handed to the codec so far; the total
    /// once [`Encoder::finish`] has run. Padding the codec adds is not counted.
    pub frames: u64,
}

impl EncoderInfo {
    /// Seconds of audio handed to the codec so far.
    pub fn duration(&self) -> f64 {
        self.frames as f64 / self.sample_rate.max(1) as f64
    }
}

// ---------------------------------------------------------------------------------------
// the trait

/// A streaming audio encoder: planar `f32` chunks in (like the [`AudioChunk`]s a
/// [`Decoder`](super::Decoder) lends), a file out.
///
/// Open one with [`open_encoder`] (or [`WavEncoder::create`], [`FfmpegEncoder::create`]),
/// [`write`](Encoder::write) chunks of the input's channel count at the input's rate, then
/// call [`finish`](Encoder::finish), which flushes buffered samples and the codec, writes the
/// container's trailer and closes the file. Memory stays bounded whatever the length.
///
/// Errors name the output. A chunk the checks reject (wrong channel count, NaN) writes
/// nothing and the encoder stays usable; after a failed write it refuses further writes and
/// `finish` reports the failure. Dropping an encoder without [`finish`](Encoder::finish)
/// finishes it on a best-effort basis (errors lost), as hound does: call `finish` to see
/// them.
///
/// ```
/// use wavegpu::io::{open_encoder, AudioChunk, EncodeOptions, Encoder, SampleFormat};
/// let path = std::env::temp_dir().join("wavegpu_doc_encoder.wav");
/// let opts = EncodeOptions::default().sample_format(SampleFormat::S16);
/// let mut enc = open_encoder(&path, 16_000, 2, &opts)?;
/// let left_then_right = [0.0f32, 0.5, -0.5, 0.25, 0.125, -1.0];
/// enc.write(AudioChunk::new(&left_then_right, 2, 3)?)?;
/// enc.finish()?;
/// assert_eq!(enc.info().frames, 3);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub trait Encoder: Send {
    /// What is being written.
    fn info(&self) -> &EncoderInfo;

    /// Encodes one chunk. Its channel count must be
    /// [`input_channels`](EncoderInfo::input_channels); an empty chunk is a no-op.
    ///
    /// Errors: [`Error::InvalidAudio`] (naming the output) for a chunk of the wrong channel
    /// count or, except for float WAV, a NaN or infinite sample; [`Error::Io`] /
    /// [`Error::Output`] when writing fails.
    fn write(&mut self, chunk: AudioChunk<'_>) -> Result<()>;

    /// Flushes what is buffered (the last partial codec frame, the resampler's tail, the
    /// codec's delayed packets), writes the trailer and closes the file. A second call does
    /// nothing.
    fn finish(&mut self) -> Result<()>;

    /// Writes a whole [`Audio`] in blocks. Its rate must be
    /// [`input_sample_rate`](EncoderInfo::input_sample_rate).
    fn write_audio(&mut self, audio: &Audio) -> Result<()> {
        let info = self.info();
        if audio.sample_rate() != info.input_sample_rate {
            return Err(Error::audio(
                info.output.clone(),
                format!(
                    "the audio is at {} Hz but the encoder was opened for {} Hz",
                    audio.sample_rate(),
                    info.input_sample_rate
                ),
            ));
        }
        let channels = audio.channels();
        let data = audio.data();
        let mut buf = Vec::with_capacity(channels * BLOCK.min(audio.len()));
        let mut start = 0;
        while start < audio.len() {
            let n = BLOCK.min(audio.len() - start);
            buf.clear();
            for c in 0..channels {
                let row = data.row(c);
                let part = row.slice(ndarray::s![start..start + n]);
                match part.as_slice() {
                    Some(s) => buf.extend_from_slice(s),
                    None => buf.extend(part.iter().copied()),
                }
            }
            self.write(AudioChunk::new(&buf, channels, n)?)?;
            start += n;
        }
        Ok(())
    }
}

/// Opens an encoder writing `path`, for input chunks of `channels` channels at `sample_rate`
/// Hz. The format is [`EncodeOptions::format`] or else `path`'s extension: `.wav` uses
/// [`WavEncoder`] (unless an FFmpeg codec is named), everything else [`FfmpegEncoder`]
/// (cargo feature `ffmpeg`; without it, [`Error::Unsupported`]).
///
/// Errors: [`Error::Unsupported`] for a format, codec, rate or channel count that cannot be
/// written; [`Error::InvalidParameter`] for options that do not apply; [`Error::Io`] when the
/// file cannot be created.
pub fn open_encoder(
    path: impl AsRef<Path>,
    sample_rate: u32,
    channels: usize,
    options: &EncodeOptions,
) -> Result<Box<dyn Encoder>> {
    let path = path.as_ref();
    options.check_values()?;
    match target(path, options)? {
        Target::Wav => Ok(Box::new(WavEncoder::create(
            path,
            sample_rate,
            channels,
            options,
        )?)),
        #[cfg(feature = "ffmpeg")]
        Target::Ffmpeg(_) => Ok(Box::new(FfmpegEncoder::create(
            path,
            sample_rate,
            channels,
            options,
        )?)),
    }
}

/// Encodes a whole [`Audio`] into `path` (format from [`EncodeOptions::format`] or the
/// extension), returning what was written. When it fails part-way (a sample the codec cannot
/// take, a full disk), the partial file is removed.
///
/// With [`EncodeOptions::sample_rate`] different from the audio's, the audio is first
/// resampled with [`resample`](super::resample) (the filter [`load`](super::load) uses, so
/// the length is `ceil(len * rate / audio_rate)`); the codec then gets that rate.
///
/// ```
/// use wavegpu::{io::{encode_audio, load, EncodeOptions, LoadOptions, SampleFormat}, Audio};
/// let path = std::env::temp_dir().join("wavegpu_doc_encode_audio.wav");
/// let a = Audio::from_mono(vec![0.0, 0.5, -0.25, -1.0], 8000);
/// let info = encode_audio(&path, &a, &EncodeOptions::default().sample_format(SampleFormat::S16))?;
/// assert_eq!((info.codec.as_str(), info.frames), ("pcm_s16le", 4));
/// assert_eq!(load(&path, &LoadOptions::default())?, a); // on the 16-bit grid: exact
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn encode_audio(
    path: impl AsRef<Path>,
    audio: &Audio,
    options: &EncodeOptions,
) -> Result<EncoderInfo> {
    let path = path.as_ref();
    options.validate(path)?;
    let resampled;
    let audio = match options.sample_rate {
        Some(sr) if sr != audio.sample_rate() => {
            resampled = resample_named(audio, sr, &path.display().to_string())?;
            &resampled
        }
        _ => audio,
    };
    let mut enc = open_encoder(path, audio.sample_rate(), audio.channels(), options)?;
    // A write that fails leaves no half-written file behind.
    let guard = RemoveOnError(Some(path.to_path_buf()));
    let written = enc.write_audio(audio).and_then(|()| enc.finish());
    let info = enc.info().clone();
    drop(enc);
    written?;
    guard.disarm();
    Ok(info)
}

/// Which engine writes a path.
enum Target {
    Wav,
    #[cfg(feature = "ffmpeg")]
    Ffmpeg(String),
}

/// Extension-like names that mean a WAV file.
fn is_wav_name(name: &str) -> bool {
    matches!(name, "wav" | "wave")
}

fn target(path: &Path, options: &EncodeOptions) -> Result<Target> {
    let unsupported = |reason: String| Error::Unsupported {
        input: path.display().to_string(),
        component: "encoder",
        reason,
    };
    let format = match &options.format {
        Some(f) if !f.is_empty() => f.clone(),
        _ => path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                unsupported(
                    "no extension to choose the format from: add one (.wav, .flac, .mp3, \
                     .opus, .m4a, .ogg) or set EncodeOptions::format"
                        .to_string(),
                )
            })?,
    };
    if format == "npy" {
        return Err(unsupported(
            ".npy is an array format, not an audio one: use io::write_npy".to_string(),
        ));
    }
    if is_wav_name(&format) && options.codec.is_none() {
        return Ok(Target::Wav);
    }
    #[cfg(feature = "ffmpeg")]
    {
        Ok(Target::Ffmpeg(format))
    }
    #[cfg(not(feature = "ffmpeg"))]
    {
        let what = match &options.codec {
            Some(c) => format!("the codec `{c}`"),
            None => format!("`{format}` audio"),
        };
        Err(unsupported(format!(
            "writing {what} needs FFmpeg, and this build of wavegpu lacks it (cargo feature \
             `ffmpeg`); WAV is always available"
        )))
    }
}

// ---------------------------------------------------------------------------------------
// shared sample handling

/// `x * 2^(bits-1)`, rounded to nearest (ties to even) and clipped to the integer range.
#[inline]
fn quantize(x: f32, bits: u32) -> i32 {
    let scale = (1u64 << (bits - 1)) as f64;
    (x as f64 * scale)
        .round_ties_even()
        .clamp(-scale, scale - 1.0) as i32
}

/// How input channels become output channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelMap {
    Same,
    /// Many to one: the mean (librosa.to_mono).
    Mean,
    /// One to many: repeated.
    Repeat,
}

fn channel_map(output: &Path, input: usize, out: usize) -> Result<ChannelMap> {
    if input == out {
        Ok(ChannelMap::Same)
    } else if out == 1 {
        Ok(ChannelMap::Mean)
    } else if input == 1 {
        Ok(ChannelMap::Repeat)
    } else {
        Err(Error::Unsupported {
            input: output.display().to_string(),
            component: "encoder",
            reason: format!(
                "cannot convert {input} channels to {out}: only to mono (the mean) or from \
                 mono (repeated)"
            ),
        })
    }
}

impl ChannelMap {
    /// Fills `out` (planar, `out_channels x chunk.frames()`) from `chunk`.
    fn apply(self, chunk: &AudioChunk<'_>, out_channels: usize, out: &mut Vec<f32>) {
        let n = chunk.frames();
        out.clear();
        match self {
            ChannelMap::Same => out.extend_from_slice(chunk.planar()),
            ChannelMap::Repeat => {
                for _ in 0..out_channels {
                    out.extend_from_slice(chunk.channel(0));
                }
            }
            ChannelMap::Mean => {
                // As ndarray's mean_axis (Audio::to_mono): zero, plus each channel in
                // order, divided by the count.
                out.resize(n, 0.0);
                for c in 0..chunk.channels() {
                    for (o, &x) in out.iter_mut().zip(chunk.channel(c)) {
                        *o += x;
                    }
                }
                let k = chunk.channels() as f32;
                for o in out.iter_mut() {
                    *o /= k;
                }
            }
        }
    }
}

/// The largest |sample| FFmpeg's encoders are given: 1024 (+60 dB over full scale). Far
/// larger values abort the process or hang it inside the codec (measured with FFmpeg 5.1, a
/// sine of amplitude 1e6: libmp3lame fails an assertion, the native aac encoder does not
/// return; 1e5 encoded, clipped, in every codec tried).
const FFMPEG_MAX_ABS: f32 = 1024.0;

/// Checks a chunk's channel count, and (unless `allow_non_finite`) that every sample is
/// finite and within `max_abs`, naming the output and the first offending sample
/// (`frames_in` frames came before).
fn check_chunk(
    info: &EncoderInfo,
    frames_in: u64,
    chunk: &AudioChunk<'_>,
    allow_non_finite: bool,
    max_abs: f32,
) -> Result<()> {
    if chunk.channels() != info.input_channels {
        return Err(Error::audio(
            info.output.clone(),
            format!(
                "a chunk of {} channels, but the encoder was opened for {}",
                chunk.channels(),
                info.input_channels
            ),
        ));
    }
    if !allow_non_finite {
        for c in 0..chunk.channels() {
            if let Some(i) = chunk.channel(c).iter().position(|x| !x.is_finite()) {
                return Err(Error::audio(
                    info.output.clone(),
                    format!(
                        "sample {} of channel {c} is {}: {} cannot encode it",
                        frames_in + i as u64,
                        chunk.channel(c)[i],
                        info.codec
                    ),
                ));
            }
            if let Some(i) = chunk.channel(c).iter().position(|x| x.abs() > max_abs) {
                return Err(Error::audio(
                    info.output.clone(),
                    format!(
                        "sample {} of channel {c} is {:e}, beyond the ±{max_abs} that {} is \
                         given (full scale is ±1): scale the audio down",
                        frames_in + i as u64,
                        chunk.channel(c)[i],
                        info.codec
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// An encoder's [`EncoderInfo`] plus the frames received so far (at the input rate).
struct Tracked {
    info: EncoderInfo,
    frames_in: u64,
}

fn check_chunk_tracked(
    state: &Tracked,
    chunk: &AudioChunk<'_>,
    allow_non_finite: bool,
    max_abs: f32,
) -> Result<()> {
    check_chunk(
        &state.info,
        state.frames_in,
        chunk,
        allow_non_finite,
        max_abs,
    )
}

/// Removes a half-written file unless disarmed.
struct RemoveOnError(Option<PathBuf>);

impl RemoveOnError {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnError {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn finished_error(output: &str) -> Error {
    Error::Output {
        path: output.to_string(),
        reason: "the encoder has finished: nothing more can be written".to_string(),
    }
}

fn failed_error(output: &str) -> Error {
    Error::Output {
        path: output.to_string(),
        reason: "an earlier write failed: the file is incomplete".to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// WAV (hound)

/// Largest data chunk a RIFF WAV file can describe (the RIFF size is a u32; hound's header
/// takes up to 72 bytes).
const WAV_MAX_DATA: u64 = u32::MAX as u64 - 72;

/// Checks the options a WAV file takes; returns its sample format (default f32).
fn wav_options(options: &EncodeOptions) -> Result<SampleFormat> {
    let none = |name: &'static str, what: &str, applies: &str| {
        Err(Error::param(
            name,
            format!("WAV (uncompressed PCM) has no {what}; it applies to {applies}"),
        ))
    };
    if options.bit_rate.is_some() {
        return none(
            "bit_rate",
            "bit rate",
            "lossy formats (MP3, Opus, AAC, Vorbis)",
        );
    }
    if options.quality.is_some() {
        return none("quality", "VBR quality", "MP3, Vorbis and AAC");
    }
    if options.compression_level.is_some() {
        return none(
            "compression_level",
            "compression level",
            "FLAC, MP3 and Opus",
        );
    }
    if !options.codec_options.is_empty() {
        return none("codec_options", "codec options", "FFmpeg's encoders");
    }
    Ok(options.sample_format.unwrap_or(SampleFormat::F32))
}

/// The pure-Rust WAV encoder (hound): integer PCM of 16/24/32 bits or 32-bit float,
/// interleaved, written as chunks arrive. Files over 4 GiB of samples are refused (RIFF's
/// limit; hound writes no RF64).
pub struct WavEncoder {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    format: SampleFormat,
    map: ChannelMap,
    state: Tracked,
    path: PathBuf,
    scratch: Vec<f32>,
    data_bytes: u64,
    failed: bool,
}

impl fmt::Debug for WavEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavEncoder")
            .field("info", &self.state.info)
            .finish_non_exhaustive()
    }
}

impl WavEncoder {
    /// Creates `path` for chunks of `channels` channels at `sample_rate` Hz. Takes
    /// [`EncodeOptions::sample_format`] (default f32) and [`EncodeOptions::channels`];
    /// an [`EncodeOptions::sample_rate`] other than `sample_rate` is an error (resample
    /// first, or use [`encode_audio`]), and so are codec settings (bit rate, quality, ...).
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        channels: usize,
        options: &EncodeOptions,
    ) -> Result<WavEncoder> {
        let path = path.as_ref();
        let output = path.display().to_string();
        let out_err = |reason: String| Error::Output {
            path: output.clone(),
            reason,
        };
        options.check_values()?;
        let format = wav_options(options)?;
        if sample_rate == 0 {
            return Err(out_err("cannot write a WAV file with sample rate 0".into()));
        }
        if channels == 0 {
            return Err(Error::param(
                "channels",
                "the input needs at least one channel",
            ));
        }
        if let Some(sr) = options.sample_rate {
            if sr != sample_rate {
                return Err(Error::Unsupported {
                    input: output,
                    component: "wav encoder",
                    reason: format!(
                        "the WAV encoder writes the input's rate ({sample_rate} Hz) and does \
                         not resample to {sr} Hz: resample first (io::resample, or \
                         io::encode_audio, which does)"
                    ),
                });
            }
        }
        let out_channels = options.channels.unwrap_or(channels);
        let map = channel_map(path, channels, out_channels)?;
        let wav_channels = u16::try_from(out_channels)
            .map_err(|_| out_err(format!("{out_channels} channels do not fit a WAV file")))?;
        let spec = hound::WavSpec {
            channels: wav_channels,
            sample_rate,
            bits_per_sample: format.bits() as u16,
            sample_format: if format.is_float() {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let guard = RemoveOnError(Some(path.to_path_buf()));
        let writer =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| hound_error(path, e))?;
        guard.disarm();
        let codec = match format {
            SampleFormat::S16 => "pcm_s16le",
            SampleFormat::S24 => "pcm_s24le",
            SampleFormat::S32 => "pcm_s32le",
            SampleFormat::F32 => "pcm_f32le",
        };
        Ok(WavEncoder {
            writer: Some(writer),
            format,
            map,
            state: Tracked {
                info: EncoderInfo {
                    output,
                    backend: "hound",
                    container: "wav".to_string(),
                    codec: codec.to_string(),
                    sample_format: match format {
                        SampleFormat::S16 => "s16",
                        SampleFormat::S24 | SampleFormat::S32 => "s32",
                        SampleFormat::F32 => "flt",
                    }
                    .to_string(),
                    bits_per_sample: Some(format.bits()),
                    sample_rate,
                    channels: out_channels,
                    input_sample_rate: sample_rate,
                    input_channels: channels,
                    frame_size: None,
                    frames: 0,
                },
                frames_in: 0,
            },
            path: path.to_path_buf(),
            scratch: Vec::new(),
            data_bytes: 0,
            failed: false,
        })
    }

    fn write_inner(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        let n = chunk.frames();
        let out_ch = self.state.info.channels;
        let bytes = n as u64 * out_ch as u64 * (self.format.bits() / 8) as u64;
        if self.data_bytes + bytes > WAV_MAX_DATA {
            return Err(Error::Output {
                path: self.state.info.output.clone(),
                reason: format!(
                    "{} bytes of samples exceed the 4 GiB WAV limit",
                    self.data_bytes + bytes
                ),
            });
        }
        let planar: &[f32] = if self.map == ChannelMap::Same {
            chunk.planar()
        } else {
            self.map.apply(&chunk, out_ch, &mut self.scratch);
            &self.scratch
        };
        let w = self.writer.as_mut().expect("writer present until finish");
        let path = &self.path;
        let at = |c: usize, i: usize| planar[c * n + i];
        match self.format {
            SampleFormat::S16 => {
                // hound's buffered 16-bit writer, a block at a time.
                let mut start = 0;
                while start < n {
                    let m = BLOCK.min(n - start);
                    let mut sw = w.get_i16_writer((m * out_ch) as u32);
                    for i in start..start + m {
                        for c in 0..out_ch {
                            sw.write_sample(quantize(at(c, i), 16) as i16);
                        }
                    }
                    sw.flush().map_err(|e| hound_error(path, e))?;
                    start += m;
                }
            }
            SampleFormat::S24 | SampleFormat::S32 => {
                let bits = self.format.bits();
                for i in 0..n {
                    for c in 0..out_ch {
                        w.write_sample(quantize(at(c, i), bits))
                            .map_err(|e| hound_error(path, e))?;
                    }
                }
            }
            SampleFormat::F32 => {
                for i in 0..n {
                    for c in 0..out_ch {
                        w.write_sample(at(c, i)).map_err(|e| hound_error(path, e))?;
                    }
                }
            }
        }
        self.data_bytes += bytes;
        self.state.info.frames += n as u64;
        self.state.frames_in += n as u64;
        Ok(())
    }
}

fn hound_error(path: &Path, e: hound::Error) -> Error {
    match e {
        hound::Error::IoError(io) => io_error(path, io),
        other => Error::Output {
            path: path.display().to_string(),
            reason: format!("WAV writer: {other}"),
        },
    }
}

impl Encoder for WavEncoder {
    fn info(&self) -> &EncoderInfo {
        &self.state.info
    }

    fn write(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
        if self.writer.is_none() {
            return Err(finished_error(&self.state.info.output));
        }
        if self.failed {
            return Err(failed_error(&self.state.info.output));
        }
        check_chunk_tracked(&self.state, &chunk, self.format.is_float(), f32::INFINITY)?;
        if chunk.is_empty() {
            return Ok(());
        }
        let r = self.write_inner(chunk);
        self.failed = r.is_err();
        r
    }

    fn finish(&mut self) -> Result<()> {
        match self.writer.take() {
            Some(w) if !self.failed => w.finalize().map_err(|e| hound_error(&self.path, e)),
            Some(_) => Err(failed_error(&self.state.info.output)),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// FFmpeg

#[cfg(feature = "ffmpeg")]
pub use ff::FfmpegEncoder;

/// The FFmpeg encoder (cargo feature `ffmpeg`, not enabled in this build).
#[cfg(not(feature = "ffmpeg"))]
#[derive(Debug)]
pub enum FfmpegEncoder {}

#[cfg(not(feature = "ffmpeg"))]
impl FfmpegEncoder {
    /// Always [`Error::Unsupported`]: this build lacks the `ffmpeg` feature.
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        channels: usize,
        options: &EncodeOptions,
    ) -> Result<FfmpegEncoder> {
        let _ = (sample_rate, channels, options);
        Err(Error::Unsupported {
            input: path.as_ref().display().to_string(),
            component: "ffmpeg encoder",
            reason: "this build of wavegpu lacks FFmpeg (cargo feature `ffmpeg`); WAV is \
                     always available"
                .to_string(),
        })
    }
}

#[cfg(feature = "ffmpeg")]
mod ff {
    //! The FFmpeg encoder on the raw C API (ffmpeg-next's `ffi`), with small owning wrappers.
    //!
    //! Safety model: every FFmpeg object (format context, codec context, resampler, frame,
    //! packet, dictionary) is owned by exactly one wrapper that frees it once in `Drop`; the
    //! wrappers are only reached through `&mut FfmpegEncoder`, so no object is used from two
    //! threads at once (FFmpeg contexts have no thread affinity, only a no-concurrent-use
    //! rule). Pointers read from FFmpeg (codec tables, names) point to static data.

    use std::ffi::{c_int, c_void, CStr, CString};
    use std::path::{Path, PathBuf};
    use std::ptr;
    use std::sync::Once;

    use ffmpeg_next::ffi;

    use super::{
        channel_map, check_chunk_tracked, failed_error, finished_error, io_error, quantize,
        AudioChunk, ChannelMap, EncodeOptions, Encoder, EncoderInfo, Error, Result, SampleFormat,
        Tracked, BLOCK,
    };

    fn init() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let _ = ffmpeg_next::init();
        });
        // FFmpeg's log goes to the `log` crate, as for decoding; errors come back as values.
        crate::io::ffmpeg_backend::init();
    }

    fn av_err(code: c_int) -> String {
        ffmpeg_next::Error::from(code).to_string()
    }

    /// An FFmpeg error code as an [`Error::Io`] when it is an OS errno, else an
    /// [`Error::Output`] with `what`.
    fn av_io_error(path: &Path, code: c_int, what: &str) -> Error {
        if (-4095..0).contains(&code) {
            io_error(path, std::io::Error::from_raw_os_error(-code))
        } else {
            Error::Output {
                path: path.display().to_string(),
                reason: format!("{what}: {}", av_err(code)),
            }
        }
    }

    fn eagain() -> c_int {
        ffi::AVERROR(ffmpeg_next::error::EAGAIN)
    }

    /// A static C string from FFmpeg as &str ("" for null).
    ///
    /// # Safety
    /// `p` is null or a NUL-terminated string that outlives the program (FFmpeg's tables).
    unsafe fn cstr(p: *const std::ffi::c_char) -> &'static str {
        if p.is_null() {
            ""
        } else {
            // SAFETY: the caller's contract.
            unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
        }
    }

    fn sample_fmt_name(f: ffi::AVSampleFormat) -> String {
        // SAFETY: av_get_sample_fmt_name returns null or a static string.
        unsafe { cstr(ffi::av_get_sample_fmt_name(f)) }.to_string()
    }

    // -----------------------------------------------------------------------------------
    // choosing container, codec and sample format (no audio needed)

    /// A muxer/encoder choice made from the options alone.
    pub(super) struct Plan {
        oformat: *const ffi::AVOutputFormat,
        codec: *const ffi::AVCodec,
        codec_name: String,
        muxer_name: String,
        sample_fmt: ffi::AVSampleFormat,
        /// Bits per sample for lossless/PCM codecs (`bits_per_raw_sample` for s24 in s32).
        bits: Option<u32>,
    }

    /// The FFmpeg muxer an extension-like name means.
    fn muxer_alias(name: &str) -> &str {
        match name {
            "m4a" | "m4b" => "ipod",
            "aac" | "adts" => "adts",
            "ogg" | "oga" => "ogg",
            "mka" | "mkv" => "matroska",
            "wave" => "wav",
            "aif" | "aiff" | "aifc" => "aiff",
            other => other,
        }
    }

    /// The encoder FFmpeg's codec name means here: the external libraries where FFmpeg's
    /// own encoder is experimental or absent.
    fn preferred_encoder(codec: &str) -> &str {
        match codec {
            "mp3" => "libmp3lame",
            "opus" => "libopus",
            "vorbis" => "libvorbis",
            other => other,
        }
    }

    fn find_encoder_by_name(name: &str) -> Option<*const ffi::AVCodec> {
        let c = CString::new(name).ok()?;
        // SAFETY: c is a valid C string; the result is null or a static codec.
        let p = unsafe { ffi::avcodec_find_encoder_by_name(c.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    /// An encoder for a codec id, preferring the external libraries as above.
    fn encoder_for_id(id: ffi::AVCodecID) -> Option<*const ffi::AVCodec> {
        // SAFETY: avcodec_get_name returns a static string for any id.
        let name = unsafe { cstr(ffi::avcodec_get_name(id)) };
        if let Some(p) = find_encoder_by_name(preferred_encoder(name)) {
            // SAFETY: p is a valid static codec.
            if unsafe { (*p).id } == id {
                return Some(p);
            }
        }
        // SAFETY: returns null or a static codec.
        let p = unsafe { ffi::avcodec_find_encoder(id) };
        (!p.is_null()).then_some(p)
    }

    fn find_encoder(name: &str) -> Option<*const ffi::AVCodec> {
        if let Some(p) = find_encoder_by_name(preferred_encoder(name)) {
            return Some(p);
        }
        if let Some(p) = find_encoder_by_name(name) {
            return Some(p);
        }
        let c = CString::new(name).ok()?;
        // SAFETY: valid C string; null or a static descriptor.
        let d = unsafe { ffi::avcodec_descriptor_get_by_name(c.as_ptr()) };
        if d.is_null() {
            return None;
        }
        // SAFETY: d is a valid static descriptor.
        encoder_for_id(unsafe { (*d).id })
    }

    fn codec_props(id: ffi::AVCodecID) -> c_int {
        // SAFETY: null or a static descriptor.
        let d = unsafe { ffi::avcodec_descriptor_get(id) };
        if d.is_null() {
            0
        } else {
            // SAFETY: valid static descriptor.
            unsafe { (*d).props }
        }
    }

    /// The codec's accepted sample formats (empty: not listed).
    fn codec_sample_fmts(codec: *const ffi::AVCodec) -> Vec<ffi::AVSampleFormat> {
        let mut out = Vec::new();
        // SAFETY: codec is a valid static codec; its sample_fmts list, when present, ends
        // with AV_SAMPLE_FMT_NONE.
        unsafe {
            let mut p = (*codec).sample_fmts;
            if !p.is_null() {
                while *p != ffi::AVSampleFormat::AV_SAMPLE_FMT_NONE {
                    out.push(*p);
                    p = p.add(1);
                }
            }
        }
        out
    }

    /// The codec's accepted sample rates (empty: any).
    fn codec_rates(codec: *const ffi::AVCodec) -> Vec<u32> {
        let mut out = Vec::new();
        // SAFETY: as above; the list ends with 0.
        unsafe {
            let mut p = (*codec).supported_samplerates;
            if !p.is_null() {
                while *p != 0 {
                    out.push(*p as u32);
                    p = p.add(1);
                }
            }
        }
        out
    }

    /// The codec's accepted channel layouts (empty: any).
    fn codec_layouts(codec: *const ffi::AVCodec) -> Vec<*const ffi::AVChannelLayout> {
        let mut out = Vec::new();
        // SAFETY: as above; the list ends with a zeroed layout (nb_channels 0).
        unsafe {
            let mut p = (*codec).ch_layouts;
            if !p.is_null() {
                while (*p).nb_channels != 0 {
                    out.push(p);
                    p = p.add(1);
                }
            }
        }
        out
    }

    fn codec_caps(codec: *const ffi::AVCodec) -> u32 {
        // SAFETY: valid static codec.
        unsafe { (*codec).capabilities as u32 }
    }

    /// Encoders whose `compression_level` means something, and its range.
    fn compression_range(codec: &str) -> Option<(i32, i32)> {
        match codec {
            "flac" => Some((0, 12)),
            "libmp3lame" => Some((0, 9)),
            "libopus" => Some((0, 10)),
            "alac" => Some((0, 2)),
            "wavpack" => Some((0, 8)),
            _ => None,
        }
    }

    /// Encoders that honour FFmpeg's VBR quality (`-q:a`), and its range.
    fn quality_range(codec: &str) -> Option<(f32, f32)> {
        match codec {
            "libmp3lame" => Some((0.0, 9.999)),
            "libvorbis" => Some((-1.0, 10.0)),
            "aac" => Some((0.1, 2.0)),
            _ => None,
        }
    }

    pub(super) fn plan(path: &Path, format: &str, options: &EncodeOptions) -> Result<Plan> {
        init();
        let unsupported = |reason: String| Error::Unsupported {
            input: path.display().to_string(),
            component: "ffmpeg encoder",
            reason,
        };
        // The container.
        let muxer = muxer_alias(format);
        let cm = CString::new(muxer).map_err(|_| unsupported("bad format name".into()))?;
        // SAFETY: valid C strings; the result is null or a static muxer.
        let mut oformat = unsafe { ffi::av_guess_format(cm.as_ptr(), ptr::null(), ptr::null()) };
        if oformat.is_null() {
            let by_ext = CString::new(format!("x.{format}")).expect("no NUL");
            // SAFETY: as above.
            oformat = unsafe { ffi::av_guess_format(ptr::null(), by_ext.as_ptr(), ptr::null()) };
        }
        if oformat.is_null() {
            return Err(unsupported(format!(
                "FFmpeg has no container `{format}` (use an extension such as .flac, .mp3, \
                 .opus, .m4a, .ogg, .wav, or an FFmpeg muxer name)"
            )));
        }
        // SAFETY: oformat is a valid static muxer.
        let muxer_name = unsafe { cstr((*oformat).name) }.to_string();

        // The codec.
        let codec = match &options.codec {
            Some(name) => find_encoder(name)
                .ok_or_else(|| unsupported(format!("FFmpeg has no audio encoder `{name}`")))?,
            None => {
                let fname = CString::new(format!("x.{format}")).expect("no NUL");
                // SAFETY: valid static muxer and C string.
                let id = unsafe {
                    ffi::av_guess_codec(
                        oformat,
                        ptr::null(),
                        fname.as_ptr(),
                        ptr::null(),
                        ffi::AVMediaType::AVMEDIA_TYPE_AUDIO,
                    )
                };
                if id == ffi::AVCodecID::AV_CODEC_ID_NONE {
                    return Err(unsupported(format!(
                        "the container `{muxer_name}` has no default audio codec: name one"
                    )));
                }
                encoder_for_id(id).ok_or_else(|| {
                    // SAFETY: static string.
                    let n = unsafe { cstr(ffi::avcodec_get_name(id)) };
                    unsupported(format!(
                        "this FFmpeg has no encoder for `{n}`, the default codec of \
                         `{muxer_name}`"
                    ))
                })?
            }
        };
        // SAFETY: codec is a valid static codec.
        let (codec_name, codec_id, kind) =
            unsafe { (cstr((*codec).name).to_string(), (*codec).id, (*codec).type_) };
        if kind != ffi::AVMediaType::AVMEDIA_TYPE_AUDIO {
            return Err(unsupported(format!(
                "`{codec_name}` is not an audio encoder"
            )));
        }
        // SAFETY: valid static muxer; returns 1, 0, or a negative "don't know".
        let fits = unsafe {
            ffi::avformat_query_codec(oformat, codec_id, ffi::FF_COMPLIANCE_NORMAL as c_int)
        };
        if fits == 0 {
            return Err(unsupported(format!(
                "the container `{muxer_name}` cannot hold `{codec_name}` audio"
            )));
        }
        let props = codec_props(codec_id);
        let lossless =
            props & ffi::AV_CODEC_PROP_LOSSLESS != 0 && props & ffi::AV_CODEC_PROP_LOSSY == 0;

        // Codec settings.
        if options.bit_rate.is_some() && lossless {
            return Err(Error::param(
                "bit_rate",
                format!("{codec_name} is lossless and has no bit rate"),
            ));
        }
        if let Some(level) = options.compression_level {
            match compression_range(&codec_name) {
                None => {
                    return Err(Error::param(
                        "compression_level",
                        format!(
                            "the {codec_name} encoder has no compression level (flac, \
                             libmp3lame, libopus, alac and wavpack do)"
                        ),
                    ))
                }
                Some((lo, hi)) if level < lo || level > hi => {
                    return Err(Error::param(
                        "compression_level",
                        format!("{codec_name} takes {lo} to {hi}, not {level}"),
                    ))
                }
                _ => {}
            }
        }
        if let Some(q) = options.quality {
            match quality_range(&codec_name) {
                None => {
                    return Err(Error::param(
                        "quality",
                        format!(
                            "the {codec_name} encoder has no VBR quality scale{}",
                            if lossless {
                                ""
                            } else {
                                ": set a bit rate instead"
                            }
                        ),
                    ))
                }
                Some((lo, hi)) if q < lo || q > hi => {
                    return Err(Error::param(
                        "quality",
                        format!("{codec_name} takes {lo} to {hi}, not {q}"),
                    ))
                }
                _ => {}
            }
        }
        if let Some(sr) = options.sample_rate {
            let rates = codec_rates(codec);
            if !rates.is_empty() && !rates.contains(&sr) {
                return Err(Error::param(
                    "sample_rate",
                    format!("{codec_name} takes {} Hz, not {sr} Hz", list(&rates)),
                ));
            }
        }
        let (sample_fmt, bits) = choose_sample_fmt(
            codec,
            &codec_name,
            codec_id,
            lossless,
            options.sample_format,
        )?;
        Ok(Plan {
            oformat,
            codec,
            codec_name,
            muxer_name,
            sample_fmt,
            bits,
        })
    }

    fn list<T: std::fmt::Display>(xs: &[T]) -> String {
        xs.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn choose_sample_fmt(
        codec: *const ffi::AVCodec,
        codec_name: &str,
        codec_id: ffi::AVCodecID,
        lossless: bool,
        want: Option<SampleFormat>,
    ) -> Result<(ffi::AVSampleFormat, Option<u32>)> {
        use ffi::AVSampleFormat::*;
        let fmts = codec_sample_fmts(codec);
        if fmts.is_empty() {
            return Err(Error::param(
                "codec",
                format!("the {codec_name} encoder lists no sample formats"),
            ));
        }
        // SAFETY: plain lookup on a static table.
        let codec_bits = unsafe { ffi::av_get_bits_per_sample(codec_id) } as u32;
        let pick = |cands: &[ffi::AVSampleFormat]| cands.iter().copied().find(|f| fmts.contains(f));
        // What the codec takes, in SampleFormat's names.
        let takes = || {
            let has = |a, b| fmts.contains(&a) || fmts.contains(&b);
            let mut t = Vec::new();
            if has(AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P) {
                t.push("s16");
            }
            if has(AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S32P) {
                if lossless && codec_bits != 32 {
                    t.push("s24");
                } else {
                    t.push("s32");
                }
            }
            if has(AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP) {
                t.push("f32");
            }
            if t.is_empty() {
                fmts.iter()
                    .map(|&f| sample_fmt_name(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                t.join(", ")
            }
        };
        let bits_of = |f: ffi::AVSampleFormat| -> Option<u32> {
            if !lossless {
                return None;
            }
            if codec_bits > 0 {
                return Some(codec_bits);
            }
            match f {
                AV_SAMPLE_FMT_S16 | AV_SAMPLE_FMT_S16P => Some(16),
                AV_SAMPLE_FMT_S32 | AV_SAMPLE_FMT_S32P => Some(24),
                AV_SAMPLE_FMT_U8 | AV_SAMPLE_FMT_U8P => Some(8),
                _ => None,
            }
        };
        let Some(want) = want else {
            let f = if lossless {
                fmts[0]
            } else {
                pick(&[
                    AV_SAMPLE_FMT_FLTP,
                    AV_SAMPLE_FMT_FLT,
                    AV_SAMPLE_FMT_S32P,
                    AV_SAMPLE_FMT_S32,
                    AV_SAMPLE_FMT_S16P,
                    AV_SAMPLE_FMT_S16,
                ])
                .unwrap_or(fmts[0])
            };
            return Ok((f, bits_of(f)));
        };
        let cands: &[ffi::AVSampleFormat] = match want {
            SampleFormat::S16 => &[AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P],
            SampleFormat::S24 | SampleFormat::S32 => &[AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S32P],
            SampleFormat::F32 => &[AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP],
        };
        let Some(f) = pick(cands) else {
            return Err(Error::param(
                "sample_format",
                format!("the {codec_name} encoder takes {} (not {want})", takes()),
            ));
        };
        let bits = match want {
            SampleFormat::S24 if !lossless => {
                return Err(Error::param(
                    "sample_format",
                    format!("s24 is for lossless codecs; {codec_name} is lossy"),
                ))
            }
            SampleFormat::S24 if codec_bits > 0 && codec_bits != 24 => {
                return Err(Error::param(
                    "sample_format",
                    format!("{codec_name} stores {codec_bits}-bit samples, not 24-bit"),
                ))
            }
            SampleFormat::S32 if lossless && codec_bits != 32 => {
                return Err(Error::param(
                    "sample_format",
                    format!(
                        "{codec_name} stores at most 24 bits per sample in this FFmpeg: use \
                         s16 or s24"
                    ),
                ))
            }
            SampleFormat::S16 if lossless && codec_bits > 0 && codec_bits != 16 => {
                return Err(Error::param(
                    "sample_format",
                    format!("{codec_name} stores {codec_bits}-bit samples, not 16-bit"),
                ))
            }
            w if lossless => Some(w.bits()),
            _ => None,
        };
        Ok((f, bits))
    }

    /// The codec settings that depend on the plan, the rate and the layout only.
    fn base_settings(
        cc: &CodecCtx,
        plan: &Plan,
        rate: u32,
        layout: &Layout,
    ) -> std::result::Result<(), String> {
        let cc = cc.ptr;
        // SAFETY: cc is a valid, unopened codec context (owned by the caller's CodecCtx);
        // plan.codec and plan.oformat are static; the layout is initialised.
        unsafe {
            (*cc).sample_fmt = plan.sample_fmt;
            (*cc).sample_rate = rate as c_int;
            let r = ffi::av_channel_layout_copy(&mut (*cc).ch_layout, &layout.0);
            if r < 0 {
                return Err(format!("channel layout: {}", av_err(r)));
            }
            (*cc).time_base = ffi::AVRational {
                num: 1,
                den: rate as c_int,
            };
            if let Some(b) = plan.bits {
                (*cc).bits_per_raw_sample = b as c_int;
            }
            if codec_caps(plan.codec) & ffi::AV_CODEC_CAP_EXPERIMENTAL != 0 {
                (*cc).strict_std_compliance = ffi::FF_COMPLIANCE_EXPERIMENTAL;
            }
            if (*plan.oformat).flags & ffi::AVFMT_GLOBALHEADER != 0 {
                (*cc).flags |= ffi::AV_CODEC_FLAG_GLOBAL_HEADER as c_int;
            }
        }
        Ok(())
    }

    /// The channel layout for `channels`: the codec's own of that count (None when it lists
    /// layouts and none has that count), else FFmpeg's default.
    fn layout_for(codec: *const ffi::AVCodec, channels: usize) -> Option<Layout> {
        // SAFETY: a zeroed AVChannelLayout is the "unspecified, 0 channels" layout that
        // av_channel_layout_default/copy initialise.
        let mut layout = Layout(unsafe { std::mem::zeroed() });
        let layouts = codec_layouts(codec);
        if layouts.is_empty() {
            // SAFETY: layout.0 is a valid (zeroed) layout to initialise.
            unsafe { ffi::av_channel_layout_default(&mut layout.0, channels as c_int) };
            return Some(layout);
        }
        // SAFETY: the pointers come from the codec's static list.
        let l = layouts
            .iter()
            .copied()
            .find(|&l| unsafe { (*l).nb_channels } as usize == channels)?;
        // SAFETY: copy from a valid static layout into ours.
        let r = unsafe { ffi::av_channel_layout_copy(&mut layout.0, l) };
        (r >= 0).then_some(layout)
    }

    /// The container's own checks on the planned codec, without a file: the codec is opened
    /// at plausible settings (the asked rate and channels, else 48 kHz, or the codec's first
    /// rate, and stereo, or the codec's first layout) and the muxer initialised on a memory
    /// buffer. A codec that does not open at those settings is not judged here: the real
    /// rate and channels come with the audio.
    pub(super) fn check_container(path: &Path, plan: &Plan, options: &EncodeOptions) -> Result<()> {
        let rates = codec_rates(plan.codec);
        let rate = options
            .sample_rate
            .unwrap_or(if rates.is_empty() || rates.contains(&48_000) {
                48_000
            } else {
                rates[0]
            });
        let channels = options.channels.unwrap_or(2);
        let layout = match layout_for(plan.codec, channels) {
            Some(l) => l,
            None => {
                // SAFETY: the codec's static list, non-empty here.
                let first = codec_layouts(plan.codec)
                    .first()
                    .map(|&l| unsafe { (*l).nb_channels } as usize)
                    .unwrap_or(1);
                match layout_for(plan.codec, first) {
                    Some(l) => l,
                    None => return Ok(()),
                }
            }
        };
        let mut oc_ptr = ptr::null_mut();
        // SAFETY: a static muxer; no file name needed.
        let r = unsafe {
            ffi::avformat_alloc_output_context2(
                &mut oc_ptr,
                plan.oformat as *mut _,
                ptr::null(),
                ptr::null(),
            )
        };
        if r < 0 || oc_ptr.is_null() {
            return Ok(());
        }
        let output = OutputCtx { ptr: oc_ptr };
        // SAFETY: plan.codec is a static encoder.
        let cc = unsafe { ffi::avcodec_alloc_context3(plan.codec) };
        if cc.is_null() {
            return Ok(());
        }
        let codec = CodecCtx { ptr: cc };
        if base_settings(&codec, plan, rate, &layout).is_err() {
            return Ok(());
        }
        // SAFETY: valid context and codec.
        if unsafe { ffi::avcodec_open2(cc, plan.codec, ptr::null_mut()) } < 0 {
            return Ok(());
        }
        // SAFETY: valid output context; the stream belongs to it.
        let st = unsafe { ffi::avformat_new_stream(output.ptr, ptr::null()) };
        if st.is_null() {
            return Ok(());
        }
        // SAFETY: st and cc are valid; pb is null before avio_open_dyn_buf sets it, and is
        // closed (and nulled) here before the context is freed.
        let r = unsafe {
            if ffi::avcodec_parameters_from_context((*st).codecpar, cc) < 0 {
                return Ok(());
            }
            (*st).time_base = (*cc).time_base;
            if ffi::avio_open_dyn_buf(&mut (*output.ptr).pb) < 0 {
                return Ok(());
            }
            let r = ffi::avformat_init_output(output.ptr, ptr::null_mut());
            let mut buf: *mut u8 = ptr::null_mut();
            ffi::avio_close_dyn_buf((*output.ptr).pb, &mut buf);
            ffi::av_free(buf as *mut c_void);
            (*output.ptr).pb = ptr::null_mut();
            r
        };
        drop(output);
        drop(codec);
        if r < 0 {
            return Err(Error::Unsupported {
                input: path.display().to_string(),
                component: "ffmpeg encoder",
                reason: format!(
                    "the {} container cannot hold {} audio ({})",
                    plan.muxer_name,
                    plan.codec_name,
                    av_err(r)
                ),
            });
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // owning wrappers

    struct OutputCtx {
        ptr: *mut ffi::AVFormatContext,
    }

    impl OutputCtx {
        /// Closes the file if open: flushes FFmpeg's I/O buffer.
        fn close(&mut self) -> c_int {
            // SAFETY: ptr is a valid format context owned here; pb is null or opened by
            // avio_open, and avio_closep nulls it.
            unsafe {
                if (*self.ptr).pb.is_null() {
                    0
                } else {
                    ffi::avio_closep(&mut (*self.ptr).pb)
                }
            }
        }
    }

    impl Drop for OutputCtx {
        fn drop(&mut self) {
            self.close();
            // SAFETY: allocated by avformat_alloc_output_context2, freed once here.
            unsafe { ffi::avformat_free_context(self.ptr) };
        }
    }

    struct CodecCtx {
        ptr: *mut ffi::AVCodecContext,
    }

    impl Drop for CodecCtx {
        fn drop(&mut self) {
            // SAFETY: allocated by avcodec_alloc_context3, freed once here.
            unsafe { ffi::avcodec_free_context(&mut self.ptr) };
        }
    }

    struct Swr {
        ptr: *mut ffi::SwrContext,
    }

    impl Drop for Swr {
        fn drop(&mut self) {
            // SAFETY: allocated by swr_alloc_set_opts2, freed once here.
            unsafe { ffi::swr_free(&mut self.ptr) };
        }
    }

    struct Frame {
        ptr: *mut ffi::AVFrame,
    }

    impl Drop for Frame {
        fn drop(&mut self) {
            // SAFETY: allocated by av_frame_alloc, freed once here.
            unsafe { ffi::av_frame_free(&mut self.ptr) };
        }
    }

    struct Packet {
        ptr: *mut ffi::AVPacket,
    }

    impl Drop for Packet {
        fn drop(&mut self) {
            // SAFETY: allocated by av_packet_alloc, freed once here.
            unsafe { ffi::av_packet_free(&mut self.ptr) };
        }
    }

    struct Dict {
        ptr: *mut ffi::AVDictionary,
    }

    impl Drop for Dict {
        fn drop(&mut self) {
            // SAFETY: null or built by av_dict_set; av_dict_free handles both.
            unsafe { ffi::av_dict_free(&mut self.ptr) };
        }
    }

    struct Layout(ffi::AVChannelLayout);

    impl Drop for Layout {
        fn drop(&mut self) {
            // SAFETY: initialised by av_channel_layout_default/copy.
            unsafe { ffi::av_channel_layout_uninit(&mut self.0) };
        }
    }

    /// Planar f32 samples waiting for a codec frame: per channel, `planes[c][start..]`.
    struct Fifo {
        planes: Vec<Vec<f32>>,
        start: usize,
    }

    impl Fifo {
        fn len(&self) -> usize {
            self.planes[0].len() - self.start
        }

        fn push(&mut self, planar: &[f32], n: usize) {
            for (c, p) in self.planes.iter_mut().enumerate() {
                p.extend_from_slice(&planar[c * n..(c + 1) * n]);
            }
        }

        fn front(&self, c: usize, n: usize) -> &[f32] {
            &self.planes[c][self.start..self.start + n]
        }

        fn consume(&mut self, n: usize) {
            self.start += n;
            // Move the remainder to the front once it is shorter than what was consumed:
            // amortised O(1) per sample, and the buffer stays within two frames + a chunk.
            if self.start >= self.len() {
                let s = self.start;
                for p in &mut self.planes {
                    p.drain(..s);
                }
                self.start = 0;
            }
        }

        /// Grows every plane by `n` zeroed samples and returns pointers to the new space.
        fn grow(&mut self, n: usize) -> Vec<*mut u8> {
            self.planes
                .iter_mut()
                .map(|p| {
                    let old = p.len();
                    p.resize(old + n, 0.0);
                    p[old..].as_mut_ptr() as *mut u8
                })
                .collect()
        }

        /// Drops the last `n` samples of every plane (the unused part of [`grow`]).
        fn shrink(&mut self, n: usize) {
            for p in &mut self.planes {
                p.truncate(p.len() - n);
            }
        }
    }

    /// An encoder on FFmpeg's libavcodec/libavformat (cargo feature `ffmpeg`): any FFmpeg
    /// audio encoder into any FFmpeg container, with sample-rate conversion (swresample; the
    /// soxr engine when this FFmpeg has it, as librosa's default `soxr_hq`), frame-size
    /// buffering and the container's timestamps (1/rate time base, so `ffprobe` reports the
    /// samples' duration; lossy codecs add their own priming/padding, recorded where the
    /// container can: Ogg pre-skip and granule positions, MP4 edit lists, the LAME header).
    pub struct FfmpegEncoder {
        // Field order is drop order: frames and packets before the contexts.
        packet: Packet,
        swr: Option<Swr>,
        codec: CodecCtx,
        output: OutputCtx,
        layout: Layout,
        fifo: Fifo,
        mapped: Vec<f32>,
        map: ChannelMap,
        state: Tracked,
        path: PathBuf,
        enc_tb: ffi::AVRational,
        stream_tb: ffi::AVRational,
        sample_fmt: ffi::AVSampleFormat,
        /// `bits_per_raw_sample` for s24 in s32 (shift left by 8).
        bits: Option<u32>,
        /// Fixed frame size; None: any.
        frame_size: Option<usize>,
        small_last_frame: bool,
        pts: i64,
        finished: bool,
        failed: bool,
    }

    // SAFETY: the raw pointers inside are owned exclusively by this value (see the module
    // notes) and FFmpeg contexts may move between threads; nothing is shared.
    unsafe impl Send for FfmpegEncoder {}

    impl std::fmt::Debug for FfmpegEncoder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("FfmpegEncoder")
                .field("info", &self.state.info)
                .finish_non_exhaustive()
        }
    }

    impl FfmpegEncoder {
        /// Creates `path` for chunks of `channels` channels at `sample_rate` Hz, with the
        /// container from [`EncodeOptions::format`] or the extension and the codec from
        /// [`EncodeOptions::codec`] or the container's default.
        ///
        /// Errors: see [`open_encoder`](super::open_encoder). Nothing is left on disk when
        /// opening fails.
        pub fn create(
            path: impl AsRef<Path>,
            sample_rate: u32,
            channels: usize,
            options: &EncodeOptions,
        ) -> Result<FfmpegEncoder> {
            let path = path.as_ref();
            options.check_values()?;
            let format = match &options.format {
                Some(f) if !f.is_empty() => f.clone(),
                _ => path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(|e| e.to_ascii_lowercase())
                    .unwrap_or_default(),
            };
            let plan = plan(path, &format, options)?;
            Self::open(path, sample_rate, channels, options, plan)
        }

        fn open(
            path: &Path,
            in_rate: u32,
            in_channels: usize,
            options: &EncodeOptions,
            plan: Plan,
        ) -> Result<FfmpegEncoder> {
            let output = path.display().to_string();
            let unsupported = |reason: String| Error::Unsupported {
                input: output.clone(),
                component: "ffmpeg encoder",
                reason,
            };
            let out_err = |reason: String| Error::Output {
                path: output.clone(),
                reason,
            };
            let codec_name = plan.codec_name.clone();
            if in_rate == 0 || in_rate > i32::MAX as u32 {
                return Err(Error::audio(output, format!("sample rate {in_rate} Hz")));
            }
            if in_channels == 0 {
                return Err(Error::param(
                    "channels",
                    "the input needs at least one channel",
                ));
            }

            // Sample rate: the one asked for (checked by plan), else the input's if the
            // codec takes it, else the nearest the codec takes at or above it.
            let rates = codec_rates(plan.codec);
            let out_rate = match options.sample_rate {
                Some(sr) => sr,
                None if rates.is_empty() || rates.contains(&in_rate) => in_rate,
                None => {
                    let up = rates.iter().copied().filter(|&r| r >= in_rate).min();
                    let r = up.unwrap_or_else(|| rates.iter().copied().max().unwrap_or(in_rate));
                    log::info!(
                        "{output}: {codec_name} takes {} Hz: resampling {in_rate} Hz to {r} Hz",
                        list(&rates)
                    );
                    r
                }
            };

            // Channels and layout.
            let out_channels = options.channels.unwrap_or(in_channels);
            if out_channels > i32::MAX as usize {
                return Err(unsupported(format!("{out_channels} channels")));
            }
            let map = channel_map(path, in_channels, out_channels)?;
            let Some(layout) = layout_for(plan.codec, out_channels) else {
                let counts: Vec<usize> = codec_layouts(plan.codec)
                    .iter()
                    // SAFETY: pointers into the codec's static list.
                    .map(|&l| unsafe { (*l).nb_channels } as usize)
                    .collect();
                return Err(unsupported(format!(
                    "{codec_name} takes {} channels, not {out_channels}: set \
                     EncodeOptions::channels (1 for a mono mixdown)",
                    list(&counts)
                )));
            };

            // The muxer context (no file yet).
            let url = CString::new(format!(
                "file:{}",
                path.to_str()
                    .ok_or_else(|| { unsupported("FFmpeg needs a UTF-8 path".to_string()) })?
            ))
            .map_err(|_| unsupported("a path with a NUL byte".to_string()))?;
            let mut oc_ptr = ptr::null_mut();
            // SAFETY: plan.oformat is a static muxer; url is a valid C string.
            let r = unsafe {
                ffi::avformat_alloc_output_context2(
                    &mut oc_ptr,
                    plan.oformat as *mut _,
                    ptr::null(),
                    url.as_ptr(),
                )
            };
            if r < 0 || oc_ptr.is_null() {
                return Err(out_err(format!("muxer {}: {}", plan.muxer_name, av_err(r))));
            }
            let mut output_ctx = OutputCtx { ptr: oc_ptr };

            // The codec context.
            // SAFETY: plan.codec is a static encoder.
            let cc = unsafe { ffi::avcodec_alloc_context3(plan.codec) };
            if cc.is_null() {
                return Err(out_err("out of memory".to_string()));
            }
            let codec_ctx = CodecCtx { ptr: cc };
            let caps = codec_caps(plan.codec);
            base_settings(&codec_ctx, &plan, out_rate, &layout).map_err(&out_err)?;
            // SAFETY: cc is a valid, unopened codec context owned by codec_ctx; the fields
            // set are plain settings avcodec_open2 reads.
            unsafe {
                if let Some(br) = options.bit_rate {
                    (*cc).bit_rate = i64::try_from(br).unwrap_or(i64::MAX);
                }
                if let Some(level) = options.compression_level {
                    (*cc).compression_level = level;
                }
                if let Some(q) = options.quality {
                    (*cc).flags |= ffi::AV_CODEC_FLAG_QSCALE as c_int;
                    (*cc).global_quality = (q * ffi::FF_QP2LAMBDA as f32).round() as c_int;
                }
            }

            // Open the codec, with the raw options; leftovers are unknown options.
            let mut dict = Dict {
                ptr: ptr::null_mut(),
            };
            for (k, v) in &options.codec_options {
                let (Ok(ck), Ok(cv)) = (CString::new(k.as_str()), CString::new(v.as_str())) else {
                    return Err(Error::param("codec_options", "a NUL byte in an option"));
                };
                // SAFETY: valid C strings; av_dict_set copies them.
                let r = unsafe { ffi::av_dict_set(&mut dict.ptr, ck.as_ptr(), cv.as_ptr(), 0) };
                if r < 0 {
                    return Err(out_err(format!("codec options: {}", av_err(r))));
                }
            }
            // SAFETY: cc and plan.codec are valid; dict.ptr is null or a dictionary that
            // avcodec_open2 may replace (still owned by `dict`).
            let r = unsafe { ffi::avcodec_open2(cc, plan.codec, &mut dict.ptr) };
            if r < 0 {
                let extra = if options.codec_options.is_empty() {
                    String::new()
                } else {
                    format!(", options {:?}", options.codec_options)
                };
                return Err(unsupported(format!(
                    "the {codec_name} encoder refused {out_rate} Hz, {out_channels} channels, \
                     {}{}{}{}{extra}: {}",
                    sample_fmt_name(plan.sample_fmt),
                    options
                        .bit_rate
                        .map(|b| format!(", {b} b/s"))
                        .unwrap_or_default(),
                    options
                        .quality
                        .map(|q| format!(", quality {q}"))
                        .unwrap_or_default(),
                    options
                        .compression_level
                        .map(|c| format!(", compression level {c}"))
                        .unwrap_or_default(),
                    av_err(r)
                )));
            }
            // SAFETY: dict.ptr is null or a valid dictionary.
            if unsafe { ffi::av_dict_count(dict.ptr) } > 0 {
                let mut unknown = Vec::new();
                let empty = CString::new("").expect("no NUL");
                let mut e: *mut ffi::AVDictionaryEntry = ptr::null_mut();
                loop {
                    // SAFETY: iterating a valid dictionary with AV_DICT_IGNORE_SUFFIX.
                    e = unsafe {
                        ffi::av_dict_get(dict.ptr, empty.as_ptr(), e, ffi::AV_DICT_IGNORE_SUFFIX)
                    };
                    if e.is_null() {
                        break;
                    }
                    // SAFETY: entries hold valid C strings.
                    unknown.push(
                        unsafe { CStr::from_ptr((*e).key) }
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
                return Err(Error::param(
                    "codec_options",
                    format!(
                        "the {codec_name} encoder has no option {}",
                        unknown.join(", ")
                    ),
                ));
            }
            // SAFETY: the codec is open; these fields are set by avcodec_open2.
            let (frame_size, enc_tb) = unsafe { ((*cc).frame_size, (*cc).time_base) };
            let frame_size = if caps & ffi::AV_CODEC_CAP_VARIABLE_FRAME_SIZE != 0 || frame_size <= 0
            {
                None
            } else {
                Some(frame_size as usize)
            };
            let small_last_frame = caps & ffi::AV_CODEC_CAP_SMALL_LAST_FRAME != 0;

            // The stream.
            // SAFETY: valid output context; the stream belongs to it.
            let st = unsafe { ffi::avformat_new_stream(oc_ptr, ptr::null()) };
            if st.is_null() {
                return Err(out_err("out of memory".to_string()));
            }
            // SAFETY: st and cc are valid.
            unsafe {
                let r = ffi::avcodec_parameters_from_context((*st).codecpar, cc);
                if r < 0 {
                    return Err(out_err(format!("stream parameters: {}", av_err(r))));
                }
                (*st).time_base = enc_tb;
            }

            let swr = if out_rate != in_rate {
                Some(new_swr(&layout.0, in_rate, out_rate).map_err(&out_err)?)
            } else {
                None
            };
            // SAFETY: plain allocation, owned by `packet`.
            let packet = Packet {
                ptr: unsafe { ffi::av_packet_alloc() },
            };
            if packet.ptr.is_null() {
                return Err(out_err("out of memory".to_string()));
            }

            // The file, last: nothing is created unless everything above worked.
            // SAFETY: oformat is static.
            if unsafe { (*plan.oformat).flags } & ffi::AVFMT_NOFILE == 0 {
                // SAFETY: pb is null (fresh context); url is valid.
                let r = unsafe {
                    ffi::avio_open(
                        &mut (*oc_ptr).pb,
                        url.as_ptr(),
                        ffi::AVIO_FLAG_WRITE as c_int,
                    )
                };
                if r < 0 {
                    return Err(av_io_error(path, r, "cannot create the file"));
                }
            }
            // SAFETY: valid context with one stream and an open file.
            let r = unsafe { ffi::avformat_write_header(oc_ptr, ptr::null_mut()) };
            if r < 0 {
                // Close before removing (Windows cannot remove an open file).
                output_ctx.close();
                let _ = std::fs::remove_file(path);
                if r == ffi::AVERROR(ffmpeg_next::error::EINVAL)
                    || r == ffi::AVERROR_INVALIDDATA
                    || r == ffi::AVERROR_PATCHWELCOME
                {
                    // The muxer's own checks (codec, rate, channels it cannot store).
                    return Err(unsupported(format!(
                        "the {} container refused {codec_name} at {out_rate} Hz, \
                         {out_channels} channels: {}",
                        plan.muxer_name,
                        av_err(r)
                    )));
                }
                return Err(av_io_error(
                    path,
                    r,
                    &format!("writing the {} header", plan.muxer_name),
                ));
            }
            // SAFETY: the muxer may have changed the stream's time base in write_header.
            let stream_tb = unsafe { (*st).time_base };

            let info = EncoderInfo {
                output,
                backend: "ffmpeg",
                container: plan.muxer_name.clone(),
                codec: codec_name,
                sample_format: sample_fmt_name(plan.sample_fmt),
                bits_per_sample: plan.bits,
                sample_rate: out_rate,
                channels: out_channels,
                input_sample_rate: in_rate,
                input_channels: in_channels,
                frame_size,
                frames: 0,
            };
            Ok(FfmpegEncoder {
                packet,
                swr,
                codec: codec_ctx,
                output: output_ctx,
                layout,
                fifo: Fifo {
                    planes: vec![Vec::new(); out_channels],
                    start: 0,
                },
                mapped: Vec::new(),
                map,
                state: Tracked { info, frames_in: 0 },
                path: path.to_path_buf(),
                enc_tb,
                stream_tb,
                sample_fmt: plan.sample_fmt,
                bits: plan.bits,
                frame_size,
                small_last_frame,
                pts: 0,
                finished: false,
                failed: false,
            })
        }

        fn out_err(&self, reason: String) -> Error {
            Error::Output {
                path: self.state.info.output.clone(),
                reason,
            }
        }

        fn write_inner(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
            let n = chunk.frames();
            let out_ch = self.state.info.channels;
            let planar: &[f32] = if self.map == ChannelMap::Same {
                chunk.planar()
            } else {
                self.map.apply(&chunk, out_ch, &mut self.mapped);
                &self.mapped
            };
            match &self.swr {
                None => self.fifo.push(planar, n),
                Some(swr) => {
                    let inputs: Vec<*const u8> = (0..out_ch)
                        .map(|c| planar[c * n..].as_ptr() as *const u8)
                        .collect();
                    swr_run(swr, &mut self.fifo, Some((&inputs, n))).map_err(|e| {
                        Error::Output {
                            path: self.state.info.output.clone(),
                            reason: e,
                        }
                    })?;
                }
            }
            self.state.frames_in += n as u64;
            self.drain(false)
        }

        /// Sends full codec frames from the FIFO (and with `last`, what remains).
        fn drain(&mut self, last: bool) -> Result<()> {
            loop {
                let avail = self.fifo.len();
                if avail == 0 {
                    return Ok(());
                }
                let (n, pad) = match self.frame_size {
                    Some(fs) if avail >= fs => (fs, 0),
                    Some(fs) if last => (avail, if self.small_last_frame { 0 } else { fs - avail }),
                    Some(_) => return Ok(()),
                    None => (avail.min(BLOCK), 0),
                };
                self.send_frame(n, pad)?;
            }
        }

        fn send_frame(&mut self, n: usize, pad: usize) -> Result<()> {
            let channels = self.state.info.channels;
            let total = n + pad;
            // SAFETY: plain allocation, owned by `frame`.
            let frame = Frame {
                ptr: unsafe { ffi::av_frame_alloc() },
            };
            if frame.ptr.is_null() {
                return Err(self.out_err("out of memory".to_string()));
            }
            let f = frame.ptr;
            let planar = is_planar(self.sample_fmt);
            let bytes = sample_bytes(self.sample_fmt);
            // SAFETY: f is a fresh frame; the settings describe the buffer
            // av_frame_get_buffer allocates (and which this frame then solely owns).
            unsafe {
                (*f).format = self.sample_fmt as c_int;
                (*f).nb_samples = total as c_int;
                (*f).sample_rate = self.state.info.sample_rate as c_int;
                let r = ffi::av_channel_layout_copy(&mut (*f).ch_layout, &self.layout.0);
                if r < 0 {
                    return Err(self.out_err(format!("frame: {}", av_err(r))));
                }
                let r = ffi::av_frame_get_buffer(f, 0);
                if r < 0 {
                    return Err(self.out_err(format!("frame buffer: {}", av_err(r))));
                }
                (*f).pts = self.pts;
            }
            let (planes, per_plane) = if planar {
                (channels, total * bytes)
            } else {
                (1, total * bytes * channels)
            };
            for p in 0..planes {
                // SAFETY: av_frame_get_buffer gave `planes` buffers (extended_data) of at
                // least linesize[0] >= per_plane bytes each; the frame is not shared yet, so
                // writing through a unique slice is sound.
                let dst: &mut [u8] = unsafe {
                    let base = *(*f).extended_data.add(p);
                    debug_assert!((*f).linesize[0] as usize >= per_plane);
                    std::slice::from_raw_parts_mut(base, per_plane)
                };
                if planar {
                    write_samples(self.sample_fmt, self.bits, self.fifo.front(p, n), dst, 1, 0);
                    fill_silence(self.sample_fmt, &mut dst[n * bytes..]);
                } else {
                    for c in 0..channels {
                        write_samples(
                            self.sample_fmt,
                            self.bits,
                            self.fifo.front(c, n),
                            dst,
                            channels,
                            c,
                        );
                    }
                    fill_silence(self.sample_fmt, &mut dst[n * bytes * channels..]);
                }
            }
            self.fifo.consume(n);
            self.pts += total as i64;
            loop {
                // SAFETY: open codec context and a valid frame; the encoder takes its own
                // reference to the frame's buffers.
                let r = unsafe { ffi::avcodec_send_frame(self.codec.ptr, f) };
                if r == eagain() {
                    self.receive_packets()?;
                    continue;
                }
                if r < 0 {
                    return Err(self.out_err(format!(
                        "{} encoder: {}",
                        self.state.info.codec,
                        av_err(r)
                    )));
                }
                break;
            }
            self.state.info.frames += n as u64;
            self.receive_packets()
        }

        /// Moves every packet the encoder has ready into the container.
        fn receive_packets(&mut self) -> Result<()> {
            loop {
                // SAFETY: open codec context and an allocated packet owned here.
                let r = unsafe { ffi::avcodec_receive_packet(self.codec.ptr, self.packet.ptr) };
                if r == eagain() || r == ffi::AVERROR_EOF {
                    return Ok(());
                }
                if r < 0 {
                    return Err(self.out_err(format!(
                        "{} encoder: {}",
                        self.state.info.codec,
                        av_err(r)
                    )));
                }
                // SAFETY: the packet holds data from the encoder; av_interleaved_write_frame
                // takes its contents and leaves it blank for reuse.
                let w = unsafe {
                    (*self.packet.ptr).stream_index = 0;
                    ffi::av_packet_rescale_ts(self.packet.ptr, self.enc_tb, self.stream_tb);
                    ffi::av_interleaved_write_frame(self.output.ptr, self.packet.ptr)
                };
                if w < 0 {
                    return Err(av_io_error(
                        &self.path,
                        w,
                        &format!("writing the {} container", self.state.info.container),
                    ));
                }
            }
        }

        fn finish_inner(&mut self) -> Result<()> {
            if let Some(swr) = &self.swr {
                swr_run(swr, &mut self.fifo, None).map_err(|e| Error::Output {
                    path: self.state.info.output.clone(),
                    reason: e,
                })?;
            }
            self.drain(true)?;
            // SAFETY: a null frame enters draining mode.
            let r = unsafe { ffi::avcodec_send_frame(self.codec.ptr, ptr::null()) };
            if r < 0 && r != ffi::AVERROR_EOF {
                return Err(self.out_err(format!(
                    "{} encoder flush: {}",
                    self.state.info.codec,
                    av_err(r)
                )));
            }
            self.receive_packets()?;
            // SAFETY: valid context whose header was written.
            let r = unsafe { ffi::av_write_trailer(self.output.ptr) };
            if r < 0 {
                return Err(av_io_error(
                    &self.path,
                    r,
                    "writing the container's trailer",
                ));
            }
            let r = self.output.close();
            if r < 0 {
                return Err(av_io_error(&self.path, r, "closing the file"));
            }
            Ok(())
        }
    }

    impl Encoder for FfmpegEncoder {
        fn info(&self) -> &EncoderInfo {
            &self.state.info
        }

        fn write(&mut self, chunk: AudioChunk<'_>) -> Result<()> {
            if self.finished {
                return Err(finished_error(&self.state.info.output));
            }
            if self.failed {
                return Err(failed_error(&self.state.info.output));
            }
            check_chunk_tracked(&self.state, &chunk, false, super::FFMPEG_MAX_ABS)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let r = self.write_inner(chunk);
            self.failed = r.is_err();
            r
        }

        fn finish(&mut self) -> Result<()> {
            if self.finished {
                return Ok(());
            }
            if self.failed {
                return Err(failed_error(&self.state.info.output));
            }
            self.finished = true;
            let r = self.finish_inner();
            self.failed = r.is_err();
            r
        }
    }

    impl Drop for FfmpegEncoder {
        fn drop(&mut self) {
            if !self.finished && !self.failed {
                let _ = self.finish();
            }
        }
    }

    fn is_planar(f: ffi::AVSampleFormat) -> bool {
        // SAFETY: plain lookup.
        unsafe { ffi::av_sample_fmt_is_planar(f) != 0 }
    }

    fn sample_bytes(f: ffi::AVSampleFormat) -> usize {
        // SAFETY: plain lookup.
        unsafe { ffi::av_get_bytes_per_sample(f) as usize }
    }

    /// Converts `src` into `dst` in format `f`, sample `i` at slot `i * stride + offset`.
    fn write_samples(
        f: ffi::AVSampleFormat,
        bits: Option<u32>,
        src: &[f32],
        dst: &mut [u8],
        stride: usize,
        offset: usize,
    ) {
        use ffi::AVSampleFormat::*;
        macro_rules! put {
            ($size:expr, $conv:expr) => {{
                for (i, &x) in src.iter().enumerate() {
                    let at = (i * stride + offset) * $size;
                    #[allow(clippy::redundant_closure_call)]
                    dst[at..at + $size].copy_from_slice(&($conv)(x).to_ne_bytes());
                }
            }};
        }
        match f {
            AV_SAMPLE_FMT_U8 | AV_SAMPLE_FMT_U8P => {
                put!(1, |x: f32| (quantize(x, 8) + 128) as u8)
            }
            AV_SAMPLE_FMT_S16 | AV_SAMPLE_FMT_S16P => put!(2, |x: f32| quantize(x, 16) as i16),
            AV_SAMPLE_FMT_S32 | AV_SAMPLE_FMT_S32P => match bits {
                Some(b) if b < 32 => put!(4, |x: f32| quantize(x, b) << (32 - b)),
                _ => put!(4, |x: f32| quantize(x, 32)),
            },
            AV_SAMPLE_FMT_S64 | AV_SAMPLE_FMT_S64P => {
                put!(8, |x: f32| (quantize(x, 32) as i64) << 32)
            }
            AV_SAMPLE_FMT_FLT | AV_SAMPLE_FMT_FLTP => put!(4, |x: f32| x),
            AV_SAMPLE_FMT_DBL | AV_SAMPLE_FMT_DBLP => put!(8, |x: f32| x as f64),
            _ => {}
        }
    }

    /// Fills padding with the format's silence (zero; 0x80 for unsigned 8-bit).
    fn fill_silence(f: ffi::AVSampleFormat, dst: &mut [u8]) {
        use ffi::AVSampleFormat::*;
        let v = if matches!(f, AV_SAMPLE_FMT_U8 | AV_SAMPLE_FMT_U8P) {
            0x80
        } else {
            0
        };
        dst.fill(v);
    }

    /// A planar-f32 resampler between two rates, on the soxr engine when this FFmpeg has
    /// it (librosa's default is soxr_hq), else swresample's own.
    fn new_swr(
        layout: &ffi::AVChannelLayout,
        in_rate: u32,
        out_rate: u32,
    ) -> std::result::Result<Swr, String> {
        let fmt = ffi::AVSampleFormat::AV_SAMPLE_FMT_FLTP;
        let mut last = String::new();
        for engine in ["soxr", "swr"] {
            let mut s: *mut ffi::SwrContext = ptr::null_mut();
            // swr_alloc_set_opts2 takes non-const pointers in these bindings but only reads.
            let mut lay_out = *layout;
            let mut lay_in = *layout;
            // SAFETY: valid layouts (bitwise copies, read only) and formats.
            let r = unsafe {
                ffi::swr_alloc_set_opts2(
                    &mut s,
                    &mut lay_out,
                    fmt,
                    out_rate as c_int,
                    &mut lay_in,
                    fmt,
                    in_rate as c_int,
                    0,
                    ptr::null_mut(),
                )
            };
            if r < 0 || s.is_null() {
                return Err(format!("resampler: {}", av_err(r)));
            }
            let swr = Swr { ptr: s };
            let key = CString::new("resampler").expect("no NUL");
            let val = CString::new(engine).expect("no NUL");
            // SAFETY: s is a valid, uninitialised SwrContext (an AVClass object).
            let r = unsafe { ffi::av_opt_set(s as *mut c_void, key.as_ptr(), val.as_ptr(), 0) };
            if r < 0 {
                last = av_err(r);
                continue;
            }
            // SAFETY: valid context.
            let r = unsafe { ffi::swr_init(s) };
            if r >= 0 {
                return Ok(swr);
            }
            last = av_err(r);
        }
        Err(format!("resampler {in_rate} Hz -> {out_rate} Hz: {last}"))
    }

    /// Runs the resampler on `input` (`(plane pointers, frames)`), or flushes it with None,
    /// appending its output to the FIFO.
    fn swr_run(
        swr: &Swr,
        fifo: &mut Fifo,
        input: Option<(&[*const u8], usize)>,
    ) -> std::result::Result<(), String> {
        let (in_ptrs, n) = match input {
            Some((p, n)) => (p.as_ptr() as *mut *const u8, n),
            None => (ptr::null_mut(), 0),
        };
        loop {
            // SAFETY: valid context; a plain query.
            let cap = unsafe { ffi::swr_get_out_samples(swr.ptr, n as c_int) }.max(0) as usize + 16;
            let mut outs = fifo.grow(cap);
            // SAFETY: `outs` point to `cap` writable f32 slots per channel (just grown);
            // `in_ptrs` (when not null) point to `n` readable f32 per channel, kept alive by
            // the caller for the call.
            let got = unsafe {
                ffi::swr_convert(
                    swr.ptr,
                    outs.as_mut_ptr(),
                    cap as c_int,
                    in_ptrs,
                    n as c_int,
                )
            };
            if got < 0 {
                fifo.shrink(cap);
                return Err(format!("resampler: {}", av_err(got)));
            }
            fifo.shrink(cap - got as usize);
            // With input, one call consumes it all (the output had room for everything);
            // when flushing, call until nothing comes out.
            if input.is_some() || got == 0 {
                return Ok(());
            }
        }
    }
}
