//! `add_short_noises` (audiomentations' AddShortNoises): parsing, the per-row event list
//! drawn with audiomentations' `randomize_parameters` loop, its resolution into event
//! records for a row, and the CPU twin of the GPU kernel (`shaders/augment.wgsl`,
//! `event_rms` and the `SHORT_NOISES` case of `apply`).
//!
//! An event record is [`EVENT_WORDS`] u32 words: the row sample where the (cropped) noise
//! starts, its length in the row, the bank index of its first sample, its index in the
//! clip, the fade-in length, where the fade-out starts in the clip, the fade-out length,
//! and the f32 bits of the host-computed gain factor (the target RMS over the noise's RMS:
//! absolute, or per unit of clean RMS). Only the clean RMS (of the whole input or of the
//! event's region) is left to the device.

use super::{db_to_ratio, load_sounds, randint, uniform, Bank, Leaf, Obj};
use crate::augment::ops::{flag, Env, OpRec, RowStats};
use crate::augment::rng::Counter;
use crate::error::{Error, Result};

/// The most sounds one row may draw. Parameters whose loop would not end (pauses more
/// negative than the sounds are long) or that would place more sounds than this in one row
/// are an [`Error::InvalidParameter`](crate::Error::InvalidParameter) when drawn.
pub(crate) const MAX_SOUNDS: usize = 1024;
/// u32 words per event record.
pub(crate) const EVENT_WORDS: usize = 8;
/// First draw index of the loop in the node's counter (0 decides `p`, 1..=4 are the
/// node's four uniforms, unused here).
const FIRST_DRAW: u32 = 5;

/// How the noise level is set (`OpRec::d`).
pub(crate) mod level {
    /// relative_to_whole_input: clean RMS of the whole example.
    pub const WHOLE: u32 = 0;
    /// relative: clean RMS over the event's region.
    pub const REGION: u32 = 1;
    /// absolute: the noise RMS itself.
    pub const ABSOLUTE: u32 = 2;
}

/// The transform's parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShortNoises {
    /// Indices into the pipeline's [`Bank`].
    pub clips: Vec<u32>,
    pub min_snr_db: f64,
    pub max_snr_db: f64,
    pub min_time: f64,
    pub max_time: f64,
    /// One of [`level`].
    pub level: u32,
    pub min_rms_db: f64,
    pub max_rms_db: f64,
    pub same_level: bool,
    pub include_silence: bool,
    pub burst_probability: f64,
    pub min_pause_factor: f64,
    pub max_pause_factor: f64,
    pub min_fade_in: f64,
    pub max_fade_in: f64,
    pub min_fade_out: f64,
    pub max_fade_out: f64,
    pub signal_gain_db: f64,
}

/// One sound of an `add_short_noises` event list, as audiomentations' `parameters["sounds"]`
/// holds it (times in seconds; `clip` indexes the transform's sound files in their sorted
/// order). For tests: see [`Pipeline::apply_short_noises`](crate::augment::Pipeline).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShortNoiseSound {
    /// Start time (negative: the sound started before the input).
    pub start: f64,
    /// Index into the transform's files.
    pub clip: usize,
    /// Fade-in time.
    pub fade_in_time: f64,
    /// Fade-out time.
    pub fade_out_time: f64,
    /// SNR (relative levels).
    pub snr_db: f64,
    /// Noise RMS in dB (absolute level).
    pub rms_db: f64,
}

