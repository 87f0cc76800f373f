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
pub(crate) const LLVMPIPE_LOOP_GUARD: usize = 65_535;
/// What the STFT kernels' tile loop may run on llvmpipe, in [`fft_frame_iterations`]' count
/// (which misses a few iterations per loop that the guard counts): measured on lavapipe, one
/// frame of n_fft 2801 (61,678) right; 7 frames of n_fft 1019 (7 x 8,173 = 57,211) right and 8
/// (65,384) wrong. A plan whose one frame needs more is refused; tiles stay under
/// [`LLVMPIPE_TILE_BUDGET`].
pub(crate) const LLVMPIPE_FRAME_BUDGET: usize = 62_000;
/// The iterations a tile of frames may take on llvmpipe (margin for the uncounted ones).
pub(crate) const LLVMPIPE_TILE_BUDGET: usize = 60_000;

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

/// Binding 0 a uniform, then storage buffers at 1, 2, ... , read-only where `read_only` says.
pub(crate) fn layout_entries(read_only: &[bool]) -> Vec<wgpu::BindGroupLayoutEntry> {
    std::iter::once(uniform_entry(0))
        .chain(
            read_only
                .iter()
                .enumerate()
                .map(|(i, &ro)| storage_entry(i as u32 + 1, ro)),
        )
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
    /// f32 words of `out_tile` (shaders/stft.wgsl) in workgroup memory: 0 when the kernel
    /// does not stage tiles of frames.
    pub tile_words: usize,
    /// Loop iterations one thread runs for one frame's FFT ([`fft_frame_iterations`]).
    pub frame_iters: usize,
}

/// Whether an FFT of complex length `m` in `mem` swizzles its workgroup memory (value i at
/// slot i's line, rotated by 3 x the line: shaders/common/fft_workgroup.wgsl's `FFT_SWIZZLE`):
/// powers of two from 32 to 8 x [`WG`] (n_fft 64 to 2048), whose stages are all whole radix-4
/// (and radix-2) butterflies. `python3 bench/smem_model.py` counts fewer workgroup-memory
/// wavefronts per frame for them (n_fft 512, power, tiles of 8: 299 -> 235), and more for
/// sizes with output-by-output stages (n_fft 400: 335 -> 353; n_fft 4096: 4163 -> 4291).
/// The swizzle moves values, not arithmetic, and takes no memory: the results are bit for bit
/// those of the plain layout.
pub(crate) fn swizzled(m: usize, mem: FftMemory) -> bool {
    mem == FftMemory::Workgroup && m.is_power_of_two() && (32..=8 * WG).contains(&m)
}

/// Loop iterations one thread runs for one frame's FFT of length `m` in `mem`: the frame
/// load, each pass of the stage loop, and each stage's own loops (an output loop, its inner
/// loop over the radix, the write-back; none for the whole-butterfly stages of workgroup
/// memory). Counted generously: llvmpipe's loop guard ([`LLVMPIPE_LOOP_GUARD`]) adds up the
/// iterations of every loop nested in an outermost one, and the STFT kernels run a tile of
/// frames inside one.
pub(crate) fn fft_frame_iterations(m: usize, mem: FftMemory) -> usize {
    let per = m.div_ceil(WG);
    per + fft::stages(m)
        .iter()
        .map(|s| {
            let r = s.radix as usize;
            let whole = (r == 2 || r == 4) && m / r <= 2 * WG && mem == FftMemory::Workgroup;
            if whole {
                1
            } else {
                1 + per * (r + 1)
            }
        })
        .sum::<usize>()
}

/// Workgroup memory a kernel may give to staging a tile of frames (shaders/stft.wgsl's
/// `out_tile`), on top of its FFT: more would cost occupancy for little.
pub(crate) const TILE_BYTES: usize = 16 << 10;
/// The most frames one workgroup stages.
pub(crate) const MAX_TILE: usize = 16;

/// How [`FftKernel::new`] builds beyond the plan's configuration.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FftOptions {
    /// Run the FFT in the storage scratch even when it fits workgroup memory.
    pub force_global: bool,
    /// The fewest and the most f32 values per frame the kernel stages in `out_tile` (its
    /// output modes); (0, 0): it does not stage.
    pub tile_values: (usize, usize),
}

