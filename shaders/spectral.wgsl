// Spectral features and frame statistics, one workgroup per (row, frame); twins in
// src/cpu/spectral.rs. Composed after stft.wgsl (its Params, bindings, framing and FFT): the
// spectral_* kernels transform the frame, turn the spectrum into |X|^power in place (power 1
// = magnitude, or flatness's power) and reduce it in workgroup memory, so no spectrum ever
// reaches global memory. frame_rms / frame_zcr read the raw frame (no window, no FFT).
// Output (rows, n_out, frames_out) in `out`; frames past a row's own count come out zero.
//   spectral_centroid:  sum_k f_k S_k / sum_k S_k
//   spectral_bandwidth: (sum_k S_k |f_k - centroid|^p / sum_k S_k)^(1/p)
//   spectral_rolloff:   f_k of the lowest k whose cumulative S reaches roll_percent * total
//   spectral_flatness:  exp(mean_k ln X_k) / mean_k X_k, X_k = max(amin, |X_k|^power)
//   spectral_contrast:  per band b (bands[b] = lo, hi, q): mean of the q largest (peak, row
//                       b) and the q smallest (valley, row n_bands + b) of S[lo..hi]; the
//                       host turns them into dB (it needs the whole array's maximum)
//   frame_rms:          sqrt(mean(x^2)) over the padded frame (constant or reflect)
//   frame_zcr:          sign changes between neighbours / frame length, edge padding, |x| <=
//                       threshold counted as positive
// Besides the FFT, no thread loops over more than ceil(bins / 128) bins (or samples) at a time
// (lavapipe's loop guard stops long loops), and the spectrum is read from workgroup memory.

struct Spectral {
    bin_hz: f32,       // sr / n_fft: f_k = k * bin_hz
    p: f32,            // bandwidth exponent
    roll_percent: f32, // rolloff
    amin: f32,         // flatness floor, applied to |X|^power
    n_bands: u32,      // contrast: entries of `bands` (librosa's n_bands + 1)
    threshold: f32,    // zcr: |x| <= threshold counts as zero
    n_out: u32,        // values per frame
    _pad0: u32,
}

@group(0) @binding(11) var<storage, read> sp: Spectral;

var<workgroup> red: array<vec4<f32>, 128>;
var<workgroup> hist: array<atomic<u32>, 32>;
var<workgroup> picked: vec4<u32>;
var<workgroup> first_bin: atomic<u32>;

fn out_index(l: Loc, b: u32) -> u32 {
    return (l.row_local * sp.n_out + b) * p.frames_out + l.f_local;
}

fn write_zeros(tid: u32, l: Loc) {
    for (var b = tid; b < sp.n_out; b = b + WG) {
        out[out_index(l, b)] = 0.0;
    }
}

// |X_k|^power for every bin k < n_freq, read back with fft_power_at(k, p.m).
fn spectrum(tid: u32, l: Loc) {
    frame_fft(tid, l.item, l.row_local, l.frame, l.len);
    fft_power_in_place(tid, p.m, p.n_freq);
}

// Sum of `v` over the workgroup (tree), the same value in every thread.
fn wg_sum(tid: u32, v: vec4<f32>) -> vec4<f32> {
    red[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (tid < s) {
            red[tid] = red[tid] + red[tid + s];
        }
        workgroupBarrier();
    }
    return workgroupUniformLoad(&red[0]);
}

fn freq(k: u32) -> f32 {
    return f32(k) * sp.bin_hz;
}

// (sum_k S_k, sum_k f_k S_k).
fn moments(tid: u32) -> vec2<f32> {
    var acc = vec4<f32>(0.0);
    for (var k = tid; k < p.n_freq; k = k + WG) {
        let s = fft_power_at(k, p.m);
        acc = acc + vec4<f32>(s, freq(k) * s, 0.0, 0.0);
    }
    return wg_sum(tid, acc).xy;
}

// librosa's util.normalize(norm=1): a column summing to zero is left as it is.
fn norm_of(total: f32) -> f32 {
    return select(1.0, total, total > 0.0);
}

@compute @workgroup_size(128)
fn spectral_centroid(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    spectrum(tid, l);
    let m = moments(tid);
    if (tid == 0u) {
        out[out_index(l, 0u)] = m.y / norm_of(m.x);
    }
}

