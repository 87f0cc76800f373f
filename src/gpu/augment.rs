//! GPU augmentation kernels: `shaders/augment.wgsl` run step by step over a batch, all steps
//! in one submission (one upload, one readback per chunk of examples).

use std::sync::{Arc, Mutex};

use ndarray::{s, Array2, ArrayView2};

use super::kernel::{grid, grown, layout_entries};
use super::shaders::{source, FftMemory, Kernel};
use super::GpuContext;
use crate::augment::ops::OpRec;
use crate::error::{Error, Result};

const WG: usize = 256;
/// Iterations llvmpipe allows the loops nested in one outermost shader loop.
const LLVMPIPE_LOOP_GUARD: usize = 65_535;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    stride: u32,
    channels: u32,
    step_base: u32,
    nx_apply: u32,
    nx_stats: u32,
    seed_lo: u32,
    seed_hi: u32,
}

struct Buffers {
    /// Sizes in bytes: data (each of a, b), lengths, ops, stats, step params.
    sizes: [u64; 5],
    a: wgpu::Buffer,
    b: wgpu::Buffer,
    lens: wgpu::Buffer,
    ops: wgpu::Buffer,
    _stats: wgpu::Buffer,
    steps: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// a -> b and b -> a.
    binds: [wgpu::BindGroup; 2],
}

/// The augmentation kernels of one device, built once.
pub(crate) struct GpuAugment {
    ctx: Arc<GpuContext>,
    layout: wgpu::BindGroupLayout,
    /// stats_rows, apply, select_rows.
    pipelines: Vec<wgpu::ComputePipeline>,
    params: wgpu::Buffer,
    /// Background-noise clips, concatenated.
    bank: wgpu::Buffer,
    buffers: Mutex<Option<Buffers>>,
}

