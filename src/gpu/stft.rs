//! GPU STFT: one fused kernel (`shaders/stft.wgsl`), work split to fit the device's buffers.

use std::sync::{Arc, Mutex};

use bytemuck::{Pod, Zeroable};
use ndarray::{s, Array3, ArrayView2};
use num_complex::Complex32;

use super::shaders::{source, FftMemory, Kernel};
use super::GpuContext;
use crate::dsp::fft;
use crate::error::{Error, Result};
use crate::transform::stft::StftConfig;

/// Threads per workgroup and register slots per thread in the FFT core (see common/fft.wgsl).
pub(crate) const WG: usize = 128;
pub(crate) const PER_THREAD: usize = 32;
/// Iterations llvmpipe allows the loops nested in one outermost shader loop.
const LLVMPIPE_LOOP_GUARD: usize = 65_535;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, Default)]
struct Params {
    n_fft: u32,
    m: u32,
    hop: u32,
    pad: u32,
    pad_mode: u32,
    out_mode: u32,
    power: f32,
    n_freq: u32,
    frames_out: u32,
    frame_offset: u32,
    sample_offset: u32,
    row_stride: u32,
    rows: u32,
    row_offset: u32,
    n_stages: u32,
    _pad0: u32,
}

/// Buffers reused across runs, grown when a run needs more.
struct Buffers {
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
    rows_info: wgpu::Buffer,
    scratch: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

pub(crate) struct GpuStft {
    ctx: Arc<GpuContext>,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    window: wgpu::Buffer,
    twiddles: wgpu::Buffer,
    stages: wgpu::Buffer,
    base: Params,
    max_bytes: u64,
    scratch_frame: usize,
    buffers: Mutex<Option<Buffers>>,
}

/// One piece of a split run: rows `r0..r1`, frames `f0..f1`, input samples `lo..hi` per row.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    r0: usize,
    r1: usize,
    f0: usize,
    f1: usize,
    lo: usize,
    hi: usize,
}

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

/// Scratch bytes per frame for `mem`.
pub(crate) fn scratch_per_frame(mem: FftMemory, m: usize) -> usize {
    match mem {
        FftMemory::Workgroup => 0,
        FftMemory::Global => 16 * m,
    }
}

/// Workgroup counts (x, y) for `n` workgroups, within the 65535-per-dimension limit.
pub(crate) fn grid(n: usize, max_dim: u32) -> (u32, u32) {
    let max = max_dim.max(1) as usize;
    let x = n.clamp(1, max);
    (x as u32, n.div_ceil(x) as u32)
}

