//! The `wavegpu` command line, run as a process: outputs against the library and librosa's
//! dumps, exit codes, and one-line error messages (never a panic or a backtrace).
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::Path;
use std::process::{Command, Output};

use ndarray::{Array1, Array2, Array3, Axis};
use num_complex::Complex32;
use wavegpu::io::{load, LoadOptions};
use wavegpu::{Device, PadMode, Spectrogram, Window};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wavegpu"));
    // A panic would print a backtrace with this set: the tests check none appears.
    c.env("RUST_BACKTRACE", "1");
    c
}

fn read2(p: &Path) -> Array2<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn read3(p: &Path) -> Array3<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn speech_cases() -> Vec<serde_json::Value> {
    common::manifest("stft_cases.json")
        .into_iter()
        .filter(|c| c["fixture"] == "speech_16k.wav" && c["expect_error"] == false)
        .collect()
}

/// The CLI flags that express a manifest case.
fn case_flags(c: &serde_json::Value) -> Vec<String> {
    let mut f = vec![
        "--n-fft".to_string(),
        c["n_fft"].to_string(),
        "--hop-length".into(),
        c["hop_length"].to_string(),
        "--win-length".into(),
        c["win_length"].to_string(),
        "--window".into(),
        c["window"].as_str().unwrap().to_string(),
        "--center".into(),
        c["center"].to_string(),
        "--pad-mode".into(),
        c["pad_mode"].as_str().unwrap().to_string(),
    ];
    if c["complex"] == true {
        f.push("--complex".into());
    }
    f
}

/// The same case as a library plan.
fn case_plan(c: &serde_json::Value, device: &Device) -> wavegpu::Stft {
    Spectrogram::stft()
        .n_fft(c["n_fft"].as_u64().unwrap() as usize)
        .hop_length(c["hop_length"].as_u64().unwrap() as usize)
        .win_length(c["win_length"].as_u64().unwrap() as usize)
        .window(Window::from_name(c["window"].as_str().unwrap()).unwrap())
        .center(c["center"].as_bool().unwrap())
        .pad_mode(PadMode::from_name(c["pad_mode"].as_str().unwrap()).unwrap())
        .build(device)
        .unwrap()
}

fn run_case(c: &serde_json::Value, device: &str, out: &Path) -> Output {
    let mut args: Vec<String> = vec![
        "stft".into(),
        fixture_str("speech_16k.wav"),
        "-o".into(),
        out.display().to_string(),
        "--device".into(),
        device.into(),
    ];
    args.extend(case_flags(c));
    bin().args(&args).output().unwrap()
}

#[test]
fn stft_npy_matches_the_plan_exactly_and_librosa() {
    let dir = scratch("stft_npy");
    let audio = load(fixture("speech_16k.wav"), &LoadOptions::default()).unwrap();
    let cases: Vec<_> = speech_cases()
        .into_iter()
        .filter(|c| c["complex"] == false)
        .collect();
    assert!(
        cases.len() >= 5,
        "the manifest should have real speech cases"
    );
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let out = dir.join(format!("{name}.npy"));
        let o = run_case(c, "cpu", &out);
        assert_ok(&o);
        assert_eq!(npy_descr(&out), "<f4", "{name}");
        let got = read2(&out);

        let plan = case_plan(c, &Device::cpu());
        let own = plan.run(&audio).unwrap().index_axis_move(Axis(0), 0);
        assert_eq!(got, own, "{name}: CLI output differs from the library plan");

        let reference = common::read_npy_f32(c["file"].as_str().unwrap());
        assert_eq!(got.shape(), reference.shape(), "{name}");
        let err = common::rel_err(got.iter(), reference.iter());
        assert!(err <= 1e-5, "{name}: relative error {err:e} vs librosa");
    }
}

