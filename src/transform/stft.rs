//! The STFT plan.

use ndarray::{Array2, Array3, ArrayView2};
use num_complex::Complex32;

use crate::audio::{check_finite, Audio, AudioBatch};
use crate::cpu::stft::CpuStft;
use crate::device::Device;
use crate::dsp::frames::{Framing, PadMode, MAX_N_FFT};
use crate::dsp::window::Window;
use crate::error::{self, Error, Result};
use crate::gpu::stft::GpuStft;
use crate::transform::device_spectrogram::{DeviceSpectrogram, Resident};
use crate::transform::stream::{Framer, RunWindow, StftStream};

/// Entry point for spectrogram plans.
///
/// ```
/// use wavegpu::{Audio, Device, Spectrogram};
/// let audio = Audio::from_mono((0..16_000).map(|i| (i as f32 * 0.05).sin()).collect(), 16_000);
/// let plan = Spectrogram::stft().n_fft(512).hop_length(160).power(2.0).build(&Device::cpu())?;
/// let s = plan.run(&audio)?;                     // (channels, freq, frames)
/// assert_eq!(s.dim(), (1, 257, 1 + 16_000 / 160));
/// assert_eq!(plan.output_shape(1, 16_000)?, s.dim());
/// # Ok::<(), wavegpu::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Spectrogram;

impl Spectrogram {
    /// A short-time Fourier transform, librosa.stft's defaults: n_fft 2048, hop n_fft/4,
    /// win_length n_fft, periodic Hann, center=true with zero padding, output |X| (power 1).
    pub fn stft() -> StftBuilder {
        StftBuilder::default()
    }
}

/// What the real-valued output of an STFT plan holds: `|X|^power` (1 = magnitude, 2 = power).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Epilogue {
    pub power: f32,
}

impl Epilogue {
    /// `|X|^power` in f64 (the CPU path).
    #[inline]
    pub fn apply64(self, re: f64, im: f64) -> f64 {
        let s = re * re + im * im;
        if self.power == 2.0 {
            s
        } else if self.power == 1.0 {
            s.sqrt()
        } else if s > 0.0 {
            s.powf(0.5 * self.power as f64)
        } else {
            0.0
        }
    }
}

/// Builder of an [`Stft`] plan. Parameter names are librosa's.
#[derive(Debug, Clone)]
pub struct StftBuilder {
    n_fft: usize,
    hop_length: Option<usize>,
    win_length: Option<usize>,
    window: Window,
    center: bool,
    pad_mode: PadMode,
    power: f32,
    max_buffer_bytes: Option<u64>,
    global_fft: bool,
    frames_per_workgroup: Option<usize>,
}

impl Default for StftBuilder {
    fn default() -> Self {
        StftBuilder {
            n_fft: 2048,
            hop_length: None,
            win_length: None,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Constant,
            power: 1.0,
            max_buffer_bytes: None,
            global_fft: false,
            frames_per_workgroup: None,
        }
    }
}

impl StftBuilder {
    /// FFT length (any n in 1..=2^22, [`MAX_N_FFT`]; powers of
    /// two are fastest). Default 2048.
    pub fn n_fft(mut self, n: usize) -> Self {
        self.n_fft = n;
        self
    }
    /// Samples between frames. Default `win_length / 4`, at least 1 (librosa refuses the 0 that win_length < 4 would give).
    pub fn hop_length(mut self, n: usize) -> Self {
        self.hop_length = Some(n);
        self
    }
    /// Window length (<= n_fft, centred and zero-padded to n_fft). Default n_fft.
    pub fn win_length(mut self, n: usize) -> Self {
        self.win_length = Some(n);
        self
    }
    /// The window. Default periodic Hann. A [`Window::Custom`] sets `win_length` to its length
    /// unless given.
    pub fn window(mut self, w: Window) -> Self {
        self.window = w;
        self
    }
    /// Centre frames on `t * hop` by padding n_fft/2 each side. Default true.
    pub fn center(mut self, c: bool) -> Self {
        self.center = c;
        self
    }
    /// Padding when centred. Default [`PadMode::Constant`] (zeros), as librosa 0.11.
    pub fn pad_mode(mut self, m: PadMode) -> Self {
        self.pad_mode = m;
        self
    }
    /// Exponent of the real output `|X|^power`. Default 1 (magnitude); 2 for power.
    pub fn power(mut self, p: f32) -> Self {
        self.power = p;
        self
    }
    /// Caps the bytes of any one GPU buffer below the device's own limit, which forces the
    /// work to be split into several dispatches (for tests of the splitting; results are
    /// identical).
    #[doc(hidden)]
    pub fn max_buffer_bytes(mut self, n: u64) -> Self {
        self.max_buffer_bytes = Some(n);
        self
    }

