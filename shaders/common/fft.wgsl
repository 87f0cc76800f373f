// Shared FFT core: a mixed-radix Stockham FFT over `fft_buf` in workgroup memory.
//
// Requires, from the including kernel:
//   const WG: u32                         workgroup size (threads)
//   const PER_THREAD: u32                 register slots per thread (>= m / WG)
//   override MAX_M: u32                   capacity of fft_buf
//   twiddles: array<vec2<f32>>            exp(-2 pi i j / T), j < T, with T a multiple of m
//   stages: array<vec2<u32>>              (radix, ns) per stage, product of radices = m
//
// Stage (R, Ns) maps x to y with, for output o = b * Ns * R + u * Ns + k (k < Ns, u < R):
//   y[o] = sum_q x[b * Ns + k + q * m / R] * W_(Ns R)^(q (k + u Ns))
// Each thread computes its outputs into registers, then all write back: one buffer.

var<workgroup> fft_buf: array<vec2<f32>, MAX_M>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn conj(a: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x, -a.y);
}

// Forward FFT of length m over fft_buf; `tw_step` = T / m.
fn fft_stockham(tid: u32, m: u32, n_stages: u32, tw_step: u32) {
    for (var s = 0u; s < n_stages; s = s + 1u) {
        let st = stages[s];
        let r = st.x;
        let ns = st.y;
        let span = ns * r;
        let stride = m / r;
        let tw_unit = (m / span) * tw_step;
        var regs: array<vec2<f32>, PER_THREAD>;
        var c = 0u;
        for (var o = tid; o < m; o = o + WG) {
            let b = o / span;
            let rem = o - b * span;
            let u = rem / ns;
            let k = rem - u * ns;
            let base = b * ns + k;
            let step = k + u * ns;
            var acc = fft_buf[base];
            var e = 0u;
            for (var q = 1u; q < r; q = q + 1u) {
                e = e + step;
                if (e >= span) {
                    e = e - span;
                }
                acc = acc + cmul(fft_buf[base + q * stride], twiddles[e * tw_unit]);
            }
            regs[c] = acc;
            c = c + 1u;
        }
        workgroupBarrier();
        c = 0u;
        for (var o = tid; o < m; o = o + WG) {
            fft_buf[o] = regs[c];
            c = c + 1u;
        }
        workgroupBarrier();
    }
}
