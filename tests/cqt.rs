//! CQT / VQT against tests/data/cqt_cases.json (tests/data/make_cqt_dumps.py, librosa 0.11):
//! - the stated reference (the full-rate algorithm in float64): relative Frobenius <= 1e-4;
//! - librosa.cqt with every default on real recordings (speech, music): <= 2e-2 (DESIGN.md);
//! - librosa itself where it does not downsample (odd hops): <= 1e-4.
//!
//! All on the CPU path and on the GPU; also GPU == CPU on batches, split runs and complex output.

mod common;

use common::*;
use ndarray::{s, Axis};
use serde_json::Value;
use wavegpu::{Audio, AudioBatch, CqtBuilder, Device, PadMode, Spectrogram};

const REF_TOL: f64 = 1e-4;
const LIBROSA_DEFAULT_TOL: f64 = 2e-2;

/// The case's plan (cqt, vqt or pseudo_cqt), every parameter from the manifest.
fn builder(c: &Value) -> CqtBuilder {
    let f = |k: &str| c[k].as_f64().unwrap();
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    let sr = u("sr") as u32;
    let mut b = match c["kind"].as_str().unwrap() {
        "cqt" => Spectrogram::cqt(sr),
        "vqt" => Spectrogram::vqt(sr),
        "pseudo_cqt" => Spectrogram::pseudo_cqt(sr),
        k => panic!("kind {k}"),
    }
    .hop_length(u("hop_length"))
    .fmin(f("fmin"))
    .n_bins(u("n_bins"))
    .bins_per_octave(u("bins_per_octave"))
    .tuning(f("tuning"))
    .filter_scale(f("filter_scale"))
    .sparsity(f("sparsity"))
    .norm(c["norm"].as_f64())
    .scale(c["scale"].as_bool().unwrap())
    .pad_mode(PadMode::from_name(c["pad_mode"].as_str().unwrap()).unwrap());
    if let Some(g) = c["gamma"].as_f64() {
        b = b.gamma(g);
    }
    b
}

/// The case's excerpt of its fixture, mono.
fn clip(c: &Value) -> Audio {
    let a = load_wav(&data_dir().join(c["fixture"].as_str().unwrap()));
    let off = c["offset"].as_u64().unwrap() as usize;
    let n = c["n_samples"].as_u64().unwrap() as usize;
    assert_eq!(a.channels(), 1, "{}", c["name"]);
    Audio::from_mono(
        a.data().row(0).slice(s![off..off + n]).to_vec(),
        a.sample_rate(),
    )
}

fn parity(dev: &Device) {
    let cases = manifest("cqt_cases.json");
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    let (mut n_ref, mut n_default, mut n_odd) = (0, 0, 0);
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let plan = builder(c).build(dev);
        if c["reference"].is_null() {
            // librosa refuses these parameters: so must we, with its reason.
            let err = c["librosa_error"].as_str().unwrap();
            match plan {
                Err(wavegpu::Error::InvalidParameter { reason, .. }) => {
                    assert!(
                        err.contains("Nyquist") && reason.contains("Nyquist"),
                        "{name}: {reason} / {err}"
                    )
                }
                other => failures.push(format!(
                    "{name}: expected an error like `{err}`, got {other:?}"
                )),
            }
            continue;
        }
        let out = match plan.and_then(|p| p.run(&clip(c))) {
            Ok(o) => o.index_axis_move(Axis(0), 0),
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let reference = read_npy_f32(c["reference"].as_str().unwrap());
        if out.shape() != reference.shape() {
            failures.push(format!(
                "{name}: shape {:?} vs {:?}",
                out.shape(),
                reference.shape()
            ));
            continue;
        }
        let e_ref = rel_err(out.iter(), reference.iter());
        n_ref += 1;
        if e_ref.is_nan() || e_ref > REF_TOL {
            failures.push(format!("{name}: {e_ref:.2e} from the full-rate reference"));
        }
        let Some(lib) = c["librosa"].as_str() else {
            continue;
        };
        let lib = read_npy_f32(lib);
        let e_lib = rel_err(out.iter(), lib.iter());
        let hop_odd = c["hop_length"].as_u64().unwrap() % 2 == 1;
        // Where librosa does not downsample (odd hops; its early downsampling needs even hops
        // too), it computes exactly this algorithm.
        if hop_odd {
            n_odd += 1;
            if e_lib > REF_TOL {
                failures.push(format!(
                    "{name}: {e_lib:.2e} from librosa (odd hop: no resampling)"
                ));
            }
        } else if name.starts_with("cqt_default") {
            n_default += 1;
            if e_lib > LIBROSA_DEFAULT_TOL {
                failures.push(format!("{name}: {e_lib:.2e} from librosa.cqt defaults"));
            }
        }
        eprintln!("{name} on {dev}: {e_ref:.1e} from the reference, {e_lib:.1e} from librosa");
    }
    assert!(failures.is_empty(), "on {dev}:\n{}", failures.join("\n"));
    assert!(
        n_ref >= 30 && n_default >= 5 && n_odd >= 6,
        "{n_ref} {n_default} {n_odd}"
    );
}

