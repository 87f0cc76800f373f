//! The command line, as DESIGN.md's contract spells it: librosa's parameter names in kebab
//! case, with librosa's defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The help's closing paragraphs, common to every command (a macro so `concat!` can prepend a
/// command's own).
macro_rules! after_help_text {
    () => {
        "\
Exit status: 0 on success, 2 on a usage error, 1 on any other error (the message on stderr is \
one line: `wavegpu: <input>: <cause>`).

A directory as INPUT processes every audio file in it (wav, flac, mp3, ogg, m4a, aac, opus, \
aiff, caf, mka/webm ...) into OUT, a directory made if missing, as OUT/<file stem>.npy; a file \
that fails is reported and skipped, and the exit status is then 1."
    };
}

const AFTER_HELP: &str = after_help_text!();

const AUGMENT_AFTER_HELP: &str = concat!(
    "\
Pipeline: a JSON list of transforms, e.g. [{\"name\": \"gain\", \"min_gain_db\": -6, \
\"max_gain_db\": 6, \"p\": 0.5}, {\"name\": \"one_of\", \"transforms\": [...]}]; the names, \
parameters and defaults are audiomentations' (see the wavegpu::augment docs for the list, \
compose / one_of / some_of, and \"mode\": per_example, per_batch, per_channel).

Seeding: every random draw is a function of (--seed, the file's name, the transform's place \
in the pipeline): the same seed on the same files gives the same bytes, and a file gets the \
same augmentation alone or with any other files in its directory. --device gpu and cpu agree \
within 1e-5.

",
    after_help_text!()
);

const CHROMA_AFTER_HELP: &str = concat!(
    "\
Tuning: librosa.feature.chroma_stft estimates the tuning from the audio when it is not given \
(tuning=None); wavegpu does not, and takes --tuning (default 0.0, A440). To reproduce \
librosa's default on detuned audio, pass its estimate: librosa.estimate_tuning(S=np.abs(\
librosa.stft(y, n_fft=N))**2, sr=sr, bins_per_octave=n_chroma), the value chroma_stft uses.

PNG: time on x, chroma bins on y (C at the bottom; A with --no-base-c), one strip per channel, \
values drawn linearly from 0 to 1 on viridis (0 to the array's maximum with --norm none).

",
    after_help_text!()
);

const SPECTRAL_AFTER_HELP: &str = concat!(
    "\
Features (--feature; the librosa.feature function, its parameters as flags, the .npy shape):
  centroid   spectral_centroid                                 Hz  (1, frames)
  bandwidth  spectral_bandwidth: --p                           Hz  (1, frames)
  rolloff    spectral_rolloff: --roll-percent                  Hz  (1, frames)
  flatness   spectral_flatness: --power, --amin                    (1, frames)
  contrast   spectral_contrast: --n-bands, --fmin, --quantile,
             --linear                                          dB  (n_bands + 1, frames)
  rms        rms: --frame-length, --pad-mode                       (1, frames)
  zcr        zero_crossing_rate: --frame-length                    (1, frames)
With --no-mono the channels lead: (channels, 1, frames), (channels, n_bands + 1, frames).

Framing: the five spectral features take the STFT's flags (--n-fft, --hop-length [default: \
win_length / 4], --win-length, --window, --center, --pad-mode) and work on its magnitude; rms \
and zcr frame the samples themselves with --frame-length, --hop-length [default: 512] and \
--center (rms pads with --pad-mode, zcr with the edge samples, as librosa). A flag the chosen \
feature does not take is a usage error.

Contrast: the bands [0, fmin], [fmin, 2 fmin], ... must start below the Nyquist frequency \
(fmin * 2^(n_bands - 1) < sr / 2): a file whose rate is too low fails (exit 1; with --sr, a \
usage error), e.g. 8 kHz audio at the defaults: pass --fmin 100. In dB the 80 dB floor is taken \
from the maximum of the whole array, every channel together, as librosa does.

PNG: time on x, one pixel row per output row (row 0 at the bottom, channels stacked, the first \
on top), values drawn linearly from the array's minimum to its maximum on viridis.

",
    after_help_text!()
);

const DECODE_AFTER_HELP: &str = concat!(
    "\
Outputs: .npy (float32 array), .wav (always; float32 by default, --sample-format s16|s24|s32 \
for integer PCM), and, in builds with the cargo feature `ffmpeg`, .flac (16-bit by default, or \
--sample-format s24), .mp3 (LAME), .opus (libopus), .m4a (AAC), .ogg (Vorbis). Without FFmpeg \
those are usage errors. --codec NAME picks another FFmpeg encoder for the container (e.g. \
--codec pcm_s24le for .wav, --codec opus for .ogg).

Codec settings: --bitrate (lossy codecs; 128k, 1.5M or bits per second), --quality (VBR: mp3 \
0-9.999, LAME -V, 0 best; ogg -1-10, 10 best; m4a 0.1-2), --compression-level (flac 0-12, \
size only; mp3 0-9; opus 0-10). A setting the output's codec does not take is a usage error.

Sample rate: --sr resamples on load and is the output's rate. Opus takes 8, 12, 16, 24 or \
48 kHz: without --sr a file at another rate is resampled for it (to the lowest of those at or \
above the file's rate, else 48 kHz); --sr with another rate is a usage error. Integer samples are \
scaled by 2^(bits-1), rounded and clipped; NaN or infinite samples fail the file.

Directory mode writes OUT/<file stem>.npy, or .EXT with --format EXT.

",
    after_help_text!()
);

