//! `cqt` and `vqt`: librosa.cqt / librosa.vqt through the shared per-rate plan path (the
//! filters depend on the sample rate), |C| or the complex transform.

use std::path::Path;

use wavegpu::{Audio, Cqt, Device, Spectrogram};

use crate::args::CqtArgs;
use crate::fail::Fail;
use crate::features::{rate_note, Features};
use crate::image::Scale;
use crate::{pad_mode_of, write_npy_channels, OutKind};

/// `wavegpu cqt` (`vqt: false`) or `wavegpu vqt`: the same flags, librosa.vqt's ERB-based
/// gamma as the default of the second.
pub fn cqt(a: CqtArgs, vqt: bool) -> Result<i32, Fail> {
    let command = if vqt { "vqt" } else { "cqt" };
    if a.complex && !a.input.is_dir() && is_png(&a.output) {
        return Err(Fail::usage(format!(
            "{command} --complex writes complex64 .npy; a .png cannot hold complex values \
             (drop --complex for an image of |C| in dB)"
        )));
    }
    let make = |sr: u32, device: &Device| -> wavegpu::Result<Cqt> {
        let mut b = if vqt {
            Spectrogram::vqt(sr)
        } else {
            Spectrogram::cqt(sr)
        }
        .hop_length(a.hop_length as usize)
        .n_bins(a.n_bins as usize)
        .bins_per_octave(a.bins_per_octave as usize)
        .tuning(a.tuning)
        .filter_scale(a.filter_scale)
        .sparsity(a.sparsity)
        .norm(a.norm.0)
        .scale(!a.no_scale)
        .pad_mode(pad_mode_of(a.pad_mode));
        if let Some(f) = a.fmin {
            b = b.fmin(f);
        }
        if let Some(g) = a.gamma {
            b = b.gamma(g);
        }
        b.build(device)
    };
    // Each flag's range is checked as it is parsed; what the plan checks beyond that (the
    // filters below Nyquist, not too long or too short to build) depends on the rate. So with
    // --sr the plan at that rate decides (a usage error), and without it each file's rate does.
    let rate_free_check = || -> wavegpu::Result<()> { Ok(()) };
    let job = Features {
        load: &a.load,
        device: a.device.device,
        nominal_rate: a.load.sr.unwrap_or(22_050),
        check: Some(&rate_free_check),
        one_plan: false,
        rate_note: &rate_note,
        // librosa.amplitude_to_db(|C|, ref=np.max), top_db 80.
        scale: Scale::PowerDb { power: 1.0 },
        command,
    };
    if !a.complex {
        return job.run(&a.input, &a.output, make, |p: &Cqt, x: &Audio| p.run(x));
    }
    let mono = !a.load.no_mono;
    job.run_with(
        &a.input,
        &a.output,
        make,
        |p: &Cqt, x: &Audio| p.run_complex(x),
        |x, output, kind| match kind {
            OutKind::Npy => write_npy_channels(output, &x, mono),
            other => Err(Fail::usage(format!(
                "{command} --complex writes .npy, not .{}",
                other.ext()
            ))),
        },
    )
}

fn is_png(output: &Path) -> bool {
    output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}
