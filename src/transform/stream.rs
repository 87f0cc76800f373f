//! Streaming: a long signal pushed chunk by chunk through a plan, with memory bounded by the
//! chunk size, giving exactly the frames the plan gives on the whole signal.
//!
//! How: frame `t` covers samples `t*hop - pad .. t*hop - pad + n_fft`. After each push, every
//! frame whose window lies inside the samples seen so far is complete. The plan itself runs on
//! the window `x[a..seen)` with `a` a multiple of the hop: its frame `k` is the signal's frame
//! `a/hop + k`, exact wherever it needs no padding (`k*hop >= pad` when `a > 0`, and windows
//! that end by `seen`); when `a = 0` the left padding is the signal's own. At the end the
//! right padding is the signal's own too. Samples before the next window start are dropped.
//! A few frames at each window's edges are computed and discarded (about `2 pad / hop` per
//! push): push chunks of several thousand samples or more.
//!
//! Memory: the kept samples live in one buffer that grows to the largest window seen and is
//! reused (samples no later frame needs are moved to its front, a few frames' worth), so a
//! steady stream allocates no sample buffer per push. A decoder can write into it directly
//! (`push_from` with an [`io::ChunkReader`](crate::io::ChunkReader)); from there a GPU plan
//! copies the window straight into wgpu's staging memory.

use ndarray::{s, Array2, Array3, ArrayView2};

use crate::dsp::frames::Framing;
use crate::error::{Error, Result};

