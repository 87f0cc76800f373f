//! GPU STFT and feature engine: one fused kernel per frame (`shaders/stft.wgsl`: complex bins,
//! |X|^power, or |X|^power through a sparse filterbank; or a reduction of the frame from
//! `shaders/spectral.wgsl`), optional post stages (`shaders/features.wgsl`: dB, DCT), work
//! split to fit the device's buffers.

use std::sync::{Arc, Mutex};

use bytemuck::{Pod, Zeroable};
use ndarray::{s, Array3, ArrayView2};
use num_complex::Complex32;

use super::kernel::{
    fft_memory, grid, grown, layout_entries, tile_frames, FftKernel, FftOptions,
    LLVMPIPE_FRAME_BUDGET, LLVMPIPE_TILE_BUDGET, MAX_TILE, WG,
};
use super::shaders::{source, FftMemory, Kernel};
use super::spectral::{SpectralKernel, SPECTRAL_WG_BYTES};
use super::GpuContext;
use crate::cpu::features::Post;
use crate::dsp::db::DbRef;
use crate::dsp::frames::{Framing, PadMode};
use crate::dsp::mel::SparseBank;
use crate::error::{Error, Result};
use crate::transform::stft::{Epilogue, StftConfig};

/// The uniform of `shaders/stft.wgsl` (see its `Params`).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, Default)]
pub(crate) struct Params {
    pub n_fft: u32,
    pub m: u32,
    pub hop: u32,
    pub pad: u32,
    pub pad_mode: u32,
    pub out_mode: u32,
    pub power: f32,
    pub n_freq: u32,
    pub frames_out: u32,
    pub frame_offset: u32,
    pub sample_offset: u32,
    pub row_stride: u32,
    pub rows: u32,
    pub row_offset: u32,
    pub n_stages: u32,
    pub n_bands: u32,
    pub tile: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl Params {
    /// The fields a plan fixes: framing, FFT and epilogue of `cfg`, `n_stages` FFT stages.
    pub fn for_plan(cfg: &StftConfig, n_stages: u32) -> Self {
        Params {
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
            n_stages,
            tile: 1,
            ..Default::default()
        }
    }

    /// This plan's fields with a chunk's: its rows, frames and input window.
    pub fn for_chunk(self, c: &Chunk, out_mode: u32) -> Self {
        Params {
            out_mode,
            frames_out: (c.f1 - c.f0) as u32,
            frame_offset: c.f0 as u32,
            sample_offset: c.lo as u32,
            row_stride: (c.hi - c.lo) as u32,
            rows: (c.r1 - c.r0) as u32,
            row_offset: c.r0 as u32,
            ..self
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, Default)]
struct PostParams {
    rows: u32,
    n_bands: u32,
    frames: u32,
    n_out: u32,
    per_item: u32,
    amplitude: u32,
    ref_is_max: u32,
    has_top_db: u32,
    amin: f32,
    ref_value: f32,
    top_db: f32,
    _pad0: u32,
}

/// What a run computes per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Complex bins, (rows, n_freq, frames) of (re, im).
    Complex,
    /// |X|^power per bin.
    Real,
    /// |X|^power through the filterbank, then the post stages when the run is one chunk.
    Features,
    /// The values per frame of a `shaders/spectral.wgsl` kernel.
    Spectral,
}

/// The filterbank and post stages of a feature plan, on the device.
struct Features {
    bands: wgpu::Buffer,
    weights: wgpu::Buffer,
    n_bands: usize,
    post: Post,
    post_layout: wgpu::BindGroupLayout,
    /// db_scale, dct_frames.
    post_pipes: Vec<wgpu::ComputePipeline>,
    post_params: wgpu::Buffer,
    dct: wgpu::Buffer,
    lifter: wgpu::Buffer,
    bank: std::sync::OnceLock<BankPass>,
}

/// The tables of a `shaders/spectral.wgsl` kernel, on the device.
struct SpectralDev {
    n_out: usize,
    /// Contrast bands (lo, hi, q, 0); bound where stft.wgsl has the filterbank's bands.
    bands: wgpu::Buffer,
    /// Bound where stft.wgsl has the filterbank weights (unused).
    unused: wgpu::Buffer,
    params: wgpu::Buffer,
}

/// Buffers reused across runs, grown when a run needs more.
struct Buffers {
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    scratch: wgpu::Buffer,
    rows_info: wgpu::Buffer,
    row_max: wgpu::Buffer,
    /// The post stages' output (MFCCs).
    aux: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind: wgpu::BindGroup,
    post_bind: Option<wgpu::BindGroup>,
}

pub(crate) struct GpuStft {
    ctx: Arc<GpuContext>,
    k: FftKernel,
    features: Option<Features>,
    spectral: Option<SpectralDev>,
    base: Params,
    max_bytes: u64,
    /// Frames per workgroup the plan asks for (None: chosen per chunk, see [`GpuStft::tile`]).
    tile: Option<usize>,
    /// Loop iterations one thread runs per frame in the tiled kernels, FFT and epilogue (0 for
    /// the kernels that do not tile): on llvmpipe a tile's frames must stay under its guard.
    frame_iters: usize,
    buffers: Mutex<Option<Buffers>>,
}

/// The fewest workgroups an automatically tiled dispatch keeps (when the chunk has that many
/// frames): a few waves of a large GPU (an H100's 132 SMs hold about 2,000 such workgroups at
/// once), so that tiling small runs does not leave it idle.
const MIN_WORKGROUPS: usize = 4096;

/// One piece of a split run: rows `r0..r1`, frames `f0..f1`, input samples `lo..hi` per row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk {
    pub r0: usize,
    pub r1: usize,
    pub f0: usize,
    pub f1: usize,
    pub lo: usize,
    pub hi: usize,
}