fn pow_p(d: f32, e: f32) -> f32 {
    if (e == 1.0) {
        return d;
    }
    if (e == 2.0) {
        return d * d;
    }
    if (d <= 0.0) {
        return 0.0;
    }
    return pow(d, e);
}

@compute @workgroup_size(128)
fn spectral_bandwidth(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    spectrum(tid, l);
    let m = moments(tid);
    let norm = norm_of(m.x);
    let centroid = m.y / norm;
    var acc = vec4<f32>(0.0);
    for (var k = tid; k < p.n_freq; k = k + WG) {
        let s = fft_power_at(k, p.m);
        acc.x = acc.x + s * pow_p(abs(freq(k) - centroid), sp.p);
    }
    let t = wg_sum(tid, acc);
    if (tid == 0u) {
        var bw = t.x / norm;
        if (sp.p == 2.0) {
            bw = sqrt(bw);
        } else if (sp.p != 1.0) {
            bw = pow_p(bw, 1.0 / sp.p);
        }
        out[out_index(l, 0u)] = bw;
    }
}

@compute @workgroup_size(128)
fn spectral_rolloff(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    spectrum(tid, l);
    // Each thread owns a contiguous block of bins; an inclusive scan of the block sums gives
    // every block its starting cumulative sum, then each thread walks its own block.
    let per = (p.n_freq + WG - 1u) / WG;
    let k0 = min(tid * per, p.n_freq);
    let k1 = min(k0 + per, p.n_freq);
    var block = 0.0;
    for (var k = k0; k < k1; k = k + 1u) {
        block = block + fft_power_at(k, p.m);
    }
    if (tid == 0u) {
        atomicStore(&first_bin, 0xffffffffu);
    }
    red[tid] = vec4<f32>(block, 0.0, 0.0, 0.0);
    workgroupBarrier();
    for (var off = 1u; off < WG; off = off * 2u) {
        var v = red[tid].x;
        if (tid >= off) {
            v = v + red[tid - off].x;
        }
        workgroupBarrier();
        red[tid].x = v;
        workgroupBarrier();
    }
    var cum = 0.0;
    if (tid > 0u) {
        cum = red[tid - 1u].x;
    }
    let total = workgroupUniformLoad(&red[WG - 1u]).x;
    let threshold = sp.roll_percent * total;
    for (var k = k0; k < k1; k = k + 1u) {
        cum = cum + fft_power_at(k, p.m);
        if (cum >= threshold) {
            atomicMin(&first_bin, k);
            break;
        }
    }
    workgroupBarrier();
    if (tid == 0u) {
        let k = min(atomicLoad(&first_bin), p.n_freq - 1u);
        out[out_index(l, 0u)] = freq(k);
    }
}

@compute @workgroup_size(128)
fn spectral_flatness(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    spectrum(tid, l); // |X|^power: the plan sets p.power to flatness's power
    var acc = vec4<f32>(0.0);
    for (var k = tid; k < p.n_freq; k = k + WG) {
        let x = max(sp.amin, fft_power_at(k, p.m));
        acc = acc + vec4<f32>(log(x), x, 0.0, 0.0);
    }
    let t = wg_sum(tid, acc);
    if (tid == 0u) {
        let n = f32(p.n_freq);
        out[out_index(l, 0u)] = exp(t.x / n) / (t.y / n);
    }
}

// Thread 0, after a histogram step: the digit (at `shift`) of the rank-th smallest value
// among those matching the prefix, counted in hist[base .. base + 16): (new prefix, rank
// within it).
fn pick_digit(base: u32, prefix: u32, rank: u32, shift: u32) -> vec2<u32> {
    var r = rank;
    for (var d = 0u; d < 15u; d = d + 1u) {
        let c = atomicLoad(&hist[base + d]);
        if (r <= c) {
            return vec2<u32>(prefix | (d << shift), r);
        }
        r = r - c;
    }
    return vec2<u32>(prefix | (15u << shift), r);
}

