//! IIR filter design and CPU filtering against scipy / audiomentations dumps
//! (tests/data/make_filter_dumps.py), frequency-response sanity, and typed errors.
//! The GPU kernel's tests (GPU vs this CPU twin) are unit tests in src/gpu/iir.rs.

mod common;

use common::{data_dir, noise, read_npy_f32};
use num_complex::Complex64;
use rustfft::FftPlanner;
use serde_json::Value;
use wavegpu::dsp::iir::{
    butter, butterworth_transform, filtfilt_padlen, fir_same, firwin, rbj, rbj_transform,
    seven_band_eq, sosfilt, Band, EqBand, IirMode, Rbj, Section,
};
use wavegpu::Error;

fn cases() -> Value {
    let p = data_dir().join("filter_cases.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn sos_of(v: &Value) -> Vec<Section> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r: Vec<f64> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            r.try_into().unwrap()
        })
        .collect()
}

/// Largest difference of the numerators relative to the largest reference numerator
/// coefficient, and the same for the denominators, over all sections.
fn sos_err(got: &[Section], want: &[Section]) -> f64 {
    assert_eq!(got.len(), want.len(), "section count");
    let mut worst = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        for part in [0..3, 3..6] {
            let scale = w[part.clone()].iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for i in part {
                worst = worst.max((g[i] - w[i]).abs() / scale);
            }
        }
    }
    worst
}

#[test]
fn butter_matches_scipy() {
    let c = cases();
    let mut worst = 0.0f64;
    let list = c["butter"].as_array().unwrap();
    assert!(list.len() >= 200);
    for case in list {
        let order = case["order"].as_u64().unwrap() as usize;
        let fs = case["fs"].as_f64().unwrap();
        let f: Vec<f64> = case["freqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let band = match case["btype"].as_str().unwrap() {
            "lowpass" => Band::Lowpass(f[0]),
            "highpass" => Band::Highpass(f[0]),
            "bandpass" => Band::Bandpass(f[0], f[1]),
            "bandstop" => Band::Bandstop(f[0], f[1]),
            b => panic!("{b}"),
        };
        let got = butter(order, band, fs).unwrap();
        let e = sos_err(&got, &sos_of(&case["sos"]));
        assert!(e <= 1e-10, "{band:?} order {order} fs {fs}: {e:e}");
        worst = worst.max(e);
    }
    println!("butter: worst relative section error {worst:e}");
}

#[test]
fn rbj_and_seven_band_match_audiomentations() {
    let c = cases();
    let mut worst = 0.0f64;
    for case in c["rbj"].as_array().unwrap() {
        let kind = match case["kind"].as_str().unwrap() {
            "peaking" => Rbj::Peaking,
            "low_shelf" => Rbj::LowShelf,
            "high_shelf" => Rbj::HighShelf,
            k => panic!("{k}"),
        };
        let g = |k: &str| case[k].as_f64().unwrap();
        let s = rbj(kind, g("center_freq"), g("gain_db"), g("q"), g("fs")).unwrap();
        let e = sos_err(&[s], &sos_of(&case["sos"]));
        assert!(e <= 1e-12, "{case}: {e:e}");
        worst = worst.max(e);
    }
    for case in c["seven_band"].as_array().unwrap() {
        let bands: Vec<EqBand> = case["bands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| EqBand {
                center_freq: b["center_freq"].as_f64().unwrap(),
                gain_db: b["gain_db"].as_f64().unwrap(),
                q: b["q"].as_f64().unwrap(),
            })
            .collect();
        let fs = case["fs"].as_f64().unwrap();
        let sos = seven_band_eq(&bands.try_into().unwrap(), fs).unwrap();
        let e = sos_err(&sos, &sos_of(&case["sos"]));
        assert!(e <= 1e-12, "seven band {fs}: {e:e}");
        worst = worst.max(e);
    }
    println!("rbj / seven band: worst relative error {worst:e}");
}

fn max_abs(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
}