/// A piece of a spectrogram kept on the device: rows `r0..r1`, frames `f0..f1`, laid out
/// `(rows, n_freq, frames)` of the piece in `buffer` (f32).
pub(crate) struct Piece {
    pub r0: usize,
    pub r1: usize,
    pub f0: usize,
    pub f1: usize,
    pub buffer: wgpu::Buffer,
}

/// Where a run's output goes.
pub(crate) enum Sink<'s> {
    /// Read back chunk by chunk: `(chunk, bytes laid out (rows, values, frames) of the chunk)`.
    Host(&'s mut dyn FnMut(&Chunk, &[u8])),
    /// Kept on the device, one buffer per chunk (plain STFT plans only).
    Device(&'s mut Vec<Piece>),
}

/// The filterbank over a device-resident spectrogram (`shaders/bank.wgsl`), built on first use.
struct BankPass {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
    params: wgpu::Buffer,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, Default)]
struct BankParams {
    rows: u32,
    n_freq: u32,
    n_bands: u32,
    frames: u32,
    frame_offset: u32,
    row_offset: u32,
    _pad0: u32,
    _pad1: u32,
}

impl GpuStft {
    /// A plain STFT plan (`features` None), or a feature plan: filterbank `bank` then `post`.
    pub fn new(
        ctx: Arc<GpuContext>,
        cfg: &StftConfig,
        max_bytes: Option<u64>,
        global_fft: bool,
        features: Option<(&SparseBank, &Post)>,
    ) -> Result<Self> {
        // input, rows_info, window, twiddles, stages | output, scratch | bands, weights | row_max
        // The values one frame stages in a tile: |X|^power or complex bins, or the
        // filterbank's bands.
        let (layout, entry, tile_values): (&[bool], _, _) = match features {
            None => (
                &[true, true, true, true, true, false, false],
                "stft_forward",
                (cfg.n_freq(), 2 * cfg.n_freq()),
            ),
            Some((bank, _)) => (
                &[
                    true, true, true, true, true, false, false, true, true, false,
                ],
                "stft_mel",
                (bank.bands.len(), bank.bands.len()),
            ),
        };
        let k = FftKernel::new(
            &ctx,
            cfg,
            Kernel::Stft,
            layout,
            &[entry],
            std::mem::size_of::<Params>(),
            FftOptions {
                force_global: global_fft,
                tile_values,
            },
        )?;
        // What one frame adds after the FFT: the bins loop, or the power pass and the bands
        // loop with its inner loop over each band's bins.
        let per = |n: usize| n.div_ceil(WG);
        let frame_iters = k.frame_iters
            + match features {
                None => per(cfg.n_freq()),
                Some((bank, _)) => {
                    let widest = bank.bands.iter().map(|b| b[1] as usize).max().unwrap_or(0);
                    2 * per(cfg.fft_len()) + per(bank.bands.len()) * (1 + widest)
                }
            };
        if ctx.is_llvmpipe() && frame_iters > LLVMPIPE_FRAME_BUDGET {
            return Err(Error::DeviceLimit {
                limit: "llvmpipe loop-iteration guard",
                max: LLVMPIPE_FRAME_BUDGET as u64,
                what: format!(
                    "n_fft = {} (iterations per thread for one frame)",
                    cfg.framing.n_fft
                ),
                needed: frame_iters as u64,
            });
        }
        let features = match features {
            None => None,
            Some((bank, post)) => Some(Features::new(&ctx, bank, post)?),
        };
        let mut engine = Self::assemble(ctx, cfg, k, features, None, max_bytes);
        engine.frame_iters = frame_iters;
        Ok(engine)
    }