const CQT_AFTER_HELP: &str = concat!(
    "\
cqt and vqt: vqt is its own command, as librosa.vqt is its own function, because the two differ \
in a default: without --gamma, cqt is constant-Q (librosa.cqt, gamma 0) and vqt widens every \
filter by librosa.vqt's ERB-based gamma (24.7 * alpha / 0.108 Hz). Given --gamma, both compute \
librosa.vqt(gamma=HZ) (--gamma 0 is the constant-Q transform).

Tuning: librosa.cqt estimates the tuning from the audio when it is not given (tuning=None); \
wavegpu does not, and takes --tuning (default 0.0, A440). To reproduce librosa's default on \
detuned audio, pass its estimate: librosa.estimate_tuning(y=y, sr=sr, \
bins_per_octave=bins_per_octave), the value cqt uses.

Algorithm: every octave is computed at the file's own rate (librosa's filters and STFT, without \
its downsampling by 2 per octave). Where librosa does not resample (odd --hop-length) the result \
is librosa's to float precision; at its defaults on real audio it is within about 1% (relative \
Frobenius), the spread between librosa's own resamplers. Frames: 1 + samples / hop_length.

Sample rate: the filters depend on the rate, and the highest must stay below the Nyquist \
frequency (librosa's check). With --sr, flags the rate cannot serve (too many bins, --fmin too \
high) are usage errors; without it, a file whose own rate cannot serve them fails on its own \
(exit 1), e.g. librosa.cqt's defaults on 8 kHz audio (the B7 filter reaches 4122 Hz), which \
librosa refuses too: pass --n-bins 83 or fewer, or a higher --sr.

PNG: librosa.amplitude_to_db(|C|, ref=np.max) with top_db 80 on viridis; time on x, bins on y \
(the lowest frequency at the bottom), one strip per channel, the first on top.

",
    after_help_text!()
);

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
    /// Decode (librosa.load) to float32 samples, OUT.npy of shape (samples,) for mono and
    /// (channels, samples) with --no-mono, or to audio: OUT.wav (float32 unless
    /// --sample-format), and with FFmpeg .flac, .mp3, .opus, .m4a (AAC), .ogg (Vorbis)
    #[command(after_help = DECODE_AFTER_HELP)]
    Decode(DecodeArgs),
    /// Short-time Fourier transform (librosa.stft): |X|^power (or complex X) to OUT.npy of
    /// shape (freq, frames), (channels, freq, frames) with --no-mono, or an OUT.png image in dB
    #[command(after_help = AFTER_HELP)]
    Stft(StftArgs),
    /// Mel spectrogram (librosa.feature.melspectrogram), or its dB with --db
    /// (librosa.power_to_db, amplitude_to_db with --power 1): OUT.npy of shape (n_mels, frames),
    /// (channels, n_mels, frames) with --no-mono, or an OUT.png image
    #[command(after_help = AFTER_HELP)]
    Mel(MelArgs),
    /// MFCCs (librosa.feature.mfcc): the orthonormal DCT-II of the dB mel spectrogram, to
    /// OUT.npy of shape (n_mfcc, frames), (channels, n_mfcc, frames) with --no-mono, or OUT.png
    #[command(after_help = AFTER_HELP)]
    Mfcc(MfccArgs),
    /// Chromagram (librosa.feature.chroma_stft) with a given tuning (--tuning, default 0;
    /// librosa estimates it when not given): OUT.npy of shape (n_chroma, frames),
    /// (channels, n_chroma, frames) with --no-mono, or an OUT.png image
    #[command(after_help = CHROMA_AFTER_HELP)]
    Chroma(ChromaArgs),
    /// One spectral feature per frame (librosa.feature.spectral_centroid, _bandwidth,
    /// _rolloff, _flatness, _contrast, rms, zero_crossing_rate): OUT.npy of shape (1, frames),
    /// (n_bands + 1, frames) for contrast, with a leading channel axis with --no-mono, or OUT.png
    #[command(after_help = SPECTRAL_AFTER_HELP)]
    Spectral(SpectralArgs),
    /// Constant-Q transform (librosa.cqt), or a variable-Q one with --gamma: |C| to OUT.npy of
    /// shape (n_bins, frames), (channels, n_bins, frames) with --no-mono (complex64 with
    /// --complex), or an OUT.png image in dB
    #[command(after_help = CQT_AFTER_HELP)]
    Cqt(CqtArgs),
    /// Variable-Q transform (librosa.vqt): as cqt, but --gamma defaults to librosa.vqt's
    /// ERB-based bandwidth offset
    #[command(after_help = CQT_AFTER_HELP)]
    Vqt(CqtArgs),
    /// Augment audio with a JSON pipeline of transforms named as in audiomentations
    /// (snake_case), seeded: OUT.wav (float32) or OUT.npy, the layout of `decode`
    #[command(after_help = AUGMENT_AFTER_HELP)]
    Augment(AugmentArgs),
    /// Time the main plans on a reference batch (256 clips x 10 s at 16 kHz, n_fft 512, hop
    /// 160 by default) and print each as a ratio to the device's measured memory-bandwidth
    /// floor: wall time, GPU pass time (timestamp queries), bytes, achieved GB/s
    Bench(BenchArgs),
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

/// What `decode` writes, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeFormat {
    /// float32 NumPy array
    Npy,
    /// WAV (float32, or --sample-format)
    Wav,
    /// FLAC (FFmpeg)
    Flac,
    /// MP3, LAME (FFmpeg)
    Mp3,
    /// Opus in Ogg (FFmpeg)
    Opus,
    /// AAC in MP4 (FFmpeg)
    M4a,
    /// Vorbis in Ogg (FFmpeg)
    Ogg,
}