#[test]
fn filtering_matches_scipy_and_audiomentations() {
    let c = cases();
    let x = read_npy_f32("dumps/filter_signal.npy");
    let x = x.as_slice().unwrap();
    let outs = read_npy_f32("dumps/filter_outputs.npy");
    let n = c["n"].as_u64().unwrap() as usize;
    let row = |r: usize| outs.as_slice().unwrap()[r * n..(r + 1) * n].to_vec();
    let mut checked = 0;
    for case in c["filtering"].as_array().unwrap() {
        let mode = match case["mode"].as_str().unwrap() {
            "zero" => IirMode::Zero,
            "steady" => IirMode::Steady,
            "zero_phase" => IirMode::ZeroPhase,
            m => panic!("{m}"),
        };
        let sos = sos_of(&case["sos"]);
        // The audiomentations cases also check our design of their filter, and run through
        // the transform-level helper.
        let mut sos = sos;
        if let Some(cut) = case["cutoff_freq"].as_f64() {
            let order = case["order"].as_u64().unwrap() as usize;
            let fs = case["fs"].as_f64().unwrap();
            let band = if case["name"].as_str().unwrap().contains("high") {
                Band::Highpass(cut)
            } else {
                Band::Lowpass(cut)
            };
            assert!(sos_err(&butter(order, band, fs).unwrap(), &sos) <= 1e-10);
            let zero_phase = mode == IirMode::ZeroPhase;
            let rolloff = order as u32 * if zero_phase { 12 } else { 6 };
            let (t, m) = butterworth_transform(band, rolloff, zero_phase, fs as u32).unwrap();
            assert_eq!(m, mode);
            sos = t;
        }
        let y = sosfilt(&sos, x, mode).unwrap();
        let want = row(case["row"].as_u64().unwrap() as usize);
        let e = max_abs(&y, &want);
        println!("{} {:?}: max abs error {e:e}", case["name"], mode);
        assert!(e <= 1e-6, "{}: {mode:?}: {e:e}", case["name"]);
        checked += 1;
    }
    // audiomentations' SevenBandParametricEQ runs seven sosfilt calls with a float32 cast
    // between them; our cascade keeps f64 throughout.
    for case in c["seven_band"].as_array().unwrap() {
        let sos = sos_of(&case["sos"]);
        let y = sosfilt(&sos, x, IirMode::Steady).unwrap();
        let want = row(case["output"].as_u64().unwrap() as usize);
        let e = max_abs(&y, &want);
        println!("seven band {}: max abs error {e:e}", case["fs"]);
        assert!(e <= 1e-5, "seven band: {e:e}");
        checked += 1;
    }
    assert!(checked >= 20);
}

/// |H(f)|^2 of `sos` measured on filtered white noise: cross spectrum over input spectrum,
/// averaged over Hann-windowed segments.
fn measured_response(sos: &[Section], nfft: usize, segs: usize) -> Vec<f64> {
    let x = noise(nfft * (segs + 1), 11);
    let y = sosfilt(sos, &x, IirMode::Zero).unwrap();
    let fft = FftPlanner::<f64>::new().plan_fft_forward(nfft);
    let win: Vec<f64> = (0..nfft)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / nfft as f64).cos())
        .collect();
    let mut sxy = vec![Complex64::new(0.0, 0.0); nfft / 2 + 1];
    let mut sxx = vec![0.0f64; nfft / 2 + 1];
    // Skip the first segment (start-up transient); half-overlapping segments.
    let mut start = nfft;
    while start + nfft <= x.len() {
        let mut a: Vec<Complex64> = (0..nfft)
            .map(|i| Complex64::new(x[start + i] as f64 * win[i], 0.0))
            .collect();
        let mut b: Vec<Complex64> = (0..nfft)
            .map(|i| Complex64::new(y[start + i] as f64 * win[i], 0.0))
            .collect();
        fft.process(&mut a);
        fft.process(&mut b);
        for k in 0..=nfft / 2 {
            sxy[k] += a[k].conj() * b[k];
            sxx[k] += a[k].norm_sqr();
        }
        start += nfft / 2;
    }
    sxy.iter()
        .zip(&sxx)
        .map(|(c, &p)| (c / p).norm_sqr())
        .collect()
}

/// The frequencies where |H|^2 crosses 1/2 (-3.01 dB), linearly interpolated.
fn half_power_crossings(h2: &[f64], fs: f64, nfft: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for k in 1..h2.len() {
        let (a, b) = (h2[k - 1] - 0.5, h2[k] - 0.5);
        if a.signum() != b.signum() {
            let t = a / (a - b);
            out.push((k as f64 - 1.0 + t) * fs / nfft as f64);
        }
    }
    out
}

