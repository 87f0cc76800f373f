//! Streaming: a signal pushed chunk by chunk through STFT and feature plans gives exactly the
//! frames of one run on the whole signal (CPU and GPU, every chunk size, centred or not, both
//! pad modes, odd n_fft, stereo), and an hour of audio streams through log-mel with the live
//! heap bounded by a few chunk sizes (a counting allocator, whatever the signal's length).

mod common;

use std::sync::atomic::Ordering;

use common::*;
use ndarray::{concatenate, s, Array2, Array3, Axis};
use wavegpu::{Audio, DbScale, Device, PadMode, Spectrogram};

#[global_allocator]
static A: Counting = Counting;

/// The tests of this file run one at a time: the allocator's counts are global, so a test
/// measuring its peak heap must not see another test's allocations.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn join(blocks: &[Array3<f32>]) -> Array3<f32> {
    let v: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    concatenate(Axis(2), &v).unwrap()
}

/// Pushes `x` in chunks of `n` (the last one shorter) through `step(Some(chunk))`, then
/// `step(None)` (finish); the blocks joined.
fn chunked(
    x: &Array2<f32>,
    n: usize,
    mut step: impl FnMut(Option<ndarray::ArrayView2<'_, f32>>) -> Array3<f32>,
) -> Array3<f32> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < x.ncols() {
        let j = (i + n).min(x.ncols());
        blocks.push(step(Some(x.slice(s![.., i..j]))));
        i = j;
    }
    blocks.push(step(None));
    join(&blocks)
}

fn devices() -> Vec<Device> {
    std::iter::once(Device::cpu()).chain(gpu()).collect()
}

#[test]
fn stft_stream_equals_whole_run() {
    let _serial = serial();
    let stereo = Array2::from_shape_fn((2, 23_456), |(c, i)| {
        ((i as f32 * 0.013 * (c + 1) as f32).sin() + 0.1 * ((i * 7919 % 1000) as f32 / 1000.0))
            * 0.5
    });
    for dev in devices() {
        for (n_fft, hop, center, pad) in [
            (512, 160, true, PadMode::Constant),
            (512, 128, true, PadMode::Reflect),
            (400, 160, false, PadMode::Constant),
            (1023, 100, true, PadMode::Reflect),
            (2048, 512, true, PadMode::Constant),
        ] {
            let plan = Spectrogram::stft()
                .n_fft(n_fft)
                .hop_length(hop)
                .center(center)
                .pad_mode(pad)
                .power(2.0)
                .build(&dev)
                .unwrap();
            let whole = plan
                .run(&Audio::new(stereo.clone(), 16_000).unwrap())
                .unwrap();
            for n in [1usize, 97, 1000, 4096, 30_000] {
                if n == 1 && (dev.is_gpu() || n_fft > 512) {
                    continue; // one sample per push: thousands of runs, too slow on lavapipe
                }
                let mut st = plan.stream(2).unwrap();
                let got = chunked(&stereo, n, |c| match c {
                    Some(c) => st.push(c).unwrap(),
                    None => st.finish().unwrap(),
                });
                assert_eq!(
                    got, whole,
                    "{dev}: n_fft {n_fft} hop {hop} center {center} {pad:?}, chunks of {n}"
                );
            }
        }
    }
}

