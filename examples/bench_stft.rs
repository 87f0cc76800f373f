//! Times one STFT plan on a batch of clips and prints the result as one JSON line.
//!
//! Used by `bench/compare_cpu.py` for the side-by-side against librosa and torch, so the
//! three read the same samples (`--input clips.npy`, float32 `(clips, samples)`). Without
//! `--input` it makes its own deterministic signal (see [`synth`]).
//!
//! ```text
//! cargo run --release --example bench_stft -- --n-fft 512 --hop 160 --clips 40 \
//!     --seconds 10 --sr 16000 --power 2 --device cpu --repeats 7 [--input x.npy] [--output y.npy]
//! ```
//!
//! The plan is built once, outside the timed runs; one untimed warm-up run precedes the
//! `--repeats` timed ones. Each timed run is one `Stft::run_batch` on the whole batch
//! (input check, framing, FFT, |X|^power, output array in librosa's (rows, freq, frames)
//! layout). `--output` writes row 0's `(freq, frames)` result as float32 .npy.

use std::process::ExitCode;
use std::time::Instant;

use ndarray::{s, Array2};
use ndarray_npy::{read_npy, write_npy};
use wavegpu::{AudioBatch, Device, Spectrogram};

struct Args {
    n_fft: usize,
    hop: usize,
    clips: usize,
    seconds: f64,
    sr: u32,
    power: f32,
    device: String,
    repeats: usize,
    input: Option<String>,
    output: Option<String>,
}

const USAGE: &str = "usage: bench_stft [--n-fft N] [--hop N] [--clips N] [--seconds S] [--sr HZ] \
[--power P] [--device cpu|gpu|auto] [--repeats N] [--input CLIPS.npy] [--output ROW0.npy]";

fn parse() -> Result<Args, String> {
    let mut a = Args {
        n_fft: 512,
        hop: 160,
        clips: 40,
        seconds: 10.0,
        sr: 16_000,
        power: 2.0,
        device: "cpu".into(),
        repeats: 7,
        input: None,
        output: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let val = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {val}: {e}");
        match flag.as_str() {
            "--n-fft" => a.n_fft = val.parse().map_err(|e| bad(&e))?,
            "--hop" => a.hop = val.parse().map_err(|e| bad(&e))?,
            "--clips" => a.clips = val.parse().map_err(|e| bad(&e))?,
            "--seconds" => a.seconds = val.parse().map_err(|e| bad(&e))?,
            "--sr" => a.sr = val.parse().map_err(|e| bad(&e))?,
            "--power" => a.power = val.parse().map_err(|e| bad(&e))?,
            "--device" => a.device = val,
            "--repeats" => a.repeats = val.parse().map_err(|e| bad(&e))?,
            "--input" => a.input = Some(val),
            "--output" => a.output = Some(val),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if a.repeats == 0 || a.clips == 0 {
        return Err("--repeats and --clips must be >= 1".into());
    }
    Ok(a)
}

/// A deterministic test signal when no `--input` is given: a few sinusoids per clip plus
/// uniform noise from a fixed xorshift generator (amplitude within [-1, 1]).
fn synth(clips: usize, len: usize, sr: u32) -> Array2<f32> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    Array2::from_shape_fn((clips, len), |(c, i)| {
        let t = i as f32 / sr as f32;
        let f = 110.0 * (c + 1) as f32;
        0.3 * (std::f32::consts::TAU * f * t).sin()
            + 0.2 * (std::f32::consts::TAU * 3.1 * f * t).sin()
    }) + Array2::from_shape_simple_fn((clips, len), || 0.1 * next())
}

fn run() -> Result<(), String> {
    let a = parse()?;
    let data: Array2<f32> = match &a.input {
        Some(p) => read_npy(p).map_err(|e| format!("{p}: {e}"))?,
        None => synth(a.clips, (a.seconds * a.sr as f64).round() as usize, a.sr),
    };
    let (rows, len) = data.dim();
    let batch = AudioBatch::new(data, vec![len; rows], a.sr).map_err(|e| e.to_string())?;
    let device = Device::from_name(&a.device).map_err(|e| e.to_string())?;

    let t_build = Instant::now();
    let plan = Spectrogram::stft()
        .n_fft(a.n_fft)
        .hop_length(a.hop)
        .power(a.power)
        .build(&device)
        .map_err(|e| e.to_string())?;
    let build_s = t_build.elapsed().as_secs_f64();

    let out = plan.run_batch(&batch).map_err(|e| e.to_string())?; // warm-up (buffers, caches)
    let shape = out.dim();
    if let Some(p) = &a.output {
        let row0 = out.slice(s![0, .., ..]).to_owned();
        write_npy(p, &row0).map_err(|e| format!("{p}: {e}"))?;
    }
    drop(out);

    let mut times = Vec::with_capacity(a.repeats);
    for _ in 0..a.repeats {
        let t = Instant::now();
        let out = plan.run_batch(&batch).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        0.5 * (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2])
    };
    let fmt_list = |v: &[f64]| {
        v.iter()
            .map(|t| format!("{t:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let dev = device
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    println!(
        "{{\"device\": \"{dev}\", \"threads\": {}, \"rows\": {rows}, \"len\": {len}, \"sr\": {}, \
\"n_fft\": {}, \"hop\": {}, \"power\": {}, \"shape\": [{}, {}, {}], \"build_s\": {build_s:.6}, \
\"median_s\": {median:.6}, \"min_s\": {:.6}, \"times_s\": [{}]}}",
        rayon::current_num_threads(),
        a.sr,
        a.n_fft,
        a.hop,
        a.power,
        shape.0,
        shape.1,
        shape.2,
        sorted[0],
        fmt_list(&times),
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_stft: {e}");
            ExitCode::from(2)
        }
    }
}
