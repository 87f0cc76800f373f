//! Times one augmentation pipeline on a batch of clips and prints one JSON line;
//! `bench/compare_augment.py` runs it beside audiomentations (and torch-audiomentations) on
//! the same samples (`--input clips.npy`, float32 `(clips, samples)`).
//!
//! ```text
//! cargo run --release --example bench_augment -- --input clips.npy --pipeline '[{"name": "gain", "p": 1.0}]' [--sr 44100] [--device cpu|gpu|auto] [--repeats 5]
//! ```
//!
//! The pipeline (GPU pipelines and buffers included) is built once outside the timed runs;
//! one untimed warm-up, then `--repeats` timed `Pipeline::run` calls over the whole batch
//! (on the GPU: upload, every step, readback), then the same with `Pipeline::run_in_place`;
//! the medians are printed, with µs per clip.

use std::process::ExitCode;
use std::time::Instant;

use ndarray::Array2;
use ndarray_npy::read_npy;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::Device;

fn main() -> ExitCode {
    let mut input = None;
    let mut pipeline = None;
    let mut sr = 44_100u32;
    let mut device = "cpu".to_string();
    let mut repeats = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--input" => input = Some(v),
            "--pipeline" => pipeline = Some(v),
            "--sr" => sr = v.parse().unwrap_or(0),
            "--device" => device = v,
            "--repeats" => repeats = v.parse().unwrap_or(0),
            _ => {
                eprintln!("usage: bench_augment --input CLIPS.npy --pipeline JSON [--sr HZ] [--device cpu|gpu|auto] [--repeats N]");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(input), Some(pipeline)) = (input, pipeline) else {
        eprintln!("--input CLIPS.npy and --pipeline JSON are required");
        return ExitCode::from(2);
    };
    let run = || -> Result<String, Box<dyn std::error::Error>> {
        let x: Array2<f32> = read_npy(&input)?;
        let dev = match device.as_str() {
            "cpu" => Device::cpu(),
            "gpu" => Device::gpu()?,
            _ => Device::auto(),
        };
        let clips = x.nrows();
        let lengths = vec![x.ncols(); clips];
        let mut batch = Batch::new(x, lengths, 1, sr)?;
        let plan = Pipeline::from_json(&pipeline, &dev)?;
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        // `run`: a new batch per call (a batch-sized allocation each time).
        std::hint::black_box(plan.run(0, &batch)?);
        let mut times = Vec::new();
        for seed in 1..=repeats.max(1) as u64 {
            let t = Instant::now();
            std::hint::black_box(plan.run(seed, &batch)?);
            times.push(t.elapsed().as_secs_f64());
        }
        let run = median(times);
        // `run_in_place`: the batch's own memory (a loader reusing its buffers).
        plan.run_in_place(0, &mut batch)?;
        let mut times = Vec::new();
        for seed in 1..=repeats.max(1) as u64 {
            let t = Instant::now();
            plan.run_in_place(seed, &mut batch)?;
            times.push(t.elapsed().as_secs_f64());
        }
        let in_place = median(times);
        Ok(format!(
            "{{\"device\": \"{dev}\", \"clips\": {clips}, \"median_s\": {run:.6}, \"in_place_s\": {in_place:.6}, \"per_clip_us\": {:.2}, \"in_place_per_clip_us\": {:.2}}}",
            1e6 * run / clips as f64,
            1e6 * in_place / clips as f64
        ))
    };
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_augment: {e}");
            ExitCode::FAILURE
        }
    }
}
