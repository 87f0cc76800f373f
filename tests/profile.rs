//! Pass timestamps (`Device::gpu_profiled`, `take_pass_timings`) and the copy-bandwidth
//! measurement that `wavegpu bench` divides by: one timing per recorded pass, labelled, in
//! order, positive; nothing on devices without profiling.

mod common;

use wavegpu::{Audio, Device, Spectrogram};

#[test]
fn passes_are_timed_and_labelled() {
    // Same policy as every GPU test: on CI (CI=true) no adapter is a failure.
    let Some(_) = common::gpu() else { return };
    let dev = Device::gpu_profiled().expect("lavapipe and real GPUs have timestamp queries");
    let audio = Audio::from_mono(
        (0..48_000).map(|i| (i as f32 * 0.01).sin()).collect(),
        16_000,
    );
    let stft = Spectrogram::stft()
        .n_fft(512)
        .hop_length(160)
        .build(&dev)
        .unwrap();
    let logmel = Spectrogram::mel(16_000)
        .n_fft(512)
        .hop_length(160)
        .to_db(80.0)
        .build(&dev)
        .unwrap();
    assert!(
        dev.take_pass_timings().unwrap().is_empty(),
        "nothing ran yet"
    );
    stft.run(&audio).unwrap();
    stft.run_complex(&audio).unwrap();
    logmel.run(&audio).unwrap();
    let t = dev.take_pass_timings().unwrap();
    let labels: Vec<&str> = t.iter().map(|t| t.label).collect();
    assert_eq!(labels, ["stft", "stft (complex)", "stft+filterbank+post"]);
    assert!(
        t.iter().all(|t| t.seconds > 0.0 && t.seconds < 10.0),
        "{t:?}"
    );
    assert!(
        dev.take_pass_timings().unwrap().is_empty(),
        "timings are taken once"
    );

    let bw = dev.copy_bandwidth(16 << 20).unwrap().expect("a GPU device");
    assert!(bw > 1e6 && bw.is_finite(), "{bw} B/s");

    // Devices without profiling record nothing.
    let plain = common::gpu().unwrap();
    Spectrogram::stft()
        .build(&plain)
        .unwrap()
        .run(&audio)
        .unwrap();
    assert!(plain.take_pass_timings().unwrap().is_empty());
    assert!(Device::cpu().take_pass_timings().unwrap().is_empty());
    assert_eq!(Device::cpu().copy_bandwidth(1 << 20).unwrap(), None);
}
