//! apply_impulse_response: GPU (tiled direct convolution) against the CPU twin (FFT), with
//! impulse responses longer and shorter than the rows, several files, per-channel draws.

mod common;

use ndarray::Array2;
use serde_json::json;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::Device;

#[test]
fn gpu_convolution_matches_cpu() {
    let d = common::TempDir::new("ir");
    for (name, len, decay) in [
        ("a.wav", 700usize, 150.0f32),
        ("b.wav", 2600, 600.0),
        ("c.wav", 1, 1.0),
    ] {
        let ir: Vec<f32> = common::noise(len, len as u64)
            .iter()
            .enumerate()
            .map(|(i, x)| x * (-(i as f32) / decay).exp())
            .collect();
        common::write_wav(&d.path(name), &ir, 16_000);
    }
    let spec = json!([
        {"name": "apply_impulse_response", "ir_path": d.0.to_str().unwrap(), "p": 1.0},
        {"name": "apply_impulse_response", "ir_path": d.0.to_str().unwrap(), "p": 1.0, "mode": "per_channel"}
    ]);
    let lengths = [3000usize, 3000, 1000, 1000, 0, 0, 2200, 2200];
    let rows: Vec<f32> = (0..8)
        .flat_map(|r| {
            let mut v = common::noise(3000, 50 + r as u64);
            v[lengths[r]..].fill(0.0);
            v
        })
        .collect();
    let b = Batch::new(
        Array2::from_shape_vec((8, 3000), rows).unwrap(),
        lengths.to_vec(),
        2,
        16_000,
    )
    .unwrap();
    let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let mut devices = vec![];
    devices.extend(common::gpu());
    for seed in [3u64, 4, 5] {
        let c = cpu.run(seed, &b).unwrap();
        // Peaks: the last convolution scales each example's full output to 0.5, so the kept
        // part peaks at most at 0.5.
        for r in 0..8 {
            let peak = c.data().row(r).iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(peak <= 0.5 + 1e-6, "row {r}: {peak}");
        }
        for dev in &devices {
            let g = Pipeline::from_value(&spec, dev)
                .unwrap()
                .run(seed, &b)
                .unwrap();
            let diff = g
                .data()
                .iter()
                .zip(c.data())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            eprintln!("impulse responses seed {seed}: max |GPU - CPU| = {diff:e}");
            assert!(diff <= 1e-5, "{diff}");
        }
    }
    let err = Pipeline::from_value(
        &json!([{"name": "apply_impulse_response", "ir_path": d.0.to_str().unwrap(), "leave_length_unchanged": false}]),
        &Device::cpu(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("leave_length_unchanged"), "{err}");
}

/// A NaN sample makes its own row NaN (where the convolution reaches it) and leaves the other
/// examples exactly as they come out alone, on both devices and through both GPU paths
/// (direct under 512 taps, FFT from 512).
#[test]
fn nan_rows_do_not_poison_other_rows() {
    let d = common::TempDir::new("ir_nan");
    for (name, len) in [("short.wav", 40usize), ("long.wav", 900)] {
        let ir: Vec<f32> = common::noise(len, 7 + len as u64)
            .iter()
            .enumerate()
            .map(|(i, x)| x * (-(i as f32) / 80.0).exp())
            .collect();
        let sub = d.path(name.trim_end_matches(".wav"));
        std::fs::create_dir_all(&sub).unwrap();
        common::write_wav(&sub.join(name), &ir, 16_000);
    }
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for which in ["short", "long"] {
        let spec = json!([{"name": "apply_impulse_response",
            "ir_path": d.path(which).to_str().unwrap(), "p": 1.0}]);
        let rows: Vec<Vec<f32>> = (0..3).map(|r| common::noise(2000, 90 + r)).collect();
        let mut with_nan = rows.clone();
        with_nan[1][700] = f32::NAN;
        let batch = |rows: &[Vec<f32>]| {
            let n = rows.len();
            Batch::new(
                Array2::from_shape_vec((n, 2000), rows.concat()).unwrap(),
                vec![2000; n],
                1,
                16_000,
            )
            .unwrap()
        };
        for dev in &devices {
            let p = Pipeline::from_value(&spec, dev).unwrap();
            let out = p.run_with_ids(11, &[0, 1, 2], &batch(&with_nan)).unwrap();
            assert!(
                out.data().row(1).iter().any(|v| v.is_nan()),
                "{which} on {dev:?}: the NaN row has no NaN"
            );
            for r in [0usize, 2] {
                let alone = p
                    .run_with_ids(11, &[r as u64], &batch(&rows[r..=r]))
                    .unwrap();
                assert_eq!(
                    out.data().row(r),
                    alone.data().row(0),
                    "{which} on {dev:?}: row {r} changed by the NaN row"
                );
            }
        }
    }
}
