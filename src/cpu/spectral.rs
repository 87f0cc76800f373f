//! CPU twins of `shaders/spectral.wgsl`: spectral centroid, bandwidth, rolloff, flatness and
//! contrast per STFT frame (in f64, from the f64 spectrum of [`CpuStft::frames_par`]), the
//! contrast's dB step (shared with the GPU path, which reads back peaks and valleys), and the
//! time-domain frame statistics rms and zero-crossing rate.

use ndarray::{s, Array3, ArrayView2, Zip};
use num_complex::Complex64;
use rayon::prelude::*;

use crate::cpu::stft::CpuStft;
use crate::dsp::frames::{padded_index, Framing};

/// `np.finfo(np.float64).tiny`: librosa's `util.normalize` leaves columns whose norm is
/// below it as they are.
const TINY: f64 = f64::MIN_POSITIVE;

/// librosa's bin spacing (`numpy.fft.rfftfreq(n_fft, 1 / sr)`): bin k is at `k * bin_hz`.
pub(crate) fn bin_hz(sr: u32, n_fft: usize) -> f64 {
    1.0 / (n_fft as f64 * (1.0 / sr as f64))
}

/// One octave band of spectral contrast: bins `lo..hi` (after librosa drops a band's top
/// bin) and the number `q` of lowest / highest values averaged (`<= hi - lo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Band {
    pub lo: usize,
    pub hi: usize,
    pub q: usize,
}

/// What each STFT frame is reduced to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reduce {
    Centroid,
    Bandwidth {
        p: f64,
    },
    Rolloff {
        roll_percent: f64,
    },
    /// On `max(amin, |X|^power)`.
    Flatness {
        power: f64,
        amin: f64,
    },
    /// Peaks (rows `0..bands`) then valleys (rows `bands..2 bands`) of each band.
    Contrast {
        bands: Vec<Band>,
    },
}

impl Reduce {
    /// Values per frame.
    pub fn n_out(&self) -> usize {
        match self {
            Reduce::Contrast { bands } => 2 * bands.len(),
            _ => 1,
        }
    }

    /// The exponent of the spectrum the reduction reads: |X| except for flatness.
    pub fn power(&self) -> f64 {
        match self {
            Reduce::Flatness { power, .. } => *power,
            _ => 1.0,
        }
    }
}

/// `(sum_k S_k, sum_k f_k S_k / norm)`, librosa's normalised first moment.
fn centroid_of(mag: &[f64], hz: f64) -> (f64, f64) {
    let total: f64 = mag.iter().sum();
    let norm = if total < TINY { 1.0 } else { total };
    let c = mag
        .iter()
        .enumerate()
        .map(|(k, &s)| k as f64 * hz * (s / norm))
        .sum();
    (norm, c)
}

/// `spectral_centroid` of one magnitude column.
pub(crate) fn centroid(mag: &[f64], hz: f64) -> f64 {
    centroid_of(mag, hz).1
}

/// `spectral_bandwidth(p, norm=True)` of one magnitude column.
pub(crate) fn bandwidth(mag: &[f64], hz: f64, p: f64) -> f64 {
    let (norm, c) = centroid_of(mag, hz);
    let dev = |k: usize| (k as f64 * hz - c).abs();
    let weighted = |pow: &dyn Fn(f64) -> f64| -> f64 {
        mag.iter()
            .enumerate()
            .map(|(k, &s)| (s / norm) * pow(dev(k)))
            .sum()
    };
    if p == 2.0 {
        weighted(&|d| d * d).sqrt()
    } else if p == 1.0 {
        weighted(&|d| d)
    } else {
        weighted(&|d| d.powf(p)).powf(1.0 / p)
    }
}

/// `spectral_rolloff`: the lowest bin frequency whose cumulative magnitude reaches
/// `roll_percent` of the total (0 Hz on a silent frame).
pub(crate) fn rolloff(mag: &[f64], hz: f64, roll_percent: f64) -> f64 {
    let total: f64 = mag.iter().fold(0.0, |a, &s| a + s);
    let threshold = roll_percent * total;
    let mut cum = 0.0;
    for (k, &s) in mag.iter().enumerate() {
        cum += s;
        if cum >= threshold {
            return k as f64 * hz;
        }
    }
    (mag.len().max(1) - 1) as f64 * hz
}

/// `spectral_flatness` of one column already floored: `x = max(amin, |X|^power)`.
pub(crate) fn flatness(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let log_mean = x.iter().map(|v| v.ln()).sum::<f64>() / n;
    let mean = x.iter().sum::<f64>() / n;
    log_mean.exp() / mean
}

