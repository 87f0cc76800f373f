// Philox4x32-10 counter-based generator (twin of src/augment/rng.rs), uniforms and
// Box-Muller normals with the same f32 arithmetic as the CPU twin.

// High 32 bits of a * b from 16-bit halves (WGSL has no 64-bit integers).
fn mulhi32(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let lolo = a_lo * b_lo;
    let lohi = a_lo * b_hi;
    let hilo = a_hi * b_lo;
    let hihi = a_hi * b_hi;
    let cross = (lolo >> 16u) + (lohi & 0xffffu) + (hilo & 0xffffu);
    return hihi + (lohi >> 16u) + (hilo >> 16u) + (cross >> 16u);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let hi0 = mulhi32(0xD2511F53u, c.x);
        let lo0 = 0xD2511F53u * c.x;
        let hi1 = mulhi32(0xCD9E8D57u, c.z);
        let lo1 = 0xCD9E8D57u * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// (x >> 8) * 2^-24: uniform in [0, 1), exact.
fn unit_f32(x: u32) -> f32 {
    return f32(x >> 8u) * (1.0 / 16777216.0);
}

// ln(v) for v in (0, 1]: near 1 as 2 atanh((v - 1) / (v + 1)) by its series, so that small
// results keep their relative accuracy whatever the device's log (twin of rng::ln_unit).
fn ln_unit(v: f32) -> f32 {
    if (v < 0.5) {
        return log(v);
    }
    let s = (v - 1.0) / (v + 1.0);
    let s2 = s * s;
    var acc = 1.0 / 17.0;
    acc = acc * s2 + 1.0 / 15.0;
    acc = acc * s2 + 1.0 / 13.0;
    acc = acc * s2 + 1.0 / 11.0;
    acc = acc * s2 + 1.0 / 9.0;
    acc = acc * s2 + 1.0 / 7.0;
    acc = acc * s2 + 1.0 / 5.0;
    acc = acc * s2 + 1.0 / 3.0;
    acc = acc * s2 + 1.0;
    return 2.0 * s * acc;
}

// Two normals from two words (twin of rng::box_muller).
fn box_muller(w0: u32, w1: u32) -> vec2<f32> {
    let u0 = unit_f32(w0);
    let u1 = unit_f32(w1);
    let r = sqrt(-2.0 * ln_unit(1.0 - u0));
    let theta = 6.2831855 * u1 - 3.1415927;
    return vec2<f32>(r * cos(theta), r * sin(theta));
}

// Standard normal i of the per-sample stream (id, word2) under key (twin of rng::sample_normal).
fn sample_normal(key: vec2<u32>, id_lo: u32, id_hi: u32, word2: u32, i: u32) -> f32 {
    let w = philox4x32_10(vec4<u32>(id_lo, id_hi, word2, i / 4u), key);
    var pair = vec2<u32>(w.x, w.y);
    if ((i % 4u) >= 2u) {
        pair = vec2<u32>(w.z, w.w);
    }
    let n = box_muller(pair.x, pair.y);
    if ((i % 2u) == 0u) {
        return n.x;
    }
    return n.y;
}
