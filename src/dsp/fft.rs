//! FFT planning for the GPU kernels: the complex length, the mixed-radix stages and the
//! twiddle table (computed in f64, stored as f32).

/// One Stockham stage: radix `r`, and `ns`, the product of the radices before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stage {
    pub radix: u32,
    pub ns: u32,
}

/// The factorisation of `m` into stages: radix 4 first, then 2, 3, 5, 7 and any larger primes
/// (a prime factor p costs p complex multiply-adds per output in its stage).
pub(crate) fn stages(m: usize) -> Vec<Stage> {
    let mut radices = Vec::new();
    let mut rest = m;
    while rest % 4 == 0 {
        radices.push(4);
        rest /= 4;
    }
    let mut p = 2;
    while rest > 1 {
        while rest % p == 0 {
            radices.push(p);
            rest /= p;
        }
        p += 1;
        if p * p > rest && rest > 1 {
            radices.push(rest);
            rest = 1;
        }
    }
    let mut ns = 1;
    radices
        .into_iter()
        .map(|r| {
            let s = Stage {
                radix: r as u32,
                ns: ns as u32,
            };
            ns *= r;
            s
        })
        .collect()
}

/// `exp(-2 pi i j / n)` for `j in 0..n`, as interleaved (re, im) f32 pairs.
pub(crate) fn twiddles(n: usize) -> Vec<[f32; 2]> {
    (0..n)
        .map(|j| {
            let a = -2.0 * std::f64::consts::PI * j as f64 / n as f64;
            [a.cos() as f32, a.sin() as f32]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factorisations() {
        let r = |m| stages(m).iter().map(|s| s.radix).collect::<Vec<_>>();
        assert_eq!(r(256), vec![4, 4, 4, 4]);
        assert_eq!(r(128), vec![4, 4, 4, 2]);
        assert_eq!(r(200), vec![4, 2, 5, 5]);
        assert_eq!(r(1023), vec![3, 11, 31]);
        assert_eq!(r(1), Vec::<u32>::new());
        assert_eq!(r(7), vec![7]);
        for m in 1..2000usize {
            let st = stages(m);
            assert_eq!(st.iter().map(|s| s.radix as usize).product::<usize>(), m);
            if let Some(l) = st.last() {
                assert_eq!(l.ns as usize * l.radix as usize, m);
            }
        }
    }
}
