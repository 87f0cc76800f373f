//! [`Pipeline`]: a tree of transforms built once for a device, and [`Drawn`] parameters.

use rayon::prelude::*;
use serde_json::Value;

use super::batch::Batch;
use super::ops::{
    apply_row, color_taps, combine, flag, row_stats, set_percentiles, thresholds, Env, OpRec,
    RowFilter, RowStats,
};
use super::rng::Counter;
use super::spec::{self, Bank, DrawnLeaf, Leaf, Node, RowKey};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::gpu::augment::GpuAugment;

enum Backend {
    Cpu,
    Gpu(Box<GpuAugment>),
}

/// An augmentation pipeline: transforms named and parameterised as in audiomentations,
/// composed with `compose` (optionally shuffled), `one_of` (optionally weighted) and
/// `some_of`, built once for a [`Device`] and run many times with `&self`.
///
/// See the [module documentation](crate::augment) for the JSON format, the randomness and
/// an example.
pub struct Pipeline {
    root: Node,
    bank: Bank,
    leaves: Vec<Option<Leaf>>,
    backend: Backend,
    device: Device,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("root", &self.root)
            .field("device", &self.device)
            .finish()
    }
}

/// A [`Batch`] kept in GPU memory (see [`Pipeline::upload`]).
pub struct DeviceBatch {
    inner: crate::gpu::augment::Resident,
    lengths: Vec<usize>,
    channels: usize,
    sample_rate: u32,
}

impl std::fmt::Debug for DeviceBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBatch")
            .field("lengths", &self.lengths)
            .field("channels", &self.channels)
            .finish()
    }
}

/// Parameters drawn for a batch: which transforms each row gets, in which order, with which
/// random values. Apply one `Drawn` to several batches of the same shape to give paired
/// signals (clean/noisy, the channels of a recording) the same augmentation, noise included.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    seed: u64,
    ids: Vec<u64>,
    channels: usize,
    rows: Vec<Vec<DrawnLeaf>>,
}

impl Drawn {
    /// The seed the parameters were drawn with (per-sample noise is drawn from it too).
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The example ids.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }
    /// The names of the transforms row `r` gets, in order (for inspection and tests).
    pub fn row_transforms(&self, pipeline: &Pipeline, r: usize) -> Vec<&'static str> {
        self.rows.get(r).map_or_else(Vec::new, |ops| {
            ops.iter()
                .filter_map(|d| pipeline.name_at(d.position))
                .collect()
        })
    }
}

