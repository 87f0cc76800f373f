//! `mel`, `mfcc` and `chroma`: plans that depend on the sample rate, so one plan per distinct
//! rate (built on first use, shared by every file at that rate) instead of one per command.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::Array3;
use wavegpu::{Audio, Chroma, DbRef, DbScale, Device, Mel, MelNorm, Mfcc, Spectrogram};

use crate::args::{ChromaArgs, ChromaNormName, DbFlags, DeviceName, LoadArgs, MelArgs};
use crate::args::{MelFlags, MelNormName, MfccArgs, RefLevel, TopDb};
use crate::fail::Fail;
use crate::image::Scale;
use crate::stream::{stream_rate, stream_to_npy, Streamable};
use crate::{
    load, load_options, open_device, plan_error, plan_mode, run_mode, with_framing, write_real,
    OutKind,
};

/// librosa's `amin` for `power_to_db`.
const AMIN_POWER: f32 = 1e-10;
/// librosa's `amin` for `amplitude_to_db`.
const AMIN_AMPLITUDE: f32 = 1e-5;

pub fn mel(a: MelArgs) -> Result<i32, Fail> {
    if !a.db && a.db_flags.any_given() {
        return Err(Fail::usage(
            "--top-db, --ref and --amin set the dB conversion of `mel --db`: add --db",
        ));
    }
    // librosa users take power_to_db of a power spectrogram and amplitude_to_db of a
    // magnitude one (--power 1); any other exponent is treated as power.
    let amplitude = a.power == 1.0;
    let db = a.db.then(|| db_scale(&a.db_flags, amplitude));
    // The picture: dB values are drawn as they are; powers are converted to dB for it.
    let scale = if a.db {
        Scale::Linear
    } else {
        Scale::PowerDb { power: a.power }
    };
    let (framing, mel, power) = (&a.framing, &a.mel, a.power);
    let make = |sr: u32, device: &Device| -> wavegpu::Result<Mel> {
        let mut b = with_framing(Spectrogram::mel(sr), framing)
            .power(power)
            .n_mels(mel.n_mels as usize)
            .fmin(mel.fmin)
            .htk(mel.htk)
            .norm(mel_norm(mel.norm));
        if let Some(f) = mel.fmax {
            b = b.fmax(f);
        }
        if let Some(db) = db {
            b = b.db(db);
        }
        b.build(device)
    };
    let job = Features {
        load: &a.load,
        device: a.device.device,
        nominal_rate: mel_nominal_rate(&a.load, mel),
        check: None,
        one_plan: false,
        rate_note: &|sr| mel_rate_note(mel, sr),
        scale,
        command: "mel",
    };
    job.run_streamable(
        &a.input,
        &a.output,
        a.stream.stream,
        make,
        |p: &Mel, x: &Audio| p.run(x),
    )
}

pub fn mfcc(a: MfccArgs) -> Result<i32, Fail> {
    // librosa.feature.mfcc: power_to_db of the power mel spectrogram; --db (always on) and
    // --power (only 2 parses) change nothing.
    let (_always_db, _power_two) = (a.db, a.power);
    let db = db_scale(&a.db_flags, false);
    let (framing, mel) = (&a.framing, &a.mel);
    let (n_mfcc, lifter) = (a.n_mfcc as usize, a.lifter);
    let make = |sr: u32, device: &Device| -> wavegpu::Result<Mfcc> {
        let mut b = with_framing(Spectrogram::mfcc(sr), framing)
            .n_mels(mel.n_mels as usize)
            .fmin(mel.fmin)
            .htk(mel.htk)
            .norm(mel_norm(mel.norm))
            .db(db)
            .n_mfcc(n_mfcc)
            .lifter(lifter);
        if let Some(f) = mel.fmax {
            b = b.fmax(f);
        }
        b.build(device)
    };
    let job = Features {
        load: &a.load,
        device: a.device.device,
        nominal_rate: mel_nominal_rate(&a.load, mel),
        check: None,
        one_plan: false,
        rate_note: &|sr| mel_rate_note(mel, sr),
        scale: Scale::Linear,
        command: "mfcc",
    };
    job.run_streamable(
        &a.input,
        &a.output,
        a.stream.stream,
        make,
        |p: &Mfcc, x: &Audio| p.run(x),
    )
}