impl GpuStft {
    pub fn new(
        ctx: Arc<GpuContext>,
        cfg: &StftConfig,
        max_bytes: Option<u64>,
        global_fft: bool,
    ) -> Result<Self> {
        let m = cfg.fft_len();
        let n = cfg.framing.n_fft;
        let mem = match fft_memory(&ctx, m, n)? {
            FftMemory::Workgroup if global_fft => FftMemory::Global,
            mem => mem,
        };
        let stages: Vec<[u32; 2]> = cfg.stages().iter().map(|s| [s.radix, s.ns]).collect();
        let window: Vec<f32> = cfg.window.iter().map(|&w| w as f32).collect();
        let tw = fft::twiddles(n);
        let d = &ctx.device;
        let (pipeline, layout, params, window, twiddles, stages_buf) =
            ctx.scoped("building the STFT pipeline", || {
                let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("stft.wgsl"),
                    source: wgpu::ShaderSource::Wgsl(source(Kernel::Stft, mem).into()),
                });
                let entries: Vec<_> = std::iter::once(uniform_entry(0))
                    .chain((1..=5).map(|b| storage_entry(b, true)))
                    .chain((6..=7).map(|b| storage_entry(b, false)))
                    .collect();
                let layout = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some("stft"),
                    entries: &entries,
                });
                let pl = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some("stft"),
                    bind_group_layouts: &[Some(&layout)],
                    immediate_size: 0,
                });
                let pipeline = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("stft_forward"),
                    layout: Some(&pl),
                    module: &module,
                    entry_point: Some("stft_forward"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &[("MAX_M", m as f64)],
                        ..Default::default()
                    },
                    cache: None,
                });
                let u = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
                let params = d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("stft params"),
                    size: std::mem::size_of::<Params>() as u64,
                    usage: u,
                    mapped_at_creation: false,
                });
                let st = wgpu::BufferUsages::STORAGE;
                (
                    pipeline,
                    layout,
                    params,
                    ctx.init_buffer("stft window", bytemuck::cast_slice(&window), st),
                    ctx.init_buffer("stft twiddles", bytemuck::cast_slice(&tw), st),
                    ctx.init_buffer("stft stages", bytemuck::cast_slice(&stages), st),
                )
            })?;
        let base = Params {
            n_fft: n as u32,
            m: m as u32,
            hop: cfg.framing.hop as u32,
            pad: cfg.framing.left_pad() as u32,
            pad_mode: match cfg.framing.pad_mode {
                crate::dsp::frames::PadMode::Constant => 0,
                crate::dsp::frames::PadMode::Reflect => 1,
            },
            power: cfg.epilogue.power,
            n_freq: cfg.n_freq() as u32,
            n_stages: stages.len() as u32,
            ..Default::default()
        };
        let max_bytes = max_bytes.unwrap_or(u64::MAX).min(ctx.max_binding()).max(64);
        Ok(GpuStft {
            ctx,
            pipeline,
            layout,
            params,
            window,
            twiddles,
            stages: stages_buf,
            base,
            max_bytes,
            scratch_frame: scratch_per_frame(mem, m),
            buffers: Mutex::new(None),
        })
    }

    /// Splits the run into chunks whose input and output each fit `max_bytes`.
    fn chunks(&self, lengths: &[usize], frames_max: usize, out_elems: usize) -> Result<Vec<Chunk>> {
        let rows = lengths.len();
        let max_len = lengths.iter().copied().max().unwrap_or(0);
        let nf = self.base.n_freq as usize;
        let lim = self.max_bytes as usize;
        // Output and FFT scratch are separate buffers; each must fit.
        let frame_bytes = (nf * out_elems * 4).max(self.scratch_frame);
        let in_row = max_len * 4;
        let out_row = frame_bytes * frames_max;
        let per = in_row.max(out_row).max(1);
        if per <= lim {
            let rows_per = (lim / per).max(1);
            return Ok((0..rows)
                .step_by(rows_per)
                .map(|r0| Chunk {
                    r0,
                    r1: (r0 + rows_per).min(rows),
                    f0: 0,
                    f1: frames_max,
                    lo: 0,
                    hi: max_len,
                })
                .collect());
        }
        // One row at a time, split along frames; inputs carry an n_fft margin each side for
        // reflect padding.
        let n = self.base.n_fft as usize;
        let hop = self.base.hop as usize;
        let pad = self.base.pad as usize;
        let by_out = lim / frame_bytes;
        let by_in = (lim / 4).saturating_sub(3 * n) / hop;
        let fc = by_out.min(by_in + 1);
        if fc == 0 {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: self.max_bytes,
                what: format!("one STFT frame of n_fft = {n}"),
                needed: (frame_bytes.max(3 * n * 4)) as u64,
            });
        }
        let mut out = Vec::new();
        for (r, &len) in lengths.iter().enumerate() {
            let mut f0 = 0;
            while f0 < frames_max {
                let f1 = (f0 + fc).min(frames_max);
                let lo = (f0 * hop).saturating_sub(pad + n).min(len);
                let hi = ((f1 - 1) * hop + 2 * n).saturating_sub(pad).min(len);
                out.push(Chunk {
                    r0: r,
                    r1: r + 1,
                    f0,
                    f1,
                    lo,
                    hi: hi.max(lo),
                });
                f0 = f1;
            }
        }
        Ok(out)
    }

    fn ensure_buffers(&self, slot: &mut Option<Buffers>, sizes: [u64; 4]) {
        let have = |b: &Buffers| {
            [
                b.input.size(),
                b.output.size(),
                b.scratch.size(),
                b.rows_info.size(),
            ]
        };
        if slot
            .as_ref()
            .is_some_and(|b| have(b).iter().zip(sizes).all(|(&h, n)| h >= n))
        {
            return;
        }
        // Grow to the larger of what was there and what is needed, so alternating sizes settle.
        let old = slot.as_ref().map(have).unwrap_or([0; 4]);
        let [ib, ob, sb, rb] = [0, 1, 2, 3].map(|i| old[i].max(sizes[i]).max(16));
        let c = &self.ctx;
        let input = c.storage_buffer("stft input", ib, wgpu::BufferUsages::COPY_DST);
        let output = c.storage_buffer("stft output", ob, wgpu::BufferUsages::COPY_SRC);
        let scratch = c.storage_buffer("stft fft scratch", sb, wgpu::BufferUsages::empty());
        let rows_info = c.storage_buffer("stft rows", rb, wgpu::BufferUsages::COPY_DST);
        let readback = c.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("stft readback"),
            size: ob,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind = c.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("stft"),
            layout: &self.layout,
            entries: &[
                (0, &self.params),
                (1, &input),
                (2, &rows_info),
                (3, &self.window),
                (4, &self.twiddles),
                (5, &self.stages),
                (6, &output),
                (7, &scratch),
            ]
            .map(|(b, buf)| wgpu::BindGroupEntry {
                binding: b,
                resource: buf.as_entire_binding(),
            }),
        });
        *slot = Some(Buffers {
            input,
            output,
            readback,
            rows_info,
            scratch,
            bind,
        });
    }

    /// Runs every chunk; `sink(chunk, bytes)` receives each chunk's output, laid out
    /// `(rows, freq, frames)` of that chunk.
    // The plan's buffers are held for the whole run, readback included: concurrent runs of one
    // plan take turns. The awaited readback does not yield on native targets.
    #[allow(clippy::await_holding_lock)]
    async fn execute(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        complex: bool,
        mut sink: impl FnMut(&Chunk, &[u8]),
    ) -> Result<()> {
        let out_elems = if complex { 2 } else { 1 };
        let chunks = self.chunks(lengths, frames_max, out_elems)?;
        let nf = self.base.n_freq as usize;
        let mut guard = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        let need_in = chunks
            .iter()
            .map(|c| (c.r1 - c.r0) * (c.hi - c.lo) * 4)
            .max()
            .unwrap_or(0);
        let need_out = chunks
            .iter()
            .map(|c| (c.r1 - c.r0) * nf * (c.f1 - c.f0) * out_elems * 4)
            .max()
            .unwrap_or(0);
        let info: Vec<[u32; 2]> = lengths
            .iter()
            .zip(frames)
            .map(|(&l, &f)| [l as u32, f as u32])
            .collect();
        self.ctx.scoped("allocating STFT buffers", || {
            let need_scratch = chunks
                .iter()
                .map(|c| (c.r1 - c.r0) * (c.f1 - c.f0) * self.scratch_frame)
                .max()
                .unwrap_or(0);
            let sizes = [need_in, need_out, need_scratch, lengths.len() * 8];
            self.ensure_buffers(&mut guard, sizes.map(|b| b as u64))
        })?;
        let bufs = guard
            .as_ref()
            .ok_or_else(|| Error::gpu("allocating STFT buffers", "no buffers"))?;
        self.ctx
            .queue
            .write_buffer(&bufs.rows_info, 0, bytemuck::cast_slice(&info));
        let mut staging: Vec<f32> = Vec::new();
        for c in &chunks {
            let rows = c.r1 - c.r0;
            let stride = c.hi - c.lo;
            staging.clear();
            staging.reserve(rows * stride);
            for (r, &len) in lengths.iter().enumerate().take(c.r1).skip(c.r0) {
                let row = data.row(r);
                let hi = c.hi.min(len);
                let lo = c.lo.min(hi);
                staging.extend(row.slice(s![lo..hi]).iter());
                staging.extend(std::iter::repeat_n(0.0, stride - (hi - lo)));
            }
            let params = Params {
                out_mode: if complex { 0 } else { 1 },
                frames_out: (c.f1 - c.f0) as u32,
                frame_offset: c.f0 as u32,
                sample_offset: c.lo as u32,
                row_stride: stride as u32,
                rows: rows as u32,
                row_offset: c.r0 as u32,
                ..self.base
            };
            let out_bytes = (rows * nf * (c.f1 - c.f0) * out_elems * 4) as u64;
            let q = &self.ctx.queue;
            self.ctx.scoped("running the STFT kernel", || {
                if !staging.is_empty() {
                    q.write_buffer(&bufs.input, 0, bytemuck::cast_slice(&staging));
                }
                q.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("stft"),
                        });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("stft_forward"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&self.pipeline);
                    pass.set_bind_group(0, &bufs.bind, &[]);
                    let (x, y) = grid(
                        rows * (c.f1 - c.f0),
                        self.ctx.limits.max_compute_workgroups_per_dimension,
                    );
                    pass.dispatch_workgroups(x, y, 1);
                }
                enc.copy_buffer_to_buffer(&bufs.output, 0, &bufs.readback, 0, out_bytes);
                q.submit(Some(enc.finish()));
            })?;
            self.ctx
                .read_back(&bufs.readback, out_bytes, |bytes| sink(c, bytes))
                .await?;
        }
        Ok(())
    }

    pub async fn real(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<f32>> {
        let nf = self.base.n_freq as usize;
        let mut out = Array3::<f32>::zeros((lengths.len(), nf, frames_max));
        self.execute(data, lengths, frames, frames_max, false, |c, bytes| {
            let vals: &[f32] = bytemuck::cast_slice(bytes);
            let src = ndarray::ArrayView3::from_shape((c.r1 - c.r0, nf, c.f1 - c.f0), vals)
                .expect("chunk shape");
            out.slice_mut(s![c.r0..c.r1, .., c.f0..c.f1]).assign(&src);
        })
        .await?;
        Ok(out)
    }

    pub async fn complex(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<Complex32>> {
        let nf = self.base.n_freq as usize;
        let mut out = Array3::<Complex32>::zeros((lengths.len(), nf, frames_max));
        self.execute(data, lengths, frames, frames_max, true, |c, bytes| {
            let vals: &[f32] = bytemuck::cast_slice(bytes);
            let mut dst = out.slice_mut(s![c.r0..c.r1, .., c.f0..c.f1]);
            for (d, v) in dst.iter_mut().zip(vals.chunks_exact(2)) {
                *d = Complex32::new(v[0], v[1]);
            }
        })
        .await?;
        Ok(out)
    }
}
