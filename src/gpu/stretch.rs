//! GPU phase vocoder (`time_stretch`, `pitch_shift`), in place on the rows of a batch that an
//! augmentation step stretches: `shaders/stretch.wgsl`, five dispatches for all the step's
//! stretched rows together (see the shader's header). The per-row plans (frames, the vocoder's
//! time steps in f64 as `np.arange`, lengths, resampling increments) come from
//! [`crate::augment::stretch::RowPlan`], shared with the CPU twin; the window, the FFT
//! twiddles and resampy's kaiser_best table are computed in f64 on the host and uploaded once.
//!
//! # Precision
//! f32 on the device against the f64 CPU twin: the magnitudes and phases of each frame in f32,
//! the accumulated phase kept wrapped to [-pi, pi) (librosa accumulates it unwrapped, which in
//! f32 loses about 0.06 rad per 1000 frames at the top bins). Bins whose magnitude is at f32
//! rounding level of their frame get a phase that f32 cannot pin down; their share of the
//! output is as small as their magnitude.

use std::sync::Arc;

use super::kernel::{grid, layout_entries, Scratch};
use super::shaders::{source, FftMemory, Kernel};
use super::GpuContext;
use crate::augment::stretch::{
    kaiser_best, window, RowPlan, Stretch, BINS, KAISER_PRECISION, KAISER_ZEROS, N_FFT,
};
use crate::error::{Error, Result};

const WG: usize = 256;
/// Workgroup memory the kernels declare: the 2048-point complex buffer.
const WG_BYTES: u32 = (N_FFT * 8) as u32;
/// Iterations llvmpipe allows the loops nested in one outermost shader loop.
const LLVMPIPE_LOOP_GUARD: usize = 65_535;
// The shader's table positions (2^-18 entries in 32 bits, `scale * 2^31`) and NWIN assume
// kaiser_best's 8192 entries per zero crossing and 50 crossings.
const _: () = assert!(KAISER_PRECISION == 8192 && KAISER_ZEROS * KAISER_PRECISION + 1 == 409_601);

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows_k: u32,
    stride: u32,
    max_frames: u32,
    max_synth: u32,
    groups_ola: u32,
    groups_res: u32,
    gx_analysis: u32,
    gx_vocode: u32,
    gx_synth: u32,
    gx_ola: u32,
    gx_res: u32,
    _pad: u32,
}

/// One stretched row, as the shader's `Row`.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct RowInfo {
    row: u32,
    n: u32,
    frames: u32,
    synth: u32,
    stretched: u32,
    out_valid: u32,
    in_off: u32,
    out_off: u32,
    step_off: u32,
    str_off: u32,
    pitch: u32,
    inc_int: u32,
    inc_hi: u32,
    inc_lo: u32,
    scale31: u32,
    index_step: u32,
    gain: f32,
    _pad: u32,
}

/// The phase-vocoder kernels of one device: pipelines and tables built once, scratch buffers
/// kept and grown.
pub(crate) struct GpuStretch {
    ctx: Arc<GpuContext>,
    layout: wgpu::BindGroupLayout,
    /// analysis, vocode, synth, overlap, resample.
    pipelines: Vec<wgpu::ComputePipeline>,
    /// The window, the twiddles (re, im interleaved), the kaiser_best table.
    tables: wgpu::Buffer,
    spec_in: Scratch,
    spec_out: Scratch,
    stretched: Scratch,
}

/// `x` (in [0, 2^32)) as 32.64 fixed point: (integer, high and low fraction words).
fn fixed(x: f64) -> (u32, u32, u32) {
    let i = x.floor();
    let f = (x - i) * 4_294_967_296.0;
    let hi = f.floor();
    let lo = ((f - hi) * 4_294_967_296.0).floor();
    (i as u32, hi as u32, lo as u32)
}

