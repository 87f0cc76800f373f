//! Pipeline descriptions: the transforms (audiomentations' names, parameters and defaults),
//! the composition nodes, parsing from JSON, parameter draws and their resolution into
//! [`OpRec`]s.

use serde_json::{Map, Value};

use super::ops::{code, flag, OpRec, RowFilter};
use super::rng::Counter;
use crate::error::{Error, Result};

pub(crate) mod short_noises;
pub use short_noises::ShortNoiseSound;

/// How a node's random decisions are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One draw per example, shared by its channels (the default; audiomentations' behaviour
    /// on a multichannel array).
    PerExample,
    /// One draw per batch, at the batch's first example id.
    PerBatch,
    /// One draw per channel of each example.
    PerChannel,
}

/// Unit of a duration or shift range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Fraction,
    Samples,
    Seconds,
}

impl Unit {
    /// `v` in samples for a row of `n` samples at `sr` Hz (Python's `int(round(.))`).
    fn samples(self, v: f64, n: usize, sr: u32) -> i64 {
        match self {
            Unit::Samples => v as i64,
            Unit::Fraction => (v * n as f64).round_ties_even() as i64,
            Unit::Seconds => (v * f64::from(sr)).round_ties_even() as i64,
        }
    }
}

/// One transform with its parameters (ranges as given; values drawn per example).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Leaf {
    Gain {
        min_db: f64,
        max_db: f64,
    },
    GainTransition {
        min_db: f64,
        max_db: f64,
        min_duration: f64,
        max_duration: f64,
        unit: Unit,
    },
    PolarityInversion,
    Reverse,
    Shift {
        min: f64,
        max: f64,
        unit: Unit,
        rollover: bool,
        fade_duration: f64,
    },
    Clip {
        a_min: f64,
        a_max: f64,
    },
    ClippingDistortion {
        min_pct: i64,
        max_pct: i64,
    },
    Normalize {
        only_too_loud: bool,
    },
    AddGaussianNoise {
        min_amplitude: f64,
        max_amplitude: f64,
    },
    AddGaussianSnr {
        min_snr_db: f64,
        max_snr_db: f64,
    },
    TimeMask {
        min_band_part: f64,
        max_band_part: f64,
        fade_duration: f64,
        /// 0 random, 1 start, 2 end.
        location: u8,
    },
    TanhDistortion {
        min: f64,
        max: f64,
    },
    BitCrush {
        min_bits: i64,
        max_bits: i64,
    },
    Padding {
        /// 0 silence, 1 wrap, 2 reflect.
        mode: u32,
        min_fraction: f64,
        max_fraction: f64,
        start: bool,
    },
    /// SpecAugment masks on a spectrogram (`axis` 0: frequency bins, 1: frames).
    SpecMask {
        axis: u8,
        min_fraction: f64,
        max_fraction: f64,
        fill_mean: bool,
        fill_constant: f64,
    },
    ApplyImpulseResponse {
        /// Indices into the pipeline's [`Bank`].
        clips: Vec<u32>,
    },
    AddColorNoise {
        min_snr_db: f64,
        max_snr_db: f64,
        min_f_decay: f64,
        max_f_decay: f64,
        p_apply_a_weighting: f64,
        n_fft: u32,
    },
    AddBackgroundNoise {
        min_snr_db: f64,
        max_snr_db: f64,
        absolute: bool,
        min_rms_db: f64,
        max_rms_db: f64,
        /// Indices into the pipeline's [`Bank`].
        clips: Vec<u32>,
    },
    /// The IIR filters (see [`FilterLeaf`]).
    Filter(FilterLeaf),
    /// add_short_noises (see [`short_noises`]).
    AddShortNoises(Box<short_noises::ShortNoises>),
    /// `time_stretch` (rate drawn uniformly) and `pitch_shift` (semitones drawn uniformly):
    /// the phase vocoder of `super::stretch`.
    TimeStretch {
        min_rate: f64,
        max_rate: f64,
    },
    PitchShift {
        min_semitones: f64,
        max_semitones: f64,
    },
}

/// audiomentations' filter transforms. Frequencies are drawn uniformly on the mel scale
/// (audiomentations' `convert_frequency_to_mel`: 2595 log10(1 + f / 700)), gains and `q`
/// uniformly; the sections are designed per row on the host in f64 (`dsp::iir`) and run by
/// the IIR kernels (`cpu::iir`, `gpu::iir`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FilterLeaf {
    /// `low_pass_filter`, `high_pass_filter` (a cutoff), `band_pass_filter`,
    /// `band_stop_filter` (a centre and a bandwidth fraction): Butterworth sections, the
    /// order drawn from the roll-off range (dB/octave / 6, or / 12 when `zero_phase`).
    Butterworth {
        /// 0 low-pass, 1 high-pass, 2 band-pass, 3 band-stop.
        band: u8,
        min_freq: f64,
        max_freq: f64,
        min_bandwidth: f64,
        max_bandwidth: f64,
        min_rolloff: i64,
        max_rolloff: i64,
        zero_phase: bool,
        /// The FIR option: `scipy.signal.firwin` taps (odd) instead of Butterworth sections.
        fir_taps: Option<u32>,
    },
    /// `peaking_filter`, `low_shelf_filter`, `high_shelf_filter`: one RBJ biquad.
    Rbj {
        kind: crate::dsp::iir::Rbj,
        min_freq: f64,
        max_freq: f64,
        min_gain_db: f64,
        max_gain_db: f64,
        min_q: f64,
        max_q: f64,
    },
    /// `seven_band_parametric_eq`: a low shelf, five peaks and a high shelf in cascade.
    SevenBand { min_gain_db: f64, max_gain_db: f64 },
}

fn hz_to_mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// A frequency drawn uniformly on the mel scale between `lo` and `hi` Hz.
fn mel_uniform(lo: f64, hi: f64, u: f64) -> f64 {
    mel_to_hz(uniform(hz_to_mel(lo), hz_to_mel(hi), u))
}

/// Uniforms a filter draws beyond a node's four: the seven-band EQ's (centre, gain, q) x 7.
pub(crate) const FILTER_EXTRA_DRAWS: u32 = 21;

