//! The wgpu runtime: context, shaders, buffers, readback.

pub(crate) mod augment;
pub(crate) mod conv;
pub(crate) mod cqt;
pub(crate) mod features;
pub(crate) mod iir;
pub(crate) mod istft;
pub(crate) mod kernel;
pub(crate) mod profile;
pub(crate) mod shaders;
pub(crate) mod spectral;
pub(crate) mod stft;
pub(crate) mod stretch;

use std::sync::{Arc, Mutex};

use crate::error::{Error, GpuErrorKind, Result};

/// An opened wgpu device and queue with the limits it was opened with.
pub(crate) struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: Option<wgpu::AdapterInfo>,
    pub limits: wgpu::Limits,
    /// Timestamp queries around compute passes, when opened with profiling.
    pub profiler: Option<profile::Profiler>,
    /// What wgpu's callbacks reported, on devices wavegpu opened itself.
    watch: Arc<Watch>,
}

/// Set by the device-lost callback and the uncaptured-error handler that [`GpuContext::open`]
/// installs (a device from the caller keeps its own callbacks).
#[derive(Default)]
struct Watch {
    /// Why the device was lost, once it is.
    lost: Mutex<Option<String>>,
    /// A wgpu error raised outside every error scope (by the caller's own calls on a device
    /// it shares, or a call wavegpu forgot to scope): reported by the next scoped call
    /// instead of wgpu's default panic.
    uncaptured: Mutex<Option<(GpuErrorKind, String)>>,
}

/// The device-lost message every later call repeats.
fn lost_reason(reason: wgpu::DeviceLostReason, message: &str) -> String {
    let why = match (reason, message.trim()) {
        (wgpu::DeviceLostReason::Destroyed, "") => "wgpu::Device::destroy was called",
        (_, "") => "the driver gave no reason",
        (_, m) => m,
    };
    format!("{why}; open a new Device and rebuild the plans on it")
}

impl Watch {
    fn lost(&self) -> Option<String> {
        self.lost.lock().map_or(None, |g| g.clone())
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// For the unit tests: any adapter (lavapipe included), or `None` where there is none —
/// except with `CI=true`, where a missing adapter fails the test instead of skipping it.
#[cfg(test)]
pub(crate) fn test_context() -> Option<std::sync::Arc<GpuContext>> {
    match GpuContext::open(false) {
        Ok(ctx) => Some(std::sync::Arc::new(ctx)),
        Err(e) => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("CI=true but no GPU adapter could be opened: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

impl GpuContext {
    pub fn adapters() -> Vec<wgpu::Adapter> {
        let inst = instance();
        let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
        pollster::block_on(inst.enumerate_adapters(backends))
    }

    /// Opens the preferred adapter. With `hardware_only`, CPU adapters are refused unless
    /// `WGPU_ADAPTER_NAME` names one.
    pub fn open(hardware_only: bool) -> Result<GpuContext> {
        Self::open_with(hardware_only, false)
    }

    /// [`open`](Self::open), with timestamp queries around compute passes when `profile`
    /// (an error if the adapter has none).
    pub fn open_with(hardware_only: bool, profile: bool) -> Result<GpuContext> {
        let mut adapters = Self::adapters();
        let wanted = std::env::var("WGPU_ADAPTER_NAME")
            .ok()
            .filter(|s| !s.is_empty());
        if adapters.is_empty() {
            return Err(Error::NoAdapter(
                "wgpu found no adapter (is a Vulkan/Metal/DX12 driver installed? on Linux without a GPU, install mesa-vulkan-drivers for lavapipe)".into(),
            ));
        }
        let adapter = if let Some(name) = &wanted {
            let lname = name.to_lowercase();
            adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&lname))
                .ok_or_else(|| {
                    Error::NoAdapter(format!(
                        "no adapter name contains WGPU_ADAPTER_NAME=`{name}`"
                    ))
                })?
        } else {
            adapters.sort_by_key(|a| rank(a.get_info().device_type));
            let a = adapters.remove(0);
            if hardware_only && a.get_info().device_type == wgpu::DeviceType::Cpu {
                return Err(Error::NoAdapter(format!(
                    "only a software adapter ({}) was found",
                    a.get_info().name
                )));
            }
            a
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = if profile {
            if !adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
                return Err(Error::NoAdapter(format!(
                    "{}: no timestamp queries, cannot profile",
                    info.name
                )));
            }
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wavegpu"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::NoAdapter(format!("{}: request_device failed: {e}", info.name)))?;
        let mut ctx = Self::from_parts(device, queue, Some(info));
        let watch = ctx.watch.clone();
        ctx.device.set_device_lost_callback(move |reason, message| {
            log::error!("wavegpu: GPU device lost ({reason:?}): {message}");
            if let Ok(mut g) = watch.lost.lock() {
                *g = Some(lost_reason(reason, &message));
            }
        });
        let watch = ctx.watch.clone();
        ctx.device
            .on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                log::error!("wavegpu: wgpu error outside an error scope: {e}");
                let Error::Gpu { kind, reason, .. } = Error::wgpu("", &e) else {
                    return;
                };
                if let Ok(mut g) = watch.uncaptured.lock() {
                    g.get_or_insert((kind, reason));
                }
            }));
        if profile {
            let profiler = ctx.scoped("creating the timestamp queries", || {
                profile::Profiler::new(&ctx.device, wgpu::QUERY_SET_MAX_QUERIES / 2)
            })?;
            ctx.profiler = Some(profiler);
        }
        Ok(ctx)
    }

    pub fn from_parts(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: Option<wgpu::AdapterInfo>,
    ) -> GpuContext {
        let limits = device.limits();
        // A caller's device still names its adapter: the llvmpipe loop guard and `describe`
        // depend on it.
        let info = info.or_else(|| Some(device.adapter_info()));
        GpuContext {
            device,
            queue,
            info,
            limits,
            profiler: None,
            watch: Arc::default(),
        }
    }

    pub fn describe(&self) -> String {
        match &self.info {
            Some(i) => format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type),
            None => "caller's wgpu device".into(),
        }
    }

