//! Shared body of the decoder targets: the first byte picks the file-extension hint given to
//! the container probe, the rest is the file.

use std::collections::BTreeSet;
use std::sync::{Mutex, Once};

use wavegpu::io::{Backend, ChunkReader, Source};

/// libFuzzer's panic hook aborts on every panic, even one that is caught. wavegpu's symphonia
/// backend runs symphonia's calls under a guard that turns a panic inside symphonia (a bug of
/// that crate on malformed data, such as an overflow check under `-a`) into `Error::Decode`,
/// by design. This hook lets exactly those panics — raised in a symphonia crate's own source —
/// unwind to that guard (printing each location once), and keeps libFuzzer's abort for every
/// other panic: one in wavegpu, or one in symphonia that no guard catches, still crashes.
fn install_hook() {
    static ONCE: Once = Once::new();
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(loc) = info.location() {
                if loc.file().contains("/symphonia-") {
                    let at = format!("{}:{}", loc.file(), loc.line());
                    if SEEN
                        .lock()
                        .map(|mut s| s.insert(at.clone()))
                        .unwrap_or(false)
                    {
                        eprintln!("symphonia panic (left to wavegpu's guard): {at}: {info}");
                    }
                    return;
                }
            }
            abort(info);
        }));
    });
}

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
    install_hook();
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
