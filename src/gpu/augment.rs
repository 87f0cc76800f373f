//! GPU augmentation kernels: `shaders/augment.wgsl` run step by step over a batch, all steps
//! in one submission (one upload, one readback per chunk of examples).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ndarray::{s, Array2, ArrayView2};

use super::conv::{ConvBank, GpuConv};
use super::iir::GpuIir;
use super::kernel::{grid, grown, layout_entries};
use super::shaders::{source, FftMemory, Kernel};
use super::stretch::GpuStretch;
use super::GpuContext;
use crate::augment::ops::{code, flag, OpRec, RowFilter};
use crate::augment::pipeline::Tables;
use crate::augment::spec::short_noises::{self, EVENT_WORDS};
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
    /// Workgroups along x of the color-noise grid, and its 256-sample blocks per row.
    nx_color: u32,
    blocks: u32,
    /// Workgroups along x of the convolution grid, and its 256-output blocks per row.
    nx_conv: u32,
    conv_blocks: u32,
}

struct Buffers {
    /// Sizes in bytes: data (each of a, b), lengths, ops, stats, step params, FIR taps,
    /// convolution peaks.
    sizes: [u64; 7],
    a: wgpu::Buffer,
    b: wgpu::Buffer,
    lens: wgpu::Buffer,
    ops: wgpu::Buffer,
    _stats: wgpu::Buffer,
    steps: wgpu::Buffer,
    aux: wgpu::Buffer,
    peaks: wgpu::Buffer,
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
    /// The IIR kernels the filter transforms record after a step's pass.
    iir: GpuIir,
    /// The FFT convolution of long impulse responses (see [`FFT_CONV_MIN_TAPS`]), with the
    /// pipeline's responses transformed once, and each response's bank index by its start in
    /// the noise bank.
    conv: Option<(GpuConv, ConvBank, HashMap<u32, u32>)>,
    /// The phase vocoder of time_stretch / pitch_shift, built on first use.
    stretch: std::sync::OnceLock<GpuStretch>,
}

/// Impulse responses of at least this many taps are convolved by the FFT kernel
/// (`gpu::conv`, overlap-save with 1024-sample blocks); shorter ones by the direct kernel in
/// `augment.wgsl`. A prediction, not yet a measurement (no real GPU so far): direct costs
/// `taps` multiply-adds per output, the FFT path about two 2048-point FFTs per 1024 outputs
/// plus 8 flops per partition (~110 flops per output for one partition), so they cross near a
/// few hundred taps.
pub(crate) const FFT_CONV_MIN_TAPS: u32 = 512;