#[test]
fn cqt_matches_reference_and_librosa_cpu() {
    parity(&Device::cpu());
}

#[test]
fn cqt_matches_reference_and_librosa_gpu() {
    if let Some(d) = gpu() {
        parity(&d);
    }
}

fn max_abs(a: &ndarray::Array3<f32>, b: &ndarray::Array3<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b.iter())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// Batches (rows equal single runs, zero tails), complex output, split runs (forced small
/// buffers) equal to unsplit ones, GPU within the reference tolerance of the CPU.
#[test]
fn batches_splits_complex_and_devices() {
    let sr = 16_000;
    let rows: Vec<Vec<f32>> = [16_000usize, 7_001, 3_000]
        .iter()
        .enumerate()
        .map(|(i, &n)| noise(n, 90 + i as u64))
        .collect();
    let batch = AudioBatch::from_rows(&rows, sr).unwrap();
    let plan = |dev: &Device, max: Option<u64>| {
        let b = Spectrogram::cqt(sr)
            .hop_length(160)
            .fmin(65.0)
            .n_bins(60)
            .bins_per_octave(12);
        match max {
            Some(m) => b.max_buffer_bytes(m),
            None => b,
        }
        .build(dev)
        .unwrap()
    };
    let cpu = plan(&Device::cpu(), None);
    let want = cpu.run_batch(&batch).unwrap();
    assert_eq!(want.dim(), (3, 60, 101));
    assert_eq!(cpu.output_shape(3, 16_000).unwrap(), want.dim());
    for (i, r) in rows.iter().enumerate() {
        let alone = cpu.run(&Audio::from_mono(r.clone(), sr)).unwrap();
        let f = alone.dim().2;
        let got = want.slice(s![i..i + 1, .., ..f]).to_owned();
        assert_eq!(got, alone, "row {i}");
        assert!(
            want.slice(s![i, .., f..]).iter().all(|&v| v == 0.0),
            "row {i} tail"
        );
    }
    let complex = cpu.run_batch_complex(&batch).unwrap();
    let mag = complex.mapv(|c| c.norm());
    assert!(max_abs(&mag, &want) <= 1e-6 * want.iter().cloned().fold(0.0, f32::max));
    if let Some(dev) = gpu() {
        let g = plan(&dev, None).run_batch(&batch).unwrap();
        let e = rel_err(g.iter(), want.iter());
        assert!(e <= REF_TOL, "gpu vs cpu {e:.2e}");
        // 60 bins x 8 bytes x 101 frames = 48 kB per row, and the lowest octave's FFT scratch:
        // 20 kB buffers split every row along frames.
        let split = plan(&dev, Some(20_000)).run_batch(&batch).unwrap();
        assert_eq!(split, g, "split vs whole on the GPU");
        let gc = plan(&dev, None).run_batch_complex(&batch).unwrap();
        let re: Vec<f32> = gc.iter().flat_map(|c| [c.re, c.im]).collect();
        let cre: Vec<f32> = complex.iter().flat_map(|c| [c.re, c.im]).collect();
        let e = rel_err(re.iter(), cre.iter());
        assert!(e <= REF_TOL, "complex gpu vs cpu {e:.2e}");
    }
}