impl FilterLeaf {
    /// The sections and mode for one row at `sr` Hz from the node's uniforms `u` and, for the
    /// seven-band EQ, `extra` (draws 5.. of the node's counter). Frequencies past Nyquist
    /// are clamped to 0.9999 of `sr // 2`, as audiomentations does for its Butterworth
    /// filters and shelves (its peaking filter is not clamped there; here it is, where
    /// audiomentations would design an unstable or meaningless biquad).
    pub fn design(&self, u: &[f64; 4], extra: &[f64], sr: u32) -> Result<RowFilter> {
        use crate::dsp::iir::{butterworth_transform, firwin, rbj_transform, Band, IirMode, Rbj};
        let nyq = f64::from(sr / 2) * 0.9999;
        let iir = |(sos, mode)| RowFilter::Iir { sos, mode };
        Ok(match *self {
            FilterLeaf::Butterworth {
                band,
                min_freq,
                max_freq,
                min_bandwidth,
                max_bandwidth,
                min_rolloff,
                max_rolloff,
                zero_phase,
                fir_taps,
            } => {
                let step = if zero_phase { 12 } else { 6 };
                let rolloff = randint(min_rolloff / step, max_rolloff / step, u[0]) * step;
                let f = mel_uniform(min_freq, max_freq, u[1]);
                let band = match band {
                    0 => Band::Lowpass(f),
                    1 => Band::Highpass(f),
                    _ => {
                        let bw = f * uniform(min_bandwidth, max_bandwidth, u[2]);
                        let (lo, hi) = (f - bw / 2.0, f + bw / 2.0);
                        if band == 2 {
                            Band::Bandpass(lo, hi)
                        } else {
                            Band::Bandstop(lo, hi)
                        }
                    }
                };
                match fir_taps {
                    Some(n) => {
                        let c = |f: f64| f.min(nyq);
                        let band = match band {
                            Band::Lowpass(f) => Band::Lowpass(c(f)),
                            Band::Highpass(f) => Band::Highpass(c(f)),
                            Band::Bandpass(lo, hi) => Band::Bandpass(lo, c(hi)),
                            Band::Bandstop(lo, hi) => Band::Bandstop(lo, c(hi)),
                        };
                        RowFilter::Fir {
                            taps: firwin(n as usize, band, f64::from(sr))?,
                        }
                    }
                    None => iir(butterworth_transform(band, rolloff as u32, zero_phase, sr)?),
                }
            }
            FilterLeaf::Rbj {
                kind,
                min_freq,
                max_freq,
                min_gain_db,
                max_gain_db,
                min_q,
                max_q,
            } => {
                let f = mel_uniform(min_freq, max_freq, u[0]).min(nyq);
                let gain = uniform(min_gain_db, max_gain_db, u[1]);
                let q = uniform(min_q, max_q, u[2]);
                iir((vec![rbj_transform(kind, f, gain, q, sr)?], IirMode::Steady))
            }
            FilterLeaf::SevenBand {
                min_gain_db,
                max_gain_db,
            } => {
                let mut sos = Vec::with_capacity(7);
                for (i, &(lo, hi)) in crate::dsp::iir::SEVEN_BAND_CENTERS.iter().enumerate() {
                    let (kind, (q_lo, q_hi)) = match i {
                        0 => (Rbj::LowShelf, (0.1, 0.999)),
                        6 => (Rbj::HighShelf, (0.1, 0.999)),
                        _ => (Rbj::Peaking, (0.5, 5.0)),
                    };
                    let v = &extra[3 * i..3 * i + 3];
                    let f = mel_uniform(lo, hi, v[0]).min(nyq);
                    let gain = uniform(min_gain_db, max_gain_db, v[1]);
                    let q = uniform(q_lo, q_hi, v[2]);
                    sos.push(rbj_transform(kind, f, gain, q, sr)?);
                }
                iir((sos, IirMode::Steady))
            }
        })
    }
}

/// One noise clip of a [`Bank`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BankClip {
    pub name: String,
    pub start: u32,
    pub len: u32,
    pub sample_rate: u32,
}

impl BankClip {
    /// Refuses a clip recorded at another rate than the batch's `sr`.
    pub fn check_rate(&self, sr: u32) -> crate::error::Result<()> {
        if self.sample_rate == sr {
            return Ok(());
        }
        Err(crate::error::Error::audio(
            self.name.clone(),
            format!(
                "recorded at {} Hz for a batch at {sr} Hz (set the transform's `sample_rate` to resample it on load)",
                self.sample_rate
            ),
        ))
    }
}

/// Every background-noise clip of a pipeline, mono, concatenated (kept on the GPU as one
/// buffer).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Bank {
    pub samples: Vec<f32>,
    pub clips: Vec<BankClip>,
}

/// File extensions taken as audio when a `sounds_path` is a directory.
const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "ogg", "oga", "opus", "m4a", "aac", "aif", "aiff",
];

fn audio_files(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let io = |e| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(io)?;
        entries.sort();
        for e in entries {
            if e.is_dir() {
                audio_files(&e, out)?;
            } else if e
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
            {
                out.push(e);
            }
        }
        Ok(())
    } else {
        std::fs::metadata(path).map_err(io)?;
        out.push(path.to_path_buf());
        Ok(())
    }
}

impl Bank {
    /// Loads every audio file under `paths` (mono, resampled to `sr` when given) and
    /// returns their clip indices.
    fn load(&mut self, paths: &[String], sr: Option<u32>, what: &str) -> Result<Vec<u32>> {
        let mut files = Vec::new();
        for p in paths {
            audio_files(std::path::Path::new(p), &mut files)?;
        }
        if files.is_empty() {
            return Err(bad(what, format!("no audio files found in {paths:?}")));
        }
        let mut opts = crate::io::LoadOptions::default().mono();
        if let Some(sr) = sr {
            opts = opts.sample_rate(sr);
        }
        let mut idx = Vec::new();
        for f in files {
            let a = crate::io::load(f.as_path(), &opts)?;
            let start = self.samples.len();
            if start + a.len() > u32::MAX as usize / 2 {
                return Err(bad(what, "background noises exceed 2^31 samples in all"));
            }
            self.samples.extend(a.channel(0).iter());
            idx.push(self.clips.len() as u32);
            self.clips.push(BankClip {
                name: f.display().to_string(),
                start: start as u32,
                len: a.len() as u32,
                sample_rate: a.sample_rate(),
            });
        }
        Ok(idx)
    }
}

/// The spectrogram transform names (SpecAugment).
pub(crate) const SPEC_TRANSFORMS: &[&str] = &["frequency_mask", "time_mask"];