#[test]
fn stft_defaults_are_librosas() {
    // n_fft 2048, hop 512, hann, centred, zero padding, magnitude.
    let dir = scratch("stft_defaults");
    let out = dir.join("s.npy");
    assert_ok(&wavegpu(&[
        "stft",
        &fixture_str("speech_16k.wav"),
        "-o",
        out.to_str().unwrap(),
        "--device",
        "cpu",
    ]));
    let case = speech_cases()
        .into_iter()
        .find(|c| c["name"] == "speech_16k_n2048_h512_w2048_hann_c_constant")
        .expect("default-parameter case in the manifest");
    let reference = common::read_npy_f32(case["file"].as_str().unwrap());
    let got = read2(&out);
    assert_eq!(got.shape(), reference.shape());
    assert!(common::rel_err(got.iter(), reference.iter()) <= 1e-5);
}

#[test]
fn stft_complex_writes_complex64() {
    let dir = scratch("stft_complex");
    let c = speech_cases()
        .into_iter()
        .find(|c| c["complex"] == true)
        .expect("a complex speech case");
    let out = dir.join("x.npy");
    let o = run_case(&c, "cpu", &out);
    assert_ok(&o);
    assert_eq!(npy_descr(&out), "<c8");
    let got: Array2<Complex32> = ndarray_npy::read_npy(&out).unwrap();

    let audio = load(fixture("speech_16k.wav"), &LoadOptions::default()).unwrap();
    let own = case_plan(&c, &Device::cpu())
        .run_complex(&audio)
        .unwrap()
        .index_axis_move(Axis(0), 0);
    assert_eq!(got, own);

    let reference = common::read_npy_c32(c["file"].as_str().unwrap());
    assert_eq!(got.shape(), reference.shape());
    let (g, r): (Vec<Complex32>, Vec<Complex32>) = (
        got.iter().copied().collect(),
        reference.iter().copied().collect(),
    );
    let err = common::rel_err_c(&g, &r);
    assert!(err <= 1e-5, "relative error {err:e} vs librosa");
}

#[test]
fn stft_power_two_is_the_square() {
    let dir = scratch("stft_power");
    let (m, p) = (dir.join("m.npy"), dir.join("p.npy"));
    let speech = fixture_str("speech_16k.wav");
    let base = ["stft", &speech, "--device", "cpu", "--n-fft", "512"];
    let mut a: Vec<&str> = base.to_vec();
    a.extend(["-o", m.to_str().unwrap()]);
    assert_ok(&wavegpu(&a));
    let mut a: Vec<&str> = base.to_vec();
    a.extend(["-o", p.to_str().unwrap(), "--power", "2"]);
    assert_ok(&wavegpu(&a));
    let (m, p) = (read2(&m), read2(&p));
    let sq = m.mapv(|x| x * x);
    assert!(common::rel_err(p.iter(), sq.iter()) < 1e-6);
}

#[test]
fn stft_no_mono_keeps_channels() {
    let dir = scratch("stft_no_mono");
    let out = dir.join("st.npy");
    assert_ok(&wavegpu(&[
        "stft",
        &fixture_str("stereo_48k.wav"),
        "-o",
        out.to_str().unwrap(),
        "--no-mono",
        "--device",
        "cpu",
    ]));
    let got = read3(&out);
    assert_eq!(got.dim(), (2, 1025, 1 + 24_000 / 512));
    let audio = load(fixture("stereo_48k.wav"), &LoadOptions::default().no_mono()).unwrap();
    let own = Spectrogram::stft()
        .build(&Device::cpu())
        .unwrap()
        .run(&audio)
        .unwrap();
    assert_eq!(got, own);

    // Without --no-mono the channels are averaged first: (freq, frames).
    let mono = dir.join("mono.npy");
    assert_ok(&wavegpu(&[
        "stft",
        &fixture_str("stereo_48k.wav"),
        "-o",
        mono.to_str().unwrap(),
        "--device",
        "cpu",
    ]));
    assert_eq!(read2(&mono).dim(), (1025, 1 + 24_000 / 512));
}

