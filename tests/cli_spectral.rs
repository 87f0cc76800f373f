//! `wavegpu spectral` run as a process: librosa parity for every feature (spectral centroid,
//! bandwidth, rolloff, flatness, contrast, rms, zero-crossing rate) at tests/spectral.rs's
//! tolerances, on the CPU and, where an adapter exists (always with CI=true), on the GPU;
//! librosa's defaults; the flags the manifest does not vary against the library's own plan; PNG
//! layout; directory mode with one plan per sample rate; usage and input errors.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/contrast.rs"]
mod contrast;

use cli::*;
use contrast::*;

use std::path::Path;

use ndarray::{Array3, ArrayD, Axis};
use serde_json::Value;
use wavegpu::io::{load, LoadOptions};
use wavegpu::{Device, PadMode, SpectralFeature, Spectrogram, Window};

/// Relative Frobenius error of every feature but dB contrast (tests/spectral.rs's REL_TOL).
const REL_TOL: f64 = 1e-5;
/// Max abs error of dB contrast (tests/spectral.rs's DB_TOL).
const DB_TOL: f32 = 1e-3;
/// On the GPU, dB contrast is held to DB_TOL where each valley lies within this depth under
/// its frame's strongest bin; deeper valleys carry the f32 FFT's rounding (tests/spectral.rs,
/// `contrast_gpu_f32_floor`) and are printed.
const GPU_DEPTH_DB: f64 = 60.0;

fn read_any(p: &Path) -> ArrayD<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A GPU adapter for the GPU tests: None (skip, with a reason) only outside CI; with
/// CI=true a missing adapter fails the test (common::gpu).
fn gpu_or_skip(test: &str) -> Option<Device> {
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    if !ci && Device::adapters().is_empty() {
        eprintln!("skipping {test}: no GPU adapter");
        return None;
    }
    common::gpu()
}

// ---------------------------------------------------------------------------------------
// librosa cases, expressed as flags

fn find_case(name: &str) -> Value {
    common::manifest("spectral_cases.json")
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in spectral_cases.json"))
}

/// Every parameter of a manifest case as flags (the fixture's channels kept for stereo, as
/// the dumps were made with librosa.load(mono=False)).
fn case_flags(c: &Value) -> Vec<String> {
    let s = |k: &str| c[k].to_string().trim_matches('"').to_string();
    let feature = c["feature"].as_str().unwrap();
    let mut v: Vec<String> = vec!["--feature".into(), feature.into()];
    let mut add = |flag: &str, value: String| {
        v.push(flag.into());
        v.push(value);
    };
    match feature {
        "rms" | "zcr" => {
            add("--frame-length", s("n_fft"));
            add("--hop-length", s("hop_length"));
            add("--center", s("center"));
            if feature == "rms" {
                add("--pad-mode", s("pad_mode"));
            }
        }
        _ => {
            add("--n-fft", s("n_fft"));
            add("--hop-length", s("hop_length"));
            add("--win-length", s("win_length"));
            add("--window", s("window"));
            add("--center", s("center"));
            add("--pad-mode", s("pad_mode"));
        }
    }
    match feature {
        "bandwidth" => add("--p", s("p")),
        "rolloff" => add("--roll-percent", s("roll_percent")),
        "flatness" => {
            add("--power", s("power"));
            add("--amin", s("amin"));
        }
        "contrast" => {
            add("--n-bands", s("n_bands"));
            add("--fmin", s("fmin"));
            add("--quantile", s("quantile"));
        }
        _ => {}
    }
    if c["linear"] == true {
        v.push("--linear".into());
    }
    if c["fixture"] == "stereo_48k.wav" {
        v.push("--no-mono".into());
    }
    v
}

