//! `wavegpu`: the command-line tool. See DESIGN.md, "The command line", for the contract.

#[path = "wavegpu/args.rs"]
mod args;
#[path = "wavegpu/augment.rs"]
mod augment;
#[path = "wavegpu/bench.rs"]
mod bench;
#[path = "wavegpu/cqt.rs"]
mod cqt;
#[path = "wavegpu/fail.rs"]
mod fail;
#[path = "wavegpu/features.rs"]
mod features;
#[path = "wavegpu/image.rs"]
mod image;
#[path = "wavegpu/spectral.rs"]
mod spectral;
#[path = "wavegpu/stream.rs"]
mod stream;

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use ndarray::{Array3, Axis};
use rayon::prelude::*;

use wavegpu::io::{Backend, EncodeOptions, LoadOptions, SampleFormat};
use wavegpu::Window;
use wavegpu::{
    Audio, ChromaBuilder, Device, MelBuilder, MfccBuilder, PadMode, Spectrogram, Stft, StftBuilder,
};

use args::{
    Cli, Command, DecodeArgs, DecodeFormat, DecoderName, DeviceName, DevicesArgs, FramingArgs,
    LoadArgs, PadModeName, ProbeArgs, SampleFormatName, StftArgs, WindowName,
};
use fail::{Fail, EXIT_FAILURE};
use image::Scale;

/// Extensions (lower case) that directory mode treats as audio files.
const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "mp2", "mp1", "ogg", "oga", "opus", "m4a", "m4b", "mp4", "aac",
    "adts", "aif", "aiff", "aifc", "caf", "mka", "mkv", "webm", "alac",
];

fn main() {
    install_panic_hook();
    quiet_headless_vulkan();
    let code = match Cli::try_parse() {
        Ok(cli) => match guarded(&"", || run(cli)) {
            Ok(code) => code,
            Err(fail) => {
                eprintln!("{fail}");
                fail.exit_code()
            }
        },
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                let msg = fail::clap_one_line(&e.render().to_string(), &command_path());
                eprintln!("wavegpu: {msg}");
                e.exit_code()
            }
        },
    };
    std::process::exit(code);
}

/// On a headless Linux machine Mesa's Vulkan driver prints "XDG_RUNTIME_DIR is invalid or not
/// set" to stderr every time an instance opens, which would break the one-line error contract.
/// Give it a private runtime directory when the variable is missing (before any thread starts).
fn quiet_headless_vulkan() {
    #[cfg(unix)]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        use std::os::unix::fs::PermissionsExt;
        let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
        let dir = std::env::temp_dir().join(format!("wavegpu-runtime-{user}"));
        let ok = std::fs::create_dir_all(&dir).is_ok()
            && std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok();
        if ok {
            // SAFETY: called first thing in main, before any other thread exists.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
}

/// `wavegpu <subcommand>` when the first argument names one, else `wavegpu`.
fn command_path() -> String {
    use clap::CommandFactory;
    let sub = std::env::args_os().nth(1);
    let cmd = Cli::command();
    match sub.as_ref().and_then(|s| s.to_str()) {
        Some(s) if cmd.get_subcommands().any(|c| c.get_name() == s) => format!("wavegpu {s}"),
        _ => "wavegpu".to_string(),
    }
}

thread_local! {
    /// How many [`guarded`] calls are active on this thread.
    static GUARDED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Where the last caught panic happened, for [`guarded`]'s message (best effort when several
/// threads panic at once).
static PANIC_PLACE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// No code path should panic. If one does anyway (say, a decoder meeting a file it does not
/// expect), the panic unwinds to [`guarded`], which turns it into an ordinary one-line error
/// for that input: in directory mode the other files go on. A panic on a thread outside
/// [`guarded`] and outside rayon (which hands panics back to its caller) ends the process
/// with one line and exit 1. Never a backtrace, whatever RUST_BACKTRACE says.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let guarded = GUARDED.with(|g| g.get()) > 0 || rayon::current_thread_index().is_some();
        if guarded {
            if let Ok(mut p) = PANIC_PLACE.lock() {
                *p = place;
            }
            return;
        }
        let msg = fail::one_line(&format!(
            "wavegpu: internal error: {} at {place} (a bug; please report it)",
            panic_message(info.payload())
        ));
        let _ = writeln!(std::io::stderr(), "{msg}");
        std::process::exit(EXIT_FAILURE);
    }));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".to_string())
}