    /// A spectral-feature or frame-statistic plan: `kernel` (an entry point of
    /// `shaders/spectral.wgsl`) writes `kernel.n_out` values per frame. The spectral kernels
    /// transform each frame with `cfg`'s window and FFT and read `|X|^power` (the epilogue's
    /// power); the time-domain ones (`kernel.time_domain`) read the raw frames of `cfg`'s
    /// framing and never run the FFT.
    pub fn spectral(
        ctx: Arc<GpuContext>,
        cfg: &StftConfig,
        kernel: &SpectralKernel,
        max_bytes: Option<u64>,
    ) -> Result<Self> {
        // The time-domain kernels share the module but not the FFT: build it around a 2-point
        // FFT, so that no frame length is refused or given an FFT scratch it never uses.
        let two_point = StftConfig {
            framing: Framing {
                n_fft: 2,
                hop: 1,
                center: false,
                pad_mode: PadMode::Constant,
            },
            win_length: 2,
            window: vec![1.0; 2],
            epilogue: Epilogue { power: 1.0 },
            frames_per_workgroup: None,
        };
        let kcfg = if kernel.time_domain { &two_point } else { cfg };
        // The reductions' workgroup memory sits beside the FFT's: move the FFT to its storage
        // scratch when both would not fit.
        let m = kcfg.fft_len();
        let force_global = fft_memory(&ctx, m, kcfg.framing.n_fft)? == FftMemory::Workgroup
            && (m * 8 + SPECTRAL_WG_BYTES) as u64
                > ctx.limits.max_compute_workgroup_storage_size as u64;
        // input, rows_info, window, twiddles, stages | output, scratch | bands, unused,
        // row_max (unused) | spectral params
        let k = FftKernel::new(
            &ctx,
            kcfg,
            Kernel::Spectral,
            &[
                true, true, true, true, true, false, false, true, true, false, true,
            ],
            &[kernel.entry],
            std::mem::size_of::<Params>(),
            FftOptions {
                force_global,
                tile_values: (0, 0),
            },
        )?;
        let st = wgpu::BufferUsages::STORAGE;
        let dev = ctx.scoped("building the spectral tables", || SpectralDev {
            n_out: kernel.n_out,
            bands: ctx.init_buffer("contrast bands", bytemuck::cast_slice(&kernel.bands), st),
            unused: ctx.storage_buffer("unused", 16, wgpu::BufferUsages::empty()),
            params: ctx.init_buffer("spectral params", bytemuck::bytes_of(&kernel.params), st),
        })?;
        let mut engine = Self::assemble(ctx, cfg, k, None, Some(dev), max_bytes);
        if let Some(code) = kernel.pad_mode {
            engine.base.pad_mode = code;
        }
        Ok(engine)
    }

    fn assemble(
        ctx: Arc<GpuContext>,
        cfg: &StftConfig,
        k: FftKernel,
        features: Option<Features>,
        spectral: Option<SpectralDev>,
        max_bytes: Option<u64>,
    ) -> Self {
        let base = Params {
            n_bands: features.as_ref().map_or(0, |f| f.n_bands as u32),
            ..Params::for_plan(cfg, k.n_stages)
        };
        let max_bytes = max_bytes.unwrap_or(u64::MAX).min(ctx.max_binding()).max(64);
        GpuStft {
            ctx,
            k,
            features,
            spectral,
            base,
            max_bytes,
            tile: cfg.frames_per_workgroup,
            frame_iters: 0,
            buffers: Mutex::new(None),
        }
    }

    /// Frames per workgroup for a chunk of `rows` x `frames` in `mode`: the most that fit the
    /// plan's tile ([`MAX_TILE`] at most, 1 where the kernel does not stage; on llvmpipe, no
    /// more than its loop guard lets one workgroup loop over), halved while that would leave
    /// fewer than [`MIN_WORKGROUPS`] workgroups, unless the plan fixes it.
    fn tile(&self, mode: Mode, rows: usize, frames: usize) -> u32 {
        if !matches!(mode, Mode::Complex | Mode::Real | Mode::Features) {
            return 1;
        }
        let per = self.per_frame(mode);
        let values = if matches!(mode, Mode::Complex) {
            per / 2
        } else {
            per
        };
        let mut fit = tile_frames(self.k.tile_words, per, values).clamp(1, MAX_TILE);
        if self.ctx.is_llvmpipe() && self.frame_iters > 0 {
            fit = fit.min((LLVMPIPE_TILE_BUDGET / self.frame_iters).max(1));
        }
        let t = match self.tile {
            Some(n) => n.clamp(1, fit),
            None => {
                // A power of two, so that a tile's run of frames packs whole sectors more often.
                let mut t = 1usize << fit.ilog2();
                while t > 1 && rows * frames.div_ceil(t) < MIN_WORKGROUPS {
                    t /= 2;
                }
                t
            }
        };
        t as u32
    }

    /// The context the plan runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The largest buffer the plan binds, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// f32 values per frame of the kernel's output in `mode`.
    fn per_frame(&self, mode: Mode) -> usize {
        let nf = self.base.n_freq as usize;
        match mode {
            Mode::Complex => 2 * nf,
            Mode::Real => nf,
            Mode::Features => self.base.n_bands as usize,
            Mode::Spectral => self.spectral.as_ref().map_or(0, |s| s.n_out),
        }
    }

    /// f32 values per frame after the post stages.
    fn per_frame_final(&self) -> usize {
        match &self.features {
            Some(f) => f.post.dct.as_ref().map_or(f.n_bands, |d| d.n_out),
            None => 0,
        }
    }

    /// Splits the run into chunks whose input and output each fit `max_bytes`.
    fn chunks(&self, lengths: &[usize], frames_max: usize, mode: Mode) -> Result<Vec<Chunk>> {
        // Output, post output and FFT scratch are separate buffers; each must fit.
        let frame_bytes = (self.per_frame(mode).max(self.per_frame_final()) * 4)
            .max(self.k.scratch_frame)
            .max(1);
        split_run(
            lengths,
            frames_max,
            &Split {
                max_bytes: self.max_bytes,
                frame_bytes,
                n_fft: self.base.n_fft as usize,
                hop: self.base.hop as usize,
                pad: self.base.pad as usize,
            },
        )
    }