/// The peak and valley of each band of one magnitude column into `peak` / `valley`;
/// `scratch` (at least as long as the longest band) is used for sorting.
pub(crate) fn contrast(
    mag: &[f64],
    bands: &[Band],
    scratch: &mut [f64],
    peak: &mut [f64],
    valley: &mut [f64],
) {
    for (b, band) in bands.iter().enumerate() {
        let sorted = &mut scratch[..band.hi - band.lo];
        sorted.copy_from_slice(&mag[band.lo..band.hi]);
        sorted.sort_unstable_by(f64::total_cmp);
        let q = band.q;
        valley[b] = sorted[..q].iter().sum::<f64>() / q as f64;
        peak[b] = sorted[sorted.len() - q..].iter().sum::<f64>() / q as f64;
    }
}

/// `|X|^power` in f64 as librosa computes it (`np.abs(stft) ** power`).
#[inline]
fn powered(c: &Complex64, power: f64) -> f64 {
    let m = c.re.hypot(c.im);
    if power == 1.0 {
        m
    } else if power == 2.0 {
        m * m
    } else {
        m.powf(power)
    }
}

/// Every frame of every row reduced by `reduce`: `(rows, reduce.n_out(), frames_max)`, zeros
/// past a row's own frames. Bins are at `k * hz`.
pub(crate) fn spectral_frames(
    c: &CpuStft,
    reduce: &Reduce,
    hz: f64,
    data: ArrayView2<'_, f32>,
    lengths: &[usize],
    frames: &[usize],
    frames_max: usize,
) -> Array3<f64> {
    let n_freq = c.n_freq();
    let power = reduce.power();
    let longest = match reduce {
        Reduce::Contrast { bands } => bands.iter().map(|b| b.hi - b.lo).max().unwrap_or(0),
        _ => 0,
    };
    c.frames_par(
        data,
        lengths,
        frames,
        frames_max,
        reduce.n_out(),
        |spec, tmp, col| {
            tmp.clear();
            tmp.extend(spec.iter().map(|x| powered(x, power)));
            match reduce {
                Reduce::Centroid => col[0] = centroid(tmp, hz),
                Reduce::Bandwidth { p } => col[0] = bandwidth(tmp, hz, *p),
                Reduce::Rolloff { roll_percent } => col[0] = rolloff(tmp, hz, *roll_percent),
                Reduce::Flatness { amin, .. } => {
                    for v in tmp.iter_mut() {
                        *v = v.max(*amin);
                    }
                    col[0] = flatness(tmp);
                }
                Reduce::Contrast { bands } => {
                    // tmp: the magnitudes, then the sorting scratch
                    tmp.resize(n_freq + longest, 0.0);
                    let (mag, scratch) = tmp.split_at_mut(n_freq);
                    let (peak, valley) = col.split_at_mut(bands.len());
                    contrast(mag, bands, scratch, peak, valley);
                }
            }
        },
    )
}

/// `power_to_db` with librosa's defaults (ref 1, amin 1e-10), before the `top_db` floor.
fn db(x: f64) -> f64 {
    10.0 * x.max(1e-10).log10()
}

/// The `top_db = 80` floor of an array whose maximum is `max`.
fn db_floor(max: f64) -> f64 {
    db(max) - 80.0
}

/// Spectral contrast from the peaks and valleys of [`spectral_frames`] (or the GPU kernel),
/// `(rows, 2 bands, frames_max)`: `peak - valley` when `linear`, else
/// `power_to_db(peak) - power_to_db(valley)` with power_to_db's defaults, each `top_db`
/// floor taken from the maximum of the whole peak (resp. valley) array, or of each row's
/// when `per_item`. Frames past a row's own count are zero.
pub(crate) fn contrast_finish(
    pv: &Array3<f64>,
    frames: &[usize],
    linear: bool,
    per_item: bool,
) -> Array3<f32> {
    let (rows, two_b, frames_max) = pv.dim();
    let nb = two_b / 2;
    let mut out = Array3::<f32>::zeros((rows, nb, frames_max));
    let row_maxes: Vec<(f64, f64)> = pv
        .outer_iter()
        .zip(frames)
        .map(|(r, &f)| {
            let m = |x: ndarray::ArrayView2<'_, f64>| x.iter().fold(0.0f64, |m, &v| m.max(v));
            (m(r.slice(s![..nb, ..f])), m(r.slice(s![nb.., ..f])))
        })
        .collect();
    let global = row_maxes
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), &(x, y)| (a.max(x), b.max(y)));
    Zip::from(out.outer_iter_mut())
        .and(pv.outer_iter())
        .and(frames)
        .and(&row_maxes)
        .par_for_each(|mut o, x, &f, &row_max| {
            let (pmax, vmax) = if per_item { row_max } else { global };
            let (pfloor, vfloor) = (db_floor(pmax), db_floor(vmax));
            for b in 0..nb {
                for t in 0..f {
                    let (peak, valley) = (x[[b, t]], x[[nb + b, t]]);
                    o[[b, t]] = if linear {
                        (peak - valley) as f32
                    } else {
                        (db(peak).max(pfloor) - db(valley).max(vfloor)) as f32
                    };
                }
            }
        });
    out
}

