//! Long runs (issue 8, item 6): one plan run many times, memory sampled as it goes.
//!
//! ```text
//! cargo run --release --example soak -- [--device cpu|gpu] [--runs 10000] [--plan mel|stft|cqt|augment]
//! ```
//!
//! Builds the plan once, then runs it `--runs` times on a 1 s clip (a batch of 4 for
//! `augment`), each run on a slightly different signal so no result is cached. Prints one JSON
//! line per tenth of the runs: runs done, the process's resident memory (`VmRSS`, which on
//! lavapipe includes the "GPU" buffers, kept in host memory), and on a GPU the allocator
//! report's reserved bytes where the backend gives one. Memory is flat when the last lines
//! agree with the first after warm-up.

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;

use ndarray::Array2;
use support::{rss_kib, signal};
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::{Audio, Device, Spectrogram};

fn gpu_reserved(dev: &Device) -> Option<u64> {
    let (d, _) = dev.wgpu()?;
    d.generate_allocator_report()
        .map(|r| r.total_reserved_bytes)
}

fn main() -> ExitCode {
    let (mut device, mut runs, mut plan) = ("cpu".to_string(), 10_000usize, "mel".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--device" => device = v,
            "--runs" => runs = v.parse().unwrap_or(0),
            "--plan" => plan = v,
            _ => {
                eprintln!(
                    "usage: soak [--device cpu|gpu] [--runs N] [--plan mel|stft|cqt|augment]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let dev = match Device::from_name(&device) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sr = 16_000u32;
    type Run = Box<dyn Fn(usize) -> wavegpu::Result<f32>>;
    let run: wavegpu::Result<Run> = (|| -> wavegpu::Result<Run> {
        Ok(match plan.as_str() {
            "stft" => {
                let p = Spectrogram::stft().n_fft(512).hop_length(160).build(&dev)?;
                Box::new(move |k| Ok(p.run(&Audio::from_mono(signal(k, 16_000), sr))?[[0, 3, 3]]))
            }
            "cqt" => {
                let p = Spectrogram::cqt(sr).build(&dev)?;
                Box::new(move |k| Ok(p.run(&Audio::from_mono(signal(k, 16_000), sr))?[[0, 3, 3]]))
            }
            "augment" => {
                let p = Pipeline::from_json(
                    r#"[{"name": "gain", "p": 1.0}, {"name": "low_pass_filter", "p": 0.5},
                        {"name": "add_gaussian_snr", "p": 0.5}, {"name": "pitch_shift", "p": 0.3}]"#,
                    &dev,
                )?;
                Box::new(move |k| {
                    let rows: Vec<f32> = (0..4).flat_map(|r| signal(k + r, 16_000)).collect();
                    let data = Array2::from_shape_vec((4, 16_000), rows).expect("4 x 16000");
                    let b = Batch::new(data, vec![16_000, 12_000, 16_000, 9_000], 1, sr)?;
                    Ok(p.run(k as u64, &b)?.data()[[0, 5]])
                })
            }
            _ => {
                let p = Spectrogram::mel(sr)
                    .n_fft(512)
                    .hop_length(160)
                    .n_mels(64)
                    .build(&dev)?;
                Box::new(move |k| Ok(p.run(&Audio::from_mono(signal(k, 16_000), sr))?[[0, 3, 3]]))
            }
        })
    })();
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t0 = std::time::Instant::now();
    let mut check = 0.0f32;
    for k in 0..runs {
        match run(k) {
            Ok(v) => check += v,
            Err(e) => {
                eprintln!("soak: run {k}: {e}");
                return ExitCode::FAILURE;
            }
        }
        if (k + 1) % (runs / 10).max(1) == 0 {
            println!(
                "{{\"plan\": \"{plan}\", \"device\": \"{dev:?}\", \"runs\": {}, \"rss_kib\": {}, \"gpu_reserved_bytes\": {}, \"seconds\": {:.1}}}",
                k + 1,
                rss_kib(),
                gpu_reserved(&dev).map_or("null".into(), |b| b.to_string()),
                t0.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!("checksum {check}");
    ExitCode::SUCCESS
}
