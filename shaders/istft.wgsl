// iSTFT (librosa.istft semantics) in two passes:
//   istft_frames:  one workgroup per (row, frame): inverse real FFT in workgroup memory, times
//                  the synthesis window, into a (rows, n_frames, n_fft) scratch buffer;
//   istft_overlap: one thread per output sample: overlap-add of the frames covering it,
//                  divided by the window sum-square where that exceeds the smallest normal f32.

struct Params {
    n_fft: u32,
    m: u32,          // complex FFT length: n_fft / 2 (even) or n_fft (odd)
    hop: u32,
    n_freq: u32,
    frames_in: u32,  // frames per row in the input spectrum
    n_frames: u32,   // frames used (<= frames_in)
    rows: u32,
    out_len: u32,    // output samples per row
    start: u32,      // samples trimmed from the front: n_fft / 2 when centred
    n_stages: u32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 128u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> spec: array<vec2<f32>>;       // (rows, n_freq, frames_in)
@group(0) @binding(2) var<storage, read> window: array<f32>;           // n_fft
@group(0) @binding(3) var<storage, read> twiddles: array<vec2<f32>>;   // T = n_fft entries
@group(0) @binding(4) var<storage, read> stages: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> frames: array<f32>;     // (rows, n_frames, n_fft)
@group(0) @binding(6) var<storage, read_write> out: array<f32>;        // (rows, out_len)

fn bin(row: u32, k: u32, f: u32) -> vec2<f32> {
    var v = spec[(row * p.n_freq + k) * p.frames_in + f];
    // numpy's irfft ignores the imaginary parts of DC and (even n_fft) Nyquist.
    if (k == 0u || 2u * k == p.n_fft) {
        v.y = 0.0;
    }
    return v;
}

@compute @workgroup_size(128)
fn istft_frames(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let item = wid.x + wid.y * nwg.x;
    if (item >= p.rows * p.n_frames) {
        return;
    }
    let row = item / p.n_frames;
    let f = item - row * p.n_frames;
    let m = p.m;
    fft_begin(item, m);
    let even = (p.n_fft & 1u) == 0u;
    // Load conj(Z) where Z is the m-point spectrum whose inverse DFT gives the frame.
    for (var k = tid; k < m; k = k + WG) {
        var z: vec2<f32>;
        if (even) {
            let a = bin(row, k, f);
            let b = conj(bin(row, m - k, f));
            let e = 0.5 * (a + b);
            let o = cmul(0.5 * (a - b), conj(twiddles[k]));
            z = e + vec2<f32>(-o.y, o.x); // e + i o
        } else if (k < p.n_freq) {
            z = bin(row, k, f);
        } else {
            z = conj(bin(row, m - k, f));
        }
        fft_st(k, conj(z));
    }
    fft_sync();
    fft_stockham(tid, m, p.n_stages, p.n_fft / m);
    // ifft(Z) = conj(fft(conj Z)) / m
    let base = (row * p.n_frames + f) * p.n_fft;
    let scale = 1.0 / f32(m);
    for (var n = tid; n < m; n = n + WG) {
        let y = fft_ld(n) * scale;
        if (even) {
            frames[base + 2u * n] = y.x * window[2u * n];
            frames[base + 2u * n + 1u] = -y.y * window[2u * n + 1u];
        } else {
            frames[base + n] = y.x * window[n];
        }
    }
}

@compute @workgroup_size(128)
fn istft_overlap(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= p.rows * p.out_len) {
        return;
    }
    let row = idx / p.out_len;
    let i = idx - row * p.out_len;
    let t = i + p.start;
    let full = p.n_fft + p.hop * (p.n_frames - 1u);
    if (t >= full) {
        out[idx] = 0.0;
        return;
    }
    // Frames f with f * hop <= t < f * hop + n_fft.
    var f_hi = t / p.hop;
    if (f_hi >= p.n_frames) {
        f_hi = p.n_frames - 1u;
    }
    var f_lo = 0u;
    if (t >= p.n_fft) {
        f_lo = (t - p.n_fft) / p.hop + 1u;
    }
    var acc = 0.0;
    var wss = 0.0;
    for (var f = f_lo; f <= f_hi; f = f + 1u) {
        let j = t - f * p.hop;
        acc = acc + frames[(row * p.n_frames + f) * p.n_fft + j];
        let w = window[j];
        wss = wss + w * w;
    }
    if (wss > 1.17549435e-38) {
        acc = acc / wss;
    }
    out[idx] = acc;
}
