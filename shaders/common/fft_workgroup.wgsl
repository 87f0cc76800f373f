// FFT working memory in workgroup memory (the fast path): m <= MAX_M, and m <= WG * PER_THREAD
// (each thread stages its outputs of a stage in registers, then all write back in place).
// Radix-2 and radix-4 stages with at most two butterflies per thread compute whole butterflies
// (fft_butterfly); other stages one output at a time (fft_output).
// Value i of the working array lives at fft_slot(i): with FFT_SWIZZLE = 1, each line of 16
// values (128 bytes, one pass over the 32 banks) is rotated by 3 x its line number, so that
// the outputs that neighbouring threads of the first radix-4 stages store 4 or 16 values
// apart fall in different banks, while 16 consecutive values still fill one line
// (bench/smem_model.py counts the wavefronts). Same memory, same arithmetic.

const PER_THREAD: u32 = 32u;
override MAX_M: u32 = 2048u;
override FFT_SWIZZLE: u32 = 0u;

var<workgroup> fft_buf: array<vec2<f32>, MAX_M>;

fn fft_begin(slot: u32, m: u32) {}

fn fft_slot(i: u32) -> u32 {
    if (FFT_SWIZZLE == 0u) {
        return i;
    }
    return (i & ~15u) | ((i + 3u * (i >> 4u)) & 15u);
}

fn fft_ld(i: u32) -> vec2<f32> {
    return fft_buf[fft_slot(i)];
}

fn fft_st(i: u32, v: vec2<f32>) {
    fft_buf[fft_slot(i)] = v;
}

fn fft_sync() {
    workgroupBarrier();
}

// Writes the outputs `y` of butterfly j of stage (r, ns) (see fft_butterfly).
fn fft_put(j: u32, r: u32, ns: u32, y: Butterfly) {
    let k = j % ns;
    let o = (j - k) * r + k;
    fft_st(o, y.y0);
    fft_st(o + ns, y.y1);
    if (r == 4u) {
        fft_st(o + 2u * ns, y.y2);
        fft_st(o + 3u * ns, y.y3);
    }
}

fn fft_stockham(tid: u32, m: u32, n_stages: u32, tw_step: u32) {
    for (var s = 0u; s < n_stages; s = s + 1u) {
        let st = stages[s];
        let nb = m / st.x;
        if ((st.x == 2u || st.x == 4u) && nb <= 2u * WG) {
            // Whole radix-2/4 butterflies, one or two per thread (m <= 2 r WG): each input
            // read once, r - 1 twiddles per r outputs, the outputs kept in named registers
            // across the barrier (a dynamically indexed array goes to slower memory on most
            // drivers).
            let j1 = tid + WG;
            var y0: Butterfly;
            var y1: Butterfly;
            if (tid < nb) {
                y0 = fft_butterfly(tid, m, st.x, st.y, tw_step);
            }
            if (j1 < nb) {
                y1 = fft_butterfly(j1, m, st.x, st.y, tw_step);
            }
            workgroupBarrier();
            if (tid < nb) {
                fft_put(tid, st.x, st.y, y0);
            }
            if (j1 < nb) {
                fft_put(j1, st.x, st.y, y1);
            }
            workgroupBarrier();
            continue;
        }
        var regs: array<vec2<f32>, PER_THREAD>;
        var c = 0u;
        for (var o = tid; o < m; o = o + WG) {
            regs[c] = fft_output(o, m, st.x, st.y, tw_step);
            c = c + 1u;
        }
        workgroupBarrier();
        c = 0u;
        for (var o = tid; o < m; o = o + WG) {
            fft_st(o, regs[c]);
            c = c + 1u;
        }
        workgroupBarrier();
    }
}
