//! `wavegpu chroma` run as a process: librosa.feature.chroma_stft parity (relative Frobenius
//! <= 1e-5) on the CPU and, where an adapter exists (always with CI=true), on the GPU; the flags
//! librosa's manifests do not cover, against the library's own plan; PNG layout; directory mode
//! with one plan per sample rate; usage and input errors.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::Path;

use ndarray::{Array2, ArrayD, Axis};
use serde_json::Value;
use wavegpu::io::{load, LoadOptions};
use wavegpu::{Device, Spectrogram};

const CHROMA_TOL: f64 = 1e-5;

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
// librosa.feature.chroma_stft cases, expressed as flags

fn find_case(name: &str) -> Value {
    common::manifest("chroma_cases.json")
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in chroma_cases.json"))
}

/// The tuning chroma_stft used: the case's own, or the estimate it recorded for "estimate"
/// (librosa's default tuning=None; wavegpu takes the number instead).
fn tuning_of(c: &Value) -> f64 {
    match &c["tuning"] {
        Value::String(s) if s == "estimate" => c["estimated_tuning"]
            .as_f64()
            .expect("an estimated_tuning for tuning=estimate"),
        t => t.as_f64().expect("tuning is a number or \"estimate\""),
    }
}

/// Every parameter of a manifest case as flags.
fn chroma_flags(c: &Value) -> Vec<String> {
    let s = |k: &str| c[k].to_string().trim_matches('"').to_string();
    vec![
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
        "--n-chroma".into(),
        s("n_chroma"),
        "--tuning".into(),
        tuning_of(c).to_string(),
        "--norm".into(),
        c["norm"].as_str().unwrap_or("none").into(),
    ]
}

const CASES: &[&str] = &[
    // tuning != 0, norm none, no centering, win_length < n_fft
    "speech_16k_n512_h160_w400_hann_nc_constant_c12_t0.15_nonorm",
    // n_chroma 24, boxcar window, reflect padding, norm none
    "noise_22k_n1024_h256_w1024_ones_c_reflect_c24_t0.15_nonorm",
    // stereo with --no-mono, n_chroma 24, negative tuning
    "stereo_48k_n4096_h1024_w4096_hann_c_constant_c24_t-0.2_inf",
    // silence: every frame zero, normalised or not
    "silence_16k_n2048_h512_w2048_hann_c_constant_c12_t0_inf",
    // librosa's defaults (tuning=None): its recorded estimate passed as --tuning
    "speech_16k_n2048_h512_w2048_hann_c_constant_c12_tuning-estimated_inf",
    // odd n_fft, another rate, hamming, reflect
    "odd_44k_n1023_h333_w1023_hamming_c_reflect_c12_t0.15_inf",
];

fn run_case(c: &Value, device: &str, out: &Path) -> ArrayD<f32> {
    let mut args: Vec<String> = vec![
        "chroma".into(),
        fixture_str(c["fixture"].as_str().unwrap()),
        "-o".into(),
        out.display().to_string(),
        "--device".into(),
        device.into(),
    ];
    if c["fixture"] == "stereo_48k.wav" {
        args.push("--no-mono".into());
    }
    args.extend(chroma_flags(c));
    let o = wavegpu_s(&args);
    assert_ok(&o);
    assert_eq!(npy_descr(out), "<f4", "{}", c["name"]);
    read_any(out)
}