    /// Buffer sizes: input, output, scratch, rows_info, row_max, aux.
    fn ensure_buffers(&self, slot: &mut Option<Buffers>, sizes: [u64; 6]) {
        let have = slot.as_ref().map(|b| {
            [
                b.input.size(),
                b.output.size(),
                b.scratch.size(),
                b.rows_info.size(),
                b.row_max.size(),
                b.aux.size(),
            ]
        });
        let Some([ib, ob, sb, rb, mb, ab]) = grown(have, sizes) else {
            return;
        };
        use wgpu::BufferUsages as U;
        let c = &self.ctx;
        let input = c.storage_buffer("stft input", ib, U::COPY_DST);
        let output = c.storage_buffer("stft output", ob, U::COPY_SRC);
        let scratch = c.storage_buffer("stft fft scratch", sb, U::empty());
        let rows_info = c.storage_buffer("stft rows", rb, U::COPY_DST);
        let row_max = c.storage_buffer("row maxima", mb, U::COPY_DST);
        let aux = c.storage_buffer("post output", ab, U::COPY_SRC);
        let readback = c.readback_buffer("stft readback", ob.max(ab));
        let k = &self.k;
        let mut bound = vec![
            &k.params,
            &input,
            &rows_info,
            &k.window,
            &k.twiddles,
            &k.stages,
            &output,
            &scratch,
        ];
        let post_bind = self.features.as_ref().map(|f| {
            bound.extend([&f.bands, &f.weights, &row_max]);
            c.bind(
                &f.post_layout,
                &[
                    &f.post_params,
                    &rows_info,
                    &row_max,
                    &output,
                    &f.dct,
                    &f.lifter,
                    &aux,
                ],
            )
        });
        if let Some(sp) = &self.spectral {
            bound.extend([&sp.bands, &sp.unused, &row_max, &sp.params]);
        }
        let bind = k.bind(c, &bound);
        *slot = Some(Buffers {
            input,
            output,
            scratch,
            rows_info,
            row_max,
            aux,
            readback,
            bind,
            post_bind,
        });
    }

