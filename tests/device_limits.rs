//! Device limits (issue 8, item 3): the same plans on a device opened with artificially small
//! limits (storage binding and buffer size, workgroups per dimension, workgroup memory) give
//! the results of the default device, the work split to fit; what cannot fit at all is a
//! typed `Error::DeviceLimit` naming the limit.

mod common;

use common::small_limits as tight;
use ndarray::Array2;
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::{wgpu, AudioBatch, Device, Error, Spectrogram};

/// The first adapter opened with `shrink` applied to its own limits; `None` (a skip) where
/// `common::gpu` skips.
fn small_device(shrink: impl Fn(&mut wgpu::Limits)) -> Option<Device> {
    common::gpu()?;
    Some(common::device_with_limits(shrink))
}

fn clips() -> AudioBatch {
    let rows: Vec<Vec<f32>> = (0..8)
        .map(|r| common::noise(160_000 - 7_000 * r, 40 + r as u64))
        .collect();
    AudioBatch::from_rows(&rows, 16_000).unwrap()
}

#[test]
fn spectrograms_split_to_small_limits_give_the_same_numbers() {
    let (Some(full), Some(small)) = (common::gpu(), small_device(tight)) else {
        return;
    };
    let b = clips();
    // The input alone is over the small device's storage binding limit: the plans must split.
    assert!(b.data().len() * 4 > 4 << 20);
    let stft = |d: &Device| {
        Spectrogram::stft()
            .n_fft(512)
            .hop_length(160)
            .build(d)
            .unwrap()
            .run_batch(&b)
            .unwrap()
    };
    assert_eq!(stft(&small), stft(&full), "stft");
    let mel = |d: &Device| {
        Spectrogram::mel(16_000)
            .n_fft(1024)
            .hop_length(256)
            .to_db(80.0)
            .build(d)
            .unwrap()
            .run_batch(&b)
            .unwrap()
    };
    // The split run's mel values differ from the one-pass run's in the last bit at most
    // (1.9e-6 dB measured on lavapipe): f32 rounding, 500x under the parity tolerance.
    let (x, y) = (mel(&small), mel(&full));
    assert_eq!(x.dim(), y.dim());
    let d = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("log-mel, small limits vs default: max difference {d:e} dB");
    assert!(d <= 1e-5, "log-mel differs by {d:e} dB");
    let cqt = |d: &Device| {
        Spectrogram::cqt(16_000)
            .build(d)
            .and_then(|p| p.run_batch(&b))
    };
    match (cqt(&small), cqt(&full)) {
        (Ok(x), Ok(y)) => {
            let d = x
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs() / b.abs().max(1e-3))
                .fold(0.0f32, f32::max);
            eprintln!("cqt, small limits vs default: max relative difference {d:e}");
            assert!(d <= 1e-5, "cqt differs by {d:e}");
        }
        (Err(Error::DeviceLimit { limit, .. }), Ok(_)) => {
            panic!("cqt did not split under the small limits: {limit}")
        }
        (x, y) => panic!("cqt: {:?} / {:?}", x.err(), y.err()),
    }
}

#[test]
fn augmentation_splits_to_small_limits_with_the_same_bits() {
    let (Some(full), Some(small)) = (common::gpu(), small_device(tight)) else {
        return;
    };
    let batch = |rows: usize, n: usize| {
        let data = Array2::from_shape_fn((rows, n), |(r, i)| {
            common::noise(1, (r * 1_000_000 + i) as u64)[0] * 0.3
        });
        Batch::new(data, vec![n; rows], 1, 16_000).unwrap()
    };
    let same = |spec: &str, b: &Batch| {
        let a = Pipeline::from_json(spec, &full).unwrap().run(3, b).unwrap();
        let c = Pipeline::from_json(spec, &small)
            .unwrap()
            .run(3, b)
            .unwrap();
        assert_eq!(a, c, "{spec}");
    };
    // The batch alone is over the binding limit: the rows go in groups.
    let big = batch(8, 160_000);
    assert!(big.data().len() * 4 > 4 << 20);
    same(
        r#"[{"name": "gain", "p": 1.0}, {"name": "add_gaussian_snr", "p": 1.0},
            {"name": "low_pass_filter", "p": 1.0}, {"name": "shift", "p": 1.0}]"#,
        &big,
    );
    // The phase vocoder's spectra (16 bytes per sample) are: it stretches rows in groups.
    let rows = batch(4, 80_000);
    assert!(rows.data().len() * 16 > 4 << 20);
    same(r#"[{"name": "pitch_shift", "p": 1.0}]"#, &rows);
}

#[test]
fn too_little_workgroup_memory_is_a_typed_error() {
    let Some(small) = small_device(|l| l.max_compute_workgroup_storage_size = 16_000) else {
        return;
    };
    // (The phase vocoder's 2048-point FFT needs 16 KiB of workgroup memory.)
    let p = Pipeline::from_json(r#"[{"name": "pitch_shift", "p": 1.0}]"#, &small).unwrap();
    let batch = Batch::new(Array2::zeros((1, 8000)), vec![8000], 1, 16_000).unwrap();
    match p.run(1, &batch) {
        Err(Error::DeviceLimit { limit, .. }) => {
            assert_eq!(limit, "max_compute_workgroup_storage_size")
        }
        other => panic!("expected a DeviceLimit error, got {other:?}"),
    }
}

/// A device from the caller (`Device::from_wgpu`) is known by its adapter: it is described by
/// name, and on lavapipe the FFT sizes past Mesa's loop guard are refused as on a device
/// wavegpu opened (found failing: a caller's lavapipe device computed a 10007-point FFT
/// silently wrong, 0.99 relative error, because the guard looked for the adapter's name).
#[test]
fn a_callers_device_is_known_by_its_adapter() {
    let Some(theirs) = small_device(|_| {}) else {
        return;
    };
    let (d, _) = theirs.wgpu().unwrap();
    let name = d.adapter_info().name;
    assert!(format!("{theirs}").contains(&name), "{theirs}");
    let plan = Spectrogram::stft()
        .n_fft(10_007)
        .hop_length(3_000)
        .build(&theirs);
    if name.contains("llvmpipe") {
        match plan {
            Err(Error::DeviceLimit { limit, .. }) => {
                assert_eq!(limit, "llvmpipe loop-iteration guard")
            }
            other => panic!(
                "expected the llvmpipe DeviceLimit, got {:?}",
                other.map(|_| ())
            ),
        }
    } else {
        plan.unwrap();
    }
}
