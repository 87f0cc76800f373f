//! CPU IIR filtering (sosfilt, sosfiltfilt) and centred FIR filtering: the reference and
//! twin of the GPU kernels.
//!
//! scipy's arithmetic: transposed direct form II per section, state and intermediate values in
//! `f64` (scipy computes in float64 for float64 sections), the output rounded to `f32` once.

#[cfg(test)]
use ndarray::ArrayViewMut2;
#[cfg(test)]
use rayon::prelude::*;

use crate::dsp::iir::{check_sos, check_taps, filtfilt_padlen, sosfilt_zi, IirMode, Section};
use crate::error::{Error, Result};

/// Runs the cascade over `x` in place from the states `z` (one `[z0, z1]` per section), leaving
/// the final states in `z`. scipy's `_sosfilt` loop.
pub(crate) fn run(sos: &[Section], x: &mut [f64], z: &mut [[f64; 2]]) {
    for v in x.iter_mut() {
        let mut c = *v;
        for (s, st) in sos.iter().zip(z.iter_mut()) {
            let y = s[0] * c + st[0];
            st[0] = s[1] * c - s[4] * y + st[1];
            st[1] = s[2] * c - s[5] * y;
            c = y;
        }
        *v = c;
    }
}

fn scaled(zi: &[[f64; 2]], by: f64) -> Vec<[f64; 2]> {
    zi.iter().map(|z| [z[0] * by, z[1] * by]).collect()
}

/// Filters one signal in place (`sos` already checked). The error is the reason a
/// zero-phase signal is too short.
pub(crate) fn filter_row(sos: &[Section], x: &mut [f32], mode: IirMode) -> Result<(), String> {
    let n = x.len();
    if n == 0 {
        return Ok(());
    }
    match mode {
        IirMode::Zero | IirMode::Steady => {
            let mut y: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let mut z = match mode {
                IirMode::Zero => vec![[0.0; 2]; sos.len()],
                _ => scaled(&sosfilt_zi(sos), y[0]),
            };
            run(sos, &mut y, &mut z);
            for (o, v) in x.iter_mut().zip(&y) {
                *o = *v as f32;
            }
        }
        IirMode::ZeroPhase => {
            let edge = filtfilt_padlen(sos);
            if n <= edge {
                return Err(format!(
                    "zero-phase filtering needs more than padlen = {edge} samples (3 x the taps of {} sections, as scipy.signal.sosfiltfilt), got {n}",
                    sos.len()
                ));
            }
            let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            // scipy's odd_ext: 2 x[0] - x[edge..0], x, 2 x[n-1] - x[n-2 .. n-2-edge].
            let mut ext = Vec::with_capacity(n + 2 * edge);
            ext.extend((0..edge).map(|i| 2.0 * xs[0] - xs[edge - i]));
            ext.extend_from_slice(&xs);
            ext.extend((0..edge).map(|j| 2.0 * xs[n - 1] - xs[n - 2 - j]));
            let zi = sosfilt_zi(sos);
            let mut z = scaled(&zi, ext[0]);
            run(sos, &mut ext, &mut z);
            ext.reverse();
            let mut z = scaled(&zi, ext[0]);
            run(sos, &mut ext, &mut z);
            ext.reverse();
            for (o, v) in x.iter_mut().zip(&ext[edge..edge + n]) {
                *o = *v as f32;
            }
        }
    }
    Ok(())
}

/// Checks the batch arguments shared by the CPU and GPU kernels: `lengths` has one entry per
/// row, each at most the row stride; `sos` holds one valid section list per row, or one for
/// every row.
pub(crate) fn check_batch(
    rows: usize,
    stride: usize,
    lengths: &[usize],
    sos: &[Vec<Section>],
) -> Result<()> {
    check_lengths(rows, stride, lengths)?;
    if sos.len() != rows && sos.len() != 1 {
        return Err(Error::param(
            "sos",
            format!(
                "one section list per row, or one for all: {} lists for {rows} rows",
                sos.len()
            ),
        ));
    }
    for s in sos {
        check_sos(s)?;
    }
    Ok(())
}

