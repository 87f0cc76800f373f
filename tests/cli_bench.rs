//! `wavegpu bench`: a table row per plan; on a GPU, pass times from timestamp queries and
//! ratios to the measured copy bandwidth.
#![cfg(feature = "cli")]

#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::*;

fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| plan") && !l.starts_with("| ---"))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

#[test]
fn bench_prints_every_plan() {
    let small = ["--clips", "2", "--seconds", "0.5", "--repeats", "2"];
    let mut args = vec!["bench", "--device", "cpu", "--bandwidth-mib", "0"];
    args.extend(small);
    let o = wavegpu(&args);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let r = rows(&out);
    let names: Vec<&str> = r.iter().map(|c| c[1].as_str()).collect();
    assert_eq!(
        names,
        [
            "stft power",
            "stft complex",
            "stft power kept on the device",
            "mel",
            "log-mel (dB)"
        ]
    );
    // CPU: wall times only.
    assert!(r
        .iter()
        .all(|c| c[2].parse::<f64>().unwrap() > 0.0 && c[4] == "n/a"));

    if common::gpu().is_none() {
        return;
    }
    let mut args = vec!["bench", "--device", "gpu", "--bandwidth-mib", "16"];
    args.extend(small);
    let o = wavegpu(&args);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("copy bandwidth"), "{out}");
    for c in rows(&out) {
        assert_eq!(c[3], "1", "one pass per run: {c:?}");
        let pass: f64 = c[4].parse().unwrap();
        let ratio: f64 = c[8].trim_end_matches('x').parse().unwrap();
        assert!(pass > 0.0 && ratio > 0.0, "{c:?}");
    }
    let o = wavegpu(&["bench", "--clips", "0"]);
    assert_fails_one_line(&o, 2);
}
