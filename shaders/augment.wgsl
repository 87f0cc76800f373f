// Waveform augmentations over a batch: rows of `stride` f32 samples with per-row valid
// lengths (twin of src/augment/ops.rs). Composed with common/philox.wgsl.
//
// One pipeline step = optionally `stats` (one workgroup per row: sum of squares, peak |x|
// and the row noise's sum of squares), then `apply` (one thread per sample) reading `src`
// and writing `dst` (ping-pong), every row with its own operation from `ops`.

struct Params {
    rows: u32,
    stride: u32,
    channels: u32,
    // Index of this step's first record in `ops` (step * rows).
    step_base: u32,
    // Workgroups along x of the apply and stats grids.
    nx_apply: u32,
    nx_stats: u32,
    seed_lo: u32,
    seed_hi: u32,
    // Workgroups along x of the color-noise grid, and its 256-sample blocks per row.
    nx_color: u32,
    blocks: u32,
    // Workgroups along x of the convolution grid, and its 256-output blocks per row.
    nx_conv: u32,
    conv_blocks: u32,
}

struct OpRec {
    code: u32,
    flags: u32,
    a: i32,
    b: u32,
    c: u32,
    d: u32,
    id_lo: u32,
    id_hi: u32,
    word2: u32,
    p0: u32,
    p1: u32,
    p2: u32,
    x: f32,
    y: f32,
    z: f32,
    w: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// Row lengths; after the rows, add_short_noises' event records (EVENT_WORDS words each).
@group(0) @binding(3) var<storage, read> lens: array<u32>;
@group(0) @binding(4) var<storage, read> ops: array<OpRec>;
// Per row: (sum of squares, peak |x|, noise sum of squares, unused); after the rows, per
// add_short_noises event: (sum of squares of its region, 0, 0, 0).
@group(0) @binding(5) var<storage, read_write> stats: array<vec4<f32>>;
// Background-noise clips, concatenated (mono).
@group(0) @binding(6) var<storage, read> bank: array<f32>;
// add_color_noise's FIR taps, per row at op.b (op.c taps).
@group(0) @binding(7) var<storage, read> aux: array<f32>;
// apply_impulse_response: per row, the peak |y| of the full convolution (f32 bits).
@group(0) @binding(8) var<storage, read_write> peaks: array<atomic<u32>>;

const GAIN: u32 = 1u;
const GAIN_TRANSITION: u32 = 2u;
const REVERSE: u32 = 3u;
const SHIFT: u32 = 4u;
const CLIP: u32 = 5u;
const NORMALIZE: u32 = 6u;
const NOISE: u32 = 7u;
const SNR: u32 = 8u;
const TIME_MASK: u32 = 9u;
const BIT_CRUSH: u32 = 10u;
const PADDING: u32 = 11u;
const TANH: u32 = 12u;
const CLIPPING_DISTORTION: u32 = 13u;
const BACKGROUND_NOISE: u32 = 14u;
const COLOR_NOISE: u32 = 15u;
const IMPULSE_RESPONSE: u32 = 16u;
const SHORT_NOISES: u32 = 20u;

const OWN_ROW: u32 = 1u;
const ROLLOVER: u32 = 2u;
const ONLY_TOO_LOUD: u32 = 4u;
const PAD_START: u32 = 8u;
const ABSOLUTE: u32 = 16u;
const FFT_CONV: u32 = 64u;

const WG: u32 = 256u;

fn key() -> vec2<u32> {
    return vec2<u32>(P.seed_lo, P.seed_hi);
}

var<workgroup> red: array<vec3<f32>, WG>;

// Background noise sample i of a row of n samples: the clip at op.b of op.c samples, cropped
// from op.d when long enough, else tiled (twin of ops::bank_sample).
fn bank_sample(op: OpRec, i: u32, n: u32) -> f32 {
    if (op.c == 0u) {
        return 0.0;
    }
    if (op.c >= n) {
        return bank[op.b + op.d + i];
    }
    return bank[op.b + i % op.c];
}

@compute @workgroup_size(256)
fn stats_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * P.nx_stats;
    if (r >= P.rows) {
        return;
    }
    let op = ops[P.step_base + r];
    if (op.code == TANH || op.code == CLIPPING_DISTORTION) {
        return;
    }
    let n = lens[r];
    let base = r * P.stride;
    var acc = vec3<f32>(0.0);
    for (var i = lid; i < n; i += WG) {
        let v = src[base + i];
        acc.x += v * v;
        acc.y = max(acc.y, abs(v));
        if (op.code == SNR) {
            let z = sample_normal(key(), op.id_lo, op.id_hi, op.word2, i);
            acc.z += z * z;
        } else if (op.code == BACKGROUND_NOISE) {
            let z = bank_sample(op, i, n);
            acc.z += z * z;
        } else if (op.code == COLOR_NOISE) {
            // The `color` pass left this row's noise in dst.
            let z = dst[base + i];
            acc.z += z * z;
        }
    }
    red[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let o = red[lid + s];
            red[lid] = vec3<f32>(red[lid].x + o.x, max(red[lid].y, o.y), red[lid].z + o.z);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        stats[r] = vec4<f32>(red[0], 0.0);
    }
}