#[test]
fn stft_resamples_with_sr() {
    let dir = scratch("stft_sr");
    let out = dir.join("s.npy");
    assert_ok(&wavegpu(&[
        "stft",
        &fixture_str("speech_16k.wav"),
        "-o",
        out.to_str().unwrap(),
        "--sr",
        "8000",
        "--n-fft",
        "256",
        "--hop-length",
        "80",
        "--device",
        "cpu",
    ]));
    let audio = load(
        fixture("speech_16k.wav"),
        &LoadOptions::default().sample_rate(8000),
    )
    .unwrap();
    let plan = Spectrogram::stft()
        .n_fft(256)
        .hop_length(80)
        .build(&Device::cpu())
        .unwrap();
    assert_eq!(
        read2(&out),
        plan.run(&audio).unwrap().index_axis_move(Axis(0), 0)
    );
}

#[test]
fn stft_png_is_frames_wide_and_freq_high() {
    let dir = scratch("stft_png");
    let out = dir.join("s.png");
    assert_ok(&wavegpu(&[
        "stft",
        &fixture_str("speech_16k.wav"),
        "-o",
        out.to_str().unwrap(),
        "--n-fft",
        "512",
        "--hop-length",
        "160",
        "--device",
        "cpu",
    ]));
    let (w, h, color, px) = png_info(&out);
    assert_eq!((w, h), (1 + 23_542 / 160, 257));
    assert_eq!(color, png::ColorType::Rgb);
    // A real spectrogram uses many colours, not one flat fill.
    let distinct: std::collections::HashSet<&[u8]> = px.chunks(3).collect();
    assert!(distinct.len() > 50, "only {} colours", distinct.len());

    // Several channels stack vertically; --complex and --power 2 draw too.
    for extra in [
        &["--no-mono"][..],
        &["--no-mono", "--complex"],
        &["--no-mono", "--power", "2"],
    ] {
        let out = dir.join("st.png");
        let stereo = fixture_str("stereo_48k.wav");
        let mut args = vec![
            "stft",
            &stereo,
            "-o",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ];
        args.extend_from_slice(extra);
        assert_ok(&wavegpu(&args));
        let (w, h, _, _) = png_info(&out);
        assert_eq!((w, h), (1 + 24_000 / 512, 2 * 1025), "{extra:?}");
    }
}

#[test]
fn decode_to_npy_and_wav_keeps_the_samples() {
    let dir = scratch("decode");
    let want = common::load_wav(&fixture("speech_16k.wav"));

    let npy = dir.join("speech.npy");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("speech_16k.wav"),
        "-o",
        npy.to_str().unwrap(),
    ]));
    assert_eq!(npy_descr(&npy), "<f4");
    let got: Array1<f32> = ndarray_npy::read_npy(&npy).unwrap();
    assert_eq!(got.len(), 23_542);
    assert_eq!(got.view(), want.channel(0));

    let wav = dir.join("speech.wav");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("speech_16k.wav"),
        "-o",
        wav.to_str().unwrap(),
    ]));
    let mut r = hound::WavReader::open(&wav).unwrap();
    assert_eq!(r.spec().sample_format, hound::SampleFormat::Float);
    assert_eq!(r.spec().bits_per_sample, 32);
    assert_eq!(r.spec().sample_rate, 16_000);
    let samples: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
    assert_eq!(samples.as_slice(), want.channel(0).as_slice().unwrap());

    // Stereo: (channels, samples) with --no-mono, the mean without.
    let stereo = common::load_wav(&fixture("stereo_48k.wav"));
    let npy2 = dir.join("stereo.npy");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("stereo_48k.wav"),
        "-o",
        npy2.to_str().unwrap(),
        "--no-mono",
    ]));
    let got: Array2<f32> = ndarray_npy::read_npy(&npy2).unwrap();
    assert_eq!(got.view(), stereo.data());
    let wav2 = dir.join("stereo.wav");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("stereo_48k.wav"),
        "-o",
        wav2.to_str().unwrap(),
        "--no-mono",
    ]));
    assert_eq!(hound::WavReader::open(&wav2).unwrap().spec().channels, 2);
    assert_eq!(common::load_wav(&wav2).data(), stereo.data());

    let npy3 = dir.join("stereo_mono.npy");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("stereo_48k.wav"),
        "-o",
        npy3.to_str().unwrap(),
    ]));
    let got: Array1<f32> = ndarray_npy::read_npy(&npy3).unwrap();
    assert_eq!(got, stereo.to_mono().channel(0));

    // --sr resamples.
    let npy4 = dir.join("speech_8k.npy");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("speech_16k.wav"),
        "-o",
        npy4.to_str().unwrap(),
        "--sr",
        "8000",
    ]));
    let got: Array1<f32> = ndarray_npy::read_npy(&npy4).unwrap();
    assert_eq!(got.len(), 11_771);
}