    /// Runs the GPU FFT in a storage-buffer scratch even when it would fit workgroup memory
    /// (the path large n_fft take), so tests can hold that path to the CPU at every size.
    #[doc(hidden)]
    pub fn fft_in_global_memory(mut self, on: bool) -> Self {
        self.global_fft = on;
        self
    }

    /// GPU plans: the number of consecutive frames each workgroup transforms before writing
    /// their values out together (1: each frame's values are stored as soon as they are
    /// computed), at most what the kernel's workgroup memory holds. By default the plan picks
    /// it per run. The results are the same; this is for benchmarks and tests of the kernel.
    #[doc(hidden)]
    pub fn frames_per_workgroup(mut self, n: usize) -> Self {
        self.frames_per_workgroup = Some(n);
        self
    }

    /// Builds the plan on `device`: window, FFT plan, GPU pipelines.
    pub fn build(self, device: &Device) -> Result<Stft> {
        let cfg = self.resolve()?;
        let backend = match device.gpu_context() {
            Some(ctx) => Backend::Gpu(Box::new(GpuStft::new(
                ctx.clone(),
                &cfg,
                self.max_buffer_bytes,
                self.global_fft,
                None,
            )?)),
            None => Backend::Cpu(CpuStft::new(cfg.framing, &cfg.window)),
        };
        Ok(Stft {
            cfg,
            backend,
            device: device.clone(),
        })
    }

    /// Builds on [`Device::shared`] and runs once: the one-liner.
    ///
    /// ```
    /// # let audio = wavegpu::Audio::from_mono(vec![0.0; 4096], 8000);
    /// let s = wavegpu::Spectrogram::stft().n_fft(512).run(&audio)?;
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn run(self, audio: &Audio) -> Result<Array3<f32>> {
        self.build(&Device::shared())?.run(audio)
    }

    pub(crate) fn resolve(&self) -> Result<StftConfig> {
        if self.n_fft == 0 {
            return Err(Error::param("n_fft", "must be >= 1"));
        }
        if self.n_fft > MAX_N_FFT {
            return Err(Error::param(
                "n_fft",
                format!(
                    "{} is above the maximum 2^22 = {MAX_N_FFT} (an FFT plan that large can \
                     take seconds and gigabytes to build)",
                    self.n_fft
                ),
            ));
        }
        let win_length = self
            .win_length
            .or(self.window.custom_len())
            .unwrap_or(self.n_fft);
        if win_length == 0 || win_length > self.n_fft {
            return Err(Error::param(
                "win_length",
                format!("must be in 1..=n_fft ({}), got {win_length}", self.n_fft),
            ));
        }
        let hop = self.hop_length.unwrap_or((win_length / 4).max(1));
        if hop == 0 {
            return Err(Error::param("hop_length", "must be >= 1"));
        }
        if self.frames_per_workgroup == Some(0) {
            return Err(Error::param("frames_per_workgroup", "must be >= 1"));
        }
        if !self.power.is_finite() || self.power <= 0.0 {
            return Err(Error::param(
                "power",
                format!("must be finite and > 0, got {}", self.power),
            ));
        }
        let window = self.window.padded(win_length, self.n_fft)?;
        Ok(StftConfig {
            framing: Framing {
                n_fft: self.n_fft,
                hop,
                center: self.center,
                pad_mode: self.pad_mode,
            },
            win_length,
            window,
            epilogue: Epilogue { power: self.power },
            frames_per_workgroup: self.frames_per_workgroup,
        })
    }
}

/// A resolved STFT configuration, shared by both paths.
#[derive(Debug, Clone)]
pub(crate) struct StftConfig {
    pub framing: Framing,
    pub win_length: usize,
    /// The analysis window padded to n_fft, f64.
    pub window: Vec<f64>,
    pub epilogue: Epilogue,
    /// GPU: frames each workgroup transforms (None: chosen per run).
    pub frames_per_workgroup: Option<usize>,
}

impl StftConfig {
    /// Checks the samples (finite, long enough) and counts each row's frames: `(frames, max)`.
    pub fn frame_counts(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        input: &str,
    ) -> Result<(Vec<usize>, usize)> {
        frame_counts(&self.framing, data, lengths, input)
    }

    pub fn n_freq(&self) -> usize {
        self.framing.n_fft / 2 + 1
    }
    /// The complex FFT length the GPU kernel runs.
    pub fn fft_len(&self) -> usize {
        let n = self.framing.n_fft;
        if n % 2 == 0 {
            n / 2
        } else {
            n
        }
    }
}

