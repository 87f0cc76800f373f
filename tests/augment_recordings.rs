//! A new user's run: a ten-transform JSON pipeline over the recorded fixtures (speech,
//! music, impulses, silence, a 1-sample clip ...), background noise from a recording,
//! identical between runs with one seed, GPU within 1e-5 of CPU.

mod common;

use serde_json::json;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::io::{load, LoadOptions};
use wavegpu::Device;

fn clips() -> Batch {
    let opts = LoadOptions::default().mono().sample_rate(16_000);
    let names = [
        "speech_16k.wav",
        "music_22k.wav",
        "impulses_16k.wav",
        "silence_16k.wav",
        "short_16k.wav",
        "odd_44k.wav",
        "speech_16k.flac",
    ];
    let clips: Vec<_> = names
        .iter()
        .map(|n| load(common::fixture_path(n).as_path(), &opts).unwrap())
        .collect();
    Batch::from_clips(&clips).unwrap()
}

fn pipeline() -> serde_json::Value {
    let noise = common::fixture_path("noise_22k.wav");
    json!([
        {"name": "gain", "min_gain_db": -6, "max_gain_db": 6, "p": 0.8},
        {"name": "one_of", "transforms": [
            {"name": "add_gaussian_snr", "min_snr_db": 10, "max_snr_db": 30, "p": 1.0},
            {"name": "add_background_noise", "sounds_path": noise.to_str().unwrap(), "sample_rate": 16000,
             "min_snr_db": 5, "max_snr_db": 20, "p": 1.0}
        ]},
        {"name": "some_of", "num_transforms": [1, 2], "transforms": [
            {"name": "tanh_distortion", "p": 1.0},
            {"name": "clipping_distortion", "p": 1.0},
            {"name": "bit_crush", "p": 1.0}
        ]},
        {"name": "compose", "shuffle": true, "transforms": [
            {"name": "time_mask", "p": 0.7},
            {"name": "shift", "p": 0.7},
            {"name": "gain_transition", "p": 0.5}
        ]},
        {"name": "polarity_inversion", "p": 0.5},
        {"name": "padding", "mode": "reflect", "max_fraction": 0.2, "p": 0.3},
        {"name": "normalize", "p": 1.0}
    ])
}

#[test]
fn ten_transforms_over_recordings_are_seeded_and_agree() {
    let b = clips();
    let spec = pipeline();
    let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let x = cpu.run(2026, &b).unwrap();
    assert_eq!(x, cpu.run(2026, &b).unwrap());
    assert_ne!(x, cpu.run(2027, &b).unwrap());
    // normalize (p = 1) last: every non-silent example peaks at exactly 1.
    for (e, &n) in b.lengths().iter().enumerate() {
        let peak = x
            .data()
            .row(e)
            .iter()
            .take(n)
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(x.data().row(e).iter().all(|v| v.is_finite()), "example {e}");
        assert!(
            peak == 0.0 || (peak - 1.0).abs() < 1e-6,
            "example {e}: peak {peak}"
        );
    }
    if let Some(gpu) = common::gpu() {
        let p = Pipeline::from_value(&spec, &gpu).unwrap();
        let mut worst = 0.0f32;
        for seed in [2026u64, 7, 8] {
            let g = p.run(seed, &b).unwrap();
            assert_eq!(g, p.run(seed, &b).unwrap(), "GPU reruns are bit-identical");
            let c = cpu.run(seed, &b).unwrap();
            let d = g
                .data()
                .iter()
                .zip(c.data())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            worst = worst.max(d);
        }
        eprintln!("recordings, ten transforms: max |GPU - CPU| = {worst:e}");
        assert!(worst <= 1e-5, "{worst}");
    }
}