/// Parses `add_short_noises` with audiomentations' parameters, defaults and checks.
pub(super) fn parse(o: &mut Obj<'_>, bank: &mut Bank) -> Result<Leaf> {
    let (min_snr_db, max_snr_db) = o.range("min_snr_db", "max_snr_db", (-6.0, 18.0))?;
    let (min_time, max_time) = o.range(
        "min_time_between_sounds",
        "max_time_between_sounds",
        (2.0, 8.0),
    )?;
    let level = match o.choice(
        "noise_rms",
        &["relative_to_whole_input", "relative", "absolute"],
        0,
    )? {
        0 => level::WHOLE,
        1 => level::REGION,
        _ => level::ABSOLUTE,
    };
    let (min_rms_db, max_rms_db) = o.range(
        "min_absolute_noise_rms_db",
        "max_absolute_noise_rms_db",
        (-50.0, -20.0),
    )?;
    o.check(
        max_rms_db < 0.0,
        "max_absolute_noise_rms_db",
        "must be less than 0",
    )?;
    let same_level = o.bool("add_all_noises_with_same_level", false)?;
    let include_silence = o.bool("include_silence_in_noise_rms_estimation", true)?;
    let burst_probability = o.f64("burst_probability", 0.22)?;
    o.check(
        burst_probability > 0.0 && burst_probability <= 1.0,
        "burst_probability",
        "must be in (0, 1]",
    )?;
    let (min_pause_factor, max_pause_factor) = o.range(
        "min_pause_factor_during_burst",
        "max_pause_factor_during_burst",
        (0.1, 1.1),
    )?;
    o.check(
        min_pause_factor > 0.0 && min_pause_factor <= 1.0,
        "min_pause_factor_during_burst",
        "must be in (0, 1]",
    )?;
    let (min_fade_in, max_fade_in) =
        o.range("min_fade_in_time", "max_fade_in_time", (0.005, 0.08))?;
    o.check(min_fade_in >= 0.0, "min_fade_in_time", "must be >= 0")?;
    let (min_fade_out, max_fade_out) =
        o.range("min_fade_out_time", "max_fade_out_time", (0.01, 0.1))?;
    o.check(min_fade_out >= 0.0, "min_fade_out_time", "must be >= 0")?;
    let new = o.f64("signal_gain_db_during_noise", f64::NAN)?;
    let old = o.f64("signal_gain_in_db_during_noise", f64::NAN)?;
    o.check(
        new.is_nan() || old.is_nan(),
        "signal_gain_db_during_noise",
        "and the deprecated `signal_gain_in_db_during_noise` cannot both be given (use only `signal_gain_db_during_noise`)",
    )?;
    let signal_gain_db = [new, old].into_iter().find(|v| !v.is_nan()).unwrap_or(0.0);
    if o.get("noise_transform").is_some() {
        return Err(o.err(
            "noise_transform",
            "is not supported (the noises are mixed in as loaded; put a transform of the noise files in a preprocessing step)",
        ));
    }
    // audiomentations' file cache: every clip is loaded once into the bank here.
    let _ = o.get("lru_cache_size");
    let clips = load_sounds(o, bank, "sounds_path")?;
    Ok(Leaf::AddShortNoises(Box::new(ShortNoises {
        clips,
        min_snr_db,
        max_snr_db,
        min_time,
        max_time,
        level,
        min_rms_db,
        max_rms_db,
        same_level,
        include_silence,
        burst_probability,
        min_pause_factor,
        max_pause_factor,
        min_fade_in,
        max_fade_in,
        min_fade_out,
        max_fade_out,
        signal_gain_db,
    })))
}

impl ShortNoises {
    /// The record's fixed part: code, level, gain; the pipeline fills in the events.
    pub fn resolve(&self, r: &mut OpRec) {
        r.code = crate::augment::ops::code::SHORT_NOISES;
        r.d = self.level;
        r.x = self.signal_gain_db as f32;
    }

    /// The sounds of a row of `n` samples at `sr` Hz, drawn as audiomentations'
    /// `randomize_parameters` does, every uniform taken from `c` at draw 5, 6, ...
    pub fn draw(
        &self,
        c: &Counter,
        seed: u64,
        n: usize,
        sr: u32,
        bank: &Bank,
    ) -> Result<Vec<ShortNoiseSound>> {
        let mut k = FIRST_DRAW;
        let mut next = || {
            let u = c.uniform(seed, k);
            k = k.wrapping_add(1);
            u
        };
        let duration = n as f64 / f64::from(sr);
        let mut t = uniform(-self.max_time, self.max_time, next());
        let mut snr_db = uniform(self.min_snr_db, self.max_snr_db, next());
        let mut rms_db = uniform(self.min_rms_db, self.max_rms_db, next());
        let mut sounds: Vec<ShortNoiseSound> = Vec::new();
        let too_many = || {
            Error::param(
                "add_short_noises",
                format!(
                    "more than {MAX_SOUNDS} sounds drawn for a row of {n} samples (example {}): \
                     check min_time_between_sounds and the pause factors",
                    c.id
                ),
            )
        };
        // One sound starting at `start`: its clip, fades and levels; returns its duration.
        let mut sound = |start: f64,
                         next: &mut dyn FnMut() -> f64,
                         sounds: &mut Vec<ShortNoiseSound>|
         -> Result<f64> {
            if sounds.len() >= MAX_SOUNDS {
                return Err(too_many());
            }
            let clip = randint(0, self.clips.len() as i64 - 1, next()) as usize;
            let dur = f64::from(bank.clips[self.clips[clip] as usize].len) / f64::from(sr);
            let fade_in_time = dur.min(uniform(self.min_fade_in, self.max_fade_in, next()));
            let fade_out_time = dur.min(uniform(self.min_fade_out, self.max_fade_out, next()));
            if !self.same_level {
                snr_db = uniform(self.min_snr_db, self.max_snr_db, next());
                rms_db = uniform(self.min_rms_db, self.max_rms_db, next());
            }
            sounds.push(ShortNoiseSound {
                start,
                clip,
                fade_in_time,
                fade_out_time,
                snr_db,
                rms_db,
            });
            Ok(dur)
        };
        while t < duration {
            let mut dur = sound(t, &mut next, &mut sounds)?;
            // Bursts: overlapping sounds (Python evaluates random() before the time test).
            while next() < self.burst_probability && t < duration {
                let pf = uniform(self.min_pause_factor, self.max_pause_factor, next());
                let last = sounds.last().map_or(t, |s| s.start);
                t = last + pf * dur;
                if t >= duration {
                    break;
                }
                dur = sound(t, &mut next, &mut sounds)?;
            }
            t += dur;
            t += uniform(self.min_time, self.max_time, next());
        }
        Ok(sounds)
    }

