//! [`load`]: decode a whole file into an [`Audio`], like `librosa.load`.

use ndarray::Array2;

use super::decoder::Backend;
use super::resample::resample_named;
use super::source::Source;
use crate::audio::{check_finite_samples, Audio};
use crate::error::{Error, Result};

/// How [`load`] decodes: mixdown, target rate, time window and backend.
///
/// Defaults follow `librosa.load`, except the rate: mono (mean of the channels), the file's
/// own sample rate (librosa's `sr=None`; librosa's default is 22050), the whole file,
/// [`Backend::Auto`] (symphonia, and FFmpeg for what symphonia does not support when the
/// `ffmpeg` feature is built).
///
/// ```
/// use wavegpu::io::LoadOptions;
/// let opts = LoadOptions::default().mono().sample_rate(16_000).offset(0.5).duration(2.0);
/// assert_eq!(opts.target_sample_rate(), Some(16_000));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    mono: bool,
    sample_rate: Option<u32>,
    offset: f64,
    duration: Option<f64>,
    backend: Backend,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            mono: true,
            sample_rate: None,
            offset: 0.0,
            duration: None,
            backend: Backend::Auto,
        }
    }
}

impl LoadOptions {
    /// Mix down to one channel by averaging the channels (`librosa.to_mono`). The default.
    pub fn mono(mut self) -> Self {
        self.mono = true;
        self
    }

    /// Keep every channel (librosa's `mono=False`, the CLI's `--no-mono`).
    pub fn no_mono(mut self) -> Self {
        self.mono = false;
        self
    }

    /// Resample to `hz` after decoding (see [`resample`](super::resample) for the filter and
    /// how it differs from librosa's `soxr_hq`). Without this, the file's own rate is kept.
    pub fn sample_rate(mut self, hz: u32) -> Self {
        self.sample_rate = Some(hz);
        self
    }

    /// Keep the file's own sample rate (the default).
    pub fn native_sample_rate(mut self) -> Self {
        self.sample_rate = None;
        self
    }

    /// Start reading `seconds` into the file (librosa's `offset`): the first
    /// `round(seconds * native_rate)` frames are decoded and dropped.
    pub fn offset(mut self, seconds: f64) -> Self {
        self.offset = seconds;
        self
    }

    /// Read at most `seconds` of audio (librosa's `duration`): `round(seconds * native_rate)`
    /// frames, counted at the file's own rate before any resampling.
    pub fn duration(mut self, seconds: f64) -> Self {
        self.duration = Some(seconds);
        self
    }

    /// Decode with `backend` instead of [`Backend::Auto`].
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Whether the channels are mixed down.
    pub fn is_mono(&self) -> bool {
        self.mono
    }

    /// The requested output rate, `None` for the file's own.
    pub fn target_sample_rate(&self) -> Option<u32> {
        self.sample_rate
    }

    /// The decoding backend.
    pub fn decoder_backend(&self) -> Backend {
        self.backend
    }

    fn validate(&self) -> Result<()> {
        if self.sample_rate == Some(0) {
            return Err(Error::param("sample_rate", "must be > 0"));
        }
        if !(self.offset.is_finite() && self.offset >= 0.0) {
            return Err(Error::param(
                "offset",
                format!(
                    "must be a finite number of seconds >= 0, got {}",
                    self.offset
                ),
            ));
        }
        if let Some(d) = self.duration {
            if !(d.is_finite() && d >= 0.0) {
                return Err(Error::param(
                    "duration",
                    format!("must be a finite number of seconds >= 0, got {d}"),
                ));
            }
        }
        Ok(())
    }
}

