//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, ArrayD};
use num_complex::Complex32;
use wavegpu::{Audio, Device};

/// The GPU device for GPU tests. With CI=true a missing adapter fails the test (CI installs
/// lavapipe); elsewhere the test is skipped with a printed reason.
///
/// With `WAVEGPU_TEST_LIMITS=small` the device is the same adapter opened with small limits
/// (4 MiB storage bindings, 16 MiB buffers, 256 workgroups per dimension), so that the whole
/// suite runs with its work split (issue 8, item 3).
pub fn gpu() -> Option<Device> {
    if std::env::var("WAVEGPU_TEST_LIMITS").as_deref() == Ok("small") {
        return Some(small_limits_device());
    }
    gpu_opened()
}

/// [`gpu`] always opened by wavegpu itself (`Device::gpu`), whatever `WAVEGPU_TEST_LIMITS`
/// says: for the tests of what wavegpu installs on the devices it opens.
pub fn gpu_opened() -> Option<Device> {
    match Device::gpu() {
        Ok(d) => Some(d),
        Err(e) => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("CI=true but no GPU adapter could be opened: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Reads a WAV fixture with hound (ints divided by 2^(bits-1), as soundfile does).
pub fn load_wav(path: &Path) -> Audio {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    let inter: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let n = inter.len() / ch;
    let data = Array2::from_shape_fn((ch, n), |(c, i)| inter[i * ch + c]);
    Audio::new(data, spec.sample_rate).unwrap()
}

pub fn manifest(name: &str) -> Vec<serde_json::Value> {
    let p = data_dir().join(name);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str::<serde_json::Value>(&s)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn read_npy_f32(rel: &str) -> ArrayD<f32> {
    ndarray_npy::read_npy(data_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn read_npy_c32(rel: &str) -> ArrayD<Complex32> {
    ndarray_npy::read_npy(data_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// ||a - b|| / ||b|| (Frobenius), or ||a - b|| when b is all zeros.
pub fn rel_err<'a>(
    a: impl IntoIterator<Item = &'a f32>,
    b: impl IntoIterator<Item = &'a f32>,
) -> f64 {
    let (mut num, mut den, mut n) = (0.0f64, 0.0f64, 0usize);
    let mut bi = b.into_iter();
    for x in a {
        let y = *bi.next().expect("same length") as f64;
        num += (*x as f64 - y).powi(2);
        den += y * y;
        n += 1;
    }
    assert!(bi.next().is_none(), "same length");
    assert!(n > 0, "empty comparison");
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

pub fn rel_err_c(a: &[Complex32], b: &[Complex32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let fa: Vec<f32> = a.iter().flat_map(|c| [c.re, c.im]).collect();
    let fb: Vec<f32> = b.iter().flat_map(|c| [c.re, c.im]).collect();
    rel_err(&fa, &fb)
}

/// A deterministic pseudo-random signal (xorshift), values in [-1, 1).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The STFT settings of a manifest case (n_fft, hop_length, win_length, window, center, pad_mode).
pub fn stft_builder(c: &serde_json::Value) -> wavegpu::StftBuilder {
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    wavegpu::Spectrogram::stft()
        .n_fft(u("n_fft"))
        .hop_length(u("hop_length"))
        .win_length(u("win_length"))
        .window(wavegpu::Window::from_name(c["window"].as_str().unwrap()).unwrap())
        .center(c["center"].as_bool().unwrap())
        .pad_mode(wavegpu::PadMode::from_name(c["pad_mode"].as_str().unwrap()).unwrap())
}

/// A scratch directory under the system's temp dir, unique to this process and `tag`,
/// removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wavegpu_test_{}_{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the ffmpeg CLI runs here (.ci/run installs it).
pub fn have_ffmpeg() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Converts `input` into `output` with the ffmpeg CLI (`args` between them); false, with a
/// note on stderr, when it cannot.
pub fn ffmpeg(input: &Path, output: &Path, args: &[&str]) -> bool {
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-y", "-loglevel", "error", "-i"])
        .arg(input)
        .args(args)
        .arg(output)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "skipping: the ffmpeg CLI could not make {}",
            output.display()
        );
    }
    ok
}

/// `tests/data/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    data_dir().join("fixtures").join(name)
}

/// Deterministic pseudo-random bytes (xorshift), for corrupt-input tests.
pub fn noise_bytes(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// The name of an error's variant, for asserting which kind of error an input gives.
pub fn variant(e: &wavegpu::Error) -> &'static str {
    use wavegpu::Error;
    match e {
        Error::Io { .. } => "Io",
        Error::Unsupported { .. } => "Unsupported",
        Error::Decode { .. } => "Decode",
        Error::InvalidAudio { .. } => "InvalidAudio",
        Error::InvalidParameter { .. } => "InvalidParameter",
        _ => "other",
    }
}

/// Writes mono `samples` as a 32-bit float WAV at `sr` (noise banks, impulse responses).
pub fn write_wav(path: &Path, samples: &[f32], sr: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sr,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Counts live heap bytes and their peak; a test binary that measures its heap declares
/// `#[global_allocator] static A: common::Counting = common::Counting;`.
pub struct Counting;
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

/// The first adapter opened with small limits (see [`gpu`]).
pub fn small_limits_device() -> Device {
    device_with_limits(small_limits)
}

/// 4 MiB storage bindings (WebGPU's floor is 128 MiB), 16 MiB buffers, 256 workgroups per
/// grid dimension.
pub fn small_limits(l: &mut wavegpu::wgpu::Limits) {
    l.max_storage_buffer_binding_size = 4 << 20;
    l.max_buffer_size = 16 << 20;
    l.max_compute_workgroups_per_dimension = 256;
}

/// The first adapter (lavapipe in CI) opened with `shrink` applied to its own limits.
pub fn device_with_limits(shrink: impl Fn(&mut wavegpu::wgpu::Limits)) -> Device {
    use wavegpu::wgpu;
    let instance = wgpu::Instance::default();
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .expect("an adapter, to open with small limits");
    let mut limits = adapter.limits();
    shrink(&mut limits);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("small limits"),
        required_limits: limits,
        ..Default::default()
    }))
    .expect("an adapter accepts limits below its own");
    Device::from_wgpu(device, queue)
}
