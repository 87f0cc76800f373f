//! Streaming decode (src/io/stream.rs, `Decoder::seek`, `Source::reader`, `Backend::Auto`):
//! block reads reassemble the one-go decode bit for bit, seeks land exactly, readers and bytes
//! decode like paths, memory stays bounded on an hour of audio, and broken input gives typed
//! errors, never a panic or a hang.
//!
//! Fixtures: every file in tests/data/fixtures, plus (when ffmpeg is installed) encodings of
//! speech_16k.wav / stereo_48k.wav made at test time into a temporary directory: AIFF, CAF,
//! ADTS AAC, ALAC, stereo MP3/Vorbis/AAC/FLAC, and an MP3 without a Xing header (unknown
//! length, so seeking past its end must find the end by decoding).

mod common;

use common::{ffmpeg, fixture_path as fixture, have_ffmpeg, noise_bytes, variant, TempDir};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use wavegpu::io::{
    load, open_decoder, Backend, ChunkReader, LoadOptions, Source, SymphoniaDecoder,
};
use wavegpu::Error;

// ---------------------------------------------------------------------------------------
// a per-thread counting allocator: live and peak bytes allocated by the current thread
// ---------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn track(delta: i64) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: forwards to the system allocator; the bookkeeping allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as i64));
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as i64);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// This thread's live bytes now, and resets its peak to that.
fn reset_peak() -> i64 {
    let now = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(now));
    now
}

fn peak() -> i64 {
    PEAK.with(|p| p.get())
}

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures")
}

/// The decodable fixtures: every committed one but Opus (no symphonia decoder), plus the
/// encodings made with ffmpeg when it is installed. The TempDir keeps the latter alive.
fn all_inputs(tag: &str) -> (Vec<PathBuf>, Option<TempDir>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("wav" | "flac" | "mp3" | "ogg" | "m4a")
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 13, "fixtures missing: {files:?}");
    if !have_ffmpeg() {
        eprintln!("ffmpeg not installed: AIFF/CAF/ADTS/ALAC/stereo lossy inputs not made");
        return (files, None);
    }
    let dir = TempDir::new(tag);
    let speech = fixture("speech_16k.wav");
    let stereo = fixture("stereo_48k.wav");
    let music = fixture("music_22k.wav");
    // music_22k.wav looped 4 times (24 s): Ogg files large enough for symphonia's bisection
    // search, and long enough for container seeks far from the start.
    let looped = ["-stream_loop", "3"];
    for (name, args) in [
        ("music_loop.ogg", &["-c:a", "libvorbis"][..]),
        ("music_loop.mp3", &["-c:a", "libmp3lame", "-b:a", "96k"][..]),
        ("music_loop.m4a", &["-c:a", "aac", "-b:a", "96k"][..]),
        ("music_loop.flac", &[][..]),
    ] {
        let out = dir.path(name);
        let ok = Command::new("ffmpeg")
            .args(["-nostdin", "-y", "-loglevel", "error"])
            .args(looped)
            .arg("-i")
            .arg(&music)
            .args(args)
            .arg(&out)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            files.push(out);
        } else {
            eprintln!("ffmpeg could not make {name}; skipped");
        }
    }
    let made: [(&Path, &str, &[&str]); 12] = [
        (&stereo, "stereo_vorbis.webm", &["-c:a", "libvorbis"]),
        (&music, "music.mp2", &["-c:a", "mp2"]),
        (&speech, "speech.aiff", &[]),
        (&speech, "speech.caf", &[]),
        (&speech, "speech.aac", &["-c:a", "aac", "-b:a", "48k"]),
        (&speech, "speech_alac.m4a", &["-c:a", "alac"]),
        (
            &speech,
            "speech_noxing.mp3",
            &["-c:a", "libmp3lame", "-write_xing", "0"],
        ),
        // VBR without a Xing header: symphonia's length estimate (from the first frame's size)
        // is short of the real length, so the end is found by decoding.
        (
            &music,
            "music_vbr_noxing.mp3",
            &["-c:a", "libmp3lame", "-q:a", "0", "-write_xing", "0"],
        ),
        (
            &stereo,
            "stereo.mp3",
            &["-c:a", "libmp3lame", "-b:a", "128k"],
        ),
        (&stereo, "stereo.ogg", &["-c:a", "libvorbis"]),
        (&stereo, "stereo.m4a", &["-c:a", "aac", "-b:a", "96k"]),
        (&stereo, "stereo.flac", &[]),
    ];
    for (input, name, args) in made {
        let out = dir.path(name);
        if ffmpeg(input, &out, args) {
            files.push(out);
        } else {
            eprintln!("ffmpeg could not make {name}; skipped");
        }
    }
    (files, Some(dir))
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Decodes the whole stream in one go with the symphonia decoder: per-channel samples.
fn decode_all<'a>(source: impl Into<Source<'a>>) -> Vec<Vec<f32>> {
    let mut dec = open_decoder(source, Backend::Symphonia).unwrap();
    let mut planes = vec![Vec::new(); dec.spec().channels];
    while let Some(chunk) = dec.next_chunk().unwrap() {
        for (c, p) in planes.iter_mut().enumerate() {
            p.extend_from_slice(chunk.channel(c));
        }
    }
    planes
}

