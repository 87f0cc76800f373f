//! add_short_noises: parity with audiomentations' AddShortNoises.apply for fixed sound lists
//! (tests/data/make_short_noises_dumps.py), the drawn sound lists against what
//! audiomentations' loop implies, exact SNRs, GPU == CPU, seeding, isolation of examples.

mod common;

use ndarray::Array2;
use serde_json::{json, Value};
use wavegpu::augment::{Batch, Pipeline, ShortNoiseSound};
use wavegpu::Device;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn devices() -> Vec<Device> {
    let mut d = vec![Device::cpu()];
    d.extend(common::gpu());
    d
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

fn rms(v: &[f32]) -> f64 {
    (v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

/// Noise clips at 8 kHz: 0.1 s of noise, 0.05 s of tone, 0.02 s click; their paths.
fn clips(tag: &str) -> (common::TempDir, Vec<String>) {
    let d = common::TempDir::new(tag);
    let a: Vec<f32> = common::noise(800, 7).iter().map(|x| 0.3 * x).collect();
    let b: Vec<f32> = (0..400).map(|i| (i as f32 * 0.4).sin() * 0.5).collect();
    let c: Vec<f32> = common::noise(160, 8).iter().map(|x| 0.8 * x).collect();
    let mut paths = vec![];
    for (name, s) in [("a.wav", &a), ("b.wav", &b), ("c.wav", &c)] {
        common::write_wav(&d.path(name), s, 8000);
        paths.push(d.path(name).to_str().unwrap().to_string());
    }
    (d, paths)
}

fn batch(lengths: &[usize], channels: usize, seed: u64) -> Batch {
    let rows: Vec<Vec<f32>> = lengths
        .iter()
        .flat_map(|&n| std::iter::repeat_n(n, channels))
        .enumerate()
        .map(|(r, n)| {
            common::noise(n, seed + r as u64)
                .iter()
                .map(|x| 0.5 * x)
                .collect()
        })
        .collect();
    let stride = lengths.iter().copied().max().unwrap();
    let data = Array2::from_shape_fn((rows.len(), stride), |(r, i)| {
        rows[r].get(i).copied().unwrap_or(0.0)
    });
    let lens = lengths
        .iter()
        .flat_map(|&n| std::iter::repeat_n(n, channels))
        .collect();
    Batch::new(data, lens, channels, 8000).unwrap()
}

#[test]
fn matches_audiomentations_for_fixed_sounds() {
    let p = common::data_dir().join("short_noises_cases.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let sr = v["sample_rate"].as_u64().unwrap() as u32;
    let d = common::TempDir::new("sn_parity");
    let paths: Vec<String> = v["clips"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = d.path(&format!("clip{i}.wav"));
            common::write_wav(&p, &floats(c), sr);
            p.to_str().unwrap().to_string()
        })
        .collect();
    let x = floats(&v["input"]);
    let b = Batch::new(
        Array2::from_shape_vec((1, x.len()), x.clone()).unwrap(),
        vec![x.len()],
        1,
        sr,
    )
    .unwrap();
    let sounds: Vec<ShortNoiseSound> = v["sounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| ShortNoiseSound {
            start: s["start"].as_f64().unwrap(),
            clip: s["clip"].as_u64().unwrap() as usize,
            fade_in_time: s["fade_in_time"].as_f64().unwrap(),
            fade_out_time: s["fade_out_time"].as_f64().unwrap(),
            snr_db: s["snr_db"].as_f64().unwrap(),
            rms_db: s["rms_db"].as_f64().unwrap(),
        })
        .collect();
    for dev in devices() {
        let mut worst = 0.0f32;
        for case in v["cases"].as_array().unwrap() {
            let mut spec = case["params"].clone();
            spec["name"] = json!("add_short_noises");
            spec["sounds_path"] = json!(paths);
            spec["p"] = json!(1.0);
            let pl = Pipeline::from_value(&spec, &dev).unwrap();
            let y = pl.apply_short_noises(&sounds, &b).unwrap();
            let want = floats(&case["output"]);
            let got: Vec<f32> = y.data().row(0).to_vec();
            let diff = max_diff(&got, &want);
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            eprintln!(
                "{dev} {}: max abs diff {diff:e} (peak {scale})",
                case["name"]
            );
            worst = worst.max(diff / scale);
            // The input is really changed (the sounds are audible in every case).
            assert!(max_diff(&got, &x) > 1e-3, "{}", case["name"]);
        }
        eprintln!("{dev}: worst relative diff vs audiomentations {worst:e}");
        assert!(worst <= 1e-6, "{dev}: {worst}");
    }
}

#[test]
fn achieved_snr_of_an_isolated_sound_is_exact() {
    let (_d, paths) = clips("sn_snr");
    let b = batch(&[4000], 1, 3);
    let x: Vec<f32> = b.data().row(0).to_vec();
    // A 0.1 s sound (800 samples) at 0.2 s = sample 1600, fades included.
    let sound = ShortNoiseSound {
        start: 0.2,
        clip: 0,
        fade_in_time: 0.01,
        fade_out_time: 0.02,
        snr_db: 7.3,
        rms_db: -23.5,
    };
    for dev in devices() {
        for level in ["relative", "relative_to_whole_input", "absolute"] {
            let spec = json!({"name": "add_short_noises", "sounds_path": paths, "p": 1.0,
                              "noise_rms": level});
            let pl = Pipeline::from_value(&spec, &dev).unwrap();
            let y = pl.apply_short_noises(&[sound], &b).unwrap();
            let y: Vec<f32> = y.data().row(0).to_vec();
            let noise: Vec<f32> = (1600..2400).map(|i| y[i] - x[i]).collect();
            // Outside the sound the input is untouched.
            assert_eq!(&y[..1600], &x[..1600]);
            assert_eq!(&y[2400..], &x[2400..]);
            let (got, want) = match level {
                "relative" => (20.0 * (rms(&x[1600..2400]) / rms(&noise)).log10(), 7.3),
                "relative_to_whole_input" => (20.0 * (rms(&x) / rms(&noise)).log10(), 7.3),
                _ => (20.0 * rms(&noise).log10(), -23.5),
            };
            eprintln!("{dev} {level}: {got} dB");
            assert!((got - want).abs() <= 0.01, "{dev} {level}: {got} vs {want}");
        }
    }
}

#[test]
fn zero_sample_fades_are_no_fades() {
    // audiomentations crashes on a fade-out of zero samples; here the noise is unfaded.
    let (_d, paths) = clips("sn_fade0");
    let b = Batch::new(Array2::zeros((1, 2000)), vec![2000], 1, 8000).unwrap();
    let spec = json!({"name": "add_short_noises", "sounds_path": [paths[1]], "p": 1.0,
                      "noise_rms": "absolute"});
    let sound = ShortNoiseSound {
        start: 0.01,
        clip: 0,
        fade_in_time: 0.0,
        fade_out_time: 0.0,
        snr_db: 0.0,
        rms_db: -20.0,
    };
    let tone: Vec<f32> = (0..400).map(|i| (i as f32 * 0.4).sin() * 0.5).collect();
    for dev in devices() {
        let pl = Pipeline::from_value(&spec, &dev).unwrap();
        let y = pl.apply_short_noises(&[sound], &b).unwrap();
        let y: Vec<f32> = y.data().row(0).to_vec();
        let k = 0.1 / rms(&tone) as f32;
        for i in 0..400 {
            assert!((y[80 + i] - k * tone[i]).abs() <= 1e-6, "{dev} {i}");
        }
        assert!(y[..80].iter().chain(&y[480..]).all(|&v| v == 0.0));
    }
}

/// Short pauses so that rows of a fraction of a second get several sounds and bursts.
fn busy(paths: &[String], level: &str, mode: &str) -> Value {
    json!([{"name": "gain", "min_gain_db": -3, "max_gain_db": 3, "p": 1.0},
           {"name": "add_short_noises", "sounds_path": paths, "p": 1.0, "mode": mode,
            "noise_rms": level, "min_time_between_sounds": 0.01, "max_time_between_sounds": 0.08,
            "burst_probability": 0.5, "signal_gain_db_during_noise": -6,
            "min_snr_db": 0, "max_snr_db": 12}])
}

#[test]
fn gpu_matches_cpu_seeded_and_batch_independent() {
    let (_d, paths) = clips("sn_gpu");
    let lengths = [4000, 2500, 0, 3333, 37];
    let b = batch(&lengths, 2, 11);
    for level in ["relative", "relative_to_whole_input", "absolute"] {
        for mode in ["per_example", "per_channel"] {
            let spec = busy(&paths, level, mode);
            let cpu = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
            let y = cpu.run(5, &b).unwrap();
            assert_eq!(y, cpu.run(5, &b).unwrap(), "seeded");
            assert_ne!(y, cpu.run(6, &b).unwrap(), "another seed, other sounds");
            assert!(
                y.data().row(4).iter().all(|&v| v == 0.0),
                "zero-length rows"
            );
            if mode == "per_example" {
                // Both channels of an example get the same sounds: equal channels stay equal.
                let same = batch(&[3000], 1, 40);
                let two = Batch::new(
                    ndarray::concatenate(
                        ndarray::Axis(0),
                        &[same.data().view(), same.data().view()],
                    )
                    .unwrap(),
                    vec![3000, 3000],
                    2,
                    8000,
                )
                .unwrap();
                let z = cpu.run(9, &two).unwrap();
                assert_eq!(z.data().row(0), z.data().row(1));
            }
            // Example 3 alone, as id 3, is the same as in the batch.
            let alone = batch(&[3333], 2, 11 + 6);
            let ya = cpu.run_with_ids(5, &[3], &alone).unwrap();
            for c in 0..2 {
                assert_eq!(
                    ya.data().row(c).to_vec()[..3333],
                    y.data().row(6 + c).to_vec()[..3333],
                    "{level} {mode}: batch composition"
                );
            }
            if let Some(g) = common::gpu() {
                let gp = Pipeline::from_value(&spec, &g).unwrap();
                let yg = gp.run(5, &b).unwrap();
                let d = max_diff(yg.data().as_slice().unwrap(), y.data().as_slice().unwrap());
                eprintln!("{level} {mode}: max |GPU - CPU| = {d:e}");
                assert!(d <= 1e-5, "{level} {mode}: {d}");
                // Resident path.
                let drawn = gp.draw(5, &[0, 1, 2, 3, 4], 2).unwrap();
                let mut db = gp.upload(&b).unwrap();
                gp.apply_device(&drawn, &mut db).unwrap();
                let yr = gp.download(&db).unwrap();
                let d = max_diff(yr.data().as_slice().unwrap(), y.data().as_slice().unwrap());
                assert!(d <= 1e-5, "{level} {mode} resident: {d}");
            }
        }
    }
}

#[test]
fn nan_row_does_not_poison_other_examples() {
    let (_d, paths) = clips("sn_nan");
    let b = batch(&[3000, 3000, 3000], 1, 21);
    let mut data = b.data().to_owned();
    data[[1, 1234]] = f32::NAN;
    let bn = Batch::new(data, b.lengths().to_vec(), 1, 8000).unwrap();
    for level in ["relative", "relative_to_whole_input"] {
        let spec = busy(&paths, level, "per_example");
        for dev in devices() {
            let p = Pipeline::from_value(&spec, &dev).unwrap();
            let (y, yn) = (p.run(2, &b).unwrap(), p.run(2, &bn).unwrap());
            for r in [0, 2] {
                assert_eq!(y.data().row(r), yn.data().row(r), "{dev} {level} row {r}");
            }
        }
    }
}

#[test]
fn drawn_sounds_follow_the_loop() {
    // One 0.1 s clip; bursts start within the previous sound (pause factor < 1), pauses
    // are at least 0.2 s, so burst sounds are those starting before the previous one ends.
    let (_d, paths) = clips("sn_dist");
    let (p_burst, pf, pause) = (0.3, (0.1, 0.9), (0.2, 0.6));
    let spec = json!({"name": "add_short_noises", "sounds_path": [paths[0]], "p": 1.0,
        "burst_probability": p_burst, "min_pause_factor_during_burst": pf.0,
        "max_pause_factor_during_burst": pf.1, "min_time_between_sounds": pause.0,
        "max_time_between_sounds": pause.1, "min_snr_db": -4, "max_snr_db": 9,
        "min_fade_in_time": 0.02, "max_fade_in_time": 0.3});
    let p = Pipeline::from_value(&spec, &Device::cpu()).unwrap();
    let (sr, secs) = (8000u32, 150.0);
    let n = (secs * sr as f64) as usize;
    let dur = 0.1;
    let (mut total, mut bursts, mut snr_sum, mut snr_n) = (0usize, 0usize, 0.0, 0usize);
    let (mut first_lo, mut first_hi) = (f64::MAX, f64::MIN);
    let seeds = 40;
    for seed in 0..seeds {
        let s = p.short_noise_sounds(seed, 7, n, sr).unwrap();
        assert_eq!(s, p.short_noise_sounds(seed, 7, n, sr).unwrap());
        first_lo = first_lo.min(s[0].start);
        first_hi = first_hi.max(s[0].start);
        for (k, x) in s.iter().enumerate() {
            assert!(x.start < secs);
            assert!((-4.0..=9.0).contains(&x.snr_db));
            assert!(x.fade_in_time <= dur && x.fade_in_time >= 0.02);
            assert!((0.01..=0.1).contains(&x.fade_out_time));
            snr_sum += x.snr_db;
            snr_n += 1;
            if k > 0 {
                let gap = x.start - s[k - 1].start;
                if gap < dur {
                    assert!(gap >= pf.0 * dur - 1e-12 && gap <= pf.1 * dur + 1e-12);
                    bursts += 1;
                } else {
                    assert!(gap >= dur + pause.0 - 1e-12 && gap <= dur + pause.1 + 1e-12);
                }
            }
        }
        total += s.len();
    }
    // The global offset is uniform in [-max_time, max_time].
    assert!(first_lo >= -pause.1 && first_hi <= pause.1 && first_lo < -0.3 && first_hi > 0.3);
    // A sound is a burst with probability p_burst: bursts / sounds -> p_burst.
    let frac = bursts as f64 / total as f64;
    let sd = (p_burst * (1.0 - p_burst) / total as f64).sqrt();
    eprintln!("{total} sounds, burst fraction {frac} (expected {p_burst} +- {sd})");
    assert!((frac - p_burst).abs() < 5.0 * sd, "{frac}");
    // Sounds per second: 1 / (1 - p) sounds per cycle of dur (1 + E[bursts] E[pf]) + E[pause].
    let k = p_burst / (1.0 - p_burst);
    let cycle = dur * (1.0 + k * (pf.0 + pf.1) / 2.0) + (pause.0 + pause.1) / 2.0;
    let want = (1.0 + k) / cycle;
    let got = total as f64 / (secs * seeds as f64);
    eprintln!("sounds per second {got} (expected {want})");
    assert!((got / want - 1.0).abs() < 0.02, "{got} vs {want}");
    // SNRs uniform in [-4, 9]: mean 2.5, sd 13 / sqrt(12).
    let mean = snr_sum / snr_n as f64;
    assert!((mean - 2.5).abs() < 5.0 * 13.0 / 12f64.sqrt() / (snr_n as f64).sqrt());

    // add_all_noises_with_same_level: one SNR per row.
    let mut same = spec.clone();
    same["add_all_noises_with_same_level"] = json!(true);
    let p = Pipeline::from_value(&same, &Device::cpu()).unwrap();
    let s = p.short_noise_sounds(1, 0, 8000 * 20, sr).unwrap();
    assert!(s.len() > 10 && s.iter().all(|x| x.snr_db == s[0].snr_db));
}

#[test]
fn parameters_are_checked() {
    let (_d, paths) = clips("sn_err");
    let cpu = Device::cpu();
    let err = |extra: Value| {
        let mut spec = json!({"name": "add_short_noises", "sounds_path": paths});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        Pipeline::from_value(&spec, &cpu)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    for (extra, key) in [
        (json!({"burst_probability": 0.0}), "burst_probability"),
        (
            json!({"min_pause_factor_during_burst": 0.0}),
            "min_pause_factor_during_burst",
        ),
        (
            json!({"max_absolute_noise_rms_db": 0.0}),
            "max_absolute_noise_rms_db",
        ),
        (json!({"min_snr_db": 5, "max_snr_db": 1}), "min_snr_db"),
        (json!({"min_fade_in_time": -0.1}), "min_fade_in_time"),
        (json!({"noise_rms": "loud"}), "noise_rms"),
        (json!({"noise_transform": "gain"}), "noise_transform"),
        (
            json!({"signal_gain_db_during_noise": -3, "signal_gain_in_db_during_noise": -3}),
            "signal_gain_in_db_during_noise",
        ),
        (json!({"sounds_path": "/nonexistent/short"}), "nonexistent"),
    ] {
        let e = err(extra.clone());
        assert!(e.contains(key), "{extra}: {e}");
    }
    // Accepted: the deprecated name alone, and audiomentations' cache size (ignored).
    let ok = json!({"name": "add_short_noises", "sounds_path": paths,
                    "signal_gain_in_db_during_noise": -3, "lru_cache_size": 8});
    assert!(Pipeline::from_value(&ok, &cpu).is_ok());
    // Pauses that move backwards forever: a typed error when drawn, not a hang.
    let spec = json!([{"name": "add_short_noises", "sounds_path": paths, "p": 1.0,
        "min_time_between_sounds": -0.5, "max_time_between_sounds": -0.5}]);
    let p = Pipeline::from_value(&spec, &cpu).unwrap();
    let e = p.run(0, &batch(&[16_000], 1, 1)).unwrap_err().to_string();
    assert!(e.contains("add_short_noises") && e.contains("1024"), "{e}");
    // Noises at another rate than the batch.
    let spec = json!([{"name": "add_short_noises", "sounds_path": paths, "p": 1.0}]);
    let p = Pipeline::from_value(&spec, &cpu).unwrap();
    let b16 = Batch::new(Array2::from_elem((1, 48_000), 0.1), vec![48_000], 1, 16_000).unwrap();
    let e = p.run(0, &b16).unwrap_err().to_string();
    assert!(e.contains("8000 Hz"), "{e}");
}
