// FFT working memory in a storage buffer (for n_fft too large for workgroup memory): each
// workgroup owns 2 m complex values of `fft_scratch` at slot * 2 m and ping-pongs between them.
// Bound at binding 7 of the kernel's group 0.

override MAX_M: u32 = 1u; // unused here; every variant takes the same pipeline constants
override FFT_SWIZZLE: u32 = 0u; // unused here too

@group(0) @binding(7) var<storage, read_write> fft_scratch: array<vec2<f32>>;

var<private> fft_base: u32;
var<private> fft_m: u32;
var<private> fft_cur: u32;

fn fft_begin(slot: u32, m: u32) {
    fft_m = m;
    fft_base = slot * 2u * m;
    fft_cur = 0u;
}

fn fft_ld(i: u32) -> vec2<f32> {
    return fft_scratch[fft_base + fft_cur * fft_m + i];
}

fn fft_st(i: u32, v: vec2<f32>) {
    fft_scratch[fft_base + fft_cur * fft_m + i] = v;
}

fn fft_sync() {
    storageBarrier();
}

fn fft_stockham(tid: u32, m: u32, n_stages: u32, tw_step: u32) {
    for (var s = 0u; s < n_stages; s = s + 1u) {
        let st = stages[s];
        let dst = fft_base + (1u - fft_cur) * m;
        for (var o = tid; o < m; o = o + WG) {
            fft_scratch[dst + o] = fft_output(o, m, st.x, st.y, tw_step);
        }
        storageBarrier();
        fft_cur = 1u - fft_cur;
    }
}