impl GpuAugment {
    /// The kernels, with the pipeline's background-noise bank uploaded once.
    pub fn new(ctx: Arc<GpuContext>, bank: &[f32]) -> Result<Self> {
        let bank_bytes = std::mem::size_of_val(bank) as u64;
        if bank_bytes > ctx.max_binding() {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: ctx.max_binding(),
                what: "the background-noise bank".into(),
                needed: bank_bytes,
            });
        }
        let (layout, pipelines, params, bank) =
            ctx.scoped("building the augmentation pipelines", || {
                let (layout, pipelines) = ctx.pipelines(
                    Kernel::Augment.file(),
                    &source(Kernel::Augment, FftMemory::Workgroup),
                    &layout_entries(&[true, false, true, true, false, true]),
                    &["stats_rows", "apply", "select_rows"],
                    &[],
                );
                let params =
                    ctx.uniform_buffer("augment params", std::mem::size_of::<Params>() as u64);
                let bank = ctx.init_buffer(
                    "background noise bank",
                    bytemuck::cast_slice(bank),
                    wgpu::BufferUsages::STORAGE,
                );
                (layout, pipelines, params, bank)
            })?;
        Ok(GpuAugment {
            ctx,
            layout,
            pipelines,
            params,
            bank,
            buffers: Mutex::new(None),
        })
    }

    fn ensure(&self, have: &mut Option<Buffers>, need: [u64; 5]) {
        let Some(sizes) = grown(have.as_ref().map(|b| b.sizes), need) else {
            return;
        };
        let c = &self.ctx;
        let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let a = c.storage_buffer("augment a", sizes[0], copy);
        let b = c.storage_buffer("augment b", sizes[0], copy);
        let lens = c.storage_buffer("augment lengths", sizes[1], wgpu::BufferUsages::COPY_DST);
        let ops = c.storage_buffer("augment ops", sizes[2], wgpu::BufferUsages::COPY_DST);
        let stats = c.storage_buffer("augment stats", sizes[3], wgpu::BufferUsages::empty());
        let steps = c.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("augment steps"),
            size: sizes[4],
            usage: copy,
            mapped_at_creation: false,
        });
        let readback = c.readback_buffer("augment readback", sizes[0]);
        let binds = [
            c.bind(
                &self.layout,
                &[&self.params, &a, &b, &lens, &ops, &stats, &self.bank],
            ),
            c.bind(
                &self.layout,
                &[&self.params, &b, &a, &lens, &ops, &stats, &self.bank],
            ),
        ];
        *have = Some(Buffers {
            sizes,
            a,
            b,
            lens,
            ops,
            _stats: stats,
            steps,
            readback,
            binds,
        });
    }

    /// Runs `table` (steps x rows records) over `data`; chunks of whole examples when the
    /// batch exceeds one storage binding.
    // The buffers are held across the readback so that concurrent runs of one plan take
    // turns. The awaited readback does not yield on native targets.
    #[allow(clippy::await_holding_lock)]
    pub async fn run(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        channels: usize,
        table: &[Vec<OpRec>],
        seed: u64,
    ) -> Result<Array2<f32>> {
        let (rows, stride) = data.dim();
        let mut out = Array2::<f32>::zeros((rows, stride));
        if rows == 0 || stride == 0 {
            return Ok(out);
        }
        let lim = self.ctx.max_binding();
        let example_bytes = (stride * channels * 4) as u64;
        if example_bytes > lim {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: lim,
                what: format!("one example of {channels} x {stride} samples"),
                needed: example_bytes,
            });
        }
        // llvmpipe silently leaves loops after 65535 iterations nested in one outermost
        // loop (see kernel.rs): the reductions loop over a row per thread, the selection
        // 4 rounds over the example's rows.
        if self.ctx.is_llvmpipe() {
            let select = table.iter().flatten().any(OpRec::needs_select);
            let iters = stride.div_ceil(WG) * if select { 4 * channels } else { 1 };
            if iters > LLVMPIPE_LOOP_GUARD {
                return Err(Error::DeviceLimit {
                    limit: "llvmpipe loop-iteration guard",
                    max: LLVMPIPE_LOOP_GUARD as u64,
                    what: format!("reductions over rows of {stride} samples x {channels} channels"),
                    needed: iters as u64,
                });
            }
        }
        let per = ((lim / example_bytes) as usize).max(1) * channels;
        let rows_per = per.min(rows);
        let steps = table.len().max(1);
        let rec = std::mem::size_of::<OpRec>() as u64;
        let pbytes = std::mem::size_of::<Params>() as u64;
        let need = [
            (rows_per * stride * 4) as u64,
            (rows_per * 4) as u64,
            rec * (rows_per * steps) as u64,
            (rows_per * 16) as u64,
            pbytes * steps as u64,
        ];
        if need[2] > lim {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: lim,
                what: format!("the operation table of {steps} steps x {rows_per} rows"),
                needed: need[2],
            });
        }
        let mut guard = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        self.ctx.scoped("allocating augmentation buffers", || {
            self.ensure(&mut guard, need)
        })?;
        let bufs = guard
            .as_ref()
            .ok_or_else(|| Error::gpu("allocating augmentation buffers", "no buffers"))?;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        for r0 in (0..rows).step_by(rows_per) {
            let r1 = (r0 + rows_per).min(rows);
            let nr = r1 - r0;
            let flat: Vec<f32> = data.slice(s![r0..r1, ..]).iter().copied().collect();
            let lens: Vec<u32> = lengths[r0..r1].iter().map(|&l| l as u32).collect();
            let mut ops: Vec<OpRec> = Vec::with_capacity(nr * table.len());
            for step in table {
                ops.extend_from_slice(&step[r0..r1]);
            }
            let (ax, ay) = grid((nr * stride).div_ceil(WG), max_dim);
            let (sx, sy) = grid(nr, max_dim);
            let params: Vec<Params> = (0..table.len())
                .map(|st| Params {
                    rows: nr as u32,
                    stride: stride as u32,
                    channels: channels as u32,
                    step_base: (st * nr) as u32,
                    nx_apply: ax,
                    nx_stats: sx,
                    seed_lo: seed as u32,
                    seed_hi: (seed >> 32) as u32,
                })
                .collect();
            let bytes = (nr * stride * 4) as u64;
            let q = &self.ctx.queue;
            self.ctx.scoped("running the augmentation kernels", || {
                q.write_buffer(&bufs.a, 0, bytemuck::cast_slice(&flat));
                q.write_buffer(&bufs.lens, 0, bytemuck::cast_slice(&lens));
                if !ops.is_empty() {
                    q.write_buffer(&bufs.ops, 0, bytemuck::cast_slice(&ops));
                    q.write_buffer(&bufs.steps, 0, bytemuck::cast_slice(&params));
                }
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("augment"),
                        });
                for (st, step) in table.iter().enumerate() {
                    enc.copy_buffer_to_buffer(
                        &bufs.steps,
                        st as u64 * pbytes,
                        &self.params,
                        0,
                        pbytes,
                    );
                    let step = &step[r0..r1];
                    {
                        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some("augment step"),
                            timestamp_writes: None,
                        });
                        pass.set_bind_group(0, &bufs.binds[st % 2], &[]);
                        if step.iter().any(|o| o.needs_stats() && !o.needs_select()) {
                            pass.set_pipeline(&self.pipelines[0]);
                            pass.dispatch_workgroups(sx, sy, 1);
                        }
                        if step.iter().any(OpRec::needs_select) {
                            pass.set_pipeline(&self.pipelines[2]);
                            pass.dispatch_workgroups(sx, sy, 1);
                        }
                        pass.set_pipeline(&self.pipelines[1]);
                        pass.dispatch_workgroups(ax, ay, 1);
                    }
                    // This step's output: kernels of other families (the IIR filters) record
                    // here, in place on `_dst` for the rows whose code the apply kernel
                    // copied through, before the next step reads it.
                    let _dst = if st % 2 == 0 { &bufs.b } else { &bufs.a };
                }
                let result = if table.len() % 2 == 0 {
                    &bufs.a
                } else {
                    &bufs.b
                };
                enc.copy_buffer_to_buffer(result, 0, &bufs.readback, 0, bytes);
                q.submit(Some(enc.finish()));
            })?;
            self.ctx
                .read_back(&bufs.readback, bytes, |b| {
                    let v: &[f32] = bytemuck::cast_slice(b);
                    let src = ArrayView2::from_shape((nr, stride), v).expect("chunk shape");
                    out.slice_mut(s![r0..r1, ..]).assign(&src);
                })
                .await?;
        }
        Ok(out)
    }
}
