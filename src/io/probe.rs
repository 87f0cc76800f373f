//! Stream facts from the headers, without decoding: [`probe`] and [`ProbeInfo`].

use std::fmt::Write as _;

use super::decoder::Backend;
use super::source::Source;
use crate::error::Result;

/// What [`probe`] learns from a file's headers. Print it for the CLI with
/// [`ProbeInfo::to_json`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProbeInfo {
    /// The input's name (path or the name given to in-memory bytes).
    pub input: String,
    /// The backend that read the headers (`"symphonia"` or `"ffmpeg"`).
    pub backend: &'static str,
    /// Container format: `"wav"`, `"aiff"`, `"caf"`, `"flac"`, `"mp3"`, `"ogg"`, `"mp4"`,
    /// `"adts"`, `"matroska"`, ...
    pub container: String,
    /// Codec, FFmpeg's name where one exists: `"pcm_s16le"`, `"pcm_f32le"`, `"flac"`,
    /// `"mp3"`, `"vorbis"`, `"aac"`, `"opus"`, ...
    pub codec: String,
    /// Sample rate in Hz (0 if the headers do not say).
    pub sample_rate: u32,
    /// Number of channels (0 if the headers do not say).
    pub channels: usize,
    /// Frames per channel a full decode yields, when the headers say (gapless: encoder delay
    /// and padding excluded where the backend trims them).
    pub frames: Option<u64>,
    /// Duration in seconds: `frames / sample_rate`, or the container's own duration.
    pub duration: Option<f64>,
    /// Bits per stored sample, for PCM-like codecs.
    pub bits_per_sample: Option<u32>,
}

impl ProbeInfo {
    /// One-line JSON object with the keys `input`, `backend`, `container`, `codec`,
    /// `sample_rate`, `channels`, `frames`, `duration` and `bits_per_sample` (unknown values
    /// are `null`). Strings are escaped per RFC 8259.
    ///
    /// ```
    /// let info = wavegpu::io::probe("tests/data/fixtures/speech_16k.wav")?;
    /// let json = info.to_json();
    /// assert!(json.contains(r#""codec":"pcm_s16le""#));
    /// assert!(json.contains(r#""sample_rate":16000"#));
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(256);
        s.push('{');
        s.push_str("\"input\":");
        json_string(&mut s, &self.input);
        s.push_str(",\"backend\":");
        json_string(&mut s, self.backend);
        s.push_str(",\"container\":");
        json_string(&mut s, &self.container);
        s.push_str(",\"codec\":");
        json_string(&mut s, &self.codec);
        let _ = write!(
            s,
            ",\"sample_rate\":{},\"channels\":{}",
            self.sample_rate, self.channels
        );
        s.push_str(",\"frames\":");
        match self.frames {
            Some(n) => {
                let _ = write!(s, "{n}");
            }
            None => s.push_str("null"),
        }
        s.push_str(",\"duration\":");
        match self.duration {
            Some(d) if d.is_finite() => {
                // `{:?}` prints the shortest representation that round-trips, always with a
                // decimal point or exponent (valid JSON numbers either way).
                let _ = write!(s, "{d:?}");
            }
            _ => s.push_str("null"),
        }
        s.push_str(",\"bits_per_sample\":");
        match self.bits_per_sample {
            Some(b) => {
                let _ = write!(s, "{b}");
            }
            None => s.push_str("null"),
        }
        s.push('}');
        s
    }
}

fn json_string(out: &mut String, v: &str) {
    out.push('"');
    for ch in v.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads a file's headers (not its audio) with the symphonia backend: container, codec,
/// sample rate, channels, frame count and duration when the headers give them.
///
/// Cheap even for long files. The frame count is what the headers announce; a file truncated
/// after its header still probes fine and fails in [`load`](super::load). Use
/// [`Backend::probe`] for another backend.
///
/// ```
/// let info = wavegpu::io::probe("tests/data/fixtures/speech_16k.wav")?;
/// assert_eq!((info.container.as_str(), info.codec.as_str()), ("wav", "pcm_s16le"));
/// assert_eq!((info.sample_rate, info.channels), (16_000, 1));
/// assert_eq!(info.frames, Some(23_542));
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn probe<'a>(source: impl Into<Source<'a>>) -> Result<ProbeInfo> {
    Backend::Symphonia.probe(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_nulls() {
        let info = ProbeInfo {
            input: "a \"q\" \\ b\n\u{1}é".to_string(),
            backend: "symphonia",
            container: "wav".into(),
            codec: "pcm_s16le".into(),
            sample_rate: 16000,
            channels: 1,
            frames: None,
            duration: Some(1.5),
            bits_per_sample: Some(16),
        };
        assert_eq!(
            info.to_json(),
            r#"{"input":"a \"q\" \\ b\n\u0001é","backend":"symphonia","container":"wav","codec":"pcm_s16le","sample_rate":16000,"channels":1,"frames":null,"duration":1.5,"bits_per_sample":16}"#
        );
    }
}