/// The transform names the JSON accepts.
pub(crate) const TRANSFORMS: &[&str] = &[
    "gain",
    "gain_transition",
    "polarity_inversion",
    "reverse",
    "shift",
    "clip",
    "clipping_distortion",
    "normalize",
    "add_gaussian_noise",
    "add_gaussian_snr",
    "time_mask",
    "tanh_distortion",
    "bit_crush",
    "padding",
    "add_background_noise",
    "add_color_noise",
    "apply_impulse_response",
    "low_pass_filter",
    "high_pass_filter",
    "band_pass_filter",
    "band_stop_filter",
    "peaking_filter",
    "low_shelf_filter",
    "high_shelf_filter",
    "seven_band_parametric_eq",
    "add_short_noises",
    "time_stretch",
    "pitch_shift",
];

/// `lo + floor(u (hi - lo + 1))`, Python's `random.randint(lo, hi)` from a uniform `u`
/// (`lo` when the range is empty).
pub(crate) fn randint(lo: i64, hi: i64, u: f64) -> i64 {
    if hi <= lo {
        return lo;
    }
    let span = (i128::from(hi) - i128::from(lo) + 1) as f64;
    let k = (u * span).floor() as i128;
    (i128::from(lo) + k).min(i128::from(hi)) as i64
}

fn uniform(lo: f64, hi: f64, u: f64) -> f64 {
    lo + (hi - lo) * u
}

fn db_to_ratio(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

impl Leaf {
    /// The stretch of a `time_stretch` or `pitch_shift` row from its draws (None for others).
    pub fn stretch(&self, u: &[f64; 4], sr: u32) -> Option<super::stretch::Stretch> {
        match *self {
            Leaf::TimeStretch { min_rate, max_rate } => Some(super::stretch::Stretch {
                rate: uniform(min_rate, max_rate, u[0]),
                pitch_sr: None,
            }),
            Leaf::PitchShift {
                min_semitones,
                max_semitones,
            } => Some(super::stretch::Stretch {
                rate: 2f64.powf(-uniform(min_semitones, max_semitones, u[0]) / 12.0),
                pitch_sr: Some(sr),
            }),
            _ => None,
        }
    }

    /// Resolves drawn uniforms `u` into one row's operation for a row of `n` samples.
    pub fn resolve(&self, u: &[f64; 4], n: usize, sr: u32) -> OpRec {
        let ni = n as i64;
        let mut r = OpRec::identity();
        match *self {
            // The pipeline designs the row's sections from the same uniforms.
            Leaf::Filter(_) => r.code = code::FILTER,
            // The pipeline draws the row's sounds and fills in its events (b, c).
            Leaf::AddShortNoises(ref sn) => sn.resolve(&mut r),
            // The pipeline gives the row its stretch (rate in f64) from the same uniform.
            Leaf::TimeStretch { .. } | Leaf::PitchShift { .. } => {
                r.code = code::STRETCH;
                r.x = self.stretch(u, sr).map_or(1.0, |s| s.rate as f32);
            }
            Leaf::ApplyImpulseResponse { ref clips } => {
                // a: the clip (the pipeline fills in its place and length in the bank).
                r.code = code::IMPULSE_RESPONSE;
                r.a = clips[randint(0, clips.len() as i64 - 1, u[0]) as usize] as i32;
            }
            Leaf::AddColorNoise {
                min_snr_db,
                max_snr_db,
                min_f_decay,
                max_f_decay,
                p_apply_a_weighting,
                n_fft,
            } => {
                // The pipeline designs the row's FIR from y, the flags and the phases drawn at
                // indices 5.. of the node's counter, and stores it at b (c taps).
                r.code = code::COLOR_NOISE;
                r.x = db_to_ratio(uniform(min_snr_db, max_snr_db, u[0])) as f32;
                r.y = uniform(min_f_decay, max_f_decay, u[1]) as f32;
                r.d = n_fft;
                if u[2] < p_apply_a_weighting {
                    r.flags |= flag::A_WEIGHTING;
                }
            }
            Leaf::AddBackgroundNoise {
                min_snr_db,
                max_snr_db,
                absolute,
                min_rms_db,
                max_rms_db,
                ref clips,
            } => {
                // a: the clip (the pipeline fills in its place in the bank and the offset
                // from u[3]).
                r.code = code::BACKGROUND_NOISE;
                r.a = clips[randint(0, clips.len() as i64 - 1, u[2]) as usize] as i32;
                if absolute {
                    r.flags |= flag::ABSOLUTE;
                    r.x = db_to_ratio(uniform(min_rms_db, max_rms_db, u[1])) as f32;
                } else {
                    r.x = db_to_ratio(uniform(min_snr_db, max_snr_db, u[0])) as f32;
                }
            }
            Leaf::Gain { min_db, max_db } => {
                r.code = code::GAIN;
                r.x = db_to_ratio(uniform(min_db, max_db, u[0])) as f32;
            }
            Leaf::PolarityInversion => {
                r.code = code::GAIN;
                r.x = -1.0;
            }
            Leaf::GainTransition {
                min_db,
                max_db,
                min_duration,
                max_duration,
                unit,
            } => {
                let lo = unit.samples(min_duration, n, sr);
                let hi = unit.samples(max_duration, n, sr);
                let fade = randint(lo, hi, u[0]).max(3);
                let t0 = randint(-fade + 2, ni - 2, u[1]);
                let start = uniform(min_db, max_db, u[2]);
                let end = uniform(min_db, max_db, u[3]);
                r.code = code::GAIN_TRANSITION;
                r.a = t0.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                r.b = fade.min(u32::MAX as i64) as u32;
                r.x = start as f32;
                r.y = ((end - start) / (fade - 1) as f64) as f32;
                r.z = db_to_ratio(start) as f32;
                r.w = db_to_ratio(end) as f32;
            }
            Leaf::Reverse => r.code = code::REVERSE,
            // Spectrogram masks never reach the waveform kernels (see SpecAugment).
            Leaf::SpecMask { .. } => {}
            Leaf::Shift {
                min,
                max,
                unit,
                rollover,
                fade_duration,
            } => {
                let shift = match unit {
                    Unit::Samples => randint(min as i64, max as i64, u[0]),
                    _ => unit.samples(uniform(min, max, u[0]), n, sr),
                };
                // np.roll wraps shifts past the length; without rollover they blank the row.
                let shift = if rollover && ni > 0 {
                    shift % ni
                } else {
                    shift.clamp(-ni, ni)
                };
                r.code = code::SHIFT;
                r.a = shift as i32;
                r.b = if fade_duration > 0.0 {
                    ((f64::from(sr) * fade_duration) as u64).min(n as u64) as u32
                } else {
                    0
                };
                if rollover {
                    r.flags |= flag::ROLLOVER;
                }
            }
            Leaf::Clip { a_min, a_max } => {
                r.code = code::CLIP;
                r.x = a_min as f32;
                r.y = a_max as f32;
            }
            Leaf::ClippingDistortion { min_pct, max_pct } => {
                r.code = code::CLIPPING_DISTORTION;
                r.b = randint(min_pct, max_pct, u[0]) as u32;
            }
            Leaf::Normalize { only_too_loud } => {
                r.code = code::NORMALIZE;
                if only_too_loud {
                    r.flags |= flag::ONLY_TOO_LOUD;
                }
            }
            Leaf::AddGaussianNoise {
                min_amplitude,
                max_amplitude,
            } => {
                r.code = code::NOISE;
                r.x = uniform(min_amplitude, max_amplitude, u[0]) as f32;
            }
            Leaf::AddGaussianSnr {
                min_snr_db,
                max_snr_db,
            } => {
                r.code = code::SNR;
                r.x = db_to_ratio(uniform(min_snr_db, max_snr_db, u[0])) as f32;
            }
            Leaf::TimeMask {
                min_band_part,
                max_band_part,
                fade_duration,
                location,
            } => {
                let t = randint(
                    (n as f64 * min_band_part) as i64,
                    (n as f64 * max_band_part) as i64,
                    u[0],
                )
                .clamp(0, ni);
                let t0 = match location {
                    1 => 0,
                    2 => ni - t,
                    _ => randint(0, ni - t, u[1]),
                };
                let fade = if fade_duration > 0.0 {
                    ((f64::from(sr) * fade_duration).round_ties_even() as i64).min(t / 2)
                } else {
                    0
                };
                r.code = code::TIME_MASK;
                r.a = t0 as i32;
                r.b = t as u32;
                r.c = fade as u32;
            }
            Leaf::TanhDistortion { min, max } => {
                r.code = code::TANH;
                r.x = uniform(min, max, u[0]) as f32;
            }
            Leaf::BitCrush { min_bits, max_bits } => {
                let bits = randint(min_bits, max_bits, u[0]);
                r.code = code::BIT_CRUSH;
                r.x = (2f64.powi(bits as i32) / 2.0 + 1.0) as f32;
            }
            Leaf::Padding {
                mode,
                min_fraction,
                max_fraction,
                start,
            } => {
                let lo = (min_fraction * n as f64).round_ties_even() as i64;
                let hi = (max_fraction * n as f64).round_ties_even() as i64;
                r.code = code::PADDING;
                r.b = randint(lo, hi, u[0]).clamp(0, ni) as u32;
                r.c = mode;
                if start {
                    r.flags |= flag::PAD_START;
                }
            }
        }
        r
    }
}

/// A node of the pipeline tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Leaf(Leaf),
    Compose {
        children: Vec<Node>,
        shuffle: bool,
    },
    /// `weights`: cumulative, normalised to end at 1.
    OneOf {
        children: Vec<Node>,
        cumulative: Vec<f64>,
    },
    SomeOf {
        children: Vec<Node>,
        min: usize,
        max: usize,
    },
}

