//! Property tests (issue 8, item 2): random signal lengths, n_fft, hop, window length and
//! kind, centring, pad modes, batch shapes, buffer budgets (forcing the work into chunks),
//! mel and CQT/VQT parameters. For every draw the GPU result equals the CPU result within
//! DESIGN.md's tolerance (relative Frobenius norm <= 1e-5 for STFT power and mel power;
//! 1e-4 for the CQT, tests/cqt.rs's GPU-vs-CPU bound), the shape is the one the plan
//! announces, and an invalid combination is the same typed error on both devices, never a
//! panic. Augmentation: random pipelines of the per-sample transforms and filters, GPU within
//! 1e-5 of the CPU.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::{AudioBatch, Device, PadMode, Spectrogram, Window};

/// `cases` draws (from a fresh random seed each run: `PROPTEST_RNG_SEED` fixes it), or
/// `PROPTEST_CASES` when set, for longer campaigns than CI's.
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Rows of `len`, `len / 2 + 1`, ... samples (`rows` of them).
fn batch(rows: usize, len: usize, seed: u64, sr: u32) -> AudioBatch {
    let v: Vec<Vec<f32>> = (0..rows)
        .map(|r| common::noise(len / (r + 1) + r, seed + r as u64))
        .collect();
    AudioBatch::from_rows(&v, sr).unwrap()
}

/// Both devices' results agree: the same error variant, or equal shapes (the plan's) and
/// values within `tol`.
/// How many draws compared results and how many compared errors (each test checks both
/// happened, so a test cannot pass by erroring on every draw).
static COMPARED: [std::sync::atomic::AtomicUsize; 2] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];

fn count(ok: bool) {
    COMPARED[usize::from(!ok)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn agree(
    cpu: wavegpu::Result<ndarray::Array3<f32>>,
    gpu: wavegpu::Result<ndarray::Array3<f32>>,
    shape: Option<(usize, usize, usize)>,
    tol: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    match (cpu, gpu) {
        (Err(a), Err(b)) => {
            count(false);
            prop_assert_eq!(
                common::variant(&a),
                common::variant(&b),
                "{}: {} / {}",
                what,
                a,
                b
            )
        }
        (Ok(a), Ok(b)) => {
            count(true);
            prop_assert_eq!(a.dim(), b.dim(), "{}", what);
            if let Some(s) = shape {
                prop_assert_eq!(a.dim(), s, "{}: the plan's announced shape", what);
            }
            if !a.is_empty() {
                let e = common::rel_err(b.iter(), a.iter());
                prop_assert!(e <= tol, "{}: GPU vs CPU {:e}", what, e);
            }
        }
        (a, b) => prop_assert!(
            false,
            "{}: CPU {:?} but GPU {:?}",
            what,
            a.map(|x| x.dim()),
            b.map(|x| x.dim())
        ),
    }
    Ok(())
}

/// Plans built on both devices: `run` compares their results when both built, else the
/// build errors must be the same variant.
fn built_alike<P>(
    cpu: wavegpu::Result<P>,
    gpu: wavegpu::Result<P>,
    what: &str,
    run: impl FnOnce(P, P) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    match (cpu, gpu) {
        (Ok(c), Ok(g)) => run(c, g),
        (Err(a), Err(e)) => {
            count(false);
            prop_assert_eq!(common::variant(&a), common::variant(&e), "{}", what);
            Ok(())
        }
        (c, g) => {
            prop_assert!(false, "{}: CPU {:?} GPU {:?}", what, c.err(), g.err());
            Ok(())
        }
    }
}

#[test]
fn stft_gpu_equals_cpu_for_random_parameters() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Device::cpu();
    let params = (
        (1usize..=1200, 1usize..=700, 0usize..=100),
        (0usize..4, any::<bool>(), any::<bool>(), 0usize..=16),
        (0usize..=5000, 1usize..=3, any::<bool>(), 0u64..1_000_000),
    );
    runner(48)
        .run(
            &params,
            |((n_fft, hop, win_pct), (wk, center, reflect, tile), (len, rows, small, seed))| {
                let win = (n_fft * win_pct / 100).max(1);
                let window = [Window::Hann, Window::Hamming, Window::Blackman, Window::Ones][wk]
                    .clone();
                let pad = if reflect {
                    PadMode::Reflect
                } else {
                    PadMode::Constant
                };
                let what = format!(
                    "n_fft {n_fft} hop {hop} win {win} {window:?} center {center} {pad:?} len {len} rows {rows} small {small} tile {tile}"
                );
                let build = |d: &Device| {
                    let mut b = Spectrogram::stft()
                        .n_fft(n_fft)
                        .hop_length(hop)
                        .win_length(win)
                        .window(window.clone())
                        .center(center)
                        .pad_mode(pad)
                        .power(2.0);
                    if small {
                        // A budget of a few frames' worth: the run goes in many chunks.
                        b = b.max_buffer_bytes((n_fft as u64 * 64).max(4096));
                    }
                    // Frames per GPU workgroup (0: the plan's choice; the CPU ignores it).
                    if tile > 0 {
                        b = b.frames_per_workgroup(tile);
                    }
                    b.build(d)
                };
                let b = batch(rows, len, seed, 8000);
                built_alike(build(&cpu), build(&gpu), &what, |c, g| {
                    let shape = c.output_shape(rows, len).ok();
                    agree(c.run_batch(&b), g.run_batch(&b), shape, 1e-5, &what)
                })
            },
        )
        .unwrap();
    let ok = COMPARED[0].load(std::sync::atomic::Ordering::Relaxed);
    let err = COMPARED[1].load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("stft draws (with the mel test's, which may run alongside): {ok} compared results, {err} compared errors");
    assert!(ok >= 10 && err >= 1, "{ok} results, {err} errors");
}

#[test]
fn mel_gpu_equals_cpu_for_random_parameters() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Device::cpu();
    let params = (
        (16usize..=2048, 16usize..=600, 1usize..=160),
        (
            0.0f64..2000.0,
            0.3f64..1.2,
            prop_oneof![Just(8000u32), Just(16_000), Just(22_050)],
        ),
        (0usize..=6000, 1usize..=3, 0u64..1_000_000, 0usize..=16),
    );
    runner(32)
        .run(
            &params,
            |((n_fft, hop, n_mels), (fmin, fmax_frac, sr), (len, rows, seed, tile))| {
                let fmax = fmax_frac * f64::from(sr) / 2.0;
                let what = format!(
                    "n_fft {n_fft} hop {hop} n_mels {n_mels} fmin {fmin} fmax {fmax} sr {sr} len {len} rows {rows} tile {tile}"
                );
                let build = |d: &Device| {
                    let b = Spectrogram::mel(sr)
                        .n_fft(n_fft)
                        .hop_length(hop)
                        .n_mels(n_mels)
                        .fmin(fmin)
                        .fmax(fmax);
                    // Frames per GPU workgroup (0: the plan's choice; the CPU ignores it).
                    if tile > 0 { b.frames_per_workgroup(tile) } else { b }.build(d)
                };
                let b = batch(rows, len, seed, sr);
                built_alike(build(&cpu), build(&gpu), &what, |c, g| {
                    agree(c.run_batch(&b), g.run_batch(&b), None, 1e-5, &what)
                })
            },
        )
        .unwrap();
}