// Order statistics for tanh_distortion and clipping_distortion: one workgroup per row
// selects over its example's rows (or its own) by a 4-pass 8-bit radix select on
// order-preserving keys of the f32 bits.
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> sel: vec3<u32>; // (prefix, mask, k)
var<workgroup> red2: array<vec2<f32>, WG>;

fn sort_key(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

fn from_key(k: u32) -> f32 {
    if ((k & 0x80000000u) != 0u) {
        return bitcast<f32>(k & 0x7fffffffu);
    }
    return bitcast<f32>(~k);
}

fn sample_value(v: f32, absolute: bool) -> f32 {
    if (absolute) {
        return abs(v);
    }
    return v;
}

// The k-th smallest (0-based) valid sample (|sample| when `absolute`) of rows
// first .. first + count.
fn select_kth(first: u32, count: u32, k: u32, absolute: bool, lid: u32) -> f32 {
    // Every thread has read the previous selection's result before it is reset.
    workgroupBarrier();
    if (lid == 0u) {
        sel = vec3<u32>(0u, 0u, k);
    }
    for (var round = 0u; round < 4u; round++) {
        let shift = 24u - 8u * round;
        atomicStore(&hist[lid], 0u);
        workgroupBarrier();
        let prefix = sel.x;
        let mask = sel.y;
        for (var c = 0u; c < count; c++) {
            let row = first + c;
            let n = lens[row];
            for (var i = lid; i < n; i += WG) {
                let key = sort_key(sample_value(src[row * P.stride + i], absolute));
                if ((key & mask) == prefix) {
                    atomicAdd(&hist[(key >> shift) & 255u], 1u);
                }
            }
        }
        workgroupBarrier();
        if (lid == 0u) {
            var kk = sel.z;
            var digit = 255u;
            for (var d = 0u; d < 256u; d++) {
                let h = atomicLoad(&hist[d]);
                if (kk < h) {
                    digit = d;
                    break;
                }
                kk -= h;
            }
            sel = vec3<u32>(sel.x | (digit << shift), sel.y | (255u << shift), kk);
        }
        workgroupBarrier();
    }
    return from_key(sel.x);
}

// Percentile k + t of the example's (or row's) values, linearly interpolated in f32.
fn percentile(first: u32, count: u32, k: u32, t: f32, absolute: bool, total: u32, lid: u32) -> f32 {
    let a = select_kth(first, count, k, absolute, lid);
    let b = select_kth(first, count, min(k + 1u, total - 1u), absolute, lid);
    return a + (b - a) * t;
}

@compute @workgroup_size(256)
fn select_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // The row index is uniform across the workgroup: every thread takes every branch below
    // alike, so the barriers inside are reached in uniform control flow.
    let r = wid.x + wid.y * P.nx_stats;
    if (r >= P.rows) {
        return;
    }
    let op = ops[P.step_base + r];
    if (op.code != TANH && op.code != CLIPPING_DISTORTION) {
        return;
    }
    var first = r;
    var count = 1u;
    if ((op.flags & OWN_ROW) == 0u) {
        first = (r / P.channels) * P.channels;
        count = P.channels;
    }
    var total = 0u;
    for (var c = 0u; c < count; c++) {
        total += lens[first + c];
    }
    if (total == 0u) {
        if (lid == 0u) {
            stats[r] = vec4<f32>(0.0);
        }
        return;
    }
    if (op.code == CLIPPING_DISTORTION) {
        let lo = percentile(first, count, op.c, op.z, false, total, lid);
        let hi = percentile(first, count, op.d, op.w, false, total, lid);
        if (lid == 0u) {
            stats[r] = vec4<f32>(lo, hi, 0.0, 0.0);
        }
        return;
    }
    // tanh_distortion: gain from the percentile of |x|, then the post gain that restores
    // the RMS (mean of the rows' RMS) when it exceeds 1e-9.
    let thr = percentile(first, count, op.c, op.z, true, total, lid);
    let gain = 0.5 / (thr + 1e-6);
    var before = 0.0;
    var after = 0.0;
    for (var c = 0u; c < count; c++) {
        let row = first + c;
        let n = lens[row];
        var acc = vec2<f32>(0.0);
        for (var i = lid; i < n; i += WG) {
            let v = src[row * P.stride + i];
            let y = tanh(gain * v);
            acc += vec2<f32>(v * v, y * y);
        }
        red2[lid] = acc;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                red2[lid] += red2[lid + s];
            }
            workgroupBarrier();
        }
        if (n > 0u) {
            before += sqrt(red2[0].x / f32(n));
            after += sqrt(red2[0].y / f32(n));
        }
        workgroupBarrier();
    }
    var post = 1.0;
    if (before / f32(count) > 1e-9) {
        post = before / after;
    }
    if (lid == 0u) {
        stats[r] = vec4<f32>(gain, post, 0.0, 0.0);
    }
}