/// The frames of a window of samples, as a plan computes them for a signal of those samples:
/// `(rows, values, frames)`.
pub(crate) trait RunWindow {
    /// Values per frame of the output.
    fn values(&self) -> usize;
    fn run_window(&self, data: ArrayView2<'_, f32>) -> Result<Array3<f32>>;
}

/// Where a stream stands: the samples kept, the next frame to emit.
#[derive(Debug)]
pub(crate) struct Framer {
    framing: Framing,
    channels: usize,
    /// Samples `base..seen` of every channel in columns `0..seen - base`; the columns past
    /// them are spare capacity.
    buf: Array2<f32>,
    base: usize,
    seen: usize,
    next: usize,
    finished: bool,
}

impl Framer {
    pub fn new(framing: Framing, channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::param(
                "channels",
                "a stream needs at least one channel",
            ));
        }
        Ok(Framer {
            framing,
            channels,
            buf: Array2::zeros((channels, 0)),
            base: 0,
            seen: 0,
            next: 0,
            finished: false,
        })
    }

    /// Frames `0..` of the plan's output over `x[a..)`, skipped at the start: `ceil(pad / hop)`
    /// when `a > 0` (those see the window's own left padding), none when `a = 0`.
    fn window_start(&self, t: usize) -> usize {
        let hop = self.framing.hop;
        let lead = self.framing.left_pad().div_ceil(hop);
        t.saturating_sub(lead) * hop
    }

    /// Appends `chunk` (`channels x frames`) and returns the frames it completed.
    pub fn push(
        &mut self,
        plan: &dyn RunWindow,
        chunk: ArrayView2<'_, f32>,
    ) -> Result<Array3<f32>> {
        if chunk.nrows() != self.channels {
            return Err(Error::audio(
                "stream",
                format!(
                    "a chunk of {} channels into a stream of {}",
                    chunk.nrows(),
                    self.channels
                ),
            ));
        }
        crate::audio::check_finite_from(chunk, "stream", self.seen as u64)?;
        self.append(chunk.ncols(), |mut dst| {
            dst.assign(&chunk);
            Ok(chunk.ncols())
        })?;
        self.complete(plan)
    }

    /// Reads up to `frames` frames from `reader` straight into the kept samples and returns
    /// the frames read (0 at the end of the stream) and the frames they completed.
    pub fn push_from(
        &mut self,
        plan: &dyn RunWindow,
        reader: &mut crate::io::ChunkReader<'_>,
        frames: usize,
    ) -> Result<(usize, Array3<f32>)> {
        if reader.channels() != self.channels {
            return Err(Error::audio(
                "stream",
                format!(
                    "a reader of {} channels into a stream of {}",
                    reader.channels(),
                    self.channels
                ),
            ));
        }
        let input = reader.spec().input.clone();
        let offset = self.seen as u64;
        let n = self.append(frames, |mut dst| {
            let n = reader.read_into(dst.view_mut())?;
            crate::audio::check_finite_from(dst.slice(s![.., ..n]), &input, offset)?;
            Ok(n)
        })?;
        Ok((n, self.complete(plan)?))
    }

    /// Makes room for `frames` samples after the kept ones, lets `fill` write them (returning
    /// how many it wrote) and counts them in.
    fn append(
        &mut self,
        frames: usize,
        fill: impl FnOnce(ndarray::ArrayViewMut2<'_, f32>) -> Result<usize>,
    ) -> Result<usize> {
        if self.finished {
            return Err(Error::param("stream", "push after finish"));
        }
        let kept = self.seen - self.base;
        if kept + frames > self.buf.ncols() {
            let cap = (kept + frames).max(2 * self.buf.ncols());
            let mut grown = Array2::zeros((self.channels, cap));
            grown
                .slice_mut(s![.., ..kept])
                .assign(&self.buf.slice(s![.., ..kept]));
            self.buf = grown;
        }
        let n = fill(self.buf.slice_mut(s![.., kept..kept + frames]))?;
        self.seen += n;
        Ok(n)
    }

    /// The frames whose windows end by the samples seen so far.
    fn complete(&mut self, plan: &dyn RunWindow) -> Result<Array3<f32>> {
        let f = self.framing;
        // Frames whose window ends by `seen`: t*hop - pad + n_fft <= seen.
        let limit = self.seen + f.left_pad();
        let end = if limit >= f.n_fft {
            (limit - f.n_fft) / f.hop + 1
        } else {
            0
        };
        self.emit(plan, end)
    }

    /// The frames left once the signal has ended (those that reach its right padding).
    pub fn finish(&mut self, plan: &dyn RunWindow) -> Result<Array3<f32>> {
        if self.finished {
            return Err(Error::param("stream", "finish called twice"));
        }
        self.finished = true;
        let total = self.framing.frames(self.seen, "stream")?;
        self.emit(plan, total)
    }

    /// Runs the plan over the kept window for frames `next..end` and drops the samples no
    /// later frame needs.
    fn emit(&mut self, plan: &dyn RunWindow, end: usize) -> Result<Array3<f32>> {
        let (hop, t0) = (self.framing.hop, self.next);
        if end <= t0 {
            return Ok(Array3::zeros((self.channels, plan.values(), 0)));
        }
        let a = self.window_start(t0);
        debug_assert!(a >= self.base, "samples dropped too early");
        let window = self.buf.slice(s![.., a - self.base..self.seen - self.base]);
        let out = plan.run_window(window)?;
        let (k0, k1) = (t0 - a / hop, end - a / hop);
        if out.dim().2 < k1 {
            return Err(Error::audio(
                "stream",
                format!("internal: window gave {} frames, {k1} needed", out.dim().2),
            ));
        }
        let block = out.slice(s![.., .., k0..k1]).to_owned();
        self.next = end;
        let keep_from = self.window_start(self.next).max(self.base);
        if keep_from > self.base {
            let (from, to) = (keep_from - self.base, self.seen - self.base);
            for mut row in self.buf.rows_mut() {
                if let Some(r) = row.as_slice_mut() {
                    r.copy_within(from..to, 0);
                }
            }
            self.base = keep_from;
        }
        Ok(block)
    }
}

/// Pushes a long signal through an [`Stft`](crate::Stft) plan chunk by chunk (see
/// [`Stft::stream`](crate::Stft::stream)).
pub struct StftStream<'p> {
    pub(crate) plan: &'p crate::Stft,
    pub(crate) framer: Framer,
}

impl std::fmt::Debug for StftStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StftStream")
            .field("framer", &self.framer)
            .finish()
    }
}

impl StftStream<'_> {
    /// Appends `chunk` (`(channels, samples)`) and returns the frames it completed,
    /// `(channels, freq, new frames)` (possibly none).
    pub fn push(&mut self, chunk: ArrayView2<'_, f32>) -> Result<Array3<f32>> {
        self.framer.push(self.plan, chunk)
    }

    /// Decodes up to `frames` frames from `reader` straight into the stream's window (no
    /// buffer of yours in between) and returns how many it read (0 at the end of the stream)
    /// with the frames they completed. The reader's channel count (after its mixdown) must be
    /// the stream's.
    ///
    /// ```
    /// use wavegpu::io::{Backend, ChunkReader};
    /// use wavegpu::{Device, Spectrogram};
    /// let plan = Spectrogram::stft().n_fft(512).hop_length(128).build(&Device::cpu())?;
    /// let mut reader = ChunkReader::open("tests/data/fixtures/stereo_48k.wav", Backend::Auto)?;
    /// let mut st = plan.stream(reader.channels())?;
    /// let mut frames = 0;
    /// loop {
    ///     let (read, block) = st.push_from(&mut reader, 16_384)?;
    ///     frames += block.dim().2;
    ///     if read == 0 {
    ///         break;
    ///     }
    /// }
    /// frames += st.finish()?.dim().2;
    /// assert_eq!(frames, 1 + 24_000 / 128);
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn push_from(
        &mut self,
        reader: &mut crate::io::ChunkReader<'_>,
        frames: usize,
    ) -> Result<(usize, Array3<f32>)> {
        self.framer.push_from(self.plan, reader, frames)
    }
    /// Ends the signal and returns its last frames (those that reach the right padding).
    pub fn finish(&mut self) -> Result<Array3<f32>> {
        self.framer.finish(self.plan)
    }
}

