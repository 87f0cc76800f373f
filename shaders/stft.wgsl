// STFT: frame + pad + window + real FFT + epilogue, one workgroup per (row, tile of frames).
// Nothing but the output ever touches global memory: frames are read straight from the signal.
//   stft_forward: complex bins or |X|^power per bin, (rows, n_freq, frames).
//   stft_mel:     |X|^power reduced by a sparse filterbank, (rows, n_bands, frames), and each
//                 row's maximum (f32 bits; values are >= 0) folded into row_max.
// Output is frame-minor, so one frame's values lie `frames` apart. With p.tile = 1 each
// workgroup transforms one frame and stores its values straight there (neighbouring threads'
// stores 4 or 8 bytes each, frames * 4 bytes apart). With p.tile = T > 1 it transforms T
// consecutive frames one after another, stages their values in workgroup memory (out_tile),
// and then writes them out T frames at a time, so that neighbouring threads write
// neighbouring addresses. Same values either way; the host picks T (src/gpu/stft.rs).
// The spectral and CQT kernels (composed after this file) keep one frame per workgroup.

struct Params {
    n_fft: u32,
    m: u32,            // complex FFT length: n_fft / 2 for even n_fft, n_fft for odd
    hop: u32,
    pad: u32,          // left padding: n_fft / 2 when centred, else 0
    pad_mode: u32,     // 0 constant (zeros), 1 reflect
    out_mode: u32,     // 0 complex (re, im), 1 |X|^power
    power: f32,
    n_freq: u32,
    frames_out: u32,   // frames per row in this chunk's output
    frame_offset: u32, // first frame of this chunk
    sample_offset: u32,// signal index of the input buffer's first sample (every row)
    row_stride: u32,   // samples per row in the input buffer
    rows: u32,         // rows in this chunk
    row_offset: u32,   // first row of this chunk
    n_stages: u32,
    n_bands: u32,      // stft_mel: filterbank bands
    tile: u32,         // stft_forward, stft_mel: frames per workgroup (1: no staging)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG: u32 = 128u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> signal: array<f32>;
@group(0) @binding(2) var<storage, read> rows_info: array<vec2<u32>>; // (length, frames)
@group(0) @binding(3) var<storage, read> window: array<f32>;
@group(0) @binding(4) var<storage, read> twiddles: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> stages: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
// stft_mel only (binding 7 is the FFT scratch of fft_global.wgsl):
@group(0) @binding(8) var<storage, read> bands: array<vec4<u32>>; // (first bin, bins, offset, 0)
@group(0) @binding(9) var<storage, read> band_weights: array<f32>;
@group(0) @binding(10) var<storage, read_write> row_max: array<atomic<u32>>;

var<workgroup> wg_max: atomic<u32>;
// The values of a tile of frames, laid out (value, frame in the tile, re/im), one value's run of
// tile x (1 or 2) words every tile_pitch(w) words: the odd pitch puts the values that
// neighbouring threads stage (one value each, same frame) in different banks. Set by the host to
// at least (values per frame) x (tile x w + 1) words when it tiles.
override TILE_WORDS: u32 = 1u;
var<workgroup> out_tile: array<f32, TILE_WORDS>;

// Sample `t` of row `row_local` (t may be outside 0..len: padding).
fn sample(row_local: u32, t: i32, len: i32) -> f32 {
    var i = t;
    if (i < 0 || i >= len) {
        if (p.pad_mode == 0u) {
            return 0.0;
        }
        if (len == 1) {
            i = 0;
        } else {
            let period = 2 * (len - 1);
            i = i % period;
            if (i < 0) {
                i = i + period;
            }
            if (i >= len) {
                i = period - i;
            }
        }
    }
    let local = i - i32(p.sample_offset);
    if (local < 0 || local >= i32(p.row_stride)) {
        return 0.0;
    }
    return signal[row_local * p.row_stride + u32(local)];
}

fn powered(v: vec2<f32>) -> f32 {
    let s = v.x * v.x + v.y * v.y;
    if (p.power == 2.0) {
        return s;
    } else if (p.power == 1.0) {
        return sqrt(s);
    } else if (s > 0.0) {
        return pow(s, 0.5 * p.power);
    }
    return 0.0;
}

fn store(row_local: u32, k: u32, f_local: u32, v: vec2<f32>) {
    let idx = (row_local * p.n_freq + k) * p.frames_out + f_local;
    if (p.out_mode == 0u) {
        out[2u * idx] = v.x;
        out[2u * idx + 1u] = v.y;
    } else {
        out[idx] = powered(v);
    }
}

// Bin k (0 <= k <= n_fft / 2) of the real FFT, from the m-point complex FFT in fft memory.
fn bin_value(k: u32) -> vec2<f32> {
    let m = p.m;
    if ((p.n_fft & 1u) == 1u) {
        return fft_ld(k);
    }
    // Split the n_fft/2-point complex FFT of (even, odd) samples into the real FFT.
    let zk = fft_ld(k % m);
    let zc = conj(fft_ld((m - k) % m));
    let e = 0.5 * (zk + zc);
    let d = 0.5 * (zk - zc);
    let o = vec2<f32>(d.y, -d.x); // -i * d
    return e + cmul(twiddles[k], o);
}

fn bin_power(k: u32) -> f32 {
    return powered(bin_value(k));
}

// Loads frame `frame` of row `row_local` (padded, windowed) into fft memory and transforms it.
fn frame_fft(tid: u32, item: u32, row_local: u32, frame: u32, len: i32) {
    fft_begin(item, p.m);
    let t0 = i32(frame * p.hop) - i32(p.pad);
    let m = p.m;
    let even = (p.n_fft & 1u) == 0u;
    for (var n = tid; n < m; n = n + WG) {
        if (even) {
            let j = 2u * n;
            fft_st(n, vec2<f32>(
                sample(row_local, t0 + i32(j), len) * window[j],
                sample(row_local, t0 + i32(j) + 1, len) * window[j + 1u],
            ));
        } else {
            fft_st(n, vec2<f32>(sample(row_local, t0 + i32(n), len) * window[n], 0.0));
        }
    }
    fft_sync();
    // twiddles has T = n_fft entries; T / m = 2 (even) or 1 (odd).
    fft_stockham(tid, m, p.n_stages, p.n_fft / m);
}

// Where a workgroup works: its (row, frame) and whether that frame exists.
struct Loc {
    item: u32,
    row_local: u32,
    f_local: u32,
    frame: u32,
    len: i32,
    // 0: no such item (grid padding), 1: past the row's frames (write zeros), 2: a frame
    state: u32,
}

fn locate(wid: vec3<u32>, nwg: vec3<u32>) -> Loc {
    var l: Loc;
    l.item = wid.x + wid.y * nwg.x;
    if (l.item >= p.rows * p.frames_out) {
        l.state = 0u;
        return l;
    }
    l.row_local = l.item / p.frames_out;
    l.f_local = l.item - l.row_local * p.frames_out;
    let info = rows_info[p.row_offset + l.row_local];
    l.frame = p.frame_offset + l.f_local;
    l.len = i32(info.x);
    l.state = select(1u, 2u, l.frame < info.y);
    return l;
}

// Where a tiled workgroup works: frames f_first .. f_first + count (chunk-local) of one row.
struct Tile {
    ok: bool,
    slot: u32,
    row_local: u32,
    f_first: u32,
    count: u32,
    len: i32,
    frames: u32, // the row's frames (later ones are padding: zeros)
}

fn locate_tile(wid: vec3<u32>, nwg: vec3<u32>) -> Tile {
    var t: Tile;
    t.slot = wid.x + wid.y * nwg.x;
    let per_row = (p.frames_out + p.tile - 1u) / p.tile;
    t.ok = t.slot < p.rows * per_row;
    if (!t.ok) {
        return t;
    }
    t.row_local = t.slot / per_row;
    t.f_first = (t.slot - t.row_local * per_row) * p.tile;
    t.count = min(p.tile, p.frames_out - t.f_first);
    let info = rows_info[p.row_offset + t.row_local];
    t.len = i32(info.x);
    t.frames = info.y;
    return t;
}

// Words between the starts of two values' runs in out_tile: odd.
fn tile_pitch(w: u32) -> u32 {
    return p.tile * w + 1u;
}

// Writes the staged tile: `n_vals` values per frame of `w` f32 each (2: complex), in order of
// output address, so that consecutive threads write consecutive words.
fn flush_tile(tid: u32, t: Tile, n_vals: u32, w: u32) {
    let run = p.tile * w;
    let pitch = tile_pitch(w);
    for (var j = tid; j < n_vals * run; j = j + WG) {
        let v = j / run;
        let r = j - v * run;
        let i = r / w;
        if (i < t.count) {
            out[((t.row_local * n_vals + v) * p.frames_out + t.f_first) * w + r] =
                out_tile[v * pitch + r];
        }
    }
}

@compute @workgroup_size(128)
fn stft_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let t = locate_tile(wid, nwg);
    if (!t.ok) {
        return;
    }
    let staged = p.tile > 1u;
    let w = select(1u, 2u, p.out_mode == 0u);
    let pitch = tile_pitch(w);
    for (var i = 0u; i < t.count; i = i + 1u) {
        let f_local = t.f_first + i;
        let frame = p.frame_offset + f_local;
        let live = frame < t.frames;
        if (live) {
            frame_fft(tid, t.slot, t.row_local, frame, t.len);
        }
        for (var k = tid; k < p.n_freq; k = k + WG) {
            var v = vec2<f32>(0.0, 0.0);
            if (live) {
                v = bin_value(k);
            }
            if (!staged) {
                store(t.row_local, k, f_local, v);
            } else if (w == 2u) {
                out_tile[k * pitch + 2u * i] = v.x;
                out_tile[k * pitch + 2u * i + 1u] = v.y;
            } else {
                out_tile[k * pitch + i] = powered(v);
            }
        }
        // The next frame overwrites the FFT memory; the flush reads every thread's values.
        workgroupBarrier();
    }
    if (staged) {
        flush_tile(tid, t, p.n_freq, w);
    }
}