/// Mel (power, deferred log-mel), MFCC and chroma streams: the blocks (finalized where
/// deferred) equal one run on the whole signal. The filterbank runs the same kernel either way;
/// a stream applies dB/DCT/normalisation on the CPU twin, so on the GPU those may differ from a
/// whole GPU run by float rounding (held to DESIGN's 1e-3 dB and 1e-4 MFCC); exact on the CPU.
#[test]
fn feature_streams_equal_whole_runs() {
    let _serial = serial();
    let x = Array2::from_shape_fn((1, 40_000), |(_, i)| {
        (i as f32 * 0.021).sin() * (1.0 + (i as f32 * 0.0003).cos()) * 0.3
    });
    let audio = Audio::new(x.clone(), 16_000).unwrap();
    for dev in devices() {
        let mel = Spectrogram::mel(16_000)
            .n_fft(512)
            .hop_length(160)
            .n_mels(64);
        let plans = [
            ("mel", mel.clone().build(&dev).unwrap(), false),
            (
                "log-mel",
                mel.clone().to_db(80.0).build(&dev).unwrap(),
                true,
            ),
            (
                "dB ref 1, no floor",
                mel.clone()
                    .db(DbScale {
                        top_db: None,
                        ..DbScale::default()
                    })
                    .build(&dev)
                    .unwrap(),
                false,
            ),
        ];
        for (name, plan, deferred) in &plans {
            let whole = plan.run(&audio).unwrap();
            for n in [333usize, 4096, 40_000] {
                let mut st = plan.stream(1).unwrap();
                assert_eq!(st.deferred(), *deferred, "{name}");
                let mut got = chunked(&x, n, |c| match c {
                    Some(c) => st.push(c).unwrap(),
                    None => st.finish().unwrap(),
                });
                if st.deferred() {
                    got = st.finalize(got).unwrap();
                }
                let e = got
                    .iter()
                    .zip(whole.iter())
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                // The stream applies dB on the CPU twin; a whole GPU run applies it on the GPU.
                let tol = if dev.is_gpu() && *name != "mel" {
                    1e-3
                } else {
                    0.0
                };
                assert_eq!(got.dim(), whole.dim());
                assert!(e <= tol, "{name} on {dev}, chunks of {n}: {e}");
            }
        }
        let mfcc = Spectrogram::mfcc(16_000)
            .n_fft(512)
            .hop_length(160)
            .n_mels(40)
            .build(&dev)
            .unwrap();
        let whole = mfcc.run(&audio).unwrap();
        let mut st = mfcc.stream(1).unwrap();
        assert!(st.deferred());
        let got = chunked(&x, 5000, |c| match c {
            Some(c) => st.push(c).unwrap(),
            None => st.finish().unwrap(),
        });
        let got = st.finalize(got).unwrap();
        let e = rel_err(got.iter(), whole.iter());
        assert!(
            e <= if dev.is_gpu() { 1e-4 } else { 0.0 },
            "mfcc on {dev}: {e}"
        );
        let chroma = Spectrogram::chroma(16_000).n_fft(1024).build(&dev).unwrap();
        let whole = chroma.run(&audio).unwrap();
        let mut st = chroma.stream(1).unwrap();
        assert!(!st.deferred());
        let got = chunked(&x, 3000, |c| match c {
            Some(c) => st.push(c).unwrap(),
            None => st.finish().unwrap(),
        });
        let e = got
            .iter()
            .zip(whole.iter())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            e <= if dev.is_gpu() { 1e-6 } else { 0.0 },
            "chroma on {dev}: {e}"
        );
    }
}

