//! CPU FFT convolution of waveforms with impulse responses: the twin of the GPU kernel.
//!
//! audiomentations' `ApplyImpulseResponse` computes `scipy.signal.convolve(x, ir)` (full
//! mode, `len(x) + len(ir) - 1` samples), scales the result so that its peak over every
//! channel of the example, tail included, is 0.5 (when that peak is > 0), and with
//! `leave_length_unchanged` (its default) keeps the first `len(x)` samples. This twin does
//! the same per row of a `(rows, stride)` batch over each row's valid length, in f64 (one
//! realfft of the next power of two at or above the full length per row), the output
//! rounded to f32. A row keeps its length: for `leave_length_unchanged = false` the caller
//! sets the row's length to `len(x) + len(ir) - 1` (zeros past the input, within the
//! stride) and the full convolution is what comes out.

// `convolve_rows` is the GPU kernel's twin (its tests); the augmentation pipeline's CPU path
// calls `full_convolution` row by row.
#![cfg_attr(not(test), allow(dead_code))]

use ndarray::ArrayViewMut2;
use realfft::RealFftPlanner;

use crate::cpu::iir::check_lengths;
use crate::error::{Error, Result};

/// The longest impulse response accepted, in taps (about 5.9 s at 44.1 kHz; the GPU kernel
/// sums one partition of 1024 taps per 1024 taps of impulse response for every output block).
pub(crate) const MAX_IR_LEN: usize = 262_144;

