//! A float32 `.npy` file written frame block by frame block, for streams whose length is not
//! known in advance (see [`crate::Stft::stream`]).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayView, Axis, RemoveAxis};

use crate::error::{Error, Result};

/// Writes a float32 `.npy` array whose **last** axis grows as blocks are appended, with memory
/// bounded by one block: the data is stored in Fortran (column-major) order, where each new
/// frame is contiguous at the end of the file; `numpy.load` reads it as usual (an
/// F-contiguous array of the same shape and values). The header is rewritten with the final
/// shape by [`finish`](Self::finish); a file not finished has a zero-length last axis.
///
/// ```
/// use ndarray::{Array3, Axis};
/// let dir = std::env::temp_dir().join(format!("wavegpu-npy-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("mel.npy");
/// let mut w = wavegpu::io::NpyStreamWriter::create(&path, &[2, 3])?; // (2, 3, frames)
/// for i in 0..4 {
///     let block = Array3::from_shape_fn((2, 3, 5), |(c, v, t)| (100 * c + 10 * v + t + 5 * i) as f32);
///     w.append(block.view())?;
/// }
/// w.finish()?;
/// let back: ndarray::ArrayD<f32> = ndarray_npy::read_npy(&path).unwrap();
/// assert_eq!(back.shape(), &[2, 3, 20]);
/// assert_eq!(back[[1, 2, 17]], 137.0);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NpyStreamWriter {
    file: BufWriter<File>,
    path: PathBuf,
    lead: Vec<usize>,
    frames: usize,
    scratch: Vec<u8>,
}

impl NpyStreamWriter {
    /// Bytes of the header (magic, version, length, dictionary, padding): fixed, so that the
    /// final shape can be written over the provisional one; the data starts here.
    pub const HEADER_BYTES: usize = 128;

    /// Creates `path` for an array of shape `lead + [frames]`.
    pub fn create(path: impl AsRef<Path>, lead: &[usize]) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut w = NpyStreamWriter {
            file: BufWriter::new(file),
            path,
            lead: lead.to_vec(),
            frames: 0,
            scratch: Vec::new(),
        };
        w.header()?;
        Ok(w)
    }

    /// Frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            source: e,
        }
    }

    fn header(&mut self) -> Result<()> {
        let dims: Vec<String> = self
            .lead
            .iter()
            .chain(std::iter::once(&self.frames))
            .map(|d| d.to_string())
            .collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let dict = format!("{{'descr': '<f4', 'fortran_order': True, 'shape': {shape}, }}");
        let body = Self::HEADER_BYTES - 10;
        if dict.len() + 1 > body {
            return Err(Error::param(
                "shape",
                format!("{shape} is too long for the header"),
            ));
        }
        let mut h = Vec::with_capacity(Self::HEADER_BYTES);
        h.extend_from_slice(b"\x93NUMPY\x01\x00");
        h.extend_from_slice(&(body as u16).to_le_bytes());
        h.extend_from_slice(dict.as_bytes());
        h.resize(Self::HEADER_BYTES - 1, b' ');
        h.push(b'\n');
        self.file.write_all(&h).map_err(|e| self.io(e))
    }

    /// Appends a block of shape `lead + [n]`.
    pub fn append<D: RemoveAxis>(&mut self, block: ArrayView<'_, f32, D>) -> Result<()> {
        let shape = block.shape();
        let n = shape.last().copied().unwrap_or(0);
        if shape.len() != self.lead.len() + 1 || shape[..shape.len() - 1] != self.lead[..] {
            return Err(Error::param(
                "block",
                format!(
                    "shape {shape:?} does not extend {:?} along its last axis",
                    self.lead
                ),
            ));
        }
        // Fortran order: the first axis varies fastest, the last (frames) slowest.
        let last = Axis(shape.len() - 1);
        self.scratch.clear();
        for frame in block.axis_iter(last) {
            for v in frame.t().iter() {
                self.scratch.extend_from_slice(&v.to_le_bytes());
            }
        }
        let bytes = std::mem::take(&mut self.scratch);
        let r = self.file.write_all(&bytes);
        self.scratch = bytes;
        r.map_err(|e| self.io(e))?;
        self.frames += n;
        Ok(())
    }

    /// Writes the final shape into the header and closes the file.
    pub fn finish(mut self) -> Result<()> {
        self.file.flush().map_err(|e| self.io(e))?;
        self.file.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
        self.header()?;
        self.file.flush().map_err(|e| self.io(e))
    }
}