#[test]
fn augmentation_gpu_equals_cpu_for_random_pipelines() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Device::cpu();
    // The transforms whose GPU and CPU results agree within 1e-5 by construction (the guide's
    // exceptions, the phase vocoder on sparse spectra and bit_crush after rounding, left out),
    // and the IIR filters, checked at the IIR kernel's documented bound, 1e-4 (f32 sections:
    // found here, the seven-band EQ reaches 1.7e-5 for some draws; see src/gpu/iir.rs).
    const T: &[&str] = &[
        r#"{"name": "gain", "p": P}"#,
        r#"{"name": "gain_transition", "p": P}"#,
        r#"{"name": "polarity_inversion", "p": P}"#,
        r#"{"name": "reverse", "p": P}"#,
        r#"{"name": "shift", "p": P}"#,
        r#"{"name": "clip", "a_min": -0.5, "a_max": 0.4, "p": P}"#,
        r#"{"name": "clipping_distortion", "p": P}"#,
        r#"{"name": "normalize", "p": P}"#,
        r#"{"name": "add_gaussian_noise", "p": P}"#,
        r#"{"name": "add_gaussian_snr", "p": P, "mode": "per_channel"}"#,
        r#"{"name": "add_color_noise", "p": P}"#,
        r#"{"name": "time_mask", "p": P}"#,
        r#"{"name": "tanh_distortion", "p": P}"#,
        r#"{"name": "padding", "p": P}"#,
        r#"{"name": "low_pass_filter", "p": P}"#,
        r#"{"name": "band_stop_filter", "zero_phase": true, "p": P}"#,
        r#"{"name": "high_pass_filter", "fir_taps": 63, "p": P}"#,
        r#"{"name": "peaking_filter", "p": P}"#,
        r#"{"name": "seven_band_parametric_eq", "p": P}"#,
    ];
    let params = (
        prop::collection::vec((0..T.len(), 0.3f64..1.0), 1..6),
        prop::collection::vec(0usize..4000, 1..5),
        1usize..=2,
        0u64..1_000_000,
    );
    runner(40)
        .run(&params, |(picks, lens, channels, seed)| {
            let spec = format!(
                "[{}]",
                picks
                    .iter()
                    .map(|&(k, p)| T[k].replace('P', &format!("{p:.3}")))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let stride = lens.iter().copied().max().unwrap_or(0).max(1);
            let rows = lens.len() * channels;
            let data = ndarray::Array2::from_shape_fn((rows, stride), |(r, i)| {
                if i < lens[r / channels] {
                    common::noise(1, seed + (r * 10_000 + i) as u64)[0] * 0.4
                } else {
                    0.0
                }
            });
            let row_lens = lens
                .iter()
                .flat_map(|&n| std::iter::repeat_n(n, channels))
                .collect();
            let b = Batch::new(data, row_lens, channels, 16_000).unwrap();
            let run = |d: &Device| Pipeline::from_json(&spec, d).and_then(|p| p.run(seed, &b));
            match (run(&cpu), run(&gpu)) {
                (Ok(c), Ok(g)) => {
                    let d = c
                        .data()
                        .iter()
                        .zip(g.data().iter())
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0f32, f32::max);
                    let iir = [
                        "low_pass_filter",
                        "band_stop_filter",
                        "peaking_filter",
                        "seven_band",
                    ]
                    .iter()
                    .any(|n| spec.contains(n));
                    let tol = if iir { 1e-4 } else { 1e-5 };
                    prop_assert!(
                        d <= tol,
                        "{}: lengths {:?} x {} channels, seed {}: GPU - CPU {:e}",
                        spec,
                        lens,
                        channels,
                        seed,
                        d
                    );
                }
                (Err(a), Err(e)) => {
                    prop_assert_eq!(common::variant(&a), common::variant(&e), "{}", spec)
                }
                (c, g) => prop_assert!(false, "{}: CPU {:?} GPU {:?}", spec, c.err(), g.err()),
            }
            Ok(())
        })
        .unwrap();
}