/// Sample storage for .wav and .flac.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleFormatName {
    /// 16-bit integers
    S16,
    /// 24-bit integers
    S24,
    /// 32-bit integers
    S32,
    /// 32-bit float
    F32,
}

/// Encoder settings for `decode`'s audio outputs.
#[derive(Debug, Args)]
#[command(next_help_heading = "Encoding")]
pub struct EncodeArgs {
    /// Output format in directory mode (OUT/<stem>.EXT) [default: npy]; in file mode the
    /// extension decides and --format must agree
    #[arg(long, value_enum, value_name = "EXT")]
    pub format: Option<DecodeFormat>,
    /// FFmpeg encoder for the container (libmp3lame, libopus, aac, flac, pcm_s24le, ...)
    #[arg(long, value_name = "NAME")]
    pub codec: Option<String>,
    /// Sample storage: .wav s16|s24|s32|f32 [default: f32]; .flac s16|s24 [default: s16]
    #[arg(long, value_enum, value_name = "FMT")]
    pub sample_format: Option<SampleFormatName>,
    /// Bit rate of lossy codecs: 128k, 1.5M or bits per second
    #[arg(long, value_name = "RATE", value_parser = parse_bitrate)]
    pub bitrate: Option<u64>,
    /// VBR quality on the codec's scale (mp3 0-9.999, 0 best; ogg -1-10; m4a 0.1-2)
    #[arg(long, value_name = "Q", value_parser = parse_quality, allow_negative_numbers = true)]
    pub quality: Option<f32>,
    /// Compression level (flac 0-12, mp3 0-9, opus 0-10)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..=100))]
    pub compression_level: Option<i32>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Clips in the batch
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub clips: usize,
    /// Seconds per clip
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    pub seconds: f64,
    /// Sample rate in Hz
    #[arg(long, default_value_t = 16_000, value_name = "HZ",
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub sr: u32,
    /// FFT length
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub n_fft: usize,
    /// Hop length
    #[arg(long, default_value_t = 160, value_name = "N")]
    pub hop_length: usize,
    /// Mel bands
    #[arg(long, default_value_t = 80, value_name = "N")]
    pub n_mels: usize,
    /// Timed runs per plan (after one warm-up); the median is printed
    #[arg(long, default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub repeats: u32,
    /// Size of the buffers of the copy-bandwidth measurement, in MiB (0: skip it)
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub bandwidth_mib: u64,
    /// GPU: frames each workgroup of the STFT and mel kernels transforms before writing them
    /// out together (default: the plan's choice per run, and on a GPU extra rows with 1)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub frames_per_workgroup: Option<u32>,
    /// One JSON object per plan instead of the table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Debug, Args)]
pub struct AugmentArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.wav (float32) or OUT.npy; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// The pipeline, a JSON file
    #[arg(long, value_name = "FILE.json")]
    pub pipeline: PathBuf,
    /// The seed of every random draw
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// What a directory OUT gets
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<AugmentFormat>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// What `augment` writes into a directory OUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AugmentFormat {
    /// float32 NumPy array
    Npy,
    /// float32 WAV
    Wav,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy, OUT.wav, and with FFmpeg OUT.flac|.mp3|.opus|.m4a|.ogg; a directory when
    /// INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub encode: EncodeArgs,
    /// Accepted for uniform scripts; decoding runs on the CPU
    #[arg(long, value_enum, default_value_t = DeviceName::Auto, value_name = "DEVICE", hide = true)]
    pub device: DeviceName,
}

/// librosa.stft's framing: shared by `stft`, `mel` and `mfcc`.
#[derive(Debug, Args)]
pub struct FramingArgs {
    /// FFT length in samples; any length works, powers of two are fastest
    #[arg(long, default_value_t = 2048, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 22)))]
    pub n_fft: u32,
    /// Samples between successive frames [default: win_length / 4, at least 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub hop_length: Option<u32>,
    /// Window length in samples, at most n_fft; the window is zero-padded to n_fft, centred
    /// [default: n_fft]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=(1 << 22)))]
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
}

#[derive(Debug, Args)]
pub struct StftArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32, complex64 with --complex) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub framing: FramingArgs,
    /// Exponent of the output |X|^power: 1 is magnitude, 2 is power
    #[arg(long, default_value_t = 1.0, value_name = "P", value_parser = parse_power,
          conflicts_with = "complex")]
    pub power: f32,
    /// Write the complex STFT (complex64 .npy) instead of |X|^power; a .png shows |X| in dB
    #[arg(long)]
    pub complex: bool,
    #[command(flatten)]
    pub stream: crate::stream::StreamArg,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MelNormName {
    /// Divide each triangle by its width in Hz: constant-area filters (librosa's default)
    Slaney,
    /// Triangles peaking at 1 (librosa's norm=None)
    #[value(name = "none")]
    NoNorm,
}

/// librosa.filters.mel's options: shared by `mel` and `mfcc`.
#[derive(Debug, Args)]
pub struct MelFlags {
    /// Number of mel bands
    #[arg(long, default_value_t = 128, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub n_mels: u32,
    /// Lowest band edge in Hz
    #[arg(long, default_value_t = 0.0, value_name = "HZ", value_parser = parse_fmin,
          allow_negative_numbers = true)]
    pub fmin: f64,
    /// Highest band edge in Hz; above sr / 2 is allowed (as in librosa: bands past the
    /// Nyquist frequency come out empty) [default: sr / 2, of the decoded audio after --sr]
    #[arg(long, value_name = "HZ", value_parser = parse_fmax, allow_negative_numbers = true)]
    pub fmax: Option<f64>,
    /// HTK's mel scale instead of Slaney's
    #[arg(long)]
    pub htk: bool,
    /// Filter normalisation
    #[arg(long, value_enum, default_value_t = MelNormName::Slaney, value_name = "NORM")]
    pub norm: MelNormName,
}

