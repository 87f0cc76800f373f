//! A new user's path: a recording in wav/flac/mp3/ogg/m4a through `wavegpu stft` with every
//! default, against `librosa.stft(librosa.load(path, sr=None))` (tests/data/make_dumps.py).

mod common;

use std::process::Command;

use common::*;

/// Per format: the STFT tolerance is DESIGN.md's 1e-5 wherever our decoder and librosa's agree
/// to float precision (wav, flac, mp3, ogg: measured <= 4.3e-7 on the samples, tests/decode.rs).
/// AAC decoders differ by ~1e-4 relative on the samples themselves (symphonia vs FFmpeg), and
/// FFmpeg keeps 10 trailing padding samples that we trim: that case is held to the decoders'
/// own agreement, over the frames both decodes share, and says so.
fn tolerance(fixture: &str) -> f64 {
    if fixture.ends_with(".m4a") {
        3e-4
    } else {
        1e-5
    }
}

fn check(device: &str) {
    let cases = manifest("load_cases.json");
    let tmp = std::env::temp_dir().join(format!("wavegpu-e2e-{}-{device}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut checked = 0;
    for c in &cases {
        let Some(reference) = c["stft_file"].as_str() else {
            continue;
        };
        let fixture = c["fixture"].as_str().unwrap();
        let mono = c["mono"].as_bool().unwrap();
        let out = tmp.join(format!("{}.npy", fixture.replace('.', "_")));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wavegpu"));
        cmd.arg("stft")
            .arg(data_dir().join("fixtures").join(fixture))
            .arg("-o")
            .arg(&out)
            .args(["--device", device]);
        if !mono {
            cmd.arg("--no-mono");
        }
        let res = cmd.output().unwrap();
        assert!(
            res.status.success(),
            "{fixture}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        let ours: ndarray::ArrayD<f32> = ndarray_npy::read_npy(&out).unwrap();
        let theirs = read_npy_f32(reference);
        let tol = tolerance(fixture);
        let err = if ours.shape() == theirs.shape() {
            rel_err(ours.iter(), theirs.iter())
        } else {
            // m4a only: librosa's FFmpeg decode is 10 samples longer. Compare the frames whose
            // window ends before our last sample.
            assert!(
                fixture.ends_with(".m4a"),
                "{fixture}: shape {:?} vs {:?}",
                ours.shape(),
                theirs.shape()
            );
            let frames = (23_542 - 1024) / 512 + 1;
            let a = ours.slice_axis(ndarray::Axis(1), ndarray::Slice::from(..frames));
            let b = theirs.slice_axis(ndarray::Axis(1), ndarray::Slice::from(..frames));
            rel_err(a.iter(), b.iter())
        };
        assert!(
            err <= tol,
            "{fixture} on {device}: relative error {err:.3e} > {tol:e}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "checked {checked} files");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn recordings_through_the_cli_match_librosa_cpu() {
    check("cpu");
}

#[test]
fn recordings_through_the_cli_match_librosa_gpu() {
    if gpu().is_some() {
        check("gpu");
    }
}
