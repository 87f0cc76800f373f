//! Streaming a file through an STFT or feature plan into a .npy, with memory bounded by a chunk: long
//! inputs (or `--stream`) are decoded chunk by chunk (`io::ChunkReader`), pushed through the
//! plan's stream and written block by block (`io::NpyStreamWriter`); results equal a whole-file
//! run. Post stages that need the whole output's maximum (dB floors, MFCCs) make a second pass
//! over a partial file next to the output.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use clap::Args;
use ndarray::{Array3, ArrayView2, Axis, ShapeBuilder};
use wavegpu::io::{ChunkReader, NpyStreamWriter, ResampleStream};
use wavegpu::{Chroma, FeatureStream, Mel, Mfcc, Stft, StftStream};

use crate::args::LoadArgs;
use crate::backend;
use crate::fail::Fail;

/// Inputs at least this long stream without `--stream`.
pub const STREAM_ABOVE_SECONDS: f64 = 600.0;
/// Frames decoded per push.
const CHUNK: usize = 1 << 16;
/// Frames per block in the second pass.
const PASS_FRAMES: usize = 4096;

#[derive(Debug, Args)]
pub struct StreamArg {
    /// Decode and compute chunk by chunk with memory bounded by the chunk, writing the .npy as
    /// it goes (done anyway for inputs of 10 minutes or more; not for .png or --complex
    /// output); a --sr that resamples does so block by block. Same numbers as a whole-file run
    #[arg(long)]
    pub stream: bool,
}

/// A stream of blocks as `push`/`finish` give them, final or (when `deferred`) to finalize.
pub trait BlockStream {
    fn push(&mut self, chunk: ArrayView2<'_, f32>) -> wavegpu::Result<Array3<f32>>;
    fn push_from(
        &mut self,
        reader: &mut ChunkReader<'_>,
        frames: usize,
    ) -> wavegpu::Result<(usize, Array3<f32>)>;
    fn finish(&mut self) -> wavegpu::Result<Array3<f32>>;
    fn deferred(&self) -> bool;
    fn finalize(&self, block: Array3<f32>) -> wavegpu::Result<Array3<f32>>;
}

impl BlockStream for FeatureStream<'_> {
    fn push(&mut self, chunk: ArrayView2<'_, f32>) -> wavegpu::Result<Array3<f32>> {
        FeatureStream::push(self, chunk)
    }
    fn push_from(
        &mut self,
        reader: &mut ChunkReader<'_>,
        frames: usize,
    ) -> wavegpu::Result<(usize, Array3<f32>)> {
        FeatureStream::push_from(self, reader, frames)
    }
    fn finish(&mut self) -> wavegpu::Result<Array3<f32>> {
        FeatureStream::finish(self)
    }
    fn deferred(&self) -> bool {
        FeatureStream::deferred(self)
    }
    fn finalize(&self, block: Array3<f32>) -> wavegpu::Result<Array3<f32>> {
        FeatureStream::finalize(self, block)
    }
}

impl BlockStream for StftStream<'_> {
    fn push(&mut self, chunk: ArrayView2<'_, f32>) -> wavegpu::Result<Array3<f32>> {
        StftStream::push(self, chunk)
    }
    fn push_from(
        &mut self,
        reader: &mut ChunkReader<'_>,
        frames: usize,
    ) -> wavegpu::Result<(usize, Array3<f32>)> {
        StftStream::push_from(self, reader, frames)
    }
    fn finish(&mut self) -> wavegpu::Result<Array3<f32>> {
        StftStream::finish(self)
    }
    fn deferred(&self) -> bool {
        false
    }
    fn finalize(&self, block: Array3<f32>) -> wavegpu::Result<Array3<f32>> {
        Ok(block)
    }
}

/// Plans with a stream.
pub trait Streamable {
    fn stream(&self, channels: usize) -> wavegpu::Result<Box<dyn BlockStream + '_>>;
}

macro_rules! streamable {
    ($($t:ty),*) => {$(
        impl Streamable for $t {
            fn stream(&self, channels: usize) -> wavegpu::Result<Box<dyn BlockStream + '_>> {
                Ok(Box::new(<$t>::stream(self, channels)?))
            }
        }
    )*};
}
streamable!(Mel, Mfcc, Chroma, Stft);

/// The sample rate the plan sees when the input should stream (forced or long): `--sr` when
/// given (the stream resamples), else the input's own. Never for a pipe or a device.
pub fn stream_rate(input: &Path, load: &LoadArgs, forced: bool) -> Option<u32> {
    // A pipe or device (/dev/stdin) can be read once: it is read whole, not probed first.
    if !std::fs::metadata(input).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let info = wavegpu::io::probe(input).ok()?;
    let long = info.duration.is_some_and(|d| d >= STREAM_ABOVE_SECONDS);
    (forced || long).then_some(load.sr.unwrap_or(info.sample_rate))
}