/// `--top-db`: a number of dB, or `none` (librosa's top_db=None).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopDb(pub Option<f32>);

/// `--ref`: a fixed level, or `max` (librosa's ref=np.max).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RefLevel {
    Value(f32),
    Max,
}

/// librosa.power_to_db's options (amplitude_to_db's with `mel --power 1`).
#[derive(Debug, Args)]
pub struct DbFlags {
    /// Floor the output this many dB below its maximum (over the whole array, every channel
    /// together, as librosa); `none` keeps everything [default: 80]
    #[arg(long, value_name = "DB|none", value_parser = parse_top_db, allow_negative_numbers = true)]
    pub top_db: Option<TopDb>,
    /// Reference level, 0 dB: a number, or `max` for the maximum of the output (librosa's
    /// ref=np.max, over every channel together) [default: 1.0]
    #[arg(long = "ref", value_name = "REF|max", value_parser = parse_ref,
          allow_negative_numbers = true)]
    pub reference: Option<RefLevel>,
    /// Smallest level before the log [default: 1e-10, or 1e-5 for amplitude_to_db (mel --power 1)]
    #[arg(long, value_name = "A", value_parser = parse_amin, allow_negative_numbers = true)]
    pub amin: Option<f32>,
}

impl DbFlags {
    pub fn any_given(&self) -> bool {
        self.top_db.is_some() || self.reference.is_some() || self.amin.is_some()
    }
}

#[derive(Debug, Args)]
pub struct MelArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub framing: FramingArgs,
    /// Exponent of the magnitude before the mel filterbank: 2 is power, 1 is magnitude
    #[arg(long, default_value_t = 2.0, value_name = "P", value_parser = parse_power)]
    pub power: f32,
    #[command(flatten)]
    pub mel: MelFlags,
    /// Output in dB: librosa.power_to_db(S, ref, amin, top_db), or amplitude_to_db with
    /// --power 1 (librosa's defaults for each)
    #[arg(long)]
    pub db: bool,
    #[command(flatten)]
    pub db_flags: DbFlags,
    #[command(flatten)]
    pub stream: crate::stream::StreamArg,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Debug, Args)]
pub struct MfccArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub framing: FramingArgs,
    /// Exponent of the mel spectrogram: librosa.feature.mfcc works on power (2), the only
    /// value supported here
    #[arg(long, default_value_t = 2.0, value_name = "P", value_parser = parse_mfcc_power)]
    pub power: f32,
    #[command(flatten)]
    pub mel: MelFlags,
    /// MFCCs are always computed on the dB mel spectrogram; accepted for uniform scripts
    #[arg(long, hide = true)]
    pub db: bool,
    #[command(flatten)]
    pub db_flags: DbFlags,
    /// Number of coefficients, at most n_mels
    #[arg(long, default_value_t = 20, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub n_mfcc: u32,
    /// Cepstral liftering 1 + (lifter / 2) sin(pi (k + 1) / lifter); 0 for none
    #[arg(long, default_value_t = 0.0, value_name = "L", value_parser = parse_lifter,
          allow_negative_numbers = true)]
    pub lifter: f32,
    #[command(flatten)]
    pub stream: crate::stream::StreamArg,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChromaNormName {
    /// Divide each frame by its largest bin (librosa's norm=np.inf, the default)
    Inf,
    /// No normalisation (librosa's norm=None)
    #[value(name = "none")]
    NoNorm,
}

/// `--octwidth`: a width in octaves, or `none` (librosa's octwidth=None, flat weighting).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OctWidth(pub Option<f64>);

#[derive(Debug, Args)]
pub struct ChromaArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub framing: FramingArgs,
    /// Exponent of the magnitude before the chroma filterbank: 2 is power, 1 is magnitude
    #[arg(long, default_value_t = 2.0, value_name = "P", value_parser = parse_power)]
    pub power: f32,
    /// Number of chroma bins per octave
    #[arg(long, default_value_t = 12, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1200))]
    pub n_chroma: u32,
    /// Deviation from A440 in fractions of a chroma bin, in [-0.5, 0.5). Not estimated from
    /// the audio as librosa does by default: see below
    #[arg(long, default_value_t = 0.0, value_name = "T", value_parser = parse_tuning,
          allow_negative_numbers = true)]
    pub tuning: f64,
    /// Centre of the octave weighting, in octaves above C0
    #[arg(long, default_value_t = 5.0, value_name = "OCT", value_parser = parse_finite,
          allow_negative_numbers = true)]
    pub ctroct: f64,
    /// Width of the octave weighting (a Gaussian) in octaves, or `none` for flat weighting
    #[arg(long, default_value = "2", value_name = "OCT|none", value_parser = parse_octwidth,
          allow_negative_numbers = true)]
    pub octwidth: OctWidth,
    /// Start the bins at A instead of C (librosa's base_c=False)
    #[arg(long)]
    pub no_base_c: bool,
    /// Per-frame normalisation
    #[arg(long, value_enum, default_value_t = ChromaNormName::Inf, value_name = "NORM")]
    pub norm: ChromaNormName,
    #[command(flatten)]
    pub stream: crate::stream::StreamArg,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpectralName {
    /// librosa.feature.spectral_centroid
    Centroid,
    /// librosa.feature.spectral_bandwidth
    Bandwidth,
    /// librosa.feature.spectral_rolloff
    Rolloff,
    /// librosa.feature.spectral_flatness
    Flatness,
    /// librosa.feature.spectral_contrast
    Contrast,
    /// librosa.feature.rms
    Rms,
    /// librosa.feature.zero_crossing_rate
    #[value(alias = "zero-crossing-rate")]
    Zcr,
}