/// Checks the samples (finite, long enough for `framing`) and counts each row's frames:
/// `(frames, max)`. Errors name the input (`batch row i` for batches).
pub(crate) fn frame_counts(
    framing: &Framing,
    data: ArrayView2<'_, f32>,
    lengths: &[usize],
    input: &str,
) -> Result<(Vec<usize>, usize)> {
    check_finite(data, input)?;
    let frames = lengths
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let name = if input == "batch" {
                format!("batch row {i}")
            } else {
                input.to_string()
            };
            framing.frames(l, &name)
        })
        .collect::<Result<Vec<_>>>()?;
    let max = frames.iter().copied().max().unwrap_or(0);
    Ok((frames, max))
}

enum Backend {
    Cpu(CpuStft),
    Gpu(Box<GpuStft>),
}

/// A built STFT plan: run it many times, from many threads (`Send + Sync`).
///
/// Outputs are `(rows, freq, frames)` with `freq = n_fft / 2 + 1`: rows are the channels of an
/// [`Audio`] or the rows of an [`AudioBatch`]. For a batch, `frames` is that of the longest row
/// and a shorter row's frames past its own count are zero; each row's values are exactly those of
/// the clip run alone.
pub struct Stft {
    cfg: StftConfig,
    backend: Backend,
    device: Device,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("n_fft", &self.cfg.framing.n_fft)
            .field("hop_length", &self.cfg.framing.hop)
            .field("win_length", &self.cfg.win_length)
            .field("center", &self.cfg.framing.center)
            .field("pad_mode", &self.cfg.framing.pad_mode)
            .field("power", &self.cfg.epilogue.power)
            .field("device", &self.device)
            .finish()
    }
}

impl Stft {
    /// FFT length.
    pub fn n_fft(&self) -> usize {
        self.cfg.framing.n_fft
    }
    /// Hop length in samples.
    pub fn hop_length(&self) -> usize {
        self.cfg.framing.hop
    }
    /// Window length in samples.
    pub fn win_length(&self) -> usize {
        self.cfg.win_length
    }
    /// Frequency bins, `n_fft / 2 + 1`.
    pub fn n_freq(&self) -> usize {
        self.cfg.n_freq()
    }
    /// The device the plan runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
    /// Frames for a signal of `len` samples (librosa's count), or the error `run` would give.
    pub fn frames(&self, len: usize) -> Result<usize> {
        self.cfg.framing.frames(len, "audio")
    }
    /// The shape `run` returns for `rows` rows of `len` samples.
    pub fn output_shape(&self, rows: usize, len: usize) -> Result<(usize, usize, usize)> {
        Ok((rows, self.n_freq(), self.frames(len)?))
    }

    /// `|X|^power` of every channel: `(channels, freq, frames)`.
    pub fn run(&self, audio: &Audio) -> Result<Array3<f32>> {
        pollster::block_on(self.run_async(audio))
    }

    /// `|X|^power` of every row of a batch: `(rows, freq, frames of the longest row)`.
    pub fn run_batch(&self, batch: &AudioBatch) -> Result<Array3<f32>> {
        pollster::block_on(self.real_rows(batch.data(), batch.lengths(), "batch"))
    }

    /// The complex STFT of every channel, `(channels, freq, frames)` (the power setting is not used).
    pub fn run_complex(&self, audio: &Audio) -> Result<Array3<Complex32>> {
        let lengths = vec![audio.len(); audio.channels()];
        pollster::block_on(self.complex_rows(audio.data(), &lengths, audio.label()))
    }

    /// The complex STFT of every row of a batch.
    pub fn run_batch_complex(&self, batch: &AudioBatch) -> Result<Array3<Complex32>> {
        pollster::block_on(self.complex_rows(batch.data(), batch.lengths(), "batch"))
    }

    /// The async core of [`run`](Self::run), for callers with an executor (and, later,
    /// WebGPU in browsers). On native targets the GPU path still waits for the device inside.
    pub async fn run_async(&self, audio: &Audio) -> Result<Array3<f32>> {
        let lengths = vec![audio.len(); audio.channels()];
        self.real_rows(audio.data(), &lengths, audio.label()).await
    }

    /// A single mono signal: `(freq, frames)`, librosa's own shape.
    pub fn run_signal(&self, samples: &[f32]) -> Result<Array2<f32>> {
        let view =
            ArrayView2::from_shape((1, samples.len()), samples).expect("(1, n) view of n samples");
        let out = pollster::block_on(self.real_rows(view, &[samples.len()], "audio"))?;
        Ok(out.index_axis_move(ndarray::Axis(0), 0))
    }

    /// `|X|^power` of every channel kept on the plan's device, for feature plans to take
    /// (see [`DeviceSpectrogram`]): on a GPU nothing is read back.
    pub fn run_to_device(&self, audio: &Audio) -> Result<DeviceSpectrogram> {
        pollster::block_on(self.run_to_device_async(audio))
    }

