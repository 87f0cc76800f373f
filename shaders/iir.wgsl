// IIR filtering of waveforms (second-order sections), in place, one workgroup per row.
//
// Each section runs as a trapezoidal state-variable filter (Simper's SVF): the same transfer
// function as the section's [b0, b1, b2, 1, a1, a2] (the host maps it), but far better
// conditioned in f32 when poles sit near z = 1 (low cutoffs): its coefficients are g-scaled
// instead of a1 ~ -2, a2 ~ 1. See src/gpu/iir.rs for the method and measured errors.
//
// Block-state recursion, per section: the row (its virtual sequence: the row, or for zero
// phase its odd extension, forward then reversed) is cut into WG blocks of `block` samples;
// pass 1: each thread filters its block from the zero state and keeps the end state;
// pass 2: thread 0 scans the blocks, start[k+1] = P start[k] + end[k], with P = A^block the
// section's state-transition matrix over one full block (computed on the host in f64);
// pass 3: each thread refilters its block from its true start state and writes it in place.

struct Params {
    rows: u32,
    stride: u32,
    // IIR: samples per block (one block per thread); FIR: workgroups per row
    block: u32,
    // 1: one coefficient record for every row; else one per row
    coef_rows: u32,
    // floats per coefficient record: 4 + 12 * max sections
    rec: u32,
    // the largest odd-extension length (zero phase), slots per row in `ext` are 2 * emax
    emax: u32,
    // 1: each pass starts in the steady state of its first sample (sosfilt_zi * x[0])
    steady: u32,
    // 1: forward; 2: forward then backward over the odd extension (sosfiltfilt)
    passes: u32,
    grid_x: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
// Per record: [n_sections, padlen, 0, 0], then per section
// [A1, A2, A3, m0, m1, m2, P00, P01, P10, P11, dc, 0] (dc: the product of the DC gains of
// the sections before it, which scales the steady state of the first sample).
@group(0) @binding(3) var<storage, read> coefs: array<f32>;
// Zero phase: the odd extensions, [left padlen | right padlen] per row at 2 * emax stride.
@group(0) @binding(4) var<storage, read_write> ext: array<f32>;

const WG: u32 = 256u;

var<workgroup> ends: array<vec2<f32>, WG>;
var<workgroup> starts: array<vec2<f32>, WG>;
var<workgroup> first: f32;

struct Row {
    base: u32,
    xb: u32,
    n: u32,
    e: u32,
    vlen: u32,
    rev: bool,
}

// Physical position of virtual index i: < e left extension, then the row, then the right one.
fn vload(w: Row, i: u32) -> f32 {
    var j = i;
    if (w.rev) {
        j = w.vlen - 1u - i;
    }
    if (j < w.e) {
        return ext[w.xb + j];
    }
    if (j < w.e + w.n) {
        return data[w.base + j - w.e];
    }
    return ext[w.xb + w.e + (j - w.e - w.n)];
}

fn vstore(w: Row, i: u32, v: f32) {
    var j = i;
    if (w.rev) {
        j = w.vlen - 1u - i;
    }
    if (j < w.e) {
        ext[w.xb + j] = v;
    } else if (j < w.e + w.n) {
        data[w.base + j - w.e] = v;
    } else {
        ext[w.xb + w.e + (j - w.e - w.n)] = v;
    }
}

@compute @workgroup_size(256)
fn iir(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let r = wid.x + wid.y * prm.grid_x;
    if (r >= prm.rows) {
        return;
    }
    let n = min(lengths[r], prm.stride);
    if (n == 0u) {
        return;
    }
    var cb = 0u;
    if (prm.coef_rows > 1u) {
        cb = r * prm.rec;
    }
    let nsec = u32(coefs[cb]);
    var e = 0u;
    if (prm.passes == 2u) {
        e = u32(coefs[cb + 1u]);
        // scipy raises here; the host checks lengths it knows, the kernel leaves the row.
        if (n <= e) {
            return;
        }
    }
    var w = Row(r * prm.stride, r * 2u * prm.emax, n, e, n + 2u * e, false);
    // scipy's odd_ext: 2 x[0] - x[e - i] on the left, 2 x[n-1] - x[n-2-i] on the right.
    for (var i = tid; i < e; i += WG) {
        ext[w.xb + i] = 2.0 * data[w.base] - data[w.base + e - i];
        ext[w.xb + e + i] = 2.0 * data[w.base + n - 1u] - data[w.base + n - 2u - i];
    }
    storageBarrier();
    workgroupBarrier();
    let start = tid * prm.block;
    let stop = min(start + prm.block, w.vlen);
    let nblocks = (w.vlen + prm.block - 1u) / prm.block;
    for (var dir = 0u; dir < prm.passes; dir++) {
        w.rev = dir == 1u;
        if (tid == 0u) {
            first = vload(w, 0u);
        }
        let x0 = workgroupUniformLoad(&first);
        for (var s = 0u; s < nsec; s++) {
            let c = cb + 4u + s * 12u;
            let a1 = coefs[c];
            let a2 = coefs[c + 1u];
            let a3 = coefs[c + 2u];
            let m0 = coefs[c + 3u];
            let m1 = coefs[c + 4u];
            let m2 = coefs[c + 5u];
            // pass 1: end state of the block from the zero state
            var z = vec2<f32>(0.0, 0.0);
            for (var i = start; i < stop; i++) {
                let v0 = vload(w, i);
                let v3 = v0 - z.y;
                let v1 = a1 * z.x + a2 * v3;
                let v2 = z.y + a2 * z.x + a3 * v3;
                z = vec2<f32>(2.0 * v1 - z.x, 2.0 * v2 - z.y);
            }
            ends[tid] = z;
            workgroupBarrier();
            // pass 2: true start states, block after block
            if (tid == 0u) {
                let p = mat2x2<f32>(coefs[c + 6u], coefs[c + 8u], coefs[c + 7u], coefs[c + 9u]);
                var st = vec2<f32>(0.0, 0.0);
                if (prm.steady == 1u) {
                    // the SVF's steady state under a constant input u is (0, u)
                    st = vec2<f32>(0.0, x0 * coefs[c + 10u]);
                }
                for (var k = 0u; k < nblocks; k++) {
                    starts[k] = st;
                    st = p * st + ends[k];
                }
            }
            workgroupBarrier();
            // pass 3: refilter from the true start state, in place
            z = starts[tid];
            for (var i = start; i < stop; i++) {
                let v0 = vload(w, i);
                let v3 = v0 - z.y;
                let v1 = a1 * z.x + a2 * v3;
                let v2 = z.y + a2 * z.x + a3 * v3;
                z = vec2<f32>(2.0 * v1 - z.x, 2.0 * v2 - z.y);
                vstore(w, i, m0 * v0 + m1 * v1 + m2 * v2);
            }
        }
        // the backward pass reads what other threads wrote
        storageBarrier();
        workgroupBarrier();
    }
}

// ---- centred FIR (the band filters' FIR option) ------------------------------------------
// `coefs` holds per record [numtaps, h0, h1, ...]; the rows are first copied to `ext` (same
// layout as `data`), then each thread computes one output sample
// y[i] = sum_k h[k] x[i + c - k], c = numtaps / 2, over the row's valid samples only
// (np.convolve(x, h, mode='same')).

struct Sample {
    r: u32,
    i: u32,
    n: u32,
    ok: bool,
}

fn fir_sample(wid: vec3<u32>, tid: u32) -> Sample {
    let g = wid.x + wid.y * prm.grid_x;
    let r = g / prm.block;
    let i = (g % prm.block) * WG + tid;
    if (r >= prm.rows) {
        return Sample(0u, 0u, 0u, false);
    }
    let n = min(lengths[r], prm.stride);
    return Sample(r, i, n, i < n);
}

@compute @workgroup_size(256)
fn fir_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let s = fir_sample(wid, tid);
    if (s.ok) {
        ext[s.r * prm.stride + s.i] = data[s.r * prm.stride + s.i];
    }
}

@compute @workgroup_size(256)
fn fir(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let s = fir_sample(wid, tid);
    if (!s.ok) {
        return;
    }
    var cb = 0u;
    if (prm.coef_rows > 1u) {
        cb = s.r * prm.rec;
    }
    let m = u32(coefs[cb]);
    let c = m / 2u;
    let base = s.r * prm.stride;
    var k0 = 0u;
    if (s.i + c + 1u > s.n) {
        k0 = s.i + c + 1u - s.n;
    }
    let k1 = min(s.i + c, m - 1u);
    var acc = 0.0;
    for (var k = k0; k <= k1; k++) {
        acc += coefs[cb + 1u + k] * ext[base + s.i + c - k];
    }
    data[base + s.i] = acc;
}
