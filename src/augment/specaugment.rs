//! [`SpecAugment`]: frequency and time masks on spectrograms, seeded like [`Pipeline`](super::Pipeline).

use ndarray::{s, Array3, ArrayView3, Axis};
use rayon::prelude::*;
use serde_json::Value;

use super::spec::{self, randint, DrawnLeaf, Leaf, Node, RowKey};
use crate::error::{Error, Result};

/// SpecAugment masks over a batch of spectrograms `(examples, freq, frames)`:
/// `frequency_mask` (audiomentations' `SpecFrequencyMask`: `min_mask_fraction` (0.03),
/// `max_mask_fraction` (0.25) of the bins, `fill_mode` "constant" | "mean" (of the masked
/// band), `fill_constant` (0)) and `time_mask` (the same parameters over frames), composed
/// with `compose`, `one_of` and `some_of` as in [`Pipeline`](super::Pipeline), with the same
/// counter-based draws (so an example's masks depend only on the seed and its id).
///
/// The masks run on the host array (they are a copy with a few bands overwritten; the
/// spectrogram plans return host arrays).
///
/// ```
/// use ndarray::Array3;
/// use wavegpu::augment::SpecAugment;
/// let masks = SpecAugment::from_json(r#"[
///     {"name": "frequency_mask", "min_mask_fraction": 0.1, "max_mask_fraction": 0.1, "p": 1.0},
///     {"name": "time_mask", "max_mask_fraction": 0.2, "p": 0.5}
/// ]"#).unwrap();
/// let spec = Array3::<f32>::ones((4, 80, 100));
/// let out = masks.run(3, spec.view()).unwrap();
/// // 8 of 80 mel bands are zero in every frame of each example.
/// for e in 0..4 {
///     let zero_bands = (0..80).filter(|&f| out[[e, f, 0]] == 0.0 && out[[e, f, 99]] == 0.0).count();
///     assert!(zero_bands >= 8);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SpecAugment {
    root: Node,
    leaves: Vec<Option<Leaf>>,
}

impl SpecAugment {
    /// Masks from JSON text (a list of nodes, or one node).
    pub fn from_json(json: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| Error::param("pipeline", format!("not valid JSON: {e}")))?;
        Self::from_value(&v)
    }

    /// Masks from a parsed JSON value.
    pub fn from_value(v: &Value) -> Result<Self> {
        let root = spec::parse_spectrogram(v)?;
        let mut leaves = Vec::new();
        root.leaves(&mut leaves);
        Ok(SpecAugment { root, leaves })
    }

    /// Masks `spec` with examples numbered `0..examples`.
    pub fn run(&self, seed: u64, spec: ArrayView3<'_, f32>) -> Result<Array3<f32>> {
        let ids: Vec<u64> = (0..spec.dim().0 as u64).collect();
        self.run_with_ids(seed, &ids, spec)
    }

    /// Masks `spec`, whose examples carry the ids `ids`.
    pub fn run_with_ids(
        &self,
        seed: u64,
        ids: &[u64],
        spec: ArrayView3<'_, f32>,
    ) -> Result<Array3<f32>> {
        if ids.len() != spec.dim().0 {
            return Err(Error::param(
                "ids",
                format!("{} ids for {} spectrograms", ids.len(), spec.dim().0),
            ));
        }
        let batch_id = ids.first().copied().unwrap_or(0);
        let mut out = spec.to_owned();
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(ids.par_iter())
            .for_each(|(mut x, &id)| {
                let mut drawn: Vec<DrawnLeaf> = Vec::new();
                let key = RowKey {
                    id,
                    batch_id,
                    channel: 0,
                };
                self.root.draw(seed, &key, &mut drawn);
                for d in drawn {
                    let Some(Leaf::SpecMask {
                        axis,
                        min_fraction,
                        max_fraction,
                        fill_mean,
                        fill_constant,
                    }) = self.leaves[d.position as usize]
                    else {
                        continue;
                    };
                    let n = x.len_of(Axis(axis as usize));
                    let lo = (min_fraction * n as f64).round_ties_even() as i64;
                    let hi = (max_fraction * n as f64).round_ties_even() as i64;
                    let count = randint(lo, hi, d.u[0]).clamp(0, n as i64) as usize;
                    let start = randint(0, (n - count) as i64, d.u[1]) as usize;
                    let mut band = if axis == 0 {
                        x.slice_mut(s![start..start + count, ..])
                    } else {
                        x.slice_mut(s![.., start..start + count])
                    };
                    let fill = if fill_mean {
                        let m = band.iter().map(|&v| f64::from(v)).sum::<f64>()
                            / band.len().max(1) as f64;
                        m as f32
                    } else {
                        fill_constant as f32
                    };
                    band.fill(fill);
                }
            });
        Ok(out)
    }
}
