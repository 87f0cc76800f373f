//! Arbitrary parameters through the public plan builders on the CPU device; what builds runs
//! on a short signal. Errors are fine; panics, hangs and wrong output shapes are not.
//!
//! Sizes: n_fft is drawn below 2^16 most of the time and up to 2^24 + 1 (past the documented
//! maximum, 2^22) otherwise; the signal is at most 4095 samples, two channels. The only other cap is
//! on the work the caller asks for: a run whose output (frames x bins the plan reports
//! through `output_shape`) exceeds 2^21 values is not run, since its time is the size of what
//! was asked, not a slow path.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ndarray::{Array2, Array3};
use num_complex::Complex32;
use wavegpu::{
    Audio, AudioBatch, DbRef, DbScale, Device, MelNorm, PadMode, SpectralFeature, Spectrogram,
    Window,
};

#[derive(Debug, Arbitrary)]
enum Kind {
    Stft,
    Istft {
        length: Option<u16>,
        frames: u8,
    },
    Mel,
    Mfcc {
        n_mfcc: u16,
        lifter: f32,
    },
    Chroma {
        n_chroma: u16,
        tuning: f64,
        ctroct: f64,
        octwidth: Option<f64>,
        base_c: bool,
        normalize: bool,
    },
    Cqt {
        variant: u8,
        fmin: f64,
        n_bins: u16,
        bpo: u16,
        tuning: f64,
        filter_scale: f64,
        gamma: Option<f64>,
        sparsity: f64,
        norm: Option<f64>,
        scale: bool,
    },
    ChromaCqt {
        fmin: f64,
        tuning: f64,
        n_chroma: u16,
        n_octaves: u8,
        bpo: u16,
        norm: Option<f64>,
        threshold: f64,
    },
    Spectral {
        feature: u8,
        a: f64,
        b: f64,
        n_bands: u8,
        linear: bool,
        per_item: bool,
    },
    Rms {
        frame_length: u16,
        hop: u16,
    },
    Zcr {
        frame_length: u16,
        hop: u16,
    },
}

#[derive(Debug, Arbitrary)]
struct Stft {
    n_fft: u16,
    n_fft_big: Option<u32>,
    hop: Option<u16>,
    win: Option<u16>,
    window: u8,
    custom: Vec<f32>,
    center: bool,
    reflect: bool,
    power: f32,
}

#[derive(Debug, Arbitrary)]
struct Db {
    max_ref: bool,
    reference: f32,
    amin: f32,
    top_db: Option<f32>,
    per_item: bool,
    amplitude: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    kind: Kind,
    stft: Stft,
    sr: u32,
    n_mels: u16,
    fmin: f64,
    fmax: Option<f64>,
    htk: bool,
    slaney: bool,
    db: Option<Db>,
    len: u16,
    stereo: bool,
    batch: bool,
}

/// Runs past this many output values are skipped (2^21: a run of a 2.58M-point prime FFT on
/// two rows, 2.6M values, took 7.9 s under the fuzzer's instrumentation, 1.3 s in a release
/// build; its time is the size of what was asked).
const MAX_OUT: usize = 1 << 21;

impl Stft {
    fn n_fft(&self) -> usize {
        // The large branch (up to 2^24 + 1, past the documented 2^22 maximum) only for
        // n_fft < 16, so that most runs stay fast.
        match self.n_fft_big {
            Some(n) if self.n_fft < 16 => (n as usize) % ((1 << 24) + 2),
            _ => self.n_fft as usize,
        }
    }
    fn window(&self) -> Window {
        match self.window % 5 {
            0 => Window::Hann,
            1 => Window::Hamming,
            2 => Window::Blackman,
            3 => Window::Ones,
            _ => Window::Custom(self.custom.clone()),
        }
    }
    fn pad(&self) -> PadMode {
        if self.reflect {
            PadMode::Reflect
        } else {
            PadMode::Constant
        }
    }
}

