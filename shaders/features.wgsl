// Per-frame stages after the filterbank (twins in src/cpu/features.rs):
//   db_scale:   x -> 10 log10(max(amin, x')) - offset, floored at max - top_db, in place, where
//               x' is x (power) or x^2 (amplitude) and max is the row's or the whole array's;
//   dct_frames: out[k] = lifter[k] * sum_b dct[k, b] * x[b] per (row, frame) (MFCC);
//   norm_frames: x / max_b |x[b]| per (row, frame) where the max is > 0 (chroma).
// Frames past a row's own count come out zero.

struct Params {
    rows: u32,
    n_bands: u32,
    frames: u32,      // frames per row in the arrays
    n_out: u32,       // dct_frames: coefficients
    per_item: u32,    // db: max per row (1) or over every row (0)
    amplitude: u32,   // db: input is an amplitude
    ref_is_max: u32,  // db: ref = the max
    has_top_db: u32,
    amin: f32,
    ref_value: f32,
    top_db: f32,
    _pad0: u32,
}

const WG: u32 = 128u;
const LOG10_2: f32 = 0.30102999566398120;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> rows_info: array<vec2<u32>>; // (length, frames)
@group(0) @binding(2) var<storage, read> row_max: array<u32>;       // f32 bits, values >= 0
@group(0) @binding(3) var<storage, read_write> x: array<f32>;       // (rows, n_bands, frames)
@group(0) @binding(4) var<storage, read> dct: array<f32>;           // (n_out, n_bands)
@group(0) @binding(5) var<storage, read> lifter: array<f32>;        // n_out
@group(0) @binding(6) var<storage, read_write> out: array<f32>;     // (rows, n_out, frames)

fn db10(v: f32) -> f32 {
    return 10.0 * LOG10_2 * log2(v);
}

fn sq(v: f32) -> f32 {
    if (p.amplitude == 1u) {
        return v * v;
    }
    return v;
}

@compute @workgroup_size(128)
fn db_scale(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= p.rows * p.n_bands * p.frames) {
        return;
    }
    let row = idx / (p.n_bands * p.frames);
    let f = idx % p.frames;
    if (f >= rows_info[row].y) {
        x[idx] = 0.0;
        return;
    }
    var mx = bitcast<f32>(row_max[row]);
    if (p.per_item == 0u) {
        for (var r = 0u; r < p.rows; r = r + 1u) {
            mx = max(mx, bitcast<f32>(row_max[r]));
        }
    }
    let amin = sq(p.amin);
    let max_p = sq(mx);
    var reference = sq(p.ref_value);
    if (p.ref_is_max == 1u) {
        reference = max_p;
    }
    let offset = db10(max(amin, reference));
    var d = db10(max(amin, sq(x[idx]))) - offset;
    if (p.has_top_db == 1u) {
        d = max(d, db10(max(amin, max_p)) - offset - p.top_db);
    }
    x[idx] = d;
}

@compute @workgroup_size(128)
fn dct_frames(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= p.rows * p.frames) {
        return;
    }
    let row = idx / p.frames;
    let f = idx - row * p.frames;
    let valid = f < rows_info[row].y;
    let xin = row * p.n_bands * p.frames + f;
    for (var k = 0u; k < p.n_out; k = k + 1u) {
        var acc = 0.0;
        if (valid) {
            for (var b = 0u; b < p.n_bands; b = b + 1u) {
                acc = acc + dct[k * p.n_bands + b] * x[xin + b * p.frames];
            }
            acc = acc * lifter[k];
        }
        out[(row * p.n_out + k) * p.frames + f] = acc;
    }
}

// Per (row, frame): divide the bands by their largest magnitude where that is > 0
// (librosa.util.normalize(norm=inf) over the bands, as chroma_stft does).
@compute @workgroup_size(128)
fn norm_frames(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= p.rows * p.frames) {
        return;
    }
    let row = idx / p.frames;
    let f = idx - row * p.frames;
    if (f >= rows_info[row].y) {
        return;
    }
    let base = row * p.n_bands * p.frames + f;
    var m = 0.0;
    for (var b = 0u; b < p.n_bands; b = b + 1u) {
        m = max(m, abs(x[base + b * p.frames]));
    }
    if (m > 0.0) {
        for (var b = 0u; b < p.n_bands; b = b + 1u) {
            x[base + b * p.frames] = x[base + b * p.frames] / m;
        }
    }
}