/// One or more cases per feature: stereo with --no-mono, silence, every framing flag, the
/// feature parameters away from their defaults.
const CASES: &[&str] = &[
    "centroid__odd_44k_n1023_h333_w1023_hamming_c_reflect",
    "centroid__stereo_48k_n512_h128_w512_hann_c_reflect",
    "bandwidth__stereo_48k_n512_h128_w512_hamming_c_constant_p1",
    "bandwidth__speech_16k_n512_h128_w512_hann_nc_constant_p2",
    "rolloff__noise_22k_n512_h128_w512_hamming_c_constant_r0.5",
    "rolloff__silence_16k_n512_h128_w512_hamming_c_constant_r0.5",
    "rolloff__odd_44k_n1024_h256_w1024_ones_c_constant_r0.85",
    "flatness__speech_16k_n2048_h512_w2048_hann_c_constant_pow1_amin1e-05",
    "flatness__silence_16k_n512_h128_w512_hann_nc_constant_pow2_amin1e-10",
    "contrast__speech_16k_n2048_h512_w2048_hann_c_constant_b4_f300_q0.1_db",
    "contrast__speech_16k_n512_h160_w400_hann_c_constant_b6_f200_q0.02_linear",
    "contrast__stereo_48k_n512_h128_w512_hamming_c_constant_b6_f200_q0.02_db",
    "contrast__chirp_8k_n2048_h512_w2048_hann_c_constant_b6_f100_q0.02_db",
    "contrast__silence_16k_n512_h128_w512_hamming_c_constant_b6_f200_q0.02_db",
    "rms__stereo_48k_fl512_h128_nc_constant",
    "rms__odd_44k_fl1023_h333_c_constant",
    "zcr__speech_16k_fl512_h128_c",
    "zcr__silence_16k_fl512_h128_nc",
    "zcr__stereo_48k_fl512_h128_nc",
];

/// The cases of librosa's defaults on speech: run with --feature alone.
const DEFAULT_CASES: &[&str] = &[
    "centroid__speech_16k_n2048_h512_w2048_hann_c_constant",
    "bandwidth__speech_16k_n2048_h512_w2048_hann_c_constant_p2",
    "rolloff__speech_16k_n2048_h512_w2048_hann_c_constant_r0.85",
    "flatness__speech_16k_n2048_h512_w2048_hann_c_constant_pow2_amin1e-10",
    "contrast__speech_16k_n2048_h512_w2048_hann_c_constant_b6_f200_q0.02_db",
    "rms__speech_16k_fl2048_h512_c_constant",
    "zcr__speech_16k_fl2048_h512_c",
];

fn run_cli(c: &Value, flags: Vec<String>, device: &str, out: &Path) -> ArrayD<f32> {
    let mut args: Vec<String> = vec![
        "spectral".into(),
        fixture_str(c["fixture"].as_str().unwrap()),
        "-o".into(),
        out.display().to_string(),
        "--device".into(),
        device.into(),
    ];
    args.extend(flags);
    let o = wavegpu_s(&args);
    assert_ok(&o);
    assert_eq!(npy_descr(out), "<f4", "{}", c["name"]);
    read_any(out)
}

fn max_abs(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    a.iter().zip(b.iter()).fold(0.0f32, |m, (x, y)| {
        let d = (x - y).abs();
        if d.is_nan() {
            f32::INFINITY
        } else {
            m.max(d)
        }
    })
}

/// tests/spectral.rs's verdict on one output against librosa's dump: None when it passes.
fn judge(c: &Value, got: &ArrayD<f32>, gpu: bool, label: &str) -> Option<String> {
    let name = c["name"].as_str().unwrap();
    let r = common::read_npy_f32(c["file"].as_str().unwrap());
    if got.shape() != r.shape() {
        return Some(format!(
            "{name}: shape {:?} vs librosa {:?}",
            got.shape(),
            r.shape()
        ));
    }
    let rel = common::rel_err(got.iter(), r.iter());
    let abs = max_abs(got, &r);
    let db = c["feature"] == "contrast" && c["linear"] == false;
    let ok = if db && gpu {
        let depth = valley_depth_db(
            c,
            &common::load_wav(&fixture(c["fixture"].as_str().unwrap())),
        );
        assert_eq!(depth.shape(), r.shape(), "{name}: depth");
        let (mut near, mut deep) = (0.0f32, 0.0f32);
        for ((a, b), d) in got.iter().zip(r.iter()).zip(depth.iter()) {
            let e = (a - b).abs();
            let e = if e.is_nan() { f32::INFINITY } else { e };
            if *d <= GPU_DEPTH_DB {
                near = near.max(e);
            } else {
                deep = deep.max(e);
            }
        }
        eprintln!(
            "{label} {name}: max abs {near:.2e} dB where valleys are within {GPU_DEPTH_DB} dB of the frame's peak bin, {deep:.2e} dB below"
        );
        near <= DB_TOL
    } else if db {
        eprintln!("{label} {name}: max abs {abs:.2e} dB");
        abs <= DB_TOL
    } else {
        eprintln!("{label} {name}: rel {rel:.2e}, max abs {abs:.2e}");
        rel.is_finite() && rel <= REL_TOL
    };
    (!ok).then(|| format!("{name}: rel {rel:.3e}, max abs {abs:.3e}"))
}