impl Pipeline {
    /// A pipeline from its JSON text: a list of transforms (run in order), or one object
    /// such as `{"name": "one_of", "transforms": [...]}`.
    ///
    /// ```
    /// let p = wavegpu::augment::Pipeline::from_json(
    ///     r#"[{"name": "gain", "min_gain_db": -6, "max_gain_db": 6, "p": 0.5}]"#,
    ///     &wavegpu::Device::cpu(),
    /// ).unwrap();
    /// let err = wavegpu::augment::Pipeline::from_json(
    ///     r#"[{"name": "gain", "min_gain": -6}]"#, &wavegpu::Device::cpu()).unwrap_err();
    /// assert!(err.to_string().contains("min_gain"));
    /// # let _ = p;
    /// ```
    pub fn from_json(json: &str, device: &Device) -> Result<Self> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| Error::param("pipeline", format!("not valid JSON: {e}")))?;
        Self::from_value(&v, device)
    }

    /// A pipeline from a parsed JSON value (see [`Pipeline::from_json`]).
    pub fn from_value(v: &Value, device: &Device) -> Result<Self> {
        let mut bank = Bank::default();
        let root = spec::parse(v, &mut bank)?;
        let mut leaves = Vec::new();
        root.leaves(&mut leaves);
        // The impulse responses, as (start, len) in the bank.
        let mut irs: Vec<(u32, u32)> = leaves
            .iter()
            .flatten()
            .filter_map(|l| match l {
                Leaf::ApplyImpulseResponse { clips } => Some(clips),
                _ => None,
            })
            .flatten()
            .map(|&c| (bank.clips[c as usize].start, bank.clips[c as usize].len))
            .collect();
        irs.sort_unstable();
        irs.dedup();
        let backend = match device.gpu_context() {
            Some(ctx) => Backend::Gpu(Box::new(GpuAugment::new(ctx.clone(), &bank.samples, &irs)?)),
            None => Backend::Cpu,
        };
        Ok(Pipeline {
            root,
            bank,
            leaves,
            backend,
            device: device.clone(),
        })
    }

    /// The device the pipeline runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn name_at(&self, position: u16) -> Option<&'static str> {
        fn find(n: &Node, pos: u16) -> Option<&'static str> {
            if n.position == pos {
                return Some(n.name);
            }
            match &n.kind {
                spec::NodeKind::Leaf(_) => None,
                spec::NodeKind::Compose { children, .. }
                | spec::NodeKind::OneOf { children, .. }
                | spec::NodeKind::SomeOf { children, .. } => {
                    children.iter().find_map(|c| find(c, pos))
                }
            }
        }
        find(&self.root, position)
    }

    /// Draws every random decision for examples `ids` of `channels` channels under `seed`.
    /// Each example's draws depend only on (seed, its id, the node, the draw index), so an
    /// example gets the same augmentation whatever batch it is in (per-batch nodes draw at
    /// the batch's first id).
    pub fn draw(&self, seed: u64, ids: &[u64], channels: usize) -> Result<Drawn> {
        if channels == 0 || channels > 0x7FFF {
            return Err(Error::param(
                "channels",
                format!("{channels} is not in 1..=32767"),
            ));
        }
        let batch_id = ids.first().copied().unwrap_or(0);
        let rows = (0..ids.len() * channels)
            .map(|r| {
                let key = RowKey {
                    id: ids[r / channels],
                    batch_id,
                    channel: (r % channels) as u16,
                };
                let mut out = Vec::new();
                self.root.draw(seed, &key, &mut out);
                out
            })
            .collect();
        Ok(Drawn {
            seed,
            ids: ids.to_vec(),
            channels,
            rows,
        })
    }

    /// Augments `batch` with examples numbered `0..examples` (see [`Pipeline::run_with_ids`]).
    pub fn run(&self, seed: u64, batch: &Batch) -> Result<Batch> {
        let ids: Vec<u64> = (0..batch.examples() as u64).collect();
        self.run_with_ids(seed, &ids, batch)
    }

    /// Augments `batch`, whose examples carry the ids `ids` (e.g. their indices in the data
    /// set): draws, then applies.
    pub fn run_with_ids(&self, seed: u64, ids: &[u64], batch: &Batch) -> Result<Batch> {
        let drawn = self.draw(seed, ids, batch.channels())?;
        self.apply(&drawn, batch)
    }

    /// Augments one clip (all its channels one example) as example `id`: the same result as
    /// that example gets in any batch.
    ///
    /// ```
    /// use wavegpu::augment::Pipeline;
    /// use wavegpu::{Audio, Device};
    /// let p = Pipeline::from_json(r#"[{"name": "gain", "p": 1.0}]"#, &Device::cpu()).unwrap();
    /// let a = Audio::from_mono(vec![0.5; 1000], 16_000);
    /// let y = p.run_clip(1, 42, &a).unwrap();
    /// assert_eq!((y.len(), y.channels()), (1000, 1));
    /// assert_eq!(y, p.run_clip(1, 42, &a).unwrap());
    /// ```
    pub fn run_clip(&self, seed: u64, id: u64, clip: &crate::Audio) -> Result<crate::Audio> {
        let batch = Batch::from_clips(std::slice::from_ref(clip))?;
        let out = self.run_with_ids(seed, &[id], &batch)?;
        let mut a = out.clip(0)?;
        if let Some(name) = clip.name() {
            a = a.with_name(name);
        }
        Ok(a)
    }

    /// [`run`](Self::run) in place: the batch's own samples are replaced by the result (on
    /// the CPU the work happens in that memory, with no new batch-sized allocation: the
    /// cheapest way to augment batch after batch).
    ///
    /// ```
    /// use wavegpu::augment::{Batch, Pipeline};
    /// use wavegpu::{Audio, Device};
    /// let p = Pipeline::from_json(r#"[{"name": "gain", "min_gain_db": -6, "max_gain_db": 6, "p": 1.0}]"#, &Device::cpu())?;
    /// let mut batch = Batch::from_clips(&[Audio::from_mono(vec![0.5; 1000], 16_000)])?;
    /// let copy = p.run(3, &batch)?;
    /// p.run_in_place(3, &mut batch)?;
    /// assert_eq!(batch, copy);
    /// # Ok::<(), wavegpu::Error>(())
    /// ```
    pub fn run_in_place(&self, seed: u64, batch: &mut Batch) -> Result<()> {
        let ids: Vec<u64> = (0..batch.examples() as u64).collect();
        let drawn = self.draw(seed, &ids, batch.channels())?;
        self.apply_in_place(&drawn, batch)
    }

    /// [`apply`](Self::apply) in place (see [`run_in_place`](Self::run_in_place)).
    pub fn apply_in_place(&self, drawn: &Drawn, batch: &mut Batch) -> Result<()> {
        match &self.backend {
            Backend::Gpu(_) => {
                let out = self.apply(drawn, batch)?;
                *batch = out;
            }
            Backend::Cpu => {
                let t = self.table(drawn, batch)?;
                let env = Env {
                    seed: drawn.seed,
                    bank: &self.bank.samples,
                    aux: &t.aux,
                    events: &t.events,
                };
                let (lengths, channels) = (batch.lengths().to_vec(), batch.channels());
                let data = batch.data_mut();
                if !data.is_standard_layout() {
                    *data = data.as_standard_layout().into_owned();
                }
                let (rows, stride) = data.dim();
                let buf = data
                    .as_slice_mut()
                    .ok_or_else(|| Error::param("batch", "samples not contiguous"))?;
                cpu_run_in_place(buf, (rows, stride), &lengths, channels, &t, env);
            }
        }
        Ok(())
    }

    /// Applies parameters drawn by [`Pipeline::draw`] to `batch` (blocking).
    pub fn apply(&self, drawn: &Drawn, batch: &Batch) -> Result<Batch> {
        pollster::block_on(self.apply_async(drawn, batch))
    }

    /// Applies parameters drawn by [`Pipeline::draw`] to `batch`.
    pub async fn apply_async(&self, drawn: &Drawn, batch: &Batch) -> Result<Batch> {
        let t = self.table(drawn, batch)?;
        let data = batch.data();
        let out = match &self.backend {
            Backend::Gpu(g) => {
                g.run(data, batch.lengths(), batch.channels(), &t, drawn.seed)
                    .await?
            }
            Backend::Cpu => cpu_run(
                data,
                batch.lengths(),
                batch.channels(),
                &t,
                Env {
                    seed: drawn.seed,
                    bank: &self.bank.samples,
                    aux: &t.aux,
                    events: &t.events,
                },
            ),
        };
        Ok(batch.with_data(out))
    }

    /// Uploads `batch` to this pipeline's GPU, to stay there across
    /// [`apply_device`](Self::apply_device) calls until [`download`](Self::download)
    /// (the batch must fit one storage binding). Fails on a CPU pipeline.
    pub fn upload(&self, batch: &Batch) -> Result<DeviceBatch> {
        let Backend::Gpu(g) = &self.backend else {
            return Err(Error::param(
                "device",
                "upload needs a pipeline built on a GPU device",
            ));
        };
        Ok(DeviceBatch {
            inner: g.upload(batch.data(), batch.lengths())?,
            lengths: batch.lengths().to_vec(),
            channels: batch.channels(),
            sample_rate: batch.sample_rate(),
        })
    }

    /// Applies `drawn` to a batch in GPU memory, in place, and waits for the device (no
    /// transfer: the figure to compare with other GPU augmenters' per-batch timings).
    pub fn apply_device(&self, drawn: &Drawn, batch: &mut DeviceBatch) -> Result<()> {
        let Backend::Gpu(g) = &self.backend else {
            return Err(Error::param(
                "device",
                "apply_device needs a pipeline built on a GPU device",
            ));
        };
        let t = self.table_for(drawn, &batch.lengths, batch.channels, batch.sample_rate)?;
        g.run_resident(
            &mut batch.inner,
            (&batch.lengths, batch.channels),
            &t,
            drawn.seed,
        )
    }

    /// Reads a device batch back.
    pub fn download(&self, batch: &DeviceBatch) -> Result<Batch> {
        let Backend::Gpu(g) = &self.backend else {
            return Err(Error::param(
                "device",
                "download needs a pipeline built on a GPU device",
            ));
        };
        let data = pollster::block_on(g.download(&batch.inner))?;
        Batch::new(
            data,
            batch.lengths.clone(),
            batch.channels,
            batch.sample_rate,
        )
    }

    /// The first add_short_noises node: its position, mode and parameters.
    fn short_noises_leaf(&self) -> Result<(u16, spec::Mode, &spec::short_noises::ShortNoises)> {
        fn find(n: &Node) -> Option<(u16, spec::Mode)> {
            match &n.kind {
                spec::NodeKind::Leaf(Leaf::AddShortNoises(_)) => Some((n.position, n.mode)),
                spec::NodeKind::Leaf(_) => None,
                spec::NodeKind::Compose { children, .. }
                | spec::NodeKind::OneOf { children, .. }
                | spec::NodeKind::SomeOf { children, .. } => children.iter().find_map(find),
            }
        }
        let (pos, mode) = find(&self.root)
            .ok_or_else(|| Error::param("pipeline", "has no add_short_noises transform"))?;
        match self.leaves.get(pos as usize) {
            Some(Some(Leaf::AddShortNoises(sn))) => Ok((pos, mode, sn)),
            _ => Err(Error::param(
                "pipeline",
                "has no add_short_noises transform",
            )),
        }
    }

    /// The sounds the pipeline's first add_short_noises draws for example `id` (channel 0)
    /// of `length` samples at `sample_rate` under `seed`, whether or not `p` applies it.
    #[doc(hidden)]
    pub fn short_noise_sounds(
        &self,
        seed: u64,
        id: u64,
        length: usize,
        sample_rate: u32,
    ) -> Result<Vec<spec::ShortNoiseSound>> {
        let (position, mode, sn) = self.short_noises_leaf()?;
        let key = RowKey {
            id,
            batch_id: id,
            channel: 0,
        };
        let c = spec::node_counter(mode, position, &key);
        sn.draw(&c, seed, length, sample_rate, &self.bank)
    }

    /// Applies the pipeline's first add_short_noises alone to every row of `batch` with the
    /// given sounds (audiomentations' `apply` with fixed `parameters["sounds"]`), on the
    /// pipeline's device.
    #[doc(hidden)]
    pub fn apply_short_noises(
        &self,
        sounds: &[spec::ShortNoiseSound],
        batch: &Batch,
    ) -> Result<Batch> {
        let (position, mode, _) = self.short_noises_leaf()?;
        let ch = batch.channels();
        let drawn = Drawn {
            seed: 0,
            ids: (0..batch.examples() as u64).collect(),
            channels: ch,
            rows: vec![
                vec![DrawnLeaf {
                    position,
                    u: [0.0; 4],
                    mode,
                }];
                batch.lengths().len()
            ],
        };
        let sr = batch.sample_rate();
        let t = self.table_with(&drawn, batch.lengths(), ch, sr, Some(sounds))?;
        let data = batch.data();
        let out = match &self.backend {
            Backend::Gpu(g) => pollster::block_on(g.run(data, batch.lengths(), ch, &t, 0))?,
            Backend::Cpu => cpu_run(
                data,
                batch.lengths(),
                ch,
                &t,
                Env {
                    seed: 0,
                    bank: &self.bank.samples,
                    aux: &t.aux,
                    events: &t.events,
                },
            ),
        };
        Ok(batch.with_data(out))
    }

    /// The operation of every row at every step (identity where a row has fewer steps), and
    /// the FIR taps the records point into.
    fn table(&self, drawn: &Drawn, batch: &Batch) -> Result<Tables> {
        self.table_for(
            drawn,
            batch.lengths(),
            batch.channels(),
            batch.sample_rate(),
        )
    }

    fn table_for(&self, drawn: &Drawn, lengths: &[usize], ch: usize, sr: u32) -> Result<Tables> {
        self.table_with(drawn, lengths, ch, sr, None)
    }

    /// [`table_for`](Self::table_for), with every add_short_noises row given `sounds`
    /// instead of drawing them.
    fn table_with(
        &self,
        drawn: &Drawn,
        lengths: &[usize],
        ch: usize,
        sr: u32,
        sounds: Option<&[spec::ShortNoiseSound]>,
    ) -> Result<Tables> {
        if drawn.channels != ch || drawn.rows.len() != lengths.len() {
            return Err(Error::param(
                "drawn",
                format!(
                    "parameters for {} examples x {} channels, the batch has {} x {ch}",
                    drawn.ids.len(),
                    drawn.channels,
                    lengths.len() / ch.max(1),
                ),
            ));
        }
        let steps = drawn.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut table = vec![vec![OpRec::identity(); lengths.len()]; steps];
        let mut filters: Vec<Vec<Option<RowFilter>>> = vec![vec![None; lengths.len()]; steps];
        let mut aux = Vec::new();
        let mut events = Vec::new();
        for (r, ops) in drawn.rows.iter().enumerate() {
            let id = drawn.ids[r / ch];
            for (s, d) in ops.iter().enumerate() {
                let leaf = self
                    .leaves
                    .get(d.position as usize)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| Error::param("drawn", "parameters of another pipeline"))?;
                let mut rec = leaf.resolve(&d.u, lengths[r], sr);
                if let Leaf::AddBackgroundNoise { .. } | Leaf::ApplyImpulseResponse { .. } = leaf {
                    let clip = &self.bank.clips[rec.a as usize];
                    clip.check_rate(sr)?;
                    rec.b = clip.start;
                    rec.c = clip.len;
                    if let Leaf::AddBackgroundNoise { .. } = leaf {
                        rec.d = spec::randint(0, i64::from(clip.len) - lengths[r] as i64, d.u[3])
                            as u32;
                    }
                }
                if let Leaf::Filter(f) = leaf {
                    let key = RowKey {
                        id,
                        batch_id: drawn.ids.first().copied().unwrap_or(0),
                        channel: (r % ch) as u16,
                    };
                    let extra: Vec<f64> = if matches!(f, spec::FilterLeaf::SevenBand { .. }) {
                        let c = spec::node_counter(d.mode, d.position, &key);
                        (0..spec::FILTER_EXTRA_DRAWS)
                            .map(|k| c.uniform(drawn.seed, 5 + k))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let filter = f.design(&d.u, &extra, sr)?;
                    if let RowFilter::Iir {
                        sos,
                        mode: crate::dsp::iir::IirMode::ZeroPhase,
                    } = &filter
                    {
                        let edge = crate::dsp::iir::filtfilt_padlen(sos);
                        if lengths[r] > 0 && lengths[r] <= edge {
                            return Err(Error::audio(
                                format!("batch example {} (row {r})", r / ch),
                                format!(
                                    "{} samples: zero-phase filtering needs more than {edge} (scipy's sosfiltfilt padlen)",
                                    lengths[r]
                                ),
                            ));
                        }
                    }
                    filters[s][r] = Some(filter);
                }
                if let Leaf::AddShortNoises(sn) = leaf {
                    let key = RowKey {
                        id,
                        batch_id: drawn.ids.first().copied().unwrap_or(0),
                        channel: (r % ch) as u16,
                    };
                    let c = spec::node_counter(d.mode, d.position, &key);
                    let drawn_sounds;
                    let list = match sounds {
                        Some(s) => s,
                        None => {
                            drawn_sounds = sn.draw(&c, drawn.seed, lengths[r], sr, &self.bank)?;
                            &drawn_sounds
                        }
                    };
                    (rec.b, rec.c) = sn.events(list, lengths[r], sr, &self.bank, &mut events)?;
                    // Rows of one example share their events only at equal lengths.
                    let e0 = r - r % ch;
                    if lengths[e0..e0 + ch].iter().any(|&l| l != lengths[r]) {
                        rec.flags |= flag::OWN_ROW;
                    }
                }
                if let Some(st) = leaf.stretch(&d.u, sr) {
                    filters[s][r] = Some(RowFilter::Stretch(st));
                }
                if let Leaf::AddColorNoise { n_fft, .. } = leaf {
                    // The phases: draws 5, 6, ... of the node's counter for this row.
                    let key = RowKey {
                        id,
                        batch_id: drawn.ids.first().copied().unwrap_or(0),
                        channel: (r % ch) as u16,
                    };
                    let c = spec::node_counter(d.mode, d.position, &key);
                    let phases: Vec<f64> = (0..*n_fft / 2 + 1)
                        .map(|k| c.uniform(drawn.seed, 5 + k))
                        .collect();
                    let a_w = rec.flags & flag::A_WEIGHTING != 0;
                    let taps = color_taps(f64::from(rec.y), a_w, *n_fft as usize, sr, &phases);
                    rec.b = aux.len() as u32;
                    rec.c = taps.len() as u32;
                    aux.extend(taps);
                }
                rec.id_lo = id as u32;
                rec.id_hi = (id >> 32) as u32;
                rec.word2 = Counter {
                    id,
                    position: d.position,
                    lane: Counter::SAMPLE_LANE + (r % ch) as u16,
                }
                .word2();
                // Per-channel draws reduce over their own row; so does a row whose
                // example's channels do different things at this step.
                let e0 = r - r % ch;
                let same = drawn.rows[e0..e0 + ch]
                    .iter()
                    .all(|o| o.get(s).map(|x| x.position) == Some(d.position));
                if d.mode == spec::Mode::PerChannel || !same {
                    rec.flags |= flag::OWN_ROW;
                }
                let n = if rec.flags & flag::OWN_ROW != 0 {
                    lengths[r]
                } else {
                    lengths[e0..e0 + ch].iter().sum()
                };
                set_percentiles(&mut rec, n);
                table[s][r] = rec;
            }
        }
        Ok(Tables {
            ops: table,
            aux,
            filters,
            events,
        })
    }
}