macro_rules! stft_args {
    ($b:expr, $s:expr) => {{
        let mut b = $b.n_fft($s.n_fft()).window($s.window()).center($s.center);
        if let Some(h) = $s.hop {
            b = b.hop_length(h as usize);
        }
        if let Some(w) = $s.win {
            b = b.win_length(w as usize);
        }
        b
    }};
}

fn db(d: &Db) -> DbScale {
    let mut s = DbScale::default();
    s.reference = if d.max_ref {
        DbRef::Max
    } else {
        DbRef::Value(d.reference)
    };
    s.amin = d.amin;
    s.top_db = d.top_db;
    s.per_item = d.per_item;
    s.amplitude = d.amplitude;
    s
}

fn audio(inp: &Input) -> Audio {
    let len = (inp.len % 4096) as usize;
    let ch = if inp.stereo { 2 } else { 1 };
    let data = Array2::from_shape_fn((ch, len), |(c, i)| {
        ((i as f32) * (0.05 + 0.03 * c as f32)).sin() * 0.5
            + 0.01 * ((((i * 7919) % 1000) as f32) / 500.0 - 1.0)
    });
    Audio::new(data, inp.sr.max(1)).unwrap()
}

fn batch(a: &Audio) -> Option<AudioBatch> {
    let len = a.len();
    let rows: Vec<Vec<f32>> = vec![
        a.channel(0).to_vec(),
        a.channel(0).to_vec()[..len / 2].to_vec(),
    ];
    AudioBatch::from_rows(&rows, a.sample_rate()).ok()
}

