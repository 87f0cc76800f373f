//! `wavegpu cqt` and `wavegpu vqt` run as a process, on tests/data/cqt_cases.json
//! (make_cqt_dumps.py, librosa 0.11): every case within 1e-4 (relative Frobenius) of its
//! full-rate reference on the CPU and, where an adapter exists (always with CI=true), on the
//! GPU; librosa.cqt's defaults within 2e-2 of librosa itself, odd hops (where librosa does not
//! resample) within 1e-4; the case librosa refuses refused too. Also: cqt --gamma is vqt,
//! --complex, --no-mono, PNG size and orientation, directory mode, usage and input errors.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::{Path, PathBuf};

use ndarray::{s, ArrayD, Axis};
use num_complex::Complex32;
use serde_json::Value;
use wavegpu::{Audio, Device, Spectrogram};

const REF_TOL: f64 = 1e-4;
const LIBROSA_DEFAULT_TOL: f64 = 2e-2;

fn read_any(p: &Path) -> ArrayD<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn read_complex(p: &Path) -> ArrayD<Complex32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn cases() -> Vec<Value> {
    let cases = common::manifest("cqt_cases.json");
    assert!(cases.len() >= 30, "{} cases", cases.len());
    cases
}

fn find_case(name: &str) -> Value {
    cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in cqt_cases.json"))
}

/// The case's input: its fixture when the excerpt is the whole file, else the excerpt written
/// to `dir` as a float32 WAV (the samples librosa read, exactly: 16-bit values / 32768 are
/// float32 numbers).
fn case_input(c: &Value, dir: &Path) -> PathBuf {
    let fixture = common::data_dir().join(c["fixture"].as_str().unwrap());
    let audio = common::load_wav(&fixture);
    assert_eq!(audio.channels(), 1, "{}", c["name"]);
    let off = c["offset"].as_u64().unwrap() as usize;
    let n = c["n_samples"].as_u64().unwrap() as usize;
    if off == 0 && n == audio.len() {
        return fixture;
    }
    let path = dir.join(format!("{}.wav", c["name"].as_str().unwrap()));
    write_wav_f32(
        &path,
        audio
            .data()
            .row(0)
            .slice(s![off..off + n])
            .as_slice()
            .unwrap(),
        audio.sample_rate(),
    );
    path
}

/// A float32 WAV (wavegpu's own writer; its loader reads the samples back exactly).
fn write_wav_f32(path: &Path, samples: &[f32], sr: u32) {
    wavegpu::io::write_wav(path, &Audio::from_mono(samples.to_vec(), sr)).unwrap();
}

/// The subcommand and every parameter of a case as flags (librosa's names in kebab case).
fn case_args(c: &Value) -> Vec<String> {
    let num = |k: &str| c[k].as_f64().unwrap().to_string();
    let mut args: Vec<String> = vec![c["kind"].as_str().unwrap().into()];
    for (flag, key) in [
        ("--hop-length", "hop_length"),
        ("--fmin", "fmin"),
        ("--n-bins", "n_bins"),
        ("--bins-per-octave", "bins_per_octave"),
        ("--tuning", "tuning"),
        ("--filter-scale", "filter_scale"),
        ("--sparsity", "sparsity"),
        ("--norm", "norm"),
    ] {
        args.extend([flag.into(), num(key)]);
    }
    args.extend(["--pad-mode".into(), c["pad_mode"].as_str().unwrap().into()]);
    if !c["scale"].as_bool().unwrap() {
        args.push("--no-scale".into());
    }
    // cqt cases have gamma 0, the cqt default; a vqt case's null is vqt's default (ERB).
    if c["kind"] == "vqt" {
        if let Some(g) = c["gamma"].as_f64() {
            args.extend(["--gamma".into(), g.to_string()]);
        }
    }
    args
}

