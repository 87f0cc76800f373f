//! Decode throughput: decodes each file to the end through a backend (chunk by chunk, nothing
//! kept) and prints one JSON line per file: frames, channels, seconds of audio, wall time,
//! and the ratio (audio seconds per wall second).
//!
//! ```text
//! cargo run --release --features ffmpeg --example bench_decode -- --backend symphonia|ffmpeg FILE...
//! ```

use std::process::ExitCode;
use std::time::Instant;

use wavegpu::io::{Backend, ChunkReader};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut backend = Backend::Symphonia;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        if a == "--backend" {
            match args.next().map(|b| b.parse::<Backend>()) {
                Some(Ok(b)) => backend = b,
                _ => {
                    eprintln!("--backend symphonia|ffmpeg|auto");
                    return ExitCode::from(2);
                }
            }
        } else {
            files.push(a);
        }
    }
    for f in &files {
        let t = Instant::now();
        let run = || -> wavegpu::Result<(u64, usize, u32)> {
            let mut r = ChunkReader::open(f.as_str(), backend)?;
            let ch = r.channels();
            let mut buf = vec![0.0f32; ch * 65_536];
            let mut frames = 0u64;
            loop {
                let n = r.read(&mut buf, 65_536)?;
                if n == 0 {
                    break;
                }
                frames += n as u64;
            }
            Ok((frames, ch, r.sample_rate()))
        };
        match run() {
            Ok((frames, ch, sr)) => {
                let wall = t.elapsed().as_secs_f64();
                let secs = frames as f64 / sr as f64;
                println!(
                    "{{\"file\": \"{f}\", \"backend\": \"{backend}\", \"frames\": {frames}, \"channels\": {ch}, \"audio_s\": {secs:.2}, \"wall_s\": {wall:.4}, \"x_realtime\": {:.0}}}",
                    secs / wall
                );
            }
            Err(e) => {
                eprintln!("{f}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