pub fn chroma(a: ChromaArgs) -> Result<i32, Fail> {
    let normalize = a.norm == ChromaNormName::Inf;
    // The picture: 0..1 when every frame is divided by its maximum, else 0..max.
    let scale = Scale::FromZero {
        max: normalize.then_some(1.0),
    };
    let framing = &a.framing;
    let (power, n_chroma, tuning, ctroct) = (a.power, a.n_chroma as usize, a.tuning, a.ctroct);
    let (octwidth, base_c) = (a.octwidth.0, !a.no_base_c);
    let make = |sr: u32, device: &Device| -> wavegpu::Result<Chroma> {
        with_framing(Spectrogram::chroma(sr), framing)
            .power(power)
            .n_chroma(n_chroma)
            .tuning(tuning)
            .ctroct(ctroct)
            .octwidth(octwidth)
            .base_c(base_c)
            .normalize(normalize)
            .build(device)
    };
    let job = Features {
        load: &a.load,
        device: a.device.device,
        // No chroma parameter depends on the rate: any rate checks the flags.
        nominal_rate: a.load.sr.unwrap_or(22_050),
        check: None,
        one_plan: false,
        rate_note: &rate_note,
        scale,
        command: "chroma",
    };
    job.run_streamable(
        &a.input,
        &a.output,
        a.stream.stream,
        make,
        |p: &Chroma, x: &Audio| p.run(x),
    )
}

fn mel_norm(n: MelNormName) -> MelNorm {
    match n {
        MelNormName::Slaney => MelNorm::Slaney,
        MelNormName::NoNorm => MelNorm::None,
    }
}

/// `power_to_db` (or `amplitude_to_db`) with librosa's defaults where a flag is not given.
/// The maximum (for --top-db and --ref max) is over the whole output, every channel together,
/// as librosa computes it on the array it is given.
fn db_scale(f: &DbFlags, amplitude: bool) -> DbScale {
    DbScale {
        reference: match f.reference {
            None => DbRef::Value(1.0),
            Some(RefLevel::Value(r)) => DbRef::Value(r),
            Some(RefLevel::Max) => DbRef::Max,
        },
        amin: f.amin.unwrap_or(if amplitude {
            AMIN_AMPLITUDE
        } else {
            AMIN_POWER
        }),
        top_db: f.top_db.unwrap_or(TopDb(Some(80.0))).0,
        per_item: false,
        amplitude,
    }
}

/// A sample rate to check mel flags at before any file is read: --sr when given (every file is
/// resampled to it), else one at which fmax's default (sr / 2) clears fmin, so that only a
/// combination no rate could satisfy fails there. A rate-dependent failure (--fmin above a
/// file's Nyquist frequency) is that file's error.
fn mel_nominal_rate(load: &LoadArgs, mel: &MelFlags) -> u32 {
    if let Some(sr) = load.sr {
        return sr;
    }
    if mel.fmax.is_some() {
        return 22_050;
    }
    let need = (2.0 * mel.fmin).floor() + 2.0;
    if need >= u32::MAX as f64 {
        u32::MAX
    } else {
        (need as u32).max(22_050)
    }
}

/// What a plan's failure at one file's rate says about that rate.
pub fn rate_note(sr: u32) -> String {
    format!("at this file's sample rate, {sr} Hz")
}

/// What a mel plan's failure at one file's rate says about that rate.
fn mel_rate_note(mel: &MelFlags, sr: u32) -> String {
    match mel.fmax {
        Some(_) => rate_note(sr),
        None => format!(
            "at this file's sample rate, {sr} Hz, where fmax defaults to sr / 2 = {} Hz",
            sr as f64 / 2.0
        ),
    }
}

