//! Augmentation: parity with audiomentations dumps, GPU vs CPU, seeding, freeze, batch
//! independence, distributions of random parameters, SNR, NaN rows, zero-length rows, JSON
//! errors.

mod common;

use ndarray::Array2;
use serde_json::{json, Value};
use wavegpu::augment::{Batch, Pipeline};
use wavegpu::Device;

fn rows_of(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn batch_of(rows: &[Vec<f32>], lengths: Vec<usize>, channels: usize, sr: u32) -> Batch {
    let stride = rows.iter().map(Vec::len).max().unwrap_or(0);
    let data = Array2::from_shape_fn((rows.len(), stride), |(r, i)| {
        rows[r].get(i).copied().unwrap_or(0.0)
    });
    Batch::new(data, lengths, channels, sr).unwrap()
}

fn cases() -> Value {
    let p = common::data_dir().join("augment_cases.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every dumped case on `device`: max |wavegpu - audiomentations| over the case.
fn parity(device: &Device) -> Vec<(String, f32)> {
    let c = cases();
    c["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let name = case["name"].as_str().unwrap().to_string();
            let x = rows_of(&case["input"]);
            let want = rows_of(&case["output"]);
            let sr = case["sample_rate"].as_u64().unwrap() as u32;
            let n = x[0].len();
            let b = batch_of(&x, vec![n; x.len()], x.len(), sr);
            let p = Pipeline::from_value(&case["pipeline"], device).unwrap();
            let out = p.run(1, &b).unwrap().into_data();
            let want = Array2::from_shape_fn(out.dim(), |(r, i)| want[r][i]);
            (name, max_abs_diff(&out, &want))
        })
        .collect()
}

#[test]
fn cpu_matches_audiomentations() {
    let res = parity(&Device::cpu());
    let worst = res.iter().map(|r| r.1).fold(0.0, f32::max);
    eprintln!("CPU vs audiomentations: max abs diff {worst:e}");
    for (name, d) in &res {
        assert!(*d <= 1e-6, "{name}: max abs diff {d}");
    }
}

#[test]
fn gpu_matches_audiomentations() {
    let Some(dev) = common::gpu() else { return };
    let res = parity(&dev);
    let worst = res.iter().map(|r| r.1).fold(0.0, f32::max);
    eprintln!("GPU vs audiomentations: max abs diff {worst:e}");
    for (name, d) in &res {
        assert!(*d <= 1e-5, "{name}: max abs diff {d}");
    }
}

/// Every transform with p = 1 and its default ranges, in sequence.
fn every_transform() -> Value {
    json!([
        {"name": "gain", "p": 1.0, "min_gain_db": -6, "max_gain_db": 6},
        {"name": "gain_transition", "p": 1.0, "min_duration": 0.05, "max_duration": 0.5, "duration_unit": "fraction"},
        {"name": "polarity_inversion", "p": 1.0},
        {"name": "shift", "p": 1.0, "mode": "per_channel"},
        {"name": "add_gaussian_noise", "p": 1.0},
        {"name": "reverse", "p": 1.0},
        {"name": "time_mask", "p": 1.0},
        {"name": "add_gaussian_snr", "p": 1.0, "min_snr_db": 10, "max_snr_db": 20},
        {"name": "normalize", "p": 1.0},
        {"name": "padding", "p": 1.0, "mode": "reflect"},
        {"name": "bit_crush", "p": 1.0, "min_bit_depth": 8, "max_bit_depth": 12},
        {"name": "clip", "p": 1.0, "a_min": -0.8, "a_max": 0.9},
        {"name": "add_gaussian_snr", "p": 1.0, "mode": "per_channel"},
        {"name": "normalize", "p": 1.0, "mode": "per_channel", "apply_to": "only_too_loud_sounds"},
        {"name": "tanh_distortion", "p": 1.0},
        {"name": "clipping_distortion", "p": 1.0, "mode": "per_channel"},
        {"name": "tanh_distortion", "p": 1.0, "mode": "per_channel"},
        {"name": "clipping_distortion", "p": 1.0},
        {"name": "add_color_noise", "p": 1.0, "p_apply_a_weighting": 0.5},
        {"name": "add_color_noise", "p": 1.0, "mode": "per_channel", "min_snr_db": 20, "n_fft": 64},
        {"name": "low_pass_filter", "p": 1.0},
        {"name": "high_pass_filter", "p": 1.0, "mode": "per_channel"},
        {"name": "band_pass_filter", "p": 1.0},
        {"name": "band_stop_filter", "p": 1.0},
        {"name": "peaking_filter", "p": 1.0},
        {"name": "low_shelf_filter", "p": 1.0},
        {"name": "high_shelf_filter", "p": 1.0},
        {"name": "seven_band_parametric_eq", "p": 1.0},
        {"name": "band_pass_filter", "p": 0.5, "fir_taps": 101},
        {"name": "low_pass_filter", "p": 0.5, "mode": "per_channel", "fir_taps": 31}
    ])
}

/// Two-channel examples of assorted lengths, one of them empty.
fn stereo_batch(lengths: &[usize], seed: u64) -> Batch {
    let rows: Vec<Vec<f32>> = lengths
        .iter()
        .flat_map(|&n| [n, n])
        .enumerate()
        .map(|(r, n)| {
            common::noise(n, seed + r as u64)
                .iter()
                .map(|x| 0.5 * x)
                .collect()
        })
        .collect();
    let lens = lengths.iter().flat_map(|&n| [n, n]).collect();
    batch_of(&rows, lens, 2, 16_000)
}

#[test]
fn gpu_matches_cpu_for_every_transform() {
    let Some(gpu) = common::gpu() else { return };
    let spec = every_transform();
    let b = stereo_batch(&[3000, 1, 0, 2500, 1777], 11);
    let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let gp = Pipeline::from_value(&spec, &gpu).unwrap();
    for seed in [0u64, 1, 0xDEAD_BEEF_CAFE] {
        let a = cpu.run(seed, &b).unwrap();
        let g = gp.run(seed, &b).unwrap();
        let d = max_abs_diff(&a.data().to_owned(), &g.data().to_owned());
        eprintln!("seed {seed}: max |GPU - CPU| = {d:e}");
        assert!(d <= 1e-5, "seed {seed}: max |GPU - CPU| = {d}");
        // Past each row's length everything stays zero.
        for (r, &n) in g.lengths().iter().enumerate() {
            assert!(g.data().row(r).iter().skip(n).all(|&v| v == 0.0));
        }
    }
}

#[test]
fn gpu_noise_matches_cpu_philox() {
    // Unit-amplitude noise on silence: the output is the normal stream itself, so any
    // difference between the WGSL and Rust Philox or Box-Muller shows.
    let Some(gpu) = common::gpu() else { return };
    let spec = json!([{"name": "add_gaussian_noise", "p": 1.0, "min_amplitude": 1.0, "max_amplitude": 1.0}]);
    let b = batch_of(
        &[vec![0.0; 4099], vec![0.0; 4099], vec![0.0; 17]],
        vec![4099, 4099, 17],
        1,
        8000,
    );
    let a = Pipeline::from_value(&spec, &Device::cpu())
        .unwrap()
        .run(u64::MAX, &b)
        .unwrap();
    let g = Pipeline::from_value(&spec, &gpu)
        .unwrap()
        .run(u64::MAX, &b)
        .unwrap();
    let d = max_abs_diff(&a.data().to_owned(), &g.data().to_owned());
    eprintln!("unit normals: max |GPU - CPU| = {d:e}");
    assert!(d <= 1e-5, "{d}");
    assert_ne!(
        a.data().row(0),
        a.data().row(1),
        "examples get different noise"
    );
}

#[test]
fn same_seed_same_bits_other_seed_differs() {
    let spec = every_transform();
    let b = stereo_batch(&[2000, 900], 3);
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in devices {
        let p = Pipeline::from_value(&spec, &dev).unwrap();
        let x = p.run(42, &b).unwrap();
        let y = p.run(42, &b).unwrap();
        assert!(
            x.data()
                .iter()
                .zip(y.data())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{dev}"
        );
        let z = p.run(43, &b).unwrap();
        assert_ne!(x.data(), z.data(), "{dev}");
    }
}

#[test]
fn a_row_does_not_depend_on_its_batch() {
    let spec = every_transform();
    let big = stereo_batch(&[1500, 700, 1200], 5);
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in devices {
        let p = Pipeline::from_value(&spec, &dev).unwrap();
        let all = p.run_with_ids(9, &[10, 20, 30], &big).unwrap();
        // Example 20 alone, padded to a different stride.
        let alone = batch_of(
            &[big.data().row(2).to_vec(), big.data().row(3).to_vec()],
            vec![700, 700],
            2,
            16_000,
        );
        let one = p.run_with_ids(9, &[20], &alone).unwrap();
        for c in 0..2 {
            let a = all.data().row(2 + c).to_vec();
            let o = one.data().row(c).to_vec();
            assert_eq!(&a[..700], &o[..700], "{dev} channel {c}");
        }
    }
}

#[test]
fn frozen_parameters_apply_alike_to_paired_signals() {
    let spec = json!([
        {"name": "gain", "p": 1.0},
        {"name": "shift", "p": 1.0},
        {"name": "add_gaussian_noise", "p": 1.0}
    ]);
    let p = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let clean = stereo_batch(&[1000, 800], 1);
    let drawn = p.draw(5, &[0, 1], 2).unwrap();
    let a = p.apply(&drawn, &clean).unwrap();
    let b = p.apply(&drawn, &clean).unwrap();
    assert_eq!(a, b);
    // Scaled input: linear transforms then the same noise, so out(2x) - out(x) = gain * shift(x).
    let doubled = batch_of(
        &clean
            .data()
            .outer_iter()
            .map(|r| r.iter().map(|v| 2.0 * v).collect())
            .collect::<Vec<_>>(),
        clean.lengths().to_vec(),
        2,
        16_000,
    );
    let c = p.apply(&drawn, &doubled).unwrap();
    let no_noise = Pipeline::from_value(
        &json!([{"name": "gain", "p": 1.0}, {"name": "shift", "p": 1.0}]),
        &Device::cpu(),
    )
    .unwrap();
    let lin = no_noise.apply(&no_noise.draw(5, &[0, 1], 2).unwrap(), &clean);
    // The two pipelines share positions 1 and 2, so gain and shift are the same draws.
    let lin = lin.unwrap();
    for ((x, y), l) in a.data().iter().zip(c.data()).zip(lin.data()) {
        assert!((y - x - l).abs() <= 1e-6, "{y} - {x} != {l}");
    }
}

#[test]
fn snr_is_achieved_within_a_hundredth_of_a_db() {
    let spec =
        json!([{"name": "add_gaussian_snr", "p": 1.0, "min_snr_db": 12.5, "max_snr_db": 12.5}]);
    let b = stereo_batch(&[8000, 333, 5000], 8);
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in devices {
        let p = Pipeline::from_value(&spec, &dev).unwrap();
        let y = p.run(3, &b).unwrap();
        for e in 0..3 {
            // Per example: the signal RMS is the mean of the channels' RMS
            // (audiomentations' calculate_rms), and each channel's noise has that RMS / 10^(snr/20).
            let n = b.lengths()[2 * e];
            let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
            let mut sig = 0.0;
            let mut noises = vec![];
            for c in 0..2 {
                let r = 2 * e + c;
                let x: Vec<f64> = b.data().row(r).iter().take(n).map(|&v| v as f64).collect();
                let z: Vec<f64> = y
                    .data()
                    .row(r)
                    .iter()
                    .take(n)
                    .zip(&x)
                    .map(|(&o, &i)| o as f64 - i)
                    .collect();
                sig += rms(&x) / 2.0;
                noises.push(rms(&z));
            }
            for nr in noises {
                let snr = 20.0 * (sig / nr).log10();
                assert!((snr - 12.5).abs() <= 0.01, "{dev} example {e}: SNR {snr}");
            }
        }
    }
}

/// Gain in dB of 1-sample examples of value 1 over `n` ids.
fn drawn_gains_db(spec: &Value, n: usize) -> Vec<f64> {
    let p = Pipeline::from_value(spec, &Device::cpu()).unwrap();
    let b = batch_of(&vec![vec![1.0f32]; n], vec![1; n], 1, 8000);
    let y = p.run(77, &b).unwrap();
    y.data()
        .iter()
        .map(|&v| 20.0 * (v as f64).log10())
        .collect()
}

#[test]
fn gain_is_uniform_in_db() {
    // Kolmogorov-Smirnov against U(-6, 9): with n = 4000, D > 1.95 / sqrt(n) has probability
    // about 0.001 under the null (and the draws are fixed by the seed, so the test is
    // deterministic).
    let n = 4000;
    let mut g = drawn_gains_db(
        &json!([{"name": "gain", "p": 1.0, "min_gain_db": -6, "max_gain_db": 9}]),
        n,
    );
    g.sort_by(f64::total_cmp);
    assert!(g[0] >= -6.0 - 1e-4 && g[n - 1] <= 9.0 + 1e-4);
    let d = g
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = (x + 6.0) / 15.0;
            (f - i as f64 / n as f64)
                .abs()
                .max(((i + 1) as f64 / n as f64 - f).abs())
        })
        .fold(0.0, f64::max);
    assert!(d < 1.95 / (n as f64).sqrt(), "KS D = {d}");
}

