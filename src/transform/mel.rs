//! Mel spectrogram, log-mel (dB) and MFCC plans.

use ndarray::Array3;

use crate::audio::{Audio, AudioBatch};
use crate::cpu::features::{Dct, Post};
use crate::device::Device;
use crate::dsp::db::DbScale;
use crate::dsp::dct::dct2_ortho;
use crate::dsp::frames::PadMode;
use crate::dsp::mel::{MelNorm, MelParams, SparseBank};
use crate::dsp::window::Window;
use crate::error::{Error, Result};
use crate::transform::features::{FeatureConfig, FeaturePlan};
use crate::transform::stft::{Spectrogram, StftBuilder};

impl Spectrogram {
    /// A mel spectrogram for audio at `sample_rate`, librosa.feature.melspectrogram's defaults:
    /// n_fft 2048, hop 512, Hann, centred with zero padding, power 2, 128 Slaney-normalised
    /// bands on the Slaney scale from 0 Hz to `sample_rate / 2`.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let audio = Audio::from_mono((0..16_000).map(|i| (i as f32 * 0.3).sin()).collect(), 16_000);
    /// let mel = Spectrogram::mel(16_000).n_fft(512).hop_length(160).n_mels(80).build(&Device::cpu())?;
    /// let m = mel.run(&audio)?;                        // (channels, n_mels, frames)
    /// assert_eq!(m.dim(), (1, 80, 101));
    /// // log-mel: librosa.power_to_db(ref=1.0, top_db=80) on the same plan
    /// let logmel = Spectrogram::mel(16_000).n_fft(512).hop_length(160).n_mels(80).to_db(80.0).build(&Device::cpu())?;
    /// let db = logmel.run(&audio)?;
    /// let max = db.iter().cloned().fold(f32::MIN, f32::max);
    /// assert!(db.iter().all(|&v| v >= max - 80.0 - 1e-3));
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn mel(sample_rate: u32) -> MelBuilder {
        MelBuilder {
            stft: Spectrogram::stft().power(2.0),
            sr: sample_rate,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            htk: false,
            norm: MelNorm::Slaney,
            db: None,
        }
    }

    /// MFCCs for audio at `sample_rate`, librosa.feature.mfcc's defaults: 20 coefficients of the
    /// orthonormal DCT-II of `power_to_db(melspectrogram)` (ref 1, amin 1e-10, top_db 80), no
    /// liftering; the mel part takes [`Spectrogram::mel`]'s defaults.
    ///
    /// ```
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let audio = Audio::from_mono((0..22_050).map(|i| (i as f32 * 0.05).sin()).collect(), 22_050);
    /// let mfcc = Spectrogram::mfcc(22_050).n_mfcc(13).lifter(22.0).build(&Device::cpu())?;
    /// assert_eq!(mfcc.run(&audio)?.dim(), (1, 13, 1 + 22_050 / 512));
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn mfcc(sample_rate: u32) -> MfccBuilder {
        MfccBuilder {
            mel: Spectrogram::mel(sample_rate).db(DbScale::default()),
            n_mfcc: 20,
            lifter: 0.0,
        }
    }
}

/// Builder setters forwarded to an inner `StftBuilder` field.
macro_rules! stft_setters {
    ($field:ident) => {
        /// FFT length. Default 2048.
        pub fn n_fft(mut self, n: usize) -> Self {
            self.$field = self.$field.n_fft(n);
            self
        }
        /// Hop length. Default `win_length / 4`, at least 1 (librosa refuses the 0 that win_length < 4 would give).
        pub fn hop_length(mut self, n: usize) -> Self {
            self.$field = self.$field.hop_length(n);
            self
        }
        /// Window length (<= n_fft). Default n_fft.
        pub fn win_length(mut self, n: usize) -> Self {
            self.$field = self.$field.win_length(n);
            self
        }
        /// Analysis window. Default periodic Hann.
        pub fn window(mut self, w: Window) -> Self {
            self.$field = self.$field.window(w);
            self
        }
        /// Centre frames (pad n_fft/2 each side). Default true.
        pub fn center(mut self, c: bool) -> Self {
            self.$field = self.$field.center(c);
            self
        }
        /// Padding when centred. Default zeros.
        pub fn pad_mode(mut self, m: PadMode) -> Self {
            self.$field = self.$field.pad_mode(m);
            self
        }
        /// GPU plans: frames per workgroup (see `StftBuilder::frames_per_workgroup`).
        #[doc(hidden)]
        pub fn frames_per_workgroup(mut self, n: usize) -> Self {
            self.$field = self.$field.frames_per_workgroup(n);
            self
        }
    };
}

pub(crate) use stft_setters;

/// Builder of a [`Mel`] plan (mel power, or its dB with [`MelBuilder::to_db`]).
#[derive(Debug, Clone)]
pub struct MelBuilder {
    stft: StftBuilder,
    sr: u32,
    n_mels: usize,
    fmin: f64,
    fmax: Option<f64>,
    htk: bool,
    norm: MelNorm,
    db: Option<DbScale>,
}

impl MelBuilder {
    stft_setters!(stft);