/// What the rate-dependent commands share: loading, the device, the plan cache, single file
/// or directory.
pub struct Features<'a> {
    pub load: &'a LoadArgs,
    pub device: DeviceName,
    /// The rate to build a CPU plan at before any file is read, so that flags the plan
    /// rejects are usage errors; --sr when given.
    pub nominal_rate: u32,
    /// Without --sr, checks the flags in place of the plan at `nominal_rate`, for a plan whose
    /// flags may hold at some rates and not at others (contrast's bands): its failure is a
    /// usage error, the plan's failure at a file's rate is that file's.
    pub check: Option<&'a (dyn Fn() -> wavegpu::Result<()> + Sync)>,
    /// The plan does not depend on the rate: one plan serves every file.
    pub one_plan: bool,
    /// Appended to a plan's failure at one file's rate, in parentheses.
    pub rate_note: &'a (dyn Fn(u32) -> String + Sync),
    pub scale: Scale,
    pub command: &'static str,
}

impl Features<'_> {
    /// Runs the job: `make` builds a plan for a rate on a device, `run` computes one file,
    /// whose real `(channels, rows, frames)` result goes to .npy or .png (`write_real`).
    pub fn run<P: Send + Sync>(
        &self,
        input: &Path,
        output: &Path,
        make: impl Fn(u32, &Device) -> wavegpu::Result<P> + Sync,
        run: impl Fn(&P, &Audio) -> wavegpu::Result<Array3<f32>> + Sync,
    ) -> Result<i32, Fail> {
        let mono = !self.load.no_mono;
        self.run_with(input, output, make, run, |x, output, kind| {
            write_real(output, kind, x, mono, self.scale, self.command)
        })
    }

    /// [`run`](Self::run) for plans with a stream: .npy outputs of long inputs (10 minutes or
    /// more), or of every input with `forced` (`--stream`), are computed chunk by chunk with
    /// bounded memory (see `stream.rs`), resampled block by block when --sr asks.
    pub fn run_streamable<P: Streamable + Send + Sync>(
        &self,
        input: &Path,
        output: &Path,
        forced: bool,
        make: impl Fn(u32, &Device) -> wavegpu::Result<P> + Sync,
        run: impl Fn(&P, &Audio) -> wavegpu::Result<Array3<f32>> + Sync,
    ) -> Result<i32, Fail> {
        let mono = !self.load.no_mono;
        let load = self.load;
        let stream =
            |plan: &P, input: &Path, output: &Path| stream_to_npy(plan, input, output, load);
        self.run_inner(
            input,
            output,
            make,
            run,
            |x, output, kind| write_real(output, kind, x, mono, self.scale, self.command),
            Some((&stream, forced)),
        )
    }

    /// [`run`](Self::run) with the writing of a result left to `write` (complex output).
    pub fn run_with<P: Send + Sync, T>(
        &self,
        input: &Path,
        output: &Path,
        make: impl Fn(u32, &Device) -> wavegpu::Result<P> + Sync,
        run: impl Fn(&P, &Audio) -> wavegpu::Result<T> + Sync,
        write: impl Fn(T, &Path, OutKind) -> Result<(), Fail> + Sync,
    ) -> Result<i32, Fail> {
        self.run_inner(input, output, make, run, write, None)
    }

    #[allow(clippy::type_complexity)]
    fn run_inner<P: Send + Sync, T>(
        &self,
        input: &Path,
        output: &Path,
        make: impl Fn(u32, &Device) -> wavegpu::Result<P> + Sync,
        run: impl Fn(&P, &Audio) -> wavegpu::Result<T> + Sync,
        write: impl Fn(T, &Path, OutKind) -> Result<(), Fail> + Sync,
        stream: Option<(&(dyn Fn(&P, &Path, &Path) -> Result<(), Fail> + Sync), bool)>,
    ) -> Result<i32, Fail> {
        // Flags the plan rejects are usage errors, found before the files are looked at; a
        // CPU build is cheap (a filterbank, a window, an FFT plan).
        let nominal = self.nominal_rate;
        let cpu_check = match (self.load.sr, self.check) {
            (None, Some(check)) => {
                check().map_err(|e| plan_error(e, self.device))?;
                None
            }
            _ => Some(make(nominal, &Device::cpu()).map_err(|e| plan_error(e, self.device))?),
        };
        let mode = plan_mode(input, output, &[OutKind::Npy, OutKind::Png])?;
        let device = match self.device {
            DeviceName::Cpu => Device::cpu(),
            name => open_device(name)?,
        };
        let one_plan = self.one_plan;
        let key = |sr: u32| if one_plan { 0 } else { sr };
        let cache = PlanCache::new(|sr| make(sr, &device));
        match cpu_check {
            // Every file comes out at this rate (or the rate does not matter): build the plan
            // now, once.
            Some(cpu_plan) if self.load.sr.is_some() || one_plan => {
                let plan = if device.is_gpu() {
                    make(nominal, &device).map_err(|e| plan_error(e, self.device))?
                } else {
                    cpu_plan
                };
                cache.insert(key(nominal), plan);
            }
            _ => {}
        }

        let opts = load_options(self.load);
        let job = |input: &Path, output: &Path, kind: OutKind| -> Result<(), Fail> {
            if let (Some((stream, forced)), OutKind::Npy) = (stream, kind) {
                if let Some(sr) = stream_rate(input, self.load, forced) {
                    let plan = cache.get(key(sr)).map_err(|e| {
                        Fail::input(input.display(), format!("{e} ({})", (self.rate_note)(sr)))
                    })?;
                    return stream(&plan, input, output);
                }
            }
            let audio = load(input, &opts)?;
            let sr = audio.sample_rate();
            let plan = cache.get(key(sr)).map_err(|e| {
                Fail::input(input.display(), format!("{e} ({})", (self.rate_note)(sr)))
            })?;
            let x = run(&plan, &audio).map_err(|e| Fail::lib(input.display(), e))?;
            write(x, output, kind)
        };
        run_mode(mode, &job)
    }
}

