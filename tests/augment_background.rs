//! add_background_noise: a bank of noise clips loaded once (and kept on the GPU), SNR by RMS
//! over each row's valid length, noise cropped at a random offset or tiled.

mod common;

use ndarray::Array2;
use serde_json::json;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::Device;

/// A directory with a long noise (cropped), a short one (tiled) and a non-audio file.
fn noise_dir(tag: &str) -> common::TempDir {
    let d = common::TempDir::new(tag);
    let long: Vec<f32> = common::noise(20_000, 1).iter().map(|x| 0.3 * x).collect();
    let short: Vec<f32> = (0..700).map(|i| (i as f32 * 0.3).sin() * 0.5).collect();
    common::write_wav(&d.path("a_long.wav"), &long, 8000);
    common::write_wav(&d.path("b_short.wav"), &short, 8000);
    std::fs::write(d.path("notes.txt"), "not audio").unwrap();
    d
}

fn batch(lengths: &[usize], channels: usize) -> Batch {
    let rows: Vec<Vec<f32>> = lengths
        .iter()
        .flat_map(|&n| std::iter::repeat_n(n, channels))
        .enumerate()
        .map(|(r, n)| {
            common::noise(n, 100 + r as u64)
                .iter()
                .map(|x| 0.6 * x)
                .collect()
        })
        .collect();
    let stride = lengths.iter().copied().max().unwrap();
    let data = Array2::from_shape_fn((rows.len(), stride), |(r, i)| {
        rows[r].get(i).copied().unwrap_or(0.0)
    });
    let lens = lengths
        .iter()
        .flat_map(|&n| std::iter::repeat_n(n, channels))
        .collect();
    Batch::new(data, lens, channels, 8000).unwrap()
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn snr_is_exact_and_gpu_matches_cpu() {
    let d = noise_dir("bg_snr");
    let spec = json!([{"name": "add_background_noise", "sounds_path": d.0.to_str().unwrap(),
                       "min_snr_db": 7.25, "max_snr_db": 7.25, "p": 1.0}]);
    // Rows longer and shorter than the short clip, two channels sharing one noise.
    let b = batch(&[3000, 500, 0, 4321], 2);
    let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let mut outs = vec![];
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in &devices {
        let p = Pipeline::from_value(&spec, dev).unwrap();
        let y = p.run(12, &b).unwrap();
        for e in [0, 1, 3] {
            let n = b.lengths()[2 * e];
            let x: Vec<Vec<f64>> = (0..2)
                .map(|c| {
                    b.data()
                        .row(2 * e + c)
                        .iter()
                        .take(n)
                        .map(|&v| v as f64)
                        .collect()
                })
                .collect();
            let z: Vec<Vec<f64>> = (0..2)
                .map(|c| {
                    y.data()
                        .row(2 * e + c)
                        .iter()
                        .take(n)
                        .zip(&x[c])
                        .map(|(&o, i)| o as f64 - i)
                        .collect()
                })
                .collect();
            let sig = (rms(&x[0]) + rms(&x[1])) / 2.0;
            for c in 0..2 {
                let snr = 20.0 * (sig / rms(&z[c])).log10();
                assert!((snr - 7.25).abs() <= 0.01, "{dev} example {e}: SNR {snr}");
                // Both channels of an example get the same noise.
                let dz = z[0]
                    .iter()
                    .zip(&z[1])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(dz < 1e-5, "{dev} example {e}: channels differ by {dz}");
            }
        }
        assert!(y.data().row(4).iter().all(|&v| v == 0.0));
        outs.push(y);
    }
    if outs.len() == 2 {
        let d = outs[0]
            .data()
            .iter()
            .zip(outs[1].data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("background noise: max |GPU - CPU| = {d:e}");
        assert!(d <= 1e-5, "{d}");
    }
    let _ = cpu;
}

#[test]
fn noise_comes_from_the_bank_cropped_or_tiled() {
    // With a silent input and absolute RMS, the output is the chosen clip's segment scaled:
    // a short clip repeats with its period, a long one is a contiguous piece of it.
    let d = noise_dir("bg_tile");
    let spec = json!([{"name": "add_background_noise", "sounds_path": [d.path("b_short.wav").to_str().unwrap()],
                       "noise_rms": "absolute", "min_absolute_rms_db": -20, "max_absolute_rms_db": -20, "p": 1.0}]);
    let b = Batch::new(Array2::zeros((1, 2000)), vec![2000], 1, 8000).unwrap();
    let y = Pipeline::from_value(&spec, &Device::cpu())
        .unwrap()
        .run(1, &b)
        .unwrap();
    let row: Vec<f32> = y.data().row(0).to_vec();
    for i in 0..1300 {
        assert_eq!(row[i], row[i + 700], "tiling at {i}");
    }
    let r = rms(&row.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert!((20.0 * r.log10() + 20.0).abs() < 1e-4, "rms {r}");

    let long: Vec<f32> = common::noise(20_000, 1).iter().map(|x| 0.3 * x).collect();
    let spec = json!([{"name": "add_background_noise", "sounds_path": d.path("a_long.wav").to_str().unwrap(),
                       "noise_rms": "absolute", "p": 1.0}]);
    let y = Pipeline::from_value(&spec, &Device::cpu())
        .unwrap()
        .run(3, &b)
        .unwrap();
    let row: Vec<f32> = y.data().row(0).to_vec();
    // Find the offset: the ratio row / long is constant over the segment.
    let off = (0..=18_000)
        .find(|&o| {
            let k = row[0] / long[o];
            (0..2000)
                .step_by(97)
                .all(|i| (row[i] - k * long[o + i]).abs() <= 1e-6 * k.abs().max(1.0))
        })
        .expect("a contiguous piece of the long clip");
    eprintln!("cropped at offset {off}");
}

#[test]
fn bank_errors_name_the_cause() {
    let d = noise_dir("bg_err");
    let missing = d.path("nope").to_str().unwrap().to_string();
    let err = Pipeline::from_value(
        &json!([{"name": "add_background_noise", "sounds_path": missing}]),
        &Device::cpu(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let err = Pipeline::from_value(&json!([{"name": "add_background_noise"}]), &Device::cpu())
        .unwrap_err();
    assert!(err.to_string().contains("sounds_path"), "{err}");
    // A 16 kHz batch with 8 kHz noises, unless the transform resamples them on load.
    let p = Pipeline::from_value(
        &json!([{"name": "add_background_noise", "p": 1.0, "sounds_path": d.0.to_str().unwrap()}]),
        &Device::cpu(),
    )
    .unwrap();
    let b16 = Batch::new(Array2::from_elem((1, 100), 0.1), vec![100], 1, 16_000).unwrap();
    let err = p.run(0, &b16).unwrap_err();
    assert!(err.to_string().contains("8000 Hz"), "{err}");
    let p = Pipeline::from_value(&json!([{"name": "add_background_noise", "p": 1.0, "sample_rate": 16000, "sounds_path": d.0.to_str().unwrap()}]), &Device::cpu()).unwrap();
    assert!(p.run(0, &b16).is_ok());
}