/// The time-domain frame statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameStat {
    /// `sqrt(mean(x^2))` over the frame, padded as the framing says.
    Rms,
    /// Sign changes between neighbouring samples over the frame length, edge padding,
    /// `|x| <= 1e-10` counted as zero and zero as positive (librosa's zero_crossing_rate).
    Zcr,
}

/// librosa's zero-crossing threshold.
pub(crate) const ZCR_THRESHOLD: f64 = 1e-10;

/// `stat` of every frame of every row: `(rows, 1, frames_max)`, zeros past a row's frames.
/// Frames are `framing.n_fft` samples long (librosa's frame_length).
pub(crate) fn frame_stats(
    stat: FrameStat,
    framing: Framing,
    data: ArrayView2<'_, f32>,
    lengths: &[usize],
    frames: &[usize],
    frames_max: usize,
) -> Array3<f32> {
    let rows = data.nrows();
    let n = framing.n_fft;
    let mut out = Array3::<f32>::zeros((rows, 1, frames_max));
    for (r, mut lane) in out.outer_iter_mut().enumerate() {
        let row = data.row(r);
        let len = lengths[r];
        let padded = |t: i64| -> f64 {
            let i = match stat {
                FrameStat::Rms => padded_index(t, len, framing.pad_mode),
                FrameStat::Zcr => Some(t.clamp(0, len as i64 - 1) as usize),
            };
            i.map_or(0.0, |i| row[i] as f64)
        };
        let lane = lane
            .as_slice_mut()
            .expect("a fresh (rows, 1, frames) array is contiguous");
        lane[..frames[r]]
            .par_iter_mut()
            .enumerate()
            .for_each(|(f, v)| {
                let t0 = (f * framing.hop) as i64 - framing.left_pad() as i64;
                *v = match row.as_slice() {
                    // interior frames of a contiguous row: no padding to resolve
                    Some(s) if t0 >= 0 && t0 as usize + n <= len => {
                        let seg = &s[t0 as usize..t0 as usize + n];
                        stat_of(stat, seg.iter().map(|&x| x as f64), n)
                    }
                    _ => stat_of(stat, (0..n as i64).map(|j| padded(t0 + j)), n),
                };
            });
    }
    out
}

/// `stat` of one frame of `n` samples.
fn stat_of(stat: FrameStat, frame: impl Iterator<Item = f64>, n: usize) -> f32 {
    match stat {
        FrameStat::Rms => {
            let sum: f64 = frame.map(|x| x * x).sum();
            (sum / n as f64).sqrt() as f32
        }
        FrameStat::Zcr => {
            let neg = |x: f64| x < 0.0 && x.abs() > ZCR_THRESHOLD;
            let mut frame = frame.map(neg);
            let Some(mut prev) = frame.next() else {
                return 0.0;
            };
            let mut count = 0usize;
            for cur in frame {
                count += usize::from(cur != prev);
                prev = cur;
            }
            (count as f64 / n as f64) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_on_small_columns() {
        let mag = [1.0, 0.0, 3.0];
        assert_eq!(centroid(&mag, 10.0), 15.0);
        assert_eq!(centroid(&[0.0; 4], 10.0), 0.0);
        // deviations 15 and 5 with weights 1/4, 3/4
        assert!((bandwidth(&mag, 10.0, 1.0) - 7.5).abs() < 1e-12);
        assert_eq!(rolloff(&mag, 10.0, 0.5), 20.0);
        assert_eq!(rolloff(&mag, 10.0, 0.25), 0.0);
        assert_eq!(rolloff(&[0.0; 3], 10.0, 0.85), 0.0);
        assert!((flatness(&[2.0, 2.0]) - 1.0).abs() < 1e-15);
        let bands = [Band { lo: 0, hi: 2, q: 1 }, Band { lo: 1, hi: 5, q: 2 }];
        let (mut peak, mut valley) = ([0.0; 2], [0.0; 2]);
        contrast(
            &[4.0, 1.0, 5.0, 2.0, 9.0],
            &bands,
            &mut [0.0; 4],
            &mut peak,
            &mut valley,
        );
        assert_eq!(peak, [4.0, 7.0]);
        assert_eq!(valley, [1.0, 1.5]);
    }
}
