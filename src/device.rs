//! Where plans run: a GPU through wgpu, or the CPU path.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::gpu::GpuContext;

/// The device a plan runs on. Cheap to clone (the GPU context is shared).
///
/// ```
/// let cpu = wavegpu::Device::cpu();
/// assert!(!cpu.is_gpu());
/// // GPU if a hardware adapter is found, else the CPU path; never fails.
/// let dev = wavegpu::Device::auto();
/// println!("running on {dev}");
/// ```
#[derive(Clone)]
pub struct Device {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Cpu,
    Gpu(Arc<GpuContext>),
}

/// The GPU time of one compute pass (see [`Device::take_pass_timings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PassTiming {
    /// The pass: "stft", "stft (complex)", "stft+filterbank", "stft+filterbank+post",
    /// "stft+spectral", "filterbank", "cqt", "istft", ...
    pub label: &'static str,
    /// Its duration on the GPU, from timestamp queries.
    pub seconds: f64,
}

/// What `wavegpu devices` lists for each adapter.
#[derive(Debug, Clone)]
pub struct AdapterDesc {
    /// The adapter's name, e.g. "NVIDIA H100" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The backend, e.g. "Vulkan".
    pub backend: String,
    /// The device type: "DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Cpu" or "Other".
    pub device_type: String,
}

impl Device {
    /// The CPU path (realfft + rayon).
    pub fn cpu() -> Device {
        Device { kind: Kind::Cpu }
    }

    /// A GPU adapter, software ones (lavapipe/llvmpipe) included.
    ///
    /// Honours `WGPU_BACKEND` (e.g. `vulkan`, `metal,dx12`) and `WGPU_ADAPTER_NAME` (a
    /// case-insensitive substring of the adapter name). Without `WGPU_ADAPTER_NAME` the order
    /// of preference is discrete, integrated, virtual, then CPU adapters.
    pub fn gpu() -> Result<Device> {
        Ok(Device {
            kind: Kind::Gpu(Arc::new(GpuContext::open(false)?)),
        })
    }

    /// [`Device::gpu`] with timestamp queries around every compute pass plans record on it,
    /// read with [`Device::take_pass_timings`]: for benchmarks (`wavegpu bench`). Fails when
    /// the adapter has no timestamp queries.
    pub fn gpu_profiled() -> Result<Device> {
        Ok(Device {
            kind: Kind::Gpu(Arc::new(GpuContext::open_with(false, true)?)),
        })
    }

    /// The GPU time of each compute pass recorded since the last call, in order, on a device
    /// from [`Device::gpu_profiled`] (empty on other devices), and forgets them. Plans record
    /// one pass per chunk of a run (an STFT with its filterbank and dB/DCT stages is one).
    ///
    /// ```no_run
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let dev = Device::gpu_profiled()?;
    /// let plan = Spectrogram::stft().n_fft(512).hop_length(160).build(&dev)?;
    /// plan.run(&Audio::from_mono(vec![0.1; 160_000], 16_000))?;
    /// for t in dev.take_pass_timings()? {
    ///     println!("{}: {:.3} ms", t.label, t.seconds * 1e3);
    /// }
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn take_pass_timings(&self) -> Result<Vec<PassTiming>> {
        match self.gpu_context() {
            Some(c) => Ok(pollster::block_on(c.take_timings())?
                .into_iter()
                .map(|(label, seconds)| PassTiming { label, seconds })
                .collect()),
            None => Ok(Vec::new()),
        }
    }

    /// The device's memory bandwidth in bytes per second (read plus written), measured with
    /// buffer-to-buffer copies of `bytes` bytes (capped at the device's buffer size limit): the
    /// floor that benchmarks divide by. `None` on the CPU device.
    pub fn copy_bandwidth(&self, bytes: u64) -> Result<Option<f64>> {
        self.gpu_context()
            .map(|c| c.copy_bandwidth(bytes))
            .transpose()
    }

