//! [`Batch`]: examples x channels rows of f32 samples with per-row valid lengths.

use ndarray::{s, Array2, ArrayView2};

use crate::audio::{Audio, AudioBatch};
use crate::error::{Error, Result};

/// A batch for augmentation: `rows = examples * channels` rows of `stride` f32 samples
/// (row `r` is channel `r % channels` of example `r / channels`), each with its own valid
/// length. Samples past a row's length are zero and every transform keeps them zero.
///
/// ```
/// use wavegpu::augment::Batch;
/// use wavegpu::Audio;
/// let a = Audio::from_mono(vec![0.5; 100], 16_000);
/// let b = Audio::from_mono(vec![0.25; 60], 16_000);
/// let batch = Batch::from_clips(&[a, b]).unwrap();
/// assert_eq!((batch.examples(), batch.channels(), batch.stride()), (2, 1, 100));
/// assert_eq!(batch.lengths(), &[100, 60]);
/// assert_eq!(batch.clip(1).unwrap().len(), 60);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    data: Array2<f32>,
    lengths: Vec<usize>,
    channels: usize,
    sample_rate: u32,
}

impl Batch {
    /// A batch from a `(rows, stride)` array, each row's valid length, the channel count
    /// (rows must be a multiple of it) and the sample rate. Samples past a row's length are
    /// set to zero.
    pub fn new(
        mut data: Array2<f32>,
        lengths: Vec<usize>,
        channels: usize,
        sample_rate: u32,
    ) -> Result<Self> {
        if channels == 0 {
            return Err(Error::param("channels", "must be > 0"));
        }
        if lengths.len() != data.nrows() {
            return Err(Error::param(
                "lengths",
                format!("{} lengths for {} rows", lengths.len(), data.nrows()),
            ));
        }
        if data.nrows() % channels != 0 {
            return Err(Error::param(
                "channels",
                format!(
                    "{} rows are not a whole number of examples of {channels} channels",
                    data.nrows()
                ),
            ));
        }
        if let Some((i, &l)) = lengths.iter().enumerate().find(|(_, &l)| l > data.ncols()) {
            return Err(Error::param(
                "lengths",
                format!("row {i} length {l} exceeds the stride {}", data.ncols()),
            ));
        }
        if data.ncols() > u32::MAX as usize / 2 {
            return Err(Error::param(
                "lengths",
                format!("rows of {} samples exceed 2^31 - 1", data.ncols()),
            ));
        }
        if sample_rate == 0 {
            return Err(Error::param("sample_rate", "must be > 0"));
        }
        for (mut row, &l) in data.outer_iter_mut().zip(&lengths) {
            row.slice_mut(s![l..]).fill(0.0);
        }
        Ok(Batch {
            data,
            lengths,
            channels,
            sample_rate,
        })
    }

    /// One example per clip; all clips must have the same channel count and sample rate.
    pub fn from_clips(clips: &[Audio]) -> Result<Self> {
        let first = clips
            .first()
            .ok_or_else(|| Error::audio("batch", "no clips"))?;
        let (channels, sr) = (first.channels(), first.sample_rate());
        for c in clips {
            if c.channels() != channels {
                return Err(Error::audio(
                    c.label(),
                    format!("has {} channels, the first clip {channels}", c.channels()),
                ));
            }
            if c.sample_rate() != sr {
                return Err(Error::audio(
                    c.label(),
                    format!("sample rate {} Hz, the first clip {sr} Hz", c.sample_rate()),
                ));
            }
        }
        let stride = clips.iter().map(Audio::len).max().unwrap_or(0);
        let mut data = Array2::<f32>::zeros((clips.len() * channels, stride));
        let mut lengths = Vec::with_capacity(clips.len() * channels);
        for (e, c) in clips.iter().enumerate() {
            for ch in 0..channels {
                data.row_mut(e * channels + ch)
                    .slice_mut(s![..c.len()])
                    .assign(&c.channel(ch));
                lengths.push(c.len());
            }
        }
        Self::new(data, lengths, channels, sr)
    }

    /// Mono examples from an [`AudioBatch`] (one row per example).
    pub fn from_audio_batch(b: &AudioBatch) -> Result<Self> {
        Self::new(
            b.data().to_owned(),
            b.lengths().to_vec(),
            1,
            b.sample_rate(),
        )
    }

    /// Example `e` as a clip of its valid length (the longest of its channels' lengths).
    pub fn clip(&self, e: usize) -> Result<Audio> {
        if e >= self.examples() {
            return Err(Error::param(
                "example",
                format!("{e} is past the batch's {} examples", self.examples()),
            ));
        }
        let rows = e * self.channels..(e + 1) * self.channels;
        let len = self.lengths[rows.clone()]
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        Audio::new(
            self.data.slice(s![rows, ..len]).to_owned(),
            self.sample_rate,
        )
    }

    /// The samples, `(rows, stride)`.
    pub fn data(&self) -> ArrayView2<'_, f32> {
        self.data.view()
    }
    /// Consumes the batch, returning its `(rows, stride)` array.
    pub fn into_data(self) -> Array2<f32> {
        self.data
    }
    /// Each row's valid length.
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }
    /// Channels per example.
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// Number of examples (rows / channels).
    pub fn examples(&self) -> usize {
        self.data.nrows() / self.channels
    }
    /// Number of rows (examples x channels).
    pub fn rows(&self) -> usize {
        self.data.nrows()
    }
    /// Samples per row in memory (the longest row).
    pub fn stride(&self) -> usize {
        self.data.ncols()
    }
    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The same shape with new samples (crate-internal: `data` keeps the invariants).
    /// The samples, to be replaced in place (same shape).
    pub(crate) fn data_mut(&mut self) -> &mut Array2<f32> {
        &mut self.data
    }

    pub(crate) fn with_data(&self, data: Array2<f32>) -> Batch {
        Batch {
            data,
            lengths: self.lengths.clone(),
            channels: self.channels,
            sample_rate: self.sample_rate,
        }
    }
}

impl From<Audio> for Batch {
    /// One example with the clip's channels.
    fn from(a: Audio) -> Self {
        let (channels, sr, n) = (a.channels(), a.sample_rate(), a.len());
        Batch {
            lengths: vec![n; channels],
            data: a.into_data(),
            channels,
            sample_rate: sr,
        }
    }
}

/// The samples of a 2-D view in row-major order (a memcpy for standard-layout views; the
/// element iterator of a 2-D view is several times slower).
pub(crate) fn flat(data: ArrayView2<'_, f32>) -> Vec<f32> {
    match data.as_slice() {
        Some(s) => s.to_vec(),
        None => data
            .as_standard_layout()
            .as_slice()
            .map_or_else(Vec::new, <[f32]>::to_vec),
    }
}