/// Runs `f`, turning a panic into a [`Fail`] about `subject`.
fn guarded<T>(
    subject: &dyn std::fmt::Display,
    f: impl FnOnce() -> Result<T, Fail>,
) -> Result<T, Fail> {
    GUARDED.with(|g| g.set(g.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    r.unwrap_or_else(|payload| {
        let place = PANIC_PLACE
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let place = if place.is_empty() {
            String::new()
        } else {
            format!(" at {place}")
        };
        Err(Fail::input(
            subject,
            format!(
                "internal error: {}{place} (a bug; please report it)",
                panic_message(payload.as_ref())
            ),
        ))
    })
}

fn run(cli: Cli) -> Result<i32, Fail> {
    match cli.command {
        Command::Devices(a) => devices(a),
        Command::Probe(a) => probe(a),
        Command::Decode(a) => decode(a),
        Command::Stft(a) => stft(a),
        Command::Mel(a) => features::mel(a),
        Command::Mfcc(a) => features::mfcc(a),
        Command::Chroma(a) => features::chroma(a),
        Command::Spectral(a) => spectral::spectral(a),
        Command::Cqt(a) => cqt::cqt(a, false),
        Command::Vqt(a) => cqt::cqt(a, true),
        Command::Augment(a) => augment::augment(a),
        Command::Bench(a) => bench::bench(a),
    }
}

// ---------------------------------------------------------------------------------------
// devices

fn devices(a: DevicesArgs) -> Result<i32, Fail> {
    let adapters = Device::adapters();
    let mut out = String::new();
    if adapters.is_empty() {
        out.push_str("no GPU adapters found\n");
    } else {
        let w_name = adapters
            .iter()
            .map(|d| d.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let w_backend = adapters
            .iter()
            .map(|d| d.backend.len())
            .max()
            .unwrap_or(7)
            .max(7);
        out.push_str(&format!(
            "{:<3} {:<w_name$}  {:<w_backend$}  type\n",
            "#", "name", "backend"
        ));
        for (i, d) in adapters.iter().enumerate() {
            out.push_str(&format!(
                "{:<3} {:<w_name$}  {:<w_backend$}  {}\n",
                i, d.name, d.backend, d.device_type
            ));
        }
    }
    let device = open_device(a.device)?;
    out.push_str(&format!("--device {} picks: {device}\n", a.device.name()));
    print_stdout(&out)?;
    Ok(0)
}

fn open_device(name: DeviceName) -> Result<Device, Fail> {
    Device::from_name(name.name()).map_err(|e| Fail::lib(format!("--device {}", name.name()), e))
}

// ---------------------------------------------------------------------------------------
// probe

fn probe(a: ProbeArgs) -> Result<i32, Fail> {
    let backend = backend(a.decoder.decoder);
    check_is_file(&a.input)?;
    let info = backend
        .probe(a.input.as_path())
        .map_err(|e| Fail::lib(a.input.display(), e))?;
    print_stdout(&format!("{}\n", info.to_json()))?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// decode

fn decode(a: DecodeArgs) -> Result<i32, Fail> {
    let opts = load_options(&a.load);
    let mono = !a.load.no_mono;
    let e = &a.encode;
    let dir_kind = e.format.map_or(OutKind::Npy, decode_kind);
    let mode = plan_mode_as(&a.input, &a.output, &DECODE_KINDS, dir_kind)?;
    let kind = match &mode {
        Mode::File { kind, output, .. } => {
            if let Some(f) = e.format.map(decode_kind) {
                if f != *kind {
                    return Err(Fail::usage(format!(
                        "--format {} does not match the output `{}`",
                        f.ext(),
                        output.display()
                    )));
                }
            }
            *kind
        }
        Mode::Dir { kind, .. } => *kind,
    };
    // Encoder settings are checked against the output's format before any file is read: a
    // setting it does not take, or a format this build cannot write, is a usage error.
    let enc = encode_options(&a, kind)?;
    let job = |input: &Path, output: &Path, kind: OutKind| -> Result<(), Fail> {
        let audio = load(input, &opts)?;
        match (kind, &enc) {
            (OutKind::Npy, _) if mono => {
                wavegpu::io::write_npy(output, &audio.data().index_axis(Axis(0), 0))
            }
            (OutKind::Npy, _) => wavegpu::io::write_npy(output, &audio.data()),
            (_, Some(enc)) => wavegpu::io::encode_audio(output, &audio, enc).map(|_| ()),
            (other, None) => {
                return Err(Fail::usage(format!("decode cannot write .{}", other.ext())))
            }
        }
        .map_err(|e| Fail::lib(output.display(), e))
    };
    run_mode(mode, &job)
}

/// What `decode` writes.
const DECODE_KINDS: [OutKind; 7] = [
    OutKind::Wav,
    OutKind::Npy,
    OutKind::Flac,
    OutKind::Mp3,
    OutKind::Opus,
    OutKind::M4a,
    OutKind::Ogg,
];

fn decode_kind(f: DecodeFormat) -> OutKind {
    match f {
        DecodeFormat::Npy => OutKind::Npy,
        DecodeFormat::Wav => OutKind::Wav,
        DecodeFormat::Flac => OutKind::Flac,
        DecodeFormat::Mp3 => OutKind::Mp3,
        DecodeFormat::Opus => OutKind::Opus,
        DecodeFormat::M4a => OutKind::M4a,
        DecodeFormat::Ogg => OutKind::Ogg,
    }
}

/// The encoder settings for an audio output (None for .npy, which takes none of them),
/// validated against the output's format.
fn encode_options(a: &DecodeArgs, kind: OutKind) -> Result<Option<EncodeOptions>, Fail> {
    let e = &a.encode;
    if kind == OutKind::Npy || kind == OutKind::Png {
        let given = [
            ("--codec", e.codec.is_some()),
            ("--sample-format", e.sample_format.is_some()),
            ("--bitrate", e.bitrate.is_some()),
            ("--quality", e.quality.is_some()),
            ("--compression-level", e.compression_level.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, on)| *on) {
            return Err(Fail::usage(format!(
                "{flag} applies to audio outputs (.wav, .flac, .mp3, .opus, .m4a, .ogg), \
                 not .{}",
                kind.ext()
            )));
        }
        return Ok(None);
    }
    let mut o = EncodeOptions::default().format(kind.ext());
    if let Some(c) = &e.codec {
        o = o.codec(c.clone());
    }
    if let Some(f) = e.sample_format {
        o = o.sample_format(match f {
            SampleFormatName::S16 => SampleFormat::S16,
            SampleFormatName::S24 => SampleFormat::S24,
            SampleFormatName::S32 => SampleFormat::S32,
            SampleFormatName::F32 => SampleFormat::F32,
        });
    }
    if let Some(b) = e.bitrate {
        o = o.bit_rate(b);
    }
    if let Some(q) = e.quality {
        o = o.quality(q);
    }
    if let Some(c) = e.compression_level {
        o = o.compression_level(c);
    }
    // --sr is the output's rate: a rate the codec does not take is a usage error too.
    if let Some(sr) = a.load.sr {
        o = o.sample_rate(sr);
    }
    let probe_path = PathBuf::from(format!("OUT.{}", kind.ext()));
    o.validate(&probe_path).map_err(|err| {
        let msg = err.to_string();
        let flag = |name: &str| match name {
            "bit_rate" => "--bitrate",
            "quality" => "--quality",
            "compression_level" => "--compression-level",
            "sample_format" => "--sample-format",
            "sample_rate" => "--sr",
            _ => "",
        };
        match err {
            wavegpu::Error::InvalidParameter { name, reason } if !flag(name).is_empty() => {
                Fail::usage(format!("{}: {reason}", flag(name)))
            }
            wavegpu::Error::Unsupported { reason, .. } => {
                Fail::usage(format!("cannot write .{} output: {reason}", kind.ext()))
            }
            _ => Fail::usage(msg),
        }
    })?;
    Ok(Some(o))
}

// ---------------------------------------------------------------------------------------
// stft

fn stft(a: StftArgs) -> Result<i32, Fail> {
    let opts = load_options(&a.load);
    let mono = !a.load.no_mono;
    let builder = with_framing(Spectrogram::stft(), &a.framing).power(a.power);
    // The plan depends on the flags only: a parameter it rejects (win_length > n_fft) is a
    // usage error, reported before the files are looked at. Building on the CPU is cheap (a
    // window and an FFT plan), so check there before opening a GPU.
    let device_name = a.device.device;
    let cpu_plan = builder
        .clone()
        .build(&Device::cpu())
        .map_err(|e| plan_error(e, device_name))?;
    let mode = plan_mode(&a.input, &a.output, &[OutKind::Npy, OutKind::Png])?;
    let plan = match device_name {
        DeviceName::Cpu => cpu_plan,
        name => {
            let device = open_device(name)?;
            if device.is_gpu() {
                builder
                    .build(&device)
                    .map_err(|e| plan_error(e, device_name))?
            } else {
                cpu_plan
            }
        }
    };

    let complex = a.complex;
    let power = a.power;
    let job = |input: &Path, output: &Path, kind: OutKind| -> Result<(), Fail> {
        if kind == OutKind::Npy
            && !complex
            && stream::stream_rate(input, &a.load, a.stream.stream).is_some()
        {
            return stream::stream_to_npy(&plan, input, output, &a.load);
        }
        let audio = load(input, &opts)?;
        stft_one(&plan, &audio, input, output, kind, mono, complex, power)
    };
    run_mode(mode, &job)
}

#[allow(clippy::too_many_arguments)]
fn stft_one(
    plan: &Stft,
    audio: &Audio,
    input: &Path,
    output: &Path,
    kind: OutKind,
    mono: bool,
    complex: bool,
    power: f32,
) -> Result<(), Fail> {
    let in_err = |e| Fail::lib(input.display(), e);
    if !complex {
        let s = plan.run(audio).map_err(in_err)?;
        return write_real(output, kind, s, mono, Scale::PowerDb { power }, "stft");
    }
    let x = plan.run_complex(audio).map_err(in_err)?;
    match kind {
        OutKind::Npy => write_npy_channels(output, &x, mono),
        _ => {
            let mag = x.mapv(|c| c.norm());
            write_real(
                output,
                kind,
                mag,
                mono,
                Scale::PowerDb { power: 1.0 },
                "stft",
            )
        }
    }
}

/// The setters librosa's framing flags map to, on every builder that has them.
trait Framing: Sized {
    fn n_fft(self, n: usize) -> Self;
    fn hop_length(self, n: usize) -> Self;
    fn win_length(self, n: usize) -> Self;
    fn window(self, w: Window) -> Self;
    fn center(self, c: bool) -> Self;
    fn pad_mode(self, m: PadMode) -> Self;
}

macro_rules! impl_framing {
    ($($ty:ty),*) => {$(
        impl Framing for $ty {
            fn n_fft(self, n: usize) -> Self { <$ty>::n_fft(self, n) }
            fn hop_length(self, n: usize) -> Self { <$ty>::hop_length(self, n) }
            fn win_length(self, n: usize) -> Self { <$ty>::win_length(self, n) }
            fn window(self, w: Window) -> Self { <$ty>::window(self, w) }
            fn center(self, c: bool) -> Self { <$ty>::center(self, c) }
            fn pad_mode(self, m: PadMode) -> Self { <$ty>::pad_mode(self, m) }
        }
    )*};
}
impl_framing!(StftBuilder, MelBuilder, MfccBuilder, ChromaBuilder);

/// Applies the `--n-fft ... --pad-mode` flags to a builder.
fn with_framing<B: Framing>(builder: B, f: &FramingArgs) -> B {
    let mut b = builder
        .n_fft(f.n_fft as usize)
        .window(window_of(f.window))
        .center(f.center)
        .pad_mode(pad_mode_of(f.pad_mode));
    if let Some(h) = f.hop_length {
        b = b.hop_length(h as usize);
    }
    if let Some(w) = f.win_length {
        b = b.win_length(w as usize);
    }
    b
}

fn window_of(w: WindowName) -> Window {
    match w {
        WindowName::Hann => Window::Hann,
        WindowName::Hamming => Window::Hamming,
        WindowName::Blackman => Window::Blackman,
        WindowName::Ones => Window::Ones,
    }
}

fn pad_mode_of(m: PadModeName) -> PadMode {
    match m {
        PadModeName::Constant => PadMode::Constant,
        PadModeName::Reflect => PadMode::Reflect,
    }
}

/// A plan the flags alone make impossible is a usage error; anything else that stops a build
/// (a GPU failure) concerns the device.
fn plan_error(e: wavegpu::Error, device: DeviceName) -> Fail {
    match e {
        wavegpu::Error::InvalidParameter { .. } => Fail::usage(e),
        other => Fail::lib(format!("--device {}", device.name()), other),
    }
}

/// Result values the CLI checks before writing them.
trait ResultValue: Copy + std::fmt::Display {
    fn is_finite_value(self) -> bool;
}

impl ResultValue for f32 {
    fn is_finite_value(self) -> bool {
        self.is_finite()
    }
}

impl ResultValue for num_complex::Complex32 {
    fn is_finite_value(self) -> bool {
        self.re.is_finite() && self.im.is_finite()
    }
}

/// Refuses to write a result that holds NaN or ±inf. The input was checked finite, so these
/// come from float32 overflow (samples far beyond ±1, a huge gain or power) and the file
/// would silently carry them: the error names the first one and where it is.
fn check_result<A, S, D>(output: &Path, x: &ndarray::ArrayBase<S, D>) -> Result<(), Fail>
where
    A: ResultValue,
    S: ndarray::Data<Elem = A>,
    D: ndarray::Dimension,
{
    let bad = x.indexed_iter().find(|(_, v)| !v.is_finite_value());
    let Some((at, v)) = bad else {
        return Ok(());
    };
    let count = x.iter().filter(|v| !v.is_finite_value()).count();
    Err(Fail::input(
        output.display(),
        format!(
            "not written: {count} of the result's {} values are not finite, the first {v} at \
             index {at:?} (float32 overflowed: samples far beyond ±1, or an extreme parameter)",
            x.len()
        ),
    ))
}

/// Writes a real `(channels, rows, frames)` result: `.npy` of `(rows, frames)` for mono (one
/// channel) or the whole array, or a `.png` drawn with `scale`.
fn write_real(
    output: &Path,
    kind: OutKind,
    x: Array3<f32>,
    mono: bool,
    scale: Scale,
    command: &str,
) -> Result<(), Fail> {
    match kind {
        OutKind::Npy => write_npy_channels(output, &x, mono),
        OutKind::Png => {
            check_result(output, &x)?;
            image::write_png(output, x.view(), scale).map_err(|e| Fail::input(output.display(), e))
        }
        other => Err(Fail::usage(format!(
            "{command} writes .npy or .png, not .{}",
            other.ext()
        ))),
    }
}

/// Writes a `(channels, rows, frames)` result to `.npy`: `(rows, frames)` for mono (one
/// channel), the whole array with --no-mono.
fn write_npy_channels<A: ndarray_npy::WritableElement + ResultValue>(
    output: &Path,
    x: &Array3<A>,
    mono: bool,
) -> Result<(), Fail> {
    check_result(output, x)?;
    if mono {
        wavegpu::io::write_npy(output, &x.index_axis(Axis(0), 0))
    } else {
        wavegpu::io::write_npy(output, x)
    }
    .map_err(|e| Fail::lib(output.display(), e))
}

// ---------------------------------------------------------------------------------------
// shared: loading, single file vs directory

fn backend(name: DecoderName) -> Backend {
    match name {
        DecoderName::Symphonia => Backend::Symphonia,
        DecoderName::Ffmpeg => Backend::Ffmpeg,
    }
}

fn load_options(a: &LoadArgs) -> LoadOptions {
    let mut o = LoadOptions::default().backend(backend(a.decoder.decoder));
    o = if a.no_mono { o.no_mono() } else { o.mono() };
    if let Some(sr) = a.sr {
        o = o.sample_rate(sr);
    }
    o
}

fn load(input: &Path, opts: &LoadOptions) -> Result<Audio, Fail> {
    check_is_file(input)?;
    wavegpu::io::load(input, opts).map_err(|e| Fail::lib(input.display(), e))
}

/// Fails unless `input` is a readable regular file (or something that reads like one: a
/// FIFO, /dev/stdin), with the OS's words for why not.
fn check_is_file(input: &Path) -> Result<(), Fail> {
    let meta = std::fs::metadata(input).map_err(|e| Fail::input(input.display(), e))?;
    if meta.is_dir() {
        return Err(Fail::input(input.display(), "is a directory"));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutKind {
    Wav,
    Npy,
    Png,
    /// The audio formats `decode` encodes through FFmpeg.
    Flac,
    Mp3,
    Opus,
    M4a,
    Ogg,
}

impl OutKind {
    fn ext(self) -> &'static str {
        match self {
            OutKind::Wav => "wav",
            OutKind::Npy => "npy",
            OutKind::Png => "png",
            OutKind::Flac => "flac",
            OutKind::Mp3 => "mp3",
            OutKind::Opus => "opus",
            OutKind::M4a => "m4a",
            OutKind::Ogg => "ogg",
        }
    }
}

enum Mode {
    /// One file to one output.
    File {
        input: PathBuf,
        output: PathBuf,
        kind: OutKind,
    },
    /// Every audio file of a directory to OUT/<stem>.<kind's extension>.
    Dir {
        input: PathBuf,
        output: PathBuf,
        kind: OutKind,
    },
}

/// Decides between single-file and directory mode and checks the output's extension.
fn plan_mode(input: &Path, output: &Path, allowed: &[OutKind]) -> Result<Mode, Fail> {
    plan_mode_as(input, output, allowed, OutKind::Npy)
}

/// [`plan_mode`] with the kind written into a directory OUT (`dir_kind`, one of `allowed`).
fn plan_mode_as(
    input: &Path,
    output: &Path,
    allowed: &[OutKind],
    dir_kind: OutKind,
) -> Result<Mode, Fail> {
    let meta = std::fs::metadata(input).map_err(|e| Fail::input(input.display(), e))?;
    if meta.is_dir() {
        if output.exists() && !output.is_dir() {
            return Err(Fail::input(
                output.display(),
                "exists and is not a directory (with a directory as INPUT, OUT is a directory)",
            ));
        }
        return Ok(Mode::Dir {
            input: input.to_path_buf(),
            output: output.to_path_buf(),
            kind: dir_kind,
        });
    }
    // An existing directory as OUT: write OUT/<stem>.<dir_kind>, as directory mode does.
    if output.is_dir() {
        let stem = input.file_stem().unwrap_or_else(|| OsStr::new("out"));
        let mut out = output.join(stem);
        out.set_extension(dir_kind.ext());
        return Ok(Mode::File {
            input: input.to_path_buf(),
            output: out,
            kind: dir_kind,
        });
    }
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let kind = allowed
        .iter()
        .copied()
        .find(|k| ext.as_deref() == Some(k.ext()));
    match kind {
        Some(kind) => Ok(Mode::File {
            input: input.to_path_buf(),
            output: output.to_path_buf(),
            kind,
        }),
        None => {
            let names: Vec<String> = allowed.iter().map(|k| format!(".{}", k.ext())).collect();
            Err(Fail::usage(format!(
                "output `{}` must end in {}",
                output.display(),
                names.join(" or ")
            )))
        }
    }
}

type Job<'a> = dyn Fn(&Path, &Path, OutKind) -> Result<(), Fail> + Sync + 'a;

/// Whether `output` exists and is `input` itself (the same path, a link to it, or a hard
/// link): writing it would destroy the input while it is read.
#[cfg(unix)]
fn is_same_file(input: &Path, output: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(input), std::fs::metadata(output)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// [`is_same_file`] where files have no (device, inode): the same canonical path.
#[cfg(not(unix))]
fn is_same_file(input: &Path, output: &Path) -> bool {
    matches!(
        (std::fs::canonicalize(input), std::fs::canonicalize(output)),
        (Ok(x), Ok(y)) if x == y
    )
}

/// Runs `job` unless its output is its input.
fn job_checked(job: &Job<'_>, input: &Path, output: &Path, kind: OutKind) -> Result<(), Fail> {
    if is_same_file(input, output) {
        return Err(Fail::input(
            input.display(),
            format!(
                "is also the output ({}): not overwritten; choose another output path",
                output.display()
            ),
        ));
    }
    job(input, output, kind)
}

fn run_mode(mode: Mode, job: &Job<'_>) -> Result<i32, Fail> {
    match mode {
        Mode::File {
            input,
            output,
            kind,
        } => {
            guarded(&input.display(), || job_checked(job, &input, &output, kind))?;
            Ok(0)
        }
        Mode::Dir {
            input,
            output,
            kind,
        } => run_dir(&input, &output, kind, job),
    }
}

/// Directory mode: every audio file (by extension) of `dir`, not recursing, to
/// `out/<stem>.<kind>` (`.npy` but for `decode --format`), in parallel, with a progress bar.
/// A failing file is reported on one line and skipped; the exit status is 1 if any failed.
fn run_dir(dir: &Path, out: &Path, kind: OutKind, job: &Job<'_>) -> Result<i32, Fail> {
    let entries = std::fs::read_dir(dir).map_err(|e| Fail::input(dir.display(), e))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Fail::input(dir.display(), e))?;
        let path = entry.path();
        let is_audio = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        // Follow symlinks; skip sub-directories and other non-files.
        if is_audio && std::fs::metadata(&path).is_ok_and(|m| !m.is_dir()) {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Fail::input(
            dir.display(),
            format!(
                "no audio files in this directory (looked for .{})",
                AUDIO_EXTENSIONS.join(", .")
            ),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| Fail::input(out.display(), e))?;

    // Two inputs with the same stem (a.wav, a.flac) would write the same OUT/a.npy: the
    // first (in name order) wins, the others fail.
    let mut jobs: Vec<(PathBuf, PathBuf, Option<PathBuf>)> = Vec::with_capacity(files.len());
    let mut seen: std::collections::HashMap<PathBuf, PathBuf> = std::collections::HashMap::new();
    for f in files {
        let mut o = out.join(f.file_stem().unwrap_or_else(|| OsStr::new("out")));
        o.set_extension(kind.ext());
        let clash = seen.get(&o).cloned();
        if clash.is_none() {
            seen.insert(o.clone(), f.clone());
        }
        jobs.push((f, o, clash));
    }

    let total = jobs.len();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} files [{elapsed_precise}, eta {eta}] {wide_msg}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let failed = AtomicUsize::new(0);
    jobs.par_iter().for_each(|(input, output, clash)| {
        let result = match clash {
            Some(first) => Err(Fail::input(
                input.display(),
                format!(
                    "not written: {} already holds the output of {}",
                    output.display(),
                    first.display()
                ),
            )),
            None => guarded(&input.display(), || job_checked(job, input, output, kind)),
        };
        if let Err(e) = result {
            failed.fetch_add(1, Ordering::Relaxed);
            // A usage-type error here still concerns this one file.
            let line = match e {
                Fail::Usage(msg) => Fail::input(input.display(), msg),
                other => other,
            };
            bar.suspend(|| eprintln!("{line}"));
        }
        if let Some(name) = input.file_name() {
            bar.set_message(name.to_string_lossy().into_owned());
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let failed = failed.into_inner();
    if failed > 0 {
        eprintln!(
            "{}",
            Fail::input(
                dir.display(),
                format!(
                    "{failed} of {total} files failed; the others were written to {}",
                    out.display()
                )
            )
        );
        Ok(EXIT_FAILURE)
    } else {
        Ok(0)
    }
}

/// Prints to stdout; a closed pipe (`wavegpu probe x | head -c1`) is not an error worth a
/// message, any other write failure is.
fn print_stdout(s: &str) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fail::input("stdout", e)),
    }
}