impl SpectralName {
    pub fn name(self) -> &'static str {
        match self {
            SpectralName::Centroid => "centroid",
            SpectralName::Bandwidth => "bandwidth",
            SpectralName::Rolloff => "rolloff",
            SpectralName::Flatness => "flatness",
            SpectralName::Contrast => "contrast",
            SpectralName::Rms => "rms",
            SpectralName::Zcr => "zcr",
        }
    }

    /// Framed by the STFT (the five spectral features), not on raw samples (rms, zcr).
    pub fn uses_stft(self) -> bool {
        !matches!(self, SpectralName::Rms | SpectralName::Zcr)
    }
}

/// `wavegpu spectral`. The framing and feature flags are options so that one the chosen
/// feature does not take can be refused; their defaults (librosa's) are in the help text.
#[derive(Debug, Args)]
pub struct SpectralArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// The feature to compute (see below)
    #[arg(long, value_enum, value_name = "FEATURE")]
    pub feature: SpectralName,

    /// Spectral features: FFT length in samples [default: 2048]
    #[arg(long, value_name = "N", help_heading = "Framing",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 22)))]
    pub n_fft: Option<u32>,
    /// rms, zcr: samples per frame [default: 2048]
    #[arg(long, value_name = "N", help_heading = "Framing",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 24)))]
    pub frame_length: Option<u32>,
    /// Samples between successive frames [default: win_length / 4 for the spectral features,
    /// 512 for rms and zcr]
    #[arg(long, value_name = "N", help_heading = "Framing",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub hop_length: Option<u32>,
    /// Spectral features: window length in samples, at most n_fft; zero-padded to n_fft,
    /// centred [default: n_fft]
    #[arg(long, value_name = "N", help_heading = "Framing",
          value_parser = clap::value_parser!(u32).range(1..=(1 << 22)))]
    pub win_length: Option<u32>,
    /// Spectral features: analysis window (periodic) [default: hann]
    #[arg(long, value_enum, value_name = "WINDOW", help_heading = "Framing")]
    pub window: Option<WindowName>,
    /// Centre frame t on sample t * hop_length by padding half a frame on both sides
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
          help_heading = "Framing")]
    pub center: bool,
    /// Spectral features and rms: padding used when centering (zcr repeats the edge samples)
    /// [default: constant]
    #[arg(long, value_enum, value_name = "MODE", help_heading = "Framing")]
    pub pad_mode: Option<PadModeName>,

    /// bandwidth: the order p of the deviation from the centroid [default: 2]
    #[arg(long, value_name = "P", value_parser = parse_positive, help_heading = "Feature")]
    pub p: Option<f64>,
    /// rolloff: share of the frame's magnitude below the rolloff, in (0, 1) [default: 0.85]
    #[arg(long, value_name = "R", value_parser = parse_open_unit, allow_negative_numbers = true,
          help_heading = "Feature")]
    pub roll_percent: Option<f64>,
    /// flatness: exponent of the magnitude, 2 is power [default: 2]
    #[arg(long, value_name = "P", value_parser = parse_positive, help_heading = "Feature")]
    pub power: Option<f64>,
    /// flatness: floor of |X|^power before the logarithm [default: 1e-10]
    #[arg(long, value_name = "A", value_parser = parse_positive, allow_negative_numbers = true,
          help_heading = "Feature")]
    pub amin: Option<f64>,
    /// contrast: number of octave bands above the first [default: 6]
    #[arg(long, value_name = "N", help_heading = "Feature",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub n_bands: Option<u32>,
    /// contrast: top of the first band, in Hz [default: 200]
    #[arg(long, value_name = "HZ", value_parser = parse_fmax, allow_negative_numbers = true,
          help_heading = "Feature")]
    pub fmin: Option<f64>,
    /// contrast: share of each band's bins averaged for its peak and its valley, in (0, 1)
    /// [default: 0.02]
    #[arg(long, value_name = "Q", value_parser = parse_open_unit, allow_negative_numbers = true,
          help_heading = "Feature")]
    pub quantile: Option<f64>,
    /// contrast: peak - valley instead of their difference in dB
    #[arg(long, help_heading = "Feature")]
    pub linear: bool,

    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `--norm` of the CQT filters: librosa.util.normalize's `norm`, or `none`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterNorm(pub Option<f64>);