    /// Runs every chunk; `sink(chunk, bytes)` receives each chunk's output, laid out
    /// `(rows, values per frame, frames)` of that chunk. In `Mode::Features` a run of one chunk
    /// also runs the post stages on the device and hands over their output; the returned flag
    /// says whether it did (otherwise the caller applies them to the filterbank output).
    // The plan's buffers are held for the whole run, readback included: concurrent runs of one
    // plan take turns. The awaited readback does not yield on native targets.
    #[allow(clippy::await_holding_lock)]
    pub async fn execute(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        mode: Mode,
        mut sink: Sink<'_>,
    ) -> Result<bool> {
        if matches!(sink, Sink::Device(_))
            && (mode != Mode::Real || self.features.is_some() || self.spectral.is_some())
        {
            return Err(Error::gpu(
                "keeping an STFT on the device",
                "only plain |X|^power STFT plans keep their output on the device",
            ));
        }
        let per = self.per_frame(mode);
        let chunks = self.chunks(lengths, frames_max, mode)?;
        let post = match (&self.features, mode, chunks.len()) {
            (Some(f), Mode::Features, 1) if !f.post.is_empty() => Some(f),
            _ => None,
        };
        let mut guard = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        let max_of = |f: &dyn Fn(&Chunk) -> usize| chunks.iter().map(f).max().unwrap_or(0);
        let need_in = max_of(&|c| (c.r1 - c.r0) * (c.hi - c.lo) * 4);
        // A device-resident run writes into buffers of its own.
        let need_out = match sink {
            Sink::Device(_) => 0,
            Sink::Host(_) => max_of(&|c| (c.r1 - c.r0) * per * (c.f1 - c.f0) * 4),
        };
        let need_scratch = max_of(&|c| (c.r1 - c.r0) * (c.f1 - c.f0) * self.k.scratch_frame);
        let need_aux = match post {
            Some(_) => lengths.len() * self.per_frame_final() * frames_max * 4,
            None => 0,
        };
        let rows = lengths.len();
        self.ctx.scoped("allocating STFT buffers", || {
            let sizes = [
                need_in,
                need_out,
                need_scratch,
                rows * 8,
                rows * 4,
                need_aux,
            ];
            self.ensure_buffers(&mut guard, sizes.map(|b| b as u64))
        })?;
        let bufs = guard
            .as_ref()
            .ok_or_else(|| Error::gpu("allocating STFT buffers", "no buffers"))?;
        let info = rows_info(lengths, frames);
        let q = &self.ctx.queue;
        self.ctx.scoped("uploading row lengths", || {
            q.write_buffer(&bufs.rows_info, 0, bytemuck::cast_slice(&info));
            if mode == Mode::Features {
                q.write_buffer(&bufs.row_max, 0, &vec![0u8; rows * 4]);
            }
        })?;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        for c in &chunks {
            let nr = c.r1 - c.r0;
            let tile = self.tile(mode, c.r1 - c.r0, c.f1 - c.f0);
            let params = Params {
                tile,
                ..self.base.for_chunk(c, u32::from(mode != Mode::Complex))
            };
            let out_bytes = (nr * per * (c.f1 - c.f0) * 4) as u64;
            let mut result = (&bufs.output, out_bytes);
            let mut piece = None;
            self.ctx.scoped_try("uploading samples", || {
                upload_chunk(q, &bufs.input, data, lengths, c)
            })?;
            self.ctx.scoped("running the STFT kernels", || {
                // A device-resident run writes each chunk into a buffer of its own.
                let own = matches!(sink, Sink::Device(_)).then(|| {
                    let out = self.ctx.storage_buffer(
                        "spectrogram on the device",
                        out_bytes,
                        wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                    );
                    let k = &self.k;
                    let bind = k.bind(
                        &self.ctx,
                        &[
                            &k.params,
                            &bufs.input,
                            &bufs.rows_info,
                            &k.window,
                            &k.twiddles,
                            &k.stages,
                            &out,
                            &bufs.scratch,
                        ],
                    );
                    (out, bind)
                });
                q.write_buffer(&self.k.params, 0, bytemuck::bytes_of(&params));
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("stft"),
                        });
                {
                    let label = match (mode, post.is_some()) {
                        (Mode::Complex, _) => "stft (complex)",
                        (Mode::Real, _) => "stft",
                        (Mode::Features, false) => "stft+filterbank",
                        (Mode::Features, true) => "stft+filterbank+post",
                        (Mode::Spectral, _) => "stft+spectral",
                    };
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("stft"),
                        timestamp_writes: self.ctx.pass_timestamps(label),
                    });
                    pass.set_pipeline(&self.k.pipelines[0]);
                    pass.set_bind_group(0, own.as_ref().map_or(&bufs.bind, |o| &o.1), &[]);
                    let (x, y) = grid(nr * (c.f1 - c.f0).div_ceil(tile as usize), max_dim);
                    pass.dispatch_workgroups(x, y, 1);
                    if let (Some(f), Some(pb)) = (post, &bufs.post_bind) {
                        result = f.encode(&mut pass, pb, q, bufs, nr, frames_max, max_dim);
                    }
                }
                if own.is_none() {
                    enc.copy_buffer_to_buffer(result.0, 0, &bufs.readback, 0, result.1);
                }
                q.submit(Some(enc.finish()));
                piece = own.map(|o| o.0);
            })?;
            match (&mut sink, piece) {
                (Sink::Device(pieces), Some(buffer)) => pieces.push(Piece {
                    r0: c.r0,
                    r1: c.r1,
                    f0: c.f0,
                    f1: c.f1,
                    buffer,
                }),
                (Sink::Host(f), _) => {
                    self.ctx
                        .read_back(&bufs.readback, result.1, |bytes| f(c, bytes))
                        .await?
                }
                (Sink::Device(_), None) => {
                    return Err(Error::gpu(
                        "keeping an STFT on the device",
                        "no output buffer",
                    ))
                }
            }
        }
        Ok(post.is_some())
    }

    /// `|X|^power` kept on the device: one buffer per chunk of the run.
    pub async fn real_pieces(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Vec<Piece>> {
        let mut pieces = Vec::new();
        self.execute(
            data,
            lengths,
            frames,
            frames_max,
            Mode::Real,
            Sink::Device(&mut pieces),
        )
        .await?;
        Ok(pieces)
    }

    /// Runs `mode` and assembles `(rows, values per frame, frames_max)` f32 values.
    pub async fn real_values(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        mode: Mode,
    ) -> Result<(Array3<f32>, bool)> {
        let mut out: Option<Array3<f32>> = None;
        let rows = lengths.len();
        let post_done = self
            .execute(
                data,
                lengths,
                frames,
                frames_max,
                mode,
                Sink::Host(&mut |c, bytes| {
                    place(&mut out, rows, frames_max, (c.r0, c.r1, c.f0, c.f1), bytes)
                }),
            )
            .await?;
        let out =
            out.unwrap_or_else(|| Array3::zeros((lengths.len(), self.per_frame(mode), frames_max)));
        Ok((out, post_done))
    }

    pub async fn real(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<f32>> {
        Ok(self
            .real_values(data, lengths, frames, frames_max, Mode::Real)
            .await?
            .0)
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
        self.execute(
            data,
            lengths,
            frames,
            frames_max,
            Mode::Complex,
            Sink::Host(&mut |c, bytes| {
                let vals: &[f32] = bytemuck::cast_slice(bytes);
                let mut dst = out.slice_mut(s![c.r0..c.r1, .., c.f0..c.f1]);
                for (d, v) in dst.iter_mut().zip(vals.chunks_exact(2)) {
                    *d = Complex32::new(v[0], v[1]);
                }
            }),
        )
        .await?;
        Ok(out)
    }
}

impl GpuStft {
    /// The plan's filterbank and post stages over a spectrogram already on the device:
    /// `(rows, values per frame after the post stages, frames_max)`. One piece runs the
    /// filterbank and the post stages in one submission with one readback; several pieces
    /// read back the filterbank output piece by piece and the returned flag is false (the
    /// caller finishes the post stages on the CPU twin).
    #[allow(clippy::await_holding_lock)]
    pub async fn bank_pieces(
        &self,
        pieces: &[Piece],
        n_freq: usize,
        frames: &[usize],
        frames_max: usize,
    ) -> Result<(Array3<f32>, bool)> {
        let f = self
            .features
            .as_ref()
            .ok_or_else(|| Error::gpu("filterbank pass", "not a feature plan"))?;
        let bank = self.ctx.scoped("building the filterbank pipeline", || {
            f.bank.get_or_init(|| {
                let (layout, mut pipes) = self.ctx.pipelines(
                    "bank.wgsl",
                    &source(Kernel::Bank, FftMemory::Workgroup),
                    &layout_entries(&[true, true, true, true, false, false]),
                    &["bank_frames"],
                    &[],
                );
                BankPass {
                    layout,
                    pipeline: pipes.remove(0),
                    params: self
                        .ctx
                        .uniform_buffer("bank params", std::mem::size_of::<BankParams>() as u64),
                }
            })
        })?;
        let rows = frames.len();
        let nb = f.n_bands;
        let post = match pieces.len() {
            1 if !f.post.is_empty() => Some(f),
            _ => None,
        };
        let need_out = pieces
            .iter()
            .map(|c| (c.r1 - c.r0) * nb * (c.f1 - c.f0) * 4)
            .max()
            .unwrap_or(0);
        let need_aux = match post {
            Some(_) => rows * self.per_frame_final() * frames_max * 4,
            None => 0,
        };
        let mut guard = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        self.ctx.scoped("allocating filterbank buffers", || {
            let sizes = [0, need_out, 0, rows * 8, rows * 4, need_aux];
            self.ensure_buffers(&mut guard, sizes.map(|b| b as u64))
        })?;
        let bufs = guard
            .as_ref()
            .ok_or_else(|| Error::gpu("allocating filterbank buffers", "no buffers"))?;
        let info: Vec<[u32; 2]> = frames.iter().map(|&f| [0, f as u32]).collect();
        let q = &self.ctx.queue;
        self.ctx.scoped("uploading row lengths", || {
            q.write_buffer(&bufs.rows_info, 0, bytemuck::cast_slice(&info));
            q.write_buffer(&bufs.row_max, 0, &vec![0u8; rows * 4]);
        })?;
        let max_dim = self.ctx.limits.max_compute_workgroups_per_dimension;
        let mut out: Option<Array3<f32>> = None;
        for c in pieces {
            let (nr, nf) = (c.r1 - c.r0, c.f1 - c.f0);
            let params = BankParams {
                rows: nr as u32,
                n_freq: n_freq as u32,
                n_bands: nb as u32,
                frames: nf as u32,
                frame_offset: c.f0 as u32,
                row_offset: c.r0 as u32,
                ..Default::default()
            };
            let mut result = (&bufs.output, (nr * nb * nf * 4) as u64);
            self.ctx.scoped("running the filterbank pass", || {
                let bind = self.ctx.bind(
                    &bank.layout,
                    &[
                        &bank.params,
                        &bufs.rows_info,
                        &c.buffer,
                        &f.bands,
                        &f.weights,
                        &bufs.output,
                        &bufs.row_max,
                    ],
                );
                q.write_buffer(&bank.params, 0, bytemuck::bytes_of(&params));
                let mut enc =
                    self.ctx
                        .device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("filterbank"),
                        });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("filterbank"),
                        timestamp_writes: self.ctx.pass_timestamps("filterbank"),
                    });
                    pass.set_pipeline(&bank.pipeline);
                    pass.set_bind_group(0, &bind, &[]);
                    let (x, y) = grid((nr * nf).div_ceil(WG), max_dim);
                    pass.dispatch_workgroups(x, y, 1);
                    if let (Some(f), Some(pb)) = (post, &bufs.post_bind) {
                        result = f.encode(&mut pass, pb, q, bufs, nr, frames_max, max_dim);
                    }
                }
                enc.copy_buffer_to_buffer(result.0, 0, &bufs.readback, 0, result.1);
                q.submit(Some(enc.finish()));
            })?;
            self.ctx
                .read_back(&bufs.readback, result.1, |bytes| {
                    place(&mut out, rows, frames_max, (c.r0, c.r1, c.f0, c.f1), bytes)
                })
                .await?;
        }
        let out = out.unwrap_or_else(|| Array3::zeros((rows, nb, frames_max)));
        Ok((out, post.is_some()))
    }
}