impl GpuAugment {
    /// The kernels, with the pipeline's background-noise bank uploaded once, and the impulse
    /// responses `irs` (`(start, len)` in the bank) of [`FFT_CONV_MIN_TAPS`] taps or more
    /// transformed for the FFT convolution.
    pub fn new(ctx: Arc<GpuContext>, bank: &[f32], irs: &[(u32, u32)]) -> Result<Self> {
        let long: Vec<(u32, u32)> = irs
            .iter()
            .copied()
            .filter(|&(_, len)| len >= FFT_CONV_MIN_TAPS)
            .collect();
        let conv = if long.is_empty() {
            None
        } else {
            let g = GpuConv::new(ctx.clone())?;
            let responses: Vec<Vec<f32>> = long
                .iter()
                .map(|&(a, n)| bank[a as usize..(a + n) as usize].to_vec())
                .collect();
            let b = g.upload_bank(&responses)?;
            let index = long
                .iter()
                .enumerate()
                .map(|(i, &(a, _))| (a, i as u32))
                .collect();
            Some((g, b, index))
        };
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
                    &layout_entries(&[true, false, true, true, false, true, true, false]),
                    &[
                        "stats_rows",
                        "apply",
                        "select_rows",
                        "color",
                        "convolve",
                        "event_rms",
                    ],
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
            conv,
            iir: GpuIir::new(ctx.clone())?,
            ctx,
            layout,
            pipelines,
            params,
            bank,
            buffers: Mutex::new(None),
            stretch: std::sync::OnceLock::new(),
        })
    }

    fn ensure(&self, have: &mut Option<Buffers>, need: [u64; 7]) {
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
        let aux = c.storage_buffer("augment fir taps", sizes[5], wgpu::BufferUsages::COPY_DST);
        let peaks = c.storage_buffer("augment peaks", sizes[6], wgpu::BufferUsages::COPY_DST);
        let readback = c.readback_buffer("augment readback", sizes[0]);
        let binds = [
            c.bind(
                &self.layout,
                &[
                    &self.params,
                    &a,
                    &b,
                    &lens,
                    &ops,
                    &stats,
                    &self.bank,
                    &aux,
                    &peaks,
                ],
            ),
            c.bind(
                &self.layout,
                &[
                    &self.params,
                    &b,
                    &a,
                    &lens,
                    &ops,
                    &stats,
                    &self.bank,
                    &aux,
                    &peaks,
                ],
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
            aux,
            peaks,
            readback,
            binds,
        });
    }

    /// Refuses sizes the device cannot run: one example past a storage binding, or (on
    /// llvmpipe) reductions past its loop guard.
    fn check(&self, stride: usize, channels: usize, table: &[Vec<OpRec>]) -> Result<()> {
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
            let taps = table
                .iter()
                .flatten()
                .filter(|o| o.code == code::IMPULSE_RESPONSE && !self.fft_conv(o))
                .map(|o| o.c as usize)
                .max()
                .unwrap_or(0);
            let iters = (stride.div_ceil(WG) * if select { 4 * channels } else { 1 })
                .max(taps.div_ceil(WG) * (WG + 2));
            if iters > LLVMPIPE_LOOP_GUARD {
                return Err(Error::DeviceLimit {
                    limit: "llvmpipe loop-iteration guard",
                    max: LLVMPIPE_LOOP_GUARD as u64,
                    what: format!("reductions over rows of {stride} samples x {channels} channels"),
                    needed: iters as u64,
                });
            }
        }
        Ok(())
    }

    /// Refuses add_short_noises event lists past llvmpipe's loop guard (the `event_rms`
    /// kernel loops over a row's events and, nested, over each region; `apply` over the
    /// events and, nested, over the example's rows).
    fn check_events(&self, t: &Tables, channels: usize) -> Result<()> {
        if !self.ctx.is_llvmpipe() || t.events.is_empty() {
            return Ok(());
        }
        for o in t.ops.iter().flatten().filter(|o| region_events(o)) {
            let iters: usize = (o.b..o.b + o.c)
                .map(|e| {
                    let m = t.events[e as usize * EVENT_WORDS + 1] as usize;
                    m.div_ceil(WG) + 1
                })
                .sum::<usize>()
                .max(o.c as usize * channels);
            if iters > LLVMPIPE_LOOP_GUARD {
                return Err(Error::DeviceLimit {
                    limit: "llvmpipe loop-iteration guard",
                    max: LLVMPIPE_LOOP_GUARD as u64,
                    what: format!("add_short_noises over {} events", o.c),
                    needed: iters as u64,
                });
            }
        }
        Ok(())
    }

    /// True for a row this plan convolves with the FFT kernel.
    fn fft_conv(&self, o: &OpRec) -> bool {
        o.code == code::IMPULSE_RESPONSE
            && o.c >= FFT_CONV_MIN_TAPS
            && self
                .conv
                .as_ref()
                .is_some_and(|(_, _, index)| index.contains_key(&o.b))
    }

    /// The per-step uniforms of rows `r0..r1`, their op records, and the two grids.
    fn prepare(
        &self,
        table: &[Vec<OpRec>],
        (r0, r1): (usize, usize),
        stride: usize,
        channels: usize,
        seed: u64,
    ) -> (Vec<Params>, Vec<OpRec>, Grids) {
        let nr = r1 - r0;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        let apply = grid((nr * stride).div_ceil(WG), max_dim);
        let stats = grid(nr, max_dim);
        let blocks = stride.div_ceil(WG);
        let color = grid(nr * blocks, max_dim);
        let taps = table
            .iter()
            .flat_map(|s| &s[r0..r1])
            .filter(|o| o.code == code::IMPULSE_RESPONSE && !self.fft_conv(o))
            .map(|o| o.c as usize)
            .max()
            .unwrap_or(1);
        let conv_blocks = (stride + taps.max(1) - 1).div_ceil(WG).max(1);
        let conv = grid(nr * conv_blocks, max_dim);
        let mut ops: Vec<OpRec> = Vec::with_capacity(nr * table.len());
        for step in table {
            ops.extend(step[r0..r1].iter().map(|o| {
                let mut o = *o;
                if self.fft_conv(&o) {
                    o.flags |= flag::FFT_CONV;
                }
                o
            }));
        }
        let params = (0..table.len())
            .map(|st| Params {
                rows: nr as u32,
                stride: stride as u32,
                channels: channels as u32,
                step_base: (st * nr) as u32,
                nx_apply: apply.0,
                nx_stats: stats.0,
                seed_lo: seed as u32,
                seed_hi: (seed >> 32) as u32,
                nx_color: color.0,
                blocks: blocks as u32,
                nx_conv: conv.0,
                conv_blocks: conv_blocks as u32,
            })
            .collect();
        (
            params,
            ops,
            Grids {
                apply,
                stats,
                color,
                conv,
            },
        )
    }

    /// Records every step of rows `r0..r1`: per step, the uniform copied from `steps`, the
    /// reductions the step needs and the apply kernel, reading `data[s % 2]` and writing
    /// the other (bound as `binds[s % 2]`).
    #[allow(clippy::too_many_arguments)] // encoder, the ping-pong pair, the step table, rows, grids
    fn record_steps(
        &self,
        enc: &mut wgpu::CommandEncoder,
        binds: &[wgpu::BindGroup; 2],
        data: [&wgpu::Buffer; 2],
        steps: &wgpu::Buffer,
        peaks: &wgpu::Buffer,
        t: &Tables,
        (r0, r1): (usize, usize),
        (lengths, stride, channels): (&[usize], usize, usize),
        g: Grids,
    ) -> Result<()> {
        let table = &t.ops;
        let pbytes = std::mem::size_of::<Params>() as u64;
        for (st, step) in table.iter().enumerate() {
            enc.copy_buffer_to_buffer(steps, st as u64 * pbytes, &self.params, 0, pbytes);
            let step = &step[r0..r1];
            let convolve = step
                .iter()
                .any(|o| o.code == code::IMPULSE_RESPONSE && !self.fft_conv(o));
            if convolve {
                enc.clear_buffer(peaks, 0, None);
            }
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("augment step"),
                    timestamp_writes: None,
                });
                pass.set_bind_group(0, &binds[st % 2], &[]);
                if convolve {
                    pass.set_pipeline(&self.pipelines[4]);
                    pass.dispatch_workgroups(g.conv.0, g.conv.1, 1);
                }
                if step.iter().any(|o| o.code == code::COLOR_NOISE) {
                    pass.set_pipeline(&self.pipelines[3]);
                    pass.dispatch_workgroups(g.color.0, g.color.1, 1);
                }
                if step.iter().any(|o| o.needs_stats() && !o.needs_select()) {
                    pass.set_pipeline(&self.pipelines[0]);
                    pass.dispatch_workgroups(g.stats.0, g.stats.1, 1);
                }
                if step.iter().any(OpRec::needs_select) {
                    pass.set_pipeline(&self.pipelines[2]);
                    pass.dispatch_workgroups(g.stats.0, g.stats.1, 1);
                }
                if step.iter().any(region_events) {
                    pass.set_pipeline(&self.pipelines[5]);
                    pass.dispatch_workgroups(g.stats.0, g.stats.1, 1);
                }
                pass.set_pipeline(&self.pipelines[1]);
                pass.dispatch_workgroups(g.apply.0, g.apply.1, 1);
            }
            // This step's output: the IIR filters record here, in place, for the rows whose
            // code the apply kernel copied through, before the next step reads it.
            let dst = data[1 - st % 2];
            let lens = &lengths[r0..r1];
            self.record_fft_conv(enc, dst, step, lens, stride, channels)?;
            self.record_filters(enc, dst, &t.filters[st][r0..r1], lens, stride)?;
        }
        Ok(())
    }

    /// Convolves the rows of `dst` (the chunk's rows, `stride` apart) whose impulse response
    /// goes to the FFT kernel, in place, each example's rows normalised together (or each
    /// row alone where it reduces over its own row), as the direct kernel does.
    fn record_fft_conv(
        &self,
        enc: &mut wgpu::CommandEncoder,
        dst: &wgpu::Buffer,
        step: &[OpRec],
        lengths: &[usize],
        stride: usize,
        channels: usize,
    ) -> Result<()> {
        let Some((g, bank, index)) = &self.conv else {
            return Ok(());
        };
        if !step.iter().any(|o| self.fft_conv(o)) {
            return Ok(());
        }
        let lens: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
        let lbuf = self.ctx.init_buffer(
            "conv lengths",
            bytemuck::cast_slice(&lens),
            wgpu::BufferUsages::STORAGE,
        );
        for own in [false, true] {
            let irs: Vec<Option<u32>> = step
                .iter()
                .map(|o| {
                    (self.fft_conv(o) && (o.flags & flag::OWN_ROW != 0) == own)
                        .then(|| index.get(&o.b).copied())
                        .flatten()
                })
                .collect();
            if irs.iter().all(Option::is_none) {
                continue;
            }
            let group = if own { 1 } else { channels };
            g.encode(enc, dst, &lbuf, step.len(), stride, bank, &irs, Some(group))?;
        }
        Ok(())
    }

    /// Filters the rows of `dst` (the chunk's rows, `stride` apart) that have a filter at
    /// this step, in place: one IIR dispatch per IIR mode present and one FIR dispatch, the
    /// other rows given length 0 (the kernels leave them untouched).
    fn record_filters(
        &self,
        enc: &mut wgpu::CommandEncoder,
        dst: &wgpu::Buffer,
        filters: &[Option<RowFilter>],
        lengths: &[usize],
        stride: usize,
    ) -> Result<()> {
        use crate::dsp::iir::IirMode;
        // The rows `pick` selects keep their lengths; the others get 0.
        let lens_of = |pick: &dyn Fn(&RowFilter) -> bool| -> Option<wgpu::Buffer> {
            let lens: Vec<u32> = filters
                .iter()
                .zip(lengths)
                .map(|(f, &l)| match f {
                    Some(f) if pick(f) => l as u32,
                    _ => 0,
                })
                .collect();
            lens.iter().any(|&l| l > 0).then(|| {
                self.ctx.init_buffer(
                    "filter lengths",
                    bytemuck::cast_slice(&lens),
                    wgpu::BufferUsages::STORAGE,
                )
            })
        };
        let rows = filters.len();
        for mode in [IirMode::Zero, IirMode::Steady, IirMode::ZeroPhase] {
            let pick = |f: &RowFilter| matches!(f, RowFilter::Iir { mode: m, .. } if *m == mode);
            let Some(lbuf) = lens_of(&pick) else { continue };
            let sos: Vec<Vec<crate::dsp::iir::Section>> = filters
                .iter()
                .map(|f| match f {
                    Some(RowFilter::Iir { sos, mode: m }) if *m == mode => sos.clone(),
                    _ => vec![[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]],
                })
                .collect();
            self.iir.encode(enc, dst, &lbuf, rows, stride, &sos, mode)?;
        }
        if let Some(lbuf) = lens_of(&|f| matches!(f, RowFilter::Fir { .. })) {
            let taps: Vec<Vec<f64>> = filters
                .iter()
                .map(|f| match f {
                    Some(RowFilter::Fir { taps }) => taps.clone(),
                    _ => vec![1.0],
                })
                .collect();
            self.iir.encode_fir(enc, dst, &lbuf, rows, stride, &taps)?;
        }
        let stretched: Vec<_> = filters
            .iter()
            .zip(lengths)
            .enumerate()
            .filter_map(|(r, (f, &l))| match f {
                Some(RowFilter::Stretch(s)) => Some((r, l, *s)),
                _ => None,
            })
            .collect();
        if !stretched.is_empty() {
            if self.stretch.get().is_none() {
                let _ = self.stretch.set(GpuStretch::new(self.ctx.clone())?);
            }
            if let Some(g) = self.stretch.get() {
                g.encode(enc, dst, stride, &stretched)?;
            }
        }
        Ok(())
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
        t: &Tables,
        seed: u64,
    ) -> Result<Array2<f32>> {
        let (table, aux) = (&t.ops, &t.aux[..]);
        let (rows, stride) = data.dim();
        let mut out = Array2::<f32>::zeros((rows, stride));
        if rows == 0 || stride == 0 {
            return Ok(out);
        }
        self.check(stride, channels, table)?;
        let lim = self.ctx.max_binding();
        let per = ((lim / (stride * channels * 4) as u64) as usize).max(1) * channels;
        let rows_per = per.min(rows);
        let steps = table.len().max(1);
        let rec = std::mem::size_of::<OpRec>() as u64;
        let pbytes = std::mem::size_of::<Params>() as u64;
        self.check_events(t, channels)?;
        // add_short_noises' event records follow the lengths, their region sums the stats.
        let events = t.events.len() / EVENT_WORDS;
        let need = [
            (rows_per * stride * 4) as u64,
            ((rows_per + events * EVENT_WORDS) * 4) as u64,
            rec * (rows_per * steps) as u64,
            ((rows_per + events) * 16) as u64,
            pbytes * steps as u64,
            std::mem::size_of_val(aux) as u64,
            (rows_per * 4) as u64,
        ];
        if need[5] > lim {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: lim,
                what: "the FIR taps of add_color_noise".into(),
                needed: need[5],
            });
        }
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
        for r0 in (0..rows).step_by(rows_per) {
            let r1 = (r0 + rows_per).min(rows);
            let nr = r1 - r0;
            let lens: Vec<u32> = lengths[r0..r1]
                .iter()
                .map(|&l| l as u32)
                .chain(t.events.iter().copied())
                .collect();
            let (params, ops, grids) = self.prepare(table, (r0, r1), stride, channels, seed);
            let bytes = (nr * stride * 4) as u64;
            let q = &self.ctx.queue;
            self.ctx
                .scoped_try("running the augmentation kernels", || {
                    upload_rows(q, &bufs.a, data, (r0, r1))?;
                    q.write_buffer(&bufs.lens, 0, bytemuck::cast_slice(&lens));
                    if !ops.is_empty() {
                        q.write_buffer(&bufs.ops, 0, bytemuck::cast_slice(&ops));
                        q.write_buffer(&bufs.steps, 0, bytemuck::cast_slice(&params));
                    }
                    if !aux.is_empty() {
                        q.write_buffer(&bufs.aux, 0, bytemuck::cast_slice(aux));
                    }
                    let mut enc =
                        self.ctx
                            .device
                            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                                label: Some("augment"),
                            });
                    self.record_steps(
                        &mut enc,
                        &bufs.binds,
                        [&bufs.a, &bufs.b],
                        &bufs.steps,
                        &bufs.peaks,
                        t,
                        (r0, r1),
                        (lengths, stride, channels),
                        grids,
                    )?;
                    let result = if table.len() % 2 == 0 {
                        &bufs.a
                    } else {
                        &bufs.b
                    };
                    enc.copy_buffer_to_buffer(result, 0, &bufs.readback, 0, bytes);
                    q.submit(Some(enc.finish()));
                    Ok::<(), Error>(())
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

    /// Uploads a batch to stay on the device (it must fit one storage binding).
    pub fn upload(&self, data: ArrayView2<'_, f32>, lengths: &[usize]) -> Result<Resident> {
        let (rows, stride) = data.dim();
        let bytes = (rows * stride * 4) as u64;
        if bytes > self.ctx.max_binding() {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: self.ctx.max_binding(),
                what: format!("a device-resident batch of {rows} x {stride} samples"),
                needed: bytes,
            });
        }
        let lens: Vec<u32> = lengths.iter().map(|&l| l as u32).collect();
        let c = &self.ctx;
        let copy = wgpu::BufferUsages::COPY_SRC;
        let a = c.scoped_try("uploading a batch", || {
            let a = c.storage_buffer(
                "resident batch a",
                bytes,
                copy | wgpu::BufferUsages::COPY_DST,
            );
            upload_rows(&c.queue, &a, data, (0, rows)).map(|()| a)
        })?;
        c.scoped("uploading a batch", || Resident {
            data: [
                a,
                c.storage_buffer(
                    "resident batch b",
                    bytes,
                    copy | wgpu::BufferUsages::COPY_DST,
                ),
            ],
            current: 0,
            lens: c.init_buffer(
                "resident lengths",
                bytemuck::cast_slice(&lens),
                wgpu::BufferUsages::STORAGE,
            ),
            stats: c.storage_buffer(
                "resident stats",
                (rows * 16) as u64,
                wgpu::BufferUsages::empty(),
            ),
            peaks: c.storage_buffer(
                "resident peaks",
                (rows * 4) as u64,
                wgpu::BufferUsages::COPY_DST,
            ),
            rows,
            stride,
        })
    }

    /// Runs `table` over a resident batch in place, and waits for the device.
    pub fn run_resident(
        &self,
        batch: &mut Resident,
        (lengths, channels): (&[usize], usize),
        t: &Tables,
        seed: u64,
    ) -> Result<()> {
        let (table, aux) = (&t.ops, &t.aux[..]);
        let (rows, stride) = (batch.rows, batch.stride);
        if rows == 0 || stride == 0 || table.is_empty() {
            return Ok(());
        }
        self.check(stride, channels, table)?;
        self.check_events(t, channels)?;
        let (params, ops, grids) = self.prepare(table, (0, rows), stride, channels, seed);
        let c = &self.ctx;
        let cur = batch.current;
        let (x, y) = (&batch.data[cur], &batch.data[1 - cur]);
        c.scoped_try("running the augmentation kernels", || {
            let st = wgpu::BufferUsages::STORAGE;
            // add_short_noises' event records after the lengths, their sums after the stats.
            let with_events = (!t.events.is_empty()).then(|| {
                let lens: Vec<u32> = lengths
                    .iter()
                    .map(|&l| l as u32)
                    .chain(t.events.iter().copied())
                    .collect();
                let slots = rows + t.events.len() / EVENT_WORDS;
                (
                    c.init_buffer("resident lengths", bytemuck::cast_slice(&lens), st),
                    c.storage_buffer(
                        "resident stats",
                        (slots * 16) as u64,
                        wgpu::BufferUsages::empty(),
                    ),
                )
            });
            let (lens_buf, stats_buf) = with_events
                .as_ref()
                .map_or((&batch.lens, &batch.stats), |(l, s)| (l, s));
            let ops = c.init_buffer("resident ops", bytemuck::cast_slice(&ops), st);
            let aux = c.init_buffer("resident fir taps", bytemuck::cast_slice(aux), st);
            let steps = c.init_buffer(
                "resident steps",
                bytemuck::cast_slice(&params),
                wgpu::BufferUsages::COPY_SRC,
            );
            let binds = [
                c.bind(
                    &self.layout,
                    &[
                        &self.params,
                        x,
                        y,
                        lens_buf,
                        &ops,
                        stats_buf,
                        &self.bank,
                        &aux,
                        &batch.peaks,
                    ],
                ),
                c.bind(
                    &self.layout,
                    &[
                        &self.params,
                        y,
                        x,
                        lens_buf,
                        &ops,
                        stats_buf,
                        &self.bank,
                        &aux,
                        &batch.peaks,
                    ],
                ),
            ];
            let mut enc = c
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("augment resident"),
                });
            self.record_steps(
                &mut enc,
                &binds,
                [x, y],
                &steps,
                &batch.peaks,
                t,
                (0, rows),
                (lengths, stride, channels),
                grids,
            )?;
            c.queue.submit(Some(enc.finish()));
            Ok::<(), Error>(())
        })?;
        #[cfg(not(target_arch = "wasm32"))]
        c.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| c.fail(Error::gpu("device poll", e)))?;
        batch.current = (cur + table.len()) % 2;
        Ok(())
    }

    /// Reads a resident batch back.
    pub async fn download(&self, batch: &Resident) -> Result<Array2<f32>> {
        let (rows, stride) = (batch.rows, batch.stride);
        let bytes = (rows * stride * 4) as u64;
        if bytes == 0 {
            return Ok(Array2::zeros((rows, stride)));
        }
        let c = &self.ctx;
        let rb = c.scoped("reading a batch back", || {
            let rb = c.readback_buffer("resident readback", bytes);
            let mut enc = c
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("augment download"),
                });
            enc.copy_buffer_to_buffer(&batch.data[batch.current], 0, &rb, 0, bytes);
            c.queue.submit(Some(enc.finish()));
            rb
        })?;
        c.read_back(&rb, bytes, |b| {
            let v: &[f32] = bytemuck::cast_slice(b);
            Array2::from_shape_vec((rows, stride), v.to_vec()).expect("rows x stride")
        })
        .await
    }
}