// add_color_noise: white normals filtered by the row's FIR (np.convolve 'same'), written to
// dst for the stats and apply passes. One workgroup per 256 samples of a row, the normals
// it needs staged in workgroup memory (twin of ops::color_noise).
var<workgroup> win: array<f32, 1280>;

fn white(op: OpRec, j: i32, n: u32) -> f32 {
    if (j < 0 || j >= i32(n)) {
        return 0.0;
    }
    return sample_normal(key(), op.id_lo, op.id_hi, op.word2, u32(j));
}

@compute @workgroup_size(256)
fn color(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let w = wid.x + wid.y * P.nx_color;
    let r = w / P.blocks;
    if (r >= P.rows) {
        return;
    }
    let op = ops[P.step_base + r];
    if (op.code != COLOR_NOISE) {
        return;
    }
    let n = lens[r];
    let i0 = (w % P.blocks) * WG;
    let i = i0 + lid;
    let base = r * P.stride;
    let m = op.c;
    if (m == 0u) {
        if (i < n) {
            dst[base + i] = white(op, i32(i), n);
        }
        return;
    }
    let half = i32((m - 1u) / 2u);
    let first = i32(i0) + half - i32(m - 1u);
    for (var t = lid; t < WG + m - 1u; t += WG) {
        win[t] = white(op, first + i32(t), n);
    }
    workgroupBarrier();
    if (i < n) {
        var acc = 0.0;
        for (var k = 0u; k < m; k++) {
            acc += aux[op.b + k] * win[lid + m - 1u - k];
        }
        dst[base + i] = acc;
    }
}

// apply_impulse_response: y[j] = sum_k h[k] x[j - k] over the full length n + L - 1, the
// impulse response h from the bank at op.b (op.c taps). One workgroup per 256 outputs,
// taps and inputs staged in workgroup memory 256 taps at a time; outputs j < n go to dst,
// the peak |y| over all of them to `peaks` (twin of ops::convolve_full, which uses an FFT).
var<workgroup> th: array<f32, 256>;
var<workgroup> tx: array<f32, 512>;
var<workgroup> pk: array<f32, 256>;

