// A sparse filterbank over a spectrogram already on the device (a DeviceSpectrogram piece,
// (rows, n_freq, frames) f32): out[b] = sum_k w[b, k] * spec[k] per (row, frame), laid out
// (rows, n_bands, frames), and each row's maximum (f32 bits; values are >= 0) folded into
// row_max, as stft.wgsl's stft_mel does when it computes the spectrum itself.
// One thread per (row, frame): neighbouring threads take neighbouring frames, so the reads of
// a bin and the writes of a band are contiguous across the workgroup.
// CPU twin: `bank_frames` in src/cpu/features.rs.

struct Params {
    rows: u32,         // rows in this piece
    n_freq: u32,
    n_bands: u32,
    frames: u32,       // frames in this piece
    frame_offset: u32, // first frame of this piece
    row_offset: u32,   // first row of this piece
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 128u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> rows_info: array<vec2<u32>>; // (length, frames)
@group(0) @binding(2) var<storage, read> spec: array<f32>;
@group(0) @binding(3) var<storage, read> bands: array<vec4<u32>>; // (first bin, bins, offset, 0)
@group(0) @binding(4) var<storage, read> band_weights: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> row_max: array<atomic<u32>>;

@compute @workgroup_size(128)
fn bank_frames(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= p.rows * p.frames) {
        return;
    }
    let row_local = idx / p.frames;
    let f = idx - row_local * p.frames;
    let row = p.row_offset + row_local;
    let valid = p.frame_offset + f < rows_info[row].y;
    let src = row_local * p.n_freq * p.frames + f;
    let dst = row_local * p.n_bands * p.frames + f;
    var local_max = 0.0;
    for (var b = 0u; b < p.n_bands; b = b + 1u) {
        var acc = 0.0;
        if (valid) {
            let band = bands[b];
            for (var j = 0u; j < band.y; j = j + 1u) {
                acc = acc + band_weights[band.z + j] * spec[src + (band.x + j) * p.frames];
            }
        }
        out[dst + b * p.frames] = acc;
        local_max = max(local_max, acc);
    }
    let bits = bitcast<u32>(local_max);
    if (bits > atomicLoad(&row_max[row])) {
        atomicMax(&row_max[row], bits);
    }
}
