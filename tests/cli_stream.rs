//! `wavegpu stft|mel|mfcc|chroma` streaming (`--stream`, and inputs of 10 minutes or more without
//! it; resampling with --sr block by block): the .npy equals a whole-file run (exact on the CPU; on the GPU, dB and DCT applied on
//! the CPU twin are held to DESIGN's 1e-3 dB / 1e-4), and an hour of audio goes through
//! `wavegpu mel --db` with the process's peak RSS bounded far below the decoded signal's size.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

use std::path::Path;
use std::process::Command;

use ndarray::{s, ArrayD};

fn read(p: &Path) -> ArrayD<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn max_abs(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn streamed_npy_equals_whole_file() {
    let dir = scratch("equal");
    let devices: Vec<&str> = if common::gpu().is_some() {
        vec!["cpu", "gpu"]
    } else {
        vec!["cpu"]
    };
    for dev in devices {
        for (cmd, extra, file, tol) in [
            ("stft", &["--power", "2"][..], "speech_16k.wav", 0.0),
            (
                "stft",
                &["--no-mono", "--n-fft", "1000"][..],
                "stereo_48k.wav",
                0.0,
            ),
            ("mel", &[][..], "speech_16k.wav", 0.0),
            ("mel", &["--db"][..], "speech_16k.flac", 1e-3),
            ("mel", &["--db", "--no-mono"][..], "stereo_48k.wav", 1e-3),
            ("mfcc", &["--n-mfcc", "13"][..], "speech_16k.wav", 1e-3),
            ("chroma", &[][..], "speech_16k.mp3", 1e-6),
            // Resampled block by block == resampled whole.
            ("mel", &["--sr", "22050"][..], "speech_16k.wav", 0.0),
            (
                "stft",
                &["--sr", "16000", "--no-mono"][..],
                "stereo_48k.wav",
                0.0,
            ),
        ] {
            let input = fixture_str(file);
            let (a, b) = (dir.join("whole.npy"), dir.join("stream.npy"));
            let mut args = vec![cmd, input.as_str(), "--device", dev];
            args.extend_from_slice(extra);
            let whole: Vec<&str> = args
                .iter()
                .copied()
                .chain(["-o", a.to_str().unwrap()])
                .collect();
            let streamed: Vec<&str> = args
                .iter()
                .copied()
                .chain(["-o", b.to_str().unwrap(), "--stream"])
                .collect();
            assert_ok(&wavegpu(&whole));
            assert_ok(&wavegpu(&streamed));
            let (x, y) = (read(&a), read(&b));
            let tol = if dev == "cpu" { 0.0 } else { tol };
            let e = max_abs(&x, &y);
            assert!(e <= tol, "{cmd} {extra:?} {file} on {dev}: {e}");
            assert!(
                written(&dir).iter().all(|n| !n.contains("partial")),
                "partial file left"
            );
        }
    }
}

/// Peak resident memory of a child process, polled from /proc until it exits.
fn run_peak_rss(args: &[&str]) -> (std::process::ExitStatus, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wavegpu"))
        .args(args)
        .spawn()
        .expect("spawn wavegpu");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kb * 1024);
            }
        }
        if let Some(st) = child.try_wait().expect("wait") {
            return (st, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// An hour of 16 kHz mono 16-bit PCM (115 MB on disk, 230 MB as f32 samples) through
/// `wavegpu mel --db` on the CPU, no flag: it streams by itself. The output has every frame;
/// its first minute (before the dB floor, from `wavegpu mel`) equals a whole-file run of that
/// minute; the process's peak RSS stays under 64 MB (measured: 13 MB).
#[test]
fn an_hour_through_mel_in_bounded_memory() {
    let dir = scratch("hour");
    let wav = dir.join("hour.wav");
    let sr = 16_000u32;
    let total = 3600 * sr as usize;
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: sr,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wav, spec).unwrap();
        let mut state = 0x9e37_79b9u32;
        let mut i16w = w.get_i16_writer(total as u32);
        for i in 0..total {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((state >> 16) as i32 - 32768) / 8;
            let tone = (8000.0 * (i as f32 * 0.05).sin()) as i32;
            i16w.write_sample((noise + tone).clamp(-32768, 32767) as i16);
        }
        i16w.flush().unwrap();
        w.finalize().unwrap();
    }
    let out = dir.join("hour.npy");
    let (status, peak) = run_peak_rss(&[
        "mel",
        wav.to_str().unwrap(),
        "--db",
        "-o",
        out.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(status.success(), "wavegpu mel --db on an hour: {status:?}");
    eprintln!(
        "an hour through `wavegpu mel --db`: peak RSS {} MB",
        peak >> 20
    );
    assert!(peak > 0 && peak < 64 << 20, "peak RSS {} MB", peak >> 20);
    let x = read(&out);
    assert_eq!(x.shape(), &[128, 1 + total / 512]);
    assert!(x.iter().all(|v| v.is_finite()));
    // The first minute, without dB: streamed (forced) == a whole run of that minute, on the
    // frames whose windows end inside it.
    let minute = dir.join("minute.wav");
    {
        let mut r = hound::WavReader::open(&wav).unwrap();
        let mut w = hound::WavWriter::create(&minute, r.spec()).unwrap();
        for v in r.samples::<i16>().take(60 * sr as usize) {
            w.write_sample(v.unwrap()).unwrap();
        }
        w.finalize().unwrap();
    }
    let (p1, p2) = (dir.join("p1.npy"), dir.join("p2.npy"));
    assert_ok(&wavegpu(&[
        "mel",
        wav.to_str().unwrap(),
        "--stream",
        "-o",
        p1.to_str().unwrap(),
        "--device",
        "cpu",
    ]));
    assert_ok(&wavegpu(&[
        "mel",
        minute.to_str().unwrap(),
        "-o",
        p2.to_str().unwrap(),
        "--device",
        "cpu",
    ]));
    let (a, b) = (read(&p1), read(&p2));
    let inside = (60 * sr as usize - 1024) / 512; // frames ending before the minute's end
    assert_eq!(a.slice(s![.., ..inside]), b.slice(s![.., ..inside]));
    let _ = std::fs::remove_dir_all(&dir);
}
