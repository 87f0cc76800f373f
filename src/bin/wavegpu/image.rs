//! Spectrogram images: dB scaling, the viridis colormap and PNG encoding.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use ndarray::ArrayView3;

/// Dynamic range shown, in dB below the loudest bin (librosa's `top_db`).
pub const TOP_DB: f32 = 80.0;

/// The quietest level, in dB: librosa's `amin` (1e-5 in magnitude, 1e-10 in power).
const AMIN_DB: f32 = -100.0;

/// matplotlib's viridis, sampled at 33 evenly spaced points of its 256-entry table (sRGB,
/// 8 bits). Piecewise-linear interpolation between them stays within 2/255 of the full table.
const VIRIDIS: [[u8; 3]; 33] = [
    [68, 1, 84],
    [71, 13, 96],
    [72, 24, 106],
    [72, 35, 116],
    [71, 45, 123],
    [69, 55, 129],
    [66, 64, 134],
    [62, 73, 137],
    [59, 82, 139],
    [55, 91, 141],
    [51, 99, 141],
    [47, 107, 142],
    [44, 114, 142],
    [41, 122, 142],
    [38, 130, 142],
    [35, 137, 142],
    [33, 145, 140],
    [31, 151, 139],
    [31, 159, 136],
    [33, 166, 133],
    [39, 173, 129],
    [49, 181, 123],
    [61, 188, 116],
    [76, 194, 108],
    [92, 200, 99],
    [110, 206, 88],
    [129, 211, 77],
    [149, 216, 64],
    [170, 220, 50],
    [192, 223, 37],
    [213, 226, 26],
    [234, 229, 26],
    [253, 231, 37],
];

/// The viridis colour at `t` in [0, 1] (clamped).
pub fn viridis(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (VIRIDIS.len() - 1) as f32;
    let i = (x as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |k: usize| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * f).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// Level in dB of a bin holding `|X|^power`: `(20 / power) * log10(v)`, i.e. 20 log10 of the
/// magnitude (10 log10 for power 2), floored at -100 dB.
fn to_db(v: f32, power: f32) -> f32 {
    if v > 0.0 {
        ((20.0 / power) * v.log10()).max(AMIN_DB)
    } else {
        AMIN_DB
    }
}

/// How values map onto the colormap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Values are `|X|^power` (a spectrogram, a mel spectrogram): drawn in dB, `[max - 80 dB,
    /// max]` (max over the whole array) onto viridis.
    PowerDb { power: f32 },
    /// Values are drawn as they are, `[min, max]` (finite values, whole array) onto viridis,
    /// as `librosa.display.specshow` sets its colour limits: for dB spectrograms and MFCCs.
    Linear,
    /// Values are drawn linearly from 0 to `max` onto viridis, or to the largest finite value
    /// of the whole array when `max` is None: for chromagrams (0..1 when each frame is
    /// normalised by its maximum).
    FromZero { max: Option<f32> },
}

/// Renders `(channels, rows, frames)` values as an RGB image: width = frames, height =
/// channels * rows, channel 0 on top, row 0 (the lowest frequency, band or coefficient) at the
/// bottom of each channel's strip.
///
/// Returns `(width, height, rgb bytes)`.
pub fn render(values: ArrayView3<'_, f32>, scale: Scale) -> Result<(u32, u32, Vec<u8>), String> {
    let (channels, freq, frames) = values.dim();
    let height = channels
        .checked_mul(freq)
        .filter(|&h| h > 0 && h <= i32::MAX as usize)
        .ok_or_else(|| format!("cannot make an image {channels} x {freq} rows high"))?;
    if frames == 0 || frames > i32::MAX as usize {
        return Err(format!("cannot make an image {frames} frames wide"));
    }
    let bytes = height
        .checked_mul(frames)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| format!("an image of {frames} x {height} pixels is too large"))?;

    // level(v) in [0, 1]; a flat array (silence) is drawn in the darkest colour.
    let level: Box<dyn Fn(f32) -> f32> = match scale {
        Scale::PowerDb { power } => {
            let max_db = values
                .iter()
                .map(|&v| to_db(v, power))
                .fold(AMIN_DB, f32::max);
            let lo = max_db - TOP_DB;
            if max_db <= AMIN_DB {
                Box::new(|_| 0.0)
            } else {
                Box::new(move |v| (to_db(v, power) - lo) / TOP_DB)
            }
        }
        Scale::Linear => {
            let (lo, hi) = values
                .iter()
                .filter(|v| v.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            let span = hi - lo;
            if span.is_finite() && span > 0.0 {
                Box::new(move |v| (v - lo) / span)
            } else {
                Box::new(|_| 0.0)
            }
        }
        Scale::FromZero { max } => {
            let hi = max.unwrap_or_else(|| {
                values
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold(0.0f32, |m, &v| m.max(v))
            });
            if hi.is_finite() && hi > 0.0 {
                Box::new(move |v| v / hi)
            } else {
                Box::new(|_| 0.0)
            }
        }
    };

    let mut rgb = vec![0u8; bytes];
    for c in 0..channels {
        for r in 0..freq {
            let bin = freq - 1 - r;
            let y = c * freq + r;
            let row = &mut rgb[y * frames * 3..(y + 1) * frames * 3];
            for (t, px) in row.chunks_exact_mut(3).enumerate() {
                px.copy_from_slice(&viridis(level(values[[c, bin, t]])));
            }
        }
    }
    Ok((frames as u32, height as u32, rgb))
}

