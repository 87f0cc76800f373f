//! The GPU kernels against their CPU twins, over sizes and options the librosa grid does not
//! reach (every n_fft 1..=70, primes, 8192), batches, splitting, and bad parameters.

mod common;

use common::*;
use ndarray::{s, Array3, Axis};
use num_complex::Complex32;
use wavegpu::{Audio, AudioBatch, Device, Error, PadMode, Spectrogram, Window};

const TOL: f64 = 1e-5;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn plans_are_send_and_sync() {
    assert_send_sync::<wavegpu::Stft>();
    assert_send_sync::<wavegpu::Istft>();
    assert_send_sync::<Device>();
}

fn flat(a: &Array3<Complex32>) -> Vec<Complex32> {
    a.iter().copied().collect()
}

/// GPU complex STFT against the CPU for each n_fft; `global` forces the storage-buffer FFT
/// that sizes too large for workgroup memory take.
fn complex_stft_sizes(
    gpu: &Device,
    sizes: &[usize],
    global: bool,
    hop_of: impl Fn(usize, usize) -> usize,
) {
    let cpu = Device::cpu();
    let mut failures = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let hop = hop_of(n, i);
        let center = i % 3 != 0;
        let pad = if i % 2 == 0 {
            PadMode::Reflect
        } else {
            PadMode::Constant
        };
        let len = n + 3 * hop + i;
        let audio = Audio::from_mono(noise(len, n as u64), 16_000);
        let b = Spectrogram::stft()
            .n_fft(n)
            .hop_length(hop)
            .center(center)
            .pad_mode(pad);
        let g = b
            .clone()
            .fft_in_global_memory(global)
            .build(gpu)
            .and_then(|p| p.run_complex(&audio));
        let c = b.build(&cpu).and_then(|p| p.run_complex(&audio));
        match (g, c) {
            (Ok(g), Ok(c)) => {
                assert_eq!(g.dim(), c.dim(), "n_fft {n}");
                let e = rel_err_c(&flat(&g), &flat(&c));
                if e.is_nan() || e > TOL {
                    failures.push(format!(
                        "n_fft {n} hop {hop} center {center} {pad:?} global {global}: {e:.3e}"
                    ));
                }
            }
            (g, c) => failures.push(format!("n_fft {n}: gpu {:?} cpu {:?}", g.err(), c.err())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Hops from 1 to n_fft, spread over the sizes.
fn varied_hop(n: usize, i: usize) -> usize {
    1 + (n * 7 + i) % n.max(1)
}

#[test]
fn complex_stft_every_size() {
    let Some(gpu) = gpu() else { return };
    let mut sizes: Vec<usize> = (1..=70).collect();
    sizes.extend([
        96, 100, 127, 128, 255, 256, 400, 480, 1000, 1021, 1023, 2048, 4096, 8192,
    ]);
    complex_stft_sizes(&gpu, &sizes, false, varied_hop);
}

#[test]
fn complex_stft_global_memory_fft() {
    let Some(gpu) = gpu() else { return };
    // Forced onto the storage-buffer path at small sizes, and sizes past any device's
    // workgroup memory (10007 is prime: an odd 10007-point complex FFT).
    let mut sizes: Vec<usize> = (1..=40).collect();
    sizes.extend([400, 1023, 4096]);
    complex_stft_sizes(&gpu, &sizes, true, varied_hop);
    complex_stft_sizes(&gpu, &[16_384, 65_536], false, |n, _| n / 3 + 1);
    // 10007 is prime: one radix-10007 stage, and an odd 10007-point complex FFT. Right on a
    // real GPU; on lavapipe it crosses Mesa's loop guard and must be a typed error.
    let plan = Spectrogram::stft()
        .n_fft(10_007)
        .hop_length(3_000)
        .build(&gpu);
    if format!("{gpu}").contains("llvmpipe") {
        match plan {
            Err(Error::DeviceLimit { limit, .. }) => {
                assert_eq!(limit, "llvmpipe loop-iteration guard")
            }
            other => panic!("expected the llvmpipe DeviceLimit, got {other:?}"),
        }
        // Just under the guard: still computed, and right.
        complex_stft_sizes(&gpu, &[2_801], false, |n, _| n / 3 + 1);
    } else {
        complex_stft_sizes(&gpu, &[10_007], false, |n, _| n / 3 + 1);
    }
}

#[test]
fn powers_windows_and_win_length() {
    let Some(gpu) = gpu() else { return };
    let cpu = Device::cpu();
    let audio = Audio::from_mono(noise(5000, 7), 8000);
    for (power, window, win) in [
        (1.0, Window::Hann, 512),
        (2.0, Window::Hamming, 300),
        (0.5, Window::Blackman, 511),
        (3.0, Window::Ones, 100),
        (
            1.0,
            Window::Custom((0..200).map(|i| (i as f32 / 200.0).sqrt()).collect()),
            200,
        ),
    ] {
        let b = Spectrogram::stft()
            .n_fft(512)
            .hop_length(128)
            .win_length(win)
            .window(window)
            .power(power);
        let g = b.clone().build(&gpu).unwrap().run(&audio).unwrap();
        let c = b.build(&cpu).unwrap().run(&audio).unwrap();
        let e = rel_err(g.iter(), c.iter());
        assert!(e <= TOL, "power {power} win {win}: {e:.3e}");
    }
}

/// A batch row's result is the clip's own result, and frames past a row's end are zero.
#[test]
fn batch_rows_equal_single_runs() {
    let devices: Vec<Device> = std::iter::once(Device::cpu()).chain(gpu()).collect();
    let rows: Vec<Vec<f32>> = [3000usize, 1200, 4097, 700]
        .iter()
        .enumerate()
        .map(|(i, &n)| noise(n, i as u64 + 1))
        .collect();
    let batch = AudioBatch::from_rows(&rows, 16_000).unwrap();
    for dev in &devices {
        let plan = Spectrogram::stft()
            .n_fft(400)
            .hop_length(160)
            .pad_mode(PadMode::Reflect)
            .build(dev)
            .unwrap();
        let out = plan.run_batch(&batch).unwrap();
        assert_eq!(out.dim(), (4, 201, plan.frames(4097).unwrap()));
        for (i, r) in rows.iter().enumerate() {
            let single = plan.run(&Audio::from_mono(r.clone(), 16_000)).unwrap();
            let f = plan.frames(r.len()).unwrap();
            assert_eq!(single.dim().2, f);
            assert_eq!(
                out.slice(s![i, .., ..f]),
                single.index_axis(Axis(0), 0),
                "row {i} on {dev}"
            );
            assert!(
                out.slice(s![i, .., f..]).iter().all(|&v| v == 0.0),
                "row {i} tail on {dev}"
            );
        }
    }
}

/// Work over the buffer limit is split (by rows, then by frames) with identical results.
#[test]
fn split_work_gives_identical_results() {
    let Some(gpu) = gpu() else { return };
    let rows: Vec<Vec<f32>> = (0..5)
        .map(|i| noise(20_000 + 777 * i, i as u64 + 11))
        .collect();
    let batch = AudioBatch::from_rows(&rows, 16_000).unwrap();
    for pad in [PadMode::Constant, PadMode::Reflect] {
        let b = Spectrogram::stft().n_fft(512).hop_length(160).pad_mode(pad);
        let whole = b.clone().build(&gpu).unwrap();
        let reference = whole.run_batch(&batch).unwrap();
        let reference_c = whole.run_batch_complex(&batch).unwrap();
        // 300 KiB fits two rows' output: split by rows. 40 KiB fits no row: split by frames.
        for limit in [300 << 10, 40 << 10, 8 << 10] {
            let split = b.clone().max_buffer_bytes(limit).build(&gpu).unwrap();
            assert_eq!(
                split.run_batch(&batch).unwrap(),
                reference,
                "limit {limit} {pad:?}"
            );
            assert_eq!(
                split.run_batch_complex(&batch).unwrap(),
                reference_c,
                "limit {limit} {pad:?}"
            );
        }
        let tiny = b.max_buffer_bytes(1024).build(&gpu).unwrap();
        match tiny.run_batch(&batch) {
            Err(Error::DeviceLimit { limit, .. }) => {
                assert_eq!(limit, "max_storage_buffer_binding_size")
            }
            other => panic!("expected DeviceLimit, got {other:?}"),
        }
    }
}

#[test]
fn stereo_channels_are_rows() {
    let devices: Vec<Device> = std::iter::once(Device::cpu()).chain(gpu()).collect();
    let l = noise(6000, 1);
    let r = noise(6000, 2);
    let data = ndarray::Array2::from_shape_fn((2, 6000), |(c, i)| if c == 0 { l[i] } else { r[i] });
    let stereo = Audio::new(data, 22_050).unwrap();
    for dev in &devices {
        let plan = Spectrogram::stft()
            .n_fft(1024)
            .hop_length(256)
            .build(dev)
            .unwrap();
        let out = plan.run(&stereo).unwrap();
        assert_eq!(out.dim(), plan.output_shape(2, 6000).unwrap());
        let right = plan.run_signal(&r).unwrap();
        assert_eq!(out.index_axis(Axis(0), 1), right);
    }
}

#[test]
fn istft_gpu_matches_cpu_and_round_trips() {
    let devices: Vec<Device> = std::iter::once(Device::cpu()).chain(gpu()).collect();
    let x = noise(9000, 5);
    let audio = Audio::from_mono(x.clone(), 16_000);
    for (n, hop, win, center) in [
        (512, 128, 512, true),
        (400, 100, 400, false),
        (1023, 256, 1000, true),
        (64, 16, 48, true),
    ] {
        let mut outs = Vec::new();
        for dev in &devices {
            let stft = Spectrogram::stft()
                .n_fft(n)
                .hop_length(hop)
                .win_length(win)
                .center(center)
                .build(dev)
                .unwrap();
            let spec = stft.run_complex(&audio).unwrap();
            let istft = Spectrogram::istft()
                .n_fft(n)
                .hop_length(hop)
                .win_length(win)
                .center(center)
                .build(dev)
                .unwrap();
            let y = istft.run(spec.view(), Some(x.len())).unwrap();
            assert_eq!(y.dim(), (1, x.len()));
            if center {
                let e = rel_err(y.iter(), x.iter());
                assert!(e <= TOL, "round trip n_fft {n} on {dev}: {e:.3e}");
            } else {
                // Without centring the first and last n_fft samples are under-covered by windows;
                // the interior must come back.
                let (a, b) = (n, x.len() - n);
                let e = rel_err(y.slice(s![0, a..b]).iter(), x[a..b].iter());
                assert!(
                    e <= TOL,
                    "round trip (interior) n_fft {n} on {dev}: {e:.3e}"
                );
            }
            // A random, inconsistent spectrum tests the window-sum normalisation itself.
            let frames = spec.dim().2;
            let re = noise(spec.len(), 99);
            let im = noise(spec.len(), 98);
            let rnd = Array3::from_shape_fn(spec.dim(), |(r, k, f)| {
                let i = (r * spec.dim().1 + k) * frames + f;
                Complex32::new(re[i], im[i])
            });
            outs.push(istft.run(rnd.view(), None).unwrap());
        }
        if outs.len() == 2 {
            let e = rel_err(outs[0].iter(), outs[1].iter());
            assert!(e <= TOL, "istft gpu vs cpu n_fft {n}: {e:.3e}");
        }
    }
}

#[test]
fn bad_parameters_are_typed_errors() {
    let devices: Vec<Device> = std::iter::once(Device::cpu()).chain(gpu()).collect();
    let ok = Audio::from_mono(noise(4000, 3), 16_000);
    for dev in &devices {
        let param = |r: wavegpu::Result<wavegpu::Stft>, name: &str| match r {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("expected InvalidParameter({name}), got {other:?}"),
        };
        param(Spectrogram::stft().n_fft(0).build(dev), "n_fft");
        param(
            Spectrogram::stft().n_fft(512).hop_length(0).build(dev),
            "hop_length",
        );
        param(
            Spectrogram::stft().n_fft(512).win_length(513).build(dev),
            "win_length",
        );
        param(Spectrogram::stft().power(0.0).build(dev), "power");
        param(Spectrogram::stft().power(f32::NAN).build(dev), "power");
        param(
            Spectrogram::stft()
                .n_fft(512)
                .window(Window::Custom(vec![1.0; 100]))
                .win_length(200)
                .build(dev),
            "window",
        );
        param(Spectrogram::stft().n_fft(usize::MAX).build(dev), "n_fft");

        let plan = Spectrogram::stft()
            .n_fft(512)
            .hop_length(128)
            .center(false)
            .build(dev)
            .unwrap();
        assert!(plan.run(&ok).is_ok());
        let mut bad = noise(4000, 3);
        bad[1234] = f32::NAN;
        match plan.run(&Audio::from_mono(bad, 16_000)) {
            Err(e @ Error::InvalidAudio { .. }) => {
                assert!(e.to_string().contains("sample 1234"), "{e}")
            }
            other => panic!("NaN: {other:?}"),
        }
        for len in [0, 100] {
            match plan.run(&Audio::from_mono(vec![0.0; len], 16_000)) {
                Err(Error::InvalidAudio { .. }) => {}
                other => panic!("len {len}: {other:?}"),
            }
        }
    }
}

#[test]
fn large_n_fft_istft_round_trips_on_the_gpu() {
    let Some(gpu) = gpu() else { return };
    let x = noise(70_000, 21);
    let audio = Audio::from_mono(x.clone(), 16_000);
    let n = 16_384;
    let stft = Spectrogram::stft()
        .n_fft(n)
        .hop_length(4096)
        .build(&gpu)
        .unwrap();
    let spec = stft.run_complex(&audio).unwrap();
    let istft = Spectrogram::istft()
        .n_fft(n)
        .hop_length(4096)
        .build(&gpu)
        .unwrap();
    let y = istft.run(spec.view(), Some(x.len())).unwrap();
    let e = rel_err(y.iter(), x.iter());
    assert!(e <= TOL, "round trip n_fft {n}: {e:.3e}");
}

#[test]
fn one_plan_many_threads() {
    let devices: Vec<Device> = std::iter::once(Device::cpu()).chain(gpu()).collect();
    for dev in &devices {
        let plan = Spectrogram::stft()
            .n_fft(256)
            .hop_length(64)
            .build(dev)
            .unwrap();
        let inputs: Vec<Audio> = (0..8)
            .map(|i| Audio::from_mono(noise(3000 + 100 * i, i as u64), 8000))
            .collect();
        let serial: Vec<_> = inputs.iter().map(|a| plan.run(a).unwrap()).collect();
        std::thread::scope(|s| {
            let hs: Vec<_> = inputs
                .iter()
                .map(|a| s.spawn(|| plan.run(a).unwrap()))
                .collect();
            for (h, want) in hs.into_iter().zip(&serial) {
                assert_eq!(&h.join().unwrap(), want);
            }
        });
    }
}

/// Samples in any memory layout upload right: a column-major (Fortran) stereo array and a
/// strided view give the same spectra on the GPU as standard rows on the CPU.
#[test]
fn non_contiguous_samples_upload() {
    use ndarray::ShapeBuilder;
    let Some(gpu) = gpu() else { return };
    let n = 5_000;
    let std_layout = ndarray::Array2::from_shape_fn((2, n), |(c, i)| {
        ((i * (c + 3)) as f32 * 0.013).sin() + 0.1 * c as f32
    });
    let fortran = {
        let mut f = ndarray::Array2::zeros((2, n).f());
        f.assign(&std_layout);
        f
    };
    let plan = |d: &Device| {
        wavegpu::Spectrogram::stft()
            .n_fft(400)
            .hop_length(123)
            .build(d)
            .unwrap()
    };
    let want = plan(&Device::cpu())
        .run(&wavegpu::Audio::new(std_layout.clone(), 16_000).unwrap())
        .unwrap();
    let got = plan(&gpu)
        .run(&wavegpu::Audio::new(fortran, 16_000).unwrap())
        .unwrap();
    let err = want
        .iter()
        .zip(got.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(err <= 1e-5 * peak.max(1.0), "max err {err} (peak {peak})");
}

/// A GPU workgroup may transform several consecutive frames and write them out together
/// (`frames_per_workgroup`): every tile size gives exactly the values of one frame per
/// workgroup, for the plain STFT (power, magnitude, complex) and the filterbank plans (mel,
/// log-mel, MFCC, chroma), over rows whose frames end mid-tile, runs split by frames, odd and
/// even n_fft, and devices whose workgroup memory holds fewer frames (16 KiB, WebGPU's floor)
/// or none; the untiled values match the CPU.
#[test]
fn frame_tiles_give_the_untiled_values() {
    let Some(gpu) = gpu() else { return };
    let small_wg = device_with_limits(|l| l.max_compute_workgroup_storage_size = 16 << 10);
    let cpu = Device::cpu();
    let rows: Vec<Vec<f32>> = [20_000usize, 3_001, 777, 16_033]
        .iter()
        .enumerate()
        .map(|(i, &n)| noise(n, i as u64 + 40))
        .collect();
    let batch = AudioBatch::from_rows(&rows, 16_000).unwrap();
    let tiles = [2, 3, 8, 16, 1000];
    let close = |a: &Array3<f32>, b: &Array3<f32>, what: &str| {
        let e = rel_err(a.iter(), b.iter());
        assert!(e <= TOL, "{what}: GPU vs CPU {e:.3e}");
    };
    for (dev, name) in [
        (&gpu, "default limits"),
        (&small_wg, "16 KiB workgroup memory"),
    ] {
        for (n_fft, hop, power) in [
            (512, 160, 2.0),
            (400, 97, 1.0),
            (33, 5, 0.5),
            (2048, 512, 2.0),
        ] {
            let b = Spectrogram::stft()
                .n_fft(n_fft)
                .hop_length(hop)
                .power(power);
            let one = b.clone().frames_per_workgroup(1).build(dev).unwrap();
            let (want, want_c) = (
                one.run_batch(&batch).unwrap(),
                one.run_batch_complex(&batch).unwrap(),
            );
            close(
                &want,
                &b.clone().build(&cpu).unwrap().run_batch(&batch).unwrap(),
                name,
            );
            for t in tiles {
                let what = format!("{name}: n_fft {n_fft} hop {hop} power {power} tile {t}");
                let plan = b.clone().frames_per_workgroup(t).build(dev).unwrap();
                assert_eq!(plan.run_batch(&batch).unwrap(), want, "{what}");
                assert_eq!(plan.run_batch_complex(&batch).unwrap(), want_c, "{what}");
                // 40 KiB of output per chunk: split by frames, so tiles start mid-row.
                let split = b.clone().frames_per_workgroup(t).max_buffer_bytes(40 << 10);
                let split = split.build(dev).unwrap();
                assert_eq!(split.run_batch(&batch).unwrap(), want, "{what}, split");
            }
            let auto = b.build(dev).unwrap();
            assert_eq!(
                auto.run_batch(&batch).unwrap(),
                want,
                "{name}: n_fft {n_fft} auto"
            );
        }
        let mel = Spectrogram::mel(16_000)
            .n_fft(512)
            .hop_length(100)
            .n_mels(80);
        let mfcc = Spectrogram::mfcc(16_000)
            .n_fft(400)
            .hop_length(64)
            .n_mfcc(13);
        let chroma = Spectrogram::chroma(16_000).n_fft(1024).hop_length(128);
        let logmel = mel.clone().to_db(80.0);
        let one = [
            mel.clone()
                .frames_per_workgroup(1)
                .build(dev)
                .unwrap()
                .run_batch(&batch),
            logmel
                .clone()
                .frames_per_workgroup(1)
                .build(dev)
                .unwrap()
                .run_batch(&batch),
            mfcc.clone()
                .frames_per_workgroup(1)
                .build(dev)
                .unwrap()
                .run_batch(&batch),
            chroma
                .clone()
                .frames_per_workgroup(1)
                .build(dev)
                .unwrap()
                .run_batch(&batch),
        ]
        .map(Result::unwrap);
        close(
            &one[0],
            &mel.clone().build(&cpu).unwrap().run_batch(&batch).unwrap(),
            name,
        );
        for t in tiles {
            let what = format!("{name}: tile {t}");
            let tiled = [
                mel.clone()
                    .frames_per_workgroup(t)
                    .build(dev)
                    .unwrap()
                    .run_batch(&batch),
                logmel
                    .clone()
                    .frames_per_workgroup(t)
                    .build(dev)
                    .unwrap()
                    .run_batch(&batch),
                mfcc.clone()
                    .frames_per_workgroup(t)
                    .build(dev)
                    .unwrap()
                    .run_batch(&batch),
                chroma
                    .clone()
                    .frames_per_workgroup(t)
                    .build(dev)
                    .unwrap()
                    .run_batch(&batch),
            ]
            .map(Result::unwrap);
            for (i, (a, b)) in tiled.iter().zip(&one).enumerate() {
                assert_eq!(a, b, "{what}: plan {i} (mel, log-mel, MFCC, chroma)");
            }
        }
    }
    let zero = Spectrogram::stft().frames_per_workgroup(0).build(&gpu);
    assert!(
        matches!(
            zero,
            Err(Error::InvalidParameter {
                name: "frames_per_workgroup",
                ..
            })
        ),
        "{zero:?}"
    );
}

/// A large prime n_fft in frame tiles: on lavapipe, whose loop guard adds up the iterations
/// of every loop inside an outermost one, a tile of such frames would pass the guard and give
/// wrong numbers (found by the property tests: n_fft 1483 in 4-frame tiles, 0.5 relative
/// error; n_fft 1019 in 8-frame tiles, 0.98), so the plan takes no more frames per workgroup
/// than the guard allows. Every tile size asked for matches the CPU.
#[test]
fn prime_n_fft_in_frame_tiles_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let cpu = Device::cpu();
    let rows: Vec<Vec<f32>> = [49usize, 300].iter().map(|&n| noise(n, n as u64)).collect();
    let batch = AudioBatch::from_rows(&rows, 8_000).unwrap();
    let stft = Spectrogram::stft().n_fft(1483).hop_length(16).power(2.0);
    let mel = Spectrogram::mel(8_000)
        .n_fft(1483)
        .hop_length(16)
        .n_mels(1)
        .fmax(1200.0);
    let want = stft.clone().build(&cpu).unwrap().run_batch(&batch).unwrap();
    let want_mel = mel.clone().build(&cpu).unwrap().run_batch(&batch).unwrap();
    let long = AudioBatch::from_rows(&[noise(3051, 5)], 8_000).unwrap();
    let hop1 = Spectrogram::stft()
        .n_fft(1019)
        .hop_length(1)
        .center(false)
        .power(2.0);
    let want_hop1 = hop1.clone().build(&cpu).unwrap().run_batch(&long).unwrap();
    for t in [1, 2, 4, 7, 8, 16] {
        let got = stft.clone().frames_per_workgroup(t).build(&gpu).unwrap();
        let e = rel_err(want.iter(), got.run_batch(&batch).unwrap().iter());
        assert!(e <= TOL, "stft, {t} frames per workgroup: {e:.3e}");
        let got = mel.clone().frames_per_workgroup(t).build(&gpu).unwrap();
        let e = rel_err(want_mel.iter(), got.run_batch(&batch).unwrap().iter());
        assert!(e <= TOL, "mel, {t} frames per workgroup: {e:.3e}");
        let got = hop1.clone().frames_per_workgroup(t).build(&gpu).unwrap();
        let e = rel_err(want_hop1.iter(), got.run_batch(&long).unwrap().iter());
        assert!(
            e <= TOL,
            "stft n_fft 1019 hop 1, {t} frames per workgroup: {e:.3e}"
        );
    }
}

/// n_fft 1: scipy's window of length 1 is [1.0] (every name), so each frame is one sample and
/// |X| = |y| (librosa.stft(y, n_fft=1, hop_length=1) == |y|). The cosine sums gave a zero
/// window there, and a zero spectrogram on both devices.
#[test]
fn n_fft_one_is_the_magnitude_of_the_samples() {
    let y = vec![0.5f32, -0.25, 1.0, -0.75, 0.125];
    let audio = Audio::from_mono(y.clone(), 8000);
    let mut devices = vec![Device::cpu()];
    devices.extend(gpu());
    for dev in &devices {
        for window in [
            Window::Hann,
            Window::Hamming,
            Window::Blackman,
            Window::Ones,
        ] {
            let plan = Spectrogram::stft()
                .n_fft(1)
                .hop_length(1)
                .power(1.0)
                .window(window.clone())
                .build(dev)
                .expect("plan");
            let s = plan.run(&audio).expect("run");
            assert_eq!(s.dim(), (1, 1, y.len()), "{dev:?} {window:?}");
            for (t, &v) in y.iter().enumerate() {
                assert!(
                    (s[[0, 0, t]] - v.abs()).abs() < 1e-7,
                    "{dev:?} {window:?} frame {t}: {} vs {}",
                    s[[0, 0, t]],
                    v.abs()
                );
            }
        }
    }
}