fn cases_match(device: &str) {
    let dir = scratch(&format!("cases_{device}"));
    let mut failures = Vec::new();
    for name in CASES {
        let c = find_case(name);
        let got = run_cli(&c, case_flags(&c), device, &dir.join(format!("{name}.npy")));
        failures.extend(judge(
            &c,
            &got,
            device == "gpu",
            &format!("--device {device}"),
        ));
    }
    assert!(
        failures.is_empty(),
        "--device {device}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn cases_match_librosa_cpu() {
    cases_match("cpu");
}

#[test]
fn cases_match_librosa_gpu() {
    if gpu_or_skip("cases_match_librosa_gpu").is_some() {
        cases_match("gpu");
    }
}

fn defaults_match(device: &str) {
    let dir = scratch(&format!("defaults_{device}"));
    let mut failures = Vec::new();
    for name in DEFAULT_CASES {
        let c = find_case(name);
        let feature = c["feature"].as_str().unwrap().to_string();
        let got = run_cli(
            &c,
            vec!["--feature".into(), feature],
            device,
            &dir.join(format!("{name}.npy")),
        );
        failures.extend(judge(
            &c,
            &got,
            device == "gpu",
            &format!("--device {device}"),
        ));
    }
    assert!(
        failures.is_empty(),
        "--device {device}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn defaults_are_librosas_cpu() {
    defaults_match("cpu");
}

#[test]
fn defaults_are_librosas_gpu() {
    if gpu_or_skip("defaults_are_librosas_gpu").is_some() {
        defaults_match("gpu");
    }
}

/// Without --no-mono, the channel average: (values, frames), not librosa's per-channel dump.
#[test]
fn mono_averages_the_channels() {
    let dir = scratch("mono");
    for (name, rows) in [
        (
            "contrast__stereo_48k_n512_h128_w512_hamming_c_constant_b6_f200_q0.02_db",
            7,
        ),
        ("rms__stereo_48k_fl512_h128_nc_constant", 1),
    ] {
        let c = find_case(name);
        let stereo = run_cli(&c, case_flags(&c), "cpu", &dir.join("s.npy"));
        let mut flags = case_flags(&c);
        flags.retain(|f| f != "--no-mono");
        let mono = run_cli(&c, flags, "cpu", &dir.join("m.npy"));
        let frames = stereo.shape()[2];
        assert_eq!(stereo.shape(), &[2, rows, frames], "{name}");
        assert_eq!(mono.shape(), &[rows, frames], "{name}");
        assert_ne!(mono.view(), stereo.index_axis(Axis(0), 0), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// contrast on the GPU: tests/spectral.rs's valley-depth rule, transcribed

// ---------------------------------------------------------------------------------------
// flags the manifest does not vary: the library's plan with the same settings, to the bit

#[test]
fn other_flags_equal_the_library_plan() {
    let dir = scratch("library");
    let speech = fixture_str("speech_16k.wav");
    let audio = load(fixture("speech_16k.wav"), &LoadOptions::default().mono()).unwrap();
    let cpu = Device::cpu();
    let spectral = |f: SpectralFeature| Spectrogram::spectral(16_000, f);
    let cases: Vec<(Vec<&str>, Array3<f32>)> = vec![
        (
            vec!["--feature", "bandwidth", "--p", "3", "--window", "blackman"],
            spectral(SpectralFeature::Bandwidth { p: 3.0 })
                .window(Window::Blackman)
                .build(&cpu)
                .unwrap()
                .run(&audio)
                .unwrap(),
        ),
        (
            vec!["--feature", "rolloff", "--roll-percent", "0.99"],
            spectral(SpectralFeature::Rolloff { roll_percent: 0.99 })
                .build(&cpu)
                .unwrap()
                .run(&audio)
                .unwrap(),
        ),
        (
            vec!["--feature", "flatness", "--power", "1.5", "--amin", "1e-6"],
            spectral(SpectralFeature::Flatness {
                power: 1.5,
                amin: 1e-6,
            })
            .build(&cpu)
            .unwrap()
            .run(&audio)
            .unwrap(),
        ),
        // librosa takes any quantile in (0, 1).
        (
            vec![
                "--feature",
                "contrast",
                "--quantile",
                "0.7",
                "--n-bands",
                "3",
                "--fmin",
                "500",
                "--linear",
            ],
            spectral(SpectralFeature::Contrast {
                n_bands: 3,
                fmin: 500.0,
                quantile: 0.7,
                linear: true,
            })
            .build(&cpu)
            .unwrap()
            .run(&audio)
            .unwrap(),
        ),
        (
            vec![
                "--feature",
                "rms",
                "--pad-mode",
                "reflect",
                "--frame-length",
                "1024",
            ],
            Spectrogram::rms()
                .pad_mode(PadMode::Reflect)
                .frame_length(1024)
                .build(&cpu)
                .unwrap()
                .run(&audio)
                .unwrap(),
        ),
        (
            vec![
                "--feature",
                "zero-crossing-rate",
                "--center",
                "false",
                "--frame-length",
                "300",
                "--hop-length",
                "100",
            ],
            Spectrogram::zero_crossing_rate()
                .center(false)
                .frame_length(300)
                .hop_length(100)
                .build(&cpu)
                .unwrap()
                .run(&audio)
                .unwrap(),
        ),
    ];
    for (i, (flags, own)) in cases.into_iter().enumerate() {
        let out = dir.join(format!("{i}.npy"));
        let mut args = vec!["spectral", &speech, "-o", out.to_str().unwrap()];
        args.extend(["--device", "cpu"]);
        args.extend_from_slice(&flags);
        assert_ok(&wavegpu(&args));
        let own = own.index_axis_move(Axis(0), 0);
        assert_eq!(read_any(&out), own.into_dyn(), "{flags:?}");
    }

    // --sr: resampled on load, the plan at that rate.
    let out = dir.join("sr.npy");
    assert_ok(&wavegpu(&[
        "spectral",
        &speech,
        "-o",
        out.to_str().unwrap(),
        "--feature",
        "centroid",
        "--sr",
        "22050",
        "--device",
        "cpu",
    ]));
    let resampled = load(
        fixture("speech_16k.wav"),
        &LoadOptions::default().mono().sample_rate(22_050),
    )
    .unwrap();
    let own = Spectrogram::spectral(22_050, SpectralFeature::Centroid)
        .build(&cpu)
        .unwrap()
        .run(&resampled)
        .unwrap()
        .index_axis_move(Axis(0), 0);
    assert_eq!(read_any(&out), own.into_dyn());
}

// ---------------------------------------------------------------------------------------
// PNG

#[test]
fn png_is_frames_wide_and_one_row_per_value() {
    let dir = scratch("png");
    let speech = fixture_str("speech_16k.wav");
    let stereo = fixture_str("stereo_48k.wav");
    let silence = fixture_str("silence_16k.wav");
    const DARK: [u8; 3] = [68, 1, 84];
    const BRIGHT: [u8; 3] = [253, 231, 37];
    for (args, size, flat) in [
        (
            vec!["spectral", &speech, "--feature", "centroid"],
            (1 + 23_542 / 512, 1),
            false,
        ),
        (
            vec!["spectral", &speech, "--feature", "contrast"],
            (1 + 23_542 / 512, 7),
            false,
        ),
        (
            vec![
                "spectral",
                &speech,
                "--feature",
                "rms",
                "--frame-length",
                "512",
                "--hop-length",
                "128",
            ],
            (1 + 23_542 / 128, 1),
            false,
        ),
        // Channels stack vertically.
        (
            vec![
                "spectral",
                &stereo,
                "--feature",
                "contrast",
                "--no-mono",
                "--n-bands",
                "4",
            ],
            (1 + 24_000 / 512, 2 * 5),
            false,
        ),
        (
            vec!["spectral", &stereo, "--feature", "zcr", "--no-mono"],
            (1 + 24_000 / 512, 2),
            false,
        ),
        // Silence: a constant array, drawn flat and dark.
        (
            vec!["spectral", &silence, "--feature", "rolloff"],
            (1 + 4_000 / 512, 1),
            true,
        ),
    ] {
        let out = dir.join("x.png");
        let _ = std::fs::remove_file(&out);
        let mut a = args.clone();
        a.extend(["-o", out.to_str().unwrap(), "--device", "cpu"]);
        assert_ok(&wavegpu(&a));
        let (w, h, color, px) = png_info(&out);
        assert_eq!((w, h), size, "{args:?}");
        assert_eq!(color, png::ColorType::Rgb);
        if flat {
            assert!(px.chunks(3).all(|p| p == DARK), "{args:?}: not flat");
        } else {
            // min..max: both ends of the colormap appear, and more in between.
            assert!(px.chunks(3).any(|p| p == DARK), "{args:?}: no minimum");
            assert!(px.chunks(3).any(|p| p == BRIGHT), "{args:?}: no maximum");
            let distinct: std::collections::HashSet<&[u8]> = px.chunks(3).collect();
            assert!(distinct.len() > 10, "{args:?}: {} colours", distinct.len());
        }
    }

    // Row 0 (the lowest band) at the bottom: the .npy's band 0 row is the image's last row.
    let npy = dir.join("c.npy");
    let png = dir.join("c.png");
    for out in [&npy, &png] {
        assert_ok(&wavegpu(&[
            "spectral",
            &speech,
            "-o",
            out.to_str().unwrap(),
            "--feature",
            "contrast",
            "--device",
            "cpu",
        ]));
    }
    let x = read_any(&npy);
    let (lo, hi) = x
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let (w, h, _, px) = png_info(&png);
    let (band, frame) = {
        let i = x.iter().position(|&v| v == hi).unwrap();
        (i / w as usize, i % w as usize)
    };
    let y = h as usize - 1 - band;
    let i = (y * w as usize + frame) * 3;
    assert_eq!(
        &px[i..i + 3],
        BRIGHT,
        "max of band {band} (lo {lo}, hi {hi})"
    );
}

// ---------------------------------------------------------------------------------------
// directory mode

/// Files at 8, 16 and 48 kHz in one directory, and a garbage one: every good file's output
/// equal to the single-file command's (the centroid in Hz needs the file's own rate), one
/// line for the garbage file, exit 1. Then contrast at its defaults, whose bands do not fit
/// under 8 kHz audio's Nyquist: that file fails on one line naming it, the others are written.
fn directory_mode(device: &str) {
    let root = scratch(&format!("dir_{device}"));
    let input = root.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let goods = ["speech_16k.wav", "chirp_8k.wav", "stereo_48k.wav"];
    for f in goods {
        std::fs::copy(fixture(f), input.join(f)).unwrap();
    }
    std::fs::write(input.join("garbage.wav"), b"RIFF and then nothing useful").unwrap();
    let lens = [
        ("chirp_8k", 8000),
        ("speech_16k", 23_542),
        ("stereo_48k", 24_000),
    ];

    for (feature, flags) in [
        ("centroid", &["--n-fft", "1024", "--hop-length", "256"][..]),
        (
            "rms",
            &["--frame-length", "1024", "--hop-length", "256"][..],
        ),
    ] {
        let out = root.join(format!("out_{feature}"));
        let mut args = vec![
            "spectral",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--feature",
            feature,
            "--device",
            device,
        ];
        args.extend(flags);
        let o = wavegpu(&args);
        assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
        assert_no_panic(&o);
        let err = stderr(&o);
        let garbage: Vec<&str> = err.lines().filter(|l| l.contains("garbage.wav")).collect();
        assert_eq!(garbage.len(), 1, "{err}");
        assert!(garbage[0].starts_with("wavegpu: "), "{err}");
        for good in goods {
            assert!(!err.contains(good), "{good} should not fail: {err}");
        }
        assert_eq!(
            written(&out),
            ["chirp_8k.npy", "speech_16k.npy", "stereo_48k.npy"]
        );
        for (stem, len) in lens {
            let got = read_any(&out.join(format!("{stem}.npy")));
            assert_eq!(got.shape(), &[1, 1 + len / 256], "{feature} {stem}");
            let single = root.join(format!("{feature}_{stem}.npy"));
            let f = fixture_str(&format!("{stem}.wav"));
            let mut args = vec![
                "spectral",
                &f,
                "-o",
                single.to_str().unwrap(),
                "--feature",
                feature,
                "--device",
                device,
            ];
            args.extend(flags);
            assert_ok(&wavegpu(&args));
            assert_eq!(got, read_any(&single), "{feature} {stem}");
        }
    }
    // The 8 kHz file's centroid was taken at 8 kHz (at 16 kHz every bin's Hz doubles).
    if device == "cpu" {
        let chirp = read_any(&root.join("out_centroid").join("chirp_8k.npy"));
        let audio = load(fixture("chirp_8k.wav"), &LoadOptions::default().mono()).unwrap();
        let own = Spectrogram::spectral(8_000, SpectralFeature::Centroid)
            .n_fft(1024)
            .hop_length(256)
            .build(&Device::cpu())
            .unwrap()
            .run(&audio)
            .unwrap()
            .index_axis_move(Axis(0), 0);
        assert_eq!(chirp, own.into_dyn());
    }

    // Contrast at the defaults: 6400 Hz >= 8 kHz audio's Nyquist.
    let out = root.join("out_contrast");
    let o = wavegpu(&[
        "spectral",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--feature",
        "contrast",
        "--device",
        device,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert_no_panic(&o);
    let err = stderr(&o);
    let chirp: Vec<&str> = err.lines().filter(|l| l.contains("chirp_8k.wav")).collect();
    assert_eq!(chirp.len(), 1, "{err}");
    assert!(chirp[0].contains("Nyquist"), "{err}");
    assert!(chirp[0].contains("8000 Hz"), "{err}");
    assert_eq!(written(&out), ["speech_16k.npy", "stereo_48k.npy"]);
    assert_eq!(
        read_any(&out.join("speech_16k.npy")).shape(),
        &[7, 1 + 23_542 / 512]
    );
}

#[test]
fn directory_mode_builds_one_plan_per_rate_cpu() {
    directory_mode("cpu");
}

#[test]
fn directory_mode_builds_one_plan_per_rate_gpu() {
    if gpu_or_skip("directory_mode_builds_one_plan_per_rate_gpu").is_some() {
        directory_mode("gpu");
    }
}

// ---------------------------------------------------------------------------------------
// errors

#[test]
fn usage_errors_exit_2() {
    let speech = fixture_str("speech_16k.wav");
    let chirp = fixture_str("chirp_8k.wav");
    let dir = scratch("usage");
    let out = dir.join("x.npy");
    let out = out.to_str().unwrap();
    let spectral = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["spectral", &speech, "-o", out, "--device", "cpu"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let cases: Vec<Vec<String>> = vec![
        spectral(&[]),
        spectral(&["--feature", "mfcc"]),
        spectral(&["--feature", "rolloff", "--roll-percent", "1.5"]),
        spectral(&["--feature", "rolloff", "--roll-percent", "1"]),
        spectral(&["--feature", "rolloff", "--roll-percent", "0"]),
        spectral(&["--feature", "rolloff", "--roll-percent", "nan"]),
        spectral(&["--feature", "bandwidth", "--p", "0"]),
        spectral(&["--feature", "bandwidth", "--p", "-1"]),
        spectral(&["--feature", "bandwidth", "--p", "inf"]),
        spectral(&["--feature", "contrast", "--n-bands", "0"]),
        spectral(&["--feature", "contrast", "--quantile", "0"]),
        spectral(&["--feature", "contrast", "--quantile", "1"]),
        spectral(&["--feature", "contrast", "--quantile", "1.5"]),
        spectral(&["--feature", "contrast", "--fmin", "0"]),
        spectral(&["--feature", "contrast", "--fmin", "-200"]),
        spectral(&["--feature", "flatness", "--amin", "0"]),
        spectral(&["--feature", "flatness", "--power", "0"]),
        spectral(&["--feature", "rms", "--frame-length", "0"]),
        spectral(&["--feature", "zcr", "--frame-length", "0"]),
        spectral(&["--feature", "zcr", "--hop-length", "0"]),
        spectral(&["--feature", "centroid", "--n-fft", "0"]),
        spectral(&["--feature", "centroid", "--win-length", "4096"]),
        spectral(&["--feature", "contrast", "--win-length", "4096"]),
        spectral(&["--feature", "centroid", "--window", "kaiser"]),
        // A flag the feature does not take.
        spectral(&["--feature", "rms", "--n-fft", "512"]),
        spectral(&["--feature", "zcr", "--window", "hann"]),
        spectral(&["--feature", "centroid", "--frame-length", "512"]),
        spectral(&["--feature", "zcr", "--pad-mode", "constant"]),
        spectral(&["--feature", "centroid", "--p", "2"]),
        spectral(&["--feature", "bandwidth", "--roll-percent", "0.5"]),
        spectral(&["--feature", "rolloff", "--amin", "1e-5"]),
        spectral(&["--feature", "contrast", "--power", "2"]),
        spectral(&["--feature", "flatness", "--fmin", "100"]),
        spectral(&["--feature", "rms", "--linear"]),
        spectral(&["--feature", "rms", "--n-mels", "40"]),
        // With --sr the rate is known: bands over its Nyquist are the flags' fault.
        spectral(&["--feature", "contrast", "--sr", "8000"]),
        // Flag errors come first, even when the input is missing too.
        vec![
            "spectral".into(),
            "missing.wav".into(),
            "-o".into(),
            out.into(),
            "--feature".into(),
            "rolloff".into(),
            "--roll-percent".into(),
            "1.5".into(),
        ],
        vec![
            "spectral".into(),
            chirp.clone(),
            "-o".into(),
            dir.join("x.wav").display().to_string(),
            "--feature".into(),
            "rms".into(),
            "--device".into(),
            "cpu".into(),
        ],
    ];
    for args in cases {
        let o = wavegpu_s(&args);
        let line = assert_fails_one_line(&o, 2);
        assert!(line.len() > "wavegpu: ".len() + 10, "{args:?}: {line}");
    }
    assert!(!Path::new(out).exists(), "nothing written on a usage error");
    assert!(!dir.join("x.wav").exists());
}

#[test]
fn bad_inputs_exit_1_with_one_line() {
    let dir = scratch("bad_inputs");
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"this is not a RIFF file at all").unwrap();
    let missing = dir.join("missing.flac");
    let out = dir.join("x.npy");
    let out_s = out.to_str().unwrap();
    for input in [&garbage, &missing] {
        let name = input.to_str().unwrap();
        let o = wavegpu(&[
            "spectral",
            name,
            "-o",
            out_s,
            "--feature",
            "centroid",
            "--device",
            "cpu",
        ]);
        let line = assert_fails_one_line(&o, 1);
        assert!(line.starts_with(&format!("wavegpu: {name}: ")), "{line}");
        assert_eq!(line.matches(name).count(), 1, "{line}");
    }
    // Contrast's bands above the file's Nyquist frequency: that file's error, naming it.
    let chirp = fixture_str("chirp_8k.wav");
    let line = assert_fails_one_line(
        &wavegpu(&[
            "spectral",
            &chirp,
            "-o",
            out_s,
            "--feature",
            "contrast",
            "--device",
            "cpu",
        ]),
        1,
    );
    assert!(line.starts_with(&format!("wavegpu: {chirp}: ")), "{line}");
    assert!(
        line.contains("Nyquist") && line.contains("8000 Hz"),
        "{line}"
    );
    // Too short for the frame without centering: the library's error, naming the file.
    let short = fixture_str("short_16k.wav");
    for feature in [&["--feature", "centroid"][..], &["--feature", "rms"]] {
        let mut args = vec![
            "spectral", &short, "-o", out_s, "--center", "false", "--device", "cpu",
        ];
        args.extend_from_slice(feature);
        let line = assert_fails_one_line(&wavegpu(&args), 1);
        assert!(line.starts_with(&format!("wavegpu: {short}: ")), "{line}");
    }
    assert!(!out.exists());
}

#[test]
fn help_lists_the_features_and_flags() {
    let help = String::from_utf8_lossy(&wavegpu(&["spectral", "--help"]).stdout).into_owned();
    for flag in [
        "--feature",
        "centroid",
        "bandwidth",
        "rolloff",
        "flatness",
        "contrast",
        "rms",
        "zcr",
        "--n-fft",
        "--frame-length",
        "--hop-length",
        "--win-length",
        "--window",
        "--center",
        "--pad-mode",
        "--p ",
        "--roll-percent",
        "--power",
        "--amin",
        "--n-bands",
        "--fmin",
        "--quantile",
        "--linear",
        "--sr",
        "--no-mono",
        "--device",
        "--decoder",
        "(n_bands + 1, frames)",
        "Nyquist",
    ] {
        assert!(help.contains(flag), "spectral --help lacks {flag}");
    }
    let top = String::from_utf8_lossy(&wavegpu(&["--help"]).stdout).into_owned();
    assert!(top.contains("spectral"), "wavegpu --help lacks spectral");
}