#[test]
fn probe_prints_json() {
    for (name, sr, ch, frames) in [
        ("speech_16k.wav", 16_000, 1, 23_542),
        ("stereo_48k.wav", 48_000, 2, 24_000),
        ("speech_16k.flac", 16_000, 1, 23_542),
    ] {
        let o = wavegpu(&["probe", &fixture_str(name)]);
        assert_ok(&o);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", describe(&o)));
        assert_eq!(v["sample_rate"], sr, "{name}");
        assert_eq!(v["channels"], ch, "{name}");
        assert_eq!(v["frames"], frames, "{name}");
        let d = v["duration"].as_f64().unwrap();
        assert!((d - frames as f64 / sr as f64).abs() < 1e-9, "{name}");
        assert!(
            v["container"].is_string() && v["codec"].is_string(),
            "{name}"
        );
    }
}

#[test]
fn devices_lists_and_picks() {
    let o = wavegpu(&["devices"]);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("--device auto picks: "), "{out}");
    assert_no_panic(&o);

    let o = wavegpu(&["devices", "--device", "cpu"]);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("--device cpu picks: cpu"), "{out}");
}

#[test]
fn directory_mode_processes_every_file_and_reports_failures() {
    let dir = scratch("dir_mode");
    let input = dir.join("in");
    let output = dir.join("out/nested");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(fixture("speech_16k.wav"), input.join("speech_16k.wav")).unwrap();
    std::fs::copy(fixture("speech_16k.flac"), input.join("other.flac")).unwrap();
    std::fs::write(input.join("garbage.wav"), b"this is not a RIFF file at all").unwrap();
    std::fs::write(input.join("notes.txt"), b"not audio, skipped by extension").unwrap();

    let o = wavegpu(&[
        "stft",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--n-fft",
        "512",
        "--device",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert_no_panic(&o);
    let err = stderr(&o);
    let garbage: Vec<&str> = err.lines().filter(|l| l.contains("garbage.wav")).collect();
    assert_eq!(garbage.len(), 1, "{err}");
    assert!(garbage[0].starts_with("wavegpu: "), "{err}");
    assert!(
        !err.contains("speech_16k.wav:") && !err.contains("other.flac:"),
        "{err}"
    );

    let mut written: Vec<String> = std::fs::read_dir(&output)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["other.npy", "speech_16k.npy"]);

    // Each file's output is what the single-file command writes.
    let single = dir.join("single.npy");
    assert_ok(&wavegpu(&[
        "stft",
        &fixture_str("speech_16k.wav"),
        "-o",
        single.to_str().unwrap(),
        "--n-fft",
        "512",
        "--device",
        "cpu",
    ]));
    assert_eq!(read2(&output.join("speech_16k.npy")), read2(&single));
    assert_eq!(read2(&output.join("other.npy")).dim(), read2(&single).dim());

    // All good: exit 0. decode works on directories too.
    std::fs::remove_file(input.join("garbage.wav")).unwrap();
    let dec = dir.join("decoded");
    let o = wavegpu(&[
        "decode",
        input.to_str().unwrap(),
        "-o",
        dec.to_str().unwrap(),
    ]);
    assert_ok(&o);
    let got: Array1<f32> = ndarray_npy::read_npy(dec.join("speech_16k.npy")).unwrap();
    assert_eq!(got.len(), 23_542);
}

#[test]
fn usage_errors_exit_2() {
    let speech = fixture_str("speech_16k.wav");
    let dir = scratch("usage");
    let out = dir.join("x.npy");
    let out = out.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["frobnicate"],
        vec!["stft", &speech, "-o", out, "--frobnicate"],
        vec!["stft", &speech, "-o", out, "--n-fft", "0"],
        vec!["stft", &speech, "-o", out, "--n-fft", "-3"],
        vec!["stft", &speech, "-o", out, "--n-fft", "many"],
        vec!["stft", &speech, "-o", out, "--window", "kaiser"],
        vec!["stft", &speech, "-o", out, "--hop-length", "0"],
        vec!["stft", &speech, "-o", out, "--center", "maybe"],
        vec!["stft", &speech, "-o", out, "--pad-mode", "edge"],
        vec!["stft", &speech, "-o", out, "--power", "0"],
        vec!["stft", &speech, "-o", out, "--power", "inf"],
        vec!["stft", &speech, "-o", out, "--complex", "--power", "2"],
        vec!["stft", &speech, "-o", out, "--device", "tpu"],
        vec!["stft", &speech, "-o", out, "--decoder", "gstreamer"],
        vec!["stft", &speech, "-o", out, "--sr", "0"],
        vec![
            "stft",
            &speech,
            "-o",
            out,
            "--win-length",
            "4096",
            "--device",
            "cpu",
        ],
        // Flag errors come first, even when the input is missing too.
        vec![
            "stft",
            "missing.wav",
            "-o",
            out,
            "--win-length",
            "4096",
            "--device",
            "gpu",
        ],
        vec!["stft", &speech, "-o", "x.txt", "--device", "cpu"],
        vec!["stft", &speech],
        vec!["stft", "-o", out],
        vec!["decode", &speech, "-o", "x.png"],
        vec!["probe"],
    ];
    for args in cases {
        let o = wavegpu(&args);
        let line = assert_fails_one_line(&o, 2);
        assert!(line.len() > "wavegpu: ".len() + 10, "{args:?}: {line}");
    }
    assert!(!Path::new(out).exists(), "nothing written on a usage error");
}

