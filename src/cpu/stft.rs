//! CPU STFT and iSTFT (twins of `shaders/stft.wgsl` and `shaders/istft.wgsl`).

use std::sync::Arc;

use ndarray::parallel::prelude::*;
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};
use num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::dsp::frames::{padded_index, Framing};
use crate::transform::stft::Epilogue;

/// A planned CPU STFT: the realfft plans and the window, built once.
pub(crate) struct CpuStft {
    framing: Framing,
    window: Vec<f32>,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
}

impl CpuStft {
    pub fn new(framing: Framing, window: &[f64]) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        CpuStft {
            framing,
            window: window.iter().map(|&w| w as f32).collect(),
            r2c: planner.plan_fft_forward(framing.n_fft),
            c2r: planner.plan_fft_inverse(framing.n_fft),
        }
    }

    fn n_freq(&self) -> usize {
        self.framing.n_fft / 2 + 1
    }

    /// Frames of every row in parallel, written straight into `(rows, freq, frames_max)`:
    /// each task transforms a block of `BLOCK` consecutive frames of one row into a small
    /// frame-major buffer, then stores it transposed into its own columns of the output.
    /// Frames past a row's own count stay zero.
    fn frames_par<T: Send + Sync + Copy + Default>(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        map: impl Fn(Complex32) -> T + Sync,
    ) -> Array3<T> {
        const BLOCK: usize = 32;
        let nf = self.n_freq();
        let rows = data.nrows();
        let mut out = Array3::<T>::default((rows, nf, frames_max));
        if frames_max == 0 {
            return out;
        }
        out.axis_chunks_iter_mut(Axis(2), BLOCK)
            .into_par_iter()
            .enumerate()
            .for_each_init(
                || {
                    (
                        self.r2c.make_input_vec(),
                        self.r2c.make_output_vec(),
                        self.r2c.make_scratch_vec(),
                        vec![T::default(); BLOCK * nf],
                    )
                },
                |(inp, spec, scratch, block), (b, mut dst)| {
                    let f0 = b * BLOCK;
                    for (r, mut dst) in dst.outer_iter_mut().enumerate() {
                        let f1 = (f0 + dst.ncols()).min(frames[r]);
                        if f1 <= f0 {
                            continue;
                        }
                        let row = data.row(r);
                        for f in f0..f1 {
                            self.load_frame(row, lengths[r], f, inp);
                            // Lengths always match the plan's own vectors, so this cannot fail.
                            let _ = self.r2c.process_with_scratch(inp, spec, scratch);
                            let col = &mut block[(f - f0) * nf..(f - f0 + 1) * nf];
                            for (o, &c) in col.iter_mut().zip(spec.iter()) {
                                *o = map(c);
                            }
                        }
                        for (k, mut lane) in dst.outer_iter_mut().enumerate() {
                            for (f, v) in lane.iter_mut().take(f1 - f0).enumerate() {
                                *v = block[f * nf + k];
                            }
                        }
                    }
                },
            );
        out
    }

    /// Frame `f` of a row of `len` samples, padded and windowed, into `inp` (n_fft samples).
    #[inline]
    fn load_frame(&self, row: ArrayView1<'_, f32>, len: usize, f: usize, inp: &mut [f32]) {
        let n = inp.len();
        let t0 = (f * self.framing.hop) as i64 - self.framing.left_pad() as i64;
        match row.as_slice() {
            // Interior frames of a contiguous row: no padding to resolve.
            Some(s) if t0 >= 0 && t0 as usize + n <= len => {
                let seg = &s[t0 as usize..t0 as usize + n];
                for ((x, &v), &w) in inp.iter_mut().zip(seg).zip(&self.window) {
                    *x = v * w;
                }
            }
            _ => {
                for (j, x) in inp.iter_mut().enumerate() {
                    *x = match padded_index(t0 + j as i64, len, self.framing.pad_mode) {
                        Some(i) => row[i] * self.window[j],
                        None => 0.0,
                    };
                }
            }
        }
    }

    /// Complex STFT, `(rows, freq, frames_max)`.
    pub fn complex(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Array3<Complex32> {
        self.frames_par(data, lengths, frames, frames_max, |c| c)
    }

    /// `|X|^power`, `(rows, freq, frames_max)`.
    pub fn real(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        epilogue: Epilogue,
    ) -> Array3<f32> {
        self.frames_par(data, lengths, frames, frames_max, move |c| {
            epilogue.apply(c.re, c.im)
        })
    }

    /// librosa.istft of `(rows, freq, frames)` into `(rows, out_len)` where
    /// `out_len` and `n_frames` were resolved by the caller.
    pub fn inverse(
        &self,
        spec: ArrayView3<'_, Complex32>,
        n_frames: usize,
        out_len: usize,
        wsum: &[f64],
    ) -> Array2<f32> {
        let n = self.framing.n_fft;
        let hop = self.framing.hop;
        let start = self.framing.left_pad();
        let rows = spec.len_of(Axis(0));
        let mut out = Array2::<f32>::zeros((rows, out_len));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(spec.axis_iter(Axis(0)).into_par_iter())
            .for_each(|(mut y, s)| {
                let full = n + hop * (n_frames.max(1) - 1);
                let mut acc = vec![0.0f64; full];
                let mut buf = self.c2r.make_input_vec();
                let mut frame = self.c2r.make_output_vec();
                let mut scratch = self.c2r.make_scratch_vec();
                let scale = 1.0 / n as f32;
                for f in 0..n_frames {
                    for (k, b) in buf.iter_mut().enumerate() {
                        *b = s[[k, f]];
                    }
                    // numpy's irfft ignores the imaginary parts of DC and Nyquist.
                    buf[0].im = 0.0;
                    if n % 2 == 0 {
                        let last = buf.len() - 1;
                        buf[last].im = 0.0;
                    }
                    let _ = self
                        .c2r
                        .process_with_scratch(&mut buf, &mut frame, &mut scratch);
                    let off = f * hop;
                    for j in 0..n {
                        acc[off + j] += (frame[j] * scale * self.window[j]) as f64;
                    }
                }
                for (i, v) in y.iter_mut().enumerate() {
                    let t = i + start;
                    if t < full {
                        let w = wsum[t];
                        *v = if w > f64::MIN_POSITIVE {
                            (acc[t] / w) as f32
                        } else {
                            acc[t] as f32
                        };
                    }
                }
            });
        out
    }
}
