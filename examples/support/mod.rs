//! What the measuring examples (`soak`, `threads`) share.

/// The process's resident memory, `VmRSS` in KiB (0 where /proc is not there).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A deterministic test signal of `n` samples, different for each `k` (so no result is cached).
pub fn signal(k: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * (k % 7 + 3)) as f32 * 0.0113).sin() * 0.5 + (k as f32 * 1e-4))
        .collect()
}