#[test]
fn filtered_noise_has_its_cutoffs_where_asked() {
    // Tolerance: 0.5 % of the cutoff or a quarter bin (fs / nfft / 4), whichever is larger.
    let fs = 16_000.0;
    let nfft = 2048;
    let bin = fs / nfft as f64;
    let tol = |f: f64| (0.005 * f).max(bin / 4.0);
    for (band, want) in [
        (Band::Lowpass(1000.0), vec![1000.0]),
        (Band::Highpass(2500.0), vec![2500.0]),
        (Band::Bandpass(500.0, 3000.0), vec![500.0, 3000.0]),
        (Band::Bandstop(1000.0, 4000.0), vec![1000.0, 4000.0]),
    ] {
        for order in [2, 4, 8] {
            let sos = butter(order, band, fs).unwrap();
            let h2 = measured_response(&sos, nfft, 64);
            let got = half_power_crossings(&h2, fs, nfft);
            assert_eq!(got.len(), want.len(), "{band:?} order {order}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= tol(*w),
                    "{band:?} order {order}: -3 dB at {g} Hz, want {w}"
                );
            }
        }
    }
}

#[test]
fn zero_phase_response_is_squared_and_has_no_delay() {
    // sosfiltfilt's magnitude is |H|^2 (-6 dB at the cutoff) and its output of a low tone in
    // the pass band lines up with the input.
    let fs = 16_000.0;
    let sos = butter(4, Band::Lowpass(2000.0), fs).unwrap();
    let x: Vec<f32> = (0..4000)
        .map(|i| (2.0 * std::f32::consts::PI * 200.0 * i as f32 / fs as f32).sin())
        .collect();
    let y = sosfilt(&sos, &x, IirMode::ZeroPhase).unwrap();
    let e = max_abs(&y[500..3500], &x[500..3500]);
    assert!(e < 1e-3, "pass-band tone through filtfilt: {e}");
    let y1 = sosfilt(&sos, &x, IirMode::Zero).unwrap();
    assert!(
        max_abs(&y1[500..3500], &x[500..3500]) > 0.05,
        "the causal filter delays"
    );
}

#[test]
fn bad_parameters_are_typed_errors() {
    let name = |e: Error| match e {
        Error::InvalidParameter { name, .. } => name,
        e => panic!("not InvalidParameter: {e}"),
    };
    assert_eq!(
        name(butter(0, Band::Lowpass(100.0), 16e3).unwrap_err()),
        "order"
    );
    assert_eq!(
        name(butter(65, Band::Lowpass(100.0), 16e3).unwrap_err()),
        "order"
    );
    for f in [0.0, -5.0, 8000.0, 9000.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            name(butter(2, Band::Lowpass(f), 16e3).unwrap_err()),
            "cutoff_freq"
        );
        assert_eq!(
            name(butter(2, Band::Highpass(f), 16e3).unwrap_err()),
            "cutoff_freq"
        );
    }
    assert_eq!(
        name(butter(2, Band::Bandpass(3000.0, 2000.0), 16e3).unwrap_err()),
        "low_freq"
    );
    assert_eq!(
        name(butter(2, Band::Bandstop(2000.0, 2000.0), 16e3).unwrap_err()),
        "low_freq"
    );
    assert_eq!(
        name(butter(2, Band::Bandpass(100.0, 8000.0), 16e3).unwrap_err()),
        "high_freq"
    );
    assert_eq!(
        name(butter(2, Band::Lowpass(100.0), 0.0).unwrap_err()),
        "sample_rate"
    );
    assert_eq!(
        name(rbj(Rbj::Peaking, 1000.0, 3.0, 0.0, 16e3).unwrap_err()),
        "q_factor"
    );
    assert_eq!(
        name(rbj(Rbj::LowShelf, 0.0, 3.0, 0.5, 16e3).unwrap_err()),
        "center_freq"
    );
    assert_eq!(
        name(rbj(Rbj::HighShelf, 1000.0, f64::NAN, 0.5, 16e3).unwrap_err()),
        "gain_db"
    );
    let x = vec![0.5f32; 100];
    assert_eq!(name(sosfilt(&[], &x, IirMode::Zero).unwrap_err()), "sos");
    let unnormalised = [[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]];
    assert_eq!(
        name(sosfilt(&unnormalised, &x, IirMode::Zero).unwrap_err()),
        "sos"
    );
    let nan = [[1.0, f64::NAN, 0.0, 1.0, 0.0, 0.0]];
    assert_eq!(name(sosfilt(&nan, &x, IirMode::Zero).unwrap_err()), "sos");
    // Zero phase on a signal no longer than scipy's padlen: an audio error, as scipy raises.
    let sos = butter(4, Band::Lowpass(1000.0), 16e3).unwrap();
    let pad = filtfilt_padlen(&sos);
    assert_eq!(pad, 15);
    match sosfilt(&sos, &x[..pad], IirMode::ZeroPhase).unwrap_err() {
        Error::InvalidAudio { reason, .. } => assert!(reason.contains("padlen"), "{reason}"),
        e => panic!("{e}"),
    }
    assert_eq!(
        sosfilt(&sos, &x[..pad + 1], IirMode::ZeroPhase)
            .unwrap()
            .len(),
        pad + 1
    );
    assert!(sosfilt(&sos, &[], IirMode::ZeroPhase).unwrap().is_empty());
}

