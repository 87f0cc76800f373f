//! `wavegpu bench`: the reference batch through the main plans, each figure a ratio to the
//! device's own memory-bandwidth floor (issue 7's instrumentation).
//!
//! Per plan: the wall time of a whole `run_batch` (upload, kernels, readback), the GPU time
//! of its compute passes from timestamp queries, the bytes a perfect kernel must move (read
//! the samples once, write the output once), the achieved rate (those bytes over the pass
//! time) and the floor (those bytes over the measured copy bandwidth).

use std::time::Instant;

use ndarray::Array2;
use wavegpu::{AudioBatch, Device, Spectrogram};

use crate::args::{BenchArgs, DeviceName};
use crate::fail::Fail;

struct Row {
    name: String,
    wall: f64,
    gpu: Option<f64>,
    passes: usize,
    bytes: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

type Job<'a> = Box<dyn Fn() -> wavegpu::Result<()> + 'a>;

/// The rows one pair of STFT (power) and mel plans gives, names ending in `suffix`: the
/// power, complex and device-resident STFT and the mel, each with the bytes a perfect kernel
/// moves (`input`, `spec` and `mels` bytes). `finish` waits out a device-resident run.
fn plan_jobs<'a>(
    (stft, mel): (&'a wavegpu::Stft, &'a wavegpu::Mel),
    batch: &'a AudioBatch,
    finish: &'a dyn Fn(wavegpu::DeviceSpectrogram) -> wavegpu::Result<()>,
    (input, spec, mels): (f64, f64, f64),
    suffix: &str,
) -> Vec<(String, f64, Job<'a>)> {
    let job = |name: &str, bytes: f64, f: Job<'a>| (format!("{name}{suffix}"), bytes, f);
    vec![
        job(
            "stft power",
            input + spec,
            Box::new(move || stft.run_batch(batch).map(drop)),
        ),
        job(
            "stft complex",
            input + 2.0 * spec,
            Box::new(move || stft.run_batch_complex(batch).map(drop)),
        ),
        job(
            "stft power kept on the device",
            input + spec,
            Box::new(move || stft.run_batch_to_device(batch).and_then(finish)),
        ),
        job(
            "mel",
            input + mels,
            Box::new(move || mel.run_batch(batch).map(drop)),
        ),
    ]
}