impl GpuStretch {
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self> {
        super::kernel::require_workgroup_bytes(
            &ctx,
            WG_BYTES,
            "the phase vocoder's 2048-point workgroup buffer",
        )?;
        let mut host: Vec<f32> = window().iter().map(|&w| w as f32).collect();
        for k in 0..N_FFT / 2 {
            let a = -2.0 * std::f64::consts::PI * k as f64 / N_FFT as f64;
            host.push(a.cos() as f32);
            host.push(a.sin() as f32);
        }
        host.extend(kaiser_best().iter().map(|&v| v as f32));
        let bytes = (host.len() * 4) as u64;
        if bytes > ctx.max_binding() {
            return Err(Error::DeviceLimit {
                limit: "max_storage_buffer_binding_size",
                max: ctx.max_binding(),
                what: "the phase vocoder's window, twiddle and kaiser_best tables".into(),
                needed: bytes,
            });
        }
        let (layout, pipelines, tables) = ctx.scoped("building the phase vocoder", || {
            let (layout, pipelines) = ctx.pipelines(
                Kernel::Stretch.file(),
                &source(Kernel::Stretch, FftMemory::Workgroup),
                &layout_entries(&[false, true, true, true, false, false, false]),
                &["analysis", "vocode", "synth", "overlap", "resample"],
                &[],
            );
            let tables = ctx.init_buffer(
                "phase vocoder tables",
                bytemuck::cast_slice(&host),
                wgpu::BufferUsages::STORAGE,
            );
            (layout, pipelines, tables)
        })?;
        Ok(GpuStretch {
            ctx,
            layout,
            pipelines,
            tables,
            spec_in: Scratch::new("phase vocoder spectra"),
            spec_out: Scratch::new("phase vocoder output frames"),
            stretched: Scratch::new("pitch shift stretched rows"),
        })
    }

    /// Records the stretch of `rows` (`(row, valid length, stretch)`) of `data` (rows `stride`
    /// f32 apart) in place, all in one compute pass; each row keeps its length, zeros where
    /// its result is shorter (the CPU twin is [`crate::augment::stretch::stretch_row`]).
    ///
    /// Rows go in groups whose spectra and stretched rows fit the device's storage binding
    /// limit, one pass per group (the passes share the scratch buffers, in order); a row that
    /// does not fit alone is an [`Error::DeviceLimit`].
    pub fn encode(
        &self,
        enc: &mut wgpu::CommandEncoder,
        data: &wgpu::Buffer,
        stride: usize,
        rows: &[(usize, usize, Stretch)],
    ) -> Result<()> {
        let lim = self.ctx.max_binding();
        // Each row's plan is made once, here, and handed to its group.
        let mut group: Vec<(usize, usize, RowPlan)> = Vec::new();
        let mut used = [0u64; 3];
        for &(row, n, s) in rows.iter().filter(|r| r.1 > 0) {
            let p = RowPlan::new(n, &s);
            let need = [
                (p.frames * BINS * 8) as u64,
                (p.synth_frames * BINS * 8) as u64,
                if p.resample.is_some() {
                    p.stretched as u64 * 4
                } else {
                    0
                },
            ];
            if !group.is_empty() && (0..3).any(|k| used[k] + need[k] > lim) {
                self.encode_group(enc, data, stride, &group)?;
                group.clear();
                used = [0; 3];
            }
            for k in 0..3 {
                used[k] += need[k];
            }
            group.push((row, n, p));
        }
        self.encode_group(enc, data, stride, &group)
    }

