//! The crate's one error type.

use std::fmt;

/// Everything that can go wrong in wavegpu.
///
/// Each variant names the input or parameter at fault and the cause, so that
/// `err.to_string()` is a complete one-line message.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of range or inconsistent with another one.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name (librosa's name where there is one).
        name: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// Audio data that cannot be processed (NaN/Inf samples, too short, empty ...).
    #[error("invalid audio `{input}`: {reason}")]
    InvalidAudio {
        /// Which input: a path, "audio", "batch row 3" ...
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An operating-system I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path being read or written.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The container or codec is not supported by the decoder backend.
    #[error("{input}: unsupported format ({component}): {reason}")]
    Unsupported {
        /// The file or stream.
        input: String,
        /// The component that gave up, e.g. "symphonia probe", "codec".
        component: &'static str,
        /// Details.
        reason: String,
    },
    /// The stream is corrupt, truncated or otherwise undecodable.
    #[error("{input}: decode error ({component}): {reason}")]
    Decode {
        /// The file or stream.
        input: String,
        /// The component that failed, e.g. "symphonia decoder", "resampler".
        component: &'static str,
        /// Details.
        reason: String,
    },
    /// No GPU adapter could be found or opened.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// A wgpu error, caught in an error scope and returned instead of wgpu's default panic.
    ///
    /// After [`GpuErrorKind::DeviceLost`] every call on the device fails the same way:
    /// make a new [`Device`](crate::Device) and rebuild the plans on it.
    #[error("GPU {kind} ({context}): {reason}")]
    Gpu {
        /// What was being done, e.g. "running the STFT kernels".
        context: &'static str,
        /// What kind of failure.
        kind: GpuErrorKind,
        /// wgpu's message.
        reason: String,
    },
    /// The work cannot fit the device even after splitting.
    #[error("device limit `{limit}` is {max}, but {what} needs {needed}")]
    DeviceLimit {
        /// The wgpu limit's name, e.g. "max_storage_buffer_binding_size".
        limit: &'static str,
        /// The device's value.
        max: u64,
        /// What needed more.
        what: String,
        /// How much it needed.
        needed: u64,
    },
    /// An output larger than the host can allocate (or than the address space holds): asked
    /// for by the parameters, e.g. a hop of 1 over minutes of audio. Checked before any work.
    #[error("out of host memory for `{input}`: {what} needs {}", human_bytes(*.bytes))]
    OutOfMemory {
        /// Which input: a path, "audio", "batch" ...
        input: String,
        /// What was to be allocated, with its shape.
        what: String,
        /// Its size in bytes (`u64::MAX` when the size itself overflows).
        bytes: u64,
    },
    /// Writing or reading an output file (npy, wav, png) failed.
    #[error("{path}: {reason}")]
    Output {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
}

/// What kind of GPU failure an [`Error::Gpu`] reports.
///
/// A long-running job can tell a lost device from the rest and start over on a new one:
///
/// ```no_run
/// use wavegpu::{Audio, Device, Error, GpuErrorKind, Spectrogram};
/// let audio = Audio::from_mono(vec![0.0; 16_000], 16_000);
/// let build = |d: &Device| Spectrogram::mel(16_000).n_mels(64).build(d);
/// let mut dev = Device::gpu()?;
/// let mut plan = build(&dev)?;
/// let mel = match plan.run(&audio) {
///     Err(Error::Gpu { kind: GpuErrorKind::DeviceLost, .. }) => {
///         dev = Device::gpu()?; // the old device answers DeviceLost from now on
///         plan = build(&dev)?;
///         plan.run(&audio)?
///     }
///     other => other?,
/// };
/// # let _ = mel;
/// # Ok::<(), wavegpu::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuErrorKind {
    /// wgpu's validation refused a call: a bug in wavegpu (please report it) or in wgpu
    /// calls the caller made on a device it shares with wavegpu.
    Validation,
    /// The device could not allocate a buffer or pipeline; a smaller batch may fit.
    OutOfMemory,
    /// The device was lost (driver reset, GPU removed, `wgpu::Device::destroy`): nothing
    /// more runs on it; open a new [`Device`](crate::Device).
    DeviceLost,
    /// Anything else wgpu or the driver reported (internal errors, failed maps or polls).
    Internal,
}

impl fmt::Display for GpuErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GpuErrorKind::Validation => "validation error",
            GpuErrorKind::OutOfMemory => "out of memory",
            GpuErrorKind::DeviceLost => "device lost",
            GpuErrorKind::Internal => "error",
        })
    }
}

/// `Result<T, wavegpu::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn human_bytes(b: u64) -> String {
    if b == u64::MAX {
        return "more bytes than the address space holds".into();
    }
    let (v, unit) = match b {
        0..1_000_000 => return format!("{b} bytes"),
        1_000_000..1_000_000_000 => (b as f64 / 1e6, "MB"),
        1_000_000_000..1_000_000_000_000 => (b as f64 / 1e9, "GB"),
        _ => (b as f64 / 1e12, "TB"),
    };
    format!("{v:.1} {unit} ({b} bytes)")
}

