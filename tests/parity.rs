//! Parity with librosa 0.11 dumps (tests/data/make_dumps.py), on the CPU path and on the GPU.
//! Tolerances are DESIGN.md's: STFT magnitude relative Frobenius <= 1e-5.

mod common;

use common::*;
use ndarray::Axis;
use wavegpu::{Device, Spectrogram, Window};

const STFT_TOL: f64 = 1e-5;
const ISTFT_TOL: f64 = 1e-5;

fn stft_parity(dev: &Device) {
    let cases = manifest("stft_cases.json");
    assert!(cases.len() >= 60, "the grid has {} cases", cases.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let audio = load_wav(
            &data_dir()
                .join("fixtures")
                .join(c["fixture"].as_str().unwrap()),
        );
        let result = stft_builder(c).build(dev).and_then(|plan| {
            if c["complex"].as_bool().unwrap() {
                plan.run_complex(&audio).map(|x| (None, Some(x)))
            } else {
                plan.run(&audio).map(|x| (Some(x), None))
            }
        });
        if c["expect_error"].as_bool().unwrap() {
            match result {
                Err(e) => assert!(!e.to_string().is_empty()),
                Ok(_) => failures.push(format!("{name}: expected an error, got a result")),
            }
            continue;
        }
        let (real, cplx) = match result {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let file = c["file"].as_str().unwrap();
        let err = if let Some(x) = cplx {
            let r = read_npy_c32(file);
            let x = if r.ndim() == 2 {
                x.index_axis_move(Axis(0), 0).into_dyn()
            } else {
                x.into_dyn()
            };
            if x.shape() != r.shape() {
                failures.push(format!(
                    "{name}: shape {:?} vs librosa {:?}",
                    x.shape(),
                    r.shape()
                ));
                continue;
            }
            rel_err_c(
                &x.iter().copied().collect::<Vec<_>>(),
                &r.iter().copied().collect::<Vec<_>>(),
            )
        } else {
            let x = real.unwrap();
            let r = read_npy_f32(file);
            let x = if r.ndim() == 2 {
                x.index_axis_move(Axis(0), 0).into_dyn()
            } else {
                x.into_dyn()
            };
            if x.shape() != r.shape() {
                failures.push(format!(
                    "{name}: shape {:?} vs librosa {:?}",
                    x.shape(),
                    r.shape()
                ));
                continue;
            }
            rel_err(x.iter(), r.iter())
        };
        checked += 1;
        if err.is_nan() || err > STFT_TOL {
            failures.push(format!("{name}: relative error {err:.3e} > {STFT_TOL:e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed on {dev}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(checked >= 60);
}

fn istft_parity(dev: &Device) {
    let cases = manifest("istft_cases.json");
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let input = read_npy_c32(c["input"].as_str().unwrap());
        let input = if input.ndim() == 2 {
            input.insert_axis(Axis(0))
        } else {
            input
        };
        let input = input.into_dimensionality::<ndarray::Ix3>().unwrap();
        let plan = Spectrogram::istft()
            .n_fft(c["n_fft"].as_u64().unwrap() as usize)
            .hop_length(c["hop_length"].as_u64().unwrap() as usize)
            .win_length(c["win_length"].as_u64().unwrap() as usize)
            .window(Window::from_name(c["window"].as_str().unwrap()).unwrap())
            .center(c["center"].as_bool().unwrap())
            .build(dev)
            .unwrap();
        let length = c["length"].as_u64().map(|l| l as usize);
        let y = match plan.run(input.view(), length) {
            Ok(y) => y,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let r = read_npy_f32(c["file"].as_str().unwrap());
        let y = if r.ndim() == 1 {
            y.index_axis_move(Axis(0), 0).into_dyn()
        } else {
            y.into_dyn()
        };
        if y.shape() != r.shape() {
            failures.push(format!(
                "{name}: shape {:?} vs librosa {:?}",
                y.shape(),
                r.shape()
            ));
            continue;
        }
        let err = rel_err(y.iter(), r.iter());
        if err.is_nan() || err > ISTFT_TOL {
            failures.push(format!("{name}: relative error {err:.3e} > {ISTFT_TOL:e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed on {dev}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn stft_matches_librosa_cpu() {
    stft_parity(&Device::cpu());
}

#[test]
fn stft_matches_librosa_gpu() {
    if let Some(d) = gpu() {
        stft_parity(&d);
    }
}

#[test]
fn istft_matches_librosa_cpu() {
    istft_parity(&Device::cpu());
}

#[test]
fn istft_matches_librosa_gpu() {
    if let Some(d) = gpu() {
        istft_parity(&d);
    }
}
