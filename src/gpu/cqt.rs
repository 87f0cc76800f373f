//! GPU constant-Q / variable-Q transform, full rate: one `stft_cqt` pipeline per octave
//! (`shaders/cqt.wgsl` over stft.wgsl's framing and FFT, n_fft = the octave's), all octaves
//! dispatched in one submission into one output, one readback per chunk of the run.

use std::sync::{Arc, Mutex};

use ndarray::{s, Array3, ArrayView2};
use num_complex::Complex32;

use super::kernel::{grid, grown, FftKernel, FftOptions};
use super::shaders::Kernel;
use super::stft::{place, rows_info, split_run, upload_chunk, Chunk, Params, Split};
use super::GpuContext;
use crate::dsp::cqt::OctaveBasis;
use crate::dsp::frames::{Framing, PadMode};
use crate::error::{Error, Result};
use crate::transform::stft::{Epilogue, StftConfig};

/// One octave on the device: its FFT pipeline and tables, its basis, its place in the output.
struct Octave {
    k: FftKernel,
    base: Params,
    bands: wgpu::Buffer,
    weights: wgpu::Buffer,
    /// (n_bins, bin_offset, out_bins, 0).
    info: wgpu::Buffer,
}

/// Buffers shared by the octaves, reused across runs and grown when a run needs more.
struct Buffers {
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    scratch: wgpu::Buffer,
    rows_info: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// One bind group per octave.
    binds: Vec<wgpu::BindGroup>,
}

pub(crate) struct GpuCqt {
    ctx: Arc<GpuContext>,
    octaves: Vec<Octave>,
    n_bins: usize,
    split: Split,
    /// Bound where stft.wgsl has the row maxima (unused by the CQT).
    unused: wgpu::Buffer,
    buffers: Mutex<Option<Buffers>>,
}

impl GpuCqt {
    /// Pipelines and bases for `bases` (top octave first), `gain[k]` folded into bin k's
    /// weights, frames every `hop` samples centred with `pad_mode`.
    pub fn new(
        ctx: Arc<GpuContext>,
        bases: &[OctaveBasis],
        gain: &[f64],
        hop: usize,
        pad_mode: PadMode,
        max_bytes: Option<u64>,
    ) -> Result<Self> {
        let n_bins = gain.len();
        let st = wgpu::BufferUsages::STORAGE;
        let mut octaves = Vec::with_capacity(bases.len());
        for b in bases {
            let cfg = StftConfig {
                framing: Framing {
                    n_fft: b.n_fft,
                    hop,
                    center: true,
                    pad_mode,
                },
                win_length: b.n_fft,
                window: vec![1.0; b.n_fft],
                epilogue: Epilogue { power: 1.0 },
                frames_per_workgroup: None,
            };
            // input, rows_info, window, twiddles, stages | output, scratch | bands, weights,
            // row_max (unused) | octave
            let k = FftKernel::new(
                &ctx,
                &cfg,
                Kernel::Cqt,
                &[
                    true, true, true, true, true, false, false, true, true, false, true,
                ],
                &["stft_cqt"],
                std::mem::size_of::<Params>(),
                FftOptions::default(),
            )?;
            let bands: Vec<[u32; 4]> = b.bands.iter().map(|&[f, n, o]| [f, n, o, 0]).collect();
            let mut weights = Vec::with_capacity(2 * b.weights.len());
            for (r, &[_, n, o]) in b.bands.iter().enumerate() {
                let g = gain[b.bin_lo + r];
                for w in &b.weights[o as usize..(o + n) as usize] {
                    weights.extend([(w.re * g) as f32, (w.im * g) as f32]);
                }
            }
            let info = [
                (b.bin_hi - b.bin_lo) as u32,
                b.bin_lo as u32,
                n_bins as u32,
                0,
            ];
            let octave = ctx.scoped("building the CQT bases", || Octave {
                base: Params::for_plan(&cfg, k.n_stages),
                k,
                bands: ctx.init_buffer("cqt bands", bytemuck::cast_slice(&bands), st),
                weights: ctx.init_buffer("cqt weights", bytemuck::cast_slice(&weights), st),
                info: ctx.init_buffer("cqt octave", bytemuck::cast_slice(&info), st),
            })?;
            octaves.push(octave);
        }
        let max_n_fft = bases.iter().map(|b| b.n_fft).max().unwrap_or(2);
        let scratch_frame = octaves.iter().map(|o| o.k.scratch_frame).max().unwrap_or(0);
        let unused = ctx.scoped("building the CQT bases", || {
            ctx.storage_buffer("unused", 16, wgpu::BufferUsages::empty())
        })?;
        let max_bytes = max_bytes.unwrap_or(u64::MAX).min(ctx.max_binding()).max(64);
        Ok(GpuCqt {
            ctx,
            octaves,
            n_bins,
            split: Split {
                max_bytes,
                // Per frame: the complex output (the larger) or the largest FFT scratch.
                frame_bytes: (8 * n_bins).max(scratch_frame),
                n_fft: max_n_fft,
                hop,
                pad: max_n_fft / 2,
            },
            unused,
            buffers: Mutex::new(None),
        })
    }