/// `wavegpu cqt` and `wavegpu vqt` (librosa.cqt / librosa.vqt's parameters).
#[derive(Debug, Args)]
pub struct CqtArgs {
    /// The audio file, or a directory of them
    pub input: PathBuf,
    /// OUT.npy (float32 |C|, complex64 with --complex) or OUT.png; a directory when INPUT is one
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Samples between successive frames (any hop: no power-of-two constraint)
    #[arg(long, default_value_t = 512, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub hop_length: u32,
    /// Centre frequency of the lowest bin, in Hz [default: 32.70319566257483, C1]
    #[arg(long, value_name = "HZ", value_parser = parse_fmax, allow_negative_numbers = true)]
    pub fmin: Option<f64>,
    /// Number of frequency bins
    #[arg(long, default_value_t = 84, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=16384))]
    pub n_bins: u32,
    /// Number of bins per octave
    #[arg(long, default_value_t = 12, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1200))]
    pub bins_per_octave: u32,
    /// Deviation from A440 in fractions of a bin. Not estimated from the audio as librosa does
    /// by default: see below
    #[arg(long, default_value_t = 0.0, value_name = "T", value_parser = parse_finite,
          allow_negative_numbers = true)]
    pub tuning: f64,
    /// Filter length factor: larger values give longer filters, finer frequency resolution
    #[arg(long, default_value_t = 1.0, value_name = "F", value_parser = parse_positive,
          allow_negative_numbers = true)]
    pub filter_scale: f64,
    /// Bandwidth offset in Hz (librosa.vqt's gamma), >= 0; given to cqt, it makes a VQT
    /// [default: 0 for cqt, the ERB-based 24.7 * alpha / 0.108 for vqt]
    #[arg(long, value_name = "HZ", value_parser = parse_fmin, allow_negative_numbers = true)]
    pub gamma: Option<f64>,
    /// Share of each filter's L1 mass dropped to make the basis sparse, in [0, 1); 0 keeps it
    /// all
    #[arg(long, default_value_t = 0.01, value_name = "S", value_parser = parse_sparsity,
          allow_negative_numbers = true)]
    pub sparsity: f64,
    /// Normalisation of each filter (librosa.util.normalize's norm): 1 (L1), 2 (L2), inf (the
    /// largest magnitude), any p > 0, 0, -inf (written --norm=-inf), or none
    #[arg(long, default_value = "1", value_name = "1|2|inf|none", value_parser = parse_filter_norm,
          allow_negative_numbers = true)]
    pub norm: FilterNorm,
    /// Do not divide each bin by the square root of its filter length (librosa's scale=False)
    #[arg(long)]
    pub no_scale: bool,
    /// Padding of the centred frames
    #[arg(long, value_enum, default_value_t = PadModeName::Constant, value_name = "MODE")]
    pub pad_mode: PadModeName,
    /// Write the complex transform (complex64 .npy, librosa.cqt's own output) instead of |C|;
    /// not with .png
    #[arg(long)]
    pub complex: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

fn parse_sparsity(s: &str) -> Result<f64, String> {
    let v: f64 = parse_number(s)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must lie in the range [0, 1), got {s}"))
    }
}

fn parse_filter_norm(s: &str) -> Result<FilterNorm, String> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "none" => return Ok(FilterNorm(None)),
        "inf" => return Ok(FilterNorm(Some(f64::INFINITY))),
        "-inf" => return Ok(FilterNorm(Some(f64::NEG_INFINITY))),
        _ => {}
    }
    let n: f64 = parse_number(s).map_err(|e| format!("{e} (nor `inf`, `-inf` or `none`)"))?;
    if n.is_finite() && n >= 0.0 {
        Ok(FilterNorm(Some(n)))
    } else {
        Err(format!(
            "must be a number >= 0, `inf`, `-inf` or `none`, got {s}"
        ))
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    let v: f64 = parse_number(s)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be finite and > 0, got {s}"))
    }
}

fn parse_open_unit(s: &str) -> Result<f64, String> {
    let v: f64 = parse_number(s)?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("must lie in the range (0, 1), got {s}"))
    }
}

fn parse_number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))
}

fn parse_fmin(s: &str) -> Result<f64, String> {
    let f: f64 = parse_number(s)?;
    if f.is_finite() && f >= 0.0 {
        Ok(f)
    } else {
        Err(format!("must be finite and >= 0 Hz, got {s}"))
    }
}

fn parse_fmax(s: &str) -> Result<f64, String> {
    let f: f64 = parse_number(s)?;
    if f.is_finite() && f > 0.0 {
        Ok(f)
    } else {
        Err(format!("must be finite and > 0 Hz, got {s}"))
    }
}

fn parse_top_db(s: &str) -> Result<TopDb, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(TopDb(None));
    }
    let t: f32 = parse_number(s).map_err(|e| format!("{e} (nor `none`)"))?;
    if t.is_finite() && t >= 0.0 {
        Ok(TopDb(Some(t)))
    } else {
        Err(format!("must be finite and >= 0 dB (or `none`), got {s}"))
    }
}

fn parse_ref(s: &str) -> Result<RefLevel, String> {
    if s.trim().eq_ignore_ascii_case("max") {
        return Ok(RefLevel::Max);
    }
    let r: f32 = parse_number(s).map_err(|e| format!("{e} (nor `max`)"))?;
    if r.is_finite() && r > 0.0 {
        Ok(RefLevel::Value(r))
    } else {
        Err(format!("must be finite and > 0 (or `max`), got {s}"))
    }
}

fn parse_amin(s: &str) -> Result<f32, String> {
    let a: f32 = parse_number(s)?;
    if a.is_finite() && a > 0.0 {
        Ok(a)
    } else {
        Err(format!("must be finite and > 0, got {s}"))
    }
}

fn parse_lifter(s: &str) -> Result<f32, String> {
    let l: f32 = parse_number(s)?;
    if l.is_finite() && l >= 0.0 {
        Ok(l)
    } else {
        Err(format!("must be finite and >= 0, got {s}"))
    }
}

fn parse_mfcc_power(s: &str) -> Result<f32, String> {
    let p = parse_power(s)?;
    if p == 2.0 {
        Ok(p)
    } else {
        Err(format!(
            "only 2 is supported: MFCCs are taken of the power mel spectrogram, as in \
             librosa.feature.mfcc (got {s})"
        ))
    }
}

