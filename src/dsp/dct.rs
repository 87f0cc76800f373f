//! DCT-II with orthonormal scaling (`scipy.fftpack.dct(type=2, norm="ortho")`), as a matrix.

/// The first `n_out` rows of the `n`-point orthonormal DCT-II, `(n_out, n)` row-major, f64.
pub fn dct2_ortho(n_out: usize, n: usize) -> Vec<f64> {
    let mut m = vec![0.0; n_out * n];
    for k in 0..n_out {
        let scale = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for i in 0..n {
            m[k * n + i] = scale
                * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64).cos();
        }
    }
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn orthonormal() {
        let n = 13;
        let m = super::dct2_ortho(n, n);
        for a in 0..n {
            for b in 0..n {
                let dot: f64 = (0..n).map(|i| m[a * n + i] * m[b * n + i]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12);
            }
        }
    }
}
