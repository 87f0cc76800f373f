//! `wavegpu augment`: seeded (same seed, same bytes; a file's result does not depend on the
//! other files of its directory), right (a fixed gain is that gain; an SNR is that SNR), GPU
//! within 1e-5 of CPU, and bad pipelines are usage errors.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::Path;

use ndarray::{Array1, Array2};

fn read1(p: &Path) -> Array1<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `wavegpu augment INPUT -o OUT --pipeline PIPE ARGS...`, asserted to succeed.
fn augment(input: &str, out: &Path, pipe: &str, args: &[&str]) {
    let mut all = vec![
        "augment",
        input,
        "-o",
        out.to_str().unwrap(),
        "--pipeline",
        pipe,
    ];
    all.extend_from_slice(args);
    assert_ok(&wavegpu(&all));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const CHAIN: &str = r#"[
    {"name": "gain", "min_gain_db": -6, "max_gain_db": 6, "p": 1.0},
    {"name": "one_of", "transforms": [
        {"name": "add_gaussian_snr", "min_snr_db": 10, "max_snr_db": 30},
        {"name": "time_mask", "max_band_part": 0.1}
    ]},
    {"name": "shift", "min_shift": -0.2, "max_shift": 0.2, "p": 0.5},
    {"name": "tanh_distortion", "p": 0.5}
]"#;

#[test]
fn same_seed_same_bytes_and_files_independent() {
    let dir = scratch("augment_seed");
    let pipe = write(&dir, "chain.json", CHAIN);
    let input = fixture_str("speech_16k.wav");
    let out = |name: &str, seed: &str| {
        let o = dir.join(name);
        augment(&input, &o, &pipe, &["--seed", seed, "--device", "cpu"]);
        std::fs::read(o).unwrap()
    };
    let a = out("a.wav", "7");
    let b = out("b.wav", "7");
    let c = out("c.wav", "8");
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, c, "another seed, another result");

    // A directory: each file as it comes out alone.
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for f in ["speech_16k.wav", "music_22k.wav", "short_16k.wav"] {
        std::fs::copy(fixture(f), src.join(f)).unwrap();
    }
    let outdir = dir.join("out");
    augment(
        src.to_str().unwrap(),
        &outdir,
        &pipe,
        &["--seed", "7", "--format", "wav", "--device", "cpu"],
    );
    assert_eq!(
        written(&outdir),
        vec!["music_22k.wav", "short_16k.wav", "speech_16k.wav"]
    );
    assert_eq!(std::fs::read(outdir.join("speech_16k.wav")).unwrap(), a);
}

/// A pinned gain is exactly that gain; a pinned SNR is that SNR within 0.01 dB.
#[test]
fn pinned_parameters_do_what_they_say() {
    let dir = scratch("augment_pinned");
    let input = fixture_str("speech_16k.wav");
    let orig = dir.join("orig.npy");
    assert_ok(&wavegpu(&["decode", &input, "-o", orig.to_str().unwrap()]));
    let x = read1(&orig);

    let pipe = write(
        &dir,
        "gain.json",
        r#"[{"name": "gain", "min_gain_db": -6, "max_gain_db": -6, "p": 1.0}]"#,
    );
    let o = dir.join("gain.npy");
    augment(&input, &o, &pipe, &["--device", "cpu"]);
    let y = read1(&o);
    let g = 10f32.powf(-6.0 / 20.0);
    let err = x
        .iter()
        .zip(&y)
        .fold(0f32, |m, (a, b)| m.max((a * g - b).abs()));
    assert_eq!(x.len(), y.len());
    assert!(err <= 1e-6, "gain -6 dB: max error {err}");

    let pipe = write(
        &dir,
        "snr.json",
        r#"[{"name": "add_gaussian_snr", "min_snr_db": 15, "max_snr_db": 15, "p": 1.0}]"#,
    );
    let o = dir.join("snr.npy");
    augment(&input, &o, &pipe, &["--seed", "3", "--device", "cpu"]);
    let y = read1(&o);
    let power = |v: &mut dyn Iterator<Item = f64>| v.map(|s| s * s).sum::<f64>();
    let ps = power(&mut x.iter().map(|&s| f64::from(s)));
    let pn = power(&mut x.iter().zip(&y).map(|(&a, &b)| f64::from(b) - f64::from(a)));
    let snr = 10.0 * (ps / pn).log10();
    assert!((snr - 15.0).abs() <= 0.01, "SNR {snr} dB, asked 15");
}

#[test]
fn gpu_matches_cpu_and_channels_kept() {
    let Some(_) = common::gpu() else { return };
    let dir = scratch("augment_gpu");
    let pipe = write(&dir, "chain.json", CHAIN);
    let input = fixture_str("stereo_48k.wav");
    let run = |dev: &str| {
        let o = dir.join(format!("{dev}.npy"));
        augment(
            &input,
            &o,
            &pipe,
            &["--seed", "11", "--no-mono", "--device", dev],
        );
        let a: Array2<f32> = ndarray_npy::read_npy(&o).unwrap();
        a
    };
    let (c, g) = (run("cpu"), run("gpu"));
    assert_eq!(c.dim(), (2, 24_000));
    let err = c
        .iter()
        .zip(g.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err <= 1e-5, "GPU vs CPU: {err}");
}

#[test]
fn bad_pipelines_are_usage_errors() {
    let dir = scratch("augment_bad");
    let input = fixture_str("speech_16k.wav");
    let out = dir.join("o.wav");
    let out = out.to_str().unwrap();
    for (name, text, needle) in [
        ("unknown.json", r#"[{"name": "gane"}]"#, "gane"),
        (
            "param.json",
            r#"[{"name": "gain", "min_gain": 1}]"#,
            "min_gain",
        ),
        ("value.json", r#"[{"name": "gain", "p": 2}]"#, "p"),
        ("syntax.json", "[{", "syntax.json"),
    ] {
        let pipe = write(&dir, name, text);
        let o = wavegpu(&["augment", &input, "-o", out, "--pipeline", &pipe]);
        let msg = assert_fails_one_line(&o, 2);
        assert!(msg.contains(needle), "{name}: {msg}");
    }
    let missing = dir.join("missing.json");
    let o = wavegpu(&[
        "augment",
        &input,
        "-o",
        out,
        "--pipeline",
        missing.to_str().unwrap(),
    ]);
    assert!(assert_fails_one_line(&o, 2).contains("missing.json"));
    let pipe = write(&dir, "ok.json", CHAIN);
    let o = wavegpu(&["augment", &input, "-o", "x.png", "--pipeline", &pipe]);
    assert_fails_one_line(&o, 2);
    let o = wavegpu(&["augment", &input, "-o", out]);
    assert_fails_one_line(&o, 2);
    assert!(!Path::new(out).exists());
}
