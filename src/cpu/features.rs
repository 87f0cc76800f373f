//! CPU twin of `shaders/features.wgsl`: dB scaling (with the array or per-row maximum), the
//! DCT of MFCCs and per-frame max normalisation (chroma), over `(rows, bands, frames)` arrays
//! whose rows have their own frame counts.

use ndarray::{Array3, ArrayView3, Axis, Zip};

use crate::dsp::db::DbScale;
use crate::dsp::mel::SparseBank;

/// A DCT applied to each frame's column: `out[k] = lifter[k] * sum_b matrix[k, b] * x[b]`.
#[derive(Debug, Clone)]
pub(crate) struct Dct {
    pub n_out: usize,
    /// `(n_out, n_in)` row-major.
    pub matrix: Vec<f32>,
    pub lifter: Vec<f32>,
}

/// The per-frame stages after the filterbank.
#[derive(Debug, Clone, Default)]
pub(crate) struct Post {
    pub db: Option<DbScale>,
    pub dct: Option<Dct>,
    /// Divide each frame by its largest band where that is > 0 (`util.normalize(norm=inf)`).
    pub normalize: bool,
}

/// Twin of `shaders/bank.wgsl`: the filterbank over a spectrogram `(rows, n_freq, frames)`,
/// giving `(rows, bands, frames)`; frames past a row's count come out zero.
pub(crate) fn bank_frames(
    bank: &SparseBank,
    spec: ArrayView3<'_, f32>,
    frames: &[usize],
) -> Array3<f32> {
    let (rows, n_freq, frames_max) = spec.dim();
    let mut out = Array3::<f32>::zeros((rows, bank.bands.len(), frames_max));
    Zip::from(out.outer_iter_mut())
        .and(spec.outer_iter())
        .and(frames)
        .par_for_each(|mut o, s, &f| {
            let mut col = vec![0.0f64; n_freq];
            let mut vals = vec![0.0f32; bank.bands.len()];
            for t in 0..f.min(frames_max) {
                for (c, v) in col.iter_mut().zip(s.index_axis(Axis(1), t)) {
                    *c = *v as f64;
                }
                bank.apply(&col, &mut vals);
                o.index_axis_mut(Axis(1), t).assign(&ndarray::aview1(&vals));
            }
        });
    out
}

/// Maximum over each row's valid frames (0 for a row without frames).
pub(crate) fn row_max(x: &Array3<f32>, frames: &[usize]) -> Vec<f32> {
    x.outer_iter()
        .zip(frames)
        .map(|(r, &f)| {
            r.slice(ndarray::s![.., ..f])
                .iter()
                .fold(0.0f32, |m, &v| m.max(v))
        })
        .collect()
}

impl Post {
    /// True when there is nothing to do after the filterbank.
    pub fn is_empty(&self) -> bool {
        self.db.is_none() && self.dct.is_none() && !self.normalize
    }

    /// Applies dB then DCT in place of `x` (or into a new array for the DCT). Frames past a
    /// row's count come out zero. `maxes` are the rows' maxima of `x` before any scaling.
    pub fn apply(&self, mut x: Array3<f32>, frames: &[usize], maxes: &[f32]) -> Array3<f32> {
        if let Some(db) = &self.db {
            let global = maxes.iter().fold(0.0f32, |m, &v| m.max(v));
            Zip::from(x.outer_iter_mut())
                .and(frames)
                .and(maxes)
                .par_for_each(|mut row, &f, &row_max| {
                    let (amin, offset, floor) =
                        db.constants(if db.per_item { row_max } else { global });
                    for mut band in row.outer_iter_mut() {
                        for (t, v) in band.iter_mut().enumerate() {
                            *v = if t < f {
                                let p = if db.amplitude { *v * *v } else { *v };
                                let d = (10.0 * (p.max(amin) as f64).log10()) as f32 - offset;
                                d.max(floor)
                            } else {
                                0.0
                            };
                        }
                    }
                });
        }
        if self.normalize {
            Zip::from(x.outer_iter_mut())
                .and(frames)
                .par_for_each(|mut row, &f| {
                    for t in 0..f {
                        let mut col = row.index_axis_mut(Axis(1), t);
                        let m = col.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                        if m > 0.0 {
                            col.mapv_inplace(|v| v / m);
                        }
                    }
                });
        }
        match &self.dct {
            None => x,
            Some(dct) => {
                let (rows, n_in, frames_max) = x.dim();
                let mut out = Array3::<f32>::zeros((rows, dct.n_out, frames_max));
                Zip::from(out.outer_iter_mut())
                    .and(x.outer_iter())
                    .and(frames)
                    .par_for_each(|mut o, xin, &f| {
                        let mut col = vec![0.0f32; n_in];
                        for t in 0..f {
                            for (c, v) in col.iter_mut().zip(xin.index_axis(Axis(1), t)) {
                                *c = *v;
                            }
                            for k in 0..dct.n_out {
                                let m = &dct.matrix[k * n_in..(k + 1) * n_in];
                                let s: f32 = m.iter().zip(&col).map(|(a, b)| a * b).sum();
                                o[[k, t]] = s * dct.lifter[k];
                            }
                        }
                    });
                out
            }
        }
    }
}
