//! One augmentation pipeline shared by eight threads (issue 8, item 5): every thread gets
//! what a serial run gives, bit for bit, on the CPU and the GPU, through every kernel family
//! (per-sample steps, IIR and FIR filters, FFT convolution, the phase vocoder, short noises),
//! over several rounds so that interleavings vary; and nothing deadlocks.

mod common;

use ndarray::Array2;
use serde_json::json;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::Device;

#[test]
fn one_pipeline_eight_threads_equals_serial_runs() {
    let d = common::TempDir::new("aug_threads");
    let ir: Vec<f32> = common::noise(900, 3)
        .iter()
        .enumerate()
        .map(|(i, x)| x * (-(i as f32) / 120.0).exp())
        .collect();
    std::fs::create_dir_all(d.path("ir")).unwrap();
    common::write_wav(&d.path("ir").join("ir.wav"), &ir, 16_000);
    std::fs::create_dir_all(d.path("noise")).unwrap();
    common::write_wav(
        &d.path("noise").join("n.wav"),
        &common::noise(4000, 4),
        16_000,
    );
    let spec = json!([
        {"name": "gain", "p": 1.0},
        {"name": "add_gaussian_snr", "p": 0.7},
        {"name": "one_of", "transforms": [
            {"name": "low_pass_filter", "p": 1.0},
            {"name": "band_pass_filter", "zero_phase": true, "p": 1.0},
            {"name": "high_pass_filter", "fir_taps": 101, "p": 1.0},
            {"name": "seven_band_parametric_eq", "p": 1.0}
        ]},
        {"name": "apply_impulse_response", "ir_path": d.path("ir").to_str().unwrap(), "p": 0.6},
        {"name": "pitch_shift", "min_semitones": -3, "max_semitones": 3, "p": 0.5},
        {"name": "add_short_noises", "sounds_path": d.path("noise").to_str().unwrap(),
         "min_time_between_sounds": 0.1, "max_time_between_sounds": 0.3, "p": 0.7},
        {"name": "tanh_distortion", "p": 0.5},
        {"name": "shift", "p": 0.5}
    ]);
    let batches: Vec<Batch> = (0..8)
        .map(|t| {
            let lengths = [6000 - 300 * t, 2500 + 200 * t, 4100];
            let data = Array2::from_shape_fn((3, 6000), |(r, i)| {
                if i < lengths[r] {
                    common::noise(1, (t * 1_000_000 + r * 10_000 + i) as u64)[0] * 0.3
                } else {
                    0.0
                }
            });
            Batch::new(data, lengths.to_vec(), 1, 16_000).unwrap()
        })
        .collect();
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in &devices {
        let p = Pipeline::from_value(&spec, dev).unwrap();
        let serial: Vec<Batch> = batches
            .iter()
            .enumerate()
            .map(|(t, b)| p.run(t as u64, b).unwrap())
            .collect();
        for round in 0..3 {
            std::thread::scope(|s| {
                let hs: Vec<_> = batches
                    .iter()
                    .enumerate()
                    .map(|(t, b)| {
                        let p = &p;
                        s.spawn(move || p.run(t as u64, b).unwrap())
                    })
                    .collect();
                for (t, (h, want)) in hs.into_iter().zip(&serial).enumerate() {
                    assert_eq!(
                        &h.join().unwrap(),
                        want,
                        "{dev:?}, round {round}, thread {t}"
                    );
                }
            });
        }
    }
}