/// CQT / VQT: random sample rates, hops (any hop works), fmin, bins per octave, bin counts
/// (past Nyquist is an error on both), filter scales, VQT's gamma, lengths and batch rows:
/// the GPU within tests/cqt.rs's GPU-vs-CPU tolerance (relative Frobenius <= 1e-4) of the
/// CPU, shapes as announced, errors alike.
#[test]
fn cqt_gpu_equals_cpu_for_random_parameters() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Device::cpu();
    let params = (
        (
            prop_oneof![Just(8000u32), Just(16_000), Just(22_050)],
            1usize..=1024,
            30.0f64..400.0,
        ),
        (
            prop_oneof![Just(12usize), Just(24), Just(36), Just(7)],
            1usize..=72,
            0.5f64..2.0,
            prop_oneof![Just(None), (0.0f64..30.0).prop_map(Some)],
        ),
        (0usize..=12_000, 1usize..=2, 0u64..1_000_000),
    );
    let (results, errors) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner(48)
        .run(
            &params,
            |((sr, hop, fmin), (bpo, n_bins, filter_scale, gamma), (len, rows, seed))| {
                let what = format!(
                    "sr {sr} hop {hop} fmin {fmin} bpo {bpo} n_bins {n_bins} filter_scale {filter_scale} gamma {gamma:?} len {len} rows {rows}"
                );
                let build = |d: &Device| {
                    let mut b = Spectrogram::cqt(sr)
                        .hop_length(hop)
                        .fmin(fmin)
                        .bins_per_octave(bpo)
                        .n_bins(n_bins)
                        .filter_scale(filter_scale);
                    if let Some(g) = gamma {
                        b = b.gamma(g);
                    }
                    b.build(d)
                };
                let b = batch(rows, len, seed, sr);
                let (c, g) = (build(&cpu), build(&gpu));
                if c.is_err() {
                    errors.set(errors.get() + 1);
                }
                built_alike(c, g, &what, |c, g| {
                    let shape = c.output_shape(rows, len).ok();
                    let (rc, rg) = (c.run_batch(&b), g.run_batch(&b));
                    let n = if rc.is_ok() { &results } else { &errors };
                    n.set(n.get() + 1);
                    agree(rc, rg, shape, 1e-4, &what)
                })
            },
        )
        .unwrap();
    let (results, errors) = (results.get(), errors.get());
    eprintln!("cqt draws: {results} compared results, {errors} compared errors");
    assert!(
        results >= 5 && errors >= 1,
        "{results} results, {errors} errors"
    );
}
