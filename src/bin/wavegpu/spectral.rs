//! `spectral`: one of librosa's per-frame features (spectral centroid, bandwidth, rolloff,
//! flatness, contrast, rms, zero-crossing rate), through the shared per-rate plan path.

use ndarray::Array3;
use wavegpu::{
    Audio, Device, Rms, Spectral, SpectralBuilder, SpectralFeature, Spectrogram, ZeroCrossingRate,
};

use crate::args::{SpectralArgs, SpectralName};
use crate::fail::Fail;
use crate::features::{rate_note, Features};
use crate::image::Scale;
use crate::{pad_mode_of, window_of};

/// librosa's defaults for the feature parameters.
const P: f64 = 2.0;
const ROLL_PERCENT: f64 = 0.85;
const FLATNESS_POWER: f64 = 2.0;
const FLATNESS_AMIN: f64 = 1e-10;
const N_BANDS: usize = 6;
const CONTRAST_FMIN: f64 = 200.0;
const QUANTILE: f64 = 0.02;

/// A plan of any of the three kinds.
enum Plan {
    Spectral(Spectral),
    Rms(Rms),
    Zcr(ZeroCrossingRate),
}

impl Plan {
    fn run(&self, audio: &Audio) -> wavegpu::Result<Array3<f32>> {
        match self {
            Plan::Spectral(p) => p.run(audio),
            Plan::Rms(p) => p.run(audio),
            Plan::Zcr(p) => p.run(audio),
        }
    }
}

pub fn spectral(a: SpectralArgs) -> Result<i32, Fail> {
    check_flags(&a)?;
    let name = a.feature;
    let feature = feature_of(&a);
    let stft = |sr: u32, feature: SpectralFeature| -> SpectralBuilder {
        let mut b = Spectrogram::spectral(sr, feature).center(a.center);
        if let Some(n) = a.n_fft {
            b = b.n_fft(n as usize);
        }
        if let Some(h) = a.hop_length {
            b = b.hop_length(h as usize);
        }
        if let Some(w) = a.win_length {
            b = b.win_length(w as usize);
        }
        if let Some(w) = a.window {
            b = b.window(window_of(w));
        }
        if let Some(m) = a.pad_mode {
            b = b.pad_mode(pad_mode_of(m));
        }
        b
    };
    let frame_length = a.frame_length.unwrap_or(2048) as usize;
    let make = |sr: u32, device: &Device| -> wavegpu::Result<Plan> {
        Ok(match name {
            SpectralName::Rms => {
                let mut b = Spectrogram::rms()
                    .frame_length(frame_length)
                    .center(a.center);
                if let Some(h) = a.hop_length {
                    b = b.hop_length(h as usize);
                }
                if let Some(m) = a.pad_mode {
                    b = b.pad_mode(pad_mode_of(m));
                }
                Plan::Rms(b.build(device)?)
            }
            SpectralName::Zcr => {
                let mut b = Spectrogram::zero_crossing_rate()
                    .frame_length(frame_length)
                    .center(a.center);
                if let Some(h) = a.hop_length {
                    b = b.hop_length(h as usize);
                }
                Plan::Zcr(b.build(device)?)
            }
            _ => Plan::Spectral(stft(sr, feature).build(device)?),
        })
    };
    // Contrast's bands depend on the rate (they must start below Nyquist and hold bins):
    // without --sr only the framing is checked up front, and a file whose rate does not suit
    // the bands fails on its own. The other features' flags hold at every rate or none.
    let framing_check = || -> wavegpu::Result<()> {
        stft(22_050, SpectralFeature::Centroid)
            .build(&Device::cpu())
            .map(drop)
    };
    let contrast = name == SpectralName::Contrast;
    let job = Features {
        load: &a.load,
        device: a.device.device,
        nominal_rate: a.load.sr.unwrap_or(22_050),
        check: if contrast { Some(&framing_check) } else { None },
        // rms and zcr never look at the rate, flatness does not either (librosa's takes none).
        one_plan: matches!(
            name,
            SpectralName::Rms | SpectralName::Zcr | SpectralName::Flatness
        ),
        rate_note: &rate_note,
        scale: Scale::Linear,
        command: "spectral",
    };
    job.run(&a.input, &a.output, make, |p: &Plan, x: &Audio| p.run(x))
}

/// The feature with its parameters, librosa's defaults where a flag is not given (rms and
/// zcr: unused).
fn feature_of(a: &SpectralArgs) -> SpectralFeature {
    match a.feature {
        SpectralName::Centroid | SpectralName::Rms | SpectralName::Zcr => SpectralFeature::Centroid,
        SpectralName::Bandwidth => SpectralFeature::Bandwidth {
            p: a.p.unwrap_or(P),
        },
        SpectralName::Rolloff => SpectralFeature::Rolloff {
            roll_percent: a.roll_percent.unwrap_or(ROLL_PERCENT),
        },
        SpectralName::Flatness => SpectralFeature::Flatness {
            power: a.power.unwrap_or(FLATNESS_POWER),
            amin: a.amin.unwrap_or(FLATNESS_AMIN),
        },
        SpectralName::Contrast => SpectralFeature::Contrast {
            n_bands: a.n_bands.map_or(N_BANDS, |n| n as usize),
            fmin: a.fmin.unwrap_or(CONTRAST_FMIN),
            quantile: a.quantile.unwrap_or(QUANTILE),
            linear: a.linear,
        },
    }
}

/// A flag the chosen feature does not take is a usage error rather than silently ignored.
fn check_flags(a: &SpectralArgs) -> Result<(), Fail> {
    use SpectralName::*;
    let f = a.feature;
    let stft = f.uses_stft();
    const STFT: &str = "the spectral features (centroid, bandwidth, rolloff, flatness, \
                        contrast); rms and zcr frame with --frame-length";
    const RAW: &str = "rms and zcr; the spectral features frame with --n-fft";
    let flags: [(&str, bool, bool, &str); 12] = [
        ("--n-fft", a.n_fft.is_some(), stft, STFT),
        ("--win-length", a.win_length.is_some(), stft, STFT),
        ("--window", a.window.is_some(), stft, STFT),
        ("--frame-length", a.frame_length.is_some(), !stft, RAW),
        (
            "--pad-mode",
            a.pad_mode.is_some(),
            f != Zcr,
            "the spectral features and rms; zcr pads with the edge samples (librosa's \
             mode=\"edge\")",
        ),
        ("--p", a.p.is_some(), f == Bandwidth, "bandwidth"),
        (
            "--roll-percent",
            a.roll_percent.is_some(),
            f == Rolloff,
            "rolloff",
        ),
        ("--power", a.power.is_some(), f == Flatness, "flatness"),
        ("--amin", a.amin.is_some(), f == Flatness, "flatness"),
        ("--n-bands", a.n_bands.is_some(), f == Contrast, "contrast"),
        ("--fmin", a.fmin.is_some(), f == Contrast, "contrast"),
        (
            "--quantile",
            a.quantile.is_some(),
            f == Contrast,
            "contrast",
        ),
    ];
    for (flag, given, takes, whose) in flags {
        if given && !takes {
            return Err(Fail::usage(format!(
                "--feature {} does not take {flag}: it is for {whose}",
                f.name()
            )));
        }
    }
    if a.linear && f != Contrast {
        return Err(Fail::usage(format!(
            "--feature {} does not take --linear: it is for contrast",
            f.name()
        )));
    }
    Ok(())
}