/// A filter longer than the clip (fmin 16 Hz at 16 kHz: a 17 000-sample filter on 2 000
/// samples), zero padding: works and agrees between devices; bad input gives typed errors.
#[test]
fn long_filters_short_clips_and_errors() {
    let sr = 16_000;
    let x = Audio::from_mono(noise(2_000, 5), sr);
    let b = || Spectrogram::cqt(sr).fmin(16.0).n_bins(48).hop_length(100);
    let cpu = b().build(&Device::cpu()).unwrap().run(&x).unwrap();
    assert_eq!(cpu.dim(), (1, 48, 21));
    assert!(cpu.iter().all(|v| v.is_finite()) && cpu.iter().any(|&v| v > 0.0));
    if let Some(dev) = gpu() {
        let g = b().build(&dev).unwrap().run(&x).unwrap();
        let e = rel_err(g.iter(), cpu.iter());
        assert!(e <= REF_TOL, "gpu vs cpu {e:.2e}");
    }
    let dev = Device::cpu();
    let param = |r: wavegpu::Result<wavegpu::Cqt>| match r {
        Err(wavegpu::Error::InvalidParameter { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        param(Spectrogram::cqt(sr).hop_length(0).build(&dev)),
        "hop_length"
    );
    assert_eq!(param(Spectrogram::cqt(sr).fmin(0.0).build(&dev)), "fmin");
    assert_eq!(param(Spectrogram::cqt(sr).n_bins(0).build(&dev)), "n_bins");
    assert_eq!(
        param(Spectrogram::cqt(sr).bins_per_octave(0).build(&dev)),
        "bins_per_octave"
    );
    assert_eq!(
        param(Spectrogram::cqt(sr).n_bins(120).build(&dev)),
        "n_bins"
    ); // past Nyquist
    let plan = Spectrogram::cqt(sr).build(&dev).unwrap();
    match plan.run(&Audio::from_mono(vec![0.1; 1000], 22_050)) {
        Err(e @ wavegpu::Error::InvalidAudio { .. }) => assert!(e.to_string().contains("22050")),
        other => panic!("{other:?}"),
    }
    let mut bad = vec![0.0f32; 4000];
    bad[1234] = f32::NAN;
    assert!(matches!(
        plan.run(&Audio::from_mono(bad, sr)),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
}

/// pseudo_cqt (librosa computes exactly this: within 1e-5 of it and of the float64
/// reference) and chroma_cqt (within 1e-4 of the full-rate reference, 2e-2 of librosa's own
/// chroma_cqt, which resamples) from tests/data/cqt_feature_cases.json.
fn feature_parity(dev: &Device) {
    let cases = manifest("cqt_feature_cases.json");
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let u = |k: &str| c[k].as_u64().unwrap() as usize;
        let f = |k: &str| c[k].as_f64().unwrap();
        let sr = u("sr") as u32;
        let out = match c["kind"].as_str().unwrap() {
            "pseudo_cqt" => builder(c).build(dev).and_then(|p| p.run(&clip(c))),
            "chroma_cqt" => Spectrogram::chroma_cqt(sr)
                .hop_length(u("hop_length"))
                .fmin(f("fmin"))
                .bins_per_octave(u("bins_per_octave"))
                .n_chroma(u("n_chroma"))
                .n_octaves(u("n_octaves"))
                .norm(match &c["chroma_norm"] {
                    Value::Null => None,
                    Value::String(s) if s == "inf" => Some(f64::INFINITY),
                    v => v.as_f64(),
                })
                .build(dev)
                .and_then(|p| p.run(&clip(c))),
            k => panic!("kind {k}"),
        };
        let out = match out {
            Ok(o) => o.index_axis_move(Axis(0), 0),
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let (ref_tol, lib_tol) = if c["kind"] == "pseudo_cqt" {
            (1e-5, 1e-5)
        } else {
            (REF_TOL, LIBROSA_DEFAULT_TOL)
        };
        let reference = read_npy_f32(c["reference"].as_str().unwrap());
        let lib = read_npy_f32(c["librosa"].as_str().unwrap());
        if out.shape() != reference.shape() || out.shape() != lib.shape() {
            failures.push(format!(
                "{name}: shape {:?} vs {:?}",
                out.shape(),
                reference.shape()
            ));
            continue;
        }
        let (e_ref, e_lib) = (
            rel_err(out.iter(), reference.iter()),
            rel_err(out.iter(), lib.iter()),
        );
        eprintln!("{name} on {dev}: {e_ref:.1e} from the reference, {e_lib:.1e} from librosa");
        if e_ref.is_nan() || e_ref > ref_tol || e_lib > lib_tol {
            failures.push(format!(
                "{name}: {e_ref:.2e} from the reference, {e_lib:.2e} from librosa"
            ));
        }
    }
    assert!(failures.is_empty(), "on {dev}:\n{}", failures.join("\n"));
}

#[test]
fn pseudo_and_chroma_cqt_match_cpu() {
    feature_parity(&Device::cpu());
}

#[test]
fn pseudo_and_chroma_cqt_match_gpu() {
    if let Some(d) = gpu() {
        feature_parity(&d);
    }
}

#[test]
fn pseudo_and_chroma_errors() {
    let dev = Device::cpu();
    let x = Audio::from_mono(noise(4000, 1), 22_050);
    let pseudo = Spectrogram::pseudo_cqt(22_050).build(&dev).unwrap();
    assert!(matches!(
        pseudo.run_complex(&x),
        Err(wavegpu::Error::InvalidParameter {
            name: "complex",
            ..
        })
    ));
    assert!(matches!(
        Spectrogram::pseudo_cqt(22_050).gamma(5.0).build(&dev),
        Err(wavegpu::Error::InvalidParameter { name: "gamma", .. })
    ));
    let name = |r: wavegpu::Result<wavegpu::ChromaCqt>| match r {
        Err(wavegpu::Error::InvalidParameter { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        name(
            Spectrogram::chroma_cqt(22_050)
                .bins_per_octave(30)
                .build(&dev)
        ),
        "bins_per_octave"
    );
    assert_eq!(
        name(Spectrogram::chroma_cqt(22_050).n_chroma(0).build(&dev)),
        "n_chroma"
    );
    assert_eq!(
        name(Spectrogram::chroma_cqt(22_050).norm(Some(-1.0)).build(&dev)),
        "norm"
    );
    assert_eq!(name(Spectrogram::chroma_cqt(8_000).build(&dev)), "n_bins"); // past Nyquist
    let plan = Spectrogram::chroma_cqt(22_050).build(&dev).unwrap();
    assert_eq!(plan.output_shape(2, 22_050).unwrap(), (2, 12, 44));
}
