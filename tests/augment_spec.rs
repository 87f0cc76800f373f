//! SpecAugment masks on spectrograms: mask sizes, fills, seeding, batch independence, errors.

use ndarray::Array3;
use wavegpu::augment::SpecAugment;

fn ramp(b: usize, f: usize, t: usize) -> Array3<f32> {
    Array3::from_shape_fn((b, f, t), |(e, i, j)| {
        1.0 + e as f32 + 0.01 * i as f32 + 0.001 * j as f32
    })
}

/// (start, count) of the run of bins (axis 0) or frames (axis 1) that differ from `x`.
fn masked_run(x: &Array3<f32>, y: &Array3<f32>, e: usize, axis: usize) -> (usize, usize) {
    let (_, f, t) = x.dim();
    let n = if axis == 0 { f } else { t };
    let hit: Vec<usize> = (0..n)
        .filter(|&k| {
            if axis == 0 {
                (0..t).all(|j| x[[e, k, j]] != y[[e, k, j]])
            } else {
                (0..f).all(|i| x[[e, i, k]] != y[[e, i, k]])
            }
        })
        .collect();
    match (hit.first(), hit.last()) {
        (Some(&a), Some(&b)) => {
            assert_eq!(b - a + 1, hit.len(), "one contiguous band");
            (a, hit.len())
        }
        _ => (0, 0),
    }
}

#[test]
fn frequency_mask_sizes_follow_the_fraction_range() {
    let masks = SpecAugment::from_json(
        r#"[{"name": "frequency_mask", "min_mask_fraction": 0.1, "max_mask_fraction": 0.3, "p": 1.0, "fill_constant": -5}]"#,
    )
    .unwrap();
    let x = ramp(400, 50, 7);
    let y = masks.run(9, x.view()).unwrap();
    let mut counts = [0usize; 51];
    for e in 0..400 {
        let (start, count) = masked_run(&x, &y, e, 0);
        assert!((5..=15).contains(&count), "example {e}: {count} bins");
        assert!(start + count <= 50);
        assert!((0..7).all(|j| y[[e, start, j]] == -5.0));
        counts[count] += 1;
    }
    // randint(5, 15): 11 sizes of probability 1/11 (36.4 expected, sd 5.8; 5 sd bounds).
    for c in &counts[5..=15] {
        assert!((*c as f64 - 36.4).abs() < 29.0, "{counts:?}");
    }
}

#[test]
fn time_mask_with_mean_fill_and_seeding() {
    let masks = SpecAugment::from_json(
        r#"{"name": "compose", "transforms": [{"name": "time_mask", "min_mask_fraction": 0.2, "max_mask_fraction": 0.2, "fill_mode": "mean", "p": 1.0}]}"#,
    )
    .unwrap();
    let x = ramp(6, 8, 40);
    let y = masks
        .run_with_ids(1, &[10, 11, 12, 13, 14, 15], x.view())
        .unwrap();
    for e in 0..6 {
        let (start, count) = masked_run(&x, &y, e, 1);
        assert_eq!(count, 8);
        let band = x.slice(ndarray::s![e, .., start..start + count]);
        let mean = band.iter().map(|&v| v as f64).sum::<f64>() / band.len() as f64;
        assert!((y[[e, 3, start]] as f64 - mean).abs() < 1e-6);
    }
    assert_eq!(
        y,
        masks
            .run_with_ids(1, &[10, 11, 12, 13, 14, 15], x.view())
            .unwrap()
    );
    // Example 12 alone gets the same mask.
    let one = masks
        .run_with_ids(1, &[12], x.slice(ndarray::s![2..3, .., ..]))
        .unwrap();
    assert_eq!(
        one.slice(ndarray::s![0, .., ..]),
        y.slice(ndarray::s![2, .., ..])
    );
    assert_ne!(
        y,
        masks
            .run_with_ids(2, &[10, 11, 12, 13, 14, 15], x.view())
            .unwrap()
    );
}

#[test]
fn spectrogram_and_waveform_transforms_do_not_mix() {
    let e = SpecAugment::from_json(r#"[{"name": "gain"}]"#).unwrap_err();
    assert!(e.to_string().contains("gain"), "{e}");
    let e = wavegpu::augment::Pipeline::from_json(
        r#"[{"name": "frequency_mask"}]"#,
        &wavegpu::Device::cpu(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("spectrogram"), "{e}");
    let e = SpecAugment::from_json(r#"[{"name": "frequency_mask", "fill_mode": "median"}]"#)
        .unwrap_err();
    assert!(e.to_string().contains("fill_mode"), "{e}");
    let m = SpecAugment::from_json(r#"[{"name": "frequency_mask"}]"#).unwrap();
    assert!(m.run_with_ids(0, &[1, 2], ramp(3, 4, 5).view()).is_err());
}
