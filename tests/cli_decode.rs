//! `wavegpu decode` to audio files, run as a process: WAV sample formats, the FFmpeg formats
//! (with the `ffmpeg` feature; a usage error naming the missing feature without it), codec
//! flags, directory mode with --format, and the exit-status contract (0 / 1 / 2, one line).
//! Files written through FFmpeg are read back with the ffmpeg/ffprobe tools.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The fixture's raw integer samples (16-bit PCM).
fn fixture_ints(name: &str) -> Vec<i32> {
    let mut r = hound::WavReader::open(fixture(name)).unwrap();
    assert_eq!(r.spec().bits_per_sample, 16);
    r.samples::<i32>().map(|x| x.unwrap()).collect()
}

fn wav_ints(p: &Path) -> (hound::WavSpec, Vec<i32>) {
    let mut r = hound::WavReader::open(p).unwrap();
    let spec = r.spec();
    (spec, r.samples::<i32>().map(|x| x.unwrap()).collect())
}

#[test]
fn wav_sample_formats() {
    let dir = scratch("wav_formats");
    let speech = fixture_str("speech_16k.wav");
    let ints = fixture_ints("speech_16k.wav");

    // Default: float32, as before (the samples as librosa.load gives them).
    let f = dir.join("default.wav");
    assert_ok(&wavegpu(&["decode", &speech, "-o", s(&f)]));
    let mut r = hound::WavReader::open(&f).unwrap();
    assert_eq!(r.spec().sample_format, hound::SampleFormat::Float);
    let floats: Vec<f32> = r.samples::<f32>().map(|x| x.unwrap()).collect();
    let want: Vec<f32> = ints.iter().map(|&i| i as f32 / 32768.0).collect();
    assert_eq!(floats, want);

    // s16 gives the fixture's integers back; s24 and s32 the same values shifted.
    for (fmt, shift) in [("s16", 0), ("s24", 8), ("s32", 16)] {
        let p = dir.join(format!("{fmt}.wav"));
        assert_ok(&wavegpu(&[
            "decode",
            &speech,
            "-o",
            s(&p),
            "--sample-format",
            fmt,
        ]));
        let (spec, got) = wav_ints(&p);
        assert_eq!(spec.bits_per_sample, 16 + shift, "{fmt}");
        assert_eq!(spec.sample_rate, 16_000);
        let want: Vec<i32> = ints.iter().map(|&i| i << shift).collect();
        assert!(got == want, "{fmt}: samples differ");
    }

    // Stereo with --no-mono keeps both channels; without, the mean.
    let st = dir.join("stereo.wav");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("stereo_48k.wav"),
        "-o",
        s(&st),
        "--no-mono",
        "--sample-format",
        "s16",
    ]));
    let (spec, got) = wav_ints(&st);
    assert_eq!((spec.channels, spec.sample_rate), (2, 48_000));
    assert_eq!(got, fixture_ints("stereo_48k.wav"));
    let mono = dir.join("mono.wav");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("stereo_48k.wav"),
        "-o",
        s(&mono),
    ]));
    assert_eq!(hound::WavReader::open(&mono).unwrap().spec().channels, 1);
}