@compute @workgroup_size(128)
fn stft_mel(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let t = locate_tile(wid, nwg);
    if (!t.ok) {
        return;
    }
    let staged = p.tile > 1u;
    let pitch = tile_pitch(1u);
    if (tid == 0u) {
        atomicStore(&wg_max, 0u);
    }
    var local_max = 0.0;
    for (var i = 0u; i < t.count; i = i + 1u) {
        let f_local = t.f_first + i;
        let frame = p.frame_offset + f_local;
        let live = frame < t.frames;
        if (live) {
            frame_fft(tid, t.slot, t.row_local, frame, t.len);
            // |X[k]|^power for k <= n_fft / 2, in place of the spectrum (see fft_power_in_place).
            fft_power_in_place(tid, p.m, p.n_freq);
        }
        for (var b = tid; b < p.n_bands; b = b + WG) {
            var acc = 0.0;
            if (live) {
                let band = bands[b];
                for (var j = 0u; j < band.y; j = j + 1u) {
                    acc = acc + band_weights[band.z + j] * fft_power_at(band.x + j, p.m);
                }
            }
            if (staged) {
                out_tile[b * pitch + i] = acc;
            } else {
                out[(t.row_local * p.n_bands + b) * p.frames_out + f_local] = acc;
            }
            local_max = max(local_max, acc);
        }
        workgroupBarrier();
    }
    if (staged) {
        flush_tile(tid, t, p.n_bands, 1u);
    }
    atomicMax(&wg_max, bitcast<u32>(local_max));
    workgroupBarrier();
    if (tid == 0u) {
        atomicMax(&row_max[p.row_offset + t.row_local], atomicLoad(&wg_max));
    }
}
