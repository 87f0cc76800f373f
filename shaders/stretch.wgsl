// time_stretch and pitch_shift by librosa's phase vocoder, in place on the rows of one
// augmentation step (see src/gpu/stretch.rs; the CPU twin is src/augment/stretch.rs).
// Five passes over the stretched rows k < P.rows_k (row `R[k].row` of `data`):
// `analysis`  one workgroup per (k, input frame): windowed 2048-point FFT of the centred,
//             zero-padded frame; (|X|, arg X) per bin into `spec_in`;
// `vocode`    one thread per (k, bin): the output frames in order, magnitude interpolated
//             between the two frames at floor(t rate), phase accumulated (wrapped to
//             [-pi, pi) so that f32 does not drift) into `spec_out`;
// `synth`     one workgroup per (k, output frame): inverse FFT, windowed, written back over
//             its own spectrum in `spec_out` (2048 reals in 1025 complex slots);
// `overlap`   one thread per (k, output sample): overlap-add of the (up to 4) frames over
//             the window's sum of squares; time_stretch rows into `data` (zeros past the
//             stretched length), pitch_shift rows into `stretched`;
// `resample`  one thread per (k, output sample) of a pitch_shift row: resampy's windowed
//             sinc (kaiser_best table, linear interpolation between entries) from sr / rate
//             to sr, the input time t / ratio in 32.64 fixed point, into `data`.

const N: u32 = 2048u;
const LOG_N: u32 = 11u;
const WG: u32 = 256u;
const BINS: u32 = 1025u;
const HOP: u32 = 512u;
const PI: f32 = 3.14159265358979;
// offsets in `tables`: the window, the twiddles (interleaved re, im), the kaiser_best table
const TW: u32 = 2048u;
const KAISER: u32 = 4096u;
const NWIN: u32 = 409601u;

struct Params {
    rows_k: u32,
    stride: u32,
    max_frames: u32,
    max_synth: u32,
    // 256-sample groups per row of the overlap and resample passes
    groups_ola: u32,
    groups_res: u32,
    gx_analysis: u32,
    gx_vocode: u32,
    gx_synth: u32,
    gx_ola: u32,
    gx_res: u32,
    _pad: u32,
}

