//! Writers: 32-bit float WAV ([`write_wav`], on the streaming [`WavEncoder`]) and NumPy
//! `.npy` ([`write_npy`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{WritableElement, WriteNpyError, WriteNpyExt};

use super::encode::{EncodeOptions, Encoder, SampleFormat, WavEncoder};
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
    let bytes = audio.len() as u64 * audio.channels() as u64 * 4;
    if bytes > u32::MAX as u64 - 1024 {
        return Err(Error::Output {
            path: path.display().to_string(),
            reason: format!("{bytes} bytes of samples exceed the 4 GiB WAV limit"),
        });
    }
    // The encoder checks the rate and channel count before creating the file; the size is
    // only known here, so it is checked above.
    let mut enc = WavEncoder::create(
        path,
        audio.sample_rate(),
        audio.channels(),
        &EncodeOptions::default().sample_format(SampleFormat::F32),
    )?;
    enc.write_audio(audio)?;
    enc.finish()
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