/// What a run applies: each step's operation per row, the FIR taps they point into, and
/// each step's IIR filter per row.
pub(crate) struct Tables {
    pub ops: Vec<Vec<OpRec>>,
    pub aux: Vec<f32>,
    pub filters: Vec<Vec<Option<RowFilter>>>,
    /// add_short_noises' event records (`spec::short_noises::EVENT_WORDS` words each).
    pub events: Vec<u32>,
}

/// The CPU twin of the GPU run: step by step, every example's rows in parallel.
fn cpu_run(
    data: ndarray::ArrayView2<'_, f32>,
    lengths: &[usize],
    channels: usize,
    tables: &Tables,
    env: Env<'_>,
) -> ndarray::Array2<f32> {
    let (rows, stride) = data.dim();
    let mut out = super::batch::flat(data);
    cpu_run_in_place(&mut out, (rows, stride), lengths, channels, tables, env);
    ndarray::Array2::from_shape_vec((rows, stride), out).expect("rows x stride")
}

/// [`cpu_run`] over `buf` (`rows x stride`, row-major), in place.
fn cpu_run_in_place(
    buf: &mut [f32],
    (_rows, stride): (usize, usize),
    lengths: &[usize],
    channels: usize,
    tables: &Tables,
    env: Env<'_>,
) {
    let ex = (stride * channels).max(1);
    // Example by example (in parallel), every step on two scratch buffers of one example
    // each, which stay in cache: the batch is read once and written once, whatever the
    // number of steps (no example depends on another).
    buf.par_chunks_mut(ex).enumerate().for_each_init(
        || (vec![0.0f32; ex], vec![0.0f32; ex]),
        |(cur, nxt), (e, result)| {
            cur[..result.len()].copy_from_slice(result);
            for (step, filters) in tables.ops.iter().zip(&tables.filters) {
                let (src, dst) = (&cur[..], &mut nxt[..]);
                let r0 = e * channels;
                let lens = &lengths[r0..r0 + channels];
                let ops = &step[r0..r0 + channels];
                let valid: Vec<&[f32]> = (0..channels)
                    .map(|c| &src[c * stride..c * stride + lens[c]])
                    .collect();
                let mut stats: Vec<RowStats> = (0..channels)
                    .map(|c| {
                        if ops[c].needs_cpu_stats() {
                            row_stats(&ops[c], valid[c], env)
                        } else {
                            RowStats::default()
                        }
                    })
                    .collect();
                for c in 0..channels {
                    let op = &ops[c];
                    let own = op.flags & flag::OWN_ROW != 0;
                    if op.code == super::ops::code::COLOR_NOISE {
                        // The noise's RMS over the example (or the row).
                        let rows_used = if own { c..c + 1 } else { 0..channels };
                        let ss: f64 = rows_used.clone().map(|k| stats[k].noise_sumsq).sum();
                        let cnt: usize = rows_used.map(|k| lens[k]).sum();
                        stats[c].hi = if cnt > 0 {
                            (ss / cnt as f64).sqrt() as f32
                        } else {
                            0.0
                        };
                    }
                    if matches!(
                        op.code,
                        super::ops::code::TANH | super::ops::code::CLIPPING_DISTORTION
                    ) {
                        let rows_used: Vec<&[f32]> =
                            if own { vec![valid[c]] } else { valid.clone() };
                        (stats[c].lo, stats[c].hi) = thresholds(op, &rows_used);
                    }
                }
                for c in 0..channels {
                    if ops[c].code == super::ops::code::SHORT_NOISES {
                        stats[c].region_rms =
                            spec::short_noises::region_rms(ops, &stats, env.events, c);
                    }
                }
                for c in 0..channels {
                    let op = &ops[c];
                    let (peak, rms) = if op.flags & flag::OWN_ROW != 0 {
                        combine(&stats[c..=c], &lens[c..=c])
                    } else {
                        combine(&stats, lens)
                    };
                    let d = &mut dst[c * stride..(c + 1) * stride];
                    apply_row(op, valid[c], &mut d[..lens[c]], env, peak, rms, &stats[c]);
                    d[lens[c]..].fill(0.0);
                    match &filters[r0 + c] {
                        Some(RowFilter::Iir { sos, mode }) => {
                            // Lengths were checked against zero-phase filtering in `table_for`.
                            let done = crate::cpu::iir::filter_row(sos, &mut d[..lens[c]], *mode);
                            debug_assert!(done.is_ok(), "{done:?}");
                        }
                        Some(RowFilter::Fir { taps }) => {
                            crate::cpu::iir::fir_row(taps, &mut d[..lens[c]])
                        }
                        Some(RowFilter::Stretch(st)) => {
                            super::stretch::stretch_row(&mut d[..lens[c]], st)
                        }
                        None => {}
                    }
                }
                std::mem::swap(cur, nxt);
            }
            result.copy_from_slice(&cur[..result.len()]);
        },
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn plans_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Pipeline>();
        check::<super::Drawn>();
    }
}
