//! `wavegpu mel` and `wavegpu mfcc` run as a process: librosa parity (DESIGN.md's tolerances:
//! mel power relative Frobenius <= 1e-5, dB max abs <= 1e-3 dB, MFCC relative Frobenius <= 1e-4)
//! on the CPU and, where an adapter exists (always with CI=true), on the GPU; PNG layout;
//! directory mode with one plan per sample rate; usage and input errors.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayD, Axis};
use serde_json::Value;
use wavegpu::io::{load, LoadOptions};
use wavegpu::{DbRef, DbScale, Device, MelNorm, PadMode, Spectrogram, Window};

const MEL_TOL: f64 = 1e-5;
const DB_TOL: f32 = 1e-3;
const MFCC_TOL: f64 = 1e-4;

fn read_any(p: &Path) -> ArrayD<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
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
// librosa defaults on every decodable fixture of load_cases.json

/// mel, mel --db and mfcc with every default, against librosa's dumps, on `device`.
/// Returns the worst (mel rel, dB max abs, mfcc rel) seen.
fn defaults_match_librosa(device: &str) -> (f64, f32, f64) {
    let dir = scratch(&format!("defaults_{device}"));
    let cases: Vec<Value> = common::manifest("load_cases.json")
        .into_iter()
        .filter(|c| c["mel_file"].is_string())
        .collect();
    assert!(cases.len() >= 5, "wav, flac, mp3, ogg and stereo cases");
    let (mut worst_mel, mut worst_db, mut worst_mfcc) = (0.0f64, 0.0f32, 0.0f64);
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["fixture"].as_str().unwrap();
        let input = fixture_str(name);
        let mono = c["mono"].as_bool().unwrap();
        for (what, key) in [
            ("mel", "mel_file"),
            ("mel --db", "mel_db_file"),
            ("mfcc", "mfcc_file"),
        ] {
            let out = dir.join(format!("{}_{}.npy", name, key));
            let mut args: Vec<String> = what.split(' ').map(String::from).collect();
            args.extend([
                input.clone(),
                "-o".into(),
                out.display().to_string(),
                "--device".into(),
                device.into(),
            ]);
            if !mono {
                args.push("--no-mono".into());
            }
            let o = wavegpu_s(&args);
            assert_ok(&o);
            assert_eq!(npy_descr(&out), "<f4", "{name} {what}");
            let got = read_any(&out);
            let reference = common::read_npy_f32(c[key].as_str().unwrap());
            if got.shape() != reference.shape() {
                failures.push(format!(
                    "{name} {what}: shape {:?} vs librosa {:?}",
                    got.shape(),
                    reference.shape()
                ));
                continue;
            }
            match key {
                "mel_db_file" => {
                    let e = max_abs(&got, &reference);
                    worst_db = worst_db.max(e);
                    if e > DB_TOL {
                        failures.push(format!("{name} {what}: max abs {e:.3e} dB"));
                    }
                }
                _ => {
                    let e = common::rel_err(got.iter(), reference.iter());
                    let tol = if key == "mel_file" { MEL_TOL } else { MFCC_TOL };
                    if key == "mel_file" {
                        worst_mel = worst_mel.max(e);
                    } else {
                        worst_mfcc = worst_mfcc.max(e);
                    }
                    if e.is_nan() || e > tol {
                        failures.push(format!("{name} {what}: relative error {e:.3e}"));
                    }
                }
            }
        }
    }
    eprintln!(
        "--device {device}: worst mel rel {worst_mel:.2e}, dB max abs {worst_db:.2e} dB, \
         mfcc rel {worst_mfcc:.2e}"
    );
    assert!(
        failures.is_empty(),
        "--device {device}:\n{}",
        failures.join("\n")
    );
    (worst_mel, worst_db, worst_mfcc)
}

#[test]
fn defaults_match_librosa_cpu() {
    defaults_match_librosa("cpu");
}

#[test]
fn defaults_match_librosa_gpu() {
    if gpu_or_skip("defaults_match_librosa_gpu").is_some() {
        defaults_match_librosa("gpu");
    }
}

// ---------------------------------------------------------------------------------------
// parameterised manifest cases, expressed as flags