/// Runs `$plan` on the clip (and a batch of it and its first half) when its output is not
/// larger than `MAX_OUT`, and checks the output shape against `output_shape`.
macro_rules! run_plan {
    ($plan:expr, $a:expr, $inp:expr) => {{
        let plan = $plan;
        let a = $a;
        if let Ok(shape) = plan.output_shape(a.channels(), a.len()) {
            if shape.0 * shape.1 * shape.2 <= MAX_OUT {
                if let Ok(out) = plan.run(a) {
                    assert_eq!(out.dim(), shape, "output_shape disagrees with run");
                }
                if $inp.batch {
                    if let Some(b) = batch(a) {
                        if let Ok(s2) = plan.output_shape(2, a.len()) {
                            if s2.0 * s2.1 * s2.2 <= MAX_OUT {
                                if let Ok(out) = plan.run_batch(&b) {
                                    assert_eq!(
                                        out.dim(),
                                        s2,
                                        "output_shape disagrees with run_batch"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }};
}

fuzz_target!(|inp: Input| {
    let device = Device::cpu();
    let a = audio(&inp);
    let s = &inp.stft;
    let sr = inp.sr;
    let norm = if inp.slaney {
        MelNorm::Slaney
    } else {
        MelNorm::None
    };
    match &inp.kind {
        Kind::Stft => {
            let b = stft_args!(Spectrogram::stft(), s)
                .pad_mode(s.pad())
                .power(s.power);
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Istft { length, frames } => {
            let b = stft_args!(Spectrogram::istft(), s);
            if let Ok(p) = b.build(&device) {
                let n_fft = s.n_fft();
                let nf = n_fft / 2 + 1;
                let frames = *frames as usize % 64;
                if nf * frames <= MAX_OUT {
                    let spec = Array3::from_shape_fn((1, nf, frames), |(_, f, t)| {
                        Complex32::new(
                            ((f * 31 + t * 17) % 13) as f32 * 0.1,
                            (f as f32 - t as f32) * 0.01,
                        )
                    });
                    let length = length.map(|l| l as usize);
                    if let Ok(n) = p.output_len(frames, length) {
                        if n <= MAX_OUT {
                            if let Ok(out) = p.run(spec.view(), length) {
                                assert_eq!(out.dim(), (1, n), "output_len disagrees with run");
                            }
                        }
                    }
                }
            }
        }
        Kind::Mel => {
            let mut b = stft_args!(Spectrogram::mel(sr), s)
                .pad_mode(s.pad())
                .power(s.power)
                .n_mels(inp.n_mels as usize)
                .fmin(inp.fmin)
                .htk(inp.htk)
                .norm(norm);
            if let Some(f) = inp.fmax {
                b = b.fmax(f);
            }
            if let Some(d) = &inp.db {
                b = b.db(db(d));
            }
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Mfcc { n_mfcc, lifter } => {
            let mut b = stft_args!(Spectrogram::mfcc(sr), s)
                .pad_mode(s.pad())
                .power(s.power)
                .n_mfcc(*n_mfcc as usize)
                .lifter(*lifter)
                .n_mels(inp.n_mels as usize)
                .fmin(inp.fmin)
                .htk(inp.htk)
                .norm(norm);
            if let Some(f) = inp.fmax {
                b = b.fmax(f);
            }
            if let Some(d) = &inp.db {
                b = b.db(db(d));
            }
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Chroma {
            n_chroma,
            tuning,
            ctroct,
            octwidth,
            base_c,
            normalize,
        } => {
            let b = stft_args!(Spectrogram::chroma(sr), s)
                .pad_mode(s.pad())
                .power(s.power)
                .n_chroma(*n_chroma as usize)
                .tuning(*tuning)
                .ctroct(*ctroct)
                .octwidth(*octwidth)
                .base_c(*base_c)
                .normalize(*normalize);
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Cqt {
            variant,
            fmin,
            n_bins,
            bpo,
            tuning,
            filter_scale,
            gamma,
            sparsity,
            norm,
            scale,
        } => {
            let mut b = match variant % 3 {
                0 => Spectrogram::cqt(sr),
                1 => Spectrogram::pseudo_cqt(sr),
                _ => Spectrogram::vqt(sr),
            };
            b = b
                .fmin(*fmin)
                .n_bins(*n_bins as usize)
                .bins_per_octave(*bpo as usize)
                .tuning(*tuning)
                .filter_scale(*filter_scale)
                .sparsity(*sparsity)
                .norm(*norm)
                .scale(*scale)
                .pad_mode(s.pad());
            if let Some(h) = s.hop {
                b = b.hop_length(h as usize);
            }
            if let Some(g) = gamma {
                b = b.gamma(*g);
            }
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::ChromaCqt {
            fmin,
            tuning,
            n_chroma,
            n_octaves,
            bpo,
            norm,
            threshold,
        } => {
            let mut b = Spectrogram::chroma_cqt(sr)
                .fmin(*fmin)
                .tuning(*tuning)
                .n_chroma(*n_chroma as usize)
                .n_octaves(*n_octaves as usize)
                .bins_per_octave(*bpo as usize)
                .norm(*norm)
                .threshold(*threshold);
            if let Some(h) = s.hop {
                b = b.hop_length(h as usize);
            }
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Spectral {
            feature,
            a: x,
            b: y,
            n_bands,
            linear,
            per_item,
        } => {
            let f = match feature % 5 {
                0 => SpectralFeature::Centroid,
                1 => SpectralFeature::Bandwidth { p: *x },
                2 => SpectralFeature::Rolloff { roll_percent: *x },
                3 => SpectralFeature::Flatness {
                    power: *x,
                    amin: *y,
                },
                _ => SpectralFeature::Contrast {
                    n_bands: *n_bands as usize,
                    fmin: *x,
                    quantile: *y,
                    linear: *linear,
                },
            };
            let b = stft_args!(Spectrogram::spectral(sr, f), s)
                .pad_mode(s.pad())
                .per_item(*per_item);
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Rms { frame_length, hop } => {
            let b = Spectrogram::rms()
                .frame_length(*frame_length as usize)
                .hop_length(*hop as usize)
                .center(s.center)
                .pad_mode(s.pad());
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
        Kind::Zcr { frame_length, hop } => {
            let b = Spectrogram::zero_crossing_rate()
                .frame_length(*frame_length as usize)
                .hop_length(*hop as usize)
                .center(s.center);
            if let Ok(p) = b.build(&device) {
                run_plan!(p, &a, inp);
            }
        }
    }
});
