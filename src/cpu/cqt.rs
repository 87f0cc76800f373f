//! CPU constant-Q / variable-Q transform, "full-rate": every octave is an STFT at the original
//! sample rate and hop (window all ones, centred, the plan's pad mode) whose spectrum is
//! projected on the octave's frequency-domain basis from `crate::dsp::cqt` — librosa 0.11's
//! `__cqt_response` per octave without its recursive downsampling.

use std::sync::Arc;

use ndarray::parallel::prelude::*;
use ndarray::{Array3, ArrayView1, ArrayView2, Axis};
use num_complex::{Complex, Complex32, Complex64};
use rustfft::{Fft, FftNum, FftPlanner};

use crate::dsp::cqt::{lengths, octave_bases, CqtParams, OctaveBasis};
use crate::dsp::frames::{padded_index, PadMode};
use crate::error::Result;

/// The float type of the frames' FFTs: f32 in the plans (1e-7 relative of the f64 result, about
/// twice as fast at the low octaves' long FFTs), f64 for the exactness tests.
pub(crate) trait FftFloat: FftNum + Into<f64> {
    fn of(v: f32) -> Self;
    fn of64(v: f64) -> Self;
}
impl FftFloat for f32 {
    fn of(v: f32) -> f32 {
        v
    }
    fn of64(v: f64) -> f32 {
        v as f32
    }
}
impl FftFloat for f64 {
    fn of(v: f32) -> f64 {
        v as f64
    }
    fn of64(v: f64) -> f64 {
        v
    }
}

/// One octave: its basis, the complex FFT of half its n_fft (real FFT by the even/odd split,
/// as the GPU kernel does it), and the span of FFT bins its basis reads.
struct Octave<F: FftFloat> {
    basis: OctaveBasis,
    fft: Arc<dyn Fft<F>>,
    /// `e^{-2 pi i k / n_fft}` for k in `lo..hi`.
    twiddles: Vec<Complex<F>>,
    lo: usize,
    hi: usize,
}

/// A planned CPU CQT: per octave a half-length complex FFT and a sparse basis.
pub(crate) struct CpuCqt<F: FftFloat = f32> {
    /// Top octave first.
    octaves: Vec<Octave<F>>,
    /// Per bin (ascending frequency): `1 / sqrt(length)` with `scale`, else 1.
    gain: Vec<f64>,
    n_bins: usize,
    hop: usize,
    pad_mode: PadMode,
}

impl<F: FftFloat> CpuCqt<F> {
    /// Designs the bases (validating `p`) and plans the octaves' FFTs.
    pub fn new(p: &CqtParams, pad_mode: PadMode) -> Result<Self> {
        let bases = octave_bases(p)?;
        let gain = if p.scale {
            lengths(p).iter().map(|l| 1.0 / l.sqrt()).collect()
        } else {
            vec![1.0; p.n_bins]
        };
        let mut planner = FftPlanner::<F>::new();
        let octaves = bases
            .into_iter()
            .map(|basis| {
                let n = basis.n_fft;
                let lo = basis.bands.iter().map(|b| b[0] as usize).min().unwrap_or(0);
                let hi = basis
                    .bands
                    .iter()
                    .map(|b| (b[0] + b[1]) as usize)
                    .max()
                    .unwrap_or(0)
                    .max(lo);
                let twiddles = (lo..hi)
                    .map(|k| {
                        let ph = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                        Complex::new(F::of64(ph.cos()), F::of64(ph.sin()))
                    })
                    .collect();
                Octave {
                    fft: planner.plan_fft_forward(n / 2),
                    basis,
                    twiddles,
                    lo,
                    hi,
                }
            })
            .collect();
        Ok(CpuCqt {
            octaves,
            gain,
            n_bins: p.n_bins,
            hop: p.hop_length,
            pad_mode,
        })
    }

    /// Frames of a signal of `len` samples: librosa's `1 + len // hop` (every octave's n_fft
    /// is an even power of two, so the count does not depend on the octave).
    #[cfg(test)]
    pub fn frames(&self, len: usize, input: &str) -> Result<usize> {
        let n_fft = self
            .octaves
            .iter()
            .map(|o| o.basis.n_fft)
            .max()
            .unwrap_or(2);
        let framing = crate::dsp::frames::Framing {
            n_fft,
            hop: self.hop,
            center: true,
            pad_mode: self.pad_mode,
        };
        framing.frames(len, input)
    }

