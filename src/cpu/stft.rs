//! CPU STFT and iSTFT (twins of `shaders/stft.wgsl` and `shaders/istft.wgsl`).

use std::sync::Arc;

use ndarray::parallel::prelude::*;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};
use num_complex::Complex32;
use rayon::prelude::*;
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

    /// Runs `f(row, frame, spectrum)` for every frame of every row in parallel; `frames[r]`
    /// is row r's frame count. `sink` receives (rows, frames_max, freq) in frame-major order.
    fn frames_par<T: Send + Copy + Default>(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        map: impl Fn(Complex32) -> T + Sync,
    ) -> Array3<T> {
        let nf = self.n_freq();
        let n = self.framing.n_fft;
        let pad = self.framing.left_pad() as i64;
        let hop = self.framing.hop as i64;
        let rows = data.nrows();
        let mut tmp = vec![T::default(); rows * frames_max * nf];
        tmp.par_chunks_mut(nf).enumerate().for_each_init(
            || {
                (
                    self.r2c.make_input_vec(),
                    self.r2c.make_output_vec(),
                    self.r2c.make_scratch_vec(),
                )
            },
            |(inp, spec, scratch), (idx, out)| {
                let (r, f) = (idx / frames_max, idx % frames_max);
                if f >= frames[r] {
                    return; // stays zero
                }
                let row = data.row(r);
                let len = lengths[r];
                let t0 = f as i64 * hop - pad;
                for (j, x) in inp.iter_mut().enumerate() {
                    *x = match padded_index(t0 + j as i64, len, self.framing.pad_mode) {
                        Some(i) => row[i] * self.window[j],
                        None => 0.0,
                    };
                }
                // Lengths always match the plan's own vectors, so this cannot fail.
                let _ = self.r2c.process_with_scratch(inp, spec, scratch);
                for (o, &c) in out.iter_mut().zip(spec.iter()) {
                    *o = map(c);
                }
                debug_assert_eq!(inp.len(), n);
            },
        );
        let tmp = Array3::from_shape_vec((rows, frames_max, nf), tmp).expect("shape matches");
        tmp.permuted_axes([0, 2, 1])
            .as_standard_layout()
            .into_owned()
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