/// One length per row, each at most the stride.
pub(crate) fn check_lengths(rows: usize, stride: usize, lengths: &[usize]) -> Result<()> {
    if lengths.len() != rows {
        return Err(Error::param(
            "lengths",
            format!(
                "one length per row: {} lengths for {rows} rows",
                lengths.len()
            ),
        ));
    }
    if let Some((r, &l)) = lengths.iter().enumerate().find(|(_, &l)| l > stride) {
        return Err(Error::param(
            "lengths",
            format!("row {r} has length {l}, longer than the row stride {stride}"),
        ));
    }
    Ok(())
}

/// The section list of row `r` (one list per row, or one shared).
#[cfg(test)]
pub(crate) fn row_sos(sos: &[Vec<Section>], r: usize) -> &[Section] {
    if sos.len() == 1 {
        &sos[0]
    } else {
        &sos[r]
    }
}

#[cfg(test)] // the batch twin of GpuIir::filter, for the tests (pipelines filter row by row)
/// Filters each row `r` of `data` over its first `lengths[r]` samples with its own section
/// list `sos[r]` (or `sos[0]` for all), in place; samples past a row's length are untouched.
/// Rows are independent: a NaN in one row stays in that row.
pub(crate) fn sosfilt_rows(
    mut data: ArrayViewMut2<f32>,
    lengths: &[usize],
    sos: &[Vec<Section>],
    mode: IirMode,
) -> Result<()> {
    let (rows, stride) = data.dim();
    check_batch(rows, stride, lengths, sos)?;
    if mode == IirMode::ZeroPhase {
        for (r, &l) in lengths.iter().enumerate() {
            let edge = filtfilt_padlen(row_sos(sos, r));
            if l > 0 && l <= edge {
                return Err(Error::audio(
                    format!("batch row {r}"),
                    format!("zero-phase filtering needs more than padlen = {edge} samples (as scipy.signal.sosfiltfilt), got {l}"),
                ));
            }
        }
    }
    data.outer_iter_mut()
        .into_par_iter()
        .enumerate()
        .try_for_each(|(r, mut row)| {
            let l = lengths[r];
            let s = row_sos(sos, r);
            match row.as_slice_mut() {
                Some(x) => filter_row(s, &mut x[..l], mode),
                None => {
                    let mut x: Vec<f32> = row.iter().take(l).copied().collect();
                    filter_row(s, &mut x, mode).map(|()| {
                        for (o, v) in row.iter_mut().zip(x) {
                            *o = v;
                        }
                    })
                }
            }
            .map_err(|reason| Error::audio(format!("batch row {r}"), reason))
        })
}

/// [`sosfilt_rows`] in zero-phase mode: scipy's `sosfiltfilt` per row.
#[cfg(test)] // the twin of GpuIir::filter in ZeroPhase mode, for the tests
pub(crate) fn sosfiltfilt_rows(
    data: ArrayViewMut2<f32>,
    lengths: &[usize],
    sos: &[Vec<Section>],
) -> Result<()> {
    sosfilt_rows(data, lengths, sos, IirMode::ZeroPhase)
}

/// One signal through odd-length FIR taps, centred (`np.convolve(x, h, 'same')`), in place.
pub(crate) fn fir_row(taps: &[f64], x: &mut [f32]) {
    let n = x.len();
    let c = taps.len() / 2;
    let src: Vec<f32> = x.to_vec();
    for (i, o) in x.iter_mut().enumerate() {
        // y[i] = sum_k h[k] x[i + c - k] over 0 <= i + c - k < n
        let k0 = (i + c + 1).saturating_sub(n);
        let k1 = (i + c).min(taps.len() - 1);
        let mut acc = 0.0f64;
        for k in k0..=k1 {
            acc += taps[k] * src[i + c - k] as f64;
        }
        *o = acc as f32;
    }
}

