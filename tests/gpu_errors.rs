//! GPU errors (issue 8, item 4): a lost device is reported as a typed error by every plan
//! that runs on it (never a panic, never a hang), and a new `Device` works afterwards; a wgpu
//! error raised outside wavegpu's error scopes on a device wavegpu opened comes back as a
//! typed error from the next call instead of wgpu's default panic.
//!
//! Losing a device is simulated with `wgpu::Device::destroy`, WebGPU's way to lose one (a
//! driver reset takes the same path in wgpu: the lost callback, then invalid objects).

mod common;

use serde_json::json;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::{wgpu, Audio, Device, Error, GpuErrorKind, Spectrogram};

fn clip() -> Audio {
    Audio::from_mono(common::noise(16_000, 1), 16_000)
}

fn batch() -> Batch {
    let data = ndarray::Array2::from_shape_vec((2, 8000), common::noise(16_000, 2)).unwrap();
    Batch::new(data, vec![8000, 6000], 1, 16_000).unwrap()
}

/// Every plan family the crate has, built on `dev`, run once: the results, or the first error.
#[allow(clippy::type_complexity)]
fn plans(dev: &Device) -> Vec<(&'static str, Box<dyn Fn() -> Result<f64, Error> + '_>)> {
    let sum = |it: &mut dyn Iterator<Item = f32>| it.map(f64::from).sum::<f64>();
    vec![
        (
            "stft",
            Box::new(move || {
                let p = Spectrogram::stft().n_fft(512).hop_length(160).build(dev)?;
                Ok(sum(&mut p.run(&clip())?.into_iter()))
            }),
        ),
        (
            "log-mel",
            Box::new(move || {
                let p = Spectrogram::mel(16_000).n_fft(512).to_db(80.0).build(dev)?;
                Ok(sum(&mut p.run(&clip())?.into_iter()))
            }),
        ),
        (
            "istft",
            Box::new(move || {
                let s = Spectrogram::stft().n_fft(512).build(dev)?;
                let spec = s.run_complex(&clip())?;
                let p = Spectrogram::istft().n_fft(512).build(dev)?;
                Ok(sum(&mut p.run(spec.view(), Some(16_000))?.into_iter()))
            }),
        ),
        (
            "cqt",
            Box::new(move || {
                let p = Spectrogram::cqt(16_000).build(dev)?;
                Ok(sum(&mut p.run(&clip())?.into_iter()))
            }),
        ),
        (
            "augment",
            Box::new(move || {
                let spec = json!([
                    {"name": "gain", "p": 1.0},
                    {"name": "low_pass_filter", "p": 1.0},
                    {"name": "high_pass_filter", "fir_taps": 101, "p": 1.0},
                    {"name": "pitch_shift", "p": 1.0}
                ]);
                let p = Pipeline::from_value(&spec, dev)?;
                Ok(sum(&mut p.run(7, &batch())?.data().iter().copied()))
            }),
        ),
    ]
}

fn assert_lost(name: &str, r: Result<f64, Error>) {
    match r {
        Err(Error::Gpu {
            kind: GpuErrorKind::DeviceLost,
            ..
        }) => {}
        other => panic!("{name} on a lost device: expected a device-lost error, got {other:?}"),
    }
}

