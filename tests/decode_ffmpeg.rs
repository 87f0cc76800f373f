//! The FFmpeg decoding backend (cargo feature `ffmpeg`): agreement with the `ffmpeg` command
//! line and with the symphonia backend, exact seeking, sources, options, and typed errors
//! (never a panic or a hang) on damaged input.
//!
//! Measured against `ffmpeg -i IN -f f32le -acodec pcm_f32le -` (FFmpeg 5.1, the same
//! libraries the backend links), de-interleaved:
//!
//! | file | frames (ours = CLI) | max abs diff vs CLI |
//! | --- | --- | --- |
//! | wav s16 / f32 / stereo s16, flac (fixtures) | 23542 / 12345 / 24000 / 23542 | 0 |
//! | mp3 (LAME delay and padding trimmed) | 23542 | 0 |
//! | ogg vorbis | 23542 | 0 |
//! | m4a AAC (priming trimmed; FFmpeg 5.1 keeps 10 padding frames) | 23552 | 0 |
//! | opus mono / stereo (pre-skip trimmed, 48 kHz) | 70626 / 24000 | 0 |
//! | raw ADTS AAC (no priming information: nothing trimmed) | 24576 | 0 |
//! | ALAC in m4a | 24000 | 0 |
//!
//! so the tolerance asserted is 0 for every format (`CLI_TOLERANCE`). Lossless files (WAV
//! 8/16/24/32-bit integer, 32/64-bit float, FLAC 16/24-bit) also decode bit-identically to the
//! symphonia backend.
//!
//! Seeking against decoding from the start: bit identical for WAV, FLAC, MP3, Vorbis, Opus and
//! AAC at every target tried; AAC with `fast_seek` differs only in PNS noise (see
//! `seek_tolerance`), at the exact position.
#![cfg(feature = "ffmpeg")]

mod common;

use common::{ffmpeg, fixture_path as fixture, have_ffmpeg, noise_bytes, variant, TempDir};
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wavegpu::io::{open_decoder, Backend, Decoder, FfmpegDecoder, FfmpegOptions, Source};
use wavegpu::Error;

/// Max abs difference allowed between this backend and the ffmpeg CLI (measured: 0).
const CLI_TOLERANCE: f32 = 0.0;

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

/// The ffmpeg CLI's own decode, `channels` planes of f32.
fn cli_decode(input: &Path, channels: usize) -> Vec<Vec<f32>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(input)
        .args(["-f", "f32le", "-acodec", "pcm_f32le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed on {}", input.display());
    let samples: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(samples.len() % channels, 0);
    let frames = samples.len() / channels;
    (0..channels)
        .map(|c| (0..frames).map(|i| samples[i * channels + c]).collect())
        .collect()
}

/// Decodes everything left in `dec`, planar.
fn drain(dec: &mut dyn Decoder) -> wavegpu::Result<Vec<Vec<f32>>> {
    let channels = dec.spec().channels;
    let mut planes = vec![Vec::new(); channels];
    while let Some(chunk) = dec.next_chunk()? {
        assert_eq!(chunk.channels(), channels);
        for (c, p) in planes.iter_mut().enumerate() {
            p.extend_from_slice(chunk.channel(c));
        }
    }
    Ok(planes)
}