#[test]
fn bad_inputs_exit_1_with_one_line() {
    let dir = scratch("bad_inputs");
    let speech = std::fs::read(fixture("speech_16k.wav")).unwrap();
    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let truncated = dir.join("truncated.wav");
    std::fs::write(&truncated, &speech[..3000]).unwrap();
    let header_only = dir.join("header_only.wav");
    std::fs::write(&header_only, &speech[..44]).unwrap();
    let text = dir.join("readme.mp3");
    std::fs::write(&text, "just some text, no audio here\n".repeat(50)).unwrap();
    let noise = dir.join("noise.flac");
    std::fs::write(
        &noise,
        common::noise(4000, 7)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let missing = dir.join("missing.wav");
    let out = dir.join("x.npy");
    let out = out.to_str().unwrap();

    for input in [&missing, &empty, &truncated, &header_only, &text, &noise] {
        let name = input.to_str().unwrap();
        for args in [
            vec!["stft", name, "-o", out, "--device", "cpu"],
            vec![
                "stft",
                name,
                "-o",
                out,
                "--device",
                "cpu",
                "--no-mono",
                "--complex",
            ],
            vec!["decode", name, "-o", out],
        ] {
            let o = wavegpu(&args);
            let line = assert_fails_one_line(&o, 1);
            assert!(
                line.starts_with(&format!("wavegpu: {name}: ")),
                "{args:?}: the message should name the input once: {line}"
            );
            assert_eq!(line.matches(name).count(), 1, "{line}");
        }
    }
    // probe reads headers only: a truncated file probes fine, the others fail.
    for input in [&missing, &empty, &text, &noise] {
        let o = wavegpu(&["probe", input.to_str().unwrap()]);
        assert_fails_one_line(&o, 1);
    }
    // A directory where a file is expected.
    assert_fails_one_line(&wavegpu(&["probe", dir.to_str().unwrap()]), 1);
    // Too short for n_fft without centering: the library's error, naming the file.
    let short = fixture_str("short_16k.wav");
    let line = assert_fails_one_line(
        &wavegpu(&[
            "stft", &short, "-o", out, "--center", "false", "--device", "cpu",
        ]),
        1,
    );
    assert!(line.starts_with(&format!("wavegpu: {short}: ")), "{line}");
    // An unwritable output names the output.
    let line = assert_fails_one_line(
        &wavegpu(&[
            "stft",
            &fixture_str("speech_16k.wav"),
            "-o",
            dir.join("no/such/dir/x.npy").to_str().unwrap(),
            "--device",
            "cpu",
        ]),
        1,
    );
    assert!(line.contains("no/such/dir/x.npy"), "{line}");
    // Without the `ffmpeg` feature, asking for the FFmpeg decoder fails naming it; with it,
    // the file decodes.
    let o = wavegpu(&[
        "stft",
        &fixture_str("speech_16k.wav"),
        "-o",
        out,
        "--decoder",
        "ffmpeg",
        "--device",
        "cpu",
    ]);
    if wavegpu::io::Backend::Ffmpeg.is_available() {
        assert_ok(&o);
    } else {
        let line = assert_fails_one_line(&o, 1);
        assert!(line.contains("ffmpeg"), "{line}");
        assert!(!Path::new(out).exists());
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["stft", "--help"],
        &["decode", "-h"],
        &["--version"],
    ] {
        let o = wavegpu(args);
        assert_ok(&o);
        assert!(!o.stdout.is_empty());
    }
    let help = String::from_utf8_lossy(&wavegpu(&["stft", "--help"]).stdout).into_owned();
    for flag in [
        "--n-fft",
        "--hop-length",
        "--win-length",
        "--window",
        "--center",
        "--pad-mode",
        "--power",
        "--complex",
        "--sr",
        "--no-mono",
        "--device",
        "--decoder",
        "[default: 2048]",
    ] {
        assert!(help.contains(flag), "stft --help lacks {flag}");
    }
}

/// The GPU path through the CLI: runs where an adapter exists, and must run (not skip)
/// with CI=true, where lavapipe is installed.
#[test]
fn stft_on_gpu_matches_librosa() {
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    if !ci && Device::adapters().is_empty() {
        eprintln!("skipping the CLI GPU test: no adapter");
        return;
    }
    let Some(gpu) = common::gpu() else {
        return;
    };
    let dir = scratch("stft_gpu");
    let c = speech_cases()
        .into_iter()
        .find(|c| c["name"] == "speech_16k_n512_h160_w400_hann_c_constant")
        .expect("case in the manifest");
    let out = dir.join("g.npy");
    let o = run_case(&c, "gpu", &out);
    assert_ok(&o);
    assert_no_panic(&o);
    let got = read2(&out);
    let reference = common::read_npy_f32(c["file"].as_str().unwrap());
    assert_eq!(got.shape(), reference.shape());
    let err = common::rel_err(got.iter(), reference.iter());
    assert!(err <= 1e-5, "GPU relative error {err:e} vs librosa");

    let audio = load(fixture("speech_16k.wav"), &LoadOptions::default()).unwrap();
    let own = case_plan(&c, &gpu)
        .run(&audio)
        .unwrap()
        .index_axis_move(Axis(0), 0);
    assert_eq!(
        got, own,
        "CLI --device gpu differs from the library's GPU plan"
    );
}