    /// Bins `lo..hi` of the real FFT of frame `f` (centred, window all ones) of `row` into
    /// `spec`, through the half-length complex FFT in `buf`.
    #[allow(clippy::too_many_arguments)]
    fn frame_bins(
        &self,
        o: &Octave<F>,
        row: ArrayView1<'_, f32>,
        len: usize,
        f: usize,
        buf: &mut [Complex<F>],
        scratch: &mut [Complex<F>],
        spec: &mut Vec<Complex<F>>,
    ) {
        let n = o.basis.n_fft;
        let m = n / 2;
        let t0 = (f * self.hop) as i64 - m as i64;
        let at = |t: i64| match padded_index(t, len, self.pad_mode) {
            Some(i) => F::of(row[i]),
            None => F::zero(),
        };
        match row.as_slice() {
            Some(s) if t0 >= 0 && t0 as usize + n <= len => {
                let seg = &s[t0 as usize..t0 as usize + n];
                for (z, pair) in buf.iter_mut().zip(seg.chunks_exact(2)) {
                    *z = Complex::new(F::of(pair[0]), F::of(pair[1]));
                }
            }
            _ => {
                for (j, z) in buf.iter_mut().enumerate() {
                    let t = t0 + 2 * j as i64;
                    *z = Complex::new(at(t), at(t + 1));
                }
            }
        }
        o.fft.process_with_scratch(buf, scratch);
        // Split the m-point FFT of (even, odd) samples into the real FFT's bins.
        let half = F::of(0.5);
        spec.clear();
        for (k, w) in (o.lo..o.hi).zip(&o.twiddles) {
            let zk = buf[k % m];
            let zc = buf[(m - k % m) % m].conj();
            let e = (zk + zc) * half;
            let d = (zk - zc) * half;
            let odd = Complex::new(d.im, -d.re);
            spec.push(e + w * odd);
        }
    }

    /// Every octave's response written into `(rows, n_bins, frames_max)` as `f(response)`,
    /// where the response of bin k is `gain[k] * sum_f basis[k, f] * D[f]` (accumulated in
    /// f64). Frames past a row's own count stay `T::default()`.
    pub(crate) fn run_with<T: Send + Sync + Copy + Default>(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
        f: impl Fn(Complex64) -> T + Sync,
    ) -> Array3<T> {
        const BLOCK: usize = 16;
        let mut out = Array3::<T>::default((data.nrows(), self.n_bins, frames_max));
        if frames_max == 0 {
            return out;
        }
        let max_m = self
            .octaves
            .iter()
            .map(|o| o.basis.n_fft / 2)
            .max()
            .unwrap_or(1);
        let max_scratch = self
            .octaves
            .iter()
            .map(|o| o.fft.get_inplace_scratch_len())
            .max()
            .unwrap_or(0);
        out.axis_chunks_iter_mut(Axis(2), BLOCK)
            .into_par_iter()
            .enumerate()
            .for_each_init(
                || {
                    (
                        vec![Complex::<F>::new(F::zero(), F::zero()); max_m],
                        vec![Complex::<F>::new(F::zero(), F::zero()); max_scratch],
                        Vec::new(),
                    )
                },
                |(buf, scratch, spec), (b, mut dst)| {
                    let f0 = b * BLOCK;
                    for (r, mut dst) in dst.outer_iter_mut().enumerate() {
                        let f1 = (f0 + dst.ncols()).min(frames[r]);
                        let row = data.row(r);
                        for fr in f0..f1.max(f0) {
                            for o in &self.octaves {
                                let m = o.basis.n_fft / 2;
                                let scr = o.fft.get_inplace_scratch_len();
                                self.frame_bins(
                                    o,
                                    row,
                                    lengths[r],
                                    fr,
                                    &mut buf[..m],
                                    &mut scratch[..scr],
                                    spec,
                                );
                                let (lo, bin_lo) = (o.lo, o.basis.bin_lo);
                                for (i, &[first, n, off]) in o.basis.bands.iter().enumerate() {
                                    let (first, n, off) =
                                        (first as usize, n as usize, off as usize);
                                    let acc = o.basis.weights[off..off + n]
                                        .iter()
                                        .zip(&spec[first - lo..first - lo + n])
                                        .fold(Complex64::new(0.0, 0.0), |a, (w, x)| {
                                            a + w * Complex64::new(x.re.into(), x.im.into())
                                        });
                                    dst[[bin_lo + i, fr - f0]] = f(acc * self.gain[bin_lo + i]);
                                }
                            }
                        }
                    }
                },
            );
        out
    }

