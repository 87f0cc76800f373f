//! The cost of sharing one plan between threads (issue 8, item 5), against one plan per thread
//! and against one thread.
//!
//! ```text
//! cargo run --release --example threads -- [--device cpu|gpu] [--threads 8] [--runs 40] [--plan mel|augment]
//! ```
//!
//! Every mode runs the same `threads x runs` inputs (1 s clips at 16 kHz; a batch of 4 for
//! `augment`), each a slightly different signal:
//!
//! - `serial`: one plan, one thread;
//! - `shared`: one plan, `threads` threads (a GPU plan's buffers are held by one run at a time);
//! - `per_thread`: one plan per thread, `threads` threads.
//!
//! Prints one JSON line per mode: wall seconds, runs per second, and what the plans cost to
//! build (seconds, and resident memory growth, `VmRSS`, which on lavapipe includes the "GPU"
//! buffers). Each mode's results are checked against the serial ones (the same bits), so a
//! mode that computed something else fails instead of printing a figure.

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;
use std::time::Instant;

use ndarray::{Array2, Array3};
use support::{rss_kib, signal};
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::{Audio, Device, Mel, Spectrogram};

enum Plan {
    Mel(Mel),
    Augment(Pipeline),
}

enum Out {
    Mel(Array3<f32>),
    Augment(Array2<f32>),
}

impl PartialEq for Out {
    fn eq(&self, o: &Out) -> bool {
        match (self, o) {
            (Out::Mel(a), Out::Mel(b)) => a == b,
            (Out::Augment(a), Out::Augment(b)) => a == b,
            _ => false,
        }
    }
}

enum Input {
    Clip(Audio),
    Batch(Batch),
}

fn build(kind: &str, dev: &Device) -> wavegpu::Result<Plan> {
    Ok(match kind {
        "augment" => Plan::Augment(Pipeline::from_json(
            r#"[{"name": "gain", "p": 1.0}, {"name": "add_gaussian_snr", "p": 1.0},
                {"name": "low_pass_filter", "p": 1.0}, {"name": "pitch_shift", "p": 0.5}]"#,
            dev,
        )?),
        _ => Plan::Mel(
            Spectrogram::mel(16_000)
                .n_fft(512)
                .hop_length(160)
                .n_mels(64)
                .build(dev)?,
        ),
    })
}

fn input(kind: &str, k: usize) -> Input {
    match kind {
        "augment" => {
            let data: Vec<f32> = (0..4).flat_map(|r| signal(4 * k + r, 16_000)).collect();
            let data = Array2::from_shape_vec((4, 16_000), data).expect("4 x 16000");
            Input::Batch(Batch::new(data, vec![16_000; 4], 1, 16_000).expect("a valid batch"))
        }
        _ => Input::Clip(Audio::from_mono(signal(k, 16_000), 16_000)),
    }
}

fn run(p: &Plan, x: &Input, k: usize) -> wavegpu::Result<Out> {
    Ok(match (p, x) {
        (Plan::Mel(m), Input::Clip(a)) => Out::Mel(m.run(a)?),
        (Plan::Augment(a), Input::Batch(b)) => Out::Augment(a.run(k as u64, b)?.data().to_owned()),
        _ => unreachable!("plans and inputs are made for the same kind"),
    })
}

fn main() -> ExitCode {
    let (mut device, mut threads, mut runs, mut kind) =
        ("cpu".to_string(), 8usize, 40usize, "mel".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--device" => device = v,
            "--threads" => threads = v.parse().unwrap_or(0),
            "--runs" => runs = v.parse().unwrap_or(0),
            "--plan" => kind = v,
            _ => {
                eprintln!("usage: threads [--device cpu|gpu] [--threads 8] [--runs 40] [--plan mel|augment]");
                return ExitCode::from(2);
            }
        }
    }
    if threads == 0 || runs == 0 {
        eprintln!("--threads and --runs must be positive");
        return ExitCode::from(2);
    }
    let dev = match Device::from_name(&device) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{dev}; {threads} threads x {runs} runs of `{kind}`");
    let inputs: Vec<Input> = (0..threads * runs).map(|k| input(&kind, k)).collect();
    let report = |mode: &str, build_s: f64, build_kib: i64, wall: f64| {
        println!(
            "{{\"mode\": \"{mode}\", \"plan\": \"{kind}\", \"device\": \"{device}\", \"threads\": {}, \"runs\": {}, \"build_s\": {build_s:.4}, \"plans_rss_kib\": {build_kib}, \"wall_s\": {wall:.3}, \"runs_per_s\": {:.1}}}",
            if mode == "serial" { 1 } else { threads },
            inputs.len(),
            inputs.len() as f64 / wall
        );
    };
    let measure_build = |n: usize| -> wavegpu::Result<(Vec<Plan>, f64, i64)> {
        let (r0, t0) = (rss_kib(), Instant::now());
        let plans = (0..n)
            .map(|_| build(&kind, &dev))
            .collect::<Result<Vec<_>, _>>()?;
        // One warm-up run each: buffers are allocated on the first run.
        for (i, p) in plans.iter().enumerate() {
            run(p, &inputs[i], i)?;
        }
        Ok((
            plans,
            t0.elapsed().as_secs_f64(),
            rss_kib() as i64 - r0 as i64,
        ))
    };
    let result = (|| -> wavegpu::Result<()> {
        // serial
        let (plans, bs, bk) = measure_build(1)?;
        let t0 = Instant::now();
        let want = inputs
            .iter()
            .enumerate()
            .map(|(k, x)| run(&plans[0], x, k))
            .collect::<Result<Vec<_>, _>>()?;
        report("serial", bs, bk, t0.elapsed().as_secs_f64());
        // shared, then one plan per thread
        for mode in ["shared", "per_thread"] {
            let owned;
            let (plans, bs, bk): (Vec<&Plan>, f64, i64) = if mode == "shared" {
                (vec![&plans[0]], 0.0, 0)
            } else {
                owned = measure_build(threads)?;
                (owned.0.iter().collect(), owned.1, owned.2)
            };
            let t0 = Instant::now();
            let got: Vec<Vec<(usize, Out)>> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..threads)
                    .map(|t| {
                        let p = plans[t % plans.len()];
                        let inputs = &inputs;
                        s.spawn(move || {
                            (t * runs..(t + 1) * runs)
                                .map(|k| run(p, &inputs[k], k).map(|o| (k, o)))
                                .collect::<Result<Vec<_>, _>>()
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().expect("a worker thread panicked"))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            let wall = t0.elapsed().as_secs_f64();
            for (k, o) in got.into_iter().flatten() {
                assert!(o == want[k], "{mode}: run {k} differs from the serial run");
            }
            report(mode, bs, bk, wall);
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
