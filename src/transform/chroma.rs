//! The chroma plan (librosa.feature.chroma_stft with a given tuning).

use ndarray::Array3;

use crate::audio::{Audio, AudioBatch};
use crate::cpu::features::Post;
use crate::device::Device;
use crate::dsp::chroma::{chroma_filterbank, ChromaParams};
use crate::dsp::frames::PadMode;
use crate::dsp::mel::SparseBank;
use crate::dsp::window::Window;
use crate::error::Result;
use crate::transform::features::{FeatureConfig, FeaturePlan};
use crate::transform::stft::{Spectrogram, StftBuilder};

impl Spectrogram {
    /// A chromagram for audio at `sample_rate`, librosa.feature.chroma_stft's defaults (n_fft
    /// 2048, hop 512, power spectrum, 12 bins from C, each frame divided by its maximum) except
    /// the tuning: librosa estimates it from the audio when not given (`estimate_tuning`, a
    /// pitch tracker); this plan takes it as a parameter, 0 (A440) by default. For audio tuned
    /// away from A440 pass librosa's estimate, `.tuning(librosa.estimate_tuning(y=y, sr=sr))`.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let a4: Vec<f32> = (0..22_050).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22_050.0).sin()).collect();
    /// let chroma = Spectrogram::chroma(22_050).build(&Device::cpu())?;
    /// let c = chroma.run(&Audio::from_mono(a4, 22_050))?;       // (channels, 12, frames)
    /// assert_eq!(c.dim().1, 12);
    /// assert_eq!(c[[0, 9, 20]], 1.0);                            // A is the loudest pitch class
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn chroma(sample_rate: u32) -> ChromaBuilder {
        ChromaBuilder {
            stft: Spectrogram::stft().power(2.0),
            sr: sample_rate,
            n_chroma: 12,
            tuning: 0.0,
            ctroct: 5.0,
            octwidth: Some(2.0),
            base_c: true,
            normalize: true,
        }
    }
}

/// Builder of a [`Chroma`] plan.
#[derive(Debug, Clone)]
pub struct ChromaBuilder {
    stft: StftBuilder,
    sr: u32,
    n_chroma: usize,
    tuning: f64,
    ctroct: f64,
    octwidth: Option<f64>,
    base_c: bool,
    normalize: bool,
}

impl ChromaBuilder {
    crate::transform::mel::stft_setters!(stft);

    /// Exponent of the magnitude before the filterbank. Default 2 (power).
    pub fn power(mut self, p: f32) -> Self {
        self.stft = self.stft.power(p);
        self
    }
    /// Bins per octave. Default 12.
    pub fn n_chroma(mut self, n: usize) -> Self {
        self.n_chroma = n;
        self
    }
    /// Deviation from A440 in fractions of a bin, in [-0.5, 0.5]. Default 0.
    pub fn tuning(mut self, t: f64) -> Self {
        self.tuning = t;
        self
    }
    /// Centre of the octave weighting (octaves above C0). Default 5.
    pub fn ctroct(mut self, c: f64) -> Self {
        self.ctroct = c;
        self
    }
    /// Width of the octave weighting in octaves; None for flat. Default Some(2).
    pub fn octwidth(mut self, w: Option<f64>) -> Self {
        self.octwidth = w;
        self
    }
    /// Start at C (default) or at A.
    pub fn base_c(mut self, on: bool) -> Self {
        self.base_c = on;
        self
    }
    /// Divide each frame by its largest bin (librosa's `norm=np.inf`, the default), or not
    /// (`norm=None`).
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Chroma> {
        let stft = self.stft.resolve()?;
        let params = ChromaParams {
            n_chroma: self.n_chroma,
            tuning: self.tuning,
            ctroct: self.ctroct,
            octwidth: self.octwidth,
            base_c: self.base_c,
            ..ChromaParams::new(self.sr, stft.framing.n_fft)
        };
        let dense = chroma_filterbank(&params)?;
        let bank = SparseBank::from_dense(&dense, self.n_chroma, stft.n_freq());
        let cfg = FeatureConfig {
            stft,
            sr: self.sr,
            bank,
            post: Post {
                normalize: self.normalize,
                ..Post::default()
            },
        };
        Ok(Chroma {
            plan: FeaturePlan::new(cfg, device)?,
        })
    }
}

/// A built chroma plan: `Send + Sync`, run it many times.
pub struct Chroma {
    plan: FeaturePlan,
}
crate::transform::features::feature_plan_api!(Chroma, "chromagram");