    /// True on Mesa's software rasteriser (lavapipe / llvmpipe).
    pub fn is_llvmpipe(&self) -> bool {
        self.info
            .as_ref()
            .is_some_and(|i| i.name.to_lowercase().contains("llvmpipe"))
    }

    /// The largest storage buffer binding, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    pub fn storage_buffer(
        &self,
        label: &str,
        size: u64,
        extra: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage: wgpu::BufferUsages::STORAGE | extra,
            mapped_at_creation: false,
        })
    }

    pub fn uniform_buffer(&self, label: &str, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// One shader module's `entry_points` over one explicit bind group layout.
    pub fn pipelines(
        &self,
        label: &str,
        source: &str,
        entries: &[wgpu::BindGroupLayoutEntry],
        entry_points: &[&str],
        constants: &[(&str, f64)],
    ) -> (wgpu::BindGroupLayout, Vec<wgpu::ComputePipeline>) {
        let d = &self.device;
        let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries,
        });
        let pl = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = entry_points
            .iter()
            .map(|&entry| {
                d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pl),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        ..Default::default()
                    },
                    cache: None,
                })
            })
            .collect();
        (layout, pipelines)
    }

    /// A bind group over `buffers`, bound at 0, 1, 2 ... in order.
    pub fn bind(
        &self,
        layout: &wgpu::BindGroupLayout,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<_> = buffers
            .iter()
            .enumerate()
            .map(|(b, buf)| wgpu::BindGroupEntry {
                binding: b as u32,
                resource: buf.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        })
    }

    pub fn readback_buffer(&self, label: &str, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    pub fn init_buffer(
        &self,
        label: &str,
        bytes: &[u8],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (bytes.len() as u64).max(16).next_multiple_of(4),
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buf, 0, bytes);
        buf
    }

    /// Runs `f` inside validation and out-of-memory error scopes; a caught error becomes
    /// [`Error::Gpu`] with its kind, or [`GpuErrorKind::DeviceLost`] once the device is lost
    /// (once the loss is known, `f` is not run at all).
    pub fn scoped<T>(&self, context: &'static str, f: impl FnOnce() -> T) -> Result<T> {
        self.check(context)?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = v.or(o) {
            return Err(self.fail(Error::wgpu(context, &e)));
        }
        self.check(context)?;
        Ok(out)
    }

    /// [`scoped`](Self::scoped) for a closure that can fail itself: its GPU errors are
    /// checked for a lost device too (a lost device makes calls such as
    /// `Queue::write_buffer_with` fail without saying why).
    pub fn scoped_try<T>(&self, context: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.scoped(context, f)?.map_err(|e| self.fail(e))
    }

    /// Whether the device is known to be lost, or an uncaptured error is waiting to be
    /// reported. No poll here (this runs around every scope of every run): a loss the
    /// callback has not reported yet shows as the errors that follow it, which
    /// [`fail`](Self::fail) turns into [`GpuErrorKind::DeviceLost`].
    fn check(&self, context: &'static str) -> Result<()> {
        if let Some(reason) = self.watch.lost() {
            return Err(Error::gpu_kind(context, GpuErrorKind::DeviceLost, reason));
        }
        if let Some((kind, reason)) = self.watch.uncaptured.lock().ok().and_then(|mut g| g.take()) {
            return Err(Error::gpu_kind(
                context,
                kind,
                format!("raised earlier, outside wavegpu's error scopes: {reason}"),
            ));
        }
        Ok(())
    }

    /// `e`, or a [`GpuErrorKind::DeviceLost`] error when the device turns out to be lost (a
    /// lost device makes every call fail, with messages that do not say why).
    pub fn fail(&self, e: Error) -> Error {
        if !matches!(e, Error::Gpu { .. }) {
            return e;
        }
        // wgpu runs the lost callback from a poll that finds the queue empty: let the work
        // in flight end.
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
        match (e, self.watch.lost()) {
            (Error::Gpu { context, .. }, Some(reason)) => {
                Error::gpu_kind(context, GpuErrorKind::DeviceLost, reason)
            }
            (e, _) => e,
        }
    }

    /// Whether the device-lost callback has run (after a poll that lets it run).
    pub fn is_lost(&self) -> bool {
        self.lost_now().is_some()
    }

    fn lost_now(&self) -> Option<String> {
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::Poll);
        self.watch.lost()
    }

    /// Maps `buf` (MAP_READ) and hands its first `len` bytes to `f`. On native this polls
    /// the device until the map completes.
    pub async fn read_back<T>(
        &self,
        buf: &wgpu::Buffer,
        len: u64,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        let slice = buf.slice(..len.max(4));
        self.scoped("mapping a readback buffer", || {
            slice.map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            })
        })?;
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.fail(Error::gpu("device poll", e)))?;
        rx.recv()
            .map_err(|_| self.fail(Error::gpu("readback", "map callback dropped")))?
            .map_err(|e| self.fail(Error::gpu("readback map", e)))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| self.fail(Error::gpu("readback view", e)))?;
            f(&view[..len as usize])
        };
        self.scoped("unmapping a readback buffer", || buf.unmap())?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A validation error inside `scoped` comes back typed, with the scope's context, and
    /// the device goes on working.
    #[test]
    fn scoped_returns_validation_errors_typed() {
        let Some(ctx) = test_context() else { return };
        let bad = ctx.scoped("making a bad buffer", || {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("MAP_READ with STORAGE"),
                size: 64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        match bad {
            Err(Error::Gpu {
                context: "making a bad buffer",
                kind: GpuErrorKind::Validation,
                ..
            }) => {}
            other => panic!("{:?}", other.map(|_| ())),
        }
        let buf = ctx
            .scoped("making a good buffer", || {
                ctx.init_buffer("good", &[1, 2, 3, 4], wgpu::BufferUsages::COPY_SRC)
            })
            .unwrap();
        let rb = ctx.readback_buffer("rb", 4);
        ctx.scoped("copying", || {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(&buf, 0, &rb, 0, 4);
            ctx.queue.submit([enc.finish()]);
        })
        .unwrap();
        let got = pollster::block_on(ctx.read_back(&rb, 4, |b| b.to_vec())).unwrap();
        assert_eq!(got, [1, 2, 3, 4]);
    }
}
