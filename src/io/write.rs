//! Writers: 32-bit float WAV ([`write_wav`]) and NumPy `.npy` ([`write_npy`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{WritableElement, WriteNpyError, WriteNpyExt};

use crate::audio::Audio;
use crate::error::{Error, Result};

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// Writes `audio` as a 32-bit IEEE-float WAV file (all channels, interleaved), which
/// `librosa.load` and soundfile read back bit for bit.
///
/// Errors: [`Error::Io`] when the file cannot be created or written, [`Error::Output`] for
/// what WAV cannot hold (zero sample rate, more than 65535 channels, over 4 GiB of data).
///
/// ```
/// use wavegpu::{io::{load, write_wav, LoadOptions}, Audio};
/// let path = std::env::temp_dir().join("wavegpu_doc_write_wav.wav");
/// let a = Audio::from_mono(vec![0.0, 0.25, -0.5], 8000);
/// write_wav(&path, &a)?;
/// assert_eq!(load(&path, &LoadOptions::default())?, a);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn write_wav(path: impl AsRef<Path>, audio: &Audio) -> Result<()> {
    let path = path.as_ref();
    let output = |reason: String| Error::Output {
        path: path.display().to_string(),
        reason,
    };
    if audio.sample_rate() == 0 {
        return Err(output("cannot write a WAV file with sample rate 0".into()));
    }
    let channels = u16::try_from(audio.channels()).map_err(|_| {
        output(format!(
            "{} channels do not fit a WAV file",
            audio.channels()
        ))
    })?;
    let bytes = audio.len() as u64 * audio.channels() as u64 * 4;
    if bytes > u32::MAX as u64 - 1024 {
        return Err(output(format!(
            "{bytes} bytes of samples exceed the 4 GiB WAV limit"
        )));
    }
    let spec = hound::WavSpec {
        channels,
        sample_rate: audio.sample_rate(),
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let hound_error = |e: hound::Error| match e {
        hound::Error::IoError(io) => io_error(path, io),
        other => output(format!("WAV writer: {other}")),
    };
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut w = hound::WavWriter::new(BufWriter::new(file), spec).map_err(hound_error)?;
    let data = audio.data();
    for frame in data.columns() {
        for &s in frame {
            w.write_sample(s).map_err(hound_error)?;
        }
    }
    w.finalize().map_err(hound_error)
}

/// Writes an array as a NumPy `.npy` file (`numpy.save` format), keeping its shape and
/// element type: `f32` arrays become `float32`, `Complex<f32>` ones `complex64`.
///
/// Errors: [`Error::Io`] when the file cannot be created or written, [`Error::Output`] when
/// the header cannot be formatted.
///
/// ```
/// use ndarray::array;
/// let path = std::env::temp_dir().join("wavegpu_doc_write_npy.npy");
/// wavegpu::io::write_npy(&path, &array![[1.0f32, 2.0], [3.0, 4.0]])?;
/// assert_eq!(std::fs::read(&path).unwrap()[..6], *b"\x93NUMPY");
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), wavegpu::Error>(())
/// ```
pub fn write_npy<A, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<()>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    let path = path.as_ref();
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut w = BufWriter::new(file);
    array.write_npy(&mut w).map_err(|e| match e {
        WriteNpyError::Io(io) => io_error(path, io),
        other => Error::Output {
            path: path.display().to_string(),
            reason: format!("npy writer: {other}"),
        },
    })?;
    w.flush().map_err(|e| io_error(path, e))
}