/// Words of `out_tile` for up to [`MAX_TILE`] frames of `most` f32 each, within
/// [`TILE_BYTES`] and the workgroup memory the FFT leaves (`fft_bytes` of `limit`); 0 when
/// not even two frames of `fewest` fit. T frames of v values of w words take
/// v (T w + 1) words (shaders/stft.wgsl's odd `tile_pitch`): at most T + 1 frames' worth.
pub(crate) fn tile_words((fewest, most): (usize, usize), fft_bytes: usize, limit: usize) -> usize {
    // 16 bytes for the kernel's other workgroup variable (wg_max) and alignment.
    let avail = limit.saturating_sub(fft_bytes + 16).min(TILE_BYTES) / 4;
    if fewest == 0 || avail / fewest < 3 {
        0
    } else {
        avail.min((MAX_TILE + 1) * most)
    }
}

/// The frames of `per_frame` words (`values` values of 1 or 2 words) that `words` of
/// `out_tile` hold at its odd pitch (see [`tile_words`]).
pub(crate) fn tile_frames(words: usize, per_frame: usize, values: usize) -> usize {
    words.saturating_sub(values) / per_frame.max(1)
}

impl FftKernel {
    /// Builds `entry_points` of `kernel` for the plan `cfg`, with storage bindings after the
    /// uniform as `read_only` says (see [`layout_entries`]; the FFT scratch is binding 7) and
    /// a uniform of `params_size` bytes. Tiles of frames are staged only when the FFT runs in
    /// workgroup memory (the storage scratch would need storage barriers between frames).
    pub fn new(
        ctx: &GpuContext,
        cfg: &StftConfig,
        kernel: Kernel,
        read_only: &[bool],
        entry_points: &[&str],
        params_size: usize,
        opts: FftOptions,
    ) -> Result<Self> {
        let m = cfg.fft_len();
        let n = cfg.framing.n_fft;
        let mem = match fft_memory(ctx, m, n)? {
            FftMemory::Workgroup if opts.force_global => FftMemory::Global,
            mem => mem,
        };
        let tile_words = match mem {
            FftMemory::Workgroup if opts.tile_values.0 > 0 => tile_words(
                opts.tile_values,
                m * 8,
                ctx.limits.max_compute_workgroup_storage_size as usize,
            ),
            _ => 0,
        };
        let mut constants = vec![
            ("MAX_M", m as f64),
            ("FFT_SWIZZLE", f64::from(u8::from(swizzled(m, mem)))),
        ];
        if tile_words > 0 {
            constants.push(("TILE_WORDS", tile_words as f64));
        }
        let stages: Vec<[u32; 2]> = fft::stages(m).iter().map(|s| [s.radix, s.ns]).collect();
        let window: Vec<f32> = cfg.window.iter().map(|&w| w as f32).collect();
        let tw = fft::twiddles(n);
        ctx.scoped("building the FFT pipelines", || {
            let (layout, pipelines) = ctx.pipelines(
                kernel.file(),
                &source(kernel, mem),
                &layout_entries(read_only),
                entry_points,
                &constants,
            );
            let st = wgpu::BufferUsages::STORAGE;
            FftKernel {
                layout,
                pipelines,
                params: ctx.uniform_buffer("params", params_size as u64),
                window: ctx.init_buffer("window", bytemuck::cast_slice(&window), st),
                twiddles: ctx.init_buffer("twiddles", bytemuck::cast_slice(&tw), st),
                stages: ctx.init_buffer("fft stages", bytemuck::cast_slice(&stages), st),
                n_stages: stages.len() as u32,
                scratch_frame: match mem {
                    FftMemory::Workgroup => 0,
                    FftMemory::Global => 16 * m,
                },
                tile_words,
                frame_iters: fft_frame_iterations(m, mem),
            }
        })
    }

