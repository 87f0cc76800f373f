//! Shared body of the decoder targets: the first byte picks the file-extension hint given to
//! the container probe, the rest is the file.

use wavegpu::io::{Backend, ChunkReader, Source};

/// Hints tried by the probe (None: content only).
const HINTS: [Option<&str>; 16] = [
    None,
    Some("wav"),
    Some("flac"),
    Some("mp3"),
    Some("ogg"),
    Some("m4a"),
    Some("aac"),
    Some("aiff"),
    Some("caf"),
    Some("mka"),
    Some("webm"),
    Some("opus"),
    Some("mp2"),
    Some("mp4"),
    Some("alac"),
    Some("bin"),
];

pub fn run(backend: Backend, data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    let source = || {
        let s = Source::bytes(file);
        match HINTS[(first as usize) % HINTS.len()] {
            Some(h) => s.with_extension(h),
            None => s,
        }
    };

    // Headers only.
    if let Ok(info) = backend.probe(source()) {
        let _ = info.to_json();
    }

    // Decode to the end: every chunk must be what the stream said.
    let Ok(mut dec) = backend.open(source()) else {
        return;
    };
    let spec = dec.spec().clone();
    assert!(spec.channels > 0, "opened with 0 channels: {spec:?}");
    let mut total: u64 = 0;
    loop {
        match dec.next_chunk() {
            Ok(Some(chunk)) => {
                assert_eq!(chunk.channels(), spec.channels, "{spec:?}");
                assert_eq!(chunk.planar().len(), chunk.channels() * chunk.frames());
                total += chunk.frames() as u64;
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    drop(dec);

    // Seek somewhere and read a block, mixed down to mono, through the chunk reader.
    let Ok(reader) = ChunkReader::open(source(), backend) else {
        return;
    };
    let mut reader = reader.mono(true);
    let target = if total > 0 {
        (first as u64 * 7919) % (total + 1)
    } else {
        first as u64
    };
    if reader.seek(target).is_ok() {
        let mut block = vec![0f32; 256];
        let _ = reader.read(&mut block, 256);
    }
}