/// Reads everything left in `reader`, `n` frames per call: per-channel samples.
fn read_rest(reader: &mut ChunkReader<'_>, n: usize) -> Vec<Vec<f32>> {
    let ch = reader.channels();
    let mut block = vec![f32::NAN; ch * n];
    let mut planes = vec![Vec::new(); ch];
    loop {
        let got = reader.read(&mut block, n).unwrap();
        assert!(got <= n);
        if got == 0 {
            break;
        }
        for (c, p) in planes.iter_mut().enumerate() {
            p.extend_from_slice(&block[c * n..c * n + got]);
        }
    }
    planes
}

/// Reads up to `n` frames in one call.
fn read_n(reader: &mut ChunkReader<'_>, n: usize) -> Vec<Vec<f32>> {
    let ch = reader.channels();
    let mut block = vec![f32::NAN; ch * n];
    let got = reader.read(&mut block, n).unwrap();
    (0..ch)
        .map(|c| block[c * n..c * n + got].to_vec())
        .collect()
}

/// Asserts `got` and `want` are the same samples, bit for bit; on failure says where.
#[track_caller]
fn same(got: &[f32], want: &[f32], what: &str) {
    if let Some(i) = got
        .iter()
        .zip(want)
        .position(|(a, b)| a.to_bits() != b.to_bits())
    {
        panic!(
            "{what}: sample {i} is {} instead of {} (max abs diff {:e}; lengths {} and {})",
            got[i],
            want[i],
            max_abs(got, want),
            got.len(),
            want.len()
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: lengths");
}

fn identical(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Runs `f` on its own thread; fails the test if it panics or takes longer than `secs`.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => {
            handle.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no answer within {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = handle.join();
            panic!("{what}: panicked")
        }
    }
}

// ---------------------------------------------------------------------------------------
// (a) block reads reassemble the one-go decode
// ---------------------------------------------------------------------------------------

#[test]
fn block_reads_reassemble_the_whole_decode_bit_for_bit() {
    let (inputs, _dir) = all_inputs("reassemble");
    for path in &inputs {
        let name = name_of(path);
        let full = decode_all(path);
        assert!(!full[0].is_empty() || name.starts_with("silence"), "{name}");
        for n in [1usize, 7, 1000, 4096, 1 << 20] {
            let mut reader = ChunkReader::open(path, Backend::Auto).unwrap();
            assert_eq!(reader.channels(), full.len(), "{name}");
            let got = read_rest(&mut reader, n);
            for c in 0..full.len() {
                same(&got[c], &full[c], &format!("{name} N={n} channel {c}"));
            }
            assert_eq!(reader.position(), full[0].len() as u64, "{name} N={n}");
            // The end is sticky.
            assert_eq!(read_n(&mut reader, 5)[0].len(), 0, "{name} N={n}");
        }
        // Mono mixdown equals load()'s, bit for bit.
        let mono = load(path, &LoadOptions::default()).unwrap();
        for n in [7usize, 4096] {
            let mut reader = ChunkReader::open(path, Backend::Auto).unwrap().mono(true);
            assert_eq!(reader.channels(), 1);
            let got = read_rest(&mut reader, n);
            let want: Vec<f32> = mono.data().row(0).to_vec();
            same(&got[0], &want, &format!("{name} mono N={n}"));
        }
    }
}

#[test]
fn read_checks_the_buffer_and_zero_frames() {
    let mut reader = ChunkReader::open(fixture("stereo_48k.wav"), Backend::Auto).unwrap();
    let mut buf = vec![0f32; 10];
    let e = reader.read(&mut buf, 10).unwrap_err();
    assert_eq!(variant(&e), "InvalidParameter", "{e}");
    assert_eq!(reader.read(&mut buf, 5).unwrap(), 5);
    assert_eq!(reader.read(&mut [], 0).unwrap(), 0);
    assert_eq!(reader.position(), 5);
    let mut reader = reader.mono(true);
    assert_eq!(reader.read(&mut buf, 10).unwrap(), 10);
    assert_eq!(reader.position(), 15);
    let e = reader.seek_seconds(f64::NAN).unwrap_err();
    assert_eq!(variant(&e), "InvalidParameter", "{e}");
    let e = reader.seek_seconds(-1.0).unwrap_err();
    assert_eq!(variant(&e), "InvalidParameter", "{e}");
}

// ---------------------------------------------------------------------------------------
// (b) seeking
// ---------------------------------------------------------------------------------------

/// Seeks `reader` to `at`, reads up to `n` frames and returns the largest difference from
/// the one-go decode (0 = bit exact; lengths must match exactly).
fn seek_and_compare(
    reader: &mut ChunkReader<'_>,
    full: &[Vec<f32>],
    at: u64,
    n: usize,
    name: &str,
) -> f32 {
    let len = full[0].len() as u64;
    let pos = reader.seek(at).unwrap();
    assert_eq!(pos, at.min(len), "{name}: seek({at}) of {len}");
    assert_eq!(reader.position(), pos, "{name}");
    let got = read_n(reader, n);
    let from = pos as usize;
    let to = (from + n).min(len as usize);
    let mut worst = 0f32;
    for c in 0..full.len() {
        assert_eq!(
            got[c].len(),
            to - from,
            "{name}: seek({at}) read {n}, channel {c}"
        );
        if !identical(&got[c], &full[c][from..to]) {
            worst = worst.max(max_abs(&got[c], &full[c][from..to]));
        }
    }
    worst
}

/// Seek positions: 0, 1, a middle one, the last frame, the end, past the end, plus a sweep of
/// 40 positions through the file (odd strides, to hit packet boundaries and their insides).
fn seek_points(len: u64) -> Vec<u64> {
    let mut at = vec![
        0,
        1,
        len / 2,
        len.saturating_sub(1),
        len,
        len + 1,
        len + 100_000,
    ];
    let step = (len / 40).max(1) | 1;
    at.extend((0..40).map(|i| (i * step + 13 * i) % len.max(1)));
    at
}

/// What a seek may change, per format: nothing. Every format seeks to the exact frame and the
/// samples from there on are bit-identical to a decode from the start. (AAC gets there by
/// decoding from the start: with `SymphoniaDecoder::fast_seek(true)` it seeks like the others
/// and differs in its noise-substituted bands: see `aac_fast_seek_is_exact_in_position`.)
fn seek_tolerance(_name: &str) -> f32 {
    0.0
}

#[test]
fn seek_lands_on_the_exact_frame() {
    let (inputs, _dir) = all_inputs("seek");
    let mut report = Vec::new();
    for path in &inputs {
        let name = name_of(path);
        let full = decode_all(path);
        let len = full[0].len() as u64;
        let tol = seek_tolerance(&name);
        let mut worst = 0f32;
        // A fresh reader per seek, and one reader seeking back and forth.
        let mut shared = ChunkReader::open(path, Backend::Auto).unwrap();
        for at in seek_points(len) {
            let mut fresh = ChunkReader::open(path, Backend::Auto).unwrap();
            worst = worst.max(seek_and_compare(&mut fresh, &full, at, 3000, &name));
            worst = worst.max(seek_and_compare(&mut shared, &full, at, 777, &name));
            // Reading on after the seek continues the stream.
            if at < len {
                let more = read_n(&mut shared, 500);
                let from = (at as usize + 777).min(len as usize);
                let to = (from + 500).min(len as usize);
                assert_eq!(more[0].len(), to - from, "{name}: after seek({at})");
                for c in 0..full.len() {
                    worst = worst.max(max_abs(&more[c], &full[c][from..to]));
                }
            }
        }
        // Past the end: the reader is at the end and stays there.
        assert_eq!(shared.seek(len + 5).unwrap(), len, "{name}");
        assert_eq!(read_n(&mut shared, 10)[0].len(), 0, "{name}");
        // And can come back.
        worst = worst.max(seek_and_compare(&mut shared, &full, 0, 100, &name));
        // Seeking by time counts frames as round(t * sr).
        let sr = shared.sample_rate() as f64;
        let t = (len / 3) as f64 / sr;
        let want = (t * sr).round() as u64;
        assert_eq!(shared.seek_seconds(t).unwrap(), want, "{name}");
        report.push(format!("{name}: {worst:e}"));
        assert!(
            worst <= tol,
            "{name}: samples after a seek differ by {worst} (allowed {tol})"
        );
    }
    eprintln!("max abs difference after seeks: {}", report.join(", "));
}

#[test]
fn seek_on_the_decoder_itself() {
    // The trait method, without the reader: the next chunk starts at the frame asked for.
    for name in [
        "speech_16k.mp3",
        "speech_16k.m4a",
        "speech_16k.ogg",
        "speech_16k.flac",
    ] {
        let full = decode_all(fixture(name));
        let len = full[0].len() as u64;
        let mut dec = open_decoder(fixture(name), Backend::Symphonia).unwrap();
        for at in [12_345u64, 3, len - 2] {
            assert_eq!(dec.seek(at).unwrap(), at, "{name}");
            let chunk = dec.next_chunk().unwrap().unwrap();
            let n = chunk.frames();
            assert!(n > 0 && at as usize + n <= len as usize, "{name}");
            same(
                chunk.channel(0),
                &full[0][at as usize..at as usize + n],
                &format!("{name} at {at}"),
            );
        }
        assert_eq!(dec.seek(len + 1).unwrap(), len);
        assert!(dec.next_chunk().unwrap().is_none());
    }
}

// ---------------------------------------------------------------------------------------
// (c) readers and bytes decode like paths
// ---------------------------------------------------------------------------------------

#[test]
fn reader_and_bytes_sources_match_the_path() {
    let (inputs, _dir) = all_inputs("sources");
    for path in &inputs {
        let name = name_of(path);
        let full = decode_all(path);
        let file = std::fs::File::open(path).unwrap();
        let from_file = decode_all(Source::reader(file));
        let bytes = std::fs::read(path).unwrap();
        let from_bytes = decode_all(Source::bytes(bytes.clone()));
        let from_cursor = decode_all(Source::reader(std::io::Cursor::new(bytes.clone())));
        for c in 0..full.len() {
            same(&from_file[c], &full[c], &format!("{name} reader(File)"));
            same(&from_bytes[c], &full[c], &format!("{name} bytes"));
            same(&from_cursor[c], &full[c], &format!("{name} reader(Cursor)"));
        }
        // Seeking works on a reader source too.
        let len = full[0].len() as u64;
        let file = std::fs::File::open(path).unwrap();
        let mut reader = ChunkReader::open(Source::reader(file), Backend::Auto).unwrap();
        let worst = seek_and_compare(&mut reader, &full, len / 2, 1000, &name);
        assert!(worst <= seek_tolerance(&name), "{name}: {worst}");
    }
    // Names: "<reader>" until with_name, which also sets the extension hint.
    let file = std::fs::File::open(fixture("speech_16k.wav")).unwrap();
    let src = Source::reader(file);
    assert_eq!(src.name(), "<reader>");
    assert!(!src.is_reopenable());
    let src = src.with_name("clip.wav");
    assert_eq!(
        (src.name(), src.extension_hint()),
        ("clip.wav", Some("wav"))
    );
    assert!(Source::from("x.wav").is_reopenable());
    assert!(Source::bytes(vec![1u8]).is_reopenable());
    let dec = Backend::Auto.open(src).unwrap();
    assert_eq!(dec.spec().input, "clip.wav");
    // A junk reader is named in the error.
    let junk = Source::reader(std::io::Cursor::new(noise_bytes(5000, 3))).with_name("junk.bin");
    let e = Backend::Auto.open(junk).map(|_| ()).unwrap_err();
    assert_eq!(variant(&e), "Unsupported", "{e}");
    assert!(e.to_string().contains("junk.bin"), "{e}");
    let empty = Source::reader(std::io::Cursor::new(Vec::<u8>::new()));
    let e = Backend::Auto.open(empty).map(|_| ()).unwrap_err();
    assert_eq!(variant(&e), "Decode", "{e}");
    assert!(e.to_string().contains("<reader>"), "{e}");
}

// ---------------------------------------------------------------------------------------
// (d) bounded memory on an hour of audio
// ---------------------------------------------------------------------------------------

/// The sample the 1-hour test file holds at frame `i`: a deterministic pattern that differs
/// between neighbouring frames and across the file.
fn hour_sample(i: u64) -> i16 {
    let x = i.wrapping_mul(2_654_435_761) ^ (i >> 7);
    (x % 65_521) as i16
}

/// Peak bytes allocated by the streaming thread while a 1-hour 16 kHz mono WAV (57.6 M
/// frames, 115 MB) goes through a ChunkReader 4096 frames at a time, then seeks and reads once
/// more. Measured: 96,853 bytes (symphonia's read buffer, its packet buffer, the decoder's
/// chunk, the reader's carry and the 16 KiB block); a whole-file decode would hold 230 MB of
/// f32. The bound asserted, 1 MiB, does not depend on the file's length. (Counted by this test
/// binary's global allocator, per thread, so tests running alongside do not count.)
const STREAM_PEAK_BOUND: i64 = 1 << 20;

#[test]
fn streaming_an_hour_stays_in_bounded_memory() {
    let dir = TempDir::new("hour");
    let path = dir.path("hour_16k.wav");
    let frames: u64 = 3600 * 16_000;
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let mut i16w = w.get_i16_writer(frames as u32);
        for i in 0..frames {
            i16w.write_sample(hour_sample(i));
        }
        i16w.flush().unwrap();
        w.finalize().unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() > 115_000_000);

    let base = reset_peak();
    let mut reader = ChunkReader::open(&path, Backend::Auto).unwrap();
    assert_eq!(reader.spec().frames, Some(frames));
    let n = 4096;
    let mut block = vec![0f32; n];
    let mut seen = 0u64;
    let mut mismatches = 0u64;
    loop {
        let got = reader.read(&mut block, n).unwrap();
        if got == 0 {
            break;
        }
        for (k, &x) in block[..got].iter().enumerate() {
            let want = hour_sample(seen + k as u64) as f32 / 32768.0;
            mismatches += u64::from(x.to_bits() != want.to_bits());
        }
        seen += got as u64;
    }
    assert_eq!(seen, frames);
    assert_eq!(mismatches, 0);
    // Seek near the end and read: no decoding of what lies before (WAV seeks by offset).
    let at = frames - 16_000 * 60 + 17;
    assert_eq!(reader.seek(at).unwrap(), at);
    assert_eq!(reader.read(&mut block, n).unwrap(), n);
    for (k, &x) in block.iter().enumerate() {
        assert_eq!(x, hour_sample(at + k as u64) as f32 / 32768.0);
    }
    let grown = peak() - base;
    drop(reader);
    eprintln!(
        "peak live bytes while streaming {frames} frames: {grown} ({:.2} MB)",
        grown as f64 / 1e6
    );
    assert!(
        grown < STREAM_PEAK_BOUND,
        "streaming peaked at {grown} bytes (bound {STREAM_PEAK_BOUND})"
    );
}

// ---------------------------------------------------------------------------------------
// (e) broken input: typed errors or a clean shorter stream, no panic, no hang
// ---------------------------------------------------------------------------------------

/// Opens `bytes`, reads everything 1000 frames at a time, then seeks to the middle and reads
/// again. Ok(frames read) or the first error's variant.
fn try_stream(bytes: Vec<u8>, name: String) -> std::result::Result<u64, (String, String)> {
    let err = |e: Error| (variant(&e).to_string(), e.to_string());
    let src = Source::bytes(bytes).with_name(name);
    let mut reader = ChunkReader::open(src, Backend::Auto).map_err(err)?;
    let ch = reader.channels();
    let mut block = vec![0f32; ch * 1000];
    let mut total = 0u64;
    loop {
        let got = reader.read(&mut block, 1000).map_err(err)?;
        if got == 0 {
            break;
        }
        total += got as u64;
    }
    let back = reader.seek(total / 2).map_err(err)?;
    assert!(back <= total / 2 + 1);
    while reader.read(&mut block, 1000).map_err(err)? > 0 {}
    Ok(total)
}

fn check_broken(bytes: Vec<u8>, label: String, full_len: Option<u64>) {
    let name = label.clone();
    let outcome = within(30, &label, move || try_stream(bytes, name));
    match outcome {
        Ok(n) => {
            if let Some(full) = full_len {
                // A damaged file may decode to garbage, but not to more audio than it holds
                // (padding frames aside).
                assert!(
                    n <= full + 4096,
                    "{label}: {n} frames from a {full}-frame file"
                );
            }
        }
        Err((v, msg)) => {
            assert!(
                matches!(v.as_str(), "Decode" | "Unsupported" | "Io"),
                "{label}: unexpected error {v}: {msg}"
            );
            assert!(
                msg.contains(&label),
                "{label}: message does not name it: {msg}"
            );
        }
    }
}

#[test]
fn truncated_corrupt_random_and_empty_input_never_panic_or_hang() {
    let (inputs, _dir) = all_inputs("broken");
    for path in &inputs {
        let name = name_of(path);
        let bytes = std::fs::read(path).unwrap();
        let full_len = decode_all(path)[0].len() as u64;
        let len = bytes.len();
        for cut in [
            0,
            1,
            4,
            12,
            44,
            100,
            300,
            len / 3,
            len / 2,
            len - len / 10,
            len - 1,
        ] {
            check_broken(
                bytes[..cut.min(len)].to_vec(),
                format!("{name}[..{cut}]"),
                Some(full_len),
            );
        }
        for (k, seed) in [(0usize, 1u64), (1, 2), (2, 3)] {
            let mut damaged = bytes.clone();
            // Overwrite a tenth of the file with random bytes: the middle, a quarter in, and
            // the header region.
            let start = [len / 2, len / 4, 16][k].min(len.saturating_sub(1));
            let n = (len / 10).max(1).min(len - start);
            damaged[start..start + n].copy_from_slice(&noise_bytes(n, seed));
            check_broken(damaged, format!("{name}~corrupt{k}"), Some(full_len));
        }
    }
    for (n, seed) in [(1usize, 9u64), (3, 8), (64, 7), (1000, 6), (65_536, 5)] {
        check_broken(noise_bytes(n, seed), format!("random{n}.bin"), None);
        check_broken(noise_bytes(n, seed), format!("random{n}.mp3"), None);
    }
    check_broken(Vec::new(), "empty.wav".to_string(), None);
    let e = within(10, "empty", || {
        ChunkReader::open(Vec::<u8>::new(), Backend::Auto).map(|_| ())
    })
    .unwrap_err();
    assert_eq!(variant(&e), "Decode", "{e}");
}

// ---------------------------------------------------------------------------------------
// (f) Backend::Auto
// ---------------------------------------------------------------------------------------

#[test]
fn auto_backend_picks_symphonia_and_names_the_file_for_opus() {
    assert_eq!("auto".parse::<Backend>().unwrap(), Backend::Auto);
    assert_eq!(" AUTO ".parse::<Backend>().unwrap(), Backend::Auto);
    assert_eq!(Backend::default(), Backend::Auto);
    assert_eq!(Backend::Auto.to_string(), "auto");
    assert!(Backend::Auto.is_available());
    assert_eq!(LoadOptions::default().decoder_backend(), Backend::Auto);

    for name in ["speech_16k.wav", "speech_16k.mp3", "speech_16k.m4a"] {
        let dec = Backend::Auto.open(fixture(name)).unwrap();
        assert_eq!(dec.spec().backend, "symphonia", "{name}");
        let info = Backend::Auto.probe(fixture(name)).unwrap();
        assert_eq!(info.backend, "symphonia", "{name}");
    }

    let opus = fixture("speech_16k.opus");
    let opus_name = opus.display().to_string();
    if Backend::Ffmpeg.is_available() {
        let dec = Backend::Auto.open(&opus).unwrap();
        assert_eq!(dec.spec().backend, "ffmpeg");
        let audio = load(&opus, &LoadOptions::default()).unwrap();
        assert!(audio.len() > 20_000);
        let bytes = std::fs::read(&opus).unwrap();
        let dec = Backend::Auto.open(Source::bytes(bytes)).unwrap();
        assert_eq!(dec.spec().backend, "ffmpeg");
    } else {
        for e in [
            Backend::Auto.open(&opus).map(|_| ()).unwrap_err(),
            load(&opus, &LoadOptions::default())
                .map(|_| ())
                .unwrap_err(),
            ChunkReader::open(&opus, Backend::Auto)
                .map(|_| ())
                .unwrap_err(),
        ] {
            assert_eq!(variant(&e), "Unsupported", "{e}");
            let msg = e.to_string();
            assert!(msg.contains(&opus_name), "does not name the file: {msg}");
            assert!(msg.contains("Opus") && msg.contains("ffmpeg"), "{msg}");
        }
        // The headers alone are symphonia's to read.
        let info = Backend::Auto.probe(&opus).unwrap();
        assert_eq!((info.backend, info.codec.as_str()), ("symphonia", "opus"));
    }
    // A reader is tried with symphonia only, so Opus from a reader is unsupported even with
    // FFmpeg built in.
    let file = std::fs::File::open(&opus).unwrap();
    let e = Backend::Auto
        .open(Source::reader(file).with_name("voice.opus"))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(variant(&e), "Unsupported", "{e}");
    assert!(e.to_string().contains("voice.opus"), "{e}");
}

/// `SymphoniaDecoder::fast_seek(true)`: AAC seeks by container seek + pre-roll. Positions stay
/// exact; the samples differ from a decode from the start only where the encoder used
/// perceptual noise substitution (PNS), whose noise symphonia draws from a generator running
/// through the whole stream. Measured max abs differences over 47 seeks each (FFmpeg 5.1's
/// AAC encoder): speech_16k.m4a 9.9e-3 (28 of 47 seeks bit-exact), speech.aac 1.5e-2 (24/47),
/// music_loop.m4a 1.4e-1 (40/47), stereo.m4a 1.8e-1 (11/47). The bound asserted, 0.5, is
/// loose on purpose (PNS bands carry noise at the signal's own level); a wrong position shows
/// as a length mismatch or as bit-exact runs failing, not as this difference.
#[test]
fn aac_fast_seek_is_exact_in_position() {
    let (inputs, _dir) = all_inputs("fastseek");
    let mut report = Vec::new();
    for path in inputs.iter().filter(|p| {
        let n = name_of(p);
        (n.ends_with(".m4a") && !n.contains("alac")) || n.ends_with(".aac")
    }) {
        let name = name_of(path);
        let full = decode_all(path);
        let len = full[0].len() as u64;
        let dec = SymphoniaDecoder::open(path.as_path())
            .unwrap()
            .fast_seek(true);
        let mut reader = ChunkReader::new(Box::new(dec));
        let mut worst = 0f32;
        let mut exact = 0;
        let points = seek_points(len);
        for &at in &points {
            let d = seek_and_compare(&mut reader, &full, at, 2048, &name);
            exact += usize::from(d == 0.0);
            worst = worst.max(d);
        }
        report.push(format!(
            "{name}: max {worst:e}, {exact}/{} exact",
            points.len()
        ));
        assert!(worst <= 0.5, "{name}: {worst}");
    }
    eprintln!("AAC fast seek: {}", report.join("; "));
}