fn parse_tuning(s: &str) -> Result<f64, String> {
    let t: f64 = parse_number(s)?;
    if (-0.5..0.5).contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "must be in [-0.5, 0.5) (fractions of a chroma bin), got {s}"
        ))
    }
}

fn parse_finite(s: &str) -> Result<f64, String> {
    let c: f64 = parse_number(s)?;
    if c.is_finite() {
        Ok(c)
    } else {
        Err(format!("must be finite, got {s}"))
    }
}

fn parse_octwidth(s: &str) -> Result<OctWidth, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(OctWidth(None));
    }
    let w: f64 = parse_number(s).map_err(|e| format!("{e} (nor `none`)"))?;
    if w.is_finite() && w > 0.0 {
        Ok(OctWidth(Some(w)))
    } else {
        Err(format!(
            "must be finite and > 0 octaves (or `none`), got {s}"
        ))
    }
}

/// A bit rate: `128k`, `1.5M`, `96000` (bits per second, at least 1000).
fn parse_bitrate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, scale) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a bit rate (e.g. 128k, 1.5M, 96000)"))?;
    let bps = v * scale;
    if !(1000.0..=1e9).contains(&bps) {
        return Err(format!(
            "must be from 1k to 1000M bits per second, got {s} (kilobits need a k: 128k)"
        ));
    }
    Ok(bps.round() as u64)
}