fn find_case(manifest: &str, name: &str) -> Value {
    common::manifest(manifest)
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {manifest}"))
}

/// The flags for the mel part of a manifest case (every parameter explicit).
fn mel_flags(c: &Value, with_power: bool) -> Vec<String> {
    let s = |k: &str| c[k].to_string().trim_matches('"').to_string();
    let mut f: Vec<String> = vec![
        "--n-fft".into(),
        s("n_fft"),
        "--hop-length".into(),
        s("hop_length"),
        "--win-length".into(),
        s("win_length"),
        "--window".into(),
        s("window"),
        "--center".into(),
        s("center"),
        "--pad-mode".into(),
        s("pad_mode"),
        "--n-mels".into(),
        s("n_mels"),
        "--fmin".into(),
        s("fmin"),
        "--fmax".into(),
        s("fmax"),
        "--norm".into(),
        c["norm"].as_str().unwrap_or("none").into(),
    ];
    if with_power {
        f.extend(["--power".into(), s("power")]);
    }
    if c["htk"] == true {
        f.push("--htk".into());
    }
    f
}

fn run_case(command: &str, c: &Value, extra: &[String], device: &str, out: &Path) -> ArrayD<f32> {
    let mut args: Vec<String> = vec![
        command.into(),
        fixture_str(c["fixture"].as_str().unwrap()),
        "-o".into(),
        out.display().to_string(),
        "--device".into(),
        device.into(),
    ];
    if c["fixture"] == "stereo_48k.wav" {
        args.push("--no-mono".into());
    }
    args.extend_from_slice(extra);
    let o = wavegpu_s(&args);
    assert_ok(&o);
    read_any(out)
}

fn norm_of(c: &Value) -> MelNorm {
    match c["norm"].as_str() {
        Some("slaney") => MelNorm::Slaney,
        _ => MelNorm::None,
    }
}

/// The library's plan for a mel case, to hold the CLI to exactly the same numbers.
fn library_mel(c: &Value, db: Option<DbScale>, device: &Device) -> Array3<f32> {
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    let f = |k: &str| c[k].as_f64().unwrap();
    let mut b = Spectrogram::mel(c["sr"].as_u64().unwrap() as u32)
        .n_fft(u("n_fft"))
        .hop_length(u("hop_length"))
        .win_length(u("win_length"))
        .window(Window::from_name(c["window"].as_str().unwrap()).unwrap())
        .center(c["center"].as_bool().unwrap())
        .pad_mode(PadMode::from_name(c["pad_mode"].as_str().unwrap()).unwrap())
        .power(f("power") as f32)
        .n_mels(u("n_mels"))
        .fmin(f("fmin"))
        .fmax(f("fmax"))
        .htk(c["htk"].as_bool().unwrap())
        .norm(norm_of(c));
    if let Some(db) = db {
        b = b.db(db);
    }
    let audio = load(
        fixture(c["fixture"].as_str().unwrap()),
        &LoadOptions::default().mono(),
    )
    .unwrap();
    b.build(device).unwrap().run(&audio).unwrap()
}

const MEL_CASES: &[&str] = &[
    // htk, norm none, fmin/fmax, n_fft 400, no centering
    "speech_16k_n400_h160_w400_hamming_nc_constant_p2_m40_f20-7600_htk_nonorm",
    // n_fft 1023, reflect padding, htk, norm none
    "speech_16k_n1023_h256_w1023_blackman_c_reflect_p2_m128_f300-8000_htk_nonorm",
    // power 1 (magnitude mel)
    "speech_16k_n1024_h256_w1024_hann_c_constant_p1_m64_f0-8000_slaney_slaney",
    // another rate, power 1, reflect, htk
    "odd_44k_n1023_h333_w1023_hann_c_reflect_p1_m40_f300-8000_htk_slaney",
    // stereo with --no-mono, a boxcar window
    "stereo_48k_n1023_h480_w1023_ones_c_reflect_p2_m64_f0-24000_slaney_slaney",
];

