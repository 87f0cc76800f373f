//! What the FFT kernels of every plan share: where the FFT works, the layout helpers, and
//! [`FftKernel`] (pipelines built once, and the window, twiddle and stage tables uploaded once).

use super::shaders::{source, FftMemory, Kernel};
use super::GpuContext;
use crate::dsp::fft;
use crate::error::{Error, Result};
use crate::transform::stft::StftConfig;

/// Threads per workgroup and register slots per thread in the FFT core (see common/*.wgsl).
pub(crate) const WG: usize = 128;
pub(crate) const PER_THREAD: usize = 32;
/// Iterations llvmpipe allows the loops nested in one outermost shader loop.
const LLVMPIPE_LOOP_GUARD: usize = 65_535;

pub(crate) fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

pub(crate) fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Binding 0 a uniform, then `read_only` read-only storage buffers, then read-write ones up
/// to binding 7 (the FFT scratch is always binding 7).
pub(crate) fn layout_entries(read_only: u32) -> Vec<wgpu::BindGroupLayoutEntry> {
    std::iter::once(uniform_entry(0))
        .chain((1..=read_only).map(|b| storage_entry(b, true)))
        .chain((read_only + 1..=7).map(|b| storage_entry(b, false)))
        .collect()
}

/// Workgroup counts (x, y) for `n` workgroups, within the per-dimension limit.
pub(crate) fn grid(n: usize, max_dim: u32) -> (u32, u32) {
    let max = max_dim.max(1) as usize;
    let x = n.clamp(1, max);
    (x as u32, n.div_ceil(x) as u32)
}

/// Where an FFT of complex length `m` runs on this device: workgroup memory when it fits the
/// device and the kernel's register staging, else a storage-buffer scratch of 16 m bytes per
/// frame, which must fit one binding.
pub(crate) fn fft_memory(ctx: &GpuContext, m: usize, n_fft: usize) -> Result<FftMemory> {
    // Mesa's llvmpipe (lavapipe) breaks out of loops once the iterations nested in one
    // outermost loop pass 65535 (measured: n_fft 2801 right, 2897 wrong, both prime), and
    // silently returns wrong numbers. A stage of prime radix r costs each thread
    // ceil(m / WG) * (r - 1) iterations: refuse what would cross the guard there.
    if ctx.is_llvmpipe() {
        let r = fft::stages(m)
            .iter()
            .map(|s| s.radix as usize)
            .max()
            .unwrap_or(1);
        let iters = m.div_ceil(WG) * r.saturating_sub(1);
        if iters > LLVMPIPE_LOOP_GUARD {
            return Err(Error::DeviceLimit {
                limit: "llvmpipe loop-iteration guard",
                max: LLVMPIPE_LOOP_GUARD as u64,
                what: format!(
                    "n_fft = {n_fft} (prime factor {r}: iterations per thread in one FFT stage)"
                ),
                needed: iters as u64,
            });
        }
    }
    let wg_bytes = (m * 8) as u64;
    if wg_bytes <= ctx.limits.max_compute_workgroup_storage_size as u64 && m <= WG * PER_THREAD {
        return Ok(FftMemory::Workgroup);
    }
    let scratch = (16 * m) as u64;
    if scratch > ctx.max_binding() {
        return Err(Error::DeviceLimit {
            limit: "max_storage_buffer_binding_size",
            max: ctx.max_binding(),
            what: format!("the FFT scratch of one frame of n_fft = {n_fft}"),
            needed: scratch,
        });
    }
    Ok(FftMemory::Global)
}

/// A kernel family's pipelines over one bind group layout, and the tables of its FFT.
pub(crate) struct FftKernel {
    pub layout: wgpu::BindGroupLayout,
    pub pipelines: Vec<wgpu::ComputePipeline>,
    pub params: wgpu::Buffer,
    pub window: wgpu::Buffer,
    pub twiddles: wgpu::Buffer,
    pub stages: wgpu::Buffer,
    pub n_stages: u32,
    /// Scratch bytes per frame (0 in workgroup memory).
    pub scratch_frame: usize,
}

impl FftKernel {
    /// Builds `entry_points` of `kernel` for the plan `cfg`, with `read_only` read-only
    /// storage bindings after the uniform (see [`layout_entries`]) and a uniform of
    /// `params_size` bytes.
    pub fn new(
        ctx: &GpuContext,
        cfg: &StftConfig,
        kernel: Kernel,
        read_only: u32,
        entry_points: &[&str],
        params_size: usize,
        force_global: bool,
    ) -> Result<Self> {
        let m = cfg.fft_len();
        let n = cfg.framing.n_fft;
        let mem = match fft_memory(ctx, m, n)? {
            FftMemory::Workgroup if force_global => FftMemory::Global,
            mem => mem,
        };
        let stages: Vec<[u32; 2]> = cfg.stages().iter().map(|s| [s.radix, s.ns]).collect();
        let window: Vec<f32> = cfg.window.iter().map(|&w| w as f32).collect();
        let tw = fft::twiddles(n);
        let d = &ctx.device;
        ctx.scoped("building the FFT pipelines", || {
            let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.file()),
                source: wgpu::ShaderSource::Wgsl(source(kernel, mem).into()),
            });
            let layout = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(kernel.file()),
                entries: &layout_entries(read_only),
            });
            let pl = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(kernel.file()),
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
                            constants: &[("MAX_M", m as f64)],
                            ..Default::default()
                        },
                        cache: None,
                    })
                })
                .collect();
            let st = wgpu::BufferUsages::STORAGE;
            FftKernel {
                layout,
                pipelines,
                params: d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("params"),
                    size: params_size as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                window: ctx.init_buffer("window", bytemuck::cast_slice(&window), st),
                twiddles: ctx.init_buffer("twiddles", bytemuck::cast_slice(&tw), st),
                stages: ctx.init_buffer("fft stages", bytemuck::cast_slice(&stages), st),
                n_stages: stages.len() as u32,
                scratch_frame: match mem {
                    FftMemory::Workgroup => 0,
                    FftMemory::Global => 16 * m,
                },
            }
        })
    }

    /// A bind group over `buffers`, bound at 0, 1, 2 ... in order.
    pub fn bind(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<_> = buffers
            .iter()
            .enumerate()
            .map(|(b, buf)| wgpu::BindGroupEntry {
                binding: b as u32,
                resource: buf.as_entire_binding(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.layout,
            entries: &entries,
        })
    }
}

/// Sizes to allocate when growing a set of buffers: the larger of what was there and what is
/// needed, so that alternating run sizes settle instead of reallocating each time.
pub(crate) fn grown<const N: usize>(have: Option<[u64; N]>, need: [u64; N]) -> Option<[u64; N]> {
    match have {
        Some(h) if h.iter().zip(need).all(|(&h, n)| h >= n) => None,
        h => {
            let h = h.unwrap_or([0; N]);
            Some(std::array::from_fn(|i| h[i].max(need[i]).max(16)))
        }
    }
}