/// Decodes a whole file (or in-memory bytes) into an [`Audio`], as `librosa.load` does.
///
/// - Integer PCM becomes `f32` divided by `2^(bits-1)`; float files are taken as they are.
/// - `mono` (the default) averages the channels: `sum / channels` in `f32`, as numpy's mean.
/// - With [`LoadOptions::sample_rate`], the result is resampled to that rate: length
///   `ceil(len * sr_out / sr_in)`, aligned with the input (see [`resample`](super::resample)).
/// - A zero-length stream loads as an empty `Audio` (one channel if mono); plans reject it
///   later.
///
/// The stream is decoded in bulk: packets are converted a buffer at a time into storage
/// allocated up front from the header's frame count when it is known. An `offset` is reached
/// with [`Decoder::seek`](super::Decoder::seek) (sample exact, so the result is that of
/// decoding from the start and dropping, as librosa does) where the decoder can seek.
/// To stream a long file in bounded memory instead, use [`ChunkReader`](super::ChunkReader).
///
/// Errors name the input and the component: [`Error::Io`] (cannot read the file),
/// [`Error::Unsupported`] (unknown container, codec without a decoder such as Opus in
/// symphonia, backend not built in), [`Error::Decode`] (empty, corrupt or truncated file),
/// [`Error::InvalidAudio`] (NaN or infinite samples, which librosa refuses too) and
/// [`Error::InvalidParameter`] (bad options).
///
/// ```
/// use wavegpu::io::{load, LoadOptions};
/// let audio = load("tests/data/fixtures/speech_16k.wav", &LoadOptions::default())?;
/// assert_eq!((audio.channels(), audio.len(), audio.sample_rate()), (1, 23_542, 16_000));
///
/// let at_8k = load("tests/data/fixtures/speech_16k.wav", &LoadOptions::default().sample_rate(8_000))?;
/// assert_eq!((at_8k.len(), at_8k.sample_rate()), (11_771, 8_000));
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn load<'a>(source: impl Into<Source<'a>>, options: &LoadOptions) -> Result<Audio> {
    options.validate()?;
    let source = source.into();
    let input = source.name().to_string();
    let mut dec = options.backend.open(source)?;
    let info = dec.spec().clone();
    let sr = info.sample_rate;
    let channels = info.channels;
    if channels == 0 || sr == 0 {
        return Err(Error::Decode {
            input,
            component: "decoder",
            reason: "the stream reports no channels or no sample rate".to_string(),
        });
    }

    let start = (options.offset * sr as f64).round() as u64;
    let limit = options.duration.map(|d| (d * sr as f64).round() as u64);
    let expected = info.frames.map(|n| {
        let after = n.saturating_sub(start);
        limit.map_or(after, |l| after.min(l))
    });
    // Preallocate from the header's count, capped so a lying header cannot exhaust memory.
    let cap = expected.map_or(0, |n| n.min(1 << 28) as usize);

    let mix = options.mono && channels > 1;
    let out_channels = if options.mono { 1 } else { channels };
    let mut planes: Vec<Vec<f32>> = (0..out_channels).map(|_| Vec::with_capacity(cap)).collect();

    // Skip to `offset` with the decoder's seek (sample exact: the samples are those a decode
    // from the start gives), or by decoding and dropping where it cannot seek.
    let mut skipped = 0u64;
    if start > 0 {
        match dec.seek(start) {
            // At `start`, or at the end when `start` is past it: nothing left to drop.
            Ok(_) => skipped = start,
            Err(Error::Unsupported { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut taken = 0u64;
    while limit.is_none_or(|l| taken < l) {
        let Some(chunk) = dec.next_chunk()? else {
            break;
        };
        let n = chunk.frames() as u64;
        // Drop frames before `offset`.
        let from = if skipped < start {
            let s = (start - skipped).min(n);
            skipped += s;
            s
        } else {
            0
        };
        let mut to = n;
        if let Some(l) = limit {
            to = to.min(from + (l - taken));
        }
        if from >= to {
            continue;
        }
        let (from, to) = (from as usize, to as usize);
        for c in 0..channels {
            check_finite_samples(&chunk.channel(c)[from..to], &input, c, taken)?;
        }
        if mix {
            // numpy's mean over axis 0: sequential f32 sum over channels, then divide.
            let dst = &mut planes[0];
            let base = dst.len();
            dst.extend_from_slice(&chunk.channel(0)[from..to]);
            for c in 1..channels {
                for (d, s) in dst[base..].iter_mut().zip(&chunk.channel(c)[from..to]) {
                    *d += *s;
                }
            }
            let k = channels as f32;
            for d in &mut dst[base..] {
                *d /= k;
            }
        } else {
            for (c, dst) in planes.iter_mut().enumerate() {
                dst.extend_from_slice(&chunk.channel(c)[from..to]);
            }
        }
        taken += (to - from) as u64;
    }
    drop(dec);

    let len = planes[0].len();
    let data = if out_channels == 1 {
        let mono = planes.pop().expect("one plane");
        Array2::from_shape_vec((1, len), mono)
    } else {
        let mut flat = Vec::with_capacity(out_channels * len);
        for p in &planes {
            flat.extend_from_slice(p);
        }
        Array2::from_shape_vec((out_channels, len), flat)
    }
    .expect("planes of equal length");
    let audio = Audio::new(data, sr)?.with_name(input.as_str());
    match options.sample_rate {
        Some(target) if target != sr => {
            resample_named(&audio, target, &input).map(|a| a.with_name(input.as_str()))
        }
        _ => Ok(audio),
    }
}