fn decode_ffmpeg(path: &Path) -> (wavegpu::io::StreamInfo, Vec<Vec<f32>>) {
    let mut dec = FfmpegDecoder::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let planes = drain(&mut dec).unwrap();
    (dec.spec().clone(), planes)
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn bits(p: &[Vec<f32>]) -> Vec<Vec<u32>> {
    p.iter()
        .map(|c| c.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// The Opus file: the committed fixture if another change added it, else one made here.
fn opus_file(tmp: &TempDir) -> Option<PathBuf> {
    let committed = fixture("speech_16k.opus");
    if committed.exists() {
        return Some(committed);
    }
    let made = tmp.path("speech_16k.opus");
    ffmpeg(
        &fixture("speech_16k.wav"),
        &made,
        &["-c:a", "libopus", "-b:a", "32k"],
    )
    .then_some(made)
}

/// The lossy files: (name, path).
fn lossy_files(tmp: &TempDir) -> Vec<(&'static str, PathBuf)> {
    let mut v = vec![
        ("mp3", fixture("speech_16k.mp3")),
        ("ogg", fixture("speech_16k.ogg")),
        ("m4a", fixture("speech_16k.m4a")),
    ];
    if let Some(p) = opus_file(tmp) {
        v.push(("opus", p));
    }
    v
}

/// Decodes `source` fully; Ok(planes) or the typed error. Panics (failing the test) on a
/// panic or an untyped error, and on taking more than 20 s.
fn decode_outcome(source: Source<'_>) -> std::result::Result<Vec<Vec<f32>>, Error> {
    let t = Instant::now();
    let name = source.name().to_string();
    let result = FfmpegDecoder::open(source).and_then(|mut d| drain(&mut d));
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "{name}: took {:?}",
        t.elapsed()
    );
    if let Err(e) = &result {
        assert_ne!(variant(e), "other", "{name}: unexpected error kind {e}");
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "multi-line message: {msg}");
    }
    result
}

// ---------------------------------------------------------------------------------------
// agreement: the ffmpeg CLI, the symphonia backend
// ---------------------------------------------------------------------------------------

#[test]
fn matches_the_ffmpeg_cli_on_every_format() {
    if !have_ffmpeg() {
        eprintln!("skipping: no ffmpeg CLI");
        return;
    }
    let tmp = TempDir::new("cli");
    let mut files = vec![
        ("wav s16", fixture("speech_16k.wav")),
        ("wav f32", fixture("odd_44k.wav")),
        ("wav stereo", fixture("stereo_48k.wav")),
        ("flac", fixture("speech_16k.flac")),
    ];
    files.extend(lossy_files(&tmp));
    let stereo_opus = tmp.path("stereo.opus");
    if ffmpeg(
        &fixture("stereo_48k.wav"),
        &stereo_opus,
        &["-c:a", "libopus"],
    ) {
        files.push(("opus stereo", stereo_opus));
    }
    let aac_adts = tmp.path("speech.aac");
    if ffmpeg(&fixture("speech_16k.wav"), &aac_adts, &["-c:a", "aac"]) {
        files.push(("aac adts", aac_adts));
    }
    let alac = tmp.path("stereo_alac.m4a");
    if ffmpeg(&fixture("stereo_48k.wav"), &alac, &["-c:a", "alac"]) {
        files.push(("alac", alac));
    }
    for (name, path) in files {
        let (info, ours) = decode_ffmpeg(&path);
        let cli = cli_decode(&path, info.channels);
        assert_eq!(ours.len(), cli.len(), "{name}: channels");
        assert_eq!(ours[0].len(), cli[0].len(), "{name}: frames");
        let diff = ours
            .iter()
            .zip(&cli)
            .map(|(a, b)| max_abs(a, b))
            .fold(0.0, f32::max);
        eprintln!(
            "{name:12} {:>5} {:>10} {} ch {} Hz {:>6} frames: max abs diff vs CLI {diff:e}",
            info.container,
            info.codec,
            info.channels,
            info.sample_rate,
            ours[0].len()
        );
        assert!(
            diff <= CLI_TOLERANCE,
            "{name}: max abs diff {diff} vs the CLI"
        );
        if let Some(n) = info.frames {
            assert_eq!(n as usize, ours[0].len(), "{name}: announced frames");
        }
    }
}

#[test]
fn lossless_files_match_symphonia_bit_for_bit() {
    let tmp = TempDir::new("lossless");
    let mut files = vec![
        fixture("speech_16k.wav"),
        fixture("odd_44k.wav"),
        fixture("stereo_48k.wav"),
        fixture("short_16k.wav"),
        fixture("silence_16k.wav"),
        fixture("speech_16k.flac"),
    ];
    // Other PCM widths, written here: 24-bit and 32-bit integer and 64-bit float WAV, 8-bit
    // unsigned WAV and 24-bit FLAC.
    if have_ffmpeg() {
        for (name, args) in [
            ("s24.wav", &["-c:a", "pcm_s24le"][..]),
            ("s32.wav", &["-c:a", "pcm_s32le"][..]),
            ("f64.wav", &["-c:a", "pcm_f64le"][..]),
            ("u8.wav", &["-c:a", "pcm_u8"][..]),
            ("s24.flac", &["-c:a", "flac", "-sample_fmt", "s32"][..]),
        ] {
            let p = tmp.path(name);
            if ffmpeg(&fixture("stereo_48k.wav"), &p, args) {
                files.push(p);
            }
        }
    }
    for path in files {
        let (info, ours) = decode_ffmpeg(&path);
        let mut sym = Backend::Symphonia.open(path.as_path()).unwrap();
        let theirs = drain(sym.as_mut()).unwrap();
        let s = sym.spec();
        let name = path.file_name().unwrap().to_string_lossy();
        eprintln!(
            "{name}: {} {} {:?} bits, {} frames",
            info.container,
            info.codec,
            info.bits_per_sample,
            ours[0].len()
        );
        assert_eq!(bits(&ours), bits(&theirs), "{name}: samples differ");
        assert_eq!(info.sample_rate, s.sample_rate, "{name}");
        assert_eq!(info.channels, s.channels, "{name}");
        assert_eq!(info.frames, s.frames, "{name}");
        assert_eq!(info.codec, s.codec, "{name}");
        assert_eq!(info.container, s.container, "{name}");
        if !info.codec.starts_with("pcm_f") {
            // (symphonia gives no bit depth for 32-bit float WAV, 64 for 64-bit float; this
            // backend gives 32 and 64.)
            assert_eq!(info.bits_per_sample, s.bits_per_sample, "{name}");
        }
        assert_eq!(info.backend, "ffmpeg");
    }
}

#[test]
fn symphonia_has_no_opus_decoder() {
    let tmp = TempDir::new("opus_sym");
    let Some(opus) = opus_file(&tmp) else {
        return;
    };
    let Err(e) = Backend::Symphonia.open(opus.as_path()) else {
        panic!("symphonia opened an Opus file");
    };
    assert_eq!(variant(&e), "Unsupported", "{e}");
    assert!(e.to_string().contains("Opus"), "{e}");
    // ... while FFmpeg decodes it: 48 kHz, the pre-skip trimmed, 3x the 16 kHz length.
    let (info, planes) = decode_ffmpeg(&opus);
    assert_eq!(
        (info.codec.as_str(), info.container.as_str()),
        ("opus", "ogg")
    );
    assert_eq!(info.sample_rate, 48_000);
    assert_eq!(planes[0].len(), 3 * 23_542);
}

#[test]
fn probe_reads_the_headers() {
    for name in ["speech_16k.wav", "speech_16k.flac", "stereo_48k.wav"] {
        let p = fixture(name);
        let ff = Backend::Ffmpeg.probe(p.as_path()).unwrap();
        let sy = Backend::Symphonia.probe(p.as_path()).unwrap();
        assert_eq!(ff.backend, "ffmpeg");
        assert_eq!(
            (
                &ff.container,
                &ff.codec,
                ff.sample_rate,
                ff.channels,
                ff.frames,
                ff.bits_per_sample
            ),
            (
                &sy.container,
                &sy.codec,
                sy.sample_rate,
                sy.channels,
                sy.frames,
                sy.bits_per_sample
            ),
            "{name}"
        );
        assert_eq!(ff.duration, sy.duration, "{name}");
    }
    let f32wav = Backend::Ffmpeg
        .probe(fixture("odd_44k.wav").as_path())
        .unwrap();
    assert_eq!(
        (f32wav.codec.as_str(), f32wav.bits_per_sample),
        ("pcm_f32le", Some(32))
    );
    assert_eq!(f32wav.frames, Some(12_345));
    let m4a = Backend::Ffmpeg
        .probe(fixture("speech_16k.m4a").as_path())
        .unwrap();
    assert_eq!((m4a.container.as_str(), m4a.codec.as_str()), ("mp4", "aac"));
    assert_eq!(m4a.frames, Some(23_552));
    let mp3 = Backend::Ffmpeg
        .probe(fixture("speech_16k.mp3").as_path())
        .unwrap();
    assert_eq!((mp3.container.as_str(), mp3.codec.as_str()), ("mp3", "mp3"));
    assert_eq!((mp3.sample_rate, mp3.channels), (16_000, 1));
    // The decoder's spec agrees with the probe.
    for name in ["speech_16k.ogg", "speech_16k.m4a", "speech_16k.flac"] {
        let p = fixture(name);
        let probe = Backend::Ffmpeg.probe(p.as_path()).unwrap();
        let dec = FfmpegDecoder::open(p.as_path()).unwrap();
        let s = dec.spec();
        assert_eq!(
            (
                &probe.container,
                &probe.codec,
                probe.sample_rate,
                probe.channels,
                probe.frames
            ),
            (&s.container, &s.codec, s.sample_rate, s.channels, s.frames),
            "{name}"
        );
    }
}

#[test]
fn backend_wiring() {
    assert!(Backend::Ffmpeg.is_available());
    let p = fixture("speech_16k.flac");
    let mut dec = open_decoder(p.as_path(), Backend::Ffmpeg).unwrap();
    assert_eq!(dec.spec().backend, "ffmpeg");
    assert_eq!(drain(dec.as_mut()).unwrap()[0].len(), 23_542);
    let mut dec = Backend::Ffmpeg.open(p.as_path()).unwrap();
    assert_eq!(dec.seek(100).unwrap(), 100);
}

// ---------------------------------------------------------------------------------------
// sources
// ---------------------------------------------------------------------------------------

#[test]
fn bytes_and_reader_sources_equal_the_path() {
    let tmp = TempDir::new("sources");
    let mut files = vec![fixture("speech_16k.wav"), fixture("speech_16k.flac")];
    files.extend(lossy_files(&tmp).into_iter().map(|(_, p)| p));
    for path in files {
        let (info, from_path) = decode_ffmpeg(&path);
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();

        let mut dec = FfmpegDecoder::open(Source::bytes(data.as_slice()).with_name(&name)).unwrap();
        assert_eq!(dec.spec().input, name);
        assert_eq!(dec.spec().frames, info.frames);
        assert_eq!(
            bits(&drain(&mut dec).unwrap()),
            bits(&from_path),
            "{name}: bytes"
        );

        // Without a name or hint: the content alone is enough.
        let mut dec = FfmpegDecoder::open(data.clone()).unwrap();
        assert_eq!(dec.spec().input, "<memory>");
        assert_eq!(
            bits(&drain(&mut dec).unwrap()),
            bits(&from_path),
            "{name}: vec"
        );

        // A reader that is not at its start: it is rewound.
        let mut cursor = Cursor::new(data.clone());
        cursor.seek(SeekFrom::Start(7)).unwrap();
        let mut dec = FfmpegDecoder::open(Source::reader(cursor)).unwrap();
        assert_eq!(
            bits(&drain(&mut dec).unwrap()),
            bits(&from_path),
            "{name}: reader"
        );

        let mut dec =
            FfmpegDecoder::open(Source::reader(std::fs::File::open(&path).unwrap())).unwrap();
        assert_eq!(
            bits(&drain(&mut dec).unwrap()),
            bits(&from_path),
            "{name}: file reader"
        );
    }
}

#[test]
fn paths_are_never_ffmpeg_urls() {
    // A file whose name looks like an FFmpeg protocol is still just a file.
    let tmp = TempDir::new("urls");
    let odd = tmp.path("concat:x|y.wav");
    std::fs::copy(fixture("short_16k.wav"), &odd).unwrap();
    let (_, planes) = decode_ffmpeg(&odd);
    assert_eq!(planes[0].len(), 300);
}

// ---------------------------------------------------------------------------------------
// seeking
// ---------------------------------------------------------------------------------------

/// Seeks to each target (in the given order) on one decoder and decodes `len` frames from
/// there; returns the max abs difference to the from-start decode, checking the position.
fn seek_and_compare(path: &Path, opts: &FfmpegOptions, targets: &[u64], len: usize) -> f32 {
    let mut full_dec = opts.open(path).unwrap();
    let full = drain(&mut full_dec).unwrap();
    let total = full[0].len() as u64;
    let mut dec = opts.open(path).unwrap();
    let mut worst = 0f32;
    for &t in targets {
        let at = dec.seek(t).unwrap();
        assert_eq!(at, t.min(total), "{}: seek({t})", path.display());
        let mut got = vec![Vec::new(); full.len()];
        while got[0].len() < len {
            let Some(chunk) = dec.next_chunk().unwrap() else {
                break;
            };
            for (c, g) in got.iter_mut().enumerate() {
                g.extend_from_slice(chunk.channel(c));
            }
        }
        let end = (t as usize + len).min(total as usize);
        let want = end.saturating_sub(t as usize);
        assert!(
            got[0].len() >= want,
            "{}: seek({t}) then only {} frames",
            path.display(),
            got[0].len()
        );
        for (g, f) in got.iter().zip(&full) {
            if t as usize >= f.len() {
                continue;
            }
            let ours = &g[..want];
            let truth = &f[t as usize..end];
            let d = max_abs(ours, truth);
            if std::env::var("SEEK_DEBUG").is_ok() {
                let first_bad = ours.iter().zip(truth).position(|(a, b)| a != b);
                let num: f64 = ours
                    .iter()
                    .zip(truth)
                    .map(|(a, b)| ((a - b) as f64).powi(2))
                    .sum();
                let den: f64 = truth.iter().map(|b| (*b as f64).powi(2)).sum();
                let peak = truth.iter().fold(0f32, |m, x| m.max(x.abs()));
                eprintln!(
                    "  seek({t}): max abs diff {d:e} (peak {peak:.3}), rel {:e}, first differing frame {first_bad:?}",
                    (num / den.max(1e-30)).sqrt()
                );
            }
            worst = worst.max(d);
            if d > 0.0 && want > 8 {
                // The right alignment fits better than any neighbour.
                let err = |lag: isize| -> f64 {
                    (8..want - 8)
                        .map(|i| {
                            let j = (t as isize + i as isize + lag) as usize;
                            let e = (ours[i] - f[j.min(f.len() - 1)]) as f64;
                            e * e
                        })
                        .sum()
                };
                let e0 = err(0);
                for lag in [-3isize, -2, -1, 1, 2, 3] {
                    if t as isize + lag >= 0 {
                        assert!(
                            e0 < err(lag),
                            "{}: seek({t}) fits lag {lag} better",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    worst
}

#[test]
fn seek_is_exact_on_lossless_files() {
    let targets = [
        0u64, 1, 5000, 4999, 23_000, 12_345, 17, 23_541, 23_542, 30_000, 0, 8192,
    ];
    for name in ["speech_16k.wav", "speech_16k.flac"] {
        let d = seek_and_compare(&fixture(name), &FfmpegOptions::new(), &targets, 3000);
        assert_eq!(d, 0.0, "{name}");
    }
    let d = seek_and_compare(
        &fixture("stereo_48k.wav"),
        &FfmpegOptions::new(),
        &[20_000, 3, 11_111, 23_999, 24_000, 100_000, 2],
        1000,
    );
    assert_eq!(d, 0.0);
    // Mono mixdown keeps seeking exact.
    let d = seek_and_compare(
        &fixture("stereo_48k.wav"),
        &FfmpegOptions::new().mono(),
        &[20_000, 3, 11_111],
        1000,
    );
    assert_eq!(d, 0.0);
}

/// Max abs difference, seek then decode vs. decode from the start, for lossy codecs, as
/// measured with FFmpeg 5.1: MP3, Vorbis and Opus decode bit-identically after a container
/// seek (the backend decodes a pre-roll of the codec's own pre-roll, 80 ms for Opus, plus 8
/// codec frames before the target), and AAC seeks decode up to the target by default, so all
/// are exact. With `fast_seek`, AAC differs only by the noise FFmpeg's decoder generates for
/// PNS (perceptual noise substitution) bands, whose random generator a seek does not rewind:
/// measured 1.8e-3 max abs (rel. 2.0e-3) on speech_16k.m4a; the position itself is exact
/// (checked by `seek_and_compare`'s alignment test).
fn seek_tolerance(format: &str, fast: bool) -> f32 {
    match format {
        "m4a" if fast => 1e-2,
        _ => 0.0,
    }
}

#[test]
fn seek_lands_exactly_on_lossy_files() {
    let tmp = TempDir::new("seek_lossy");
    let mut worst = Vec::new();
    for (name, path) in lossy_files(&tmp) {
        let total = decode_ffmpeg(&path).1[0].len() as u64;
        let targets = [
            total / 2,
            7,
            total / 3,
            total - 100,
            2 * total / 3,
            1000,
            total + 5,
            0,
            total / 2 + 999,
        ];
        for fast in [false, true] {
            let opts = FfmpegOptions::new().fast_seek(fast);
            let d = seek_and_compare(&path, &opts, &targets, 2000);
            eprintln!(
                "{name} (fast_seek {fast}): seek then decode vs from start: max abs diff {d:e}"
            );
            worst.push((name, fast, d));
        }
    }
    for (name, fast, d) in worst {
        assert!(
            d <= seek_tolerance(name, fast),
            "{name} (fast_seek {fast}): {d}"
        );
    }
}

#[test]
fn seek_in_long_files() {
    // ~22 s files, so that most hops are far beyond the decode-on window and go through the
    // container's seek.
    if !have_ffmpeg() {
        return;
    }
    let tmp = TempDir::new("seek_long");
    let formats: [(&str, &[&str]); 6] = [
        ("flac", &["-c:a", "flac"]),
        ("mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
        ("ogg", &["-c:a", "libvorbis"]),
        ("opus", &["-c:a", "libopus"]),
        ("m4a", &["-c:a", "aac"]),
        ("wav", &["-c:a", "pcm_s24le"]),
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for (ext, codec) in formats {
        let p = tmp.path(&format!("long.{ext}"));
        let ok = Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-y",
                "-loglevel",
                "error",
                "-stream_loop",
                "14",
                "-i",
            ])
            .arg(fixture("speech_16k.wav"))
            .args(codec)
            .arg(&p)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipping {ext}: the ffmpeg CLI could not make it");
            continue;
        }
        let total = decode_ffmpeg(&p).1[0].len() as u64;
        let targets: Vec<u64> = (0..14)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % total
            })
            .collect();
        for fast in [false, true] {
            let opts = FfmpegOptions::new().fast_seek(fast);
            let d = seek_and_compare(&p, &opts, &targets, 1500);
            eprintln!("long {ext} ({total} frames, fast_seek {fast}): max abs diff {d:e}");
            assert!(d <= seek_tolerance(ext, fast), "{ext}: {d}");
        }
    }
}

#[test]
fn aac_without_pns_seeks_bit_exactly() {
    // The AAC difference after a seek is PNS noise: encoded without PNS, the samples after a
    // seek are bit identical to decoding from the start.
    let tmp = TempDir::new("aac_nopns");
    let p = tmp.path("nopns.m4a");
    if !have_ffmpeg()
        || !ffmpeg(
            &fixture("speech_16k.wav"),
            &p,
            &["-c:a", "aac", "-aac_pns", "0"],
        )
    {
        return;
    }
    let d = seek_and_compare(
        &p,
        &FfmpegOptions::new(),
        &[15_000, 9000, 20_000, 12_000],
        2000,
    );
    assert_eq!(d, 0.0);
}

#[test]
fn seek_with_filter_or_resampling_decodes_from_the_start() {
    let path = fixture("speech_16k.mp3");
    for opts in [
        FfmpegOptions::new().filter("volume=0.25"),
        FfmpegOptions::new().sample_rate(22_050),
    ] {
        let d = seek_and_compare(&path, &opts, &[9000, 100, 20_000, 5], 1500);
        assert_eq!(d, 0.0, "{opts:?}");
    }
}

#[test]
fn seek_after_the_end_and_after_errors() {
    let path = fixture("speech_16k.ogg");
    let mut dec = FfmpegDecoder::open(path.as_path()).unwrap();
    let all = drain(&mut dec).unwrap();
    assert_eq!(dec.seek(u64::MAX).unwrap(), 23_542);
    assert!(dec.next_chunk().unwrap().is_none());
    assert_eq!(dec.seek(0).unwrap(), 0);
    assert_eq!(bits(&drain(&mut dec).unwrap()), bits(&all));
}

// ---------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------

#[test]
fn filter_volume_halves_the_samples() {
    for name in ["speech_16k.wav", "speech_16k.mp3", "stereo_48k.wav"] {
        let p = fixture(name);
        let (_, plain) = decode_ffmpeg(&p);
        let mut dec = FfmpegDecoder::options()
            .filter("volume=0.5")
            .open(p.as_path())
            .unwrap();
        assert_eq!(dec.spec().frames, None, "a filter may change the length");
        let half = drain(&mut dec).unwrap();
        let want: Vec<Vec<f32>> = plain
            .iter()
            .map(|c| c.iter().map(|x| x * 0.5).collect())
            .collect();
        assert_eq!(bits(&half), bits(&want), "{name}");
    }
    // A filter that changes rate and layout: the spec follows it.
    let mut dec = FfmpegDecoder::options()
        .filter("aresample=8000,pan=mono|c0=0.5*c0+0.5*c1")
        .open(fixture("stereo_48k.wav").as_path())
        .unwrap();
    assert_eq!((dec.spec().sample_rate, dec.spec().channels), (8000, 1));
    let n = drain(&mut dec).unwrap()[0].len();
    assert!((3990..=4010).contains(&n), "{n}");
    // Trimming by time.
    let mut dec = FfmpegDecoder::options()
        .filter("atrim=start_sample=1000:end_sample=3000")
        .open(fixture("speech_16k.flac").as_path())
        .unwrap();
    let trimmed = drain(&mut dec).unwrap();
    let (_, plain) = decode_ffmpeg(&fixture("speech_16k.flac"));
    assert_eq!(bits(&trimmed)[0], bits(&plain)[0][1000..3000]);
}

#[test]
fn bad_filters_are_parameter_errors() {
    for desc in [
        "nosuchfilter=1",
        "volume=banana",
        "scale=320:240",
        "",
        "volume=0.5\0",
    ] {
        let e = FfmpegDecoder::options()
            .filter(desc)
            .open(fixture("short_16k.wav").as_path())
            .unwrap_err();
        assert_eq!(variant(&e), "InvalidParameter", "{desc:?}: {e}");
    }
    let e = FfmpegDecoder::options()
        .sample_rate(0)
        .open(fixture("short_16k.wav").as_path())
        .unwrap_err();
    assert_eq!(variant(&e), "InvalidParameter", "{e}");
}

#[test]
fn resampling_gives_the_expected_length() {
    let tmp = TempDir::new("resample");
    let mut cases = vec![
        (fixture("speech_16k.wav"), 8_000u32),
        (fixture("speech_16k.wav"), 44_100),
        (fixture("speech_16k.flac"), 22_050),
        (fixture("stereo_48k.wav"), 16_000),
        (fixture("odd_44k.wav"), 48_000),
        (fixture("speech_16k.mp3"), 11_025),
    ];
    if let Some(opus) = opus_file(&tmp) {
        cases.push((opus, 16_000));
    }
    for (path, rate) in cases {
        let (info, plain) = decode_ffmpeg(&path);
        let n = plain[0].len() as u64;
        let mut dec = FfmpegDecoder::options()
            .sample_rate(rate)
            .open(path.as_path())
            .unwrap();
        assert_eq!(dec.spec().sample_rate, rate);
        assert_eq!(dec.spec().channels, info.channels);
        let out = drain(&mut dec).unwrap();
        let expected = (n * rate as u64).div_ceil(info.sample_rate as u64);
        eprintln!(
            "{} {} Hz -> {rate} Hz: {n} -> {} frames (ceil: {expected})",
            path.file_name().unwrap().to_string_lossy(),
            info.sample_rate,
            out[0].len()
        );
        assert_eq!(out[0].len() as u64, expected);
        if info.frames.is_some() {
            assert_eq!(dec.spec().frames, Some(expected));
        }
        // Same rate: untouched.
        let mut same = FfmpegDecoder::options()
            .sample_rate(info.sample_rate)
            .open(path.as_path())
            .unwrap();
        assert_eq!(bits(&drain(&mut same).unwrap()), bits(&plain));
    }
}

#[test]
fn resampling_matches_the_cli_on_float_streams() {
    if !have_ffmpeg() {
        return;
    }
    // mp3 decodes to float, so the CLI's aresample and ours see the same input.
    let tmp = TempDir::new("resample_cli");
    let p = fixture("speech_16k.mp3");
    let out = tmp.path("x.f32");
    if !ffmpeg(
        &p,
        &out,
        &["-ar", "8000", "-f", "f32le", "-acodec", "pcm_f32le"],
    ) {
        return;
    }
    let cli: Vec<f32> = std::fs::read(&out)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut dec = FfmpegDecoder::options()
        .sample_rate(8000)
        .open(p.as_path())
        .unwrap();
    let ours = drain(&mut dec).unwrap();
    let n = ours[0].len().min(cli.len());
    let d = max_abs(&ours[0][..n], &cli[..n]);
    eprintln!(
        "mp3 16k->8k: {} vs CLI {} frames, max abs diff {d:e}",
        ours[0].len(),
        cli.len()
    );
    assert!(d <= 1e-6, "{d}");
}

#[test]
fn mono_is_the_channel_mean() {
    let p = fixture("stereo_48k.wav");
    let (_, st) = decode_ffmpeg(&p);
    let mut dec = FfmpegDecoder::options().mono().open(p.as_path()).unwrap();
    assert_eq!(dec.spec().channels, 1);
    assert_eq!(dec.spec().frames, Some(24_000));
    let mono = drain(&mut dec).unwrap();
    let want: Vec<f32> = st[0]
        .iter()
        .zip(&st[1])
        .map(|(a, b)| (a + b) / 2.0)
        .collect();
    assert_eq!(bits(&mono)[0], bits(&[want])[0]);
    // With resampling: mean first, then the rate.
    let mut dec = FfmpegDecoder::options()
        .mono()
        .sample_rate(16_000)
        .open(p.as_path())
        .unwrap();
    assert_eq!((dec.spec().channels, dec.spec().sample_rate), (1, 16_000));
    assert_eq!(drain(&mut dec).unwrap()[0].len(), 8000);
}

// ---------------------------------------------------------------------------------------
// errors: typed, never a panic or a hang
// ---------------------------------------------------------------------------------------

#[test]
fn missing_empty_and_directory_inputs() {
    let e = FfmpegDecoder::open("tests/data/fixtures/nope.wav").unwrap_err();
    assert_eq!(variant(&e), "Io", "{e}");
    assert!(e.to_string().contains("nope.wav"));
    let e = FfmpegDecoder::open("tests/data/fixtures").unwrap_err();
    assert_eq!(variant(&e), "Io", "{e}");
    let e = FfmpegDecoder::open(Vec::<u8>::new()).unwrap_err();
    assert_eq!(variant(&e), "Decode", "{e}");
    let e = Backend::Ffmpeg.probe(Vec::<u8>::new()).unwrap_err();
    assert_eq!(variant(&e), "Decode", "{e}");
    let e = FfmpegDecoder::open(b"this is not audio at all, just some text".to_vec()).unwrap_err();
    assert!(matches!(variant(&e), "Unsupported" | "Decode"), "{e}");
}

#[test]
fn random_bytes_give_typed_errors() {
    for (i, n) in [1usize, 2, 16, 100, 1000, 65_536, 300_000]
        .into_iter()
        .enumerate()
    {
        let data = noise_bytes(n, 0x9E37_79B9 + i as u64);
        for hint in [None, Some("mp3"), Some("wav"), Some("aac"), Some("opus")] {
            let mut src = Source::bytes(data.clone()).with_name(format!("noise{n}"));
            if let Some(h) = hint {
                src = src.with_extension(h);
            }
            let _ = decode_outcome(src);
        }
        let _ = Backend::Ffmpeg.probe(data.clone());
    }
}

#[test]
fn garbage_files_are_unsupported_or_undecodable() {
    // Files of noise, whatever their extension: FFmpeg either recognises nothing
    // (Unsupported) or takes the noise for a weakly signed format and decodes nothing
    // sensible: an error either way, or (rarely) noise FFmpeg's decoders accept.
    let tmp = TempDir::new("garbage");
    for (i, ext) in ["wav", "mp3", "flac", "ogg", "m4a", "xyz", "aac", "opus", ""]
        .iter()
        .enumerate()
    {
        let path = tmp.path(&format!("garbage.{ext}"));
        std::fs::write(&path, noise_bytes(8192, 0x9E37_79B9 + i as u64)).unwrap();
        let src = Source::path(&path);
        match decode_outcome(src) {
            Ok(p) => eprintln!("garbage.{ext}: decoded {} frames of noise", p[0].len()),
            Err(e) => eprintln!("garbage.{ext}: {e}"),
        }
        match Backend::Ffmpeg.probe(path.as_path()) {
            Ok(p) => eprintln!("  probe: {} {}", p.container, p.codec),
            Err(e) => eprintln!("  probe: {e}"),
        }
    }
}

#[test]
fn truncated_and_corrupt_files_give_typed_errors_or_shorter_streams() {
    let tmp = TempDir::new("damaged");
    let mut files = vec![
        ("wav", fixture("speech_16k.wav")),
        ("flac", fixture("speech_16k.flac")),
        ("wav stereo", fixture("stereo_48k.wav")),
    ];
    files.extend(lossy_files(&tmp));
    for (name, path) in files {
        let data = std::fs::read(&path).unwrap();
        let full = decode_ffmpeg(&path).1;
        let lossless = name.starts_with("wav") || name == "flac";
        // Truncations: inside the header, early, middle, just before the end.
        for cut in [
            4,
            12,
            44,
            100,
            600,
            data.len() / 3,
            data.len() / 2,
            data.len() - 3,
        ] {
            let label = format!("{name} cut at {cut}");
            match decode_outcome(Source::bytes(data[..cut].to_vec()).with_name(&label)) {
                Ok(p) => {
                    eprintln!("{label}: a clean stream of {} frames", p[0].len());
                    assert!(p[0].len() <= full[0].len(), "{label}");
                    if lossless {
                        // What is there decodes exactly: a prefix of the whole.
                        let n = p[0].len();
                        let prefix: Vec<Vec<f32>> = full.iter().map(|c| c[..n].to_vec()).collect();
                        assert_eq!(bits(&p), bits(&prefix), "{label}");
                    }
                }
                Err(e) => eprintln!("{label}: {e}"),
            }
        }
        // Corruption: runs of noise over the data.
        for (k, at) in [data.len() / 5, data.len() / 2, 30].into_iter().enumerate() {
            let mut bad = data.clone();
            let noise = noise_bytes(400.min(bad.len() - at), 77 + k as u64);
            bad[at..at + noise.len()].copy_from_slice(&noise);
            let label = format!("{name} corrupt at {at}");
            match decode_outcome(Source::bytes(bad).with_name(&label)) {
                Ok(p) => eprintln!("{label}: {} frames", p[0].len()),
                Err(e) => eprintln!("{label}: {e}"),
            }
        }
        // Probing damaged data never panics either.
        let _ = Backend::Ffmpeg.probe(data[..data.len() / 2].to_vec());
    }
    // A FLAC cut short reports the truncation (its header announces the length).
    let data = std::fs::read(fixture("speech_16k.flac")).unwrap();
    let e =
        decode_outcome(Source::bytes(data[..20_000].to_vec()).with_name("cut.flac")).unwrap_err();
    assert_eq!(variant(&e), "Decode", "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    // So does a WAV cut short, at the header's end, early or half-way: FFmpeg's reader takes
    // the length of what the file holds (a clean, shorter stream, and an empty one for the
    // header alone); the header's data length says how many frames there should be.
    let data = std::fs::read(fixture("speech_16k.wav")).unwrap();
    let full = decode_ffmpeg(&fixture("speech_16k.wav")).1[0].len();
    for cut in [44, 600, data.len() / 2, data.len() - 2] {
        let src = || Source::bytes(data[..cut].to_vec()).with_name("cut.wav");
        let e = decode_outcome(src()).unwrap_err();
        assert_eq!(variant(&e), "Decode", "cut at {cut}: {e}");
        assert!(
            e.to_string().contains(&format!("announces {full} frames")),
            "{e}"
        );
        assert_eq!(
            Backend::Ffmpeg.probe(src()).unwrap().frames,
            Some(full as u64)
        );
    }
}

/// A reader that fails (or panics) after `ok` bytes.
struct Failing {
    inner: Cursor<Vec<u8>>,
    ok: u64,
    panic: bool,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.position() >= self.ok {
            if self.panic {
                panic!("reader exploded");
            }
            return Err(std::io::Error::other("disk on fire"));
        }
        let room = (self.ok - self.inner.position()) as usize;
        let n = buf.len().min(room);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for Failing {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn reader_errors_become_io_errors() {
    let data = std::fs::read(fixture("speech_16k.flac")).unwrap();
    for panic in [false, true] {
        let reader = Failing {
            inner: Cursor::new(data.clone()),
            ok: data.len() as u64 / 2,
            panic,
        };
        let r = decode_outcome(Source::reader(reader).with_name("failing.flac"));
        let e = r.unwrap_err();
        assert_eq!(variant(&e), "Io", "{e}");
        let msg = e.to_string();
        assert!(msg.contains("failing.flac"), "{msg}");
        assert!(
            msg.contains(if panic { "panicked" } else { "disk on fire" }),
            "{msg}"
        );
        // Failing inside the header.
        let reader = Failing {
            inner: Cursor::new(data.clone()),
            ok: 10,
            panic,
        };
        let e = decode_outcome(Source::reader(reader)).unwrap_err();
        assert_eq!(variant(&e), "Io", "{e}");
    }
}

/// A reader that takes `delay` per read.
struct Slow {
    inner: Cursor<Vec<u8>>,
    delay: Duration,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.delay);
        let n = buf.len().min(512);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for Slow {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn the_timeout_bounds_slow_input() {
    let data = std::fs::read(fixture("speech_16k.wav")).unwrap();
    // A zero timeout fails at once, with a message that says why.
    let e = FfmpegDecoder::options()
        .timeout(Duration::ZERO)
        .open(Source::bytes(data.clone()).with_name("zero.wav"))
        .unwrap_err();
    assert_eq!(variant(&e), "Decode", "{e}");
    assert!(e.to_string().contains("timed out"), "{e}");
    // A reader needing ~10 s for the file stops after about the limit.
    let slow = Slow {
        inner: Cursor::new(data.clone()),
        delay: Duration::from_millis(50),
    };
    let t = Instant::now();
    let r = FfmpegDecoder::options()
        .timeout(Duration::from_millis(300))
        .open(Source::reader(slow).with_name("slow.wav"))
        .and_then(|mut d| drain(&mut d));
    let e = r.unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // A generous limit changes nothing.
    let mut dec = FfmpegDecoder::options()
        .timeout(Duration::from_secs(60))
        .open(fixture("speech_16k.wav").as_path())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap()[0].len(), 23_542);
}

#[test]
fn many_decoders_on_many_threads() {
    let path = fixture("speech_16k.ogg");
    let (_, want) = decode_ffmpeg(&path);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let mut dec = FfmpegDecoder::open(path.as_path()).unwrap();
                    drain(&mut dec).unwrap()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(bits(&h.join().unwrap()), bits(&want));
        }
    });
}
