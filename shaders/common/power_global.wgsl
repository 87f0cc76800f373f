// Power spectrum in place, for kernels that define bin_power(k) (stft.wgsl), over the
// global FFT memory of fft_global.wgsl.
// Writes bin_power(k) (defined by the kernel) for every bin k < n_bins into the other half
// of this workgroup's scratch: bin k < m in slot k's x, bin m (Nyquist, even n_fft) in slot
// 0's y. Read them back with fft_power_at.
fn fft_power_in_place(tid: u32, m: u32, n_bins: u32) {
    let dst = fft_base + (1u - fft_cur) * m;
    for (var k = tid; k < m; k = k + WG) {
        fft_scratch[dst + k] = vec2<f32>(bin_power(k), 0.0);
    }
    storageBarrier();
    if (tid == 0u && n_bins > m) {
        fft_scratch[dst].y = bin_power(m);
    }
    storageBarrier();
    fft_cur = 1u - fft_cur;
}

fn fft_power_at(k: u32, m: u32) -> f32 {
    let src = fft_base + fft_cur * m;
    if (k >= m) {
        return fft_scratch[src].y;
    }
    return fft_scratch[src + k].x;
}