struct Row {
    row: u32,
    n: u32,
    frames: u32,
    synth: u32,
    // iSTFT output length, leading samples of the result that are not padding
    stretched: u32,
    out_valid: u32,
    // offsets: spec_in (vec2), spec_out (vec2), steps, stretched (f32)
    in_off: u32,
    out_off: u32,
    step_off: u32,
    str_off: u32,
    // pitch_shift: 1; the input time per output sample inc_int + (inc_hi, inc_lo) / 2^64
    pitch: u32,
    inc_int: u32,
    inc_hi: u32,
    inc_lo: u32,
    // scale = min(1, ratio) as scale * 2^31, resampy's index_step, the weight factor
    // (ratio when < 1)
    scale31: u32,
    index_step: u32,
    gain: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> R: array<Row>;
// per output frame: (left input frame, bits of the interpolation weight)
@group(0) @binding(3) var<storage, read> steps: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read> tables: array<f32>;
@group(0) @binding(5) var<storage, read_write> spec_in: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> spec_out: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> stretched: array<f32>;

var<workgroup> buf: array<vec2<f32>, 2048>;

fn twiddle(k: u32) -> vec2<f32> {
    return vec2<f32>(tables[TW + 2u * k], tables[TW + 2u * k + 1u]);
}

// np.angle, with 0 for a zero (whatever its signs)
fn angle(c: vec2<f32>) -> f32 {
    if c.x == 0.0 && c.y == 0.0 {
        return 0.0;
    }
    return atan2(c.y, c.x);
}

fn wrap(x: f32) -> f32 {
    return x - 2.0 * PI * floor((x + PI) / (2.0 * PI));
}

@compute @workgroup_size(256)
fn analysis(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_analysis;
    let k = g / P.max_frames;
    let f = g % P.max_frames;
    // uniform per workgroup: every thread reads the same row record
    if k >= P.rows_k {
        return;
    }
    let r = R[k];
    if f >= r.frames {
        return;
    }
    let base = r.row * P.stride;
    for (var q = 0u; q < N / WG; q++) {
        let t = tid + q * WG;
        let i = i32(f * HOP + t) - i32(N / 2u);
        var v = 0.0;
        if i >= 0 && u32(i) < r.n {
            v = data[base + u32(i)] * tables[t];
        }
        buf[rev(t)] = vec2<f32>(v, 0.0);
    }
    workgroupBarrier();
    fft(tid, false);
    let o = r.in_off + f * BINS;
    for (var b = tid; b < BINS; b += WG) {
        let c = buf[b];
        spec_in[o + b] = vec2<f32>(length(c), angle(c));
    }
}

@compute @workgroup_size(256)
fn vocode(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_vocode;
    // 5 workgroups of 256 threads cover the 1025 bins of a row
    let k = g / 5u;
    let b = (g % 5u) * WG + tid;
    if k >= P.rows_k || b >= BINS {
        return;
    }
    let r = R[k];
    var acc = spec_in[r.in_off + b].y;
    for (var t = 0u; t < r.synth; t++) {
        let s = steps[r.step_off + t];
        let left = s.x;
        let alpha = bitcast<f32>(s.y);
        var c0 = vec2<f32>(0.0);
        var c1 = vec2<f32>(0.0);
        if left < r.frames {
            c0 = spec_in[r.in_off + left * BINS + b];
        }
        if left + 1u < r.frames {
            c1 = spec_in[r.in_off + (left + 1u) * BINS + b];
        }
        let mag = (1.0 - alpha) * c0.x + alpha * c1.x;
        spec_out[r.out_off + t * BINS + b] = mag * vec2<f32>(cos(acc), sin(acc));
        acc = wrap(acc + (c1.y - c0.y));
    }
}

@compute @workgroup_size(256)
fn synth(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_synth;
    let k = g / P.max_synth;
    let t = g % P.max_synth;
    if k >= P.rows_k {
        return;
    }
    let r = R[k];
    if t >= r.synth {
        return;
    }
    let o = r.out_off + t * BINS;
    for (var b = tid; b < BINS; b += WG) {
        var c = spec_out[o + b];
        // irfft ignores the imaginary parts of the DC and Nyquist bins
        if b == 0u || b == N / 2u {
            c.y = 0.0;
        }
        buf[rev(b)] = c;
        if b > 0u && b < N / 2u {
            buf[rev(N - b)] = vec2<f32>(c.x, -c.y);
        }
    }
    workgroupBarrier();
    fft(tid, true);
    // every thread has read its bins before the barrier in fft: the slots are free
    for (var q = 0u; q < N / (2u * WG); q++) {
        let j = tid + q * WG;
        let a = buf[2u * j].x * tables[2u * j];
        let c = buf[2u * j + 1u].x * tables[2u * j + 1u];
        spec_out[o + j] = vec2<f32>(a, c) / f32(N);
    }
}

// Sample j of the centred overlap-add (frame t covers [t HOP, t HOP + N)) over the sum of
// squares of the window, as librosa's istft.
fn ola(r: Row, j: u32) -> f32 {
    var t0 = 0u;
    if j + 1u > N {
        t0 = (j + 1u - N + HOP - 1u) / HOP;
    }
    let t1 = min(r.synth, j / HOP + 1u);
    var y = 0.0;
    var wss = 0.0;
    for (var t = t0; t < t1; t++) {
        let m = j - t * HOP;
        let v = spec_out[r.out_off + t * BINS + m / 2u];
        y += select(v.x, v.y, (m & 1u) == 1u);
        let w = tables[m];
        wss += w * w;
    }
    if wss > 0.0 {
        y /= wss;
    }
    return y;
}

@compute @workgroup_size(256)
fn overlap(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_ola;
    let k = g / P.groups_ola;
    let i = (g % P.groups_ola) * WG + tid;
    if k >= P.rows_k {
        return;
    }
    let r = R[k];
    if r.pitch == 1u {
        if i < r.stretched {
            stretched[r.str_off + i] = ola(r, i + N / 2u);
        }
    } else if i < r.n {
        var y = 0.0;
        if i < r.out_valid {
            y = ola(r, i + N / 2u);
        }
        data[r.row * P.stride + i] = y;
    }
}

// (hi, lo) words of the 64-bit product a b
fn mul64(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>(p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), (p00 & 0xffffu) | (mid << 16u));
}

// kaiser_best weight at table position q (units of 2^-18 entries), gained
fn weight(q: u32, i: u32, step: u32) -> f32 {
    let off = (q >> 18u) + i * step;
    let eta = f32(q & 0x3ffffu) * (1.0 / 262144.0);
    let w = tables[KAISER + off];
    var d = 0.0;
    if off + 1u < NWIN {
        d = tables[KAISER + off + 1u] - w;
    }
    return w + eta * d;
}

@compute @workgroup_size(256)
fn resample(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_res;
    let k = g / P.groups_res;
    let t = (g % P.groups_res) * WG + tid;
    if k >= P.rows_k {
        return;
    }
    let r = R[k];
    if r.pitch != 1u || t >= r.n {
        return;
    }
    var y = 0.0;
    if t < r.out_valid {
        // input time t * inc: integer n, fraction f / 2^32
        let a = mul64(t, r.inc_hi);
        let b = mul64(t, r.inc_lo);
        let f = a.y + b.x;
        let n = t * r.inc_int + a.x + select(0u, 1u, f < a.y);
        // table positions of the two wings, in 2^-18 entries: scale f 2^13 and
        // (scale - scale f) 2^13
        let ql = mul64(r.scale31, f).x;
        let qr = r.scale31 - ql;
        let step = r.index_step;
        let imax = min(n + 1u, (NWIN - (ql >> 18u)) / step);
        for (var i = 0u; i < imax; i++) {
            y += weight(ql, i, step) * stretched[r.str_off + n - i];
        }
        var kmax = 0u;
        if n + 1u < r.stretched {
            kmax = min(r.stretched - n - 1u, (NWIN - (qr >> 18u)) / step);
        }
        for (var i = 0u; i < kmax; i++) {
            y += weight(qr, i, step) * stretched[r.str_off + n + i + 1u];
        }
        y *= r.gain;
    }
    data[r.row * P.stride + t] = y;
}