/// True for an add_short_noises row whose noise level follows the clean RMS of each
/// event's region (the `event_rms` pass).
fn region_events(o: &OpRec) -> bool {
    o.code == code::SHORT_NOISES && o.d == short_noises::level::REGION
}

/// The two workgroup grids of a run: apply (one thread per sample), stats (one workgroup
/// per row).
#[derive(Debug, Clone, Copy)]
struct Grids {
    apply: (u32, u32),
    stats: (u32, u32),
    /// One workgroup per 256 samples of each row (add_color_noise's FIR).
    color: (u32, u32),
    /// One workgroup per 256 outputs of each row's full convolution.
    conv: (u32, u32),
}

/// A batch in GPU memory: two ping-pong buffers (`current` holds the samples), the row
/// lengths and the reduction scratch.
pub(crate) struct Resident {
    data: [wgpu::Buffer; 2],
    current: usize,
    lens: wgpu::Buffer,
    stats: wgpu::Buffer,
    peaks: wgpu::Buffer,
    rows: usize,
    stride: usize,
}

/// Copies rows `r0..r1` of `data` (whole rows, tails included) straight into `buf` through
/// the queue's staging memory (no intermediate vector; any memory layout).
fn upload_rows(
    q: &wgpu::Queue,
    buf: &wgpu::Buffer,
    data: ArrayView2<'_, f32>,
    (r0, r1): (usize, usize),
) -> Result<()> {
    let stride = data.ncols();
    let whole = vec![stride; data.nrows()];
    let chunk = crate::gpu::stft::Chunk {
        r0,
        r1,
        f0: 0,
        f1: 0,
        lo: 0,
        hi: stride,
    };
    crate::gpu::stft::upload_chunk(q, buf, data, &whole, &chunk)
}