/// A node with its probability, mode and pre-order position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub name: &'static str,
    pub p: f64,
    pub mode: Mode,
    pub position: u16,
}

/// One leaf application drawn for one row: the leaf's position and its four uniforms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DrawnLeaf {
    pub position: u16,
    pub u: [f64; 4],
    pub mode: Mode,
}

/// Where a row's draws come from.
pub(crate) struct RowKey {
    pub id: u64,
    pub batch_id: u64,
    pub channel: u16,
}

/// The counter of a node with `mode` at `position` for a row.
pub(crate) fn node_counter(mode: Mode, position: u16, key: &RowKey) -> Counter {
    let (id, lane) = match mode {
        Mode::PerExample => (key.id, 0),
        Mode::PerBatch => (key.batch_id, 0),
        Mode::PerChannel => (key.id, 1 + key.channel),
    };
    Counter { id, position, lane }
}

impl Node {
    fn counter(&self, key: &RowKey) -> Counter {
        let (id, lane) = match self.mode {
            Mode::PerExample => (key.id, 0),
            Mode::PerBatch => (key.batch_id, 0),
            Mode::PerChannel => (key.id, 1 + key.channel),
        };
        Counter {
            id,
            position: self.position,
            lane,
        }
    }

    /// Appends this node's leaf applications for one row, in order, to `out`.
    pub fn draw(&self, seed: u64, key: &RowKey, out: &mut Vec<DrawnLeaf>) {
        let c = self.counter(key);
        if c.uniform(seed, 0) >= self.p {
            return;
        }
        match &self.kind {
            NodeKind::Leaf(_) => out.push(DrawnLeaf {
                position: self.position,
                u: std::array::from_fn(|k| c.uniform(seed, 1 + k as u32)),
                mode: self.mode,
            }),
            NodeKind::Compose { children, shuffle } => {
                let mut order: Vec<usize> = (0..children.len()).collect();
                if *shuffle {
                    // Fisher-Yates, draw 1 + k for the k-th swap.
                    for (k, i) in (1..order.len()).rev().enumerate() {
                        let j = randint(0, i as i64, c.uniform(seed, 1 + k as u32)) as usize;
                        order.swap(i, j);
                    }
                }
                for i in order {
                    children[i].draw(seed, key, out);
                }
            }
            NodeKind::OneOf {
                children,
                cumulative,
            } => {
                let u = c.uniform(seed, 1);
                let i = cumulative
                    .iter()
                    .position(|&w| u < w)
                    .unwrap_or(children.len() - 1);
                children[i].draw(seed, key, out);
            }
            NodeKind::SomeOf { children, min, max } => {
                let k = randint(*min as i64, *max as i64, c.uniform(seed, 1)) as usize;
                // A partial Fisher-Yates picks k distinct children; they run in their order.
                let mut idx: Vec<usize> = (0..children.len()).collect();
                for s in 0..k {
                    let j = randint(
                        s as i64,
                        idx.len() as i64 - 1,
                        c.uniform(seed, 2 + s as u32),
                    );
                    idx.swap(s, j as usize);
                }
                let mut pick = idx[..k].to_vec();
                pick.sort_unstable();
                for i in pick {
                    children[i].draw(seed, key, out);
                }
            }
        }
    }

    /// Every leaf by position (None for composition nodes).
    pub fn leaves(&self, out: &mut Vec<Option<Leaf>>) {
        let pos = self.position as usize;
        if out.len() <= pos {
            out.resize(pos + 1, None);
        }
        match &self.kind {
            NodeKind::Leaf(l) => out[pos] = Some(l.clone()),
            NodeKind::Compose { children, .. }
            | NodeKind::OneOf { children, .. }
            | NodeKind::SomeOf { children, .. } => {
                for ch in children {
                    ch.leaves(out);
                }
            }
        }
    }
}