/// Writes [`render`]'s image to `path` as an 8-bit RGB PNG.
pub fn write_png(path: &Path, values: ArrayView3<'_, f32>, scale: Scale) -> Result<(), String> {
    let (width, height, rgb) = render(values, scale)?;
    let file = File::create(path).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn colormap_ends() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(-3.0), [68, 1, 84]);
        assert_eq!(viridis(f32::NAN), [68, 1, 84]);
        assert_eq!(viridis(0.5), VIRIDIS[16]);
    }

    #[test]
    fn layout_low_frequencies_at_bottom() {
        // 2 channels, 3 bins, 2 frames; only bin 0 of channel 1 is loud.
        let mut v = Array3::<f32>::zeros((2, 3, 2));
        v[[1, 0, 1]] = 1.0;
        let (w, h, rgb) = render(v.view(), Scale::PowerDb { power: 1.0 }).unwrap();
        assert_eq!((w, h), (2, 6));
        let px = |x: usize, y: usize| {
            [
                rgb[(y * 2 + x) * 3],
                rgb[(y * 2 + x) * 3 + 1],
                rgb[(y * 2 + x) * 3 + 2],
            ]
        };
        assert_eq!(px(1, 5), [253, 231, 37]);
        assert_eq!(px(0, 5), [68, 1, 84]);
        assert_eq!(px(1, 2), [68, 1, 84]);
    }

    #[test]
    fn silence_is_dark() {
        let v = Array3::<f32>::zeros((1, 4, 4));
        let (_, _, rgb) = render(v.view(), Scale::PowerDb { power: 2.0 }).unwrap();
        assert!(rgb.chunks(3).all(|p| p == [68, 1, 84]));
    }

    #[test]
    fn linear_spans_min_to_max() {
        // MFCC-like values: negative and positive, one NaN (drawn dark), low row at the bottom.
        let mut v = Array3::<f32>::zeros((1, 2, 3));
        v[[0, 0, 0]] = -300.0;
        v[[0, 0, 1]] = 50.0;
        v[[0, 1, 2]] = f32::NAN;
        let (w, h, rgb) = render(v.view(), Scale::Linear).unwrap();
        assert_eq!((w, h), (3, 2));
        let px = |x: usize, y: usize| {
            let i = (y * 3 + x) * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        assert_eq!(px(0, 1), [68, 1, 84]);
        assert_eq!(px(1, 1), [253, 231, 37]);
        assert_eq!(px(2, 0), [68, 1, 84]);
        assert_eq!(px(0, 0), viridis(300.0 / 350.0));
        // A constant array is flat and dark.
        let (_, _, rgb) = render(
            Array3::<f32>::from_elem((1, 2, 2), -7.0).view(),
            Scale::Linear,
        )
        .unwrap();
        assert!(rgb.chunks(3).all(|p| p == [68, 1, 84]));
    }

    #[test]
    fn from_zero_is_linear_from_zero() {
        let mut v = Array3::<f32>::zeros((1, 2, 2));
        v[[0, 0, 0]] = 1.0;
        v[[0, 0, 1]] = 0.5;
        v[[0, 1, 1]] = 0.25;
        let px = |rgb: &[u8], x: usize, y: usize| {
            let i = (y * 2 + x) * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        // Fixed 0..1: row 0 (C) at the bottom.
        let (_, _, rgb) = render(v.view(), Scale::FromZero { max: Some(1.0) }).unwrap();
        assert_eq!(px(&rgb, 0, 1), [253, 231, 37]);
        assert_eq!(px(&rgb, 1, 1), viridis(0.5));
        assert_eq!(px(&rgb, 1, 0), viridis(0.25));
        assert_eq!(px(&rgb, 0, 0), [68, 1, 84]);
        // To the array's maximum.
        let (_, _, rgb) = render((&v * 4.0).view(), Scale::FromZero { max: None }).unwrap();
        assert_eq!(px(&rgb, 0, 1), [253, 231, 37]);
        assert_eq!(px(&rgb, 1, 1), viridis(0.5));
        // Silence is dark.
        let z = Array3::<f32>::zeros((1, 2, 2));
        let (_, _, rgb) = render(z.view(), Scale::FromZero { max: None }).unwrap();
        assert!(rgb.chunks(3).all(|p| p == [68, 1, 84]));
    }

    #[test]
    fn power_two_is_ten_log10() {
        assert!((to_db(100.0, 2.0) - 20.0).abs() < 1e-5);
        assert!((to_db(100.0, 1.0) - 40.0).abs() < 1e-5);
        assert_eq!(to_db(0.0, 1.0), -100.0);
    }
}