#[test]
fn transform_helpers_clamp_and_check_like_audiomentations() {
    // Above sr // 2 the cutoff (or upper edge) becomes 0.9999 * (sr // 2).
    let (sos, mode) = butterworth_transform(Band::Lowpass(9000.0), 24, false, 16_001).unwrap();
    assert_eq!(mode, IirMode::Steady);
    assert_eq!(
        sos,
        butter(4, Band::Lowpass(8000.0 * 0.9999), 16_001.0).unwrap()
    );
    let (sos, mode) =
        butterworth_transform(Band::Bandstop(3000.0, 9000.0), 24, true, 16_000).unwrap();
    assert_eq!(mode, IirMode::ZeroPhase);
    assert_eq!(
        sos,
        butter(2, Band::Bandstop(3000.0, 7999.2), 16_000.0).unwrap()
    );
    for (rolloff, zero_phase) in [(0, false), (9, false), (18, true), (0, true)] {
        match butterworth_transform(Band::Highpass(100.0), rolloff, zero_phase, 16_000) {
            Err(Error::InvalidParameter {
                name: "rolloff", ..
            }) => {}
            r => panic!("rolloff {rolloff}: {r:?}"),
        }
    }
    // Shelves clamp their centre, the peaking filter does not.
    assert_eq!(
        rbj_transform(Rbj::HighShelf, 9000.0, 6.0, 0.5, 16_000).unwrap(),
        rbj(Rbj::HighShelf, 7999.2, 6.0, 0.5, 16_000.0).unwrap()
    );
    assert!(rbj_transform(Rbj::Peaking, 9000.0, 6.0, 0.5, 16_000).is_err());
}

#[test]
fn firwin_and_centred_fir_match_scipy() {
    let c = cases();
    let x = read_npy_f32("dumps/filter_signal.npy");
    let x = x.as_slice().unwrap();
    let outs = read_npy_f32("dumps/filter_outputs.npy");
    let n = c["n"].as_u64().unwrap() as usize;
    let list = c["fir"].as_array().unwrap();
    assert!(list.len() >= 6);
    for case in list {
        let f: Vec<f64> = case["freqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let band = match case["btype"].as_str().unwrap() {
            "lowpass" => Band::Lowpass(f[0]),
            "highpass" => Band::Highpass(f[0]),
            "bandpass" => Band::Bandpass(f[0], f[1]),
            "bandstop" => Band::Bandstop(f[0], f[1]),
            b => panic!("{b}"),
        };
        let numtaps = case["numtaps"].as_u64().unwrap() as usize;
        let h = firwin(numtaps, band, case["fs"].as_f64().unwrap()).unwrap();
        let want: Vec<f64> = case["taps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let e = h
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() / scale)
            .fold(0.0, f64::max);
        assert!(e <= 1e-12, "firwin {band:?} {numtaps}: {e:e}");
        let y = fir_same(&want, x).unwrap();
        let r = case["row"].as_u64().unwrap() as usize;
        let e = max_abs(&y, &outs.as_slice().unwrap()[r * n..(r + 1) * n]);
        assert!(e <= 1e-6, "fir {band:?} {numtaps}: {e:e}");
    }
    let bad = |r: wavegpu::Result<Vec<f64>>| match r {
        Err(Error::InvalidParameter { name, .. }) => name,
        r => panic!("{r:?}"),
    };
    assert_eq!(bad(firwin(100, Band::Lowpass(1000.0), 16e3)), "numtaps");
    assert_eq!(bad(firwin(0, Band::Lowpass(1000.0), 16e3)), "numtaps");
    assert_eq!(bad(firwin(101, Band::Lowpass(8000.0), 16e3)), "cutoff_freq");
    assert_eq!(bad(firwin(101, Band::Bandpass(2.0, 1.0), 16e3)), "low_freq");
    assert!(matches!(
        fir_same(&[0.5, 0.5], x),
        Err(Error::InvalidParameter { name: "taps", .. })
    ));
}
