// FFT working memory in workgroup memory (the fast path): m <= MAX_M, and m <= WG * PER_THREAD
// (each thread stages its outputs of a stage in registers, then all write back in place).

const PER_THREAD: u32 = 32u;
override MAX_M: u32 = 2048u;

var<workgroup> fft_buf: array<vec2<f32>, MAX_M>;

fn fft_begin(slot: u32, m: u32) {}

fn fft_ld(i: u32) -> vec2<f32> {
    return fft_buf[i];
}

fn fft_st(i: u32, v: vec2<f32>) {
    fft_buf[i] = v;
}

fn fft_sync() {
    workgroupBarrier();
}

fn fft_stockham(tid: u32, m: u32, n_stages: u32, tw_step: u32) {
    for (var s = 0u; s < n_stages; s = s + 1u) {
        let st = stages[s];
        var regs: array<vec2<f32>, PER_THREAD>;
        var c = 0u;
        for (var o = tid; o < m; o = o + WG) {
            regs[c] = fft_output(o, m, st.x, st.y, tw_step);
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