/// A JSON object being read: keys are marked as used, leftovers are errors.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    name: &'static str,
    used: Vec<&'static str>,
}

fn bad(path: &str, what: impl std::fmt::Display) -> Error {
    Error::param("pipeline", format!("{path}: {what}"))
}

impl<'a> Obj<'a> {
    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }
    fn err(&self, key: &str, what: impl std::fmt::Display) -> Error {
        bad(
            &self.path,
            format!("`{}` parameter `{key}` {what}", self.name),
        )
    }
    fn f64(&mut self, key: &'static str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(x),
                _ => Err(self.err(key, format!("must be a finite number, got {v}"))),
            },
        }
    }
    fn int(&mut self, key: &'static str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15 => Ok(x as i64),
                _ => Err(self.err(key, format!("must be an integer, got {v}"))),
            },
        }
    }
    fn bool(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(key, format!("must be true or false, got {v}"))),
        }
    }
    fn choice(
        &mut self,
        key: &'static str,
        options: &[&'static str],
        default: usize,
    ) -> Result<usize> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .and_then(|s| options.iter().position(|o| *o == s))
                .ok_or_else(|| self.err(key, format!("must be one of {options:?}, got {v}"))),
        }
    }
    fn check(&self, ok: bool, key: &str, what: &str) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.err(key, what))
        }
    }
    fn range(&mut self, lo: &'static str, hi: &'static str, d: (f64, f64)) -> Result<(f64, f64)> {
        let a = self.f64(lo, d.0)?;
        let b = self.f64(hi, d.1)?;
        self.check(
            a <= b,
            lo,
            &format!("must not be greater than `{hi}` ({a} > {b})"),
        )?;
        Ok((a, b))
    }
    fn finish(self) -> Result<()> {
        for k in self.map.keys() {
            if !self.used.contains(&k.as_str()) {
                let mut known = self.used.clone();
                known.retain(|u| *u != "name");
                return Err(bad(
                    &self.path,
                    format!(
                        "`{}` has no parameter `{k}` (it takes {})",
                        self.name,
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn unit(o: &mut Obj<'_>, key: &'static str, default: usize) -> Result<Unit> {
    Ok([Unit::Fraction, Unit::Samples, Unit::Seconds]
        [o.choice(key, &["fraction", "samples", "seconds"], default)?])
}

/// Parses a pipeline: a JSON list (a `compose` with p = 1) or one node object.
pub(crate) fn parse(v: &Value, bank: &mut Bank) -> Result<Node> {
    parse_in(v, bank, false)
}

/// Parses a spectrogram pipeline: `frequency_mask` and `time_mask` (SpecAugment) and the
/// compositions.
pub(crate) fn parse_spectrogram(v: &Value) -> Result<Node> {
    parse_in(v, &mut Bank::default(), true)
}

fn parse_in(v: &Value, bank: &mut Bank, spectrogram: bool) -> Result<Node> {
    let mut next = 0usize;
    let root = match v {
        Value::Array(items) => {
            let children = parse_list(items, "pipeline", &mut next, bank, spectrogram)?;
            Node {
                kind: NodeKind::Compose {
                    children,
                    shuffle: false,
                },
                name: "compose",
                p: 1.0,
                mode: Mode::PerExample,
                position: 0,
            }
        }
        _ => parse_node(v, "pipeline".into(), &mut next, bank, spectrogram)?,
    };
    Ok(root)
}

fn parse_list(
    items: &[Value],
    path: &str,
    next: &mut usize,
    bank: &mut Bank,
    spectrogram: bool,
) -> Result<Vec<Node>> {
    // The list itself is the node at `*next` (reserved before the children).
    *next += 1;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_node(v, format!("{path}[{i}]"), next, bank, spectrogram))
        .collect()
}

fn parse_node(
    v: &Value,
    path: String,
    next: &mut usize,
    bank: &mut Bank,
    spectrogram: bool,
) -> Result<Node> {
    let map = v
        .as_object()
        .ok_or_else(|| bad(&path, format!("a transform must be a JSON object, got {v}")))?;
    let name_v = map
        .get("name")
        .ok_or_else(|| bad(&path, "a transform needs a `name`"))?;
    let name_s = name_v
        .as_str()
        .ok_or_else(|| bad(&path, format!("`name` must be a string, got {name_v}")))?;
    const COMPOSITES: [&str; 3] = ["compose", "one_of", "some_of"];
    let known: &[&'static str] = if spectrogram {
        SPEC_TRANSFORMS
    } else {
        TRANSFORMS
    };
    if !spectrogram && name_s == "frequency_mask" {
        return Err(bad(
            &path,
            "`frequency_mask` is a spectrogram transform (use SpecAugment)",
        ));
    }
    let name: &'static str = COMPOSITES
        .iter()
        .chain(known)
        .find(|n| **n == name_s)
        .copied()
        .ok_or_else(|| {
            bad(
                &path,
                format!(
                    "unknown transform `{name_s}` (known: {}, {})",
                    COMPOSITES.join(", "),
                    known.join(", ")
                ),
            )
        })?;
    let position = *next;
    if position > u16::MAX as usize {
        return Err(bad(&path, "more than 65536 nodes in one pipeline"));
    }
    let mut o = Obj {
        map,
        path: path.clone(),
        name,
        used: vec!["name"],
    };
    let composite = COMPOSITES.contains(&name);
    let p = o.f64("p", if composite { 1.0 } else { 0.5 })?;
    o.check((0.0..=1.0).contains(&p), "p", "must be in [0, 1]")?;
    // `mode` is torch-audiomentations' name for how draws are shared; padding keeps
    // audiomentations' own `mode` (silence, wrap, reflect) and is drawn per example.
    let mode = if name == "padding" {
        Mode::PerExample
    } else {
        [Mode::PerExample, Mode::PerBatch, Mode::PerChannel]
            [o.choice("mode", &["per_example", "per_batch", "per_channel"], 0)?]
    };
    let kind = if composite {
        let items = o
            .get("transforms")
            .and_then(Value::as_array)
            .ok_or_else(|| o.err("transforms", "must be a list of transforms"))?;
        let tpath = format!("{path}.transforms");
        match name {
            "compose" => {
                let shuffle = o.bool("shuffle", false)?;
                NodeKind::Compose {
                    children: parse_list(items, &tpath, next, bank, spectrogram)?,
                    shuffle,
                }
            }
            "one_of" => {
                if items.is_empty() {
                    return Err(o.err("transforms", "must not be empty"));
                }
                let weights: Vec<f64> = match o.get("weights") {
                    None => vec![1.0; items.len()],
                    Some(w) => w
                        .as_array()
                        .map(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
                        .and_then(|w| w)
                        .ok_or_else(|| {
                            o.err("weights", format!("must be a list of numbers, got {w}"))
                        })?,
                };
                o.check(
                    weights.len() == items.len(),
                    "weights",
                    "must have one weight per transform",
                )?;
                o.check(
                    weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                        && weights.iter().sum::<f64>() > 0.0,
                    "weights",
                    "must be finite, >= 0 and not all zero",
                )?;
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                let cumulative = weights
                    .iter()
                    .map(|w| {
                        acc += w / total;
                        acc
                    })
                    .collect();
                NodeKind::OneOf {
                    children: parse_list(items, &tpath, next, bank, spectrogram)?,
                    cumulative,
                }
            }
            _ => {
                let n = items.len() as i64;
                let (min, max) = match o.get("num_transforms") {
                    None => {
                        return Err(o.err("num_transforms", "is required (a count or [min, max])"))
                    }
                    Some(Value::Array(a)) if a.len() == 2 => {
                        let lo = a[0].as_i64();
                        let hi = if a[1].is_null() {
                            Some(n)
                        } else {
                            a[1].as_i64()
                        };
                        match (lo, hi) {
                            (Some(lo), Some(hi)) => (lo, hi),
                            _ => {
                                return Err(o.err(
                                    "num_transforms",
                                    "must be a count or [min, max or null]",
                                ))
                            }
                        }
                    }
                    Some(v) => match v.as_i64() {
                        Some(k) => (k, k),
                        None => {
                            return Err(o.err(
                                "num_transforms",
                                format!("must be a count or [min, max], got {v}"),
                            ))
                        }
                    },
                };
                o.check(
                    0 <= min && min <= max && max <= n,
                    "num_transforms",
                    &format!("must satisfy 0 <= min <= max <= {n} (the number of transforms)"),
                )?;
                NodeKind::SomeOf {
                    children: parse_list(items, &tpath, next, bank, spectrogram)?,
                    min: min as usize,
                    max: max as usize,
                }
            }
        }
    } else {
        *next += 1;
        if spectrogram {
            NodeKind::Leaf(parse_spec_leaf(&mut o)?)
        } else {
            NodeKind::Leaf(parse_leaf(&mut o, bank)?)
        }
    };
    o.finish()?;
    Ok(Node {
        kind,
        name,
        p,
        mode,
        position: position as u16,
    })
}

/// frequency_mask (audiomentations' SpecFrequencyMask parameters) and its twin over frames.
fn parse_spec_leaf(o: &mut Obj<'_>) -> Result<Leaf> {
    let (min_fraction, max_fraction) =
        o.range("min_mask_fraction", "max_mask_fraction", (0.03, 0.25))?;
    o.check(
        min_fraction >= 0.0 && max_fraction <= 1.0,
        "min_mask_fraction",
        "and `max_mask_fraction` must be between 0 and 1",
    )?;
    let fill_mean = o.choice("fill_mode", &["constant", "mean"], 0)? == 1;
    let fill_constant = o.f64("fill_constant", 0.0)?;
    Ok(Leaf::SpecMask {
        axis: u8::from(o.name == "time_mask"),
        min_fraction,
        max_fraction,
        fill_mean,
        fill_constant,
    })
}

/// A list of audio paths under `key` and the optional `sample_rate` to resample them to,
/// loaded into the bank.
fn load_sounds(o: &mut Obj<'_>, bank: &mut Bank, key: &'static str) -> Result<Vec<u32>> {
    let paths: Vec<String> = match o.get(key) {
        Some(Value::String(p)) => vec![p.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|p| p.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| o.err(key, "must be a path or a list of paths"))?,
        _ => return Err(o.err(key, "is required (a path or a list of paths)")),
    };
    let sr = match o.int("sample_rate", 0)? {
        0 => None,
        hz if hz > 0 && hz <= u32::MAX as i64 => Some(hz as u32),
        _ => return Err(o.err("sample_rate", "must be a positive integer")),
    };
    bank.load(&paths, sr, &o.path)
}

/// The roll-off range of a Butterworth filter, checked as audiomentations does.
fn rolloffs(o: &mut Obj<'_>, zero_phase: bool) -> Result<(i64, i64)> {
    let lo = o.int("min_rolloff", 12)?;
    let hi = o.int("max_rolloff", 24)?;
    let step = if zero_phase { 12 } else { 6 };
    let why = if zero_phase {
        "must be a positive multiple of 12 dB/octave with zero_phase"
    } else {
        "must be a positive multiple of 6 dB/octave"
    };
    o.check(lo >= step && lo % step == 0, "min_rolloff", why)?;
    o.check(hi >= step && hi % step == 0, "max_rolloff", why)?;
    o.check(
        lo <= hi,
        "min_rolloff",
        "must not be greater than `max_rolloff`",
    )?;
    // The order is rolloff / 6 (or / 12): keep it where the design stays accurate.
    o.check(
        hi / step <= crate::dsp::iir::MAX_ORDER as i64,
        "max_rolloff",
        "gives an order above 64",
    )?;
    Ok((lo, hi))
}

fn parse_filter(o: &mut Obj<'_>) -> Result<Option<FilterLeaf>> {
    use crate::dsp::iir::Rbj;
    let butterworth = |o: &mut Obj<'_>, band: u8, d: (f64, f64)| -> Result<FilterLeaf> {
        let (min_freq, max_freq, min_bandwidth, max_bandwidth) = if band < 2 {
            let (a, b) = o.range("min_cutoff_freq", "max_cutoff_freq", d)?;
            o.check(a > 0.0, "min_cutoff_freq", "must be greater than zero")?;
            (a, b, 0.0, 0.0)
        } else {
            let (a, b) = o.range("min_center_freq", "max_center_freq", d)?;
            o.check(a > 0.0, "min_center_freq", "must be greater than zero")?;
            let (c, e) = o.range(
                "min_bandwidth_fraction",
                "max_bandwidth_fraction",
                (0.5, 1.99),
            )?;
            o.check(
                c > 0.0,
                "min_bandwidth_fraction",
                "must be a positive number",
            )?;
            o.check(e < 2.0, "max_bandwidth_fraction", "must be less than 2")?;
            (a, b, c, e)
        };
        let zero_phase = o.bool("zero_phase", false)?;
        let (min_rolloff, max_rolloff) = rolloffs(o, zero_phase)?;
        let fir_taps = match o.int("fir_taps", 0)? {
            0 => None,
            n => {
                o.check(
                    n >= 3 && n % 2 == 1 && n <= crate::dsp::iir::MAX_TAPS as i64,
                    "fir_taps",
                    "must be an odd number of taps from 3 to 16385 (applied centred)",
                )?;
                Some(n as u32)
            }
        };
        Ok(FilterLeaf::Butterworth {
            band,
            min_freq,
            max_freq,
            min_bandwidth,
            max_bandwidth,
            min_rolloff,
            max_rolloff,
            zero_phase,
            fir_taps,
        })
    };
    let rbj = |o: &mut Obj<'_>, kind: Rbj, f: (f64, f64), g: (f64, f64), q: (f64, f64)| {
        let (min_freq, max_freq) = o.range("min_center_freq", "max_center_freq", f)?;
        o.check(
            min_freq > 0.0,
            "min_center_freq",
            "must be greater than zero",
        )?;
        let (min_gain_db, max_gain_db) = o.range("min_gain_db", "max_gain_db", g)?;
        let (min_q, max_q) = o.range("min_q", "max_q", q)?;
        o.check(min_q > 0.0, "min_q", "must be greater than zero")?;
        if kind != Rbj::Peaking {
            o.check(max_q <= 1.0, "max_q", "must be at most 1 for a shelf")?;
        }
        Ok::<_, Error>(FilterLeaf::Rbj {
            kind,
            min_freq,
            max_freq,
            min_gain_db,
            max_gain_db,
            min_q,
            max_q,
        })
    };
    Ok(Some(match o.name {
        "low_pass_filter" => butterworth(o, 0, (150.0, 7500.0))?,
        "high_pass_filter" => butterworth(o, 1, (20.0, 2400.0))?,
        "band_pass_filter" => butterworth(o, 2, (200.0, 4000.0))?,
        "band_stop_filter" => butterworth(o, 3, (200.0, 4000.0))?,
        "peaking_filter" => rbj(o, Rbj::Peaking, (50.0, 7500.0), (-24.0, 24.0), (0.5, 5.0))?,
        "low_shelf_filter" => rbj(
            o,
            Rbj::LowShelf,
            (50.0, 4000.0),
            (-18.0, 18.0),
            (0.1, 0.999),
        )?,
        "high_shelf_filter" => rbj(
            o,
            Rbj::HighShelf,
            (300.0, 7500.0),
            (-18.0, 18.0),
            (0.1, 0.999),
        )?,
        "seven_band_parametric_eq" => {
            let (min_gain_db, max_gain_db) =
                o.range("min_gain_db", "max_gain_db", (-12.0, 12.0))?;
            FilterLeaf::SevenBand {
                min_gain_db,
                max_gain_db,
            }
        }
        _ => return Ok(None),
    }))
}

/// `time_stretch` and `pitch_shift`, validated as audiomentations does.
fn parse_stretch(o: &mut Obj<'_>) -> Result<Leaf> {
    let leaf = if o.name == "time_stretch" {
        let (min_rate, max_rate) = o.range("min_rate", "max_rate", (0.8, 1.25))?;
        o.check(min_rate >= 0.1, "min_rate", "must be >= 0.1")?;
        o.check(max_rate <= 10.0, "max_rate", "must be <= 10")?;
        let keep = o.bool("leave_length_unchanged", true)?;
        o.check(
            keep,
            "leave_length_unchanged",
            "must be true (a batch keeps its lengths: the stretched row is cut or zero-padded to its length)",
        )?;
        Leaf::TimeStretch { min_rate, max_rate }
    } else {
        let (min_semitones, max_semitones) =
            o.range("min_semitones", "max_semitones", (-4.0, 4.0))?;
        o.check(min_semitones >= -24.0, "min_semitones", "must be >= -24")?;
        o.check(max_semitones <= 24.0, "max_semitones", "must be <= 24")?;
        Leaf::PitchShift {
            min_semitones,
            max_semitones,
        }
    };
    let method = o.choice(
        "method",
        &["librosa_phase_vocoder", "signalsmith_stretch"],
        0,
    )?;
    o.check(
        method == 0,
        "method",
        "\"signalsmith_stretch\" is not implemented in wavegpu: use \"librosa_phase_vocoder\" (the default here)",
    )?;
    Ok(leaf)
}

fn parse_leaf(o: &mut Obj<'_>, bank: &mut Bank) -> Result<Leaf> {
    if let Some(f) = parse_filter(o)? {
        return Ok(Leaf::Filter(f));
    }
    Ok(match o.name {
        "add_short_noises" => short_noises::parse(o, bank)?,
        "time_stretch" | "pitch_shift" => parse_stretch(o)?,
        "apply_impulse_response" => {
            let keep = o.bool("leave_length_unchanged", true)?;
            o.check(
                keep,
                "leave_length_unchanged",
                "must be true (a batch keeps its lengths)",
            )?;
            Leaf::ApplyImpulseResponse {
                clips: load_sounds(o, bank, "ir_path")?,
            }
        }
        "add_color_noise" => {
            let (min_snr_db, max_snr_db) = o.range("min_snr_db", "max_snr_db", (5.0, 40.0))?;
            let (min_f_decay, max_f_decay) = o.range("min_f_decay", "max_f_decay", (-6.0, 6.0))?;
            let p_apply_a_weighting = o.f64("p_apply_a_weighting", 0.0)?;
            o.check(
                (0.0..=1.0).contains(&p_apply_a_weighting),
                "p_apply_a_weighting",
                "must be in [0, 1]",
            )?;
            let n_fft = o.int("n_fft", 128)?;
            o.check(
                (2..=1024).contains(&n_fft),
                "n_fft",
                "must be in 2..=1024 (the FIR runs from workgroup memory)",
            )?;
            Leaf::AddColorNoise {
                min_snr_db,
                max_snr_db,
                min_f_decay,
                max_f_decay,
                p_apply_a_weighting,
                n_fft: n_fft as u32,
            }
        }
        "add_background_noise" => {
            let paths: Vec<String> = match o.get("sounds_path") {
                Some(Value::String(p)) => vec![p.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|p| p.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| o.err("sounds_path", "must be a path or a list of paths"))?,
                _ => return Err(o.err("sounds_path", "is required (a path or a list of paths)")),
            };
            let (min_snr_db, max_snr_db) = o.range("min_snr_db", "max_snr_db", (3.0, 30.0))?;
            let absolute = o.choice("noise_rms", &["relative", "absolute"], 0)? == 1;
            let (min_rms_db, max_rms_db) =
                o.range("min_absolute_rms_db", "max_absolute_rms_db", (-45.0, -15.0))?;
            o.check(
                max_rms_db <= 0.0,
                "max_absolute_rms_db",
                "must not be greater than 0",
            )?;
            let sr = match o.int("sample_rate", 0)? {
                0 => None,
                hz if hz > 0 && hz <= u32::MAX as i64 => Some(hz as u32),
                _ => return Err(o.err("sample_rate", "must be a positive integer")),
            };
            let clips = bank.load(&paths, sr, &o.path)?;
            Leaf::AddBackgroundNoise {
                min_snr_db,
                max_snr_db,
                absolute,
                min_rms_db,
                max_rms_db,
                clips,
            }
        }
        "gain" => {
            let (min_db, max_db) = o.range("min_gain_db", "max_gain_db", (-12.0, 12.0))?;
            Leaf::Gain { min_db, max_db }
        }
        "gain_transition" => {
            let (min_db, max_db) = o.range("min_gain_db", "max_gain_db", (-24.0, 6.0))?;
            let (min_duration, max_duration) =
                o.range("min_duration", "max_duration", (0.2, 6.0))?;
            o.check(
                min_duration > 0.0,
                "min_duration",
                "must be greater than zero",
            )?;
            let unit = unit(o, "duration_unit", 2)?;
            Leaf::GainTransition {
                min_db,
                max_db,
                min_duration,
                max_duration,
                unit,
            }
        }
        "polarity_inversion" => Leaf::PolarityInversion,
        "reverse" => Leaf::Reverse,
        "shift" => {
            let (min, max) = o.range("min_shift", "max_shift", (-0.5, 0.5))?;
            let unit = unit(o, "shift_unit", 0)?;
            if unit == Unit::Fraction {
                o.check(
                    min >= -1.0,
                    "min_shift",
                    "must be >= -1 when shift_unit is \"fraction\"",
                )?;
                o.check(
                    max <= 1.0,
                    "max_shift",
                    "must be <= 1 when shift_unit is \"fraction\"",
                )?;
            }
            let rollover = o.bool("rollover", true)?;
            let fade_duration = o.f64("fade_duration", 0.005)?;
            o.check(
                fade_duration == 0.0 || fade_duration >= 0.00025,
                "fade_duration",
                "must be 0 or >= 0.00025 seconds",
            )?;
            Leaf::Shift {
                min,
                max,
                unit,
                rollover,
                fade_duration,
            }
        }
        "clip" => {
            let a_min = o.f64("a_min", -1.0)?;
            let a_max = o.f64("a_max", 1.0)?;
            o.check(a_min < a_max, "a_min", "must be less than `a_max`")?;
            Leaf::Clip { a_min, a_max }
        }
        "clipping_distortion" => {
            let min_pct = o.int("min_percentile_threshold", 0)?;
            let max_pct = o.int("max_percentile_threshold", 40)?;
            o.check(
                0 <= min_pct && min_pct <= max_pct && max_pct <= 100,
                "min_percentile_threshold",
                "must satisfy 0 <= min <= max_percentile_threshold <= 100",
            )?;
            Leaf::ClippingDistortion { min_pct, max_pct }
        }
        "normalize" => Leaf::Normalize {
            only_too_loud: o.choice("apply_to", &["all", "only_too_loud_sounds"], 0)? == 1,
        },
        "add_gaussian_noise" => {
            let (min_amplitude, max_amplitude) =
                o.range("min_amplitude", "max_amplitude", (0.001, 0.015))?;
            o.check(min_amplitude > 0.0, "min_amplitude", "must be > 0")?;
            Leaf::AddGaussianNoise {
                min_amplitude,
                max_amplitude,
            }
        }
        "add_gaussian_snr" => {
            let (min_snr_db, max_snr_db) = o.range("min_snr_db", "max_snr_db", (5.0, 40.0))?;
            Leaf::AddGaussianSnr {
                min_snr_db,
                max_snr_db,
            }
        }
        "time_mask" => {
            let (min_band_part, max_band_part) =
                o.range("min_band_part", "max_band_part", (0.01, 0.2))?;
            o.check(
                (0.0..=1.0).contains(&min_band_part) && max_band_part <= 1.0,
                "min_band_part",
                "and `max_band_part` must be between 0 and 1",
            )?;
            let fade_duration = o.f64("fade_duration", 0.005)?;
            o.check(
                fade_duration == 0.0 || fade_duration >= 0.00025,
                "fade_duration",
                "must be 0 or >= 0.00025 seconds",
            )?;
            let location = o.choice("mask_location", &["random", "start", "end"], 0)? as u8;
            Leaf::TimeMask {
                min_band_part,
                max_band_part,
                fade_duration,
                location,
            }
        }
        "tanh_distortion" => {
            let (min, max) = o.range("min_distortion", "max_distortion", (0.01, 0.7))?;
            o.check(
                (0.0..=1.0).contains(&min) && max <= 1.0,
                "min_distortion",
                "and `max_distortion` must be between 0 and 1",
            )?;
            Leaf::TanhDistortion { min, max }
        }
        "bit_crush" => {
            let min_bits = o.int("min_bit_depth", 5)?;
            let max_bits = o.int("max_bit_depth", 10)?;
            o.check(min_bits >= 1, "min_bit_depth", "must be at least 1")?;
            o.check(
                max_bits <= 32,
                "max_bit_depth",
                "must not be greater than 32",
            )?;
            o.check(
                min_bits <= max_bits,
                "min_bit_depth",
                "must not be larger than `max_bit_depth`",
            )?;
            Leaf::BitCrush { min_bits, max_bits }
        }
        "padding" => {
            let mode = o.choice("mode", &["silence", "wrap", "reflect"], 0)? as u32;
            let (min_fraction, max_fraction) =
                o.range("min_fraction", "max_fraction", (0.01, 0.7))?;
            o.check(
                min_fraction >= 0.0 && max_fraction <= 1.0,
                "min_fraction",
                "and `max_fraction` must be between 0 and 1",
            )?;
            let start = o.choice("pad_section", &["end", "start"], 0)? == 1;
            Leaf::Padding {
                mode,
                min_fraction,
                max_fraction,
                start,
            }
        }
        other => return Err(bad(&o.path, format!("unknown transform `{other}`"))),
    })
}
