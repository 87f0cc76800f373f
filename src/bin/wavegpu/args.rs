//! The command line, as DESIGN.md's contract spells it: librosa's parameter names in kebab
//! case, with librosa's defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status: 0 on success, 2 on a usage error, 1 on any other error (the message on stderr is \
one line: `wavegpu: <input>: <cause>`).

A directory as INPUT processes every audio file in it (wav, flac, mp3, ogg, m4a, aac, opus, \
aiff, caf, mka/webm ...) into OUT, a directory made if missing, as OUT/<file stem>.npy; a file \
that fails is reported and skipped, and the exit status is then 1.";

#[derive(Debug, Parser)]
#[command(
    name = "wavegpu",
    version,
    about = "Spectrograms and audio features on any GPU wgpu reaches (or the CPU), matching librosa",
    after_help = AFTER_HELP,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the GPU adapters found (name, backend, type) and the device `--device auto` picks
    Devices(DevicesArgs),
    /// Print a file's stream facts as one line of JSON: container, codec, sample_rate,
    /// channels, frames, duration
    Probe(ProbeArgs),
    /// Decode to float32 samples (librosa.load): OUT.wav, or OUT.npy of shape (samples,) for
    /// mono and (channels, samples) with --no-mono
    #[command(after_help = AFTER_HELP)]
    Decode(DecodeArgs),
    /// Short-time Fourier transform (librosa.stft): |X|^power (or complex X) to OUT.npy of
    /// shape (freq, frames), (channels, freq, frames) with --no-mono, or an OUT.png image in dB
    #[command(after_help = AFTER_HELP)]
    Stft(StftArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceName {
    /// A hardware GPU if one is found, else the CPU path
    Auto,
    /// A GPU adapter, software ones (lavapipe) included; an error if none
    Gpu,
    /// The CPU path (realfft + rayon)
    Cpu,
}

impl DeviceName {
    pub fn name(self) -> &'static str {
        match self {
            DeviceName::Auto => "auto",
            DeviceName::Gpu => "gpu",
            DeviceName::Cpu => "cpu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecoderName {
    /// Pure Rust (symphonia): wav, flac, mp3, ogg vorbis, aac/m4a, aiff, caf, mkv/webm; no opus
    Symphonia,
    /// FFmpeg (needs a build with the cargo feature `ffmpeg`)
    Ffmpeg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WindowName {
    /// Periodic Hann (librosa's default)
    Hann,
    /// Periodic Hamming
    Hamming,
    /// Periodic Blackman
    Blackman,
    /// Rectangular (scipy's "boxcar")
    #[value(alias = "boxcar")]
    Ones,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PadModeName {
    /// Zeros (librosa 0.11's default)
    Constant,
    /// Mirror without repeating the edge sample (numpy.pad mode="reflect")
    Reflect,
}

#[derive(Debug, Args)]
pub struct DeviceArg {
    /// Where to compute: auto picks a hardware GPU if one is found, else the CPU path
    #[arg(long, value_enum, default_value_t = DeviceName::Auto, value_name = "DEVICE")]
    pub device: DeviceName,
}

#[derive(Debug, Args)]
pub struct DecoderArg {
    /// Decoding backend
    #[arg(long, value_enum, default_value_t = DecoderName::Symphonia, value_name = "DECODER")]
    pub decoder: DecoderName,
}

/// librosa.load's options.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Resample to this rate on load, in Hz (librosa.load's `sr`) [default: the file's own rate]
    #[arg(long, value_name = "HZ", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub sr: Option<u32>,
    /// Keep the channels (librosa.load's mono=False) instead of averaging them to mono
    #[arg(long)]
    pub no_mono: bool,
    #[command(flatten)]
    pub decoder: DecoderArg,
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// The device choice to resolve and report (as the other commands' --device)
    #[arg(long, value_enum, default_value_t = DeviceName::Auto, value_name = "DEVICE")]
    pub device: DeviceName,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The audio file
    pub input: PathBuf,
    #[command(flatten)]
    pub decoder: DecoderArg,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.wav (float32) or OUT.npy; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Accepted for uniform scripts; decoding runs on the CPU
    #[arg(long, value_enum, default_value_t = DeviceName::Auto, value_name = "DEVICE", hide = true)]
    pub device: DeviceName,
}

#[derive(Debug, Args)]
pub struct StftArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32, complex64 with --complex) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// FFT length in samples; any length works, powers of two are fastest
    #[arg(long, default_value_t = 2048, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 24)))]
    pub n_fft: u32,
    /// Samples between successive frames [default: win_length / 4]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub hop_length: Option<u32>,
    /// Window length in samples, at most n_fft; the window is zero-padded to n_fft, centred
    /// [default: n_fft]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=(1 << 24)))]
    pub win_length: Option<u32>,
    /// Analysis window (periodic, as scipy.signal.get_window(..., fftbins=True))
    #[arg(long, value_enum, default_value_t = WindowName::Hann, value_name = "WINDOW")]
    pub window: WindowName,
    /// Centre frame t on sample t * hop_length by padding n_fft / 2 on both sides
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub center: bool,
    /// Padding used when centering
    #[arg(long, value_enum, default_value_t = PadModeName::Constant, value_name = "MODE")]
    pub pad_mode: PadModeName,
    /// Exponent of the output |X|^power: 1 is magnitude, 2 is power
    #[arg(long, default_value_t = 1.0, value_name = "P", value_parser = parse_power,
          conflicts_with = "complex")]
    pub power: f32,
    /// Write the complex STFT (complex64 .npy) instead of |X|^power; a .png shows |X| in dB
    #[arg(long)]
    pub complex: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

fn parse_power(s: &str) -> Result<f32, String> {
    let p: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if p.is_finite() && p > 0.0 {
        Ok(p)
    } else {
        Err(format!("must be finite and > 0, got {s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_librosas() {
        let cli = Cli::try_parse_from(["wavegpu", "stft", "a.wav", "-o", "a.npy"]).unwrap();
        let Command::Stft(a) = cli.command else {
            panic!("not stft")
        };
        assert_eq!(a.n_fft, 2048);
        assert_eq!(a.hop_length, None);
        assert_eq!(a.win_length, None);
        assert_eq!(a.window, WindowName::Hann);
        assert!(a.center);
        assert_eq!(a.pad_mode, PadModeName::Constant);
        assert_eq!(a.power, 1.0);
        assert!(!a.complex && !a.load.no_mono);
        assert_eq!(a.device.device, DeviceName::Auto);
        assert_eq!(a.load.decoder.decoder, DecoderName::Symphonia);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["--n-fft", "0"][..],
            &["--window", "kaiser"],
            &["--center", "maybe"],
            &["--power", "0"],
            &["--power", "nan"],
            &["--hop-length", "0"],
            &["--sr", "0"],
            &["--device", "tpu"],
            &["--complex", "--power", "2"],
        ] {
            let mut argv = vec!["wavegpu", "stft", "a.wav", "-o", "a.npy"];
            argv.extend_from_slice(bad);
            let e = Cli::try_parse_from(&argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
