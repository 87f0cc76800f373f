//! GPU iSTFT (`shaders/istft.wgsl`): inverse FFT per frame, then overlap-add.

use std::sync::{Arc, Mutex};

use bytemuck::{Pod, Zeroable};
use ndarray::{s, Array2, ArrayView3};
use num_complex::Complex32;

use super::kernel::{grid, grown, FftKernel, FftOptions, WG};
use super::shaders::Kernel;
use super::GpuContext;
use crate::error::{Error, Result};
use crate::transform::istft::IstftShape;
use crate::transform::stft::StftConfig;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, Default)]
struct Params {
    n_fft: u32,
    m: u32,
    hop: u32,
    n_freq: u32,
    frames_in: u32,
    n_frames: u32,
    rows: u32,
    out_len: u32,
    start: u32,
    n_stages: u32,
    _pad0: u32,
    _pad1: u32,
}

struct Buffers {
    spec: wgpu::Buffer,
    frames: wgpu::Buffer,
    out: wgpu::Buffer,
    scratch: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

pub(crate) struct GpuIstft {
    ctx: Arc<GpuContext>,
    k: FftKernel,
    base: Params,
    buffers: Mutex<Option<Buffers>>,
}

impl GpuIstft {
    pub fn new(ctx: Arc<GpuContext>, cfg: &StftConfig) -> Result<Self> {
        let k = FftKernel::new(
            &ctx,
            cfg,
            Kernel::Istft,
            &[true, true, true, true, false, false, false],
            &["istft_frames", "istft_overlap"],
            std::mem::size_of::<Params>(),
            FftOptions::default(),
        )?;
        let base = Params {
            n_fft: cfg.framing.n_fft as u32,
            m: cfg.fft_len() as u32,
            hop: cfg.framing.hop as u32,
            n_freq: cfg.n_freq() as u32,
            start: cfg.framing.left_pad() as u32,
            n_stages: k.n_stages,
            ..Default::default()
        };
        Ok(GpuIstft {
            ctx,
            k,
            base,
            buffers: Mutex::new(None),
        })
    }

    fn ensure(&self, slot: &mut Option<Buffers>, sizes: [u64; 4]) {
        let have = slot.as_ref().map(|b| {
            [
                b.spec.size(),
                b.frames.size(),
                b.out.size(),
                b.scratch.size(),
            ]
        });
        let Some([sp, fb, ob, sb]) = grown(have, sizes) else {
            return;
        };
        let c = &self.ctx;
        let spec = c.storage_buffer("istft spec", sp, wgpu::BufferUsages::COPY_DST);
        let frames = c.storage_buffer("istft frames", fb, wgpu::BufferUsages::empty());
        let out = c.storage_buffer("istft out", ob, wgpu::BufferUsages::COPY_SRC);
        let scratch = c.storage_buffer("istft fft scratch", sb, wgpu::BufferUsages::empty());
        let readback = c.readback_buffer("istft readback", ob);
        let k = &self.k;
        let bind = k.bind(
            c,
            &[
                &k.params,
                &spec,
                &k.window,
                &k.twiddles,
                &k.stages,
                &frames,
                &out,
                &scratch,
            ],
        );
        *slot = Some(Buffers {
            spec,
            frames,
            out,
            scratch,
            readback,
            bind,
        });
    }

    // The plan's buffers are held for the whole run, readback included: concurrent runs of one
    // plan take turns. The awaited readback does not yield on native targets.
    #[allow(clippy::await_holding_lock)]
    pub async fn run(
        &self,
        stft: ArrayView3<'_, Complex32>,
        shape: IstftShape,
    ) -> Result<Array2<f32>> {
        let (rows, nf, frames_in) = stft.dim();
        let n = self.base.n_fft as usize;
        let lim = self.ctx.max_binding();
        let per_row = [
            (nf * frames_in * 8) as u64,
            (shape.n_frames * n * 4) as u64,
            (shape.out_len * 4) as u64,
            (shape.n_frames * self.k.scratch_frame) as u64,
        ];
        let worst = per_row.iter().copied().max().unwrap_or(0);
        if worst > lim {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: lim,
                what: "one row of the iSTFT".into(),
                needed: worst,
            });
        }
        let rows_per = ((lim / worst.max(1)) as usize).clamp(1, rows);
        let mut out = Array2::<f32>::zeros((rows, shape.out_len));
        let mut guard = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        let rp = rows_per as u64;
        self.ctx.scoped("allocating iSTFT buffers", || {
            self.ensure(&mut guard, per_row.map(|b| b * rp))
        })?;
        let bufs = guard
            .as_ref()
            .ok_or_else(|| Error::gpu("allocating iSTFT buffers", "no buffers"))?;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        for r0 in (0..rows).step_by(rows_per) {
            let r1 = (r0 + rows_per).min(rows);
            let nr = r1 - r0;
            let chunk = stft.slice(s![r0..r1, .., ..]);
            let flat: Vec<Complex32> = chunk.iter().copied().collect();
            let params = Params {
                frames_in: frames_in as u32,
                n_frames: shape.n_frames as u32,
                rows: nr as u32,
                out_len: shape.out_len as u32,
                ..self.base
            };
            let out_bytes = (nr * shape.out_len * 4) as u64;
            let q = &self.ctx.queue;
            self.ctx.scoped("running the iSTFT kernels", || {
                let pairs: Vec<[f32; 2]> = flat.iter().map(|c| [c.re, c.im]).collect();
                q.write_buffer(&bufs.spec, 0, bytemuck::cast_slice(&pairs));
                q.write_buffer(&self.k.params, 0, bytemuck::bytes_of(&params));
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("istft"),
                        });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("istft"),
                        timestamp_writes: self.ctx.pass_timestamps("istft"),
                    });
                    pass.set_bind_group(0, &bufs.bind, &[]);
                    pass.set_pipeline(&self.k.pipelines[0]);
                    let (x, y) = grid(nr * shape.n_frames, max_dim);
                    pass.dispatch_workgroups(x, y, 1);
                    pass.set_pipeline(&self.k.pipelines[1]);
                    let (x, y) = grid((nr * shape.out_len).div_ceil(WG), max_dim);
                    pass.dispatch_workgroups(x, y, 1);
                }
                if out_bytes > 0 {
                    enc.copy_buffer_to_buffer(&bufs.out, 0, &bufs.readback, 0, out_bytes);
                }
                q.submit(Some(enc.finish()));
            })?;
            if out_bytes > 0 {
                self.ctx
                    .read_back(&bufs.readback, out_bytes, |bytes| {
                        let v: &[f32] = bytemuck::cast_slice(bytes);
                        let src = ndarray::ArrayView2::from_shape((nr, shape.out_len), v)
                            .expect("chunk shape");
                        out.slice_mut(s![r0..r1, ..]).assign(&src);
                    })
                    .await?;
            }
        }
        Ok(out)
    }
}