    /// A hardware GPU if one is found (or the adapter `WGPU_ADAPTER_NAME` names), else the
    /// CPU path. Software rasterisers such as lavapipe are skipped here because the CPU
    /// path is faster than them and computes the same numbers; ask for them with [`Device::gpu`].
    pub fn auto() -> Device {
        match GpuContext::open(true) {
            Ok(ctx) => Device {
                kind: Kind::Gpu(Arc::new(ctx)),
            },
            Err(e) => {
                log::info!("wavegpu: using the CPU path ({e})");
                Device::cpu()
            }
        }
    }

    /// `auto`, `gpu` or `cpu`, as the CLI's `--device` flag takes them.
    pub fn from_name(name: &str) -> Result<Device> {
        match name {
            "auto" => Ok(Device::auto()),
            "gpu" => Device::gpu(),
            "cpu" => Ok(Device::cpu()),
            other => Err(Error::param(
                "device",
                format!("unknown device `{other}` (expected auto, gpu or cpu)"),
            )),
        }
    }

    /// Wraps a wgpu device and queue the caller already has. Plans built on it share them.
    ///
    /// wavegpu's calls on it run in error scopes, so its failures come back as
    /// [`Error::Gpu`]; its device-lost callback and uncaptured-error handler
    /// stay the caller's (wgpu keeps one of each), so a loss shows as the
    /// [`GpuErrorKind`](crate::GpuErrorKind) of the errors that follow it rather than as
    /// `DeviceLost`.
    pub fn from_wgpu(device: wgpu::Device, queue: wgpu::Queue) -> Device {
        Device {
            kind: Kind::Gpu(Arc::new(GpuContext::from_parts(device, queue, None))),
        }
    }

    /// The process-wide default device, [`Device::auto`], opened on first use and opened
    /// again if the GPU it holds is lost. The one-liners (`Spectrogram::stft()...run(&audio)`)
    /// build on it.
    pub fn shared() -> Device {
        static DEFAULT: Mutex<Option<Device>> = Mutex::new(None);
        let mut g = DEFAULT.lock().unwrap_or_else(|p| p.into_inner());
        match &*g {
            Some(d) if !d.is_lost() => d.clone(),
            _ => {
                let d = Device::auto();
                *g = Some(d.clone());
                d
            }
        }
    }

    /// Whether this GPU device was lost (driver reset, GPU removed, `wgpu::Device::destroy`):
    /// every plan on it then answers [`GpuErrorKind::DeviceLost`](crate::GpuErrorKind) and a
    /// new device must be opened. Always false on the CPU, and on devices from
    /// [`Device::from_wgpu`], whose device-lost callback is the caller's.
    pub fn is_lost(&self) -> bool {
        self.gpu_context().is_some_and(|c| c.is_lost())
    }

    /// Every adapter wgpu finds (after `WGPU_BACKEND` filtering).
    pub fn adapters() -> Vec<AdapterDesc> {
        GpuContext::adapters()
            .into_iter()
            .map(|a| {
                let i = a.get_info();
                AdapterDesc {
                    name: i.name,
                    backend: format!("{:?}", i.backend),
                    device_type: format!("{:?}", i.device_type),
                }
            })
            .collect()
    }

    /// True for a GPU device.
    pub fn is_gpu(&self) -> bool {
        matches!(self.kind, Kind::Gpu(_))
    }

    /// The wgpu device and queue, for a GPU device.
    pub fn wgpu(&self) -> Option<(&wgpu::Device, &wgpu::Queue)> {
        self.gpu_context().map(|c| (&c.device, &c.queue))
    }

    pub(crate) fn gpu_context(&self) -> Option<&Arc<GpuContext>> {
        match &self.kind {
            Kind::Gpu(c) => Some(c),
            Kind::Cpu => None,
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Cpu => write!(f, "cpu ({} threads)", rayon::current_num_threads()),
            Kind::Gpu(c) => write!(f, "gpu: {}", c.describe()),
        }
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({self})")
    }
}