fn run_case(
    c: &Value,
    device: &str,
    dir: &Path,
    extra: &[&str],
) -> (std::process::Output, PathBuf) {
    let out = dir.join(format!("{}.npy", c["name"].as_str().unwrap()));
    let mut args = case_args(c);
    args.insert(1, case_input(c, dir).display().to_string());
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(["--device".into(), device.into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    (wavegpu_s(&args), out)
}

fn all_cases(device: &str) {
    let dir = scratch(&format!("cases_{device}"));
    let mut failures = Vec::new();
    let (mut n_ref, mut n_default, mut n_odd, mut n_refused) = (0, 0, 0, 0);
    for c in &cases() {
        let name = c["name"].as_str().unwrap();
        let (o, out) = run_case(c, device, &dir, &[]);
        if c["reference"].is_null() {
            // librosa refuses these parameters at the file's own rate: the file fails (exit 1)
            // with librosa's reason, naming the file and the parameter.
            let line = assert_fails_one_line(&o, 1);
            assert!(
                line.contains("Nyquist") && line.contains("n_bins") && line.contains(".wav"),
                "{name}: {line}"
            );
            n_refused += 1;
            continue;
        }
        if o.status.code() != Some(0) {
            failures.push(format!("{name}: {}", describe(&o)));
            continue;
        }
        assert_no_panic(&o);
        assert_eq!(npy_descr(&out), "<f4", "{name}");
        let got = read_any(&out);
        let reference = common::read_npy_f32(c["reference"].as_str().unwrap());
        if got.shape() != reference.shape() {
            failures.push(format!(
                "{name}: shape {:?} vs {:?}",
                got.shape(),
                reference.shape()
            ));
            continue;
        }
        let e_ref = common::rel_err(got.iter(), reference.iter());
        n_ref += 1;
        if e_ref.is_nan() || e_ref > REF_TOL {
            failures.push(format!("{name}: {e_ref:.2e} from the full-rate reference"));
        }
        let lib = common::read_npy_f32(c["librosa"].as_str().unwrap());
        let e_lib = common::rel_err(got.iter(), lib.iter());
        eprintln!(
            "{name} --device {device}: {e_ref:.1e} from the reference, {e_lib:.1e} from librosa"
        );
        if c["hop_length"].as_u64().unwrap() % 2 == 1 {
            n_odd += 1;
            if e_lib.is_nan() || e_lib > REF_TOL {
                failures.push(format!("{name}: {e_lib:.2e} from librosa (odd hop)"));
            }
        } else if name.starts_with("cqt_default") {
            n_default += 1;
            if e_lib.is_nan() || e_lib > LIBROSA_DEFAULT_TOL {
                failures.push(format!("{name}: {e_lib:.2e} from librosa.cqt's defaults"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "--device {device}:\n{}",
        failures.join("\n")
    );
    assert!(n_ref >= 30 && n_default >= 4 && n_odd >= 8 && n_refused == 1);
}

#[test]
fn cases_match_the_reference_and_librosa_cpu() {
    all_cases("cpu");
}

#[test]
fn cases_match_the_reference_and_librosa_gpu() {
    if common::gpu().is_some() {
        all_cases("gpu");
    }
}

// ---------------------------------------------------------------------------------------
// cqt vs vqt, complex, channels

#[test]
fn cqt_gamma_is_vqt_and_vqt_gamma_zero_is_cqt() {
    let dir = scratch("gamma");
    let speech = fixture_str("speech_16k.wav");
    let run = |name: &str, args: &[&str]| -> ArrayD<f32> {
        let out = dir.join(format!("{name}.npy"));
        let mut a = vec![
            args[0],
            &speech,
            "-o",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ];
        a.extend_from_slice(&args[1..]);
        assert_ok(&wavegpu(&a));
        read_any(&out)
    };
    let cqt = run("cqt", &["cqt"]);
    let vqt_erb = run("vqt", &["vqt"]);
    assert_eq!(run("vqt0", &["vqt", "--gamma", "0"]), cqt);
    assert_eq!(
        run("cqt10", &["cqt", "--gamma", "10"]),
        run("vqt10", &["vqt", "--gamma", "10"])
    );
    // vqt's default gamma (ERB) widens the filters: a different transform of the same shape.
    assert_eq!(vqt_erb.shape(), cqt.shape());
    assert!(common::rel_err(vqt_erb.iter(), cqt.iter()) > 1e-2);
}

#[test]
fn complex_is_librosas_output_and_its_magnitude_is_the_default() {
    let dir = scratch("complex");
    let c = find_case("cqt_h511_speech22k");
    let (o, mag_out) = run_case(&c, "cpu", &dir, &[]);
    assert_ok(&o);
    let mag = read_any(&mag_out);
    let cplx_out = dir.join("complex.npy");
    let mut args = case_args(&c);
    args.insert(1, case_input(&c, &dir).display().to_string());
    args.extend(
        [
            "-o",
            cplx_out.to_str().unwrap(),
            "--device",
            "cpu",
            "--complex",
        ]
        .map(String::from),
    );
    assert_ok(&wavegpu_s(&args));
    assert_eq!(npy_descr(&cplx_out), "<c8");
    let x = read_complex(&cplx_out);
    assert_eq!(x.shape(), mag.shape());
    let abs = x.mapv(|z| z.norm());
    let e = common::rel_err(abs.iter(), mag.iter());
    assert!(e < 1e-6, "|complex| vs magnitude: {e:.2e}");
    let reference = common::read_npy_f32(c["reference"].as_str().unwrap());
    let e = common::rel_err(abs.iter(), reference.iter());
    assert!(e < REF_TOL, "|complex| vs the reference: {e:.2e}");

    // The library's own complex plan, to the bit (the CPU path is deterministic).
    let audio = common::load_wav(&common::data_dir().join(c["fixture"].as_str().unwrap()));
    let own = Spectrogram::cqt(22_050)
        .hop_length(511)
        .build(&Device::cpu())
        .unwrap()
        .run_complex(&audio)
        .unwrap()
        .index_axis_move(Axis(0), 0);
    assert_eq!(x, own.into_dyn());

    if common::gpu().is_some() {
        let gpu_out = dir.join("complex_gpu.npy");
        let n = args.len();
        args[n - 2] = "gpu".into();
        args[n - 4] = gpu_out.display().to_string();
        assert_ok(&wavegpu_s(&args));
        let g = read_complex(&gpu_out);
        let flat = |a: &ArrayD<Complex32>| a.iter().copied().collect::<Vec<_>>();
        let e = common::rel_err_c(&flat(&g), &flat(&x));
        assert!(e < REF_TOL, "GPU complex vs CPU: {e:.2e}");
    }
}

#[test]
fn no_mono_keeps_channels() {
    let dir = scratch("stereo");
    let stereo = fixture_str("stereo_48k.wav");
    let out = dir.join("s.npy");
    for cmd in ["cqt", "vqt"] {
        assert_ok(&wavegpu(&[
            cmd,
            &stereo,
            "-o",
            out.to_str().unwrap(),
            "--device",
            "cpu",
            "--no-mono",
        ]));
        let s = read_any(&out);
        let audio = common::load_wav(&fixture("stereo_48k.wav"));
        assert_eq!(audio.channels(), 2);
        let frames = 1 + audio.len() / 512;
        assert_eq!(s.shape(), &[2, 84, frames], "{cmd}");
        let builder = if cmd == "cqt" {
            Spectrogram::cqt(48_000)
        } else {
            Spectrogram::vqt(48_000)
        };
        let own = builder.build(&Device::cpu()).unwrap().run(&audio).unwrap();
        assert_eq!(s, own.into_dyn(), "{cmd}");
        assert_ne!(s.index_axis(Axis(0), 0), s.index_axis(Axis(0), 1));
    }
    // Without --no-mono: (n_bins, frames) of the channel average.
    let m = dir.join("m.npy");
    assert_ok(&wavegpu(&[
        "cqt",
        &stereo,
        "-o",
        m.to_str().unwrap(),
        "--device",
        "cpu",
        "--n-bins",
        "96",
    ]));
    assert_eq!(read_any(&m).shape(), &[96, 1 + 24_000 / 512]);
}

// ---------------------------------------------------------------------------------------
// images

/// A 440 Hz tone (A4, bin 45 above C1 at 12 per octave) over a quiet 110 Hz one (A2, bin 21).
fn write_tones(path: &Path, sr: u32) {
    let x: Vec<f32> = (0..sr as usize)
        .map(|i| {
            let t = i as f32 / sr as f32;
            0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.05 * (2.0 * std::f32::consts::PI * 110.0 * t).sin()
        })
        .collect();
    write_wav_f32(path, &x, sr);
}

#[test]
fn png_is_frames_wide_bins_high_low_frequencies_at_the_bottom() {
    let dir = scratch("png");
    let sr = 22_050;
    let wav = dir.join("tones.wav");
    write_tones(&wav, sr);
    let png = dir.join("tones.png");
    let npy = dir.join("tones.npy");
    for out in [&png, &npy] {
        assert_ok(&wavegpu(&[
            "cqt",
            wav.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ]));
    }
    let (w, h, color, rgb) = png_info(&png);
    let frames = 1 + sr as usize / 512;
    assert_eq!(
        (w as usize, h as usize, color),
        (frames, 84, png::ColorType::Rgb)
    );
    let px = |x: usize, y: usize| {
        let i = (y * w as usize + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    // viridis' green channel rises monotonically: the brightest row of the middle column is
    // the 440 Hz bin, drawn 45 rows above the bottom; the 110 Hz bin, 20 dB down, 21 above.
    let mid = frames / 2;
    let brightest = (0..84).max_by_key(|&y| px(mid, y)[1]).unwrap();
    assert_eq!(brightest, 83 - 45);
    assert!(px(mid, 83 - 21)[1] > px(mid, 83 - 30)[1]);
    // amplitude_to_db(ref=np.max), top_db 80: the maximum is viridis' top, and bins more than
    // 80 dB below it its bottom.
    let c = read_any(&npy);
    let max = c.iter().cloned().fold(0.0f32, f32::max);
    let (t, b) = (0..frames)
        .flat_map(|t| (0..84).map(move |b| (t, b)))
        .max_by(|&(t0, b0), &(t1, b1)| c[[b0, t0]].total_cmp(&c[[b1, t1]]))
        .unwrap();
    assert_eq!(c[[b, t]], max);
    assert_eq!(px(t, 83 - b), [253, 231, 37]);
    let quiet = (0..frames)
        .flat_map(|t| (0..84).map(move |b| (t, b)))
        .find(|&(t, b)| c[[b, t]] < max * 1e-4 * 0.5)
        .expect("a bin 80 dB down");
    assert_eq!(px(quiet.0, 83 - quiet.1), [68, 1, 84]);

    // --no-mono: one strip per channel.
    let stereo_png = dir.join("stereo.png");
    assert_ok(&wavegpu(&[
        "vqt",
        &fixture_str("stereo_48k.wav"),
        "-o",
        stereo_png.to_str().unwrap(),
        "--device",
        "cpu",
        "--no-mono",
        "--n-bins",
        "60",
    ]));
    let (w, h, _, _) = png_info(&stereo_png);
    assert_eq!((w, h), (1 + 24_000 / 512, 120));
}

// ---------------------------------------------------------------------------------------
// directory mode

#[test]
fn directory_mode_writes_one_npy_per_file_at_each_rate() {
    let dir = scratch("dir");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    // Two rates: two plans.
    std::fs::copy(fixture("speech_16k.wav"), input.join("speech.wav")).unwrap();
    write_tones(&input.join("tones.wav"), 22_050);
    std::fs::write(input.join("notes.txt"), "not audio").unwrap();
    let out = dir.join("out");
    for device in ["cpu", "gpu"] {
        if device == "gpu" && common::gpu().is_none() {
            continue;
        }
        let _ = std::fs::remove_dir_all(&out);
        assert_ok(&wavegpu(&[
            "cqt",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--device",
            device,
            "--hop-length",
            "256",
        ]));
        assert_eq!(written(&out), ["speech.npy", "tones.npy"]);
        for (stem, sr) in [("speech", 16_000), ("tones", 22_050)] {
            let got = read_any(&out.join(format!("{stem}.npy")));
            let audio = common::load_wav(&input.join(format!("{stem}.wav")));
            let own = Spectrogram::cqt(sr)
                .hop_length(256)
                .build(&Device::cpu())
                .unwrap()
                .run(&audio)
                .unwrap()
                .index_axis_move(Axis(0), 0)
                .into_dyn();
            assert_eq!(got.shape(), own.shape(), "{stem} {device}");
            let e = common::rel_err(got.iter(), own.iter());
            assert!(e < 1e-5, "{stem} --device {device}: {e:.2e}");
        }
    }

    // A file at a rate the flags cannot serve fails alone (exit 1); the others are written.
    std::fs::copy(fixture("chirp_8k.wav"), input.join("chirp.wav")).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    let o = wavegpu(&[
        "cqt",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert_no_panic(&o);
    let err = stderr(&o);
    assert!(
        err.contains("chirp.wav") && err.contains("Nyquist"),
        "{err}"
    );
    assert!(err.contains("1 of 3 files failed"), "{err}");
    assert_eq!(written(&out), ["speech.npy", "tones.npy"]);
}

// ---------------------------------------------------------------------------------------
// errors

#[test]
fn usage_errors_exit_2_on_one_line() {
    let dir = scratch("usage");
    let speech = fixture_str("speech_16k.wav");
    let npy = dir.join("x.npy").display().to_string();
    let png = dir.join("x.png").display().to_string();
    let wav = dir.join("x.wav").display().to_string();
    let cases: &[(&str, &[&str], &str, &str)] = &[
        ("cqt", &["--n-bins", "0"], &npy, "--n-bins"),
        (
            "cqt",
            &["--bins-per-octave", "0"],
            &npy,
            "--bins-per-octave",
        ),
        ("cqt", &["--hop-length", "0"], &npy, "--hop-length"),
        ("cqt", &["--fmin", "0"], &npy, "--fmin"),
        ("cqt", &["--fmin", "-30"], &npy, "--fmin"),
        ("cqt", &["--filter-scale", "0"], &npy, "--filter-scale"),
        ("cqt", &["--tuning", "nan"], &npy, "--tuning"),
        ("cqt", &["--sparsity", "1"], &npy, "--sparsity"),
        ("cqt", &["--norm", "l1"], &npy, "--norm"),
        ("cqt", &["--pad-mode", "edge"], &npy, "--pad-mode"),
        ("vqt", &["--gamma", "-1"], &npy, "--gamma"),
        ("cqt", &["--power", "2"], &npy, "--power"),
        ("cqt", &["--complex"], &png, "--complex"),
        ("vqt", &["--complex"], &png, "--complex"),
        ("cqt", &[], &wav, ".npy or .png"),
        // Beyond Nyquist at the rate --sr fixes: the library names the parameter.
        ("cqt", &["--sr", "8000"], &npy, "n_bins"),
        // 108 bins from C1 top out at 15.8 kHz: beyond 22.05 kHz's Nyquist frequency.
        ("cqt", &["--sr", "22050", "--n-bins", "108"], &npy, "n_bins"),
        ("vqt", &["--sr", "16000", "--fmin", "7000"], &npy, "n_bins"),
    ];
    for (cmd, flags, out, names) in cases {
        let mut args = vec![*cmd, speech.as_str(), "-o", out, "--device", "cpu"];
        args.extend_from_slice(flags);
        let o = wavegpu(&args);
        let line = assert_fails_one_line(&o, 2);
        assert!(line.contains(names), "{cmd} {flags:?}: {line}");
    }
    assert!(!Path::new(&npy).exists() && !Path::new(&png).exists());
}

#[test]
fn input_errors_exit_1_naming_the_file() {
    let dir = scratch("input");
    let out = dir.join("x.npy").display().to_string();
    // librosa.cqt's defaults on 8 kHz audio: refused at the file's own rate.
    let chirp = fixture_str("chirp_8k.wav");
    let line = assert_fails_one_line(&wavegpu(&["cqt", &chirp, "-o", &out]), 1);
    assert!(
        line.contains("chirp_8k.wav") && line.contains("n_bins") && line.contains("8000 Hz"),
        "{line}"
    );
    // Fewer bins at that rate, or a higher rate, work.
    assert_ok(&wavegpu(&["cqt", &chirp, "-o", &out, "--n-bins", "83"]));
    assert_eq!(read_any(Path::new(&out)).shape(), &[83, 1 + 8000 / 512]);
    assert_ok(&wavegpu(&[
        "cqt", &chirp, "-o", &out, "--sr", "16000", "--device", "cpu",
    ]));
    assert_eq!(read_any(Path::new(&out)).shape(), &[84, 1 + 16_000 / 512]);

    let missing = dir.join("missing.wav").display().to_string();
    let line = assert_fails_one_line(&wavegpu(&["vqt", &missing, "-o", &out]), 1);
    assert!(line.contains("missing.wav"), "{line}");
    let text = dir.join("text.wav");
    std::fs::write(&text, "not audio").unwrap();
    let line = assert_fails_one_line(&wavegpu(&["cqt", text.to_str().unwrap(), "-o", &out]), 1);
    assert!(line.contains("text.wav"), "{line}");
}

#[test]
fn help_names_the_flags_and_the_tuning_note() {
    for cmd in ["cqt", "vqt"] {
        let o = wavegpu(&[cmd, "--help"]);
        assert_ok(&o);
        let help = String::from_utf8_lossy(&o.stdout);
        for flag in [
            "--hop-length",
            "--fmin",
            "--n-bins",
            "--bins-per-octave",
            "--filter-scale",
            "--tuning",
            "--sparsity",
            "--norm",
            "--no-scale",
            "--pad-mode",
            "--gamma",
            "--complex",
            "--sr",
            "--no-mono",
            "--device",
            "estimate_tuning",
        ] {
            assert!(help.contains(flag), "{cmd} --help lacks {flag}");
        }
    }
}
