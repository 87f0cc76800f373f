//! Criterion benches of the STFT plan.
//!
//! `cargo bench --bench stft` (add `-- --quick` for a shorter run). Every plan is built once,
//! outside the timed loop; each iteration is one `run` / `run_batch` including the input check
//! and the `(rows, freq, frames)` output array.
//!
//! Devices: the CPU path always; the GPU path when `Device::gpu()` opens an adapter, labelled
//! with the adapter's name. Set `WAVEGPU_BENCH_GPU=0` to skip the GPU path. On a machine
//! without a GPU that adapter is lavapipe/llvmpipe, a software Vulkan device running on the
//! same CPU: its timings measure Mesa's shader compiler output on the CPU, not any GPU.
//!
//! Cases (deterministic signals, 10 s each):
//! - `16k_n512_h160_p2/1clip`   one clip, 16 kHz, n_fft 512, hop 160, power 2 (`run`)
//! - `16k_n512_h160_p2/16clips` sixteen such clips in one `run_batch`
//! - `22k_n2048_h512_p1/1clip`  one clip, 22.05 kHz, n_fft 2048, hop 512, magnitude
//! - `16k_n400_h160_p2/1clip`   one clip, 16 kHz, n_fft 400 (not a power of two), hop 160, power 2

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use wavegpu::{Audio, AudioBatch, Device, Spectrogram};

const SECONDS: usize = 10;

/// `clips` deterministic clips of `SECONDS` at `sr`: two sinusoids per clip plus
/// xorshift noise, within [-1, 1].
fn signal(clips: usize, sr: usize) -> Array2<f32> {
    let len = SECONDS * sr;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let mut a = Array2::<f32>::zeros((clips, len));
    for ((c, i), v) in a.indexed_iter_mut() {
        let t = i as f32 / sr as f32;
        let f = 110.0 * (c + 1) as f32;
        *v = 0.3 * (std::f32::consts::TAU * f * t).sin()
            + 0.2 * (std::f32::consts::TAU * 3.1 * f * t).sin()
            + 0.1 * noise();
    }
    a
}

/// The devices to bench, each with a short label for the bench id.
fn devices() -> Vec<(String, Device)> {
    let mut out = vec![("cpu".to_string(), Device::cpu())];
    eprintln!("wavegpu bench: cpu = {}", Device::cpu());
    if std::env::var("WAVEGPU_BENCH_GPU").is_ok_and(|v| v == "0") {
        eprintln!("wavegpu bench: GPU path skipped (WAVEGPU_BENCH_GPU=0)");
        return out;
    }
    match Device::gpu() {
        Ok(dev) => {
            let desc = dev.to_string();
            let software =
                desc.contains("llvmpipe") || desc.contains("lavapipe") || desc.contains(", Cpu)");
            let name = desc
                .trim_start_matches("gpu: ")
                .split(['(', ','])
                .next()
                .unwrap_or("gpu")
                .trim()
                .replace(' ', "_");
            let label = format!("gpu-{name}");
            eprintln!("wavegpu bench: {label} = {desc}");
            if software {
                eprintln!(
                    "wavegpu bench: NOTE {name} is a software Vulkan rasteriser running on this CPU; \
                     its timings say nothing about GPU speed (use them only to spot regressions in \
                     the GPU code path's host side)"
                );
            }
            out.push((label, dev));
        }
        Err(e) => eprintln!("wavegpu bench: no GPU adapter, GPU path not benched ({e})"),
    }
    out
}

struct Case {
    name: &'static str,
    sr: usize,
    n_fft: usize,
    hop: usize,
    power: f32,
    clips: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "16k_n512_h160_p2",
        sr: 16_000,
        n_fft: 512,
        hop: 160,
        power: 2.0,
        clips: 1,
    },
    Case {
        name: "16k_n512_h160_p2",
        sr: 16_000,
        n_fft: 512,
        hop: 160,
        power: 2.0,
        clips: 16,
    },
    Case {
        name: "22k_n2048_h512_p1",
        sr: 22_050,
        n_fft: 2048,
        hop: 512,
        power: 1.0,
        clips: 1,
    },
    Case {
        name: "16k_n400_h160_p2",
        sr: 16_000,
        n_fft: 400,
        hop: 160,
        power: 2.0,
        clips: 1,
    },
];

fn bench_stft(c: &mut Criterion) {
    for (label, dev) in devices() {
        let mut group = c.benchmark_group(format!("stft/{label}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for case in CASES {
            let data = signal(case.clips, case.sr);
            let plan = Spectrogram::stft()
                .n_fft(case.n_fft)
                .hop_length(case.hop)
                .power(case.power)
                .build(&dev)
                .unwrap_or_else(|e| panic!("building {} on {label}: {e}", case.name));
            group.throughput(Throughput::Elements(data.len() as u64));
            let id = BenchmarkId::new(
                case.name,
                format!(
                    "{}clip{}",
                    case.clips,
                    if case.clips > 1 { "s" } else { "" }
                ),
            );
            if case.clips == 1 {
                let audio = Audio::new(data, case.sr as u32).expect("valid audio");
                group.bench_function(id, |b| b.iter(|| plan.run(&audio).expect("stft run")));
            } else {
                let len = data.ncols();
                let batch = AudioBatch::new(data, vec![len; case.clips], case.sr as u32)
                    .expect("valid batch");
                group.bench_function(id, |b| {
                    b.iter(|| plan.run_batch(&batch).expect("stft run_batch"))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench_stft);
criterion_main!(benches);