    /// Exponent of the magnitude before the filterbank: 2 (power, default) or 1 (energy).
    pub fn power(mut self, p: f32) -> Self {
        self.stft = self.stft.power(p);
        self
    }
    /// Number of mel bands. Default 128.
    pub fn n_mels(mut self, n: usize) -> Self {
        self.n_mels = n;
        self
    }
    /// Lowest band edge in Hz. Default 0.
    pub fn fmin(mut self, f: f64) -> Self {
        self.fmin = f;
        self
    }
    /// Highest band edge in Hz. Default `sample_rate / 2`.
    pub fn fmax(mut self, f: f64) -> Self {
        self.fmax = Some(f);
        self
    }
    /// HTK's mel scale instead of Slaney's. Default false.
    pub fn htk(mut self, on: bool) -> Self {
        self.htk = on;
        self
    }
    /// Filter normalisation. Default Slaney (constant area).
    pub fn norm(mut self, n: MelNorm) -> Self {
        self.norm = n;
        self
    }
    /// Output `power_to_db` (ref 1, amin 1e-10) floored `top_db` below the maximum.
    pub fn to_db(self, top_db: f32) -> Self {
        self.db(DbScale {
            top_db: Some(top_db),
            ..DbScale::default()
        })
    }
    /// Output in dB with these settings (see [`DbScale`] for the maximum's scope).
    pub fn db(mut self, db: DbScale) -> Self {
        self.db = Some(db);
        self
    }

    fn resolve(&self) -> Result<FeatureConfig> {
        let stft = self.stft.resolve()?;
        let params = MelParams {
            sr: self.sr,
            n_fft: stft.framing.n_fft,
            n_mels: self.n_mels,
            fmin: self.fmin,
            fmax: self.fmax.unwrap_or(self.sr as f64 / 2.0),
            htk: self.htk,
            norm: self.norm,
        };
        let bank = SparseBank::mel(&params)?;
        if let Some(db) = &self.db {
            db.validate()?;
        }
        Ok(FeatureConfig {
            stft,
            sr: self.sr,
            bank,
            post: Post {
                db: self.db,
                dct: None,
                normalize: false,
            },
        })
    }

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Mel> {
        Ok(Mel {
            plan: FeaturePlan::new(self.resolve()?, device)?,
        })
    }
}

/// Builder of an [`Mfcc`] plan.
#[derive(Debug, Clone)]
pub struct MfccBuilder {
    mel: MelBuilder,
    n_mfcc: usize,
    lifter: f32,
}

impl MfccBuilder {
    stft_setters!(mel);

    /// Exponent of the magnitude before the filterbank: 2 (power, default) or 1.
    pub fn power(mut self, p: f32) -> Self {
        self.mel = self.mel.power(p);
        self
    }
    /// Number of coefficients. Default 20.
    pub fn n_mfcc(mut self, n: usize) -> Self {
        self.n_mfcc = n;
        self
    }
    /// Cepstral liftering `1 + lifter/2 sin(pi (k+1) / lifter)`; 0 (default) for none.
    pub fn lifter(mut self, l: f32) -> Self {
        self.lifter = l;
        self
    }
    /// Mel bands. Default 128.
    pub fn n_mels(mut self, n: usize) -> Self {
        self.mel = self.mel.n_mels(n);
        self
    }
    /// Lowest band edge in Hz. Default 0.
    pub fn fmin(mut self, f: f64) -> Self {
        self.mel = self.mel.fmin(f);
        self
    }
    /// Highest band edge in Hz. Default `sample_rate / 2`.
    pub fn fmax(mut self, f: f64) -> Self {
        self.mel = self.mel.fmax(f);
        self
    }
    /// HTK mel scale. Default false.
    pub fn htk(mut self, on: bool) -> Self {
        self.mel = self.mel.htk(on);
        self
    }
    /// Mel filter normalisation. Default Slaney.
    pub fn norm(mut self, n: MelNorm) -> Self {
        self.mel = self.mel.norm(n);
        self
    }
    /// The dB scaling of the mel spectrogram. Default `DbScale::default()` (librosa's).
    pub fn db(mut self, db: DbScale) -> Self {
        self.mel = self.mel.db(db);
        self
    }

    /// Builds the plan on `device`.
    pub fn build(self, device: &Device) -> Result<Mfcc> {
        // The mel parameters first (n_mels at most 4096 among them): the DCT matrix below is
        // n_mfcc x n_mels, so an unchecked n_mels could ask for gigabytes before any check.
        let mut cfg = self.mel.resolve()?;
        let n_mels = self.mel.n_mels;
        if self.n_mfcc == 0 || self.n_mfcc > n_mels {
            return Err(Error::param(
                "n_mfcc",
                format!("must be in 1..=n_mels ({n_mels}), got {}", self.n_mfcc),
            ));
        }
        if !(self.lifter.is_finite() && self.lifter >= 0.0) {
            return Err(Error::param(
                "lifter",
                format!("must be finite and >= 0, got {}", self.lifter),
            ));
        }
        let matrix = dct2_ortho(self.n_mfcc, n_mels)
            .iter()
            .map(|&x| x as f32)
            .collect();
        let lifter = (0..self.n_mfcc)
            .map(|k| {
                if self.lifter > 0.0 {
                    let l = self.lifter as f64;
                    (1.0 + l / 2.0 * (std::f64::consts::PI * (k + 1) as f64 / l).sin()) as f32
                } else {
                    1.0
                }
            })
            .collect();
        let dct = Dct {
            n_out: self.n_mfcc,
            matrix,
            lifter,
        };
        cfg.post.dct = Some(dct);
        Ok(Mfcc {
            plan: FeaturePlan::new(cfg, device)?,
        })
    }
}

/// A built mel spectrogram plan (power, or dB): `Send + Sync`, run it many times.
pub struct Mel {
    plan: FeaturePlan,
}
crate::transform::features::feature_plan_api!(Mel, "mel spectrogram");

/// A built MFCC plan: `Send + Sync`, run it many times.
pub struct Mfcc {
    plan: FeaturePlan,
}
crate::transform::features::feature_plan_api!(Mfcc, "MFCCs");
