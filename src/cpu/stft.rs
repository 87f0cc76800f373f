//! CPU STFT and iSTFT (twins of `shaders/stft.wgsl` and `shaders/istft.wgsl`).

use std::sync::Arc;

use ndarray::parallel::prelude::*;
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};
use num_complex::{Complex32, Complex64};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::dsp::frames::{padded_index, Framing};
use crate::transform::stft::Epilogue;

/// A planned CPU STFT: the forward realfft plan and the window, built once.
///
/// Only the forward plan: a large FFT plan of an awkward length costs seconds and hundreds of
/// MB to build, so the inverse one lives in [`CpuIstft`], built only by iSTFT plans.
pub(crate) struct CpuStft {
    framing: Framing,
    /// The analysis runs in f64 (the CPU path is the reference; an f32 FFT's noise floor,
    /// ~130 dB under a frame's peak, would show in dB outputs far below the peak).
    window64: Vec<f64>,
    r2c: Arc<dyn RealToComplex<f64>>,
}

/// A planned CPU inverse STFT: the inverse realfft plan and the window, built once.
pub(crate) struct CpuIstft {
    framing: Framing,
    window: Vec<f32>,
    c2r: Arc<dyn ComplexToReal<f32>>,
}

impl CpuStft {
    pub fn new(framing: Framing, window: &[f64]) -> Self {
        CpuStft {
            framing,
            window64: window.to_vec(),
            r2c: RealFftPlanner::<f64>::new().plan_fft_forward(framing.n_fft),
        }
    }

    pub fn n_freq(&self) -> usize {
        self.framing.n_fft / 2 + 1
    }

    /// Frames of every row in parallel, written straight into `(rows, n_out, frames_max)`:
    /// each task transforms a block of `BLOCK` consecutive frames into a small frame-major
    /// buffer, `emit(spectrum, scratch, column)` reduces each frame's spectrum to its `n_out`
    /// values, and the block is stored transposed into its own columns of the output.
    /// Frames past a row's own count stay zero.
    pub fn frames_par<T: Send + Sync + Copy + Default>(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        n_out: usize,
        emit: impl Fn(&[Complex64], &mut Vec<f64>, &mut [T]) + Sync,
    ) -> Array3<T> {
        const BLOCK: usize = 32;
        let rows = data.nrows();
        let mut out = Array3::<T>::default((rows, n_out, frames_max));
        if frames_max == 0 || n_out == 0 {
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
                        vec![T::default(); BLOCK * n_out],
                        Vec::new(),
                    )
                },
                |(inp, spec, scratch, block, tmp), (b, mut dst)| {
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
                            let col = &mut block[(f - f0) * n_out..(f - f0 + 1) * n_out];
                            emit(spec, tmp, col);
                        }
                        for (k, mut lane) in dst.outer_iter_mut().enumerate() {
                            for (f, v) in lane.iter_mut().take(f1 - f0).enumerate() {
                                *v = block[f * n_out + k];
                            }
                        }
                    }
                },
            );
        out
    }

    /// Frame `f` of a row of `len` samples, padded and windowed, into `inp` (n_fft samples).
    #[inline]
    fn load_frame(&self, row: ArrayView1<'_, f32>, len: usize, f: usize, inp: &mut [f64]) {
        let n = inp.len();
        let t0 = (f * self.framing.hop) as i64 - self.framing.left_pad() as i64;
        match row.as_slice() {
            // Interior frames of a contiguous row: no padding to resolve.
            Some(s) if t0 >= 0 && t0 as usize + n <= len => {
                let seg = &s[t0 as usize..t0 as usize + n];
                for ((x, &v), &w) in inp.iter_mut().zip(seg).zip(&self.window64) {
                    *x = v as f64 * w;
                }
            }
            _ => {
                for (j, x) in inp.iter_mut().enumerate() {
                    *x = match padded_index(t0 + j as i64, len, self.framing.pad_mode) {
                        Some(i) => row[i] as f64 * self.window64[j],
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
        self.frames_par(
            data,
            lengths,
            frames,
            frames_max,
            self.n_freq(),
            |s, _, col| {
                for (o, c) in col.iter_mut().zip(s) {
                    *o = Complex32::new(c.re as f32, c.im as f32);
                }
            },
        )
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
        self.frames_par(
            data,
            lengths,
            frames,
            frames_max,
            self.n_freq(),
            |s, _, col| {
                for (o, c) in col.iter_mut().zip(s) {
                    *o = epilogue.apply64(c.re, c.im) as f32;
                }
            },
        )
    }
}

impl CpuIstft {
    pub fn new(framing: Framing, window: &[f64]) -> Self {
        CpuIstft {
            framing,
            window: window.iter().map(|&w| w as f32).collect(),
            c2r: RealFftPlanner::<f32>::new().plan_fft_inverse(framing.n_fft),
        }
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