/// What a run's split depends on: the largest binding, the bytes one frame needs in the
/// largest per-frame buffer, and the framing (the largest n_fft and padding where a plan runs
/// several FFT sizes over one input).
pub(crate) struct Split {
    pub max_bytes: u64,
    pub frame_bytes: usize,
    pub n_fft: usize,
    pub hop: usize,
    pub pad: usize,
}

/// Splits a run into chunks whose input and per-frame buffers each fit `s.max_bytes`: whole
/// rows together where a row fits, else one row at a time split along frames, with an n_fft
/// margin of input each side for reflect padding.
pub(crate) fn split_run(lengths: &[usize], frames_max: usize, s: &Split) -> Result<Vec<Chunk>> {
    let rows = lengths.len();
    let max_len = lengths.iter().copied().max().unwrap_or(0);
    let lim = s.max_bytes as usize;
    let frame_bytes = s.frame_bytes.max(1);
    let per = (max_len * 4).max(frame_bytes * frames_max).max(1);
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
    let (n, hop, pad) = (s.n_fft, s.hop, s.pad);
    let by_out = lim / frame_bytes;
    let by_in = (lim / 4).saturating_sub(3 * n) / hop;
    let fc = by_out.min(by_in + 1);
    if fc == 0 {
        return Err(Error::DeviceLimit {
            limit: "max_storage_buffer_binding_size",
            max: s.max_bytes,
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

/// Each row's (length, frames), as the kernels' `rows_info` binding holds them.
pub(crate) fn rows_info(lengths: &[usize], frames: &[usize]) -> Vec<[u32; 2]> {
    lengths
        .iter()
        .zip(frames)
        .map(|(&l, &f)| [l as u32, f as u32])
        .collect()
}

/// Uploads a chunk's input samples into `buf`, `(rows, hi - lo)` row-major, zero past each
/// row's own length, written straight from `data` into wgpu's staging memory
/// (`Queue::write_buffer_with`): no intermediate host buffer. The transfer runs with the next
/// submission.
pub(crate) fn upload_chunk(
    q: &wgpu::Queue,
    buf: &wgpu::Buffer,
    data: ArrayView2<'_, f32>,
    lengths: &[usize],
    c: &Chunk,
) -> Result<()> {
    let stride = c.hi - c.lo;
    let Some(size) = wgpu::BufferSize::new(((c.r1 - c.r0) * stride * 4) as u64) else {
        return Ok(());
    };
    let mut view = q
        .write_buffer_with(buf, 0, size)
        .ok_or_else(|| Error::gpu("uploading samples", "the input buffer is too small"))?;
    let mut dst = view.slice(..);
    for (r, &len) in lengths.iter().enumerate().take(c.r1).skip(c.r0) {
        let (mut head, rest) = dst.split_at(stride * 4);
        dst = rest;
        let hi = c.hi.min(len);
        let lo = c.lo.min(hi);
        let src = data.row(r);
        let src = src.slice(s![lo..hi]);
        let n = (hi - lo) * 4;
        match src.as_slice() {
            Some(v) => head.slice(..n).copy_from_slice(bytemuck::cast_slice(v)),
            None => head
                .slice(..n)
                .write_iter(src.iter().flat_map(|v| v.to_le_bytes())),
        }
        head.slice(n..).fill(0);
    }
    Ok(())
}

/// Copies a chunk's f32 values, laid out `(rows, values, frames)` of the chunk, into its place
/// in `(rows, values, frames_max)` (allocated on the first chunk).
pub(crate) fn place(
    out: &mut Option<Array3<f32>>,
    rows: usize,
    frames_max: usize,
    (r0, r1, f0, f1): (usize, usize, usize, usize),
    bytes: &[u8],
) {
    let vals: &[f32] = bytemuck::cast_slice(bytes);
    let per = vals.len() / ((r1 - r0) * (f1 - f0)).max(1);
    let dst = out.get_or_insert_with(|| Array3::zeros((rows, per, frames_max)));
    if let Ok(src) = ndarray::ArrayView3::from_shape((r1 - r0, per, f1 - f0), vals) {
        dst.slice_mut(s![r0..r1, .., f0..f1]).assign(&src);
    }
}

/// Uploads a host spectrogram `(rows, n_freq, frames)` as device pieces that each fit
/// `max_bytes` (rows together where they fit, else one row split along frames).
pub(crate) fn upload_pieces(
    ctx: &GpuContext,
    spec: ndarray::ArrayView3<'_, f32>,
    max_bytes: u64,
) -> Result<Vec<Piece>> {
    let (rows, nf, frames) = spec.dim();
    let lim = max_bytes.min(ctx.max_binding()).max(64) as usize;
    let col = nf * 4;
    if col > lim {
        return Err(Error::DeviceLimit {
            limit: "max_storage_buffer_binding_size",
            max: lim as u64,
            what: format!("one spectrogram frame of {nf} bins"),
            needed: col as u64,
        });
    }
    let row = (col * frames).max(1);
    let mut spans = Vec::new();
    if row <= lim {
        let per = lim / row;
        for r0 in (0..rows).step_by(per) {
            spans.push((r0, (r0 + per).min(rows), 0, frames));
        }
    } else {
        let per = lim / col;
        for r in 0..rows {
            for f0 in (0..frames).step_by(per) {
                spans.push((r, r + 1, f0, (f0 + per).min(frames)));
            }
        }
    }
    ctx.scoped("uploading a spectrogram", || {
        spans
            .into_iter()
            .map(|(r0, r1, f0, f1)| {
                let part = spec.slice(s![r0..r1, .., f0..f1]);
                let vals: Vec<f32> = part.iter().copied().collect();
                Piece {
                    r0,
                    r1,
                    f0,
                    f1,
                    buffer: ctx.init_buffer(
                        "spectrogram on the device",
                        bytemuck::cast_slice(&vals),
                        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    ),
                }
            })
            .collect()
    })
}

/// Reads device pieces back into `(rows, n_freq, frames_max)`.
pub(crate) async fn read_pieces(
    ctx: &GpuContext,
    pieces: &[Piece],
    (rows, n_freq, frames_max): (usize, usize, usize),
) -> Result<Array3<f32>> {
    let mut out = Some(Array3::zeros((rows, n_freq, frames_max)));
    for c in pieces {
        let bytes = ((c.r1 - c.r0) * n_freq * (c.f1 - c.f0) * 4) as u64;
        let readback = ctx.scoped("reading a spectrogram back", || {
            let rb = ctx.readback_buffer("spectrogram readback", bytes);
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("spectrogram readback"),
                });
            enc.copy_buffer_to_buffer(&c.buffer, 0, &rb, 0, bytes);
            ctx.queue.submit(Some(enc.finish()));
            rb
        })?;
        ctx.read_back(&readback, bytes, |b| {
            place(&mut out, rows, frames_max, (c.r0, c.r1, c.f0, c.f1), b)
        })
        .await?;
    }
    Ok(out.unwrap_or_else(|| Array3::zeros((rows, n_freq, frames_max))))
}

impl Features {
    fn new(ctx: &GpuContext, bank: &SparseBank, post: &Post) -> Result<Self> {
        let bands: Vec<[u32; 4]> = bank.bands.iter().map(|&[a, b, c]| [a, b, c, 0]).collect();
        let (dct, lifter) = match &post.dct {
            Some(d) => (d.matrix.clone(), d.lifter.clone()),
            None => (vec![0.0f32], vec![0.0f32]),
        };
        let st = wgpu::BufferUsages::STORAGE;
        ctx.scoped("building the feature pipelines", || {
            let (post_layout, post_pipes) = ctx.pipelines(
                "features.wgsl",
                &source(Kernel::Features, FftMemory::Workgroup),
                &layout_entries(&[true, true, false, true, true, false]),
                &["db_scale", "dct_frames", "norm_frames"],
                &[],
            );
            Features {
                bands: ctx.init_buffer("mel bands", bytemuck::cast_slice(&bands), st),
                weights: ctx.init_buffer("mel weights", bytemuck::cast_slice(&bank.weights), st),
                n_bands: bank.bands.len(),
                post: post.clone(),
                post_layout,
                post_pipes,
                post_params: ctx
                    .uniform_buffer("post params", std::mem::size_of::<PostParams>() as u64),
                dct: ctx.init_buffer("dct", bytemuck::cast_slice(&dct), st),
                lifter: ctx.init_buffer("lifter", bytemuck::cast_slice(&lifter), st),
                bank: std::sync::OnceLock::new(),
            }
        })
    }

    /// Records the post stages after the filterbank dispatch; returns the buffer and byte count
    /// that hold the final values.
    #[allow(clippy::too_many_arguments)]
    fn encode<'b>(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        bind: &wgpu::BindGroup,
        q: &wgpu::Queue,
        bufs: &'b Buffers,
        rows: usize,
        frames: usize,
        max_dim: u32,
    ) -> (&'b wgpu::Buffer, u64) {
        let db = self.post.db;
        let mut p = PostParams {
            rows: rows as u32,
            n_bands: self.n_bands as u32,
            frames: frames as u32,
            ..Default::default()
        };
        if let Some(db) = db {
            p.per_item = u32::from(db.per_item);
            p.amplitude = u32::from(db.amplitude);
            p.amin = db.amin;
            match db.reference {
                DbRef::Max => p.ref_is_max = 1,
                DbRef::Value(v) => p.ref_value = v,
            }
            if let Some(t) = db.top_db {
                p.has_top_db = 1;
                p.top_db = t;
            }
        }
        if let Some(d) = &self.post.dct {
            p.n_out = d.n_out as u32;
        }
        q.write_buffer(&self.post_params, 0, bytemuck::bytes_of(&p));
        pass.set_bind_group(0, bind, &[]);
        if db.is_some() {
            pass.set_pipeline(&self.post_pipes[0]);
            let (x, y) = grid((rows * self.n_bands * frames).div_ceil(WG), max_dim);
            pass.dispatch_workgroups(x, y, 1);
        }
        if self.post.normalize {
            pass.set_pipeline(&self.post_pipes[2]);
            let (x, y) = grid((rows * frames).div_ceil(WG), max_dim);
            pass.dispatch_workgroups(x, y, 1);
        }
        match &self.post.dct {
            Some(d) => {
                pass.set_pipeline(&self.post_pipes[1]);
                let (x, y) = grid((rows * frames).div_ceil(WG), max_dim);
                pass.dispatch_workgroups(x, y, 1);
                (&bufs.aux, (rows * d.n_out * frames * 4) as u64)
            }
            None => (&bufs.output, (rows * self.n_bands * frames * 4) as u64),
        }
    }
}
