//! Arbitrary text as an augmentation pipeline (and as SpecAugment masks) on the CPU device;
//! what parses runs on a small fixed batch.
//!
//! Inputs naming files (`sounds_path`, `ir_path`) are skipped: they would read whatever the
//! fuzzer names on this machine's disk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray::{Array2, Array3};
use serde_json::Value;
use wavegpu::augment::{Batch, Pipeline, SpecAugment};
use wavegpu::Device;

fn names_files(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.ends_with("_path") || names_files(v)),
        Value::Array(a) => a.iter().any(names_files),
        _ => false,
    }
}

fn signal(rows: usize, stride: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, stride), |(r, i)| {
        let t = i as f32 / 16_000.0;
        0.5 * (2.0 * std::f32::consts::PI * (220.0 + 110.0 * r as f32) * t).sin()
            + 0.05 * (((i * 7919 + r * 104_729) % 1000) as f32 / 500.0 - 1.0)
    })
}

fn check(input: &Batch, out: &Batch) {
    assert_eq!(out.lengths(), input.lengths(), "lengths changed");
    assert_eq!(out.channels(), input.channels());
    assert_eq!(out.stride(), input.stride());
    for (r, &l) in out.lengths().iter().enumerate() {
        assert!(
            out.data().row(r).iter().skip(l).all(|&x| x == 0.0),
            "row {r}: tail past length {l} not zero"
        );
    }
}

fn same_bits(a: &Batch, b: &Batch) -> bool {
    a.lengths() == b.lengths()
        && a.data()
            .iter()
            .zip(b.data().iter())
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if names_files(&v) {
            return;
        }
    }

    let device = Device::cpu();
    if let Ok(p) = Pipeline::from_json(text, &device) {
        // Mono: three rows, one empty, one short.
        let mono = Batch::new(signal(3, 700), vec![700, 333, 0], 1, 16_000).unwrap();
        if let Ok(out) = p.run(7, &mono) {
            check(&mono, &out);
            let again = p
                .run(7, &mono)
                .expect("second run of the same batch failed");
            assert!(same_bits(&out, &again), "same seed, different bits");
        }
        // Stereo: two examples whose channels differ in length.
        let stereo = Batch::new(signal(4, 400), vec![400, 400, 250, 199], 2, 8_000).unwrap();
        if let Ok(out) = p.run(11, &stereo) {
            check(&stereo, &out);
        }
    }

    if let Ok(s) = SpecAugment::from_json(text) {
        let spec = Array3::from_shape_fn((3, 20, 31), |(e, f, t)| (e + f * t) as f32 * 0.01);
        if let Ok(out) = s.run(5, spec.view()) {
            assert_eq!(out.dim(), spec.dim());
        }
    }
});