    /// Buffer sizes: input, output, scratch, rows_info.
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
        use wgpu::BufferUsages as U;
        let c = &self.ctx;
        let input = c.storage_buffer("cqt input", ib, U::COPY_DST);
        let output = c.storage_buffer("cqt output", ob, U::COPY_SRC);
        let scratch = c.storage_buffer("cqt fft scratch", sb, U::empty());
        let rows_info = c.storage_buffer("cqt rows", rb, U::COPY_DST);
        let readback = c.readback_buffer("cqt readback", ob);
        let binds = self
            .octaves
            .iter()
            .map(|o| {
                o.k.bind(
                    c,
                    &[
                        &o.k.params,
                        &input,
                        &rows_info,
                        &o.k.window,
                        &o.k.twiddles,
                        &o.k.stages,
                        &output,
                        &scratch,
                        &o.bands,
                        &o.weights,
                        &self.unused,
                        &o.info,
                    ],
                )
            })
            .collect();
        *slot = Some(Buffers {
            input,
            output,
            scratch,
            rows_info,
            readback,
            binds,
        });
    }

    /// Runs every chunk: all octaves in one submission, then `sink(chunk, bytes)` with the
    /// chunk's output laid out `(rows, n_bins, frames)` of the chunk, f32 |V| or (re, im).
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
        let vals = if complex { 2 } else { 1 };
        let chunks = split_run(lengths, frames_max, &self.split)?;
        let max_of = |f: &dyn Fn(&Chunk) -> usize| chunks.iter().map(f).max().unwrap_or(0);
        let need_in = max_of(&|c| (c.r1 - c.r0) * (c.hi - c.lo) * 4);
        let need_out = max_of(&|c| (c.r1 - c.r0) * self.n_bins * vals * (c.f1 - c.f0) * 4);
        let scratch_frame = self
            .octaves
            .iter()
            .map(|o| o.k.scratch_frame)
            .max()
            .unwrap_or(0);
        let need_scratch = max_of(&|c| (c.r1 - c.r0) * (c.f1 - c.f0) * scratch_frame);
        let rows = lengths.len();
        let mut guard = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        self.ctx.scoped("allocating CQT buffers", || {
            let sizes = [need_in, need_out, need_scratch, rows * 8];
            self.ensure_buffers(&mut guard, sizes.map(|b| b as u64))
        })?;
        let bufs = guard
            .as_ref()
            .ok_or_else(|| Error::gpu("allocating CQT buffers", "no buffers"))?;
        let info = rows_info(lengths, frames);
        let q = &self.ctx.queue;
        self.ctx.scoped("uploading row lengths", || {
            q.write_buffer(&bufs.rows_info, 0, bytemuck::cast_slice(&info))
        })?;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        for c in &chunks {
            let items = (c.r1 - c.r0) * (c.f1 - c.f0);
            let bytes = (items * self.n_bins * vals * 4) as u64;
            self.ctx.scoped_try("uploading samples", || {
                upload_chunk(q, &bufs.input, data, lengths, c)
            })?;
            self.ctx.scoped("running the CQT kernels", || {
                for o in &self.octaves {
                    let params = o.base.for_chunk(c, u32::from(!complex));
                    q.write_buffer(&o.k.params, 0, bytemuck::bytes_of(&params));
                }
                let mut enc = self
                    .ctx
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("cqt") });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("cqt"),
                        timestamp_writes: self.ctx.pass_timestamps("cqt"),
                    });
                    let (x, y) = grid(items, max_dim);
                    for (o, bind) in self.octaves.iter().zip(&bufs.binds) {
                        pass.set_pipeline(&o.k.pipelines[0]);
                        pass.set_bind_group(0, bind, &[]);
                        pass.dispatch_workgroups(x, y, 1);
                    }
                }
                enc.copy_buffer_to_buffer(&bufs.output, 0, &bufs.readback, 0, bytes);
                q.submit(Some(enc.finish()));
            })?;
            self.ctx
                .read_back(&bufs.readback, bytes, |b| sink(c, b))
                .await?;
        }
        Ok(())
    }

    /// |V|: `(rows, n_bins, frames_max)`.
    pub async fn run(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<f32>> {
        let rows = lengths.len();
        let mut out = Some(Array3::zeros((rows, self.n_bins, frames_max)));
        self.execute(data, lengths, frames, frames_max, false, |c, b| {
            place(&mut out, rows, frames_max, (c.r0, c.r1, c.f0, c.f1), b)
        })
        .await?;
        Ok(out.unwrap_or_else(|| Array3::zeros((rows, self.n_bins, frames_max))))
    }

    /// Complex V: `(rows, n_bins, frames_max)`.
    pub async fn complex(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<Complex32>> {
        let mut out = Array3::<Complex32>::zeros((lengths.len(), self.n_bins, frames_max));
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
