//! GPU spectral features and frame statistics: the STFT engine running a
//! `shaders/spectral.wgsl` kernel, which reduces each frame in workgroup memory (after the
//! frame's FFT for the spectral features, straight from the signal for rms and zero-crossing
//! rate) and writes a few values per frame. Every chunk of a split run is reduced on the
//! device the same way; only spectral contrast's dB step runs on the host (it needs the whole
//! array's maximum), on the read-back peaks and valleys.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use ndarray::{Array3, ArrayView2};

use super::stft::{GpuStft, Mode};
use super::GpuContext;
use crate::cpu::spectral::{Band, FrameStat, Reduce, ZCR_THRESHOLD};
use crate::error::Result;
use crate::transform::stft::StftConfig;

/// Workgroup memory of the spectral kernels besides the FFT's: `red` (128 vec4<f32>), `hist`
/// (32 u32), `picked` (vec4<u32>), `first_bin` (u32).
pub(crate) const SPECTRAL_WG_BYTES: usize = 128 * 16 + 32 * 4 + 16 + 4;

/// `struct Spectral` of `shaders/spectral.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, Default)]
pub(crate) struct SpectralParams {
    bin_hz: f32,
    p: f32,
    roll_percent: f32,
    amin: f32,
    n_bands: u32,
    threshold: f32,
    n_out: u32,
    _pad0: u32,
}

/// One kernel of `shaders/spectral.wgsl` and its tables.
#[derive(Debug, Clone)]
pub(crate) struct SpectralKernel {
    pub entry: &'static str,
    pub n_out: usize,
    pub params: SpectralParams,
    /// Contrast bands `(lo, hi, q, 0)`; one unused entry otherwise.
    pub bands: Vec<[u32; 4]>,
    /// Reads raw frames (rms, zcr): no FFT.
    pub time_domain: bool,
    /// The kernel's padding code when not the framing's own (2: repeat the end samples).
    pub pad_mode: Option<u32>,
}

/// The largest f32 `t` with `t <= x`, so that `|v| <= t` for f32 `v` is `|v| <= x` in f64.
fn f32_at_most(x: f64) -> f32 {
    let t = x as f32;
    if t as f64 > x {
        f32::from_bits(t.to_bits() - 1)
    } else {
        t
    }
}

impl SpectralKernel {
    /// The kernel reducing each STFT frame by `reduce`, bins `hz` apart.
    pub fn spectral(reduce: &Reduce, hz: f64) -> Self {
        let mut params = SpectralParams {
            bin_hz: hz as f32,
            n_out: reduce.n_out() as u32,
            ..Default::default()
        };
        let mut bands = vec![[0u32; 4]];
        let entry = match reduce {
            Reduce::Centroid => "spectral_centroid",
            Reduce::Bandwidth { p } => {
                params.p = *p as f32;
                "spectral_bandwidth"
            }
            Reduce::Rolloff { roll_percent } => {
                params.roll_percent = *roll_percent as f32;
                "spectral_rolloff"
            }
            Reduce::Flatness { amin, .. } => {
                params.amin = *amin as f32;
                "spectral_flatness"
            }
            Reduce::Contrast { bands: b } => {
                params.n_bands = b.len() as u32;
                bands = b
                    .iter()
                    .map(|&Band { lo, hi, q }| [lo as u32, hi as u32, q as u32, 0])
                    .collect();
                "spectral_contrast"
            }
        };
        SpectralKernel {
            entry,
            n_out: reduce.n_out(),
            params,
            bands,
            time_domain: false,
            pad_mode: None,
        }
    }

    /// The kernel computing `stat` over raw frames.
    pub fn frame_stat(stat: FrameStat) -> Self {
        let (entry, pad_mode) = match stat {
            FrameStat::Rms => ("frame_rms", None),
            FrameStat::Zcr => ("frame_zcr", Some(2)),
        };
        SpectralKernel {
            entry,
            n_out: 1,
            params: SpectralParams {
                threshold: f32_at_most(ZCR_THRESHOLD),
                n_out: 1,
                ..Default::default()
            },
            bands: vec![[0u32; 4]],
            time_domain: true,
            pad_mode,
        }
    }
}

pub(crate) struct GpuSpectral {
    engine: GpuStft,
}

impl GpuSpectral {
    /// `cfg` gives the framing (and for spectral kernels the window and the power of the
    /// spectrum the kernel reads).
    pub fn new(
        ctx: Arc<GpuContext>,
        cfg: &StftConfig,
        kernel: &SpectralKernel,
        max_bytes: Option<u64>,
    ) -> Result<Self> {
        Ok(GpuSpectral {
            engine: GpuStft::spectral(ctx, cfg, kernel, max_bytes)?,
        })
    }

    /// `(rows, n_out, frames_max)`, zeros past a row's own frames.
    pub async fn run(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<f32>> {
        Ok(self
            .engine
            .real_values(data, lengths, frames, frames_max, Mode::Spectral)
            .await?
            .0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_rounds_down() {
        let t = f32_at_most(1e-10);
        assert!(t as f64 <= 1e-10);
        assert!(f32::from_bits(t.to_bits() + 1) as f64 > 1e-10);
    }
}