// The ka-th and kb-th smallest (1-based) of S[lo..hi] as f32 bit patterns: a radix select
// over the bits (S >= 0, so the bit patterns order like the values), 4 bits per step, both
// ranks at once.
fn select2(tid: u32, lo: u32, hi: u32, ka: u32, kb: u32) -> vec2<u32> {
    var want = vec4<u32>(0u, 0u, ka, kb); // (prefix a, prefix b, rank a, rank b)
    for (var step = 0u; step < 8u; step = step + 1u) {
        let shift = 28u - 4u * step;
        var mask = 0u;
        if (step > 0u) {
            mask = ~((1u << (shift + 4u)) - 1u);
        }
        if (tid < 32u) {
            atomicStore(&hist[tid], 0u);
        }
        workgroupBarrier();
        for (var k = lo + tid; k < hi; k = k + WG) {
            let bits = bitcast<u32>(fft_power_at(k, p.m));
            let d = (bits >> shift) & 15u;
            if ((bits & mask) == want.x) {
                atomicAdd(&hist[d], 1u);
            }
            if ((bits & mask) == want.y) {
                atomicAdd(&hist[16u + d], 1u);
            }
        }
        workgroupBarrier();
        if (tid == 0u) {
            let a = pick_digit(0u, want.x, want.z, shift);
            let b = pick_digit(16u, want.y, want.w, shift);
            picked = vec4<u32>(a.x, b.x, a.y, b.y);
        }
        want = workgroupUniformLoad(&picked);
    }
    return want.xy;
}

@compute @workgroup_size(128)
fn spectral_contrast(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    spectrum(tid, l);
    for (var b = 0u; b < sp.n_bands; b = b + 1u) {
        let band = bands[b];
        let len = band.y - band.x;
        let q = band.z;
        // valley: the q smallest; peak: the q largest, i.e. from the (len - q + 1)-th smallest
        let v = select2(tid, band.x, band.y, q, len - q + 1u);
        let va = bitcast<f32>(v.x);
        let vb = bitcast<f32>(v.y);
        var acc = vec4<f32>(0.0);
        for (var k = band.x + tid; k < band.y; k = k + WG) {
            let s = fft_power_at(k, p.m);
            if (s < va) {
                acc.x = acc.x + s;
                acc.y = acc.y + 1.0;
            }
            if (s > vb) {
                acc.z = acc.z + s;
                acc.w = acc.w + 1.0;
            }
        }
        let t = wg_sum(tid, acc);
        if (tid == 0u) {
            let qf = f32(q);
            out[out_index(l, b)] = (t.z + (qf - t.w) * vb) / qf;
            out[out_index(l, sp.n_bands + b)] = (t.x + (qf - t.y) * va) / qf;
        }
    }
}

// Sample t of the row for the frame statistics: zeros or reflection through stft.wgsl's
// `sample`, or the end samples repeated (pad_mode 2, "edge").
fn frame_sample(row_local: u32, t: i32, len: i32) -> f32 {
    if (p.pad_mode == 2u) {
        return sample(row_local, clamp(t, 0, len - 1), len);
    }
    return sample(row_local, t, len);
}

@compute @workgroup_size(128)
fn frame_rms(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    let t0 = i32(l.frame * p.hop) - i32(p.pad);
    var acc = 0.0;
    for (var j = tid; j < p.n_fft; j = j + WG) {
        let x = frame_sample(l.row_local, t0 + i32(j), l.len);
        acc = acc + x * x;
    }
    let t = wg_sum(tid, vec4<f32>(acc, 0.0, 0.0, 0.0));
    if (tid == 0u) {
        out[out_index(l, 0u)] = sqrt(t.x / f32(p.n_fft));
    }
}

fn negative(x: f32) -> bool {
    return x < 0.0 && abs(x) > sp.threshold;
}

@compute @workgroup_size(128)
fn frame_zcr(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let l = locate(wid, nwg);
    if (l.state == 0u) {
        return;
    }
    if (l.state == 1u) {
        write_zeros(tid, l);
        return;
    }
    let t0 = i32(l.frame * p.hop) - i32(p.pad);
    var acc = 0.0;
    for (var j = tid + 1u; j < p.n_fft; j = j + WG) {
        let a = frame_sample(l.row_local, t0 + i32(j) - 1, l.len);
        let b = frame_sample(l.row_local, t0 + i32(j), l.len);
        if (negative(a) != negative(b)) {
            acc = acc + 1.0;
        }
    }
    let t = wg_sum(tid, vec4<f32>(acc, 0.0, 0.0, 0.0));
    if (tid == 0u) {
        out[out_index(l, 0u)] = t.x / f32(p.n_fft);
    }
}