fn chroma_cases(device: &str) {
    let dir = scratch(&format!("cases_{device}"));
    let mut failures = Vec::new();
    for name in CASES {
        let c = find_case(name);
        let got = run_case(&c, device, &dir.join(format!("{name}.npy")));
        let reference = common::read_npy_f32(c["file"].as_str().unwrap());
        if got.shape() != reference.shape() {
            failures.push(format!(
                "{name}: shape {:?} vs librosa {:?}",
                got.shape(),
                reference.shape()
            ));
            continue;
        }
        let e = common::rel_err(got.iter(), reference.iter());
        eprintln!("chroma {name} --device {device}: relative error {e:.2e}");
        if e.is_nan() || e > CHROMA_TOL {
            failures.push(format!("{name}: relative error {e:.3e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "--device {device}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn chroma_cases_match_librosa_cpu() {
    chroma_cases("cpu");
}

#[test]
fn chroma_cases_match_librosa_gpu() {
    if gpu_or_skip("chroma_cases_match_librosa_gpu").is_some() {
        chroma_cases("gpu");
    }
}

#[test]
fn stereo_keeps_channels_and_mono_averages() {
    let dir = scratch("stereo");
    let c = find_case(CASES[2]);
    let stereo = run_case(&c, "cpu", &dir.join("s.npy"));
    assert_eq!(stereo.shape(), &[2, 24, 1 + 24_000 / 1024]);
    // Without --no-mono: (n_chroma, frames), of the channel average.
    let out = dir.join("m.npy");
    let mut args: Vec<String> = vec![
        "chroma".into(),
        fixture_str("stereo_48k.wav"),
        "-o".into(),
        out.display().to_string(),
        "--device".into(),
        "cpu".into(),
    ];
    args.extend(chroma_flags(&c));
    assert_ok(&wavegpu_s(&args));
    let mono = read_any(&out);
    assert_eq!(mono.shape(), &[24, 1 + 24_000 / 1024]);
    assert_ne!(mono.view(), stereo.index_axis(Axis(0), 0));
}

// ---------------------------------------------------------------------------------------
// flags the manifests do not vary: the library's plan with the same settings, to the bit

#[test]
fn other_flags_equal_the_library_plan() {
    let dir = scratch("library");
    let speech = fixture_str("speech_16k.wav");
    let audio = load(fixture("speech_16k.wav"), &LoadOptions::default().mono()).unwrap();
    let cpu = Device::cpu();
    type Build = fn(wavegpu::ChromaBuilder) -> wavegpu::ChromaBuilder;
    let cases: &[(&[&str], Build)] = &[
        (&[], |b| b),
        (&["--octwidth", "none"], |b| b.octwidth(None)),
        (&["--octwidth", "1.5", "--ctroct", "4"], |b| {
            b.octwidth(Some(1.5)).ctroct(4.0)
        }),
        (&["--no-base-c"], |b| b.base_c(false)),
        (&["--power", "1", "--norm", "none"], |b| {
            b.power(1.0).normalize(false)
        }),
        (&["--n-chroma", "36", "--tuning", "-0.5"], |b| {
            b.n_chroma(36).tuning(-0.5)
        }),
    ];
    for (i, (flags, build)) in cases.iter().enumerate() {
        let out = dir.join(format!("{i}.npy"));
        let mut args = vec!["chroma", &speech, "-o", out.to_str().unwrap()];
        args.extend(["--device", "cpu"]);
        args.extend_from_slice(flags);
        assert_ok(&wavegpu(&args));
        let own = build(Spectrogram::chroma(16_000))
            .build(&cpu)
            .unwrap()
            .run(&audio)
            .unwrap()
            .index_axis_move(Axis(0), 0);
        assert_eq!(read_any(&out), own.into_dyn(), "{flags:?}");
    }

    // --no-base-c starts the bins at A: the same rows, rolled by 3 (librosa's np.roll).
    let c = read_any(&dir.join("0.npy"));
    let a = read_any(&dir.join("3.npy"));
    for k in 0..12 {
        assert_eq!(
            a.index_axis(Axis(0), (k + 3) % 12),
            c.index_axis(Axis(0), k),
            "A-based row {} is C-based row {k}",
            (k + 3) % 12
        );
    }
}

/// librosa's tuning range is [-0.5, 0.5): -0.5 is accepted, 0.5 is not (usage_errors_exit_2).
#[test]
fn tuning_shifts_the_bins() {
    let dir = scratch("tuning");
    let sr = 22_050u32;
    // A4 a quarter of a semitone sharp: at tuning 0 its energy splits between A and A#; at
    // tuning 0.25 (a quarter bin) A holds it.
    let f = 440.0 * 2f64.powf(0.25 / 12.0);
    let wav = dir.join("sharp_a.wav");
    write_sine(&wav, f, sr, sr as usize);
    let mut share = Vec::new();
    for t in ["0", "0.25"] {
        let out = dir.join(format!("t{t}.npy"));
        assert_ok(&wavegpu(&[
            "chroma",
            wav.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--tuning",
            t,
            "--norm",
            "none",
            "--device",
            "cpu",
        ]));
        let x = read_any(&out);
        let mid = x.shape()[1] / 2;
        let col: Vec<f32> = (0..12).map(|k| x[[k, mid]]).collect();
        let total: f32 = col.iter().sum();
        share.push(col[9] / total);
    }
    assert!(
        share[1] > share[0],
        "A's share should grow when the tuning matches the tone: {share:?}"
    );
}

/// A mono 16-bit WAV of a sine at `freq` Hz, `n` samples.
fn write_sine(path: &Path, freq: f64, sr: u32, n: usize) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sr,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..n {
        let v = 0.5 * (2.0 * std::f64::consts::PI * freq * i as f64 / sr as f64).sin();
        w.write_sample((v * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

// ---------------------------------------------------------------------------------------
// PNG

#[test]
fn png_is_frames_wide_and_chroma_high() {
    let dir = scratch("png");
    let speech = fixture_str("speech_16k.wav");
    let stereo = fixture_str("stereo_48k.wav");
    for (args, size) in [
        (
            vec!["chroma", &speech, "--n-fft", "512", "--hop-length", "160"],
            (1 + 23_542 / 160, 12),
        ),
        (
            vec!["chroma", &speech, "--norm", "none"],
            (1 + 23_542 / 512, 12),
        ),
        // Channels stack vertically.
        (
            vec!["chroma", &stereo, "--no-mono", "--n-chroma", "24"],
            (1 + 24_000 / 512, 2 * 24),
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
        // Normalised or not, the loudest bin is drawn at the top of the scale.
        assert!(
            px.chunks(3).any(|p| p == [253, 231, 37]),
            "{args:?}: no bin at the colormap's top"
        );
    }

    // A 440 Hz tone: A (bin 9 from C) is 1 in every frame, drawn yellow, on the 10th row from
    // the bottom (C at the bottom); with --no-base-c, A is row 0, at the bottom.
    let wav = dir.join("a440.wav");
    write_sine(&wav, 440.0, 22_050, 22_050);
    for (extra, row_from_bottom) in [(None, 9u32), (Some("--no-base-c"), 0)] {
        let out = dir.join("a.png");
        let mut a = vec![
            "chroma",
            wav.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ];
        a.extend(extra);
        assert_ok(&wavegpu(&a));
        let (w, h, _, px) = png_info(&out);
        assert_eq!((w, h), (1 + 22_050 / 512, 12));
        let y = h - 1 - row_from_bottom;
        let pixel = |x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            [px[i], px[i + 1], px[i + 2]]
        };
        for x in 0..w {
            assert_eq!(pixel(x, y), [253, 231, 37], "{extra:?}: frame {x}");
        }
        // Far from A (D#, a tritone away) the chroma is near 0: dark.
        let far = h - 1 - (row_from_bottom + 6) % 12;
        let dark = (0..w).filter(|&x| pixel(x, far)[0] < 80).count();
        assert!(
            dark as u32 > w / 2,
            "{extra:?}: the tritone row is not dark"
        );
    }
}

// ---------------------------------------------------------------------------------------
// directory mode

/// Files at 8, 16 and 48 kHz in one directory: one plan per rate (a filterbank for the wrong
/// rate would give other numbers), every good file's output equal to the single-file
/// command's, one line for the garbage file, exit 1.
fn directory_mode(device: &str) {
    let root = scratch(&format!("dir_{device}"));
    let input = root.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for f in ["speech_16k.wav", "chirp_8k.wav", "stereo_48k.wav"] {
        std::fs::copy(fixture(f), input.join(f)).unwrap();
    }
    std::fs::write(input.join("garbage.wav"), b"RIFF and then nothing useful").unwrap();
    let out = root.join("out");
    let flags = ["--n-fft", "1024", "--hop-length", "256", "--device", device];
    let mut args = vec![
        "chroma",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(flags);
    let o = wavegpu(&args);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert_no_panic(&o);
    let err = stderr(&o);
    let garbage: Vec<&str> = err.lines().filter(|l| l.contains("garbage.wav")).collect();
    assert_eq!(garbage.len(), 1, "{err}");
    assert!(garbage[0].starts_with("wavegpu: "), "{err}");
    for good in ["speech_16k.wav", "chirp_8k.wav", "stereo_48k.wav"] {
        assert!(!err.contains(good), "{good} should not fail: {err}");
    }
    assert_eq!(
        written(&out),
        ["chirp_8k.npy", "speech_16k.npy", "stereo_48k.npy"]
    );
    for (stem, sr, len) in [
        ("chirp_8k", 8000, 8000),
        ("speech_16k", 16_000, 23_542),
        ("stereo_48k", 48_000, 24_000),
    ] {
        let got = read_any(&out.join(format!("{stem}.npy")));
        assert_eq!(got.shape(), &[12, 1 + len / 256], "{stem} ({sr} Hz)");
        let single = root.join(format!("{stem}.npy"));
        let f = fixture_str(&format!("{stem}.wav"));
        let mut args = vec!["chroma", &f, "-o", single.to_str().unwrap()];
        args.extend(flags);
        assert_ok(&wavegpu(&args));
        assert_eq!(got, read_any(&single), "{stem}");
    }
    // The rate matters: the 8 kHz file's chroma is not what a 12 kHz filterbank makes of it
    // (not 16 kHz: doubling the rate moves every pitch an octave, to the same chroma bin).
    let chirp = read_any(&out.join("chirp_8k.npy"));
    let audio = load(fixture("chirp_8k.wav"), &LoadOptions::default().mono()).unwrap();
    let samples = audio.data().index_axis(Axis(0), 0).to_vec();
    let as_12k = Spectrogram::chroma(12_000)
        .n_fft(1024)
        .hop_length(256)
        .build(&Device::cpu())
        .unwrap()
        .run(&wavegpu::Audio::from_mono(samples, 12_000))
        .unwrap()
        .index_axis_move(Axis(0), 0);
    let as_12k: Array2<f32> = as_12k;
    let e = common::rel_err(chirp.iter(), as_12k.iter());
    assert!(
        e > 0.1,
        "8 kHz vs 12 kHz filterbank: relative difference {e:.2e}"
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
    let dir = scratch("usage");
    let out = dir.join("x.npy");
    let out = out.to_str().unwrap();
    let chroma = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["chroma", &speech, "-o", out, "--device", "cpu"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let cases: Vec<Vec<String>> = vec![
        chroma(&["--n-chroma", "0"]),
        chroma(&["--n-chroma", "-3"]),
        chroma(&["--tuning", "0.7"]),
        // librosa's range is [-0.5, 0.5): 0.5 is the next bin's -0.5.
        chroma(&["--tuning", "0.5"]),
        chroma(&["--tuning", "-0.6"]),
        chroma(&["--tuning", "nan"]),
        chroma(&["--tuning", "sharp"]),
        chroma(&["--norm", "foo"]),
        chroma(&["--norm", "2"]),
        chroma(&["--octwidth", "-1"]),
        chroma(&["--octwidth", "0"]),
        chroma(&["--octwidth", "wide"]),
        chroma(&["--ctroct", "inf"]),
        chroma(&["--power", "0"]),
        chroma(&["--win-length", "4096"]),
        chroma(&["--n-fft", "1"]),
        // A filterbank too large for the library (n_chroma x n_fft > 2^26).
        chroma(&["--n-chroma", "1200", "--n-fft", "65536"]),
        chroma(&["--n-mels", "40"]),
        chroma(&["--complex"]),
        // Flag errors come first, even when the input is missing too.
        vec![
            "chroma".into(),
            "missing.wav".into(),
            "-o".into(),
            out.into(),
            "--tuning".into(),
            "0.7".into(),
        ],
        vec![
            "chroma".into(),
            speech.clone(),
            "-o".into(),
            dir.join("x.wav").display().to_string(),
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
    for input in [&garbage, &missing] {
        let name = input.to_str().unwrap();
        let o = wavegpu(&[
            "chroma",
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
    // Too short for n_fft without centering: the library's error, naming the file.
    let short = fixture_str("short_16k.wav");
    let line = assert_fails_one_line(
        &wavegpu(&[
            "chroma",
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
fn help_lists_the_flags_and_the_tuning_difference() {
    let help = String::from_utf8_lossy(&wavegpu(&["chroma", "--help"]).stdout).into_owned();
    for flag in [
        "--n-fft",
        "--hop-length",
        "--win-length",
        "--window",
        "--center",
        "--pad-mode",
        "--power",
        "--n-chroma",
        "--tuning",
        "--ctroct",
        "--octwidth",
        "--no-base-c",
        "--norm",
        "--sr",
        "--no-mono",
        "--device",
        "--decoder",
        "[default: 12]",
        "[default: 0]",
        "estimate_tuning",
    ] {
        assert!(help.contains(flag), "chroma --help lacks {flag}");
    }
    let top = String::from_utf8_lossy(&wavegpu(&["--help"]).stdout).into_owned();
    assert!(top.contains("chroma"), "wavegpu --help lacks chroma");
}
