//! Audio containers: [`Audio`] (one clip, channels x samples) and [`AudioBatch`]
//! (rows of possibly different lengths).

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};

/// One clip of audio: `f32` samples laid out `(channels, samples)`, and its sample rate.
///
/// ```
/// use wavegpu::Audio;
/// let a = Audio::from_mono(vec![0.0, 0.5, -0.5], 16_000);
/// assert_eq!((a.channels(), a.len(), a.sample_rate()), (1, 3, 16_000));
/// ```
#[derive(Debug, Clone)]
pub struct Audio {
    data: Array2<f32>,
    sample_rate: u32,
    name: Option<String>,
}

/// Equal samples and sample rate; the name is not compared.
impl PartialEq for Audio {
    fn eq(&self, other: &Self) -> bool {
        self.sample_rate == other.sample_rate && self.data == other.data
    }
}

impl Audio {
    /// Wraps `(channels, samples)` data. Fails on zero channels or a zero sample rate.
    pub fn new(data: Array2<f32>, sample_rate: u32) -> Result<Self> {
        if data.nrows() == 0 {
            return Err(Error::audio("audio", "zero channels"));
        }
        if sample_rate == 0 {
            return Err(Error::param("sample_rate", "must be > 0"));
        }
        Ok(Audio {
            data,
            sample_rate,
            name: None,
        })
    }

    /// Names the clip (a path, say): errors about it name it. [`crate::io::load`] names the
    /// clips it returns after their source.
    ///
    /// ```
    /// use wavegpu::{Audio, Spectrogram};
    /// let a = Audio::from_mono(vec![f32::NAN; 4096], 8000).with_name("take3.wav");
    /// let err = Spectrogram::stft().n_fft(512).run(&a).unwrap_err();
    /// assert!(err.to_string().contains("take3.wav"));
    /// ```
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The clip's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The clip's name, or "audio".
    pub(crate) fn label(&self) -> &str {
        self.name().unwrap_or("audio")
    }

    /// One channel from a vector of samples.
    ///
    /// # Panics
    /// Never; a zero `sample_rate` is accepted here and rejected by plans that need it.
    pub fn from_mono(samples: Vec<f32>, sample_rate: u32) -> Self {
        let n = samples.len();
        let data = Array2::from_shape_vec((1, n), samples).expect("(1, n) from n samples");
        Audio {
            data,
            sample_rate,
            name: None,
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.data.nrows()
    }
    /// Samples per channel.
    pub fn len(&self) -> usize {
        self.data.ncols()
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.data.ncols() == 0
    }
    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.len() as f64 / self.sample_rate.max(1) as f64
    }
    /// The samples, `(channels, samples)`.
    pub fn data(&self) -> ArrayView2<'_, f32> {
        self.data.view()
    }
    /// One channel's samples.
    pub fn channel(&self, c: usize) -> ArrayView1<'_, f32> {
        self.data.row(c)
    }
    /// Consumes the clip, returning its `(channels, samples)` array.
    pub fn into_data(self) -> Array2<f32> {
        self.data
    }
    /// Mean of the channels, as `librosa.to_mono` does.
    pub fn to_mono(&self) -> Audio {
        if self.channels() == 1 {
            return self.clone();
        }
        let mean = self
            .data
            .mean_axis(Axis(0))
            .expect("at least one channel")
            .insert_axis(Axis(0));
        Audio {
            data: mean,
            sample_rate: self.sample_rate,
            name: self.name.clone(),
        }
    }

    /// Fails with [`Error::InvalidAudio`] naming the first non-finite sample.
    pub fn check_finite(&self, input: &str) -> Result<()> {
        check_finite(self.data.view(), input)
    }
}

pub(crate) fn check_finite(data: ArrayView2<'_, f32>, input: &str) -> Result<()> {
    check_finite_from(data, input, 0)
}

/// [`check_finite`] for a block whose first sample is sample `offset` of the input (a
/// stream's later chunks): the error names the sample's place in the whole input.
pub(crate) fn check_finite_from(data: ArrayView2<'_, f32>, input: &str, offset: u64) -> Result<()> {
    for (c, row) in data.outer_iter().enumerate() {
        check_finite_samples(row, input, c, offset)?;
    }
    Ok(())
}

/// The samples of `channel` from sample `offset` of `input` on: the first non-finite one,
/// named by its place in the whole input, is an [`Error::InvalidAudio`].
pub(crate) fn check_finite_samples<'a>(
    samples: impl IntoIterator<Item = &'a f32>,
    input: &str,
    channel: usize,
    offset: u64,
) -> Result<()> {
    match samples
        .into_iter()
        .enumerate()
        .find(|(_, x)| !x.is_finite())
    {
        Some((i, x)) => Err(Error::audio(
            input,
            format!(
                "sample {} of channel {channel} is {x} (NaN/Inf are not accepted)",
                offset + i as u64
            ),
        )),
        None => Ok(()),
    }
}

/// A batch of single-channel clips with per-row valid lengths, `(rows, max_len)`.
///
/// Samples past a row's length are ignored by every plan: a row's result is the same
/// as if that clip ran alone (and shorter rows' outputs are zero past their own frames).
///
/// ```
/// use wavegpu::AudioBatch;
/// let b = AudioBatch::from_rows(&[vec![0.0; 100], vec![1.0; 40]], 8000).unwrap();
/// assert_eq!(b.lengths(), &[100, 40]);
/// assert_eq!(b.data().dim(), (2, 100));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBatch {
    data: Array2<f32>,
    lengths: Vec<usize>,
    sample_rate: u32,
}

impl AudioBatch {
    /// A batch from rows of any lengths (zero-padded to the longest).
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R], sample_rate: u32) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::audio("batch", "no rows"));
        }
        let max = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
        let mut data = Array2::<f32>::zeros((rows.len(), max));
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            data.row_mut(i)
                .slice_mut(ndarray::s![..r.len()])
                .assign(&ArrayView1::from(r));
        }
        let lengths = rows.iter().map(|r| r.as_ref().len()).collect();
        Self::new(data, lengths, sample_rate)
    }

    /// A batch from a `(rows, max_len)` array and each row's valid length.
    pub fn new(data: Array2<f32>, lengths: Vec<usize>, sample_rate: u32) -> Result<Self> {
        if lengths.len() != data.nrows() {
            return Err(Error::param(
                "lengths",
                format!("{} lengths for {} rows", lengths.len(), data.nrows()),
            ));
        }
        if let Some((i, &l)) = lengths.iter().enumerate().find(|(_, &l)| l > data.ncols()) {
            return Err(Error::param(
                "lengths",
                format!(
                    "row {i} length {l} exceeds the array's {} columns",
                    data.ncols()
                ),
            ));
        }
        if data.nrows() == 0 {
            return Err(Error::audio("batch", "no rows"));
        }
        if sample_rate == 0 {
            return Err(Error::param("sample_rate", "must be > 0"));
        }
        Ok(AudioBatch {
            data,
            lengths,
            sample_rate,
        })
    }

    /// The padded samples, `(rows, max_len)`.
    pub fn data(&self) -> ArrayView2<'_, f32> {
        self.data.view()
    }
    /// Each row's valid length.
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.nrows()
    }
    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
}

impl From<Audio> for AudioBatch {
    /// Each channel becomes a row of full length.
    fn from(a: Audio) -> Self {
        let n = a.len();
        let rows = a.channels();
        AudioBatch {
            data: a.data,
            lengths: vec![n; rows],
            sample_rate: a.sample_rate,
        }
    }
}