    /// [`encode`](Self::encode) of one group of rows, in one compute pass.
    fn encode_group(
        &self,
        enc: &mut wgpu::CommandEncoder,
        data: &wgpu::Buffer,
        stride: usize,
        rows: &[(usize, usize, RowPlan)],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut info = Vec::with_capacity(rows.len());
        let mut steps: Vec<[u32; 2]> = Vec::new();
        let (mut n_in, mut n_out, mut n_str) = (0usize, 0usize, 0usize);
        let (mut max_frames, mut max_synth, mut max_ola, mut max_res) = (1, 1, 1, 1);
        for &(row, n, ref p) in rows {
            let mut r = RowInfo {
                row: row as u32,
                n: n as u32,
                frames: p.frames as u32,
                synth: p.synth_frames as u32,
                stretched: p.stretched as u32,
                out_valid: p.out_valid as u32,
                in_off: n_in as u32,
                out_off: n_out as u32,
                step_off: steps.len() as u32,
                str_off: n_str as u32,
                gain: 1.0,
                ..RowInfo::default()
            };
            steps.extend(
                p.steps[..p.synth_frames]
                    .iter()
                    .map(|&(l, a)| [l, (a as f32).to_bits()]),
            );
            n_in += p.frames * BINS;
            n_out += p.synth_frames * BINS;
            max_frames = max_frames.max(p.frames);
            max_synth = max_synth.max(p.synth_frames);
            max_ola = max_ola.max(n);
            if let Some(rs) = &p.resample {
                let (i, hi, lo) = fixed(rs.increment);
                r.pitch = 1;
                r.inc_int = i;
                r.inc_hi = hi;
                r.inc_lo = lo;
                r.scale31 = (rs.scale * 2_147_483_648.0).round() as u32;
                r.index_step = rs.index_step.max(1) as u32;
                r.gain = if rs.ratio < 1.0 { rs.ratio as f32 } else { 1.0 };
                n_str += p.stretched;
                max_ola = max_ola.max(p.stretched);
                max_res = max_res.max(n);
                // resampy makes no output from a stretched signal this short.
                if rs.out_len == 0 {
                    r.out_valid = 0;
                }
            }
            if self.ctx.is_llvmpipe() && p.synth_frames > LLVMPIPE_LOOP_GUARD {
                return Err(Error::DeviceLimit {
                    limit: "llvmpipe loop-iteration guard",
                    max: LLVMPIPE_LOOP_GUARD as u64,
                    what: format!("the phase vocoder over a row of {n} samples"),
                    needed: p.synth_frames as u64,
                });
            }
            info.push(r);
        }
        let lim = self.ctx.max_binding();
        for (what, bytes) in [
            ("the phase vocoder's input spectra", n_in as u64 * 8),
            ("the phase vocoder's output frames", n_out as u64 * 8),
            ("pitch_shift's stretched rows", n_str as u64 * 4),
        ] {
            if bytes > lim {
                return Err(Error::DeviceLimit {
                    limit: "max_storage_buffer_binding_size",
                    max: lim,
                    what: format!("{what} of {} rows", rows.len()),
                    needed: bytes,
                });
            }
        }
        let ctx = &self.ctx;
        let k = rows.len();
        let maxd = ctx.limits.max_compute_workgroups_per_dimension;
        let (groups_ola, groups_res) = (max_ola.div_ceil(WG), max_res.div_ceil(WG));
        let ga = grid(k * max_frames, maxd);
        let gv = grid(k * BINS.div_ceil(WG), maxd);
        let gs = grid(k * max_synth, maxd);
        let go = grid(k * groups_ola, maxd);
        let gr = grid(k * groups_res, maxd);
        let params = Params {
            rows_k: k as u32,
            stride: stride as u32,
            max_frames: max_frames as u32,
            max_synth: max_synth as u32,
            groups_ola: groups_ola as u32,
            groups_res: groups_res as u32,
            gx_analysis: ga.0,
            gx_vocode: gv.0,
            gx_synth: gs.0,
            gx_ola: go.0,
            gx_res: gr.0,
            _pad: 0,
        };
        let pitch = info.iter().any(|r| r.pitch == 1);
        ctx.scoped("recording the phase vocoder", || {
            let spec_in = self.spec_in.get(ctx, (n_in as u64 * 8).max(16));
            let spec_out = self.spec_out.get(ctx, (n_out as u64 * 8).max(16));
            let stretched = self.stretched.get(ctx, (n_str as u64 * 4).max(16));
            let init = |label, contents: &[u8], usage| ctx.init_buffer(label, contents, usage);
            let st = wgpu::BufferUsages::STORAGE;
            let ubuf = init(
                "phase vocoder params",
                bytemuck::bytes_of(&params),
                wgpu::BufferUsages::UNIFORM,
            );
            let rbuf = init("phase vocoder rows", bytemuck::cast_slice(&info), st);
            let sbuf = init("phase vocoder steps", bytemuck::cast_slice(&steps), st);
            let bind = ctx.bind(
                &self.layout,
                &[
                    &ubuf,
                    data,
                    &rbuf,
                    &sbuf,
                    &self.tables,
                    &spec_in,
                    &spec_out,
                    &stretched,
                ],
            );
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("stretch"),
                timestamp_writes: ctx.pass_timestamps("stretch"),
            });
            pass.set_bind_group(0, &bind, &[]);
            let grids = [ga, gv, gs, go, gr];
            for (i, g) in grids.iter().enumerate() {
                if i == 4 && !pitch {
                    break;
                }
                pass.set_pipeline(&self.pipelines[i]);
                pass.dispatch_workgroups(g.0, g.1, 1);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_point_is_exact() {
        let (i, hi, lo) = super::fixed(1.0 / 0.8);
        assert_eq!(i, 1);
        let back = f64::from(i) + f64::from(hi) / 2f64.powi(32) + f64::from(lo) / 2f64.powi(64);
        assert_eq!(back, 1.0 / 0.8);
    }
}
