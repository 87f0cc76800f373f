// Constant-Q / variable-Q transform, full rate (composed after stft.wgsl: its bindings,
// framing and FFT). One pipeline per octave: each frame of the octave's n_fft (window all ones,
// centred) is transformed in fft memory and projected on the octave's sparse complex basis,
// one output bin per basis row:  V[b] = sum_j w[b, j] * X[first_b + j]  (the 1/sqrt(length)
// of `scale` is folded into w). Output (rows, out_bins, frames) with this octave's bins at
// bin_offset..bin_offset + n_bins: |V| (out_mode 1) or (re, im) (out_mode 0).
// Bindings 8 and 9 (stft.wgsl's bands and band_weights) hold the basis: per bin
// (first FFT bin, count, offset, 0), and the weights as interleaved (re, im) f32.
// CPU twin: src/cpu/cqt.rs.

struct CqtOctave {
    n_bins: u32,     // bins of this octave
    bin_offset: u32, // its first output bin
    out_bins: u32,   // bins of the whole output
    _pad0: u32,
}

@group(0) @binding(11) var<storage, read> octave: CqtOctave;

fn cqt_store(idx: u32, v: vec2<f32>) {
    if (p.out_mode == 0u) {
        out[2u * idx] = v.x;
        out[2u * idx + 1u] = v.y;
    } else {
        out[idx] = length(v);
    }
}

@compute @workgroup_size(128)
fn stft_cqt(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    let base = (l.row_local * octave.out_bins + octave.bin_offset) * p.frames_out + l.f_local;
    if (l.state == 1u) {
        for (var b = tid; b < octave.n_bins; b = b + WG) {
            cqt_store(base + b * p.frames_out, vec2<f32>(0.0, 0.0));
        }
        return;
    }
    frame_fft(tid, l.item, l.row_local, l.frame, l.len);
    for (var b = tid; b < octave.n_bins; b = b + WG) {
        let band = bands[b];
        var acc = vec2<f32>(0.0, 0.0);
        for (var j = 0u; j < band.y; j = j + 1u) {
            let w = 2u * (band.z + j);
            acc = acc + cmul(vec2<f32>(band_weights[w], band_weights[w + 1u]), bin_value(band.x + j));
        }
        cqt_store(base + b * p.frames_out, acc);
    }
}
