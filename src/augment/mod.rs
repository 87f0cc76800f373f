//! Audio augmentations: the audiomentations set, batched and seeded, identical on CPU and GPU.
//!
//! A [`Pipeline`] is a tree of transforms described in JSON with audiomentations' names
//! (snake_case), parameter names and defaults. It is built once for a [`Device`](crate::Device)
//! (GPU pipelines and buffers included) and run many times with `&self` on a [`Batch`]:
//! examples x channels rows of f32 samples, each row with its own valid length.
//!
//! ```
//! use wavegpu::augment::{Batch, Pipeline};
//! use wavegpu::{Audio, Device};
//!
//! let pipeline = Pipeline::from_json(r#"[
//!     {"name": "gain", "min_gain_db": -6, "max_gain_db": 6, "p": 0.5},
//!     {"name": "one_of", "transforms": [
//!         {"name": "add_gaussian_snr", "min_snr_db": 10, "max_snr_db": 30, "p": 1.0},
//!         {"name": "time_mask", "max_band_part": 0.1, "p": 1.0}
//!     ]},
//!     {"name": "shift", "min_shift": -0.25, "max_shift": 0.25, "p": 0.5}
//! ]"#, &Device::cpu())?;
//!
//! let clips = vec![
//!     Audio::from_mono((0..16_000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect(), 16_000),
//!     Audio::from_mono(vec![0.25; 9_000], 16_000),
//! ];
//! let batch = Batch::from_clips(&clips)?;
//! let a = pipeline.run(7, &batch)?;
//! let b = pipeline.run(7, &batch)?;
//! assert_eq!(a, b); // same seed, same bits
//! assert_eq!(a.lengths(), &[16_000, 9_000]); // lengths are kept; the tail stays zero
//! assert!(a.data().row(1).iter().skip(9_000).all(|&x| x == 0.0));
//!
//! // Paired signals: draw once, apply to both (same gains, shifts, masks and noise).
//! let drawn = pipeline.draw(7, &[0, 1], 1)?;
//! let x = pipeline.apply(&drawn, &batch)?;
//! assert_eq!(x, a);
//! # Ok::<(), wavegpu::Error>(())
//! ```
//!
//! Spectrograms get SpecAugment's `frequency_mask` and `time_mask` through [`SpecAugment`],
//! with the same JSON compositions and the same seeding.
//!
//! # JSON
//! A pipeline is a list of nodes (run in order, like `compose` with `p` = 1) or one node. A
//! node is an object with a `name`, its parameters, and optionally `p` (probability of
//! applying it: 0.5 for transforms, 1.0 for compositions, as in audiomentations) and `mode`
//! (`per_example`, the default, `per_batch` or `per_channel`, as torch-audiomentations names
//! them). Unknown names, unknown parameters and bad values are
//! [`Error::InvalidParameter`](crate::Error::InvalidParameter) errors naming the node's path
//! (`pipeline[2].transforms[0]`), the transform and the parameter.
//!
//! Compositions:
//! * `compose`: `transforms`, `shuffle` (false): all children in order, or in an order drawn
//!   per example.
//! * `one_of`: `transforms`, `weights` (uniform): one child.
//! * `some_of`: `num_transforms` (a count, or `[min, max]` with `max` null for all),
//!   `transforms`: that many distinct children, run in their listed order.
//!
//! Transforms (audiomentations 0.43 semantics; defaults in parentheses):
//! * `gain`: `min_gain_db` (-12), `max_gain_db` (12).
//! * `gain_transition`: `min_gain_db` (-24), `max_gain_db` (6), `min_duration` (0.2),
//!   `max_duration` (6), `duration_unit` ("seconds" | "fraction" | "samples").
//! * `polarity_inversion`, `reverse`.
//! * `shift`: `min_shift` (-0.5), `max_shift` (0.5), `shift_unit` ("fraction" | "samples" |
//!   "seconds"), `rollover` (true), `fade_duration` (0.005 s).
//! * `clip`: `a_min` (-1), `a_max` (1).
//! * `clipping_distortion`: `min_percentile_threshold` (0), `max_percentile_threshold` (40).
//! * `normalize`: `apply_to` ("all" | "only_too_loud_sounds").
//! * `add_gaussian_noise`: `min_amplitude` (0.001), `max_amplitude` (0.015).
//! * `add_gaussian_snr`: `min_snr_db` (5), `max_snr_db` (40).
//! * `time_mask`: `min_band_part` (0.01), `max_band_part` (0.2), `fade_duration` (0.005 s),
//!   `mask_location` ("random" | "start" | "end").
//! * `tanh_distortion`: `min_distortion` (0.01), `max_distortion` (0.7).
//! * `bit_crush`: `min_bit_depth` (5), `max_bit_depth` (10).
//! * `padding`: `mode` ("silence" | "wrap" | "reflect"), `min_fraction` (0.01),
//!   `max_fraction` (0.7), `pad_section` ("end" | "start"). Here `mode` is audiomentations'
//!   padding mode, so padding is always drawn per example.
//! * `add_color_noise`: `min_snr_db` (5), `max_snr_db` (40), `min_f_decay` (-6),
//!   `max_f_decay` (6) in dB per octave, `p_apply_a_weighting` (0), `n_fft` (128, at most
//!   1024 here). White normals filtered by audiomentations' FIR (irfft of `f^(-beta/2)` with
//!   random phases, drawn per example, optionally A-weighted; taps match audiomentations
//!   within f32 rounding for the same phases), then scaled to unit RMS over the example and
//!   to the clean RMS / 10^(snr/20). On the GPU one workgroup filters 256 samples from
//!   normals staged in workgroup memory.
//! * `apply_impulse_response`: `ir_path` (files or directories, as `sounds_path`),
//!   `leave_length_unchanged` (true; false is refused since a batch keeps its lengths), and
//!   `sample_rate` as for background noise. The full convolution with a drawn impulse
//!   response (mono: every channel gets the same one) is scaled so that its peak over the
//!   example, tail included, is 0.5, then cut to the row's length, as audiomentations does.
//!   The CPU twin convolves by FFT (f64). On the GPU, responses shorter than 512 taps run a
//!   direct convolution tiled through workgroup memory (256 outputs x 256 taps per tile);
//!   longer ones a uniformly partitioned overlap-save FFT convolution (`gpu::conv`: 1024-sample
//!   blocks, 2048-point FFTs in workgroup memory, the responses' spectra computed once when
//!   the pipeline is built and kept on the GPU). The 512-tap crossover is a prediction from
//!   operation counts, to be measured on a real GPU.
//! * `add_background_noise`: `sounds_path` (a file or directory, or a list of them; directories
//!   are searched recursively for audio files, in sorted order), `min_snr_db` (3),
//!   `max_snr_db` (30), `noise_rms` ("relative" | "absolute"), `min_absolute_rms_db` (-45),
//!   `max_absolute_rms_db` (-15), and wavegpu's `sample_rate` (resample the noises on load;
//!   without it their own rate must be the batch's). The clips are decoded once, mono, when
//!   the pipeline is built, and kept on the GPU as one buffer. Each row takes a clip, a
//!   random offset where the clip is longer than the row (else the clip is tiled), and the
//!   noise is scaled so that its RMS over the row's valid length is the target exactly
//!   (audiomentations measures the loaded segment before tiling).
//! * `add_short_noises`: `sounds_path` and `sample_rate` as for background noise,
//!   `min_snr_db` (-6), `max_snr_db` (18), `min_time_between_sounds` (2),
//!   `max_time_between_sounds` (8) s, `noise_rms` ("relative_to_whole_input" | "relative" |
//!   "absolute"), `min_absolute_noise_rms_db` (-50), `max_absolute_noise_rms_db` (-20),
//!   `add_all_noises_with_same_level` (false), `include_silence_in_noise_rms_estimation`
//!   (true), `burst_probability` (0.22), `min_pause_factor_during_burst` (0.1),
//!   `max_pause_factor_during_burst` (1.1), `min_fade_in_time` (0.005), `max_fade_in_time`
//!   (0.08), `min_fade_out_time` (0.01), `max_fade_out_time` (0.1) s,
//!   `signal_gain_db_during_noise` (0; the deprecated `signal_gain_in_db_during_noise` is
//!   accepted alone). `lru_cache_size` is accepted and ignored (every clip is loaded once
//!   into the bank); `noise_transform` is refused. Each row draws its sounds with
//!   audiomentations' loop (global offset, bursts, pauses; every uniform from the node's
//!   counter at draws 5, 6, ...), the same for all channels of an example in `per_example`
//!   mode; at most 1024 sounds per row (more, or pauses that never let the loop end, is an
//!   error when drawn). Fades, crops and each noise's RMS are resolved on the host; the
//!   kernel adds the row's sounds (sorted by start) per sample, scaled to the clean RMS of the
//!   example (`relative_to_whole_input`), of the sound's region (`relative`: one reduction
//!   per sound), or absolutely. On a multichannel example the clean RMS is the mean of the
//!   channels' RMS; an example whose channels differ in length is reduced row by row.
//!   Matches audiomentations' `apply` within 1.2e-7 (CPU) and 2.9e-7 (GPU) of the peak for
//!   fixed sounds. Where audiomentations crashes, here: a zero-sample fade-out (or fade-in)
//!   is no fade; a sound cropped to nothing or silent adds nothing ("relative" would take
//!   the RMS of an empty region).
//!
//! Filters (audiomentations' names, parameters and defaults; frequencies drawn uniformly on
//! the mel scale, gains and `q` uniformly; the sections designed per row on the host in f64
//! exactly as `scipy.signal.butter(output='sos')` and audiomentations' biquads, see
//! [`dsp::iir`](crate::dsp::iir)):
//! * `low_pass_filter`: `min_cutoff_freq` (150), `max_cutoff_freq` (7500), `min_rolloff`
//!   (12), `max_rolloff` (24) dB/octave (multiples of 6: the Butterworth order is rolloff / 6),
//!   `zero_phase` (false; true filters forward and backward as `sosfiltfilt`, order
//!   rolloff / 12, rolloffs multiples of 12);
//! * `high_pass_filter`: the same with cutoffs (20, 2400);
//! * `band_pass_filter`, `band_stop_filter`: `min_center_freq` (200), `max_center_freq`
//!   (4000), `min_bandwidth_fraction` (0.5), `max_bandwidth_fraction` (1.99), the roll-offs
//!   and `zero_phase`;
//! * `peaking_filter` (centre 50-7500 Hz, gain -24..24 dB, q 0.5-5), `low_shelf_filter`
//!   (50-4000 Hz, -18..18 dB, q 0.1-0.999), `high_shelf_filter` (300-7500 Hz, -18..18 dB,
//!   q 0.1-0.999): `min_center_freq`, `max_center_freq`, `min_gain_db`, `max_gain_db`,
//!   `min_q`, `max_q`; one RBJ biquad;
//! * `seven_band_parametric_eq`: `min_gain_db` (-12), `max_gain_db` (12): a low shelf, five
//!   peaks and a high shelf at audiomentations' centre ranges, as one cascade.
//!
//! Time and pitch (librosa's phase vocoder, `method` "librosa_phase_vocoder", wavegpu's
//! default; audiomentations' default "signalsmith_stretch" is not implemented and is refused
//! with an error that says so):
//! * `time_stretch`: `min_rate` (0.8, >= 0.1), `max_rate` (1.25, <= 10),
//!   `leave_length_unchanged` (true; false is refused since a batch keeps its lengths), `method`.
//!   `librosa.effects.time_stretch` per row at its own rate (STFT 2048/512, Hann, centred with
//!   zeros; the vocoder's magnitude interpolation and phase accumulation; iSTFT of length
//!   `round(n / rate)`), then cut or zero-padded to the row's length as audiomentations does.
//! * `pitch_shift`: `min_semitones` (-4, >= -24), `max_semitones` (4, <= 24), `method`.
//!   `librosa.effects.pitch_shift`: time-stretched by `2^(-semitones / 12)`, then resampled
//!   from `sr / rate` to `sr` and cut to the row's length. The resampler is resampy's
//!   `kaiser_best` (what librosa runs with `res_type="kaiser_best"`: a windowed sinc, 50 zero
//!   crossings, table interpolated linearly, each output sample computed on its own), not
//!   librosa's default `soxr_hq`: the two differ by 1.3-2.4% relative on the short test signals
//!   (measured by tests/data/make_stretch_dumps.py, edges included), the same spread as between
//!   librosa's own resamplers.
//!
//! The CPU twin runs in f64 (within 2.7e-8 of librosa in float64, the f32 output's rounding);
//! its vocoder gives the same bits as librosa's loop transcribed (each input frame's magnitude
//! and phase computed once), its resampler the same products as resampy's loop summed in
//! another order (within 2.1e-15 of the peak, measured by a unit test);
//! the GPU (`shaders/stretch.wgsl`: one pass of five dispatches for all the stretched rows of a
//! step) in f32 within 9.4e-7 relative of librosa float64 and 3.2e-6 absolute of the CPU twin.
//! librosa accumulates the phase unwrapped, which in float32 (audiomentations runs librosa on
//! float32 input) drifts; both paths here keep it wrapped. Rows of a few samples, for which
//! librosa/resampy raise, come out as zeros.
//!
//! The vocoder is ill-conditioned where a bin's magnitude sits at the rounding noise: the phase
//! it accumulates there is the angle of that noise, carried to every later frame, and matters
//! once the bin gets loud. The f64 CPU twin follows librosa float64 even then (a synthetic
//! chirp, the worst case: within 5.7e-8), but the GPU's f32 STFT has a noise floor some 1e-7
//! of the frame's peak, so GPU and CPU agree within 1e-5 only where every bin that later
//! matters stays above it. Measured (lavapipe): one stretch of speech or music, or of tones in
//! noise, within 5.3e-6; a row stretched two or three times (the second stretch sees a row
//! band-limited by the first) up to 1.5e-3, always within 2.2x of the CPU twin's own spread
//! when its input moves by 3e-6; a pure 8 kHz chirp resampled to 16 kHz (no energy in most
//! bins most of the time) 3.3e-2, where librosa's own float32 run differs from its float64 one
//! by 1.1e-3 and the magnitude spectrograms of the GPU and CPU outputs differ by 1.2% relative.
//! The output is a correct stretch either way; only its fine phase differs.
//!
//! Like audiomentations, filters start in the steady state of the row's first sample
//! (`sosfilt(..., zi=sosfilt_zi(sos) * x[0])`). Frequencies past Nyquist are clamped to 0.9999
//! of `sr // 2` (audiomentations does so for all but the peaking filter, whose biquad it
//! would design past Nyquist). A zero-phase filter on a row of `padlen` samples or fewer
//! (scipy's `sosfiltfilt` limit) is an [`Error::InvalidAudio`](crate::Error::InvalidAudio)
//! naming the example. wavegpu's FIR option on the four band filters: `fir_taps` (odd, 3 to
//! 16385) designs `scipy.signal.firwin` taps (Hamming) for the drawn band instead and applies
//! them centred (`np.convolve(x, h, 'same')`: linear phase, no delay; the cutoff is firwin's
//! -6 dB point; the roll-offs do not apply).
//!
//! Lengths, fractions and seconds resolve against each row's own valid length and the
//! batch's sample rate. With every random parameter pinned (min = max), outputs match
//! audiomentations within 1.2e-7 (tests/data/make_augment_dumps.py). Where wavegpu differs:
//! * the random numbers are Philox draws (below), not Python's `random`/numpy's global
//!   state: the same distributions, not the same values;
//! * `add_gaussian_snr` scales each row's noise to exactly the target RMS over the valid
//!   length (audiomentations draws noise with that standard deviation, so its achieved SNR
//!   wanders by a few hundredths of a dB on a one-second clip); the achieved SNR is within
//!   0.01 dB of the drawn one;
//! * shifts past the length with `rollover` are taken modulo the length before the fades;
//!   `padding` of a whole row in `wrap`/`reflect` mode gives zeros (numpy refuses);
//!   `gain_transition`'s start is drawn in `[-fade + 2, max(len - 2, -fade + 2)]`.
//!
//! # Randomness
//! Every random number is Philox4x32-10 ([`rng`]) keyed by the seed, at a counter that names
//! the draw: `[example id (64 bits), node position | lane << 16, draw index]` (see
//! [`rng::Counter`]). Node positions are the pre-order indices of the pipeline tree (the
//! root list is 0). Lane 0 holds per-example and per-batch parameter draws, lane `1 + c`
//! per-channel draws of channel `c`, lane `0x8000 + c` the per-sample noise of channel `c`
//! (sample `i` from call `i / 4`). Draw 0 of a node decides `p`; its parameters, shuffles
//! and choices follow at 1, 2, .... So:
//! * the same seed gives the same output bit for bit on one device, and CPU and GPU agree
//!   within 1e-5 (measured: 2.4e-7 for unit-variance noise, 1.2e-7 for a 14-transform chain)
//!   except: the IIR filters, within the IIR kernel's 1e-4 (the GPU runs its sections in
//!   f32: one filter within 4.5e-6 on noise of amplitude 0.4, the seven resonant sections of
//!   `seven_band_parametric_eq` up to 1.7e-5 for some draws, a level that stays put over
//!   80,000 samples rather than drifting; a later `normalize` scales it with the signal);
//!   and two that are the transform's nature and not the devices': the phase
//!   vocoder on sparse spectra (see `time_stretch` above), and `bit_crush` after a transform
//!   that differs by rounding (a difference of 1e-7 that crosses a quantisation threshold
//!   becomes one quantisation step, 2^(1 - bits));
//! * an example's augmentation depends on (seed, its id) only, never on the other rows of
//!   its batch: give [`Pipeline::run_with_ids`] the examples' indices in the data set;
//! * `per_batch` nodes draw at the batch's first id (vary the seed or ids per batch);
//! * [`Pipeline::draw`] returns the [`Drawn`] decisions and [`Pipeline::apply`] applies them to
//!   any batch of the same shape ("freeze"): paired signals (clean/noisy, a stem and its
//!   mix) get the same gains, shifts and masks, and even the same noise samples.
//!
//! Parameters are drawn on the host in f64 and resolved per row (lengths, sample rate) into
//! the same operation records for both paths; per-sample noise is drawn inside the kernels
//! from the same counters as the CPU twin.
//!
//! # Reductions, multichannel and NaN
//! `normalize` (peak), `add_gaussian_snr` (RMS), `tanh_distortion` and `clipping_distortion`
//! (percentiles) reduce over the example's channels, as audiomentations does on a
//! multichannel array (its RMS is the mean of the channels' RMS), or over the row alone in
//! `per_channel` mode. No reduction ever mixes examples: a NaN or Inf sample can spread NaN
//! through its own example's rows (the value there is unspecified), never to another
//! example. Zero-length rows stay empty.
//!
//! # On the GPU
//! `shaders/augment.wgsl` runs a pipeline as steps: step `s` applies each row's `s`-th
//! transform (rows of one batch may have different transforms at a step; rows with fewer
//! steps copy through). A step is at most two dispatches over the whole batch: a
//! reduction pass when some row needs one (one workgroup per row: sums of squares and peak,
//! or a 4-pass radix select for percentiles), then one thread per sample reading one buffer
//! and writing the other (ping-pong, so `reverse` and `shift` need no scratch). All steps go
//! in one submission with one upload and one readback; batches larger than one storage
//! binding are split by whole examples.
//!
//! Filters are sequential along time. A filter step copies its rows through the apply
//! kernel, then `shaders/iir.wgsl` filters them in place by block-state recursion: one
//! workgroup per row splits it into 256 blocks; for each section every block filters from
//! a zero state and keeps its end state, one thread scans the 256 block states with the
//! section's 2x2 state-transition matrix raised to the block length (computed on the host in
//! f64), and every block refilters from its true start state. Sections run as trapezoidal
//! state-variable filters (coefficients mapped on the host in f64): the f32 direct form loses
//! 3e-3 at low cutoffs, this form 5e-6. Zero-phase filtering extends each row by scipy's odd
//! reflection into a scratch buffer, then runs forward and backward. Measured against the
//! f64 CPU twin: at most 5e-6 (a 10th-order 20 Hz low-pass, 16th-order band-pass). FIR
//! taps run one thread per output sample.

pub mod batch;
pub(crate) mod ops;
pub mod pipeline;
pub mod rng;
pub(crate) mod spec;
pub mod specaugment;
pub(crate) mod stretch;

pub use batch::Batch;
pub use pipeline::{DeviceBatch, Drawn, Pipeline};
pub use spec::Mode;
#[doc(hidden)]
pub use spec::ShortNoiseSound;
pub use specaugment::SpecAugment;
