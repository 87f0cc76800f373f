// STFT: frame + pad + window + real FFT + epilogue, one workgroup per (row, frame).
// Nothing but the output ever touches global memory: frames are read straight from the signal.
//   stft_forward: complex bins or |X|^power per bin, (rows, n_freq, frames).
//   stft_mel:     |X|^power reduced by a sparse filterbank, (rows, n_bands, frames), and each
//                 row's maximum (f32 bits; values are >= 0) folded into row_max.

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

@compute @workgroup_size(128)
fn stft_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        for (var k = tid; k < p.n_freq; k = k + WG) {
            store(l.row_local, k, l.f_local, vec2<f32>(0.0, 0.0));
        }
        return;
    }
    frame_fft(tid, l.item, l.row_local, l.frame, l.len);
    for (var k = tid; k < p.n_freq; k = k + WG) {
        store(l.row_local, k, l.f_local, bin_value(k));
    }
}

@compute @workgroup_size(128)
fn stft_mel(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    let base = l.row_local * p.n_bands * p.frames_out + l.f_local;
    if (l.state == 1u) {
        for (var b = tid; b < p.n_bands; b = b + WG) {
            out[base + b * p.frames_out] = 0.0;
        }
        return;
    }
    if (tid == 0u) {
        atomicStore(&wg_max, 0u);
    }
    frame_fft(tid, l.item, l.row_local, l.frame, l.len);
    // |X[k]|^power for k <= n_fft / 2, in place of the spectrum (see fft_power_in_place).
    fft_power_in_place(tid, p.m, p.n_freq);
    var local_max = 0.0;
    for (var b = tid; b < p.n_bands; b = b + WG) {
        let band = bands[b];
        var acc = 0.0;
        for (var j = 0u; j < band.y; j = j + 1u) {
            acc = acc + band_weights[band.z + j] * fft_power_at(band.x + j, p.m);
        }
        out[base + b * p.frames_out] = acc;
        local_max = max(local_max, acc);
    }
    atomicMax(&wg_max, bitcast<u32>(local_max));
    workgroupBarrier();
    if (tid == 0u) {
        atomicMax(&row_max[p.row_offset + l.row_local], atomicLoad(&wg_max));
    }
}