    /// A bind group over `buffers`, bound at 0, 1, 2 ... in order.
    pub fn bind(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        ctx.bind(&self.layout, buffers)
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

/// A storage buffer a kernel family keeps between calls and grows when a call needs more:
/// the latest one is shared (`Arc`) so that calls recorded before one submit all see a
/// buffer that stays alive.
pub(crate) struct Scratch {
    label: &'static str,
    buffer: std::sync::Mutex<Option<std::sync::Arc<wgpu::Buffer>>>,
}

impl Scratch {
    pub fn new(label: &'static str) -> Self {
        Scratch {
            label,
            buffer: std::sync::Mutex::new(None),
        }
    }

    /// A buffer of at least `bytes` bytes (the kept one, or a new larger one kept from now).
    pub fn get(&self, ctx: &GpuContext, bytes: u64) -> std::sync::Arc<wgpu::Buffer> {
        let mut g = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        match &*g {
            Some(b) if b.size() >= bytes => b.clone(),
            _ => {
                let b = std::sync::Arc::new(ctx.storage_buffer(
                    self.label,
                    bytes,
                    wgpu::BufferUsages::empty(),
                ));
                *g = Some(b.clone());
                b
            }
        }
    }
}

/// Refuses a device whose workgroup memory is smaller than `needed` bytes, naming `what`
/// needs it.
pub(crate) fn require_workgroup_bytes(
    ctx: &super::GpuContext,
    needed: u32,
    what: &str,
) -> crate::error::Result<()> {
    let have = ctx.limits.max_compute_workgroup_storage_size;
    if have < needed {
        return Err(crate::error::Error::DeviceLimit {
            limit: "max_compute_workgroup_storage_size",
            max: u64::from(have),
            what: what.into(),
            needed: u64::from(needed),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tile takes at most 16 KiB beside the FFT and 16 frames of the largest output, and
    /// nothing where two frames of the smallest do not fit.
    #[test]
    fn tile_words_fit_the_workgroup_memory() {
        // n_fft 512 on 48 KiB (NVIDIA): 16 KiB of tile, 14 real or 7 complex frames.
        assert_eq!(tile_words((257, 514), 2048, 48 << 10), 4096);
        assert_eq!(tile_frames(4096, 257, 257), 14);
        assert_eq!(tile_frames(4096, 514, 257), 7);
        // A tiny output: 16 frames of it.
        assert_eq!(tile_words((12, 12), 2048, 48 << 10), 17 * 12);
        assert_eq!(tile_frames(17 * 12, 12, 12), 16);
        // n_fft 2048 on 16 KiB: the FFT takes 8 KiB, one real frame fits the rest: no tile.
        assert_eq!(tile_words((1025, 2050), 8192, 16 << 10), 0);
        // n_fft 2048 on 48 KiB: 2 real frames (with the pitch), no complex pair.
        assert_eq!(tile_words((1025, 2050), 8192, 48 << 10), 4096);
        assert_eq!(tile_frames(4096, 1025, 1025), 2);
        assert_eq!(tile_frames(4096, 2050, 1025), 1);
        // Workgroup memory smaller than the FFT's.
        assert_eq!(tile_words((257, 514), 2048, 1024), 0);
        assert_eq!(tile_words((0, 0), 2048, 48 << 10), 0);
    }

    /// The swizzle: powers of two from 32 to 1024, in workgroup memory.
    #[test]
    fn swizzled_sizes() {
        let wg = FftMemory::Workgroup;
        for m in [32, 64, 128, 256, 512, 1024] {
            assert!(swizzled(m, wg), "{m}");
        }
        for m in [8, 16, 40, 200, 240, 250, 500, 56, 88, 2048, 4096] {
            assert!(!swizzled(m, wg), "{m}");
        }
        assert!(!swizzled(256, FftMemory::Global));
    }

    /// The counts the llvmpipe budgets were measured with (see LLVMPIPE_FRAME_BUDGET).
    #[test]
    fn frame_iterations_as_measured() {
        let wg = FftMemory::Workgroup;
        // Prime sizes: one stage of radix m, output by output.
        assert_eq!(fft_frame_iterations(2801, wg), 22 + 1 + 22 * 2802);
        assert_eq!(fft_frame_iterations(1019, wg), 8 + 1 + 8 * 1020);
        // n_fft 512: four radix-4 stages of whole butterflies.
        assert_eq!(fft_frame_iterations(256, wg), 2 + 4);
        // n_fft 400: radix 4 and 2 whole, 5 and 5 output by output.
        assert_eq!(fft_frame_iterations(200, wg), 2 + 2 + 2 * (1 + 2 * 6));
        // n_fft 1000: radix 4 and 2 whole, 5, 5 and 5 output by output.
        assert_eq!(fft_frame_iterations(500, wg), 4 + 1 + 3 * (1 + 4 * 6));
        // The same in a storage scratch: output by output.
        assert_eq!(
            fft_frame_iterations(256, FftMemory::Global),
            2 + 4 * (1 + 2 * 5)
        );
    }
}