/// Plans keyed by sample rate, each built once on first use, even when files of the same
/// rate arrive on several threads at once (the others wait for the first build). A failed
/// build is remembered as its message: every file at that rate reports it.
struct PlanCache<P, F> {
    build: F,
    plans: Mutex<HashMap<u32, Arc<Slot<P>>>>,
}

/// One rate's plan, or the message of its failed build, once set.
type Slot<P> = OnceLock<Result<Arc<P>, String>>;

impl<P, F> PlanCache<P, F>
where
    F: Fn(u32) -> wavegpu::Result<P>,
{
    fn new(build: F) -> Self {
        PlanCache {
            build,
            plans: Mutex::new(HashMap::new()),
        }
    }

    fn cell(&self, sr: u32) -> Arc<Slot<P>> {
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        plans.entry(sr).or_default().clone()
    }

    fn insert(&self, sr: u32, plan: P) {
        let _ = self.cell(sr).set(Ok(Arc::new(plan)));
    }

    fn get(&self, sr: u32) -> Result<Arc<P>, String> {
        self.cell(sr)
            .get_or_init(|| (self.build)(sr).map(Arc::new).map_err(|e| e.to_string()))
            .clone()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.plans.lock().map(|p| p.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_build_per_rate_across_threads() {
        let builds = AtomicUsize::new(0);
        let cache = PlanCache::new(|sr: u32| {
            builds.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            if sr == 1 {
                Err(wavegpu::Error::InvalidParameter {
                    name: "fmax",
                    reason: "too low".into(),
                })
            } else {
                Ok(sr * 10)
            }
        });
        cache.insert(44_100, 7);
        std::thread::scope(|s| {
            for i in 0..12u32 {
                let cache = &cache;
                s.spawn(move || {
                    let sr = [16_000, 48_000, 1, 44_100][i as usize % 4];
                    let got = cache.get(sr);
                    match sr {
                        1 => assert!(got.unwrap_err().contains("fmax")),
                        44_100 => assert_eq!(*got.unwrap(), 7),
                        _ => assert_eq!(*got.unwrap(), sr * 10),
                    }
                });
            }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 3);
        assert_eq!(cache.len(), 4);
    }
}