#[test]
fn directory_mode_with_a_format() {
    let dir = scratch("dir_format");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(fixture("speech_16k.wav"), input.join("a.wav")).unwrap();
    std::fs::copy(fixture("stereo_48k.wav"), input.join("b.wav")).unwrap();
    let out = dir.join("out");
    assert_ok(&wavegpu(&[
        "decode",
        s(&input),
        "-o",
        s(&out),
        "--format",
        "wav",
        "--sample-format",
        "s16",
    ]));
    assert_eq!(written(&out), ["a.wav", "b.wav"]);
    // Each is what the single-file command writes.
    let single = dir.join("single.wav");
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("speech_16k.wav"),
        "-o",
        s(&single),
        "--sample-format",
        "s16",
    ]));
    assert_eq!(
        std::fs::read(out.join("a.wav")).unwrap(),
        std::fs::read(&single).unwrap()
    );
    // Without --format: .npy as before; an existing directory as OUT takes --format too.
    let npy = dir.join("npy");
    assert_ok(&wavegpu(&["decode", s(&input), "-o", s(&npy)]));
    assert_eq!(written(&npy), ["a.npy", "b.npy"]);
    let one = dir.join("one");
    std::fs::create_dir_all(&one).unwrap();
    assert_ok(&wavegpu(&[
        "decode",
        &fixture_str("speech_16k.wav"),
        "-o",
        s(&one),
        "--format",
        "wav",
    ]));
    assert_eq!(written(&one), ["speech_16k.wav"]);
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let dir = scratch("usage");
    let speech = fixture_str("speech_16k.wav");
    let wav = dir.join("x.wav");
    let npy = dir.join("x.npy");
    let cases: Vec<Vec<&str>> = vec![
        vec!["decode", &speech, "-o", s(&wav), "--bitrate", "128k"],
        vec!["decode", &speech, "-o", s(&wav), "--quality", "2"],
        vec!["decode", &speech, "-o", s(&wav), "--compression-level", "5"],
        vec!["decode", &speech, "-o", s(&npy), "--sample-format", "s16"],
        vec!["decode", &speech, "-o", s(&npy), "--codec", "flac"],
        vec!["decode", &speech, "-o", s(&wav), "--format", "npy"],
        vec!["decode", &speech, "-o", s(&wav), "--sample-format", "f64"],
        vec!["decode", &speech, "-o", s(&wav), "--format", "aiff"],
        vec!["decode", &speech, "-o", "x.png"],
        vec!["decode", &speech, "-o", "x.txt"],
        vec!["decode", &speech, "-o", "x.mp3", "--bitrate", "128"],
        vec!["decode", &speech, "-o", "x.mp3", "--bitrate", "lots"],
        vec!["decode", &speech, "-o", "x.mp3", "--quality", "inf"],
        vec![
            "decode",
            &speech,
            "-o",
            "x.flac",
            "--compression-level",
            "-1",
        ],
    ];
    for args in cases {
        let o = wavegpu(&args);
        let line = assert_fails_one_line(&o, 2);
        assert!(line.len() > 20, "{args:?}: {line}");
    }
    assert_eq!(written(&dir), Vec::<String>::new());
}

#[test]
fn input_errors_exit_1_with_one_line() {
    let dir = scratch("inputs");
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"not a RIFF file at all").unwrap();
    for input in [s(&garbage), "/no/such/file.wav"] {
        let out = dir.join("out.wav");
        let o = wavegpu(&["decode", input, "-o", s(&out)]);
        let line = assert_fails_one_line(&o, 1);
        assert!(line.contains(input), "{line}");
        assert!(!out.exists());
    }
    // An output in a directory that does not exist: exit 1, naming the output.
    let out = dir.join("missing").join("x.wav");
    let o = wavegpu(&["decode", &fixture_str("speech_16k.wav"), "-o", s(&out)]);
    let line = assert_fails_one_line(&o, 1);
    assert!(line.contains("missing"), "{line}");
}

#[cfg(not(feature = "ffmpeg"))]
#[test]
fn compressed_outputs_need_the_ffmpeg_feature() {
    let dir = scratch("no_ffmpeg");
    let speech = fixture_str("speech_16k.wav");
    for ext in ["flac", "mp3", "opus", "m4a", "ogg"] {
        let out = dir.join(format!("x.{ext}"));
        let o = wavegpu(&["decode", &speech, "-o", s(&out)]);
        let line = assert_fails_one_line(&o, 2);
        assert!(
            line.contains("FFmpeg") && line.contains("`ffmpeg`"),
            "{ext}: {line}"
        );
        // Directory mode too, before any file is read.
        let o = wavegpu(&[
            "decode",
            s(fixture("speech_16k.wav").parent().unwrap()),
            "-o",
            s(&dir.join("out")),
            "--format",
            ext,
        ]);
        assert_fails_one_line(&o, 2);
    }
    // --codec also needs FFmpeg, even for .wav.
    let o = wavegpu(&[
        "decode",
        &speech,
        "-o",
        s(&dir.join("x.wav")),
        "--codec",
        "pcm_s24le",
    ]);
    assert_fails_one_line(&o, 2);
    assert_eq!(written(&dir), Vec::<String>::new());
}

#[cfg(feature = "ffmpeg")]
mod ffmpeg {
    use super::*;
    use std::process::Command;

