//! FFmpeg's log goes to the `log` crate (target `ffmpeg`), never straight to stderr: a damaged
//! file's warnings reach the process's logger, and the CLI (which sets none) prints only its
//! own one-line error.
#![cfg(feature = "ffmpeg")]

#[cfg(feature = "cli")]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::sync::Mutex;

use common::fixture_path;
use wavegpu::io::{Decoder, FfmpegDecoder, Source};

struct Capture;

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap()
            .push((r.level(), r.target().to_string(), r.args().to_string()));
    }
    fn flush(&self) {}
}

/// Every 97th byte after the headers flipped: frames FFmpeg decodes with complaints.
fn damaged_mp3() -> Vec<u8> {
    let mut b = std::fs::read(fixture_path("speech_16k.mp3")).unwrap();
    for i in (2000..b.len()).step_by(97) {
        b[i] ^= 0x5a;
    }
    b
}

fn ffmpeg_records() -> Vec<(log::Level, String)> {
    RECORDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t, _)| t == "ffmpeg")
        .map(|(l, _, m)| (*l, m.clone()))
        .collect()
}

#[test]
fn ffmpeg_messages_reach_the_logger() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    // A damaged MP3 decodes (FFmpeg skips what it cannot read) and says so through `log`.
    let mut d = FfmpegDecoder::open(Source::bytes(damaged_mp3()).with_extension("mp3")).unwrap();
    let mut frames = 0;
    while let Some(c) = d.next_chunk().unwrap() {
        frames += c.frames();
    }
    assert!(frames > 0);
    let got = ffmpeg_records();
    assert!(
        got.iter()
            .any(|(l, m)| *l == log::Level::Warn && m.contains("mp3")),
        "no FFmpeg warning about the damaged MP3 reached the logger: {got:?}"
    );
    assert!(
        got.iter().all(|(_, m)| !m.is_empty() && !m.ends_with('\n')),
        "{got:?}"
    );

    // A truncated MP4 fails to open with a typed error; FFmpeg's own complaint is logged.
    let m4a = std::fs::read(fixture_path("speech_16k.m4a")).unwrap();
    let half = m4a[..m4a.len() / 2].to_vec();
    let e = FfmpegDecoder::open(Source::bytes(half).with_extension("m4a")).err();
    assert!(e.is_some());
    let got = ffmpeg_records();
    assert!(
        got.iter().any(|(_, m)| m.contains("moov atom not found")),
        "{got:?}"
    );
}

/// The CLI sets no logger: a damaged file decodes with nothing on stderr, and a truncated one
/// fails with exactly the CLI's one line (FFmpeg's "moov atom not found" used to precede it).
#[cfg(feature = "cli")]
#[test]
fn cli_stderr_has_no_ffmpeg_lines() {
    let dir = common::TempDir::new("ffmpeg_log");
    let mp3 = dir.path("damaged.mp3");
    std::fs::write(&mp3, damaged_mp3()).unwrap();
    let out = dir.path("out.npy");
    let (m, o) = (mp3.to_str().unwrap(), out.to_str().unwrap());
    let r = cli::wavegpu(&["decode", "--decoder", "ffmpeg", m, "-o", o]);
    cli::assert_ok(&r);
    assert_eq!(String::from_utf8_lossy(&r.stderr), "");

    let m4a = std::fs::read(fixture_path("speech_16k.m4a")).unwrap();
    let cut = dir.path("cut.m4a");
    std::fs::write(&cut, &m4a[..m4a.len() / 2]).unwrap();
    let r = cli::wavegpu(&[
        "decode",
        "--decoder",
        "ffmpeg",
        cut.to_str().unwrap(),
        "-o",
        o,
    ]);
    let line = cli::assert_fails_one_line(&r, 1);
    assert!(line.contains("cut.m4a"), "{line}");
}
