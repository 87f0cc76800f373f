//! Inputs that are valid files but hostile in what they hold or ask for, found by an audit of
//! the CLI (2026-11-22): a header claiming 1 Hz, samples near f32::MAX, an output that is the
//! input, a NaN ten minutes into a streamed file. Each must end in one `wavegpu: ...` line
//! naming the input and the cause, with nothing half-written left behind; before the fixes
//! they aborted the process, ran away with memory, wrote inf/NaN arrays with status 0,
//! overwrote the input, or left a valid-looking empty .npy.

#[path = "common/cli.rs"]
mod cli;
mod common;

use std::path::{Path, PathBuf};

use cli::{assert_fails_one_line, assert_ok, fixture_str, scratch, wavegpu};

/// A mono float32 WAV of `samples` at `rate` Hz.
fn float_wav(path: &Path, rate: u32, samples: &[f32]) {
    common::write_wav(path, samples, rate);
}

fn tone(n: usize, amplitude: f32) -> Vec<f32> {
    (0..n)
        .map(|i| amplitude * (i as f32 * 0.05).sin())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A header that says 1 Hz, resampled to 48 kHz, asked for 48,000 outputs per input sample
/// (a runaway to 9 GB), and to 10 MHz for a 655 GB block (an abort): both are refused.
#[test]
fn absurd_resampling_factors_are_refused() {
    let d = scratch("factors");
    let wav = d.join("one_hz.wav");
    float_wav(&wav, 1, &tone(2000, 0.5));
    for sr in ["48000", "10000000"] {
        let out = d.join("x.npy");
        let o = wavegpu(&["decode", s(&wav), "--sr", sr, "-o", s(&out)]);
        let line = assert_fails_one_line(&o, 1);
        assert!(
            line.contains("one_hz.wav") && line.contains("factor"),
            "{line}"
        );
        assert!(!out.exists());
    }
    // Within the factor it converts: 1 Hz to 1024 Hz.
    let out = d.join("ok.npy");
    assert_ok(&wavegpu(&[
        "decode",
        s(&wav),
        "--sr",
        "1024",
        "-o",
        s(&out),
    ]));
    let x: ndarray::Array1<f32> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(x.len(), 2000 * 1024);
    // The library says the same.
    let audio = wavegpu::Audio::from_mono(tone(100, 0.5), 1);
    let e = wavegpu::io::resample(&audio, 48_000).unwrap_err();
    assert!(matches!(e, wavegpu::Error::InvalidAudio { .. }), "{e}");
}

/// Finite samples near f32::MAX: every spectral result overflows. Nothing is written, and the
/// error says how many values and where the first is.
#[test]
fn overflowing_results_are_not_written() {
    let d = scratch("overflow");
    let wav = d.join("big.wav");
    float_wav(&wav, 22050, &tone(22050, 3e38));
    for cmd in ["stft", "mel", "mfcc", "chroma", "cqt"] {
        let out = d.join(format!("{cmd}.npy"));
        let o = wavegpu(&[cmd, "--device", "cpu", s(&wav), "-o", s(&out)]);
        let line = assert_fails_one_line(&o, 1);
        assert!(
            line.contains("not finite") && line.contains(&format!("{cmd}.npy")),
            "{cmd}: {line}"
        );
        assert!(!out.exists(), "{cmd} wrote {}", out.display());
    }
    // An extreme parameter on ordinary audio, through the image path too.
    let out = d.join("p.png");
    let speech = fixture_str("speech_16k.wav");
    let o = wavegpu(&[
        "stft",
        "--device",
        "cpu",
        &speech,
        "--power",
        "1e10",
        "-o",
        s(&out),
    ]);
    assert!(assert_fails_one_line(&o, 1).contains("not finite"));
    assert!(!out.exists());
    // A gain of 1000 dB in an augmentation pipeline.
    let pipe = d.join("gain.json");
    std::fs::write(
        &pipe,
        r#"[{"name": "gain", "min_gain_db": 1000, "max_gain_db": 1000, "p": 1}]"#,
    )
    .unwrap();
    let out = d.join("g.wav");
    let o = wavegpu(&["augment", "--pipeline", s(&pipe), &speech, "-o", s(&out)]);
    assert!(assert_fails_one_line(&o, 1).contains("not finite"));
    assert!(!out.exists());
}

/// `decode x.wav -o x.wav` (or through a link) would truncate the input while reading it.
#[test]
fn the_input_is_never_the_output() {
    let d = scratch("same");
    let wav = d.join("a.wav");
    float_wav(&wav, 8000, &tone(800, 0.5));
    let before = std::fs::read(&wav).unwrap();
    let link: PathBuf = d.join("link.wav");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&wav, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&wav, &link).unwrap();
    for (input, output) in [(&wav, &wav), (&link, &wav)] {
        let o = wavegpu(&["decode", s(input), "-o", s(output), "--sr", "4000"]);
        let line = assert_fails_one_line(&o, 1);
        assert!(line.contains("is also the output"), "{line}");
    }
    // Directory mode onto itself: every file refused, none rewritten.
    let o = wavegpu(&[
        "decode",
        s(&d),
        "-o",
        s(&d),
        "--format",
        "wav",
        "--sr",
        "4000",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", cli::describe(&o));
    assert!(cli::stderr(&o).contains("is also the output"));
    assert_eq!(std::fs::read(&wav).unwrap(), before);
}

/// A NaN ten minutes in: the streamed run names the sample's place in the file (it named
/// its place in the chunk) and leaves no .npy behind (it left a valid (128, 0) one).
#[test]
fn a_failed_stream_names_the_sample_and_leaves_nothing() {
    let d = scratch("stream_nan");
    let wav = d.join("late_nan.wav");
    let mut y = tone(1_000_000, 0.5);
    y[987_654] = f32::NAN;
    float_wav(&wav, 1000, &y);
    for extra in [&["--stream"][..], &[][..]] {
        let out = d.join("m.npy");
        let mut args = vec!["mel", "--device", "cpu", "--n-fft", "256", "--n-mels", "16"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[s(&wav), "-o", s(&out)]);
        let o = wavegpu(&args);
        let line = assert_fails_one_line(&o, 1);
        assert!(line.contains("sample 987654 of channel 0 is NaN"), "{line}");
        assert!(!out.exists(), "{extra:?} left {}", out.display());
        assert!(!d.join("m.partial.npy").exists());
    }
}

/// Samples of 1e6 made libmp3lame fail an assertion (abort) and the aac encoder never
/// return; 3e38 aborted both. They are refused before FFmpeg sees them.
#[cfg(feature = "ffmpeg")]
#[test]
fn lossy_encoders_are_not_given_huge_samples() {
    let d = scratch("huge_encode");
    let wav = d.join("loud.wav");
    float_wav(&wav, 22050, &tone(22050, 1e6));
    for ext in ["mp3", "m4a", "ogg", "flac"] {
        let out = d.join(format!("y.{ext}"));
        let o = wavegpu(&["decode", s(&wav), "-o", s(&out)]);
        let line = assert_fails_one_line(&o, 1);
        assert!(line.contains("beyond the ±1024"), "{ext}: {line}");
        assert!(!out.exists(), "{ext}");
    }
    // Loud but sane (+20 dB over full scale) still encodes, clipped.
    let wav = d.join("hot.wav");
    float_wav(&wav, 22050, &tone(22050, 10.0));
    assert_ok(&wavegpu(&["decode", s(&wav), "-o", s(&d.join("hot.mp3"))]));
}

/// `cat x.wav | wavegpu stft /dev/stdin`: a pipe's metadata says 0 bytes, so it was refused
/// as an empty file, and the CLI's probe for long inputs read it before the decoder did. A
/// pipe is now read once, whole.
#[cfg(unix)]
#[test]
fn pipes_are_read_whole() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let d = scratch("pipe");
    let wav = std::fs::read(cli::fixture("speech_16k.wav")).unwrap();
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wavegpu"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let bytes = wav.clone();
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let o = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        o
    };
    let o = run(&["probe", "/dev/stdin"]);
    assert_ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"sample_rate\":16000"));
    let piped = d.join("piped.npy");
    assert_ok(&run(&[
        "mel",
        "--device",
        "cpu",
        "/dev/stdin",
        "-o",
        s(&piped),
    ]));
    let direct = d.join("direct.npy");
    let speech = fixture_str("speech_16k.wav");
    assert_ok(&wavegpu(&[
        "mel",
        "--device",
        "cpu",
        &speech,
        "-o",
        s(&direct),
    ]));
    let a: ndarray::Array2<f32> = ndarray_npy::read_npy(&piped).unwrap();
    let b: ndarray::Array2<f32> = ndarray_npy::read_npy(&direct).unwrap();
    assert_eq!(a, b);
}
