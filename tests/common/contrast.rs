//! librosa's spectral-contrast band layout and valley depths, shared by tests/spectral.rs and
//! tests/cli_spectral.rs (an independent transcription of librosa.feature.spectral_contrast).
//! Included as `#[path = "common/contrast.rs"] mod contrast;`.
#![allow(dead_code)]

use ndarray::{Array3, ArrayD, Axis};
use serde_json::Value;
use wavegpu::Device;

use crate::common::stft_builder;

/// librosa's contrast bands as `(lo, hi, q)`: bins `lo..hi` sorted, `q` averaged each side
/// (an independent transcription of librosa.feature.spectral_contrast).
pub fn contrast_bands(c: &Value) -> Vec<(usize, usize, usize)> {
    let sr = c["sr"].as_f64().unwrap();
    let n_fft = c["n_fft"].as_u64().unwrap() as usize;
    let n_bands = c["n_bands"].as_u64().unwrap() as usize;
    let fmin = c["fmin"].as_f64().unwrap();
    let quantile = c["quantile"].as_f64().unwrap();
    let freq: Vec<f64> = (0..=n_fft / 2)
        .map(|k| k as f64 * (1.0 / (n_fft as f64 * (1.0 / sr))))
        .collect();
    let mut octa = vec![0.0];
    octa.extend((0..=n_bands).map(|k| fmin * 2f64.powi(k as i32)));
    (0..=n_bands)
        .map(|k| {
            let mut inside: Vec<bool> = freq
                .iter()
                .map(|&f| f >= octa[k] && f <= octa[k + 1])
                .collect();
            let idx: Vec<usize> = (0..freq.len()).filter(|&i| inside[i]).collect();
            if k > 0 {
                inside[idx[0] - 1] = true;
            }
            if k == n_bands {
                for v in &mut inside[idx[idx.len() - 1] + 1..] {
                    *v = true;
                }
            }
            let sel: Vec<usize> = (0..freq.len()).filter(|&i| inside[i]).collect();
            let q = ((quantile * sel.len() as f64).round_ties_even() as usize).max(1);
            let hi = if k < n_bands {
                sel[sel.len() - 1]
            } else {
                sel[sel.len() - 1] + 1
            };
            (sel[0], hi, q)
        })
        .collect()
}

/// `(peak, valley)`, each `(rows, bands, frames)`, of a `(rows, freq, frames)` magnitude array.
pub fn peaks_valleys(
    mag: &Array3<f32>,
    bands: &[(usize, usize, usize)],
) -> (Array3<f64>, Array3<f64>) {
    let (rows, _, frames) = mag.dim();
    let mut peak = Array3::zeros((rows, bands.len(), frames));
    let mut valley = Array3::zeros((rows, bands.len(), frames));
    for r in 0..rows {
        for t in 0..frames {
            for (b, &(lo, hi, q)) in bands.iter().enumerate() {
                let mut v: Vec<f64> = (lo..hi).map(|k| mag[[r, k, t]] as f64).collect();
                v.sort_by(f64::total_cmp);
                let q = q.min(v.len());
                valley[[r, b, t]] = v[..q].iter().sum::<f64>() / q as f64;
                peak[[r, b, t]] = v[v.len() - q..].iter().sum::<f64>() / q as f64;
            }
        }
    }
    (peak, valley)
}

/// How far (dB) each contrast valley of case `c` lies under its frame's strongest bin, from
/// the CPU (f64) spectrogram of `audio`; `(bands, frames)` or `(2, bands, frames)` like the dump.
pub fn valley_depth_db(c: &Value, audio: &wavegpu::Audio) -> ArrayD<f64> {
    let mag = stft_builder(c)
        .build(&Device::cpu())
        .unwrap()
        .run(audio)
        .unwrap();
    let (_, valley) = peaks_valleys(&mag, &contrast_bands(c));
    let mut depth = valley.clone();
    for ((r, b, t), d) in depth.indexed_iter_mut() {
        let top = mag
            .slice(ndarray::s![r, .., t])
            .iter()
            .fold(0.0f32, |m, &v| m.max(v)) as f64;
        *d = if top > 0.0 {
            20.0 * (top / valley[[r, b, t]].max(1e-300)).log10()
        } else {
            0.0
        };
    }
    if depth.dim().0 == 1 {
        depth.index_axis_move(Axis(0), 0).into_dyn()
    } else {
        depth.into_dyn()
    }
}