#[test]
fn probability_p_is_honoured() {
    // Binomial(4000, 0.3): sd 29; a 5-sd bound fails with probability < 1e-6.
    let n = 4000;
    let g = drawn_gains_db(
        &json!([{"name": "gain", "p": 0.3, "min_gain_db": 6, "max_gain_db": 6}]),
        n,
    );
    let applied = g.iter().filter(|&&x| x > 3.0).count() as f64;
    assert!((applied - 1200.0).abs() < 5.0 * 29.0, "{applied} of {n}");
}

#[test]
fn one_of_follows_its_weights_and_some_of_its_count() {
    let n = 3000;
    let g = drawn_gains_db(
        &json!({"name": "one_of", "weights": [1, 3], "transforms": [
            {"name": "gain", "p": 1.0, "min_gain_db": -6, "max_gain_db": -6},
            {"name": "gain", "p": 1.0, "min_gain_db": 6, "max_gain_db": 6}]}),
        n,
    );
    let second = g.iter().filter(|&&x| x > 0.0).count() as f64;
    // Binomial(3000, 0.75): sd 23.7.
    assert!((second - 2250.0).abs() < 5.0 * 23.7, "{second}");
    let g = drawn_gains_db(
        &json!({"name": "some_of", "num_transforms": [1, 2], "transforms": [
            {"name": "gain", "p": 1.0, "min_gain_db": 1, "max_gain_db": 1},
            {"name": "gain", "p": 1.0, "min_gain_db": 2, "max_gain_db": 2},
            {"name": "gain", "p": 1.0, "min_gain_db": 4, "max_gain_db": 4}]}),
        n,
    );
    // Each example gets 1 or 2 distinct gains: a total of 1, 2, 4 (one) or 3, 5, 6 (two).
    let mut counts = [0usize; 8];
    for x in &g {
        let k = x.round() as usize;
        assert!(
            (x - k as f64).abs() < 1e-4 && [1, 2, 3, 4, 5, 6].contains(&k),
            "{x}"
        );
        counts[k] += 1;
    }
    // Six outcomes of probability 1/6: Binomial(3000, 1/6) has sd 20.4.
    for k in 1..=6 {
        assert!((counts[k] as f64 - 500.0).abs() < 5.0 * 20.4, "{counts:?}");
    }
}