#[cfg(test)] // the twin of GpuIir::fir, for the tests
/// Filters each row `r` over its first `lengths[r]` samples with FIR taps `taps[r]` (or
/// `taps[0]` for all rows), centred, in place; samples past a row's length untouched.
pub(crate) fn fir_rows(
    mut data: ArrayViewMut2<f32>,
    lengths: &[usize],
    taps: &[Vec<f64>],
) -> Result<()> {
    let (rows, stride) = data.dim();
    check_lengths(rows, stride, lengths)?;
    check_taps_rows(rows, taps)?;
    data.outer_iter_mut()
        .into_par_iter()
        .enumerate()
        .for_each(|(r, mut row)| {
            let l = lengths[r];
            let h = if taps.len() == 1 { &taps[0] } else { &taps[r] };
            let mut x: Vec<f32> = row.iter().take(l).copied().collect();
            fir_row(h, &mut x);
            for (o, v) in row.iter_mut().zip(x) {
                *o = v;
            }
        });
    Ok(())
}

/// One tap list per row or one for all, each valid.
pub(crate) fn check_taps_rows(rows: usize, taps: &[Vec<f64>]) -> Result<()> {
    if taps.len() != rows && taps.len() != 1 {
        return Err(Error::param(
            "taps",
            format!(
                "one tap list per row, or one for all: {} lists for {rows} rows",
                taps.len()
            ),
        ));
    }
    taps.iter().try_for_each(|t| check_taps(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::iir::{butter, sosfilt, Band};
    use ndarray::Array2;

    fn rows(n: usize, stride: usize) -> Array2<f32> {
        Array2::from_shape_fn((n, stride), |(r, i)| {
            ((i * 7 + r * 13) % 17) as f32 / 8.0 - 1.0
        })
    }

    #[test]
    fn batch_rows_equal_single_signals_and_keep_their_tails() {
        let sos = vec![
            butter(4, Band::Lowpass(1000.0), 16_000.0).unwrap(),
            butter(2, Band::Bandstop(300.0, 900.0), 16_000.0).unwrap(),
            butter(3, Band::Highpass(50.0), 16_000.0).unwrap(),
        ];
        let lengths = [500, 0, 377];
        for mode in [IirMode::Zero, IirMode::Steady, IirMode::ZeroPhase] {
            let x = rows(3, 500);
            let mut y = x.clone();
            sosfilt_rows(y.view_mut(), &lengths, &sos, mode).unwrap();
            for r in 0..3 {
                let l = lengths[r];
                let one = sosfilt(&sos[r], &x.row(r).to_vec()[..l], mode).unwrap();
                assert_eq!(&y.row(r).to_vec()[..l], &one[..], "row {r} {mode:?}");
                assert_eq!(
                    y.row(r).to_vec()[l..],
                    x.row(r).to_vec()[l..],
                    "tail of row {r}"
                );
            }
            // One list for all rows == the same list repeated.
            let mut a = x.clone();
            sosfilt_rows(a.view_mut(), &lengths, &sos[..1], mode).unwrap();
            let mut b = x.clone();
            let same = vec![sos[0].clone(); 3];
            sosfilt_rows(b.view_mut(), &lengths, &same, mode).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn batch_errors_name_the_argument_or_row() {
        let sos = vec![butter(4, Band::Lowpass(1000.0), 16_000.0).unwrap()];
        let mut x = rows(2, 100);
        let e = sosfilt_rows(x.view_mut(), &[100], &sos, IirMode::Zero).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "lengths",
                    ..
                }
            ),
            "{e}"
        );
        let e = sosfilt_rows(x.view_mut(), &[100, 101], &sos, IirMode::Zero).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameter {
                    name: "lengths",
                    ..
                }
            ),
            "{e}"
        );
        let three = vec![sos[0].clone(); 3];
        let e = sosfilt_rows(x.view_mut(), &[100, 100], &three, IirMode::Zero).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: "sos", .. }),
            "{e}"
        );
        let before = x.clone();
        let e = sosfiltfilt_rows(x.view_mut(), &[100, 15], &sos).unwrap_err();
        match e {
            Error::InvalidAudio { input, .. } => assert_eq!(input, "batch row 1"),
            e => panic!("{e}"),
        }
        assert_eq!(x, before, "nothing filtered when a row is refused");
    }
}
