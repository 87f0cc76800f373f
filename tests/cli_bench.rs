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
    let r = rows(&out);
    // On a GPU the plan's own tiling and one frame per workgroup, side by side.
    assert_eq!(r.len(), 9, "{out}");
    assert_eq!(r[5][1], "stft power, 1 frame per workgroup");
    assert_eq!(r[8][1], "mel, 1 frame per workgroup");
    for c in r {
        assert_eq!(c[3], "1", "one pass per run: {c:?}");
        let pass: f64 = c[4].parse().unwrap();
        let ratio: f64 = c[8].trim_end_matches('x').parse().unwrap();
        assert!(pass > 0.0 && ratio > 0.0, "{c:?}");
    }
    // A fixed tile: the five plans with it, and the figure in the JSON.
    let mut args = vec!["bench", "--device", "gpu", "--bandwidth-mib", "0", "--json"];
    args.extend(small);
    args.extend(["--frames-per-workgroup", "4"]);
    let o = wavegpu(&args);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines.iter().all(|v| v["frames_per_workgroup"] == 4),
        "{out}"
    );
    let o = wavegpu(&["bench", "--clips", "0"]);
    assert_fails_one_line(&o, 2);
    let o = wavegpu(&["bench", "--frames-per-workgroup", "0"]);
    assert_fails_one_line(&o, 2);
}