#[test]
fn a_lost_device_is_reported_by_every_plan_and_a_new_device_works() {
    let Some(dev) = common::gpu_opened() else {
        return;
    };
    let before: Vec<f64> = plans(&dev)
        .iter()
        .map(|(name, run)| run().unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    // Plans built before the loss, run after it.
    let stft = Spectrogram::stft().n_fft(512).build(&dev).unwrap();
    let aug = Pipeline::from_value(&json!([{"name": "gain", "p": 1.0}]), &dev).unwrap();
    assert!(!dev.is_lost());
    dev.wgpu().unwrap().0.destroy();
    assert!(dev.is_lost());
    for _ in 0..2 {
        assert_lost("a built STFT plan", stft.run(&clip()).map(|_| 0.0));
        assert_lost("a built pipeline", aug.run(1, &batch()).map(|_| 0.0));
        for (name, run) in plans(&dev) {
            assert_lost(name, run());
        }
    }
    let e = stft.run(&clip()).unwrap_err().to_string();
    assert!(e.contains("device lost"), "{e}");
    eprintln!("after the loss: {e}");
    // The process goes on: a new device computes what the old one did.
    let fresh = common::gpu_opened().unwrap();
    assert!(!fresh.is_lost());
    let after: Vec<f64> = plans(&fresh)
        .iter()
        .map(|(name, run)| run().unwrap_or_else(|e| panic!("{name} on a new device: {e}")))
        .collect();
    assert_eq!(before, after);
}

/// A device from the caller keeps its own callbacks, so wavegpu cannot tell it was lost: the
/// errors are still typed ones, and nothing panics or hangs.
#[test]
fn a_lost_caller_device_gives_typed_errors() {
    let Some(dev) = common::gpu_opened() else {
        return;
    };
    let (d, q) = dev.wgpu().unwrap();
    let theirs = Device::from_wgpu(d.clone(), q.clone());
    let stft = Spectrogram::stft().n_fft(512).build(&theirs).unwrap();
    stft.run(&clip()).unwrap();
    // The caller's handler counts the errors that escape wavegpu's error scopes (wgpu's
    // default handler would panic on them).
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = seen.clone();
    d.on_uncaptured_error(std::sync::Arc::new(move |_| {
        s.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }));
    d.destroy();
    for (name, run) in plans(&theirs) {
        match run() {
            Err(Error::Gpu { .. }) => {}
            other => panic!("{name} on a destroyed caller device: {other:?}"),
        }
    }
    match stft.run(&clip()) {
        Err(Error::Gpu { .. }) => {}
        other => panic!("a built plan on a destroyed caller device: {other:?}"),
    }
    // Every failing call was inside one of wavegpu's error scopes: none reached the handler.
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// The caller's own wgpu call goes wrong outside any error scope on a device wavegpu opened:
/// no panic (wgpu's default handler panics); the next wavegpu call reports it, typed, once,
/// and the device keeps working.
#[test]
fn an_uncaptured_error_is_reported_not_a_panic() {
    let Some(dev) = common::gpu_opened() else {
        return;
    };
    let stft = Spectrogram::stft().n_fft(512).build(&dev).unwrap();
    let want = stft.run(&clip()).unwrap();
    let (d, _) = dev.wgpu().unwrap();
    // MAP_READ with STORAGE is a validation error without MAPPABLE_PRIMARY_BUFFERS.
    let _bad = d.create_buffer(&wgpu::BufferDescriptor {
        label: Some("the caller's invalid buffer"),
        size: 64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    match stft.run(&clip()) {
        Err(Error::Gpu {
            kind: GpuErrorKind::Validation,
            reason,
            ..
        }) => assert!(
            reason.contains("outside wavegpu's error scopes"),
            "{reason}"
        ),
        other => panic!("expected the earlier validation error, got {other:?}"),
    }
    assert_eq!(stft.run(&clip()).unwrap(), want);
}

/// The device is destroyed while eight threads run plans on it (one shared STFT plan, one
/// augmentation pipeline each): every thread ends (no hang in a wait on the lost device), each
/// run gives a result or a typed GPU error, and runs after the loss give `DeviceLost`.
#[test]
fn a_device_lost_mid_run_ends_every_thread() {
    let Some(dev) = common::gpu_opened() else {
        return;
    };
    let stft = Spectrogram::stft()
        .n_fft(512)
        .hop_length(64)
        .build(&dev)
        .unwrap();
    let long = Audio::from_mono(common::noise(160_000, 9), 16_000);
    let started = std::sync::Barrier::new(9);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (stft, long, dev, started, tx) = (&stft, &long, &dev, &started, tx.clone());
            s.spawn(move || {
                let aug = Pipeline::from_value(
                    &json!([{"name": "gain", "p": 1.0}, {"name": "low_pass_filter", "p": 1.0}]),
                    dev,
                )
                .unwrap();
                started.wait();
                let mut outcomes = Vec::new();
                for k in 0..40 {
                    let r = if t % 2 == 0 {
                        stft.run(long).map(|_| ())
                    } else {
                        aug.run(k, &batch()).map(|_| ())
                    };
                    match r {
                        Ok(()) => outcomes.push("ok"),
                        Err(Error::Gpu {
                            kind,
                            reason,
                            context,
                        }) => {
                            if kind != GpuErrorKind::DeviceLost {
                                eprintln!("thread {t}: {kind} ({context}): {reason}");
                            }
                            outcomes.push(if kind == GpuErrorKind::DeviceLost {
                                "lost"
                            } else {
                                "other"
                            });
                            if kind == GpuErrorKind::DeviceLost {
                                break;
                            }
                        }
                        Err(e) => panic!("thread {t}: not a GPU error: {e}"),
                    }
                }
                tx.send((t, outcomes)).unwrap();
            });
        }
        started.wait();
        std::thread::sleep(std::time::Duration::from_millis(30));
        dev.wgpu().unwrap().0.destroy();
        drop(tx);
        // Every thread reports within a minute (a hang would leave the channel open).
        for _ in 0..8 {
            let (t, outcomes) = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("a thread still running a minute after the loss: a hang");
            assert_eq!(outcomes.last(), Some(&"lost"), "thread {t}: {outcomes:?}");
        }
    });
    assert_lost("after the threads", stft.run(&clip()).map(|_| 0.0));
}