/// Stream misuse and bad chunks give typed errors.
#[test]
fn stream_errors() {
    let _serial = serial();
    let plan = Spectrogram::stft()
        .n_fft(512)
        .build(&Device::cpu())
        .unwrap();
    assert!(plan.stream(0).is_err());
    let mut st = plan.stream(2).unwrap();
    assert!(matches!(
        st.push(Array2::zeros((1, 100)).view()),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
    let mut bad = Array2::zeros((2, 100));
    bad[[1, 50]] = f32::NAN;
    assert!(matches!(
        st.push(bad.view()),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
    let mut empty = plan.stream(1).unwrap();
    assert!(matches!(
        empty.finish(),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
    assert!(empty.finish().is_err());
    let mut short = Spectrogram::stft()
        .n_fft(512)
        .center(false)
        .build(&Device::cpu())
        .unwrap();
    let mut st = short.stream(1).unwrap();
    st.push(Array2::zeros((1, 100)).view()).unwrap();
    assert!(matches!(
        st.finish(),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
    let logmel = Spectrogram::mel(16_000)
        .to_db(80.0)
        .build(&Device::cpu())
        .unwrap();
    let mut st = logmel.stream(1).unwrap();
    let block = st.push(Array2::from_elem((1, 10_000), 0.1).view()).unwrap();
    assert!(st.finalize(block).is_err(), "finalize before finish");
    short = Spectrogram::stft().build(&Device::cpu()).unwrap();
    let _ = short;
}

/// An hour of 16 kHz audio through a log-mel stream, 4096 samples per push: the live heap
/// stays bounded (a few MB, measured with the counting allocator) although the signal is
/// 230 MB as f32 and the log-mel output is 115 MB: the blocks are reduced and dropped here as a
/// writer would write and drop them.
#[test]
fn an_hour_streams_in_bounded_memory() {
    let _serial = serial();
    let sr = 16_000u32;
    let plan = Spectrogram::mel(sr)
        .n_fft(512)
        .hop_length(160)
        .n_mels(80)
        .to_db(80.0)
        .build(&Device::cpu())
        .unwrap();
    let mut st = plan.stream(1).unwrap();
    let chunk = 4096usize;
    let total = 3600 * sr as usize;
    let mut buf = Array2::<f32>::zeros((1, chunk));
    let mut state = 0x1234_5678u32;
    let (mut frames, mut sum) = (0usize, 0.0f64);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut pushed = 0;
    while pushed < total {
        let n = chunk.min(total - pushed);
        for v in buf.iter_mut().take(n) {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        }
        let b = st.push(buf.slice(s![.., ..n])).unwrap();
        frames += b.dim().2;
        sum += b.iter().map(|&v| v as f64).sum::<f64>();
        pushed += n;
    }
    let b = st.finish().unwrap();
    frames += b.dim().2;
    sum += b.iter().map(|&v| v as f64).sum::<f64>();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert_eq!(frames, 1 + total / 160);
    assert!(sum > 0.0);
    eprintln!("an hour streamed: {frames} frames, peak live heap growth {peak} bytes");
    assert!(peak < 8 << 20, "peak live heap growth {peak} bytes");
}

/// `io::ResampleStream`: blocks of any size give exactly `io::resample` of the whole signal,
/// for up/down/odd rate pairs, stereo, and the same rate; short and empty signals too.
#[test]
fn resample_stream_equals_whole_resample() {
    let _serial = serial();
    use wavegpu::io::{resample, ResampleStream};
    let mut state = 0x9e37_79b9u32;
    let mut noise = |n: usize, ch: usize| {
        Array2::from_shape_fn((ch, n), |_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
    };
    let cases = [
        (44_100, 16_000, 1, 30_001),
        (48_000, 22_050, 2, 20_000),
        (8_000, 44_100, 1, 9_000),
        (16_000, 16_000, 2, 5_000),
        (22_050, 16_000, 1, 100),
        (44_101, 16_000, 1, 50_000),
        (16_000, 8_000, 1, 0),
    ];
    for (sr_in, sr_out, ch, len) in cases {
        let x = noise(len, ch);
        let whole = resample(&Audio::new(x.clone(), sr_in).unwrap(), sr_out).unwrap();
        assert_eq!(
            whole.len(),
            (len * sr_out as usize).div_ceil(sr_in as usize)
        );
        for n in [1usize, 777, 8192, 100_000] {
            if n == 1 && len > 10_000 {
                continue;
            }
            let mut rs = ResampleStream::new(ch, sr_in, sr_out).unwrap();
            let mut parts = Vec::new();
            let mut i = 0;
            while i < len {
                let j = (i + n).min(len);
                parts.push(rs.push(x.slice(s![.., i..j])).unwrap());
                i = j;
            }
            parts.push(rs.finish().unwrap());
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            let got = concatenate(Axis(1), &views).unwrap();
            assert_eq!(
                got,
                whole.data(),
                "{sr_in} -> {sr_out} Hz, {ch} ch, {len} samples in blocks of {n}"
            );
        }
    }
    let mut rs = ResampleStream::new(2, 44_100, 16_000).unwrap();
    assert!(matches!(
        rs.push(Array2::zeros((1, 10)).view()),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
    rs.finish().unwrap();
    assert!(rs.finish().is_err() && rs.push(Array2::zeros((2, 10)).view()).is_err());
    assert!(ResampleStream::new(0, 44_100, 16_000).is_err());
    assert!(ResampleStream::new(1, 0, 16_000).is_err());
    assert!(ResampleStream::new(1, 16_000, 0).is_err());
}

/// Five minutes of 48 kHz audio resampled to 16 kHz block by block and pushed through a
/// log-mel stream: the live heap stays bounded by the blocks and the filter, not the signal.
#[test]
fn resampled_stream_in_bounded_memory() {
    let _serial = serial();
    use wavegpu::io::ResampleStream;
    let plan = Spectrogram::mel(16_000)
        .n_fft(512)
        .hop_length(160)
        .to_db(80.0)
        .build(&Device::cpu())
        .unwrap();
    let total = 300 * 48_000usize;
    let chunk = 1 << 16;
    let mut buf = Array2::<f32>::zeros((1, chunk));
    let mut state = 0x2545_f491u32;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut rs = ResampleStream::new(1, 48_000, 16_000).unwrap();
    let mut st = plan.stream(1).unwrap();
    let (mut pushed, mut frames) = (0, 0);
    while pushed < total {
        let n = chunk.min(total - pushed);
        for v in buf.iter_mut().take(n) {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        }
        let y = rs.push(buf.slice(s![.., ..n])).unwrap();
        frames += st.push(y.view()).unwrap().dim().2;
        pushed += n;
    }
    let y = rs.finish().unwrap();
    frames += st.push(y.view()).unwrap().dim().2;
    frames += st.finish().unwrap().dim().2;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert_eq!(frames, 1 + 300 * 16_000 / 160);
    eprintln!("5 min resampled and streamed: peak live heap growth {peak} bytes");
    assert!(peak < 8 << 20, "peak live heap growth {peak} bytes");
}

/// `push_from`: decoding straight into a stream's window gives the frames of a whole-file run
/// of `io::load` (mixed down or not), for any read size, on the CPU and the GPU.
#[test]
fn push_from_a_reader_equals_whole_file() {
    let _serial = serial();
    use wavegpu::io::{load, Backend, ChunkReader, LoadOptions};
    let path = fixture_path("stereo_48k.wav");
    for dev in devices() {
        for mono in [true, false] {
            let opts = if mono {
                LoadOptions::default().mono().native_sample_rate()
            } else {
                LoadOptions::default().no_mono().native_sample_rate()
            };
            let audio = load(&path, &opts).unwrap();
            let stft = Spectrogram::stft()
                .n_fft(1000)
                .hop_length(240)
                .build(&dev)
                .unwrap();
            let mel = Spectrogram::mel(48_000)
                .n_fft(1024)
                .hop_length(256)
                .build(&dev)
                .unwrap();
            let want_stft = stft.run(&audio).unwrap();
            let want_mel = mel.run(&audio).unwrap();
            for frames in [999usize, 4096, 1 << 20] {
                // Reads the whole file through a stream's `push_from`, then `finish`.
                macro_rules! drain {
                    ($plan:expr) => {{
                        let mut r = ChunkReader::open(&path, Backend::Auto).unwrap().mono(mono);
                        let mut st = $plan.stream(r.channels()).unwrap();
                        let mut blocks = Vec::new();
                        loop {
                            let (n, b) = st.push_from(&mut r, frames).unwrap();
                            blocks.push(b);
                            if n == 0 {
                                break;
                            }
                        }
                        blocks.push(st.finish().unwrap());
                        join(&blocks)
                    }};
                }
                assert_eq!(
                    drain!(stft),
                    want_stft,
                    "stft {dev} mono {mono} by {frames}"
                );
                assert_eq!(drain!(mel), want_mel, "mel {dev} mono {mono} by {frames}");
            }
        }
    }
    // A reader whose channels differ from the stream's: a typed error.
    let plan = Spectrogram::stft().build(&Device::cpu()).unwrap();
    let mut r = ChunkReader::open(&path, Backend::Auto).unwrap();
    let mut st = plan.stream(1).unwrap();
    assert!(matches!(
        st.push_from(&mut r, 100),
        Err(wavegpu::Error::InvalidAudio { .. })
    ));
}
