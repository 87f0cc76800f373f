//! Helpers shared by the CLI tests (tests/cli*.rs): running the binary, checking its exit
//! status and one-line errors, reading what it wrote. Included by each CLI test as
//! `#[path = "common/cli.rs"] mod cli;` (only they have the binary to run).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn wavegpu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wavegpu"))
        // A panic would print a backtrace with this set: the tests check none appears.
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .output()
        .expect("run the wavegpu binary")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An empty scratch directory for `test`, unique to this test binary.
pub fn scratch(test: &str) -> PathBuf {
    let krate = module_path!().split("::").next().unwrap_or("cli");
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{krate}-{test}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn png_info(p: &Path) -> (u32, u32, png::ColorType, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let mut reader = dec.read_info().expect("a valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("valid PNG image data");
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type, buf)
}

/// The `.npy` header's dtype descriptor, e.g. `<f4`.
pub fn npy_descr(p: &Path) -> String {
    let bytes = std::fs::read(p).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}: not npy", p.display());
    let header = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).into_owned();
    let i = header.find("'descr': '").expect("descr") + 10;
    header[i..].split('\'').next().unwrap().to_string()
}

pub fn fixture_str(name: &str) -> String {
    fixture(name).display().to_string()
}

pub fn fixture(name: &str) -> PathBuf {
    crate::common::data_dir().join("fixtures").join(name)
}

pub fn describe(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    )
}

pub fn assert_ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}", describe(o));
    assert_no_panic(o);
}

pub fn assert_no_panic(o: &Output) {
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "internal error"] {
        assert!(!all.contains(bad), "output mentions {bad:?}: {all}");
    }
}

/// Exit `code`, and stderr is exactly one line `wavegpu: ...` with no panic or backtrace.
pub fn assert_fails_one_line(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "{}", describe(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err:?}");
    assert!(lines[0].starts_with("wavegpu: "), "{err:?}");
    assert_no_panic(o);
    lines[0].to_string()
}

pub fn written(dir: &Path) -> Vec<String> {
    let mut w: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    w.sort();
    w
}

pub fn wavegpu_s(args: &[String]) -> Output {
    let v: Vec<&str> = args.iter().map(String::as_str).collect();
    wavegpu(&v)
}
