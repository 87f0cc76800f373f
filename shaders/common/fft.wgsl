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