#[test]
fn shuffled_compose_changes_order_per_example() {
    let spec = json!({"name": "compose", "shuffle": true, "transforms": [
        {"name": "gain", "p": 1.0}, {"name": "reverse", "p": 1.0}, {"name": "clip", "p": 1.0}]});
    let p = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let drawn = p.draw(1, &(0..600).collect::<Vec<u64>>(), 1).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for r in 0..600 {
        *seen.entry(drawn.row_transforms(&p, r)).or_insert(0usize) += 1;
    }
    // 6 orders, 100 expected each (sd 9.1).
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(
        seen.values().all(|&c| (c as f64 - 100.0).abs() < 50.0),
        "{seen:?}"
    );
}

#[test]
fn nan_and_empty_rows_do_not_poison_others() {
    let spec = every_transform();
    let clean = stereo_batch(&[1200, 0, 900], 21);
    let mut data = clean.data().to_owned();
    data[[0, 5]] = f32::NAN;
    data[[1, 7]] = f32::INFINITY;
    let dirty = Batch::new(data, clean.lengths().to_vec(), 2, 16_000).unwrap();
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in devices {
        let p = Pipeline::from_value(&spec, &dev).unwrap();
        let a = p.run(4, &clean).unwrap();
        let b = p.run(4, &dirty).unwrap();
        // Examples 1 (empty) and 2 are untouched by example 0's NaN/Inf.
        for r in 2..6 {
            assert_eq!(a.data().row(r), b.data().row(r), "{dev} row {r}");
        }
        assert!(b.data().row(2).iter().all(|&v| v == 0.0));
    }
}