fn parse_quality(s: &str) -> Result<f32, String> {
    let q: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if q.is_finite() {
        Ok(q)
    } else {
        Err(format!("must be finite, got {s}"))
    }
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
        assert_eq!(a.framing.n_fft, 2048);
        assert_eq!(a.framing.hop_length, None);
        assert_eq!(a.framing.win_length, None);
        assert_eq!(a.framing.window, WindowName::Hann);
        assert!(a.framing.center);
        assert_eq!(a.framing.pad_mode, PadModeName::Constant);
        assert_eq!(a.power, 1.0);
        assert!(!a.complex && !a.load.no_mono);
        assert_eq!(a.device.device, DeviceName::Auto);
        assert_eq!(a.load.decoder.decoder, DecoderName::Symphonia);
    }

    #[test]
    fn bit_rates_parse() {
        assert_eq!(parse_bitrate("128k"), Ok(128_000));
        assert_eq!(parse_bitrate("1.5M"), Ok(1_500_000));
        assert_eq!(parse_bitrate(" 96000 "), Ok(96_000));
        for bad in ["128", "0", "-5k", "fast", "k", "2000M", "nan"] {
            assert!(parse_bitrate(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from([
            "wavegpu",
            "decode",
            "a.wav",
            "-o",
            "a.mp3",
            "--bitrate",
            "64k",
            "--quality",
            "-1",
        ]);
        let Command::Decode(a) = cli.unwrap().command else {
            panic!("not decode")
        };
        assert_eq!(
            (a.encode.bitrate, a.encode.quality),
            (Some(64_000), Some(-1.0))
        );
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

    #[test]
    fn mel_and_mfcc_defaults_are_librosas() {
        let cli = Cli::try_parse_from(["wavegpu", "mel", "a.wav", "-o", "a.npy"]).unwrap();
        let Command::Mel(a) = cli.command else {
            panic!("not mel")
        };
        assert_eq!(a.framing.n_fft, 2048);
        assert_eq!(a.power, 2.0);
        assert_eq!(a.mel.n_mels, 128);
        assert_eq!(a.mel.fmin, 0.0);
        assert_eq!(a.mel.fmax, None);
        assert!(!a.mel.htk && !a.db);
        assert_eq!(a.mel.norm, MelNormName::Slaney);
        assert!(!a.db_flags.any_given());

        let cli = Cli::try_parse_from([
            "wavegpu", "mfcc", "a.wav", "-o", "a.npy", "--top-db", "none", "--ref", "max",
        ])
        .unwrap();
        let Command::Mfcc(a) = cli.command else {
            panic!("not mfcc")
        };
        assert_eq!((a.n_mfcc, a.lifter, a.power), (20, 0.0, 2.0));
        assert_eq!(a.db_flags.top_db, Some(TopDb(None)));
        assert_eq!(a.db_flags.reference, Some(RefLevel::Max));
        assert_eq!(a.db_flags.amin, None);
    }

    #[test]
    fn chroma_defaults_are_librosas() {
        let cli = Cli::try_parse_from(["wavegpu", "chroma", "a.wav", "-o", "a.npy"]).unwrap();
        let Command::Chroma(a) = cli.command else {
            panic!("not chroma")
        };
        assert_eq!(a.framing.n_fft, 2048);
        assert_eq!(a.power, 2.0);
        assert_eq!(a.n_chroma, 12);
        assert_eq!(a.tuning, 0.0);
        assert_eq!(a.ctroct, 5.0);
        assert_eq!(a.octwidth, OctWidth(Some(2.0)));
        assert!(!a.no_base_c);
        assert_eq!(a.norm, ChromaNormName::Inf);

        let cli = Cli::try_parse_from([
            "wavegpu",
            "chroma",
            "a.wav",
            "-o",
            "a.npy",
            "--octwidth",
            "none",
            "--tuning",
            "-0.5",
            "--ctroct",
            "-1",
            "--norm",
            "none",
        ])
        .unwrap();
        let Command::Chroma(a) = cli.command else {
            panic!("not chroma")
        };
        assert_eq!(a.octwidth, OctWidth(None));
        assert_eq!((a.tuning, a.ctroct), (-0.5, -1.0));
        assert_eq!(a.norm, ChromaNormName::NoNorm);
    }

    #[test]
    fn spectral_flags_default_to_none() {
        let cli = Cli::try_parse_from([
            "wavegpu",
            "spectral",
            "a.wav",
            "-o",
            "a.npy",
            "--feature",
            "zero-crossing-rate",
        ])
        .unwrap();
        let Command::Spectral(a) = cli.command else {
            panic!("not spectral")
        };
        assert_eq!(a.feature, SpectralName::Zcr);
        assert!(!a.feature.uses_stft());
        assert!(a.center && !a.linear);
        assert!(a.n_fft.is_none() && a.frame_length.is_none() && a.hop_length.is_none());
        assert!(a.win_length.is_none() && a.window.is_none() && a.pad_mode.is_none());
        assert!(a.p.is_none() && a.roll_percent.is_none() && a.power.is_none());
        assert!(a.amin.is_none() && a.n_bands.is_none() && a.fmin.is_none());
        assert!(a.quantile.is_none());
    }

    #[test]
    fn cqt_defaults_are_librosas() {
        for cmd in ["cqt", "vqt"] {
            let cli = Cli::try_parse_from(["wavegpu", cmd, "a.wav", "-o", "a.npy"]).unwrap();
            let (Command::Cqt(a) | Command::Vqt(a)) = cli.command else {
                panic!("not cqt")
            };
            assert_eq!((a.hop_length, a.n_bins, a.bins_per_octave), (512, 84, 12));
            assert_eq!((a.fmin, a.gamma), (None, None));
            assert_eq!((a.tuning, a.filter_scale, a.sparsity), (0.0, 1.0, 0.01));
            assert_eq!(a.norm, FilterNorm(Some(1.0)));
            assert_eq!(a.pad_mode, PadModeName::Constant);
            assert!(!a.no_scale && !a.complex);
        }
        let cli = Cli::try_parse_from([
            "wavegpu",
            "cqt",
            "a.wav",
            "-o",
            "a.npy",
            "--norm",
            "none",
            "--tuning",
            "-0.3",
            "--gamma",
            "0",
            "--sparsity",
            "0",
        ])
        .unwrap();
        let Command::Cqt(a) = cli.command else {
            panic!("not cqt")
        };
        assert_eq!(a.norm, FilterNorm(None));
        assert_eq!((a.tuning, a.gamma, a.sparsity), (-0.3, Some(0.0), 0.0));
        for (text, norm) in [
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("2", 2.0),
        ] {
            assert_eq!(parse_filter_norm(text), Ok(FilterNorm(Some(norm))));
        }
    }

    #[test]
    fn bad_feature_values_are_usage_errors() {
        for (cmd, bad) in [
            ("mel", &["--n-mels", "0"][..]),
            ("mel", &["--norm", "foo"]),
            ("mel", &["--fmin", "-5"]),
            ("mel", &["--fmin", "nan"]),
            ("mel", &["--fmax", "0"]),
            ("mel", &["--db", "--top-db", "-1"]),
            ("mel", &["--db", "--top-db", "inf"]),
            ("mel", &["--db", "--ref", "foo"]),
            ("mel", &["--db", "--ref", "-1"]),
            ("mel", &["--db", "--amin", "0"]),
            ("mfcc", &["--n-mfcc", "0"]),
            ("mfcc", &["--lifter", "-1"]),
            ("mfcc", &["--power", "1"]),
            ("chroma", &["--n-chroma", "0"]),
            ("chroma", &["--tuning", "0.7"]),
            ("chroma", &["--tuning", "0.5"]),
            ("chroma", &["--tuning", "-0.51"]),
            ("chroma", &["--tuning", "nan"]),
            ("chroma", &["--norm", "foo"]),
            ("chroma", &["--octwidth", "-1"]),
            ("chroma", &["--octwidth", "0"]),
            ("chroma", &["--ctroct", "inf"]),
            ("chroma", &["--power", "0"]),
            ("spectral", &[]),
            ("spectral", &["--feature", "loudness"]),
            (
                "spectral",
                &["--feature", "rolloff", "--roll-percent", "1.5"],
            ),
            ("spectral", &["--feature", "bandwidth", "--p", "0"]),
            ("spectral", &["--feature", "contrast", "--n-bands", "0"]),
            ("spectral", &["--feature", "contrast", "--quantile", "1"]),
            ("spectral", &["--feature", "contrast", "--fmin", "nan"]),
            ("spectral", &["--feature", "flatness", "--amin", "-1"]),
            ("spectral", &["--feature", "rms", "--frame-length", "0"]),
            ("cqt", &["--n-bins", "0"]),
            ("cqt", &["--n-bins", "-3"]),
            ("cqt", &["--bins-per-octave", "0"]),
            ("cqt", &["--hop-length", "0"]),
            ("cqt", &["--fmin", "0"]),
            ("cqt", &["--fmin", "-32"]),
            ("cqt", &["--fmin", "inf"]),
            ("cqt", &["--tuning", "nan"]),
            ("cqt", &["--filter-scale", "0"]),
            ("vqt", &["--gamma", "-1"]),
            ("vqt", &["--gamma", "nan"]),
            ("cqt", &["--sparsity", "1"]),
            ("cqt", &["--sparsity", "-0.1"]),
            ("cqt", &["--norm", "nan"]),
            ("cqt", &["--norm", "-1"]),
            ("cqt", &["--norm", "l1"]),
            ("cqt", &["--pad-mode", "edge"]),
        ] {
            let mut argv = vec!["wavegpu", cmd, "a.wav", "-o", "a.npy"];
            argv.extend_from_slice(bad);
            let e = Cli::try_parse_from(&argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{cmd} {bad:?}");
        }
    }
}