/// Refuses an empty bank, empty or over-long impulse responses and non-finite taps.
pub(crate) fn check_bank(irs: &[Vec<f32>]) -> Result<()> {
    if irs.is_empty() {
        return Err(Error::param(
            "irs",
            "the impulse response bank is empty: give at least one impulse response",
        ));
    }
    for (i, h) in irs.iter().enumerate() {
        if h.is_empty() {
            return Err(Error::param(
                "irs",
                format!("impulse response {i} is empty"),
            ));
        }
        if h.len() > MAX_IR_LEN {
            return Err(Error::param(
                "irs",
                format!(
                    "impulse response {i} has {} taps, more than the limit of {MAX_IR_LEN}",
                    h.len()
                ),
            ));
        }
        if let Some(t) = h.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "irs",
                format!(
                    "impulse response {i} has a non-finite tap ({}) at {t}",
                    h[t]
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses an `ir_of_row` of the wrong length or naming an impulse response past the bank,
/// and a `normalize` channel count that is zero or does not divide the rows.
pub(crate) fn check_rows(
    rows: usize,
    bank_len: usize,
    ir_of_row: &[Option<u32>],
    normalize: Option<usize>,
) -> Result<()> {
    if ir_of_row.len() != rows {
        return Err(Error::param(
            "ir_of_row",
            format!(
                "one entry per row: {} entries for {rows} rows",
                ir_of_row.len()
            ),
        ));
    }
    if let Some((r, i)) = ir_of_row
        .iter()
        .enumerate()
        .find_map(|(r, i)| i.filter(|&i| i as usize >= bank_len).map(|i| (r, i)))
    {
        return Err(Error::param(
            "ir_of_row",
            format!("row {r} names impulse response {i}, but the bank holds {bank_len}"),
        ));
    }
    if let Some(c) = normalize {
        if c == 0 || rows % c != 0 {
            return Err(Error::param(
                "normalize",
                format!("{c} channels per example do not divide {rows} rows"),
            ));
        }
    }
    Ok(())
}

/// Convolves each row `r` of `data` (rows x stride), over its first `lengths[r]` samples,
/// with `irs[ir_of_row[r]]` in place, keeping the row's length; rows with `None` are left
/// untouched. With `normalize = Some(channels)`, rows `r` are grouped into examples of
/// `channels` rows (`r / channels`) and each example's convolved rows are scaled so that
/// their peak over the full convolution (tail included) is 0.5, as audiomentations'
/// `ApplyImpulseResponse` does; no scaling when that peak is not > 0 (all zeros, NaN).
pub(crate) fn convolve_rows(
    mut data: ArrayViewMut2<f32>,
    lengths: &[usize],
    irs: &[Vec<f32>],
    ir_of_row: &[Option<u32>],
    normalize: Option<usize>,
) -> Result<()> {
    let (rows, stride) = data.dim();
    check_lengths(rows, stride, lengths)?;
    check_bank(irs)?;
    check_rows(rows, irs.len(), ir_of_row, normalize)?;
    let mut planner = RealFftPlanner::<f64>::new();
    let mut out: Vec<Option<(Vec<f64>, f64)>> = Vec::with_capacity(rows);
    for r in 0..rows {
        let (Some(i), l) = (ir_of_row[r], lengths[r]) else {
            out.push(None);
            continue;
        };
        if l == 0 {
            out.push(Some((Vec::new(), 0.0)));
            continue;
        }
        let x: Vec<f32> = data.row(r).iter().take(l).copied().collect();
        let y = full_convolution(&mut planner, &x, &irs[i as usize])?;
        let peak = y.iter().fold(0.0f64, |m, v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(v.abs())
            }
        });
        out.push(Some((y, peak)));
    }
    let channels = normalize.unwrap_or(1);
    for (r, o) in out.iter().enumerate() {
        let Some((y, _)) = o else { continue };
        let scale = match normalize {
            None => 1.0,
            Some(_) => {
                let first = r / channels * channels;
                let peak = out[first..first + channels]
                    .iter()
                    .flatten()
                    .map(|(_, p)| *p)
                    .fold(0.0f64, |m, p| {
                        if p.is_nan() || m.is_nan() {
                            f64::NAN
                        } else {
                            m.max(p)
                        }
                    });
                if peak > 0.0 {
                    0.5 / peak
                } else {
                    1.0
                }
            }
        };
        for (d, v) in data.row_mut(r).iter_mut().zip(y.iter().take(lengths[r])) {
            *d = (*v * scale) as f32;
        }
    }
    Ok(())
}

/// The smallest even length `>= n` whose factors are 2, 3 and 5 only: rustfft's fast sizes,
/// up to ~1.1x `n` where the next power of two can be 2x (scipy's `next_fast_len` does the
/// same for its FFT convolution).
pub(crate) fn fast_len(n: usize) -> usize {
    let n = n.max(2);
    let mut best = n.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            // The smallest power of two (at least 2) taking p35 to n or more.
            let mut m = p35 * 2;
            while m < n {
                m *= 2;
            }
            best = best.min(m);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// The full linear convolution of `x` and `h` (`len x + len h - 1` samples, empty when
/// either is), in f64 by one realfft of [`fast_len`] points; all NaN when an input holds a
/// NaN or an infinity (the row comes out NaN rather than failing).
pub(crate) fn full_convolution(
    planner: &mut RealFftPlanner<f64>,
    x: &[f32],
    h: &[f32],
) -> Result<Vec<f64>> {
    if x.is_empty() || h.is_empty() {
        return Ok(Vec::new());
    }
    let full = x.len() + h.len() - 1;
    let n = fast_len(full);
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut a = vec![0.0f64; n];
    let mut b = vec![0.0f64; n];
    for (d, s) in a.iter_mut().zip(x) {
        *d = f64::from(*s);
    }
    for (d, s) in b.iter_mut().zip(h) {
        *d = f64::from(*s);
    }
    let mut fa = fwd.make_output_vec();
    let mut fb = fwd.make_output_vec();
    fwd.process(&mut a, &mut fa).map_err(fft_err)?;
    fwd.process(&mut b, &mut fb).map_err(fft_err)?;
    for (x, y) in fa.iter_mut().zip(&fb) {
        *x *= *y / n as f64;
    }
    // realfft wants the imaginary parts of DC and Nyquist at zero; a NaN input makes
    // them NaN, and the row must come out NaN rather than fail.
    if fa.iter().any(|c| !c.re.is_finite() || !c.im.is_finite()) {
        return Ok(vec![f64::NAN; full]);
    }
    fa[0].im = 0.0;
    fa[n / 2].im = 0.0;
    inv.process(&mut fa, &mut a).map_err(fft_err)?;
    a.truncate(full);
    Ok(a)
}

fn fft_err(e: impl std::fmt::Display) -> Error {
    Error::param("irs", format!("FFT convolution failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};
    use serde_json::Value;

    #[test]
    fn fast_len_is_the_smallest_even_5_smooth_length() {
        let smooth = |mut m: usize| {
            for p in [2, 3, 5] {
                while m % p == 0 {
                    m /= p;
                }
            }
            m == 1
        };
        for n in 0..20_000usize {
            let f = fast_len(n);
            assert!(f >= n.max(2) && f % 2 == 0 && smooth(f), "{n} -> {f}");
            assert!(
                (n.max(2)..f).all(|m| m % 2 == 1 || !smooth(m)),
                "{n} -> {f}: a smaller one exists"
            );
        }
        assert_eq!(fast_len(264_600), 270_000);
    }

    fn dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
    }

    fn floats(v: &Value) -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    }

    /// tests/data/make_conv_dumps.py: scipy.signal.convolve (full mode, float64 of the
    /// float32 inputs) and audiomentations' ApplyImpulseResponse (normalised, truncated).
    #[test]
    fn matches_scipy_and_audiomentations_dumps() {
        let cases: Value =
            serde_json::from_str(&std::fs::read_to_string(dir().join("conv_cases.json")).unwrap())
                .unwrap();
        let mut worst = (0.0f64, 0.0f64);
        for c in cases["cases"].as_array().unwrap() {
            let x = floats(&c["x"]);
            let h = floats(&c["ir"]);
            let full = floats(&c["full"]);
            let aug = floats(&c["audiomentations"]);
            let l = x.len();
            assert_eq!(full.len(), l + h.len() - 1);
            // row 0: full mode (the row's length extended), row 1: truncated and normalised
            // as audiomentations, row 2: no impulse response (untouched)
            let stride = full.len() + 3;
            let mut data = Array2::<f32>::zeros((3, stride));
            for r in 0..3 {
                for (i, v) in x.iter().enumerate() {
                    data[[r, i]] = *v;
                }
            }
            let before = data.clone();
            let lengths = [full.len(), l, l];
            convolve_rows(
                data.view_mut(),
                &lengths,
                &[h],
                &[Some(0), None, None],
                None,
            )
            .unwrap();
            let scale = full.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, w) in full.iter().enumerate() {
                let e = (data[[0, i]] - w).abs() as f64 / scale as f64;
                worst.0 = worst.0.max(e);
            }
            let mut d2 = before.clone();
            convolve_rows(
                d2.view_mut(),
                &lengths,
                &[floats(&c["ir"])],
                &[None, Some(0), None],
                Some(1),
            )
            .unwrap();
            assert_eq!(aug.len(), l);
            for (i, w) in aug.iter().enumerate() {
                worst.1 = worst.1.max((d2[[1, i]] - w).abs() as f64);
            }
            assert_eq!(d2.row(2), before.row(2), "a row without IR is untouched");
            assert_eq!(d2.row(0), before.row(0));
            for i in l..stride {
                assert_eq!(d2[[1, i]], 0.0, "past the length stays zero");
            }
        }
        println!(
            "vs scipy (relative to the peak) {:e}, vs audiomentations {:e}",
            worst.0, worst.1
        );
        assert!(worst.0 <= 1e-6, "{:e}", worst.0);
        assert!(worst.1 <= 1e-6, "{:e}", worst.1);
    }

    #[test]
    fn multichannel_examples_share_one_peak() {
        let x = Array2::from_shape_fn((4, 50), |(r, i)| ((r * 7 + i) as f32 * 0.3).sin());
        let irs = vec![vec![1.0, 0.5, 0.25], vec![2.0, -1.0]];
        let map = [Some(0), Some(1), Some(1), Some(0)];
        let mut grouped = x.clone();
        convolve_rows(grouped.view_mut(), &[50; 4], &irs, &map, Some(2)).unwrap();
        let mut plain = x.clone();
        convolve_rows(plain.view_mut(), &[50; 4], &irs, &map, None).unwrap();
        // full convolutions' peaks per row (tail included) by direct convolution
        let peak = |r: usize| {
            let h = &irs[map[r].unwrap() as usize];
            (0..50 + h.len() - 1)
                .map(|n| {
                    (0..h.len())
                        .filter(|&k| n >= k && n - k < 50)
                        .map(|k| h[k] as f64 * x[[r, n - k]] as f64)
                        .sum::<f64>()
                        .abs()
                })
                .fold(0.0, f64::max)
        };
        for ex in 0..2 {
            let p = peak(2 * ex).max(peak(2 * ex + 1));
            for r in 2 * ex..2 * ex + 2 {
                for i in 0..50 {
                    let want = plain[[r, i]] as f64 * 0.5 / p;
                    assert!((grouped[[r, i]] as f64 - want).abs() < 1e-6);
                }
            }
        }
        let direct: Array1<f32> = (0..50)
            .map(|n| {
                (0..2)
                    .filter(|&k| n >= k)
                    .map(|k| irs[1][k] * x[[1, n - k]])
                    .sum()
            })
            .collect();
        for i in 0..50 {
            assert!((plain[[1, i]] - direct[i]).abs() < 1e-6);
        }
    }

    #[test]
    fn nan_stays_in_its_row_and_zero_length_rows() {
        let mut x = Array2::from_shape_fn((3, 40), |(r, i)| (r + i) as f32 * 0.01);
        x[[0, 5]] = f32::NAN;
        let before = x.clone();
        let irs = vec![vec![0.5, 0.25]];
        convolve_rows(x.view_mut(), &[40, 0, 40], &irs, &[Some(0); 3], Some(1)).unwrap();
        assert!(x.row(0).iter().all(|v| v.is_nan()));
        assert_eq!(x.row(1), before.row(1), "a zero-length row is untouched");
        assert!(x.row(2).iter().all(|v| v.is_finite()));
        let m = x.row(2).iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(m <= 0.5 + 1e-6 && m > 0.4, "{m}");
    }

    #[test]
    fn typed_errors() {
        let mut x = Array2::<f32>::zeros((2, 10));
        let e = |r: Result<()>| match r {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        let ok = vec![vec![1.0f32]];
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[10, 10],
                &[],
                &[None, None],
                None
            )),
            "irs"
        );
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[10, 10],
                &ok,
                &[Some(1), None],
                None
            )),
            "ir_of_row"
        );
        assert_eq!(
            e(convolve_rows(x.view_mut(), &[10, 10], &ok, &[None], None)),
            "ir_of_row"
        );
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[10, 10],
                &[vec![1.0, f32::NAN]],
                &[None, None],
                None
            )),
            "irs"
        );
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[10, 10],
                &[vec![]],
                &[None, None],
                None
            )),
            "irs"
        );
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[10, 10],
                &[vec![0.0; MAX_IR_LEN + 1]],
                &[None, None],
                None
            )),
            "irs"
        );
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[11, 10],
                &ok,
                &[None, None],
                None
            )),
            "lengths"
        );
        assert_eq!(
            e(convolve_rows(
                x.view_mut(),
                &[10, 10],
                &ok,
                &[None, None],
                Some(3)
            )),
            "normalize"
        );
    }
}
