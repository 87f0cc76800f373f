//! Times one CQT plan (librosa.cqt's defaults at 22.05 kHz unless told otherwise) on a batch
//! of clips and prints one JSON line; `bench/compare_cqt.py` runs it beside librosa.cqt on the
//! same samples (`--input clips.npy`, float32 `(clips, samples)`).
//!
//! ```text
//! cargo run --release --example bench_cqt -- --input clips.npy [--hop 512] [--device cpu|gpu|auto] [--repeats 3] [--output ROW0.npy]
//! ```
//!
//! The plan (filter design, FFT plans, pipelines) is built once outside the timed runs, as a
//! program that processes many files would; one untimed warm-up run, then `--repeats` timed
//! `Cqt::run_batch` calls over the whole batch; the median is printed. `--output` writes row
//! 0's `(n_bins, frames)` magnitude as float32 .npy (for the script's check against librosa).

use std::process::ExitCode;
use std::time::Instant;

use ndarray::Array2;
use ndarray_npy::read_npy;
use wavegpu::{AudioBatch, Device, Spectrogram};

fn main() -> ExitCode {
    let mut input = None;
    let mut hop = 512usize;
    let mut device = "cpu".to_string();
    let mut repeats = 3usize;
    let mut output = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--input" => input = Some(v),
            "--hop" => hop = v.parse().unwrap_or(0),
            "--device" => device = v,
            "--repeats" => repeats = v.parse().unwrap_or(0),
            "--output" => output = Some(v),
            _ => {
                eprintln!("usage: bench_cqt --input CLIPS.npy [--hop N] [--device cpu|gpu|auto] [--repeats N] [--output ROW0.npy]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(input) = input else {
        eprintln!("--input CLIPS.npy is required");
        return ExitCode::from(2);
    };
    let run = || -> Result<String, Box<dyn std::error::Error>> {
        let x: Array2<f32> = read_npy(&input)?;
        let dev = match device.as_str() {
            "cpu" => Device::cpu(),
            "gpu" => Device::gpu()?,
            _ => Device::auto(),
        };
        let lengths = vec![x.ncols(); x.nrows()];
        let batch = AudioBatch::new(x, lengths, 22_050)?;
        let plan = Spectrogram::cqt(22_050).hop_length(hop).build(&dev)?;
        let first = plan.run_batch(&batch)?;
        let shape = first.dim();
        if let Some(path) = &output {
            ndarray_npy::write_npy(path, &first.index_axis(ndarray::Axis(0), 0).to_owned())?;
        }
        let mut times = Vec::new();
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            std::hint::black_box(plan.run_batch(&batch)?);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        Ok(format!(
            "{{\"device\": \"{dev}\", \"clips\": {}, \"shape\": [{}, {}, {}], \"median_s\": {median:.6}, \"per_clip_ms\": {:.3}}}",
            shape.0,
            shape.0,
            shape.1,
            shape.2,
            1e3 * median / shape.0 as f64
        ))
    };
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
