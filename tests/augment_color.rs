//! add_color_noise: the noise's spectral slope is the drawn decay (dB per octave), its RMS
//! gives the SNR asked for, and GPU equals CPU.

mod common;

use ndarray::Array2;
use serde_json::json;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::{Audio, Device, Spectrogram};

/// Mean power per frequency bin of `rows` (Welch-like: hann 1024, hop 512, no centring,
/// averaged over frames and rows).
fn psd(rows: &[Vec<f32>], sr: u32) -> Vec<f64> {
    let mut acc = vec![0.0f64; 513];
    for x in rows {
        let a = Audio::from_mono(x.clone(), sr);
        let s = Spectrogram::stft()
            .n_fft(1024)
            .hop_length(512)
            .center(false)
            .power(2.0)
            .run(&a)
            .unwrap();
        let (_, bins, frames) = s.dim();
        for (f, v) in acc.iter_mut().enumerate().take(bins) {
            *v += (0..frames).map(|t| s[[0, f, t]] as f64).sum::<f64>() / frames as f64;
        }
    }
    acc
}

fn band(p: &[f64], sr: u32, lo: f64, hi: f64) -> f64 {
    let hz = sr as f64 / 1024.0;
    let (a, b) = ((lo / hz).ceil() as usize, (hi / hz).ceil() as usize);
    p[a..b].iter().sum::<f64>() / (b - a) as f64
}

#[test]
fn slope_and_snr_are_as_asked() {
    // audiomentations' FIR (random phases over 65 bins) gives each draw a slope within about
    // 1 dB/octave of the nominal one, and even on average not the nominal slope; the dump
    // records the average its noise has over 32 draws, measured as here. Ours over 32
    // examples: each average has a standard deviation near 0.16 dB/octave, so 0.75 is about
    // 3.3 standard deviations of their difference.
    let c = common::data_dir().join("augment_cases.json");
    let dumps: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c).unwrap()).unwrap();
    let sr = 16_000;
    let n = 64_000;
    let examples = 32;
    // A quiet tone as the signal: the noise, 40 dB above it, dominates the spectrum.
    let x: Vec<f32> = (0..n).map(|i| 1e-3 * (i as f32 * 0.01).sin()).collect();
    let data = Array2::from_shape_fn((examples, n), |(_, i)| x[i]);
    let b = Batch::new(data, vec![n; examples], 1, sr).unwrap();
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in devices {
        for case in dumps["color_noise_slopes"].as_array().unwrap() {
            let decay = case["f_decay"].as_f64().unwrap();
            let want = case["slope_db_per_octave"].as_f64().unwrap();
            let spec = json!([{"name": "add_color_noise", "p": 1.0, "min_snr_db": -40, "max_snr_db": -40,
                               "min_f_decay": decay, "max_f_decay": decay}]);
            let y = Pipeline::from_value(&spec, &dev)
                .unwrap()
                .run(5, &b)
                .unwrap();
            let noises: Vec<Vec<f32>> = (0..examples)
                .map(|e| y.data().row(e).iter().zip(&x).map(|(o, i)| o - i).collect())
                .collect();
            // SNR: unit-RMS noise times the clean RMS / 10^(snr / 20).
            let rms = |v: &[f32]| {
                (v.iter().map(|&a| (a as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
            };
            for z in &noises {
                let snr = 20.0 * (rms(&x) / rms(z)).log10();
                assert!((snr + 40.0).abs() < 0.01, "{dev} decay {decay}: SNR {snr}");
            }
            let p = psd(&noises, sr);
            let slope =
                10.0 * (band(&p, sr, 2000.0, 4000.0) / band(&p, sr, 500.0, 1000.0)).log10() / 2.0;
            eprintln!("{dev} decay {decay}: {slope:.2} dB/octave (audiomentations {want:.2})");
            assert!(
                (slope - want).abs() < 0.75,
                "{dev} decay {decay}: slope {slope}, audiomentations {want}"
            );
        }
    }
}

#[test]
fn gpu_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let spec = json!([{"name": "add_color_noise", "p": 1.0, "p_apply_a_weighting": 0.5},
                      {"name": "add_color_noise", "p": 1.0, "min_f_decay": 0, "max_f_decay": 0},
                      {"name": "add_color_noise", "p": 1.0, "n_fft": 1024, "mode": "per_channel"}]);
    let rows: Vec<f32> = common::noise(2 * 3000, 4);
    let data = Array2::from_shape_vec((4, 1500), rows).unwrap();
    let b = Batch::new(data, vec![1500, 1500, 7, 7], 2, 16_000).unwrap();
    let c = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let g = Pipeline::from_value(&spec, &gpu).unwrap();
    for seed in [1u64, 2, 3] {
        let (x, y) = (c.run(seed, &b).unwrap(), g.run(seed, &b).unwrap());
        let d = x
            .data()
            .iter()
            .zip(y.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("color noise seed {seed}: max |GPU - CPU| = {d:e}");
        assert!(d <= 1e-5, "{d}");
    }
}