fn mel_cases(device: &str) {
    let dir = scratch(&format!("mel_cases_{device}"));
    let mut failures = Vec::new();
    for name in MEL_CASES {
        let c = find_case("mel_cases.json", name);
        let out = dir.join(format!("{name}.npy"));
        let got = run_case("mel", &c, &mel_flags(&c, true), device, &out);
        let reference = common::read_npy_f32(c["file"].as_str().unwrap());
        assert_eq!(got.shape(), reference.shape(), "{name}");
        let e = common::rel_err(got.iter(), reference.iter());
        eprintln!("mel {name} --device {device}: relative error {e:.2e}");
        if e.is_nan() || e > MEL_TOL {
            failures.push(format!("{name}: {e:.3e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mel_cases_match_librosa_cpu() {
    mel_cases("cpu");
}

#[test]
fn mel_cases_match_librosa_gpu() {
    if gpu_or_skip("mel_cases_match_librosa_gpu").is_some() {
        mel_cases("gpu");
    }
}

/// The CLI's numbers are the library's plan's, to the bit (same decoder, same plan).
#[test]
fn mel_cli_equals_the_library_plan() {
    let dir = scratch("mel_exact");
    let c = find_case("mel_cases.json", MEL_CASES[0]);
    let got = run_case("mel", &c, &mel_flags(&c, true), "cpu", &dir.join("m.npy"));
    let own = library_mel(&c, None, &Device::cpu()).index_axis_move(Axis(0), 0);
    assert_eq!(got, own.into_dyn());

    let c = find_case("db_cases.json", DB_CASES[0].0);
    let mut extra = mel_flags(&c, true);
    extra.extend(DB_CASES[0].1.iter().map(|s| s.to_string()));
    let got = run_case("mel", &c, &extra, "cpu", &dir.join("d.npy"));
    let db = DbScale {
        reference: DbRef::Value(1.0),
        amin: 1e-5,
        top_db: Some(80.0),
        per_item: false,
        amplitude: true,
    };
    let own = library_mel(&c, Some(db), &Device::cpu()).index_axis_move(Axis(0), 0);
    assert_eq!(got, own.into_dyn());
}

/// dB cases and the flags that express them beyond `mel_flags` (with --power).
const DB_CASES: &[(&str, &[&str], bool)] = &[
    // amplitude_to_db with librosa's own defaults for it (amin 1e-5): --power 1 --db alone.
    (
        "speech_16k_n2048_h512_w2048_hann_c_constant_p1_m128_f0-8000_slaney_slaney__amplitude_to_db_ref1_amin1e-05_top80",
        &["--db"],
        true,
    ),
    (
        "speech_16k_n512_h160_w400_hann_c_constant_p2_m80_f0-8000_slaney_slaney__power_to_db_refmax_amin1e-10_top40",
        &["--db", "--ref", "max", "--top-db", "40"],
        true,
    ),
    (
        "speech_16k_n2048_h512_w2048_hann_c_constant_p2_m128_f0-8000_slaney_slaney__power_to_db_ref0.5_amin1e-05_top40",
        &["--db", "--ref", "0.5", "--amin", "1e-5", "--top-db", "40"],
        true,
    ),
    // ref = max over both channels together (librosa), --no-mono.
    (
        "stereo_48k_n2048_h512_w2048_hann_c_constant_p1_m128_f0-24000_slaney_slaney__amplitude_to_db_refmax_amin1e-05_top80",
        &["--db", "--ref", "max"],
        true,
    ),
    // top_db none: the GPU's f32 FFT floor (~130 dB under a frame's peak) shows more than
    // 80 dB below the maximum (tests/features.rs), so this one is held to DB_TOL on the CPU.
    (
        "speech_16k_n2048_h512_w2048_hann_c_constant_p2_m128_f0-8000_slaney_slaney__power_to_db_refmax_amin1e-05_topnone",
        &["--db", "--ref", "max", "--amin", "1e-5", "--top-db", "none"],
        false,
    ),
];

fn db_cases(device: &str) {
    let dir = scratch(&format!("db_cases_{device}"));
    let mut failures = Vec::new();
    for (i, (name, flags, on_gpu)) in DB_CASES.iter().enumerate() {
        if device == "gpu" && !on_gpu {
            continue;
        }
        let c = find_case("db_cases.json", name);
        let mut extra = mel_flags(&c, true);
        extra.extend(flags.iter().map(|s| s.to_string()));
        let got = run_case("mel", &c, &extra, device, &dir.join(format!("{i}.npy")));
        let reference = common::read_npy_f32(c["file"].as_str().unwrap());
        assert_eq!(got.shape(), reference.shape(), "{name}");
        let e = max_abs(&got, &reference);
        eprintln!("mel --db {flags:?} --device {device}: max abs {e:.2e} dB");
        if e > DB_TOL {
            failures.push(format!("{name}: max abs {e:.3e} dB"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn db_cases_match_librosa_cpu() {
    db_cases("cpu");
}

#[test]
fn db_cases_match_librosa_gpu() {
    if gpu_or_skip("db_cases_match_librosa_gpu").is_some() {
        db_cases("gpu");
    }
}

const MFCC_CASES: &[&str] = &[
    "speech_16k_n400_h160_w400_hamming_c_constant_p2_m40_f20-7600_htk_nonorm__mfcc13_lift22",
    "speech_16k_n1023_h256_w1023_blackman_c_reflect_p2_m128_f300-8000_htk_nonorm__mfcc20_lift30",
    "speech_16k_n400_h160_w400_hann_c_reflect_p2_m80_f0-8000_slaney_slaney__mfcc40_lift30",
    "noise_22k_n1023_h333_w1023_hamming_c_constant_p2_m64_f300-11025_slaney_nonorm__mfcc13_lift30",
];

fn mfcc_cases(device: &str) {
    let dir = scratch(&format!("mfcc_cases_{device}"));
    let mut failures = Vec::new();
    for name in MFCC_CASES {
        let c = find_case("mfcc_cases.json", name);
        let mut extra = mel_flags(&c, false);
        extra.extend([
            "--n-mfcc".into(),
            c["n_mfcc"].to_string(),
            "--lifter".into(),
            c["lifter"].to_string(),
        ]);
        let got = run_case("mfcc", &c, &extra, device, &dir.join(format!("{name}.npy")));
        let reference = common::read_npy_f32(c["file"].as_str().unwrap());
        assert_eq!(got.shape(), reference.shape(), "{name}");
        let e = common::rel_err(got.iter(), reference.iter());
        eprintln!("mfcc {name} --device {device}: relative error {e:.2e}");
        if e.is_nan() || e > MFCC_TOL {
            failures.push(format!("{name}: {e:.3e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mfcc_cases_match_librosa_cpu() {
    mfcc_cases("cpu");
}

#[test]
fn mfcc_cases_match_librosa_gpu() {
    if gpu_or_skip("mfcc_cases_match_librosa_gpu").is_some() {
        mfcc_cases("gpu");
    }
}

// ---------------------------------------------------------------------------------------
// sample rates: --sr, fmax above Nyquist

/// The filterbank is built for the decoded rate, after --sr: fmax defaults to the new sr / 2.
#[test]
fn sr_sets_the_filterbank_rate() {
    let dir = scratch("sr");
    let out = dir.join("m.npy");
    assert_ok(&wavegpu(&[
        "mel",
        &fixture_str("speech_16k.wav"),
        "-o",
        out.to_str().unwrap(),
        "--sr",
        "8000",
        "--n-fft",
        "256",
        "--hop-length",
        "80",
        "--n-mels",
        "40",
        "--device",
        "cpu",
    ]));
    let audio = load(
        fixture("speech_16k.wav"),
        &LoadOptions::default().mono().sample_rate(8000),
    )
    .unwrap();
    let own = Spectrogram::mel(8000)
        .n_fft(256)
        .hop_length(80)
        .n_mels(40)
        .build(&Device::cpu())
        .unwrap()
        .run(&audio)
        .unwrap()
        .index_axis_move(Axis(0), 0);
    assert_eq!(read_any(&out), own.into_dyn());
}

/// librosa.filters.mel accepts fmax above sr / 2 (bands past Nyquist come out empty, with a
/// warning when some are all zero): so does the CLI. At 16 kHz with n_fft 512 and 40 bands up
/// to 10 kHz, librosa's filterbank has exactly one empty band, the top one.
#[test]
fn fmax_above_nyquist_is_accepted_as_in_librosa() {
    let dir = scratch("fmax_nyquist");
    let out = dir.join("m.npy");
    assert_ok(&wavegpu(&[
        "mel",
        &fixture_str("speech_16k.wav"),
        "-o",
        out.to_str().unwrap(),
        "--fmax",
        "10000",
        "--n-mels",
        "40",
        "--n-fft",
        "512",
        "--device",
        "cpu",
    ]));
    let m = read_any(&out);
    assert_eq!(m.shape(), &[40, 1 + 23_542 / 128]);
    let zero_rows: Vec<usize> = m
        .outer_iter()
        .enumerate()
        .filter(|(_, r)| r.iter().all(|&v| v == 0.0))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(zero_rows, [39]);
}

// ---------------------------------------------------------------------------------------
// PNG

#[test]
fn png_is_frames_wide_and_bands_high() {
    let dir = scratch("png");
    let speech = fixture_str("speech_16k.wav");
    let stereo = fixture_str("stereo_48k.wav");
    let frames = 1 + 23_542 / 160;
    for (args, size) in [
        (
            vec![
                "mel",
                &speech,
                "--db",
                "--n-fft",
                "512",
                "--hop-length",
                "160",
                "--n-mels",
                "80",
            ],
            (frames, 80),
        ),
        // Power mel: drawn in dB as the stft picture.
        (
            vec![
                "mel",
                &speech,
                "--n-fft",
                "512",
                "--hop-length",
                "160",
                "--n-mels",
                "80",
            ],
            (frames, 80),
        ),
        (
            vec!["mfcc", &speech, "--n-fft", "512", "--hop-length", "160"],
            (frames, 20),
        ),
        // Channels stack vertically.
        (
            vec!["mel", &stereo, "--db", "--no-mono"],
            (1 + 24_000 / 512, 2 * 128),
        ),
        (
            vec!["mfcc", &stereo, "--no-mono", "--n-mfcc", "13"],
            (1 + 24_000 / 512, 2 * 13),
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
        let distinct: std::collections::HashSet<&[u8]> = px.chunks(3).collect();
        assert!(
            distinct.len() > 30,
            "{args:?}: only {} colours",
            distinct.len()
        );
    }

    // mel --db: the loudest bins (low bands of speech) are bright, low bands at the bottom;
    // the whole viridis range is used (colour limits at the array's min and max).
    let out = dir.join("db.png");
    assert_ok(&wavegpu(&[
        "mel",
        &speech,
        "--db",
        "--n-mels",
        "40",
        "-o",
        out.to_str().unwrap(),
        "--device",
        "cpu",
    ]));
    let (w, h, _, px) = png_info(&out);
    let row_brightness = |y: u32| -> f64 {
        (0..w)
            .map(|x| {
                let i = ((y * w + x) * 3) as usize;
                px[i] as f64 + px[i + 1] as f64 + px[i + 2] as f64
            })
            .sum::<f64>()
    };
    let bottom: f64 = (h - 10..h).map(row_brightness).sum();
    let top: f64 = (0..10).map(row_brightness).sum();
    assert!(bottom > top, "low bands should be at the bottom and louder");
    assert!(
        px.chunks(3).any(|p| p == [253, 231, 37]),
        "the maximum is drawn yellow"
    );
    assert!(
        px.chunks(3).any(|p| p == [68, 1, 84]),
        "the minimum is drawn dark"
    );
}

// ---------------------------------------------------------------------------------------
// directory mode

fn dir_with_rates(root: &Path, garbage: bool) -> PathBuf {
    let input = root.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for f in ["speech_16k.wav", "chirp_8k.wav", "stereo_48k.wav"] {
        std::fs::copy(fixture(f), input.join(f)).unwrap();
    }
    std::fs::copy(fixture("speech_16k.flac"), input.join("speech_copy.flac")).unwrap();
    if garbage {
        std::fs::write(input.join("garbage.wav"), b"RIFF and then nothing useful").unwrap();
    }
    input
}

/// Files at 8, 16 and 48 kHz in one directory: one plan per rate (a single plan would fail
/// the other rates, and a filterbank for the wrong rate would give other numbers), every good
/// file's output equal to the single-file command's, one line for the garbage file, exit 1.
fn directory_mode(device: &str) {
    let root = scratch(&format!("dir_{device}"));
    let input = dir_with_rates(&root, true);
    for command in ["mel", "mfcc"] {
        let out = root.join(format!("out_{command}"));
        let common_flags = ["--n-fft", "512", "--hop-length", "128", "--device", device];
        let mut args = vec![
            command,
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(common_flags);
        if command == "mel" {
            args.push("--db");
        }
        let o = wavegpu(&args);
        assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
        assert_no_panic(&o);
        let err = stderr(&o);
        let garbage: Vec<&str> = err.lines().filter(|l| l.contains("garbage.wav")).collect();
        assert_eq!(garbage.len(), 1, "{err}");
        assert!(garbage[0].starts_with("wavegpu: "), "{err}");
        for good in [
            "speech_16k.wav",
            "chirp_8k.wav",
            "stereo_48k.wav",
            "speech_copy",
        ] {
            assert!(!err.contains(good), "{good} should not fail: {err}");
        }
        assert_eq!(
            written(&out),
            [
                "chirp_8k.npy",
                "speech_16k.npy",
                "speech_copy.npy",
                "stereo_48k.npy"
            ]
        );
        let rows = if command == "mel" { 128 } else { 20 };
        for (stem, sr, len) in [
            ("chirp_8k", 8000, 8000),
            ("speech_16k", 16_000, 23_542),
            ("stereo_48k", 48_000, 24_000),
        ] {
            let got = read_any(&out.join(format!("{stem}.npy")));
            assert_eq!(
                got.shape(),
                &[rows, 1 + len / 128],
                "{command} {stem} ({sr} Hz)"
            );
            let single = root.join(format!("{command}_{stem}.npy"));
            let f = fixture_str(&format!("{stem}.wav"));
            let mut args = vec![command, &f, "-o", single.to_str().unwrap()];
            args.extend(common_flags);
            if command == "mel" {
                args.push("--db");
            }
            assert_ok(&wavegpu(&args));
            assert_eq!(got, read_any(&single), "{command} {stem}");
        }
    }
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

/// A plan impossible at one file's rate only (--fmin above its Nyquist frequency, where fmax
/// defaults to sr / 2) fails that file, naming it and the rate; the others are written. With
/// --sr fixing the rate, the same flags are a usage error before any file is read.
#[test]
fn rate_dependent_plan_errors_fail_that_file_only() {
    let root = scratch("rate_errors");
    let input = dir_with_rates(&root, false);
    let out = root.join("out");
    let o = wavegpu(&[
        "mel",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--fmin",
        "5000",
        "--n-mels",
        "20",
        "--device",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert_no_panic(&o);
    let err = stderr(&o);
    let chirp: Vec<&str> = err.lines().filter(|l| l.contains("chirp_8k.wav")).collect();
    assert_eq!(chirp.len(), 1, "{err}");
    assert!(
        chirp[0].contains("fmax") && chirp[0].contains("8000 Hz"),
        "{err}"
    );
    assert_eq!(
        written(&out),
        ["speech_16k.npy", "speech_copy.npy", "stereo_48k.npy"]
    );

    // Single file: exit 1, one line naming the file.
    let chirp = fixture_str("chirp_8k.wav");
    let x = root.join("x.npy");
    let line = assert_fails_one_line(
        &wavegpu(&[
            "mel",
            &chirp,
            "-o",
            x.to_str().unwrap(),
            "--fmin",
            "5000",
            "--device",
            "cpu",
        ]),
        1,
    );
    assert!(line.starts_with(&format!("wavegpu: {chirp}: ")), "{line}");

    // With --sr the rate is known up front: a usage error, nothing read or written.
    let o = wavegpu(&[
        "mel",
        input.to_str().unwrap(),
        "-o",
        root.join("out2").to_str().unwrap(),
        "--fmin",
        "5000",
        "--sr",
        "8000",
        "--device",
        "cpu",
    ]);
    assert_fails_one_line(&o, 2);
    assert!(!root.join("out2").exists());
}

// ---------------------------------------------------------------------------------------
// errors

#[test]
fn usage_errors_exit_2() {
    let speech = fixture_str("speech_16k.wav");
    let dir = scratch("usage");
    let out = dir.join("x.npy");
    let out = out.to_str().unwrap();
    let mel = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["mel", &speech, "-o", out, "--device", "cpu"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mfcc = |extra: &[&'static str]| -> Vec<String> {
        let mut v = mel(extra);
        v[0] = "mfcc".into();
        v
    };
    let cases: Vec<Vec<String>> = vec![
        mel(&["--n-mels", "0"]),
        mel(&["--n-mels", "5000"]),
        mel(&["--norm", "foo"]),
        mel(&["--fmin", "-5"]),
        mel(&["--fmax", "-1"]),
        mel(&["--fmin", "5000", "--fmax", "4000"]),
        mel(&["--db", "--top-db", "-1"]),
        mel(&["--db", "--ref", "foo"]),
        mel(&["--db", "--ref", "0"]),
        mel(&["--db", "--amin", "0"]),
        // dB settings without --db would be silently ignored: refuse them.
        mel(&["--top-db", "60"]),
        mel(&["--ref", "max"]),
        mel(&["--power", "0"]),
        mel(&["--win-length", "4096"]),
        mel(&["--n-mfcc", "13"]),
        mfcc(&["--n-mfcc", "0"]),
        mfcc(&["--n-mfcc", "200"]),
        mfcc(&["--n-mfcc", "50", "--n-mels", "40"]),
        mfcc(&["--lifter", "-1"]),
        mfcc(&["--top-db", "-1"]),
        mfcc(&["--power", "1"]),
        mfcc(&["--complex"]),
        // Flag errors come first, even when the input is missing too.
        vec![
            "mel".into(),
            "missing.wav".into(),
            "-o".into(),
            out.into(),
            "--fmin".into(),
            "9000".into(),
            "--fmax".into(),
            "100".into(),
        ],
        vec![
            "mfcc".into(),
            speech.clone(),
            "-o".into(),
            "x.wav".into(),
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
}

#[test]
fn bad_inputs_exit_1_with_one_line() {
    let dir = scratch("bad_inputs");
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"this is not a RIFF file at all").unwrap();
    let missing = dir.join("missing.flac");
    let out = dir.join("x.npy");
    for input in [&garbage, &missing] {
        let name = input.to_str().unwrap();
        for command in ["mel", "mfcc"] {
            let o = wavegpu(&[
                command,
                name,
                "-o",
                out.to_str().unwrap(),
                "--device",
                "cpu",
            ]);
            let line = assert_fails_one_line(&o, 1);
            assert!(line.starts_with(&format!("wavegpu: {name}: ")), "{line}");
            assert_eq!(line.matches(name).count(), 1, "{line}");
        }
    }
    // Too short for n_fft without centering: the library's error, naming the file.
    let short = fixture_str("short_16k.wav");
    let line = assert_fails_one_line(
        &wavegpu(&[
            "mfcc",
            &short,
            "-o",
            out.to_str().unwrap(),
            "--center",
            "false",
            "--device",
            "cpu",
        ]),
        1,
    );
    assert!(line.starts_with(&format!("wavegpu: {short}: ")), "{line}");
    assert!(!out.exists());
}

#[test]
fn help_lists_the_flags() {
    let help = String::from_utf8_lossy(&wavegpu(&["mel", "--help"]).stdout).into_owned();
    for flag in [
        "--n-fft",
        "--hop-length",
        "--win-length",
        "--window",
        "--center",
        "--pad-mode",
        "--power",
        "--n-mels",
        "--fmin",
        "--fmax",
        "--htk",
        "--norm",
        "--db",
        "--top-db",
        "--ref",
        "--amin",
        "--sr",
        "--no-mono",
        "--device",
        "--decoder",
        "[default: 128]",
    ] {
        assert!(help.contains(flag), "mel --help lacks {flag}");
    }
    let help = String::from_utf8_lossy(&wavegpu(&["mfcc", "--help"]).stdout).into_owned();
    for flag in [
        "--n-mfcc",
        "--lifter",
        "--n-mels",
        "--htk",
        "--top-db",
        "[default: 20]",
    ] {
        assert!(help.contains(flag), "mfcc --help lacks {flag}");
    }
}