/// Streams `input` through `plan` into the float32 .npy `output`.
pub fn stream_to_npy<P: Streamable>(
    plan: &P,
    input: &Path,
    output: &Path,
    load: &LoadArgs,
) -> Result<(), Fail> {
    let fail = |e| Fail::lib(input.display(), e);
    let mono = !load.no_mono;
    let mut reader = ChunkReader::open(input, backend(load.decoder.decoder))
        .map_err(fail)?
        .mono(mono);
    let ch = reader.channels();
    // Resampled block by block: the same samples as resampling the whole file.
    let sr_in = reader.spec().sample_rate;
    let mut rs = match load.sr {
        Some(sr) if sr != sr_in => Some(ResampleStream::new(ch, sr_in, sr).map_err(fail)?),
        _ => None,
    };
    let mut st = plan.stream(ch).map_err(fail)?;
    let deferred = st.deferred();
    let first = if deferred {
        partial_path(output)
    } else {
        output.to_path_buf()
    };
    let mut w = BlockWriter::new(&first, mono);
    match &mut rs {
        // Decoded straight into the stream's window.
        None => loop {
            let (n, block) = st.push_from(&mut reader, CHUNK).map_err(fail)?;
            w.write(block)?;
            if n == 0 {
                break;
            }
        },
        Some(rs) => {
            let mut buf = vec![0.0f32; ch * CHUNK];
            loop {
                let n = reader.read(&mut buf, CHUNK).map_err(fail)?;
                if n == 0 {
                    break;
                }
                let view = ArrayView2::from_shape((ch, n).strides((CHUNK, 1)), &buf[..])
                    .map_err(|e| Fail::input(input.display(), e))?;
                w.write(st.push(rs.push(view).map_err(fail)?.view()).map_err(fail)?)?;
            }
            let tail = rs.finish().map_err(fail)?;
            w.write(st.push(tail.view()).map_err(fail)?)?;
        }
    }
    w.write(st.finish().map_err(fail)?)?;
    let (values, frames) = w.finish()?;
    if deferred {
        let r = second_pass(st.as_ref(), &first, output, mono, (ch, values, frames));
        let _ = std::fs::remove_file(&first);
        r?;
    }
    Ok(())
}

/// Blocks `(channels, values, frames)` into an [`NpyStreamWriter`] made on the first block:
/// `(values, frames)` for mono, else the channels too. A file it made and did not finish
/// (the run failed part-way) is removed when it is dropped, rather than left behind as a
/// valid-looking .npy of the frames so far.
struct BlockWriter<'a> {
    path: &'a Path,
    mono: bool,
    w: Option<(NpyStreamWriter, usize)>,
    /// The file exists and is not finished.
    partial: bool,
}

impl Drop for BlockWriter<'_> {
    fn drop(&mut self) {
        if self.partial {
            self.w = None; // closes the file first
            let _ = std::fs::remove_file(self.path);
        }
    }
}

impl<'a> BlockWriter<'a> {
    fn new(path: &'a Path, mono: bool) -> Self {
        BlockWriter {
            path,
            mono,
            w: None,
            partial: false,
        }
    }

    fn write(&mut self, block: Array3<f32>) -> Result<(), Fail> {
        crate::check_result(self.path, &block)?;
        let err = |e| Fail::lib(self.path.display(), e);
        let (w, _) = match &mut self.w {
            Some(w) => w,
            None => {
                let (ch, values, _) = block.dim();
                let lead = if self.mono {
                    vec![values]
                } else {
                    vec![ch, values]
                };
                let w = NpyStreamWriter::create(self.path, &lead).map_err(err)?;
                self.partial = true;
                self.w.insert((w, values))
            }
        };
        if self.mono {
            w.append(block.index_axis(Axis(0), 0))
        } else {
            w.append(block.view())
        }
        .map_err(err)
    }

    /// Writes the final shape; `(values, frames)` written.
    fn finish(mut self) -> Result<(usize, usize), Fail> {
        let Some((w, values)) = self.w.take() else {
            return Err(Fail::input(self.path.display(), "no frames"));
        };
        let frames = w.frames();
        w.finish().map_err(|e| Fail::lib(self.path.display(), e))?;
        self.partial = false;
        Ok((values, frames))
    }
}

/// `OUT.npy` -> `OUT.partial.npy`, next to it.
fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_stem().unwrap_or_default().to_os_string();
    name.push(".partial.npy");
    output.with_file_name(name)
}

/// Reads the first pass's `(ch, values, frames)` output back block by block (Fortran order:
/// each frame is contiguous after the header), finalizes it and writes the output.
fn second_pass(
    st: &dyn BlockStream,
    partial: &Path,
    output: &Path,
    mono: bool,
    (ch, values, frames): (usize, usize, usize),
) -> Result<(), Fail> {
    let bad = |e: std::io::Error| Fail::input(partial.display(), e);
    let mut r = BufReader::new(std::fs::File::open(partial).map_err(bad)?);
    r.seek_relative(NpyStreamWriter::HEADER_BYTES as i64)
        .map_err(bad)?;
    let mut w = BlockWriter::new(output, mono);
    let mut bytes = vec![0u8; ch * values * PASS_FRAMES * 4];
    let mut done = 0;
    while done < frames {
        let n = PASS_FRAMES.min(frames - done);
        let len = ch * values * n * 4;
        r.read_exact(&mut bytes[..len]).map_err(bad)?;
        // Fortran order: (c, v, t) at c + ch * (v + values * t).
        let block = Array3::from_shape_fn((ch, values, n), |(c, v, t)| {
            let i = 4 * (c + ch * (v + values * t));
            f32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]])
        });
        w.write(
            st.finalize(block)
                .map_err(|e| Fail::lib(output.display(), e))?,
        )?;
        done += n;
    }
    w.finish().map(|_| ())
}