    /// Magnitude `|V|`, `(rows, n_bins, frames_max)`, bins in ascending frequency.
    pub fn run(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Array3<f32> {
        self.run_with(data, lengths, frames, frames_max, |c| c.norm() as f32)
    }

    /// Complex `V`, `(rows, n_bins, frames_max)`, bins in ascending frequency.
    pub fn complex(
        &self,
        data: ArrayView2<'_, f32>,
        lengths: &[usize],
        frames: &[usize],
        frames_max: usize,
    ) -> Array3<Complex32> {
        self.run_with(data, lengths, frames, frames_max, |c| {
            Complex32::new(c.re as f32, c.im as f32)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::cqt::{frequencies, wavelet};
    use ndarray::{s, Array2};
    use std::f64::consts::PI;

    fn small(sparsity: f64) -> CqtParams {
        CqtParams {
            sr: 4000,
            hop_length: 32,
            fmin: 200.0,
            n_bins: 20,
            bins_per_octave: 8,
            tuning: -0.1,
            filter_scale: 1.0,
            gamma: Some(0.0),
            sparsity,
            norm: Some(1.0),
            scale: true,
        }
    }

    fn signal(len: usize, seed: u64) -> Vec<f32> {
        // A deterministic mixture of tones and LCG noise.
        let mut s = seed;
        (0..len)
            .map(|n| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                ((2.0 * PI * 523.0 * n as f64 / 4000.0).sin() * 0.5
                    + (2.0 * PI * 1311.0 * n as f64 / 4000.0).cos() * 0.3
                    + noise * 0.2) as f32
            })
            .collect()
    }

    /// The same formula brute force: every frame of the padded signal through an O(N^2) DFT,
    /// projected on a dense basis, in f64.
    fn brute(
        p: &CqtParams,
        dense: &dyn Fn(usize) -> (usize, usize, Vec<Complex64>),
        x: &[f32],
        pad_mode: PadMode,
    ) -> Array2<Complex64> {
        let frames = 1 + x.len() / p.hop_length;
        let lens = lengths(p);
        let mut out = Array2::<Complex64>::zeros((p.n_bins, frames));
        for i in 0..p.n_octaves() {
            let (lo, n_fft, basis) = dense(i);
            let n_freq = n_fft / 2 + 1;
            let rows = basis.len() / n_freq;
            for t in 0..frames {
                let frame: Vec<f64> = (0..n_fft)
                    .map(|j| {
                        let idx = (t * p.hop_length + j) as i64 - (n_fft / 2) as i64;
                        padded_index(idx, x.len(), pad_mode).map_or(0.0, |i| x[i] as f64)
                    })
                    .collect();
                let d: Vec<Complex64> = (0..n_freq)
                    .map(|f| {
                        frame
                            .iter()
                            .enumerate()
                            .fold(Complex64::default(), |a, (n, &v)| {
                                let ph = -2.0 * PI * ((f * n) % n_fft) as f64 / n_fft as f64;
                                a + Complex64::from_polar(v, ph)
                            })
                    })
                    .collect();
                for r in 0..rows {
                    let v: Complex64 = (0..n_freq).map(|f| basis[r * n_freq + f] * d[f]).sum();
                    out[[lo + r, t]] = v / lens[lo + r].sqrt();
                }
            }
        }
        out
    }

    fn rel_err(got: &Array2<Complex64>, want: &Array2<Complex64>) -> f64 {
        let num: f64 = got.iter().zip(want).map(|(a, b)| (a - b).norm_sqr()).sum();
        let den: f64 = want.iter().map(|b| b.norm_sqr()).sum();
        (num / den).sqrt()
    }

    #[test]
    fn matches_brute_force_with_independent_basis() {
        // sparsity 0: the basis is the plain DFT of each centred, scaled wavelet; build it
        // here from the time-domain wavelet alone.
        let p = small(0.0);
        let freqs = frequencies(&p);
        let lens = lengths(&p);
        let dense = |i: usize| {
            let range = p.octave_range(i);
            let longest = lens[range.clone()].iter().cloned().fold(0.0, f64::max);
            let n_fft = 1usize << (longest.log2().ceil() as u32);
            let n_freq = n_fft / 2 + 1;
            let mut b = vec![Complex64::default(); range.len() * n_freq];
            for (r, k) in range.clone().enumerate() {
                let w = wavelet(freqs[k], lens[k], p.sr as f64, p.norm);
                let lpad = (n_fft - w.len()) / 2;
                for f in 0..n_freq {
                    b[r * n_freq + f] =
                        w.iter()
                            .enumerate()
                            .fold(Complex64::default(), |a, (n, &v)| {
                                let ph =
                                    -2.0 * PI * ((f * (n + lpad)) % n_fft) as f64 / n_fft as f64;
                                a + v * (lens[k] / n_fft as f64) * Complex64::from_polar(1.0, ph)
                            });
                }
            }
            (range.start, n_fft, b)
        };
        let x = signal(700, 1);
        for pad_mode in [PadMode::Constant, PadMode::Reflect] {
            let cqt = CpuCqt::<f64>::new(&p, pad_mode).unwrap();
            let frames = cqt.frames(x.len(), "x").unwrap();
            assert_eq!(frames, 1 + 700 / 32);
            let data = Array2::from_shape_vec((1, x.len()), x.clone()).unwrap();
            let got = cqt.run_with(data.view(), &[x.len()], &[frames], frames, |c| c);
            let want = brute(&p, &dense, &x, pad_mode);
            let got = got.index_axis(ndarray::Axis(0), 0).to_owned();
            let e = rel_err(&got, &want);
            assert!(e < 1e-9, "{pad_mode:?}: {e}");
        }
    }

    #[test]
    fn matches_brute_force_sparse() {
        let p = small(0.01);
        let bases = octave_bases(&p).unwrap();
        let dense = |i: usize| {
            let b = &bases[i];
            (b.bin_lo, b.n_fft, b.dense())
        };
        let x = signal(500, 2);
        let cqt = CpuCqt::<f64>::new(&p, PadMode::Constant).unwrap();
        let frames = cqt.frames(x.len(), "x").unwrap();
        let data = Array2::from_shape_vec((1, x.len()), x.clone()).unwrap();
        let got = cqt.run_with(data.view(), &[x.len()], &[frames], frames, |c| c);
        let got = got.index_axis(ndarray::Axis(0), 0).to_owned();
        let e = rel_err(&got, &brute(&p, &dense, &x, PadMode::Constant));
        assert!(e < 1e-9, "{e}");
        // f32 outputs of the f64 FFT agree with the f64 response.
        let mag = cqt.run(data.view(), &[x.len()], &[frames], frames);
        let cpx = cqt.complex(data.view(), &[x.len()], &[frames], frames);
        for ((m, c), g) in mag.iter().zip(&cpx).zip(&got) {
            assert!((*m as f64 - g.norm()).abs() <= 1e-6 * g.norm().max(1e-6));
            assert!((c.re as f64 - g.re).abs() <= 1e-6 * g.norm().max(1e-6));
        }
        // The plans' f32 FFT: within 1e-6 relative (Frobenius) of the f64 result.
        let fast = CpuCqt::<f32>::new(&p, PadMode::Constant).unwrap();
        let got32 = fast.run_with(data.view(), &[x.len()], &[frames], frames, |c| c);
        let got32 = got32.index_axis(ndarray::Axis(0), 0).to_owned();
        let e = rel_err(&got32, &got);
        assert!(e < 1e-6, "f32 FFT vs f64: {e}");
    }

    #[test]
    fn tone_peaks_in_its_bin() {
        let p = CqtParams {
            hop_length: 64,
            ..small(0.01)
        };
        let freqs = frequencies(&p);
        let cqt = CpuCqt::<f32>::new(&p, PadMode::Constant).unwrap();
        let len = 4000;
        for k in [0, 5, 9, 13, 19] {
            let x: Vec<f32> = (0..len)
                .map(|n| (2.0 * PI * freqs[k] * n as f64 / p.sr as f64).cos() as f32)
                .collect();
            let frames = cqt.frames(len, "x").unwrap();
            let data = Array2::from_shape_vec((1, len), x).unwrap();
            let v = cqt.run(data.view(), &[len], &[frames], frames);
            let t = frames / 2;
            let col: Vec<f32> = (0..p.n_bins).map(|b| v[[0, b, t]]).collect();
            let best = (0..p.n_bins)
                .max_by(|&a, &b| col[a].total_cmp(&col[b]))
                .unwrap();
            assert_eq!(best, k, "{col:?}");
        }
    }

    #[test]
    fn rows_of_different_lengths() {
        let p = small(0.01);
        let cqt = CpuCqt::<f32>::new(&p, PadMode::Reflect).unwrap();
        let (a, b) = (signal(900, 3), signal(400, 4));
        let (fa, fb) = (cqt.frames(900, "a").unwrap(), cqt.frames(400, "b").unwrap());
        let mut data = Array2::<f32>::zeros((2, 900));
        data.row_mut(0).assign(&ndarray::ArrayView1::from(&a));
        data.slice_mut(s![1, ..400])
            .assign(&ndarray::ArrayView1::from(&b));
        let both = cqt.run(data.view(), &[900, 400], &[fa, fb], fa);
        let bd = Array2::from_shape_vec((1, 400), b).unwrap();
        let alone = cqt.run(bd.view(), &[400], &[fb], fb);
        assert_eq!(both.slice(s![1, .., ..fb]), alone.slice(s![0, .., ..]));
        assert!(both.slice(s![1, .., fb..]).iter().all(|&v| v == 0.0));
        assert!(both.slice(s![0, .., fb..]).iter().any(|&v| v != 0.0));
    }
}