    /// Appends the event records of `sounds` in a row of `n` samples to `events` (sorted by
    /// start sample) and returns (first event index, count). Sounds ending before the
    /// input, cropped to nothing or silent add nothing (audiomentations skips them, or
    /// crashes on an empty region).
    pub fn events(
        &self,
        sounds: &[ShortNoiseSound],
        n: usize,
        sr: u32,
        bank: &Bank,
        events: &mut Vec<u32>,
    ) -> Result<(u32, u32)> {
        let srf = f64::from(sr);
        for &b in &self.clips {
            let clip = &bank.clips[b as usize];
            clip.check_rate(sr)?;
        }
        let mut recs: Vec<[u32; EVENT_WORDS]> = Vec::new();
        for s in sounds {
            let Some(&b) = self.clips.get(s.clip) else {
                return Err(Error::param(
                    "add_short_noises",
                    format!("sound clip {} of {}", s.clip, self.clips.len()),
                ));
            };
            let clip = &bank.clips[b as usize];
            let len = i64::from(clip.len);
            if s.start + len as f64 / srf < 0.0 {
                continue;
            }
            // Python's int(): truncation towards zero.
            let fi = ((s.fade_in_time * srf) as i64).clamp(0, len);
            let fo = ((s.fade_out_time * srf) as i64).clamp(0, len);
            let start = (s.start * srf) as i64;
            let shave = (-start).max(0);
            let s0 = start.max(0);
            let m = ((start + len).min(n as i64) - s0).max(0);
            if m == 0 {
                continue;
            }
            let (k0, fo_start) = (shave as usize, (len - fo) as usize);
            let (fi, fo) = (fi as usize, fo as usize);
            let base = clip.start as usize;
            let noise = (k0..k0 + m as usize)
                .map(|k| bank.samples[base + k] * fade_gain(k, fi, fo_start, fo));
            let noise_rms = if self.include_silence {
                rms(noise)
            } else {
                rms_without_silence(&noise.collect::<Vec<f32>>(), sr)
            };
            // NaN noise is skipped too (audiomentations: `if noise_rms > 0`).
            if noise_rms.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                continue;
            }
            let factor = if self.level == level::ABSOLUTE {
                db_to_ratio(s.rms_db) / noise_rms
            } else {
                1.0 / 10f64.powf(s.snr_db / 20.0) / noise_rms
            };
            recs.push([
                s0 as u32,
                m as u32,
                (clip.start as usize + k0) as u32,
                k0 as u32,
                fi as u32,
                fo_start as u32,
                fo as u32,
                (factor as f32).to_bits(),
            ]);
        }
        recs.sort_by_key(|r| r[0]);
        let first = (events.len() / EVENT_WORDS) as u32;
        events.extend(recs.iter().flatten());
        Ok((first, recs.len() as u32))
    }
}

/// The noise gain at clip sample `k`: numpy's `linspace(0, 1, fi)` over the first `fi`
/// samples, `linspace(1, 0, fo)` from `fo_start`, the minimum where both apply (computed in
/// f64 and rounded to f32 as audiomentations' float32 gain array). A zero-sample fade is
/// no fade (audiomentations crashes on a zero-sample fade-out).
pub(crate) fn fade_gain(k: usize, fi: usize, fo_start: usize, fo: usize) -> f32 {
    let mut g = 1.0f32;
    if k < fi {
        g = if fi == 1 {
            0.0
        } else if k == fi - 1 {
            1.0
        } else {
            (k as f64 * (1.0 / (fi - 1) as f64)) as f32
        };
    }
    if fo > 0 && k >= fo_start {
        let j = k - fo_start;
        let f = if fo == 1 {
            1.0
        } else if j == fo - 1 {
            0.0
        } else {
            (j as f64 * (-1.0 / (fo - 1) as f64) + 1.0) as f32
        };
        g = g.min(f);
    }
    g
}

