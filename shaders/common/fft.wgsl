// Shared FFT core: one output of a mixed-radix Stockham stage, and complex helpers.
//
// Requires, from the including kernel:
//   twiddles: array<vec2<f32>>   exp(-2 pi i j / T), j < T, with T a multiple of m
//   stages: array<vec2<u32>>     (radix, ns) per stage, product of radices = m
// and, from a memory snippet (fft_workgroup.wgsl or fft_global.wgsl):
//   fft_ld(i) / fft_st(i, v)     the m-point working array
//   fft_sync()                   a barrier over that memory
//   fft_stockham(...)            the stage loop
//
// Stage (R, Ns) maps x to y with, for output o = b * Ns * R + u * Ns + k (k < Ns, u < R):
//   y[o] = sum_q x[b * Ns + k + q * m / R] * W_(Ns R)^(q (k + u Ns))
// The R outputs u of one (b, k) share their inputs: with x'_q = x[j + q * m / R] W_(Ns R)^(q k)
// (j = b * Ns + k), y[o] = sum_q x'_q W_R^(q u), an R-point DFT. fft_output computes one output
// from R inputs (any R); fft_butterfly computes all R outputs of one j from R inputs (R = 2, 4).

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn conj(a: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x, -a.y);
}

// Output `o` of stage (r, ns) of an m-point FFT; `tw_step` = T / m.
fn fft_output(o: u32, m: u32, r: u32, ns: u32, tw_step: u32) -> vec2<f32> {
    let span = ns * r;
    let stride = m / r;
    let tw_unit = (m / span) * tw_step;
    let b = o / span;
    let rem = o - b * span;
    let u = rem / ns;
    let k = rem - u * ns;
    let base = b * ns + k;
    let step = k + u * ns;
    var acc = fft_ld(base);
    var e = 0u;
    for (var q = 1u; q < r; q = q + 1u) {
        e = e + step;
        if (e >= span) {
            e = e - span;
        }
        acc = acc + cmul(fft_ld(base + q * stride), twiddles[e * tw_unit]);
    }
    return acc;
}

// The outputs u = 0..r of one radix-2 or radix-4 butterfly (y2, y3 unused for r = 2).
struct Butterfly {
    y0: vec2<f32>,
    y1: vec2<f32>,
    y2: vec2<f32>,
    y3: vec2<f32>,
}

// The R = 2 or 4 outputs of butterfly j (0 <= j < m / R) of stage (r, ns), in order of u:
// outputs b * ns * r + u * ns + k for u < r (k = j % ns, b = j / ns).
fn fft_butterfly(j: u32, m: u32, r: u32, ns: u32, tw_step: u32) -> Butterfly {
    let stride = m / r;
    let tw_unit = (m / (ns * r)) * tw_step;
    let k = j % ns;
    var y: Butterfly;
    let x0 = fft_ld(j);
    var x1 = fft_ld(j + stride);
    if (r == 2u) {
        if (k != 0u) {
            x1 = cmul(x1, twiddles[k * tw_unit]);
        }
        y.y0 = x0 + x1;
        y.y1 = x0 - x1;
        return y;
    }
    var x2 = fft_ld(j + 2u * stride);
    var x3 = fft_ld(j + 3u * stride);
    if (k != 0u) {
        x1 = cmul(x1, twiddles[k * tw_unit]);
        x2 = cmul(x2, twiddles[2u * k * tw_unit]);
        x3 = cmul(x3, twiddles[3u * k * tw_unit]);
    }
    // 4-point DFT, W_4 = -i.
    let a0 = x0 + x2;
    let a1 = x0 - x2;
    let a2 = x1 + x3;
    let d = x1 - x3;
    let a3 = vec2<f32>(d.y, -d.x); // -i * (x1 - x3)
    y.y0 = a0 + a2;
    y.y1 = a1 + a3;
    y.y2 = a0 - a2;
    y.y3 = a1 - a3;
    return y;
}