#[test]
fn bad_pipelines_are_typed_errors_naming_the_culprit() {
    let dev = Device::cpu();
    for (spec, needle) in [
        (r#"[{"name": "gian"}]"#, "gian"),
        (r#"[{"name": "gain", "min_gain": 1}]"#, "min_gain"),
        (
            r#"[{"name": "gain", "min_gain_db": 7, "max_gain_db": 1}]"#,
            "min_gain_db",
        ),
        (r#"[{"name": "gain", "p": 1.5}]"#, "`p`"),
        (
            r#"[{"name": "gain", "min_gain_db": "loud"}]"#,
            "min_gain_db",
        ),
        (r#"[{"name": "shift", "shift_unit": "bars"}]"#, "shift_unit"),
        (r#"[{"name": "one_of", "transforms": []}]"#, "transforms"),
        (
            r#"[{"name": "some_of", "num_transforms": 3, "transforms": [{"name": "gain"}]}]"#,
            "num_transforms",
        ),
        (
            r#"[{"name": "bit_crush", "max_bit_depth": 40}]"#,
            "max_bit_depth",
        ),
        (r#"[{"name": "gain", "mode": "per_planet"}]"#, "mode"),
        (r#"[3]"#, "pipeline[0]"),
        (r#"{"name": "compose"}"#, "transforms"),
        (r#"[{"name": "gain""#, "JSON"),
    ] {
        match Pipeline::from_json(spec, &dev) {
            Err(e @ wavegpu::Error::InvalidParameter { .. }) => {
                assert!(e.to_string().contains(needle), "{spec}: {e}")
            }
            Err(e) => panic!("{spec}: wrong error kind {e:?}"),
            Ok(_) => panic!("{spec}: accepted"),
        }
    }
    let p = Pipeline::from_json(r#"[{"name": "gain"}]"#, &dev).unwrap();
    let drawn = p.draw(1, &[0, 1], 1).unwrap();
    let b = stereo_batch(&[10], 1);
    assert!(matches!(
        p.apply(&drawn, &b),
        Err(wavegpu::Error::InvalidParameter { .. })
    ));
}

#[test]
fn llvmpipe_refuses_reductions_past_its_loop_guard() {
    // llvmpipe leaves shader loops after 65535 nested iterations without an error; the plan
    // refuses such sizes there instead of returning wrong numbers. (On the device's own
    // limits: with small ones the 17.6 MB batch would meet the buffer limit first.)
    let Some(dev) = common::gpu_opened() else {
        return;
    };
    if !dev.to_string().contains("llvmpipe") {
        return;
    }
    let n = 2_200_000; // 4 rounds x 2 channels x ceil(n / 256) > 65535
    let b = Batch::new(Array2::zeros((2, n)), vec![n, n], 2, 16_000).unwrap();
    let p =
        Pipeline::from_value(&json!([{"name": "clipping_distortion", "p": 1.0}]), &dev).unwrap();
    match p.run(0, &b) {
        Err(wavegpu::Error::DeviceLimit { limit, .. }) => assert!(limit.contains("llvmpipe")),
        other => panic!("expected a DeviceLimit error, got {other:?}"),
    }
}

#[test]
fn device_resident_batches_match_host_runs() {
    let Some(gpu) = common::gpu() else { return };
    let spec = every_transform();
    let p = Pipeline::from_value(&spec, &gpu).unwrap();
    let b = stereo_batch(&[1500, 0, 1100], 2);
    let d1 = p.draw(1, &[0, 1, 2], 2).unwrap();
    let d2 = p.draw(2, &[0, 1, 2], 2).unwrap();
    let want = p.apply(&d2, &p.apply(&d1, &b).unwrap()).unwrap();
    let mut on = p.upload(&b).unwrap();
    p.apply_device(&d1, &mut on).unwrap();
    p.apply_device(&d2, &mut on).unwrap();
    assert_eq!(p.download(&on).unwrap(), want);
    let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    assert!(matches!(
        cpu.upload(&b),
        Err(wavegpu::Error::InvalidParameter { .. })
    ));
}

#[test]
fn modes_share_draws_as_documented() {
    // Constant-1 examples of 2 channels: the output is the gain itself.
    let ones = batch_of(&vec![vec![1.0f32; 4]; 40], vec![4; 40], 2, 8000);
    let gains = |mode: &str| {
        let p = Pipeline::from_value(
            &json!([{"name": "gain", "p": 1.0, "min_gain_db": -20, "max_gain_db": 20, "mode": mode}]),
            &Device::cpu(),
        )
        .unwrap();
        let ids: Vec<u64> = (100..120).collect();
        let y = p.run_with_ids(3, &ids, &ones).unwrap();
        y.data().column(0).to_vec()
    };
    let ex = gains("per_example");
    let batch = gains("per_batch");
    let chan = gains("per_channel");
    for e in 0..20 {
        assert_eq!(ex[2 * e], ex[2 * e + 1], "per_example: channels share");
        assert_eq!(batch[2 * e], batch[0], "per_batch: examples share");
        assert_ne!(chan[2 * e], chan[2 * e + 1], "per_channel: channels differ");
    }
    assert_ne!(ex[0], ex[2], "per_example: examples differ");
}

#[test]
fn edge_parameters_run_without_panics() {
    let spec = json!([
        {"name": "shift", "p": 1.0, "shift_unit": "samples", "min_shift": -1e12, "max_shift": 1e12, "fade_duration": 1e6},
        {"name": "shift", "p": 1.0, "shift_unit": "seconds", "min_shift": -1e9, "max_shift": 1e9, "rollover": false},
        {"name": "gain_transition", "p": 1.0, "min_duration": 1e9, "max_duration": 1e10},
        {"name": "gain_transition", "p": 1.0, "min_duration": 1, "max_duration": 1, "duration_unit": "samples"},
        {"name": "time_mask", "p": 1.0, "min_band_part": 1.0, "max_band_part": 1.0, "fade_duration": 10.0},
        {"name": "padding", "p": 1.0, "mode": "wrap", "min_fraction": 1.0, "max_fraction": 1.0},
        {"name": "padding", "p": 1.0, "mode": "reflect", "min_fraction": 0.0, "max_fraction": 1.0, "pad_section": "start"},
        {"name": "bit_crush", "p": 1.0, "min_bit_depth": 1, "max_bit_depth": 32},
        {"name": "clip", "p": 1.0, "a_min": -1e-30, "a_max": 1e-30},
        {"name": "normalize", "p": 1.0},
        {"name": "add_gaussian_snr", "p": 1.0, "min_snr_db": -200, "max_snr_db": 200},
        {"name": "add_color_noise", "p": 1.0, "n_fft": 2},
        {"name": "tanh_distortion", "p": 1.0, "min_distortion": 0.0, "max_distortion": 1.0},
        {"name": "clipping_distortion", "p": 1.0, "min_percentile_threshold": 100, "max_percentile_threshold": 100}
    ]);
    let b = stereo_batch(&[50, 1, 0, 3], 9);
    let mut devices = vec![Device::cpu()];
    devices.extend(common::gpu());
    for dev in devices {
        let p = Pipeline::from_value(&spec, &dev).unwrap();
        for seed in 0..4 {
            let y = p.run(seed, &b).unwrap();
            assert_eq!(y.lengths(), b.lengths(), "{dev}");
        }
    }
}

/// Zero-phase filters (forward-backward with odd extension) on the GPU match the CPU twin;
/// rows too short for scipy's padlen are a typed error naming the example.
#[test]
fn zero_phase_filters_gpu_matches_cpu_and_short_rows_are_errors() {
    let spec = json!([
        {"name": "low_pass_filter", "p": 1.0, "zero_phase": true},
        {"name": "band_stop_filter", "p": 1.0, "zero_phase": true, "min_rolloff": 24, "max_rolloff": 48},
        {"name": "high_pass_filter", "p": 1.0, "zero_phase": true, "mode": "per_channel"}
    ]);
    let b = stereo_batch(&[3000, 0, 2500, 1777], 5);
    let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let a = cpu.run(9, &b).unwrap();
    if let Some(gpu) = common::gpu() {
        let g = Pipeline::from_value(&spec, &gpu)
            .unwrap()
            .run(9, &b)
            .unwrap();
        let d = max_abs_diff(&a.data().to_owned(), &g.data().to_owned());
        eprintln!("zero-phase filters: max |GPU - CPU| = {d:e}");
        assert!(d <= 1e-5, "max |GPU - CPU| = {d}");
    }
    let short = stereo_batch(&[3000, 20], 5);
    match cpu.run(9, &short) {
        Err(wavegpu::Error::InvalidAudio { input, reason }) => {
            assert!(input.contains("example 1"), "{input}");
            assert!(reason.contains("zero-phase"), "{reason}");
        }
        other => panic!("expected a typed error, got {other:?}"),
    }
}

/// Filtered white noise has its -3 dB point (the FIR option: -6 dB) where the (pinned)
/// cutoff says, on the CPU and the GPU: the spectra measured with wavegpu's own STFT,
/// averaged over 10 s.
#[test]
fn filtered_noise_has_its_cutoff_where_asked() {
    let sr = 16_000u32;
    let x: Vec<f32> = common::noise(10 * sr as usize, 77)
        .iter()
        .map(|v| 0.5 * v)
        .collect();
    let n = x.len();
    let b = batch_of(std::slice::from_ref(&x), vec![n], 1, sr);
    let stft = wavegpu::Spectrogram::stft()
        .n_fft(1024)
        .hop_length(512)
        .power(2.0)
        .build(&Device::cpu())
        .unwrap();
    let mean_spectrum = |v: &[f32]| -> Vec<f64> {
        let s = stft
            .run(&wavegpu::Audio::from_mono(v.to_vec(), sr))
            .unwrap();
        (0..s.dim().1)
            .map(|k| {
                s.slice(ndarray::s![0, k, ..])
                    .iter()
                    .map(|&p| f64::from(p))
                    .sum()
            })
            .collect()
    };
    let input = mean_spectrum(&x);
    let bin_hz = f64::from(sr) / 1024.0;
    let devices: Vec<Device> = std::iter::once(Device::cpu())
        .chain(common::gpu())
        .collect();
    // Butterworth: -3 dB (power 1/2) at the cutoff; firwin: amplitude 1/2 (power 1/4) there.
    for (name, cutoff, low, fir) in [
        ("low_pass_filter", 1000.0, true, 0),
        ("high_pass_filter", 2000.0, false, 0),
        ("low_pass_filter", 3000.0, true, 255),
    ] {
        let mut spec = json!([{
            "name": name, "p": 1.0, "min_cutoff_freq": cutoff, "max_cutoff_freq": cutoff,
            "min_rolloff": 24, "max_rolloff": 24
        }]);
        if fir > 0 {
            spec[0]["fir_taps"] = json!(fir);
        }
        let level = if fir > 0 { 0.25 } else { 0.5 };
        for dev in &devices {
            let y = Pipeline::from_value(&spec, dev)
                .unwrap()
                .run(3, &b)
                .unwrap();
            let out = mean_spectrum(&y.data().row(0).to_vec());
            let gain: Vec<f64> = out.iter().zip(&input).map(|(o, i)| o / i).collect();
            // The first bin past which the gain crosses `level`, interpolated.
            let k = (1..gain.len())
                .find(|&k| (gain[k] < level) == low && (gain[k - 1] < level) != low)
                .unwrap();
            let t = (level - gain[k - 1]) / (gain[k] - gain[k - 1]);
            let f = (k as f64 - 1.0 + t) * bin_hz;
            eprintln!("{name} (fir taps {fir}) at {cutoff} Hz on {dev}: gain {level} at {f:.1} Hz");
            assert!(
                (f - cutoff).abs() <= 0.03 * cutoff,
                "{name} on {dev}: -3 dB at {f} Hz"
            );
        }
    }
}