fn rms(v: impl Iterator<Item = f32>) -> f64 {
    let (mut ss, mut n) = (0.0f64, 0usize);
    for x in v {
        ss += f64::from(x) * f64::from(x);
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        (ss / n as f64).sqrt()
    }
}

/// audiomentations' `calculate_rms_without_silence`: the RMS of the 25 ms windows' RMS
/// values above 1/25 of their maximum (the last full window is left out when the length
/// is a multiple of the window, as there).
fn rms_without_silence(x: &[f32], sr: u32) -> f64 {
    let w = (0.025 * f64::from(sr)) as usize;
    if w == 0 || x.len() < w {
        return rms(x.iter().copied());
    }
    let mut win = vec![0.0f64; x.len() / w];
    let mut t = 0;
    while t + w < x.len() {
        win[t / w] += rms(x[t..t + w].iter().copied());
        t += w;
    }
    let thr = win.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)) / 25.0;
    let kept: Vec<f64> = win.into_iter().filter(|&v| v > thr).collect();
    if kept.is_empty() {
        return rms(x.iter().copied());
    }
    (kept.iter().map(|v| v * v).sum::<f64>() / kept.len() as f64).sqrt()
}

/// One event record of `events` (index `e`).
fn rec(events: &[u32], e: u32) -> &[u32] {
    let i = e as usize * EVENT_WORDS;
    &events[i..i + EVENT_WORDS]
}

/// Per event of `op`, the sum of squares of `row` over the event's region (the `event_rms`
/// kernel's twin; only the "relative" level uses it).
pub(crate) fn region_sumsq(op: &OpRec, row: &[f32], events: &[u32]) -> Vec<f64> {
    if op.d != level::REGION {
        return Vec::new();
    }
    (op.b..op.b + op.c)
        .map(|e| {
            let r = rec(events, e);
            let (s0, m) = (r[0] as usize, r[1] as usize);
            row[s0..s0 + m]
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum()
        })
        .collect()
}

/// Per event of row `c`'s op, the clean RMS over its region: the mean over `rows` (the
/// example's rows, or the row alone) of each row's RMS there (audiomentations'
/// calculate_rms on a multichannel array).
pub(crate) fn region_rms(ops: &[OpRec], stats: &[RowStats], events: &[u32], c: usize) -> Vec<f64> {
    let op = &ops[c];
    if op.d != level::REGION {
        return Vec::new();
    }
    let rows = if op.flags & flag::OWN_ROW != 0 {
        c..c + 1
    } else {
        0..ops.len()
    };
    let count = rows.len().max(1) as f64;
    (0..op.c)
        .map(|e| {
            rows.clone()
                .filter(|&k| e < ops[k].c)
                .map(|k| {
                    let m = rec(events, ops[k].b + e)[1];
                    let ss = stats[k]
                        .region_sumsq
                        .get(e as usize)
                        .copied()
                        .unwrap_or(0.0);
                    if m > 0 {
                        (ss / f64::from(m)).sqrt()
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
                / count
        })
        .collect()
}

/// The CPU twin of the `SHORT_NOISES` apply case: the noises (bank samples times the fade
/// gain times the factor times the clean RMS, whole `rms` or per event `region`) added in
/// start order, the signal gained by `10^(mask gain_db / 20)` under the largest fade gain
/// of the events covering a sample when `op.x` (signal_gain_db_during_noise) is not 0.
pub(crate) fn apply(
    op: &OpRec,
    src: &[f32],
    dst: &mut [f32],
    env: Env<'_>,
    rms: f64,
    region: &[f64],
) {
    let mut noise = vec![0.0f32; src.len()];
    let mut mask = vec![0.0f32; src.len()];
    for e in 0..op.c {
        let r = rec(env.events, op.b + e);
        let (s0, m, b0, k0) = (r[0] as usize, r[1] as usize, r[2] as usize, r[3] as usize);
        let (fi, fo_start, fo) = (r[4] as usize, r[5] as usize, r[6] as usize);
        let clean = match op.d {
            level::WHOLE => rms,
            level::REGION => region.get(e as usize).copied().unwrap_or(0.0),
            _ => 1.0,
        };
        let scale = f64::from(f32::from_bits(r[7])) * clean;
        for j in 0..m {
            let g = fade_gain(k0 + j, fi, fo_start, fo);
            noise[s0 + j] += (f64::from(env.bank[b0 + j] * g) * scale) as f32;
            mask[s0 + j] = mask[s0 + j].max(g);
        }
    }
    for (i, d) in dst.iter_mut().enumerate() {
        let gain = if op.x != 0.0 {
            10f32.powf(mask[i] * op.x / 20.0)
        } else {
            1.0
        };
        *d = src[i] * gain + noise[i];
    }
}
