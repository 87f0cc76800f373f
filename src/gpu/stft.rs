//! GPU STFT: one fused kernel (`shaders/stft.wgsl`), work split to fit the device's buffers.

use std::sync::{Arc, Mutex};

use bytemuck::{Pod, Zeroable};
use ndarray::{s, Array3, ArrayView2};
use num_complex::Complex32;

use super::kernel::{grid, grown, FftKernel};
use super::shaders::Kernel;
use super::GpuContext;
use crate::dsp::frames::PadMode;
use crate::error::{Error, Result};
use crate::transform::stft::StftConfig;

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
    k: FftKernel,
    base: Params,
    max_bytes: u64,
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

impl GpuStft {
    pub fn new(
        ctx: Arc<GpuContext>,
        cfg: &StftConfig,
        max_bytes: Option<u64>,
        global_fft: bool,
    ) -> Result<Self> {
        let k = FftKernel::new(
            &ctx,
            cfg,
            Kernel::Stft,
            5,
            &["stft_forward"],
            std::mem::size_of::<Params>(),
            global_fft,
        )?;
        let base = Params {
            n_fft: cfg.framing.n_fft as u32,
            m: cfg.fft_len() as u32,
            hop: cfg.framing.hop as u32,
            pad: cfg.framing.left_pad() as u32,
            pad_mode: match cfg.framing.pad_mode {
                PadMode::Constant => 0,
                PadMode::Reflect => 1,
            },
            power: cfg.epilogue.power,
            n_freq: cfg.n_freq() as u32,
            n_stages: k.n_stages,
            ..Default::default()
        };
        let max_bytes = max_bytes.unwrap_or(u64::MAX).min(ctx.max_binding()).max(64);
        Ok(GpuStft {
            ctx,
            k,
            base,
            max_bytes,
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
        let frame_bytes = (nf * out_elems * 4).max(self.k.scratch_frame);
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
        let have = slot.as_ref().map(|b| {
            [
                b.input.size(),
                b.output.size(),
                b.scratch.size(),
                b.rows_info.size(),
            ]
        });
        let Some([ib, ob, sb, rb]) = grown(have, sizes) else {
            return;
        };
        let c = &self.ctx;
        let input = c.storage_buffer("stft input", ib, wgpu::BufferUsages::COPY_DST);
        let output = c.storage_buffer("stft output", ob, wgpu::BufferUsages::COPY_SRC);
        let scratch = c.storage_buffer("stft fft scratch", sb, wgpu::BufferUsages::empty());
        let rows_info = c.storage_buffer("stft rows", rb, wgpu::BufferUsages::COPY_DST);
        let readback = c.readback_buffer("stft readback", ob);
        let k = &self.k;
        let bind = k.bind(
            c,
            &[
                &k.params,
                &input,
                &rows_info,
                &k.window,
                &k.twiddles,
                &k.stages,
                &output,
                &scratch,
            ],
        );
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
                .map(|c| (c.r1 - c.r0) * (c.f1 - c.f0) * self.k.scratch_frame)
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
                q.write_buffer(&self.k.params, 0, bytemuck::bytes_of(&params));
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
                    pass.set_pipeline(&self.k.pipelines[0]);
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