@compute @workgroup_size(256)
fn convolve(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let w = wid.x + wid.y * P.nx_conv;
    let r = w / P.conv_blocks;
    if (r >= P.rows) {
        return;
    }
    let op = ops[P.step_base + r];
    if (op.code != IMPULSE_RESPONSE || (op.flags & FFT_CONV) != 0u) {
        return;
    }
    let n = lens[r];
    let taps = op.c;
    if (n == 0u || taps == 0u) {
        return;
    }
    let full = n + taps - 1u;
    let j0 = (w % P.conv_blocks) * WG;
    if (j0 >= full) {
        return;
    }
    let base = r * P.stride;
    var acc = 0.0;
    for (var kc = 0u; kc < taps; kc += WG) {
        let k = kc + lid;
        var h = 0.0;
        if (k < taps) {
            h = bank[op.b + k];
        }
        th[lid] = h;
        for (var t = lid; t < 2u * WG - 1u; t += WG) {
            let xi = i32(j0) - i32(kc) - i32(WG - 1u) + i32(t);
            var x = 0.0;
            if (xi >= 0 && xi < i32(n)) {
                x = src[base + u32(xi)];
            }
            tx[t] = x;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < WG; kk++) {
            acc += th[kk] * tx[lid + WG - 1u - kk];
        }
        workgroupBarrier();
    }
    let j = j0 + lid;
    if (j < n) {
        dst[base + j] = acc;
    }
    var m = 0.0;
    if (j < full) {
        m = abs(acc);
    }
    pk[lid] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            pk[lid] = max(pk[lid], pk[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        atomicMax(&peaks[r], bitcast<u32>(pk[0]));
    }
}

// audiomentations' crossfade mask pair element j of length len: (fade_in, fade_out).
fn crossfade(j: u32, len: u32, equal_energy: bool) -> vec2<f32> {
    var x = 0.0;
    if (len > 1u) {
        x = f32(j) / f32(len - 1u);
    }
    let x2 = 1.0 - x;
    let a = x * x2;
    var k = -0.70912;
    if (equal_energy) {
        k = 1.4186;
    }
    let b = a * (1.0 + k * a);
    let c = b + x;
    let d = b + x2;
    return vec2<f32>(c * c, d * d);
}

fn clip1(s: f32, lo: f32, hi: f32) -> f32 {
    if (s < lo) {
        return lo;
    }
    if (s > hi) {
        return hi;
    }
    return s;
}

// Combined statistics for row r: (peak, rms) over its example's rows, or its own.
fn combined(r: u32, own: bool) -> vec2<f32> {
    var first = r;
    var count = 1u;
    if (!own) {
        first = (r / P.channels) * P.channels;
        count = P.channels;
    }
    var peak = 0.0;
    var rms = 0.0;
    for (var k = 0u; k < count; k++) {
        let s = stats[first + k];
        let n = lens[first + k];
        peak = max(peak, s.y);
        if (n > 0u) {
            rms += sqrt(s.x / f32(n));
        }
    }
    return vec2<f32>(peak, rms / f32(count));
}

// Which source sample lands at i after padding (twin of ops::padding_source); -1 for zero.
fn padding_source(i: u32, n: u32, p: u32, mode: u32, start: bool) -> i32 {
    let u = n - p;
    var first = 0u;
    var inside = i < u;
    if (start) {
        first = p;
        inside = i >= p;
    }
    if (inside) {
        return i32(i);
    }
    if (mode == 0u || u == 0u) {
        return -1;
    }
    let rel = i32(i) - i32(first);
    var k = 0;
    if (mode == 1u) {
        k = rel % i32(u);
        if (k < 0) {
            k += i32(u);
        }
    } else if (u > 1u) {
        let period = 2 * (i32(u) - 1);
        let m = abs(rel) % period;
        k = m;
        if (m >= i32(u)) {
            k = period - m;
        }
    }
    return i32(first) + k;
}

// add_short_noises (twin of spec/short_noises.rs). Event e's record: (row start, length in
// the row, bank index of its first sample, its index in the clip, fade-in length, fade-out
// start in the clip, fade-out length, f32 bits of the gain factor); op.d the level.
const EVENT_WORDS: u32 = 8u;
const LEVEL_WHOLE: u32 = 0u;
const LEVEL_REGION: u32 = 1u;

fn ev(e: u32, w: u32) -> u32 {
    return lens[P.rows + e * EVENT_WORDS + w];
}

// numpy's linspace(0, 1, fi) fade-in and linspace(1, 0, fo) fade-out, their minimum.
fn fade_gain(k: u32, fi: u32, fo_start: u32, fo: u32) -> f32 {
    var g = 1.0;
    if (k < fi) {
        if (fi == 1u) {
            g = 0.0;
        } else if (k + 1u < fi) {
            g = f32(k) * (1.0 / f32(fi - 1u));
        }
    }
    if (fo > 0u && k >= fo_start) {
        let j = k - fo_start;
        var f = 1.0;
        if (fo > 1u) {
            if (j + 1u == fo) {
                f = 0.0;
            } else {
                f = f32(j) * (-1.0 / f32(fo - 1u)) + 1.0;
            }
        }
        g = min(g, f);
    }
    return g;
}

// The clean RMS over event e (of the row's list) of row r: the mean over its example's
// rows (or itself) of their RMS over the region.
fn region_rms(r: u32, own: bool, e: u32) -> f32 {
    var first = r;
    var count = 1u;
    if (!own) {
        first = (r / P.channels) * P.channels;
        count = P.channels;
    }
    var acc = 0.0;
    for (var k = 0u; k < count; k++) {
        let o = ops[P.step_base + first + k];
        if (e < o.c) {
            let m = ev(o.b + e, 1u);
            if (m > 0u) {
                acc += sqrt(stats[P.rows + o.b + e].x / f32(m));
            }
        }
    }
    return acc / f32(count);
}

// Per add_short_noises event ("relative" level): the sum of squares of the row over the
// event's region, into stats[rows + event]. One workgroup per row, event after event.
@compute @workgroup_size(256)
fn event_rms(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * P.nx_stats;
    if (r >= P.rows) {
        return;
    }
    let op = ops[P.step_base + r];
    if (op.code != SHORT_NOISES || op.d != LEVEL_REGION) {
        return;
    }
    let base = r * P.stride;
    for (var e = op.b; e < op.b + op.c; e++) {
        let s0 = ev(e, 0u);
        let m = ev(e, 1u);
        var acc = 0.0;
        for (var j = lid; j < m; j += WG) {
            let v = src[base + s0 + j];
            acc += v * v;
        }
        red[lid] = vec3<f32>(acc, 0.0, 0.0);
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                red[lid].x += red[lid + s].x;
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            stats[P.rows + e] = vec4<f32>(red[0].x, 0.0, 0.0, 0.0);
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = (wid.x + wid.y * P.nx_apply) * WG + lid;
    let r = g / P.stride;
    let i = g % P.stride;
    if (r >= P.rows) {
        return;
    }
    let n = lens[r];
    if (i >= n) {
        dst[g] = 0.0;
        return;
    }
    let op = ops[P.step_base + r];
    let base = r * P.stride;
    let s = src[g];
    var v = s;
    switch op.code {
        case GAIN: {
            v = s * op.x;
        }
        case GAIN_TRANSITION: {
            let j = i32(i) - op.a;
            if (j < 0) {
                v = s * op.z;
            } else if (u32(j) >= op.b) {
                v = s * op.w;
            } else {
                let db = op.x + f32(j) * op.y;
                v = s * pow(10.0, db / 20.0);
            }
        }
        case REVERSE: {
            v = src[base + n - 1u - i];
        }
        case SHIFT: {
            let sh = op.a;
            let ni = i32(n);
            let k = i32(i) - sh;
            if (k >= 0 && k < ni) {
                v = src[base + u32(k)];
            } else if ((op.flags & ROLLOVER) != 0u) {
                var kk = k % ni;
                if (kk < 0) {
                    kk += ni;
                }
                v = src[base + u32(kk)];
            } else {
                v = 0.0;
            }
            let fade = i32(op.b);
            if (fade > 0 && sh != 0) {
                var stitch = sh;
                if (sh <= 0) {
                    stitch = ni + sh;
                }
                let ii = i32(i);
                if (ii >= stitch && ii < stitch + fade) {
                    v *= crossfade(u32(ii - stitch), u32(fade), true).x;
                } else if (ii < stitch && ii >= stitch - fade) {
                    v *= crossfade(u32(fade - (stitch - ii)), u32(fade), true).y;
                }
            }
        }
        case CLIP: {
            v = clip1(s, op.x, op.y);
        }
        case NORMALIZE: {
            let peak = combined(r, (op.flags & OWN_ROW) != 0u).x;
            let skip = (op.flags & ONLY_TOO_LOUD) != 0u && peak < 1.0;
            if (!skip && peak > 0.0) {
                v = s / peak;
            }
        }
        case NOISE: {
            v = s + op.x * sample_normal(key(), op.id_lo, op.id_hi, op.word2, i);
        }
        case SNR: {
            let rms = combined(r, (op.flags & OWN_ROW) != 0u).y;
            let noise_ss = stats[r].z;
            var scale = 0.0;
            if (noise_ss > 0.0) {
                scale = (rms / op.x) / sqrt(noise_ss / f32(n));
            }
            v = s + scale * sample_normal(key(), op.id_lo, op.id_hi, op.word2, i);
        }
        case COLOR_NOISE: {
            var first = r;
            var count = 1u;
            if ((op.flags & OWN_ROW) == 0u) {
                first = (r / P.channels) * P.channels;
                count = P.channels;
            }
            var ss = 0.0;
            var cnt = 0u;
            for (var k = 0u; k < count; k++) {
                ss += stats[first + k].z;
                cnt += lens[first + k];
            }
            let want = combined(r, (op.flags & OWN_ROW) != 0u).y / op.x;
            var scale = 0.0;
            if (op.c == 0u) {
                scale = want;
            } else if (ss > 0.0) {
                scale = want / sqrt(ss / f32(cnt));
            }
            v = s + scale * dst[g];
        }
        // Rows for the FFT convolution (gpu/conv.rs) are copied through.
        case IMPULSE_RESPONSE: {
            if ((op.flags & FFT_CONV) != 0u) {
                dst[g] = v;
                return;
            }
            var first = r;
            var count = 1u;
            if ((op.flags & OWN_ROW) == 0u) {
                first = (r / P.channels) * P.channels;
                count = P.channels;
            }
            var peak = 0.0;
            for (var k = 0u; k < count; k++) {
                peak = max(peak, bitcast<f32>(atomicLoad(&peaks[first + k])));
            }
            var scale = 1.0;
            if (peak > 0.0) {
                scale = 0.5 / peak;
            }
            // An empty impulse response leaves the row as it is.
            if (op.c > 0u) {
                v = dst[g] * scale;
            }
        }
        case BACKGROUND_NOISE: {
            let noise_rms = sqrt(stats[r].z / f32(n));
            var scale = 0.0;
            if (noise_rms > 1e-9) {
                var want = op.x;
                if ((op.flags & ABSOLUTE) == 0u) {
                    want = combined(r, (op.flags & OWN_ROW) != 0u).y / op.x;
                }
                scale = want / noise_rms;
            }
            v = s + scale * bank_sample(op, i, n);
        }
        case SHORT_NOISES: {
            let own = (op.flags & OWN_ROW) != 0u;
            var whole = 0.0;
            if (op.d == LEVEL_WHOLE) {
                whole = combined(r, own).y;
            }
            var noise = 0.0;
            var mask = 0.0;
            // Events sorted by start: stop at the first that starts after i.
            for (var e = op.b; e < op.b + op.c; e++) {
                let s0 = ev(e, 0u);
                if (s0 > i) {
                    break;
                }
                let j = i - s0;
                if (j >= ev(e, 1u)) {
                    continue;
                }
                let gn = fade_gain(ev(e, 3u) + j, ev(e, 4u), ev(e, 5u), ev(e, 6u));
                var scale = bitcast<f32>(ev(e, 7u));
                if (op.d == LEVEL_WHOLE) {
                    scale *= whole;
                } else if (op.d == LEVEL_REGION) {
                    scale *= region_rms(r, own, e - op.b);
                }
                noise += bank[ev(e, 2u) + j] * gn * scale;
                mask = max(mask, gn);
            }
            var gain = 1.0;
            if (op.x != 0.0) {
                gain = pow(10.0, mask * op.x / 20.0);
            }
            v = s * gain + noise;
        }
        case TIME_MASK: {
            let t0 = u32(op.a);
            let t = op.b;
            let f = op.c;
            if (i >= t0 && i < t0 + t) {
                var gm = 0.0;
                if (f >= 2u && i < t0 + f) {
                    gm = crossfade(i - t0, f, false).y;
                } else if (f >= 2u && i >= t0 + t - f) {
                    gm = crossfade(i - (t0 + t - f), f, false).x;
                }
                v = s * gm;
            }
        }
        case BIT_CRUSH: {
            v = round(s * op.x) / op.x;
        }
        case TANH: {
            let st = stats[r];
            v = st.y * tanh(st.x * s);
        }
        case CLIPPING_DISTORTION: {
            let st = stats[r];
            v = clip1(s, st.x, st.y);
        }
        case PADDING: {
            let k = padding_source(i, n, min(op.b, n), op.c, (op.flags & PAD_START) != 0u);
            if (k < 0) {
                v = 0.0;
            } else {
                v = src[base + u32(k)];
            }
        }
        default: {}
    }
    dst[g] = v;
}
