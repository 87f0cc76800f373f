// A radix-2 FFT of N = 2^LOG_N points in workgroup memory, WG threads per workgroup
// (shaders/conv.wgsl, shaders/stretch.wgsl). The including kernel declares the constants N,
// LOG_N and WG, `var<workgroup> buf: array<vec2<f32>, N>` and `fn twiddle(k) -> vec2<f32>`
// (exp(-2 pi i k / N), k < N / 2).

// The LOG_N-bit reversal of i (by swaps: reverseBits does not translate to every backend).
fn rev(i: u32) -> u32 {
    var v = i;
    v = ((v >> 1u) & 0x55555555u) | ((v & 0x55555555u) << 1u);
    v = ((v >> 2u) & 0x33333333u) | ((v & 0x33333333u) << 2u);
    v = ((v >> 4u) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4u);
    v = ((v >> 8u) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8u);
    v = (v >> 16u) | (v << 16u);
    return v >> (32u - LOG_N);
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// In-place radix-2 decimation-in-time FFT of `buf` (input in bit-reversed order, output in
// natural order); `inverse` conjugates the twiddles (no 1/N: the bank carries it).
fn fft(tid: u32, inverse: bool) {
    for (var s = 0u; s < LOG_N; s++) {
        let half = 1u << s;
        for (var q = 0u; q < N / (2u * WG); q++) {
            let b = tid + q * WG;
            let pos = b & (half - 1u);
            let i = ((b >> s) << (s + 1u)) + pos;
            let j = i + half;
            var w = twiddle(pos << (LOG_N - 1u - s));
            if inverse {
                w.y = -w.y;
            }
            let u = buf[i];
            let t = cmul(w, buf[j]);
            buf[i] = u + t;
            buf[j] = u - t;
        }
        workgroupBarrier();
    }
}
