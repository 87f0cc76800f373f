// FFT convolution of waveforms with impulse responses: uniformly partitioned overlap-save
// (see src/gpu/conv.rs). Each impulse response is cut into partitions of B taps whose
// N-point spectra (N = 2B, scaled by 1/N, bins 0..N/2) sit in `bank` after the twiddles.
// `forward`: one workgroup per (row, segment j) transforms the input samples
// [(j - 1) B, (j + 1) B) of the row (zero outside its valid length) into `spec`.
// `inverse`: one workgroup per (row, output block j) sums X[j - k] H[k] over the partitions,
// transforms back and keeps the last B samples: outputs [j B, (j + 1) B). It writes those
// within the row's length and takes the peak |y| over the full convolution (tail included)
// into `peaks` (f32 bits, atomicMax; NaN bits order above every number).
// `scale`: peak normalisation to 0.5 over each example's rows (audiomentations).

const N: u32 = 2048u;
const B: u32 = 1024u;
const LOG_N: u32 = 11u;
const WG: u32 = 256u;
const BINS: u32 = 1025u;

struct Params {
    rows: u32,
    stride: u32,
    // first row of this chunk and rows in it (the spectra scratch holds one chunk)
    row0: u32,
    chunk_rows: u32,
    // input segments per row in the scratch, output blocks per row
    segs: u32,
    blocks: u32,
    gx_forward: u32,
    gx_inverse: u32,
    gx_scale: u32,
    // workgroups of WG samples per row in `scale`
    row_groups: u32,
    channels: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
// per row: (offset of its first partition in `bank`, partitions, impulse response length, active)
@group(0) @binding(3) var<storage, read> rowtab: array<vec4<u32>>;
// twiddles exp(-2 pi i k / N), k < N / 2, then the partition spectra
@group(0) @binding(4) var<storage, read> bank: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> spec: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> peaks: array<atomic<u32>>;

var<workgroup> buf: array<vec2<f32>, 2048>;
var<workgroup> info: vec4<u32>;

// The 2048-point FFT (rev, cmul, fft) comes from shaders/common/fft2048.wgsl; its twiddles
// are the first N / 2 entries of the bank.
fn twiddle(k: u32) -> vec2<f32> {
    return bank[k];
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_forward;
    let lr = g / P.segs;
    let j = g % P.segs;
    let r = P.row0 + lr;
    if tid == 0u {
        var a = vec4<u32>(0u);
        if lr < P.chunk_rows && r < P.rows {
            // min: encode cannot see the lengths; never write into the next row
            let len = min(lengths[r], P.stride);
            // segment j is not all zeros, and a row with an impulse response
            if rowtab[r].w != 0u && j * B < len + B {
                a = vec4<u32>(1u, len, 0u, 0u);
            }
        }
        info = a;
    }
    let act = workgroupUniformLoad(&info);
    if act.x == 0u {
        return;
    }
    let len = act.y;
    let base = r * P.stride;
    for (var q = 0u; q < N / WG; q++) {
        let t = tid + q * WG;
        var v = 0.0;
        // sample j B + t - B
        if j * B + t >= B && j * B + t - B < len {
            v = data[base + j * B + t - B];
        }
        buf[rev(t)] = vec2<f32>(v, 0.0);
    }
    workgroupBarrier();
    fft(tid, false);
    let o = (lr * P.segs + j) * BINS;
    for (var b = tid; b < BINS; b += WG) {
        spec[o + b] = buf[b];
    }
}

@compute @workgroup_size(256)
fn inverse(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_inverse;
    let lr = g / P.blocks;
    let j = g % P.blocks;
    let r = P.row0 + lr;
    if tid == 0u {
        var a = vec4<u32>(0u);
        if lr < P.chunk_rows && r < P.rows {
            // min: encode cannot see the lengths; never write into the next row
            let len = min(lengths[r], P.stride);
            let t = rowtab[r];
            // output block j starts inside the full convolution (len + ir_len - 1 samples)
            if t.w != 0u && len > 0u && j * B < len + t.z - 1u {
                a = vec4<u32>(1u, len, len + t.z - 1u, 0u);
            }
        }
        info = a;
    }
    let act = workgroupUniformLoad(&info);
    if act.x == 0u {
        return;
    }
    let len = act.y;
    let full = act.z;
    let t = rowtab[r];
    // segments j - k with data: j - k < nseg; partitions k < t.y
    let nseg = (len + B - 1u) / B + 1u;
    let k0 = select(0u, j + 1u - nseg, j + 1u > nseg);
    let k1 = min(t.y, j + 1u);
    let xo = lr * P.segs;
    for (var b = tid; b < BINS; b += WG) {
        var acc = vec2<f32>(0.0);
        for (var k = k0; k < k1; k++) {
            acc += cmul(spec[(xo + j - k) * BINS + b], bank[t.x + k * BINS + b]);
        }
        buf[rev(b)] = acc;
        // the spectrum of a real signal: Y[N - b] = conj(Y[b])
        if b > 0u && b < N / 2u {
            buf[rev(N - b)] = vec2<f32>(acc.x, -acc.y);
        }
    }
    workgroupBarrier();
    fft(tid, true);
    var peak = 0u;
    let base = r * P.stride;
    for (var q = 0u; q < B / WG; q++) {
        let i = tid + q * WG;
        let n = j * B + i;
        let y = buf[B + i].x;
        if n < full {
            peak = max(peak, bitcast<u32>(y) & 0x7fffffffu);
        }
        if n < len {
            data[base + n] = y;
        }
    }
    atomicMax(&peaks[r], peak);
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let g = wg.x + wg.y * P.gx_scale;
    let r = g / P.row_groups;
    let n = (g % P.row_groups) * WG + tid;
    if r >= P.rows || rowtab[r].w == 0u || n >= min(lengths[r], P.stride) {
        return;
    }
    let first = r / P.channels * P.channels;
    var m = 0u;
    for (var c = 0u; c < P.channels; c++) {
        m = max(m, atomicLoad(&peaks[first + c]));
    }
    // as audiomentations: scale when the peak is > 0 (a NaN peak is not; +inf gives 0)
    if m > 0u && m <= 0x7f800000u {
        data[r * P.stride + n] *= 0.5 / bitcast<f32>(m);
    }
}