/// Pushes a long signal through a feature plan ([`Mel`](crate::Mel), [`Mfcc`](crate::Mfcc),
/// [`Chroma`](crate::Chroma)) chunk by chunk; made by their `stream` method.
///
/// Blocks come out as soon as their frames are complete. Post stages that need the maximum of
/// the whole output (dB relative to the maximum, librosa's `top_db` floor — the defaults of
/// `to_db` and of MFCCs) cannot be applied before the signal has ended: then
/// [`deferred`](Self::deferred) is true, `push`/`finish` return the filterbank output (e.g.
/// mel power), and [`finalize`](Self::finalize) turns each such block into the final values
/// once `finish` has been called. Otherwise blocks are final as they come.
pub struct FeatureStream<'p> {
    pub(crate) plan: &'p crate::transform::features::FeaturePlan,
    pub(crate) bare: &'p crate::transform::features::FeaturePlan,
    pub(crate) framer: Framer,
    /// Each row's maximum of the filterbank output so far.
    pub(crate) maxes: Vec<f32>,
    pub(crate) deferred: bool,
}

impl std::fmt::Debug for FeatureStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureStream")
            .field("framer", &self.framer)
            .field("deferred", &self.deferred)
            .finish()
    }
}

impl FeatureStream<'_> {
    /// True when blocks need [`finalize`](Self::finalize) after [`finish`](Self::finish).
    pub fn deferred(&self) -> bool {
        self.deferred
    }

    /// Appends `chunk` (`(channels, samples)`) and returns the frames it completed,
    /// `(channels, values, new frames)`: final values, or the filterbank output when
    /// [`deferred`](Self::deferred).
    pub fn push(&mut self, chunk: ArrayView2<'_, f32>) -> Result<Array3<f32>> {
        let block = self.framer.push(self.bare, chunk)?;
        self.after(block)
    }

    /// Decodes up to `frames` frames from `reader` straight into the stream's window and
    /// returns how many it read (0 at the end of the stream) with the frames they completed
    /// (see [`StftStream::push_from`]).
    pub fn push_from(
        &mut self,
        reader: &mut crate::io::ChunkReader<'_>,
        frames: usize,
    ) -> Result<(usize, Array3<f32>)> {
        let (n, block) = self.framer.push_from(self.bare, reader, frames)?;
        Ok((n, self.after(block)?))
    }

    /// Ends the signal and returns its last frames.
    pub fn finish(&mut self) -> Result<Array3<f32>> {
        let block = self.framer.finish(self.bare)?;
        self.after(block)
    }

    /// The final values of a block that `push` or `finish` returned while
    /// [`deferred`](Self::deferred), once `finish` has been called (before that, an error).
    pub fn finalize(&self, block: Array3<f32>) -> Result<Array3<f32>> {
        if !self.deferred {
            return Err(Error::param(
                "stream",
                "blocks are final already (not deferred)",
            ));
        }
        if !self.framer.finished {
            return Err(Error::param(
                "stream",
                "finalize needs the whole signal's maximum: call finish first",
            ));
        }
        Ok(self.post(block))
    }

    fn after(&mut self, block: Array3<f32>) -> Result<Array3<f32>> {
        for (m, row) in self.maxes.iter_mut().zip(block.outer_iter()) {
            *m = row.iter().fold(*m, |a, &v| a.max(v));
        }
        Ok(if self.deferred {
            block
        } else {
            self.post(block)
        })
    }

    fn post(&self, block: Array3<f32>) -> Array3<f32> {
        let post = &self.plan.cfg.post;
        if post.is_empty() {
            return block;
        }
        let frames = vec![block.dim().2; block.dim().0];
        post.apply(block, &frames, &self.maxes)
    }
}