/// Checks that an output of `dims` values of `elem` bytes (`elem_name`: "f32", "complex64")
/// can be allocated, before the work that fills it starts: the size must not overflow, and
/// the allocator must grant it (tried and released at once; on Linux this refuses what
/// exceeds memory plus swap). `what` names the output ("the STFT") for `input`.
pub(crate) fn check_alloc(
    input: &str,
    what: &str,
    dims: &[usize],
    (elem, elem_name): Elem,
) -> Result<()> {
    let bytes = dims
        .iter()
        .try_fold(elem, |a, &d| a.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize);
    let fail = |bytes: u64| {
        let shape = dims
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Error::OutOfMemory {
            input: input.to_string(),
            what: format!("{what}, shape ({shape}) of {elem_name},"),
            bytes,
        }
    };
    let Some(bytes) = bytes else {
        return Err(fail(u64::MAX));
    };
    let mut probe: Vec<u8> = Vec::new();
    if probe.try_reserve_exact(bytes).is_err() {
        return Err(fail(bytes as u64));
    }
    Ok(())
}

/// An output's value type for `check_alloc`: bytes per value and its name.
pub(crate) type Elem = (usize, &'static str);
/// `check_alloc`'s value types.
pub(crate) const F32: Elem = (4, "f32");
pub(crate) const C64: Elem = (8, "complex64");
pub(crate) const F64: Elem = (8, "f64");

impl Error {
    pub(crate) fn param(name: &'static str, reason: impl fmt::Display) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.to_string(),
        }
    }
    pub(crate) fn audio(input: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::InvalidAudio {
            input: input.into(),
            reason: reason.to_string(),
        }
    }
    /// A GPU failure that is not one of wgpu's typed errors.
    pub(crate) fn gpu(context: &'static str, reason: impl fmt::Display) -> Self {
        Error::gpu_kind(context, GpuErrorKind::Internal, reason)
    }
    pub(crate) fn gpu_kind(
        context: &'static str,
        kind: GpuErrorKind,
        reason: impl fmt::Display,
    ) -> Self {
        Error::Gpu {
            context,
            kind,
            reason: reason.to_string(),
        }
    }
    /// One of wgpu's errors, with its kind.
    pub(crate) fn wgpu(context: &'static str, e: &wgpu::Error) -> Self {
        let kind = match e {
            wgpu::Error::OutOfMemory { .. } => GpuErrorKind::OutOfMemory,
            wgpu::Error::Validation { .. } => GpuErrorKind::Validation,
            _ => GpuErrorKind::Internal,
        };
        Error::gpu_kind(context, kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wgpu's error kinds keep their kind (the device-lost and uncaptured paths are tested
    /// in tests/gpu_errors.rs; a real out-of-memory cannot be provoked safely on lavapipe,
    /// whose "device memory" is the test machine's).
    #[test]
    fn wgpu_errors_keep_their_kind() {
        let source = || Box::new(std::io::Error::other("driver says no")) as wgpu::ErrorSource;
        let cases = [
            (
                wgpu::Error::OutOfMemory { source: source() },
                GpuErrorKind::OutOfMemory,
                "out of memory",
            ),
            (
                wgpu::Error::Validation {
                    source: source(),
                    description: "bad binding".into(),
                },
                GpuErrorKind::Validation,
                "validation error",
            ),
            (
                wgpu::Error::Internal {
                    source: source(),
                    description: "driver bug".into(),
                },
                GpuErrorKind::Internal,
                "error",
            ),
        ];
        for (e, kind, word) in cases {
            let got = Error::wgpu("running the STFT kernels", &e);
            let msg = got.to_string();
            match got {
                Error::Gpu {
                    kind: k, context, ..
                } => {
                    assert_eq!(k, kind);
                    assert_eq!(context, "running the STFT kernels");
                }
                other => panic!("{other:?}"),
            }
            assert!(
                msg.starts_with(&format!("GPU {word} (running the STFT kernels): ")),
                "{msg}"
            );
        }
    }

    /// Outputs that cannot exist are refused with their size, before any work: an overflowing
    /// shape, and one past the 47-bit address space of every x86-64/aarch64 process.
    #[test]
    fn impossible_outputs_are_refused() {
        match check_alloc("a", "the STFT", &[1 << 40, 1 << 30], F32) {
            Err(Error::OutOfMemory { bytes, input, .. }) => {
                assert_eq!(bytes, u64::MAX);
                assert_eq!(input, "a");
            }
            other => panic!("{other:?}"),
        }
        let e = check_alloc("b.wav", "the CQT", &[1, 1 << 20, 1 << 27], C64).unwrap_err();
        match &e {
            Error::OutOfMemory { bytes, .. } => assert_eq!(*bytes, 1 << 50),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            e.to_string(),
            "out of host memory for `b.wav`: the CQT, shape (1, 1048576, 134217728) of \
             complex64, needs 1125.9 TB (1125899906842624 bytes)"
        );
        check_alloc("c", "the STFT", &[2, 257, 100], F32).unwrap();
        // Through the public API: an iSTFT asked for usize::MAX samples.
        let plan = crate::Spectrogram::istft()
            .n_fft(16)
            .build(&crate::Device::cpu())
            .unwrap();
        let spec = ndarray::Array3::<num_complex::Complex32>::zeros((1, 9, 4));
        match plan.run(spec.view(), Some(usize::MAX)) {
            Err(Error::OutOfMemory { .. }) => {}
            other => panic!("{:?}", other.map(|a| a.dim())),
        }
    }
}