    /// [`run_to_device`](Self::run_to_device) for a batch: rows with their own lengths.
    pub fn run_batch_to_device(&self, batch: &AudioBatch) -> Result<DeviceSpectrogram> {
        pollster::block_on(self.resident_rows(
            batch.data(),
            batch.lengths(),
            batch.sample_rate(),
            "batch",
        ))
    }

    /// The async core of [`run_to_device`](Self::run_to_device).
    pub async fn run_to_device_async(&self, audio: &Audio) -> Result<DeviceSpectrogram> {
        let lengths = vec![audio.len(); audio.channels()];
        self.resident_rows(audio.data(), &lengths, audio.sample_rate(), audio.label())
            .await
    }

    /// A stream of `|X|^power` over a long signal of `channels` channels pushed chunk by
    /// chunk, with memory bounded by the chunk size: the concatenated blocks equal
    /// [`run`](Self::run) on the whole signal, exactly (see [`StftStream`]).
    ///
    /// ```
    /// use ndarray::{concatenate, Array2, Axis};
    /// use wavegpu::{Audio, Device, Spectrogram};
    /// let x: Vec<f32> = (0..50_000).map(|i| (i as f32 * 0.01).sin()).collect();
    /// let plan = Spectrogram::stft().n_fft(512).hop_length(160).build(&Device::cpu())?;
    /// let mut stream = plan.stream(1)?;
    /// let mut blocks = Vec::new();
    /// for chunk in x.chunks(4096) {
    ///     blocks.push(stream.push(Array2::from_shape_vec((1, chunk.len()), chunk.to_vec()).unwrap().view())?);
    /// }
    /// blocks.push(stream.finish()?);
    /// let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    /// let streamed = concatenate(Axis(2), &views).unwrap();
    /// assert_eq!(streamed, plan.run(&Audio::from_mono(x, 16_000))?);
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn stream(&self, channels: usize) -> Result<StftStream<'_>> {
        Ok(StftStream {
            plan: self,
            framer: Framer::new(self.cfg.framing, channels)?,
        })
    }

    async fn resident_rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        sample_rate: u32,
        input: &str,
    ) -> Result<DeviceSpectrogram> {
        let (frames, max) = self.cfg.frame_counts(data, lengths, input)?;
        let data_out = match &self.backend {
            Backend::Cpu(c) => {
                self.check_output(input, lengths.len(), max, error::F32)?;
                Resident::Host(c.real(data, lengths, &frames, max, self.cfg.epilogue))
            }
            Backend::Gpu(g) => Resident::Gpu {
                ctx: g.context().clone(),
                pieces: g.real_pieces(data, lengths, &frames, max).await?,
            },
        };
        Ok(DeviceSpectrogram {
            data: data_out,
            shape: (lengths.len(), self.n_freq(), max),
            frames,
            sample_rate,
            n_fft: self.cfg.framing.n_fft,
            hop_length: self.cfg.framing.hop,
            power: self.cfg.epilogue.power,
        })
    }

    /// `Error::OutOfMemory` when a `(rows, freq, frames)` output cannot be allocated.
    fn check_output(
        &self,
        input: &str,
        rows: usize,
        frames: usize,
        elem: error::Elem,
    ) -> Result<()> {
        error::check_alloc(input, "the STFT", &[rows, self.n_freq(), frames], elem)
    }

    async fn real_rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        input: &str,
    ) -> Result<Array3<f32>> {
        let (frames, max) = self.cfg.frame_counts(data, lengths, input)?;
        self.check_output(input, lengths.len(), max, error::F32)?;
        match &self.backend {
            Backend::Cpu(c) => Ok(c.real(data, lengths, &frames, max, self.cfg.epilogue)),
            Backend::Gpu(g) => g.real(data, lengths, &frames, max).await,
        }
    }

    async fn complex_rows(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        input: &str,
    ) -> Result<Array3<Complex32>> {
        let (frames, max) = self.cfg.frame_counts(data, lengths, input)?;
        self.check_output(input, lengths.len(), max, error::C64)?;
        match &self.backend {
            Backend::Cpu(c) => Ok(c.complex(data, lengths, &frames, max)),
            Backend::Gpu(g) => g.complex(data, lengths, &frames, max).await,
        }
    }
}

impl RunWindow for Stft {
    fn values(&self) -> usize {
        self.n_freq()
    }
    fn run_window(&self, data: ArrayView2<'_, f32>) -> Result<Array3<f32>> {
        let lengths = vec![data.ncols(); data.nrows()];
        pollster::block_on(self.real_rows(data, &lengths, "stream"))
    }
}