pub fn bench(a: BenchArgs) -> Result<i32, Fail> {
    let lib = |e| Fail::lib("bench", e);
    let device = match a.device.device {
        DeviceName::Cpu => Device::cpu(),
        DeviceName::Auto => Device::auto(),
        DeviceName::Gpu => match Device::gpu_profiled() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("wavegpu bench: no timestamp queries ({e}); wall times only");
                Device::gpu().map_err(lib)?
            }
        },
    };
    let (clips, sr, n_fft, hop) = (a.clips, a.sr, a.n_fft, a.hop_length);
    let len = (a.seconds * f64::from(sr)).round();
    if clips == 0 || a.repeats == 0 || a.seconds.is_nan() || a.seconds <= 0.0 {
        return Err(Fail::usage("--clips, --seconds and --repeats must be > 0"));
    }
    if len.is_nan() || len < 1.0 {
        return Err(Fail::usage(format!(
            "--seconds {} is less than one sample at --sr {sr}",
            a.seconds
        )));
    }
    if n_fft == 0 || hop == 0 || a.n_mels == 0 {
        return Err(Fail::usage(
            "--n-fft, --hop-length and --n-mels must be > 0",
        ));
    }
    let len = len.min(usize::MAX as f64) as usize;
    // Refused here rather than aborting in the allocator: the batch is the caller's request.
    let too_big = || {
        Fail::input(
            "--clips x --seconds",
            format!(
                "a batch of {clips} x {len} samples ({:.3e} bytes as f32) cannot be allocated",
                clips as f64 * len as f64 * 4.0
            ),
        )
    };
    let total = clips
        .checked_mul(len)
        .filter(|&n| n <= isize::MAX as usize / 4)
        .ok_or_else(too_big)?;
    let mut samples: Vec<f32> = Vec::new();
    samples.try_reserve_exact(total).map_err(|_| too_big())?;
    let mut state = 0x1234_5678u32;
    samples.extend((0..total).map(|_| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    }));
    let data = Array2::from_shape_vec((clips, len), samples)
        .map_err(|e| Fail::input("--clips x --seconds", e))?;
    let batch = AudioBatch::new(data, vec![len; clips], sr).map_err(lib)?;
    let bw = if a.bandwidth_mib > 0 {
        device.copy_bandwidth(a.bandwidth_mib << 20).map_err(lib)?
    } else {
        None
    };

    let tile = a.frames_per_workgroup.map(|n| n as usize);
    let stft_b = Spectrogram::stft().n_fft(n_fft).hop_length(hop).power(2.0);
    let mel = Spectrogram::mel(sr)
        .n_fft(n_fft)
        .hop_length(hop)
        .n_mels(a.n_mels);
    let (stft_b, mel) = match tile {
        Some(n) => (stft_b.frames_per_workgroup(n), mel.frames_per_workgroup(n)),
        None => (stft_b, mel),
    };
    let stft = stft_b.clone().build(&device).map_err(lib)?;
    let mel_plan = mel.clone().build(&device).map_err(lib)?;
    let logmel = mel.clone().to_db(80.0).build(&device).map_err(lib)?;
    // On a GPU, without a fixed tile: the same kernels one frame per workgroup, beside the
    // plan's own choice.
    let untiled = (tile.is_none() && device.is_gpu())
        .then(|| {
            Ok::<_, wavegpu::Error>((
                stft_b.frames_per_workgroup(1).build(&device)?,
                mel.frames_per_workgroup(1).build(&device)?,
            ))
        })
        .transpose()
        .map_err(lib)?;
    let (_, n_freq, frames) = stft.output_shape(clips, len).map_err(lib)?;
    let input = (clips * len * 4) as f64;
    let spec = (clips * n_freq * frames * 4) as f64;
    let mels = (clips * a.n_mels * frames * 4) as f64;

    // A device-resident run returns once its work is submitted: its wall time waits for the
    // device to finish, so that it counts the kernels as the other rows do.
    let finish = |s: wavegpu::DeviceSpectrogram| {
        if let Some((d, _)) = device.wgpu() {
            d.poll(wavegpu::wgpu::PollType::wait_indefinitely())
                .map_err(|e| wavegpu::Error::Gpu {
                    context: "waiting for the GPU",
                    kind: wavegpu::GpuErrorKind::Internal,
                    reason: e.to_string(),
                })?;
        }
        drop(s);
        Ok(())
    };
    let bytes = (input, spec, mels);
    let mut jobs = plan_jobs((&stft, &mel_plan), &batch, &finish, bytes, "");
    jobs.push((
        "log-mel (dB)".to_string(),
        input + mels,
        Box::new(|| logmel.run_batch(&batch).map(drop)),
    ));
    if let Some((stft1, mel1)) = &untiled {
        let suffix = ", 1 frame per workgroup";
        jobs.extend(plan_jobs((stft1, mel1), &batch, &finish, bytes, suffix));
    }
    let mut rows = Vec::new();
    for (name, bytes, job) in &jobs {
        job().map_err(lib)?;
        device.take_pass_timings().map_err(lib)?;
        let (mut walls, mut gpus, mut passes) = (Vec::new(), Vec::new(), 0);
        for _ in 0..a.repeats {
            let t = Instant::now();
            job().map_err(lib)?;
            walls.push(t.elapsed().as_secs_f64());
            let timings = device.take_pass_timings().map_err(lib)?;
            passes = timings.len();
            if !timings.is_empty() {
                gpus.push(timings.iter().map(|t| t.seconds).sum());
            }
        }
        rows.push(Row {
            name: name.clone(),
            wall: median(walls),
            gpu: (!gpus.is_empty()).then(|| median(gpus)),
            passes,
            bytes: *bytes,
        });
    }

    if a.json {
        let mut out = String::new();
        let num = |v: Option<f64>| v.map_or("null".to_string(), |x| format!("{x:e}"));
        for r in &rows {
            out.push_str(&format!(
                "{{\"plan\": \"{}\", \"device\": \"{}\", \"clips\": {clips}, \"samples\": {len}, \
                 \"wall_s\": {:e}, \"passes\": {}, \"pass_s\": {}, \"bytes\": {}, \
                 \"copy_bandwidth\": {}, \"frames_per_workgroup\": {}}}\n",
                r.name,
                device.to_string().replace('"', "'"),
                r.wall,
                r.passes,
                num(r.gpu),
                r.bytes,
                num(bw),
                tile.map_or("null".to_string(), |n| n.to_string()),
            ));
        }
        crate::print_stdout(&out)?;
        return Ok(0);
    }
    let mut out = format!(
        "wavegpu bench on {device}\n{clips} clips x {} s at {sr} Hz ({len} samples), n_fft {n_fft}, \
         hop {hop}, {} mels; median of {} runs; frames per workgroup: {}\n",
        a.seconds,
        a.n_mels,
        a.repeats,
        tile.map_or("the plan's choice".to_string(), |n| n.to_string()),
    );
    match bw {
        Some(bw) => out.push_str(&format!(
            "copy bandwidth (buffer copies, read + write): {:.1} GB/s\n\n",
            bw / 1e9
        )),
        None => out.push('\n'),
    }
    out.push_str(
        "| plan | wall ms (upload+kernels+readback) | GPU passes | pass ms | floor bytes | \
         achieved GB/s | floor ms | pass / floor |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in &rows {
        let floor = bw.map(|bw| r.bytes / bw);
        let cell = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("n/a".into(), f);
        out.push_str(&format!(
            "| {} | {:.2} | {} | {} | {:.1} MB | {} | {} | {} |\n",
            r.name,
            r.wall * 1e3,
            r.passes,
            cell(r.gpu, &|g| format!("{:.3}", g * 1e3)),
            r.bytes / 1e6,
            cell(r.gpu, &|g| format!("{:.2}", r.bytes / g / 1e9)),
            cell(floor, &|f| format!("{:.3}", f * 1e3)),
            cell(r.gpu.zip(floor).map(|(g, f)| g / f), &|x| format!(
                "{x:.2}x"
            )),
        ));
    }
    crate::print_stdout(&out)?;
    Ok(0)
}
