// Power spectrum in place, for kernels that define bin_power(k) (stft.wgsl), over the
// workgroup FFT memory of fft_workgroup.wgsl.
// Replaces the transformed spectrum by bin_power(k) (defined by the kernel) for every bin
// k < n_bins: bin k < m in slot k's x, bin m (the Nyquist bin of an even n_fft) in slot 0's y.
// Read them back with fft_power_at.
fn fft_power_in_place(tid: u32, m: u32, n_bins: u32) {
    var regs: array<f32, PER_THREAD>;
    var c = 0u;
    for (var k = tid; k < m; k = k + WG) {
        regs[c] = bin_power(k);
        c = c + 1u;
    }
    var nyq = 0.0;
    if (tid == 0u && n_bins > m) {
        nyq = bin_power(m);
    }
    workgroupBarrier();
    c = 0u;
    for (var k = tid; k < m; k = k + WG) {
        fft_st(k, vec2<f32>(regs[c], 0.0));
        c = c + 1u;
    }
    if (tid == 0u && n_bins > m) {
        fft_buf[0].y = nyq;
    }
    workgroupBarrier();
}

fn fft_power_at(k: u32, m: u32) -> f32 {
    if (k >= m) {
        return fft_buf[0].y;
    }
    return fft_buf[fft_slot(k)].x;
}
