//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
//! the counter-based generator behind every random draw of an augmentation pipeline. Its
//! WGSL twin is `shaders/common/philox.wgsl`.
//!
//! A draw is a pure function of a 64-bit key (the user's seed) and a 128-bit counter; there is
//! no state. The augmentation counter layout is [`Counter`].

/// Philox multipliers and Weyl key increments (Random123, numpy, JAX, curand).
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: four 32-bit words from `counter` under `key`.
///
/// ```
/// use wavegpu::augment::rng::philox4x32_10;
/// // Random123's known-answer vector for counter 0, key 0.
/// assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
/// ```
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The upper 24 bits of `x` as a uniform f32 in [0, 1): `(x >> 8) * 2^-24`, exact and the
/// same on the CPU and in WGSL.
pub fn unit_f32(x: u32) -> f32 {
    (x >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Two words as a uniform f64 in [0, 1) with 53 random bits (host-side parameter draws).
pub fn unit_f64(hi: u32, lo: u32) -> f64 {
    let bits = (u64::from(hi) << 21) ^ (u64::from(lo) >> 11);
    (bits & ((1u64 << 53) - 1)) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// Two standard normals from two uniform words by Box-Muller, in f32 arithmetic:
/// `r = sqrt(-2 ln(1 - u0))`, `θ = 2π u1 - π`, `(r cos θ, r sin θ)`. The angle is kept in
/// [-π, π), where GPU `cos`/`sin` are specified most tightly; `1 - u0` is in (0, 1], so the
/// logarithm is finite and `r <= 5.77`.
pub fn box_muller(w0: u32, w1: u32) -> (f32, f32) {
    let u0 = unit_f32(w0);
    let u1 = unit_f32(w1);
    let r = (-2.0f32 * ln_unit(1.0f32 - u0)).sqrt();
    let theta = 6.283_185_5f32 * u1 - std::f32::consts::PI;
    (r * theta.cos(), r * theta.sin())
}

/// ln(v) for v in (0, 1]: below 0.5 the library logarithm, above it 2 atanh((v - 1) / (v + 1))
/// by its series (Horner, f32), so that results near 0 keep their relative accuracy on GPUs
/// whose `log` is only accurate to an absolute 2^-21 near 1. The WGSL twin is identical.
pub fn ln_unit(v: f32) -> f32 {
    if v < 0.5 {
        return v.ln();
    }
    let s = (v - 1.0) / (v + 1.0);
    let s2 = s * s;
    let mut acc = 1.0f32 / 17.0;
    for d in [15.0f32, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
        acc = acc * s2 + 1.0 / d;
    }
    2.0 * s * acc
}

/// Where a draw sits in the counter space: `[id low, id high, position | lane << 16, index]`.
///
/// * `id`: the example id the caller gives each example (by default its index in the batch);
/// * `position`: the node's pre-order index in the pipeline tree (the root is 0), < 2^16;
/// * `lane`: 0 for a node's per-example (and per-batch) parameter draws, `1 + c` for
///   per-channel parameter draws of channel `c`, [`Counter::SAMPLE_LANE`]` + c` for
///   per-sample randomness (noise) of channel `c`;
/// * `index`: the draw's index within the node (0 is the probability test, then the
///   parameters in order), or for per-sample randomness the sample index / 4 (one Philox
///   call gives four words, i.e. four normals for four consecutive samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// The example id.
    pub id: u64,
    /// The node's position in the pipeline tree.
    pub position: u16,
    /// The lane: parameters, per-channel parameters or per-sample streams.
    pub lane: u16,
}

impl Counter {
    /// First lane of the per-sample streams (channel `c` uses `SAMPLE_LANE + c`).
    pub const SAMPLE_LANE: u16 = 0x8000;

    /// Counter word 2: position in the low 16 bits, lane in the high 16.
    pub fn word2(&self) -> u32 {
        u32::from(self.position) | (u32::from(self.lane) << 16)
    }

    /// The four words of draw `index` under `seed`.
    pub fn words(&self, seed: u64, index: u32) -> [u32; 4] {
        philox4x32_10(
            [self.id as u32, (self.id >> 32) as u32, self.word2(), index],
            seed_key(seed),
        )
    }

    /// Draw `index` as a uniform f64 in [0, 1).
    pub fn uniform(&self, seed: u64, index: u32) -> f64 {
        let w = self.words(seed, index);
        unit_f64(w[0], w[1])
    }
}

/// The Philox key of a seed: its low and high words.
pub fn seed_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Standard normal number `i` of a per-sample stream (`word2` as [`Counter::word2`] of a
/// sample lane): sample `i` takes word pair `(i % 4) / 2` of Philox call `i / 4`, and the
/// cosine (even `i`) or sine (odd `i`) branch of Box-Muller.
pub fn sample_normal(seed: u64, id: u64, word2: u32, i: u32) -> f32 {
    let w = philox4x32_10([id as u32, (id >> 32) as u32, word2, i / 4], seed_key(seed));
    let pair = ((i % 4) / 2) as usize;
    let (a, b) = box_muller(w[2 * pair], w[2 * pair + 1]);
    if i % 2 == 0 {
        a
    } else {
        b
    }
}

/// Normals `0..n` of a per-sample stream, in order, as [`sample_normal`] gives them one by
/// one (the same bits), with one Philox call per four samples.
///
/// Generated 256 at a time in structure-of-arrays form so that the compiler vectorises the
/// Philox rounds, the logarithm's series and the square roots; only the library logarithm
/// (for `1 - u0 < 0.5`) and the sine and cosine stay scalar.
pub fn sample_normals(seed: u64, id: u64, word2: u32, n: usize, mut f: impl FnMut(usize, f32)) {
    const B: usize = 64; // Philox blocks per batch
    let key = seed_key(seed);
    let blocks = n.div_ceil(4);
    let mut c = [[0u32; B]; 4];
    let mut v = [0.0f32; 2 * B];
    let mut theta = [0.0f32; 2 * B];
    let mut start = 0;
    while start < blocks {
        let m = (blocks - start).min(B);
        philox_lanes(id, word2, start as u32, key, &mut c);
        for j in 0..m {
            for p in 0..2 {
                v[2 * j + p] = 1.0 - unit_f32(c[2 * p][j]);
                theta[2 * j + p] =
                    6.283_185_5f32 * unit_f32(c[2 * p + 1][j]) - std::f32::consts::PI;
            }
        }
        let v = &mut v[..2 * m];
        ln_unit_in_place(v);
        for x in v.iter_mut() {
            *x = (-2.0f32 * *x).sqrt();
        }
        for (k, (&r, &t)) in v.iter().zip(&theta).enumerate() {
            let i = 4 * start + 2 * k;
            if i < n {
                f(i, r * t.cos());
            }
            if i + 1 < n {
                f(i + 1, r * t.sin());
            }
        }
        start += m;
    }
}

/// [`philox4x32_10`] of counters `[id lo, id hi, word2, first + j]` for the `B` lanes `j`,
/// output word `w` of lane `j` in `out[w][j]`: the rounds over all lanes at once.
fn philox_lanes<const B: usize>(
    id: u64,
    word2: u32,
    first: u32,
    key: [u32; 2],
    out: &mut [[u32; B]; 4],
) {
    let [c0, c1, c2, c3] = out;
    for j in 0..B {
        c0[j] = id as u32;
        c1[j] = (id >> 32) as u32;
        c2[j] = word2;
        c3[j] = first.wrapping_add(j as u32);
    }
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        for j in 0..B {
            let p0 = u64::from(M0) * u64::from(c0[j]);
            let p1 = u64::from(M1) * u64::from(c2[j]);
            let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
            let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
            let n0 = hi1 ^ c1[j] ^ k[0];
            let n2 = hi0 ^ c3[j] ^ k[1];
            c0[j] = n0;
            c1[j] = lo1;
            c2[j] = n2;
            c3[j] = lo0;
        }
    }
}

/// [`ln_unit`] of every value of `v` (at most 128) in place: the series for all
/// (vectorised), then the library logarithm where the value was below 0.5. The same bits as
/// `ln_unit` one by one.
fn ln_unit_in_place(v: &mut [f32]) {
    let mut keep = [0.0f32; 128];
    let keep = &mut keep[..v.len()];
    keep.copy_from_slice(v);
    for x in v.iter_mut() {
        let s = (*x - 1.0) / (*x + 1.0);
        let s2 = s * s;
        let mut acc = 1.0f32 / 17.0;
        for d in [15.0f32, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
            acc = acc * s2 + 1.0 / d;
        }
        *x = 2.0 * s * acc;
    }
    for (x, &k) in v.iter_mut().zip(keep.iter()) {
        if k < 0.5 {
            *x = k.ln();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_known_answers() {
        // Random123 kat_vectors, philox4x32_10.
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn uniforms_are_in_range() {
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f32(u32::MAX) < 1.0);
        assert_eq!(unit_f64(0, 0), 0.0);
        assert!(unit_f64(u32::MAX, u32::MAX) < 1.0);
        let (a, b) = box_muller(u32::MAX, 0);
        assert!(a.is_finite() && b.is_finite() && a.abs() < 5.8);
    }

    #[test]
    fn blocked_normals_equal_single_ones() {
        // Lengths around the 256-normal batches and the 4-normal Philox blocks.
        for n in [0usize, 1, 3, 11, 255, 256, 257, 1000, 5003] {
            let mut v = Vec::new();
            sample_normals(5, 1 << 40, 0x8001_0002, n, |i, z| v.push((i, z)));
            assert_eq!(v.len(), n);
            for (k, (i, z)) in v.into_iter().enumerate() {
                assert_eq!(i, k, "in order");
                assert_eq!(
                    z.to_bits(),
                    sample_normal(5, 1 << 40, 0x8001_0002, i as u32).to_bits(),
                    "n {n}, normal {i}"
                );
            }
        }
    }

    #[test]
    fn ln_unit_matches_ln() {
        for k in 1..=4096u32 {
            let v = k as f32 / 4096.0;
            let (a, b) = (ln_unit(v) as f64, (v as f64).ln());
            assert!(
                (a - b).abs() <= 2e-7 * b.abs().max(1e-30) + 1e-12,
                "{v}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn normals_have_unit_moments() {
        // 40_000 draws: the sample mean has sd 0.005, the variance sd ~0.007; bounds at
        // 6 sd fail with probability < 1e-8.
        let n = 40_000u32;
        let xs: Vec<f64> = (0..n)
            .map(|i| sample_normal(7, 3, 0x8000_0001, i) as f64)
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.045, "var {var}");
    }
}
