//! Replay of what the `decode_ffmpeg` fuzz target found (RELIABILITY.md): a corrupt
//! WAVE_FORMAT_EXTENSIBLE header made FFmpeg ask the read callback for 1.1 GB at once, and the
//! backend grew its staging buffer to match (out of memory under the fuzzer's 2 GB limit). A
//! read now asks the reader for at most 1 MiB. This binary counts the Rust side's heap (FFmpeg's
//! own allocations do not go through it) and checks its peak while the input is decoded.
#![cfg(feature = "ffmpeg")]

mod common;

use std::sync::atomic::Ordering;

use common::{Counting, LIVE, PEAK};
use wavegpu::io::{Backend, Source};

#[global_allocator]
static A: Counting = Counting;

#[test]
fn a_huge_read_request_does_not_grow_the_staging_buffer() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fuzz/decode_ffmpeg/oom-73baab6c0748f349e3e71b3e2c57cd71469e9b83"
    );
    let data = std::fs::read(path).unwrap();
    // The fuzz target's first byte picks the extension hint (0: none); the rest is the file.
    let file = &data[1..];
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let probed = Backend::Ffmpeg.probe(Source::bytes(file));
    if let Ok(mut d) = Backend::Ffmpeg.open(Source::bytes(file)) {
        while let Ok(Some(_)) = d.next_chunk() {}
    }
    let grew = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!(
        "probe: {:?}; Rust heap peak during the decode: +{grew} bytes",
        probed.err()
    );
    assert!(grew < 64 << 20, "the Rust side allocated {grew} bytes");
}
