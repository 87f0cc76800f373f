//! GPU feature plans (mel, log-mel, MFCC): the STFT engine in filterbank mode, with the post
//! stages on the device when the run fits one chunk, or on the CPU twin after the readback.

use std::sync::Arc;

use ndarray::{Array3, ArrayView2, ArrayView3};

use super::stft::{upload_pieces, GpuStft, Mode, Piece};
use super::GpuContext;
use crate::cpu::features::row_max;
use crate::error::Result;
use crate::transform::features::FeatureConfig;

pub(crate) struct GpuFeatures {
    engine: GpuStft,
    cfg_post: crate::cpu::features::Post,
}

impl GpuFeatures {
    pub fn new(ctx: Arc<GpuContext>, cfg: &FeatureConfig) -> Result<Self> {
        Ok(GpuFeatures {
            engine: GpuStft::new(ctx, &cfg.stft, None, false, Some((&cfg.bank, &cfg.post)))?,
            cfg_post: cfg.post.clone(),
        })
    }

    pub async fn run(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<f32>> {
        let (x, post_done) = self
            .engine
            .real_values(data, lengths, frames, frames_max, Mode::Features)
            .await?;
        let post = &self.cfg_post;
        if post_done || post.is_empty() {
            return Ok(x);
        }
        // Split runs: the filterbank output came back in chunks; finish on the CPU twin.
        let maxes = row_max(&x, frames);
        Ok(post.apply(x, frames, &maxes))
    }

    /// The context the plan runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        self.engine.context()
    }

    /// The filterbank and post stages over a spectrogram already on this plan's device.
    pub async fn run_pieces(
        &self,
        pieces: &[Piece],
        n_freq: usize,
        frames: &[usize],
        frames_max: usize,
    ) -> Result<Array3<f32>> {
        let (x, post_done) = self
            .engine
            .bank_pieces(pieces, n_freq, frames, frames_max)
            .await?;
        let post = &self.cfg_post;
        if post_done || post.is_empty() {
            return Ok(x);
        }
        let maxes = row_max(&x, frames);
        Ok(post.apply(x, frames, &maxes))
    }

    /// Uploads a host spectrogram for [`run_pieces`](Self::run_pieces).
    pub fn upload(&self, spec: ArrayView3<'_, f32>) -> Result<Vec<Piece>> {
        upload_pieces(self.context(), spec, self.engine.max_bytes())
    }
}
