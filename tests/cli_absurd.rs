//! Absurd flags, as a new user types them (issue 8): every value-taking flag of every
//! subcommand, one at a time, set to zero, negative, huge, fractional, NaN, infinite, empty
//! and non-numeric values, on a 0.5 s file. The flags are read from each subcommand's `--help`,
//! so a flag added later is swept too. Every run must end by itself (a 60 s limit) with
//! status 0, 1 or 2, and a failing run must print exactly one `wavegpu: ...` line with no
//! panic, backtrace or "internal error" — never an abort, a signal or an out-of-memory kill.

#[path = "common/cli.rs"]
mod cli;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{fixture_str, scratch};

const SUBCOMMANDS: [&str; 11] = [
    "probe", "decode", "stft", "mel", "mfcc", "chroma", "spectral", "cqt", "vqt", "augment",
    "bench",
];

const VALUES: [&str; 12] = [
    "0",
    "-1",
    "0.5",
    "1e30",
    "-1e30",
    "nan",
    "inf",
    "4294967295",
    "18446744073709551616",
    "",
    "abc",
    "1e-300",
];

/// The value-taking flags in `wavegpu <sub> --help`: `--name <VALUE>` lines.
fn value_flags(sub: &str) -> Vec<String> {
    let o = cli::wavegpu(&[sub, "--help"]);
    cli::assert_ok(&o);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("-o, ").unwrap_or(l);
            let rest = l.strip_prefix("--")?;
            let (name, tail) = rest.split_once(' ')?;
            tail.starts_with('<').then(|| format!("--{name}"))
        })
        .collect()
}

/// Runs the binary with a time limit: `(status code or None if killed by a signal, stderr,
/// seconds)`, or a failure naming the arguments when it does not end in `limit`.
fn run_limited(args: &[String], limit: Duration) -> (Option<i32>, String, String, f64) {
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wavegpu"))
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the wavegpu binary");
    loop {
        if child.try_wait().expect("wait for wavegpu").is_some() {
            break;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wavegpu {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = child.wait_with_output().expect("collect wavegpu's output");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        t0.elapsed().as_secs_f64(),
    )
}

#[test]
fn absurd_flag_values_give_errors_or_results_never_a_crash() {
    let dir = scratch("absurd");
    let input = fixture_str("noise_22k.wav");
    let pipeline = dir.join("gain.json");
    std::fs::write(&pipeline, r#"[{"name": "gain", "p": 1.0}]"#).unwrap();
    let out = dir.join("out.npy").display().to_string();
    let (mut runs, mut ok, mut failed) = (0, 0, 0);
    for sub in SUBCOMMANDS {
        // The baseline each flag is varied from: what the subcommand needs to run at all,
        // small, on the CPU.
        let base: Vec<(String, String)> = match sub {
            "probe" => vec![],
            "bench" => [
                ("--clips", "2"),
                ("--seconds", "0.25"),
                ("--repeats", "1"),
                ("--bandwidth-mib", "0"),
                ("--device", "cpu"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            _ => {
                let mut b = vec![
                    ("--output".to_string(), out.clone()),
                    ("--device".to_string(), "cpu".to_string()),
                ];
                if sub == "spectral" {
                    b.push(("--feature".into(), "centroid".into()));
                }
                if sub == "augment" {
                    b.push(("--pipeline".into(), pipeline.display().to_string()));
                }
                b
            }
        };
        let baseline = |skip: &str| {
            let mut args = vec![sub.to_string()];
            if sub != "bench" {
                args.push(input.clone());
            }
            for (f, v) in &base {
                if f != skip {
                    args.push(f.clone());
                    args.push(v.clone());
                }
            }
            args
        };
        // The baseline itself runs: each failure below is the varied flag's.
        let (code, _, stderr, _) = run_limited(&baseline(""), Duration::from_secs(60));
        assert_eq!(code, Some(0), "wavegpu {:?}: {stderr}", baseline(""));
        let flags = value_flags(sub);
        assert!(
            !flags.is_empty() || sub == "probe",
            "{sub}: no flags parsed"
        );
        // Paths are not numbers: a value such as "0" would name a file in the working
        // directory (output and pipeline paths have tests of their own).
        for flag in flags
            .iter()
            .filter(|f| !matches!(f.as_str(), "--output" | "--pipeline"))
        {
            for value in VALUES {
                let mut args = baseline(flag);
                args.push(flag.clone());
                args.push(value.to_string());
                let (code, stdout, stderr, _) = run_limited(&args, Duration::from_secs(60));
                runs += 1;
                let all = format!("{stdout}{stderr}");
                for bad in [
                    "panicked",
                    "backtrace",
                    "internal error",
                    "memory allocation",
                ] {
                    assert!(!all.contains(bad), "wavegpu {args:?}: {bad:?} in {all}");
                }
                match code {
                    Some(0) => ok += 1,
                    Some(1) | Some(2) => {
                        failed += 1;
                        let lines: Vec<&str> =
                            stderr.lines().filter(|l| !l.trim().is_empty()).collect();
                        assert_eq!(lines.len(), 1, "wavegpu {args:?}: {stderr}");
                        assert!(
                            lines[0].starts_with("wavegpu: "),
                            "wavegpu {args:?}: {stderr}"
                        );
                    }
                    other => panic!("wavegpu {args:?} ended with {other:?}: {all}"),
                }
            }
        }
    }
    eprintln!("{runs} runs: {ok} succeeded, {failed} failed with one-line errors");
    // Most absurd values are refused; some (a hop of 4294967295, 0.5 dB ...) are fine.
    assert!(
        failed > ok,
        "{failed} failures vs {ok} successes: the sweep lost its teeth"
    );
}