    fn tools() -> bool {
        let ok = Command::new("ffprobe").arg("-version").output().is_ok()
            && Command::new("ffmpeg").arg("-version").output().is_ok();
        if !ok {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but the ffmpeg/ffprobe tools are missing");
            }
            eprintln!("skipping: the ffmpeg/ffprobe command-line tools are missing");
        }
        ok
    }

    fn probe(p: &Path) -> serde_json::Value {
        let o = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_streams",
                "-show_format",
                "-of",
                "json",
            ])
            .arg(p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    /// Decoded with the ffmpeg tool as 16-bit integers, interleaved.
    fn decode_s16(p: &Path) -> Vec<i32> {
        let o = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(p)
            .args(["-f", "s16le", "-"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]) as i32)
            .collect()
    }

    fn size(p: &Path) -> u64 {
        std::fs::metadata(p).unwrap().len()
    }

    #[test]
    fn every_format_round_trips() {
        if !tools() {
            return;
        }
        let dir = scratch("formats");
        let stereo = fixture_str("stereo_48k.wav");
        for (ext, codec) in [
            ("flac", "flac"),
            ("mp3", "mp3"),
            ("opus", "opus"),
            ("m4a", "aac"),
            ("ogg", "vorbis"),
        ] {
            let out = dir.join(format!("x.{ext}"));
            assert_ok(&wavegpu(&["decode", &stereo, "-o", s(&out), "--no-mono"]));
            let v = probe(&out);
            let st = &v["streams"][0];
            assert_eq!(st["codec_name"], codec, "{ext}");
            assert_eq!(st["sample_rate"], "48000", "{ext}");
            assert_eq!(st["channels"], 2, "{ext}");
            let d: f64 = v["format"]["duration"].as_str().unwrap().parse().unwrap();
            // 0.5 s, plus what the container counts of the codec's delay (MP3 frames whole,
            // Opus's 312-sample pre-skip).
            assert!((0.5..0.53).contains(&d), "{ext}: {d} s");
            // Mono by default.
            let m = dir.join(format!("mono.{ext}"));
            assert_ok(&wavegpu(&["decode", &stereo, "-o", s(&m)]));
            assert_eq!(probe(&m)["streams"][0]["channels"], 1, "{ext}");
        }
        // FLAC of 16-bit input is the input, bit for bit.
        let flac = dir.join("x.flac");
        assert_eq!(decode_s16(&flac), fixture_ints("stereo_48k.wav"));
    }

    #[test]
    fn codec_flags_take_effect() {
        if !tools() {
            return;
        }
        let dir = scratch("flags");
        let music = fixture_str("music_22k.wav");
        let run = |name: &str, extra: &[&str]| {
            let p = dir.join(name);
            let mut args = vec!["decode", &music, "-o", s(&p)];
            args.extend_from_slice(extra);
            assert_ok(&wavegpu(&args));
            p
        };
        // Bit rate.
        // (libvorbis caps mono 22.05 kHz near 64 kb/s: a lower pair for .ogg.)
        for (ext, lo, hi) in [
            ("mp3", "48k", "160k"),
            ("opus", "48k", "160k"),
            ("m4a", "48k", "160k"),
            ("ogg", "16k", "64k"),
        ] {
            let lo = run(&format!("lo.{ext}"), &["--bitrate", lo]);
            let hi = run(&format!("hi.{ext}"), &["--bitrate", hi]);
            assert!(
                size(&lo) * 2 < size(&hi),
                "{ext}: {} vs {}",
                size(&lo),
                size(&hi)
            );
        }
        // VBR quality.
        let q9 = run("q9.mp3", &["--quality", "9"]);
        let q0 = run("q0.mp3", &["--quality", "0"]);
        assert!(size(&q9) < size(&q0));
        let v1 = run("v1.ogg", &["--quality", "1"]);
        let v8 = run("v8.ogg", &["--quality", "8"]);
        assert!(size(&v1) < size(&v8));
        // FLAC compression level: smaller, same samples; --sample-format s24.
        let c0 = run("c0.flac", &["--compression-level", "0"]);
        let c12 = run("c12.flac", &["--compression-level", "12"]);
        assert!(size(&c12) < size(&c0));
        assert_eq!(decode_s16(&c0), decode_s16(&c12));
        let s24 = run("s24.flac", &["--sample-format", "s24"]);
        assert_eq!(probe(&s24)["streams"][0]["bits_per_raw_sample"], "24");
        assert_eq!(decode_s16(&s24), decode_s16(&c0));
        // Opus: 22.05 kHz is resampled for it; --sr picks a rate it takes.
        let o = run("m.opus", &[]);
        assert_eq!(probe(&o)["streams"][0]["codec_name"], "opus");
        let o16 = run("m16.opus", &["--sr", "16000"]);
        assert!(size(&o16) > 0);
        // --codec: Opus in Ogg, 24-bit PCM in WAV.
        let oo = run("opus_in.ogg", &["--codec", "opus"]);
        assert_eq!(probe(&oo)["streams"][0]["codec_name"], "opus");
        let pcm = run("pcm.wav", &["--codec", "pcm_s24le"]);
        let (spec, _) = wav_ints(&pcm);
        assert_eq!(spec.bits_per_sample, 24);
        // Directory mode to mp3.
        let input = dir.join("in");
        std::fs::create_dir_all(&input).unwrap();
        std::fs::copy(fixture("speech_16k.wav"), input.join("a.wav")).unwrap();
        std::fs::copy(fixture("music_22k.wav"), input.join("b.wav")).unwrap();
        let out = dir.join("out");
        assert_ok(&wavegpu(&[
            "decode",
            s(&input),
            "-o",
            s(&out),
            "--format",
            "mp3",
            "--bitrate",
            "64k",
        ]));
        assert_eq!(written(&out), ["a.mp3", "b.mp3"]);
        assert_eq!(
            probe(&out.join("b.mp3"))["streams"][0]["sample_rate"],
            "22050"
        );
    }

    #[test]
    fn ffmpeg_usage_and_input_errors() {
        if !tools() {
            return;
        }
        let dir = scratch("ffmpeg_errors");
        let speech = fixture_str("speech_16k.wav");
        let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
        let (flac, opus, m4a, mp3) = (p("x.flac"), p("x.opus"), p("x.m4a"), p("x.mp3"));
        let usage: Vec<Vec<&str>> = vec![
            vec!["decode", &speech, "-o", &flac, "--bitrate", "128k"],
            vec!["decode", &speech, "-o", &flac, "--sample-format", "f32"],
            vec!["decode", &speech, "-o", &flac, "--sample-format", "s32"],
            vec!["decode", &speech, "-o", &flac, "--compression-level", "13"],
            vec!["decode", &speech, "-o", &opus, "--quality", "5"],
            vec!["decode", &speech, "-o", &opus, "--sr", "44100"],
            vec!["decode", &speech, "-o", &m4a, "--compression-level", "3"],
            vec!["decode", &speech, "-o", &mp3, "--codec", "nosuchcodec"],
            vec!["decode", &speech, "-o", &mp3, "--codec", "flac"],
            vec!["decode", &speech, "-o", &mp3, "--quality", "12"],
            vec![
                "decode",
                &speech,
                "-o",
                &mp3,
                "--quality",
                "2",
                "--bitrate",
                "64k",
            ],
            vec!["decode", &speech, "-o", &mp3, "--sample-format", "s24"],
        ];
        for args in usage {
            let o = wavegpu(&args);
            let line = assert_fails_one_line(&o, 2);
            assert!(line.len() > 20, "{args:?}: {line}");
        }
        assert_eq!(written(&dir), Vec::<String>::new());

        // Three channels into MP3 (which takes one or two): that file fails, exit 1.
        let three = dir.join("three.wav");
        let a = wavegpu::Audio::new(ndarray::Array2::zeros((3, 1000)), 16_000).unwrap();
        wavegpu::io::write_wav(&three, &a).unwrap();
        let out = dir.join("three.mp3");
        let o = wavegpu(&["decode", s(&three), "-o", s(&out), "--no-mono"]);
        let line = assert_fails_one_line(&o, 1);
        assert!(
            line.contains("three.mp3") && line.contains("channels"),
            "{line}"
        );
        assert!(!out.exists());
        // Mixed down (the default), it works.
        assert_ok(&wavegpu(&["decode", s(&three), "-o", s(&out)]));
    }
}
