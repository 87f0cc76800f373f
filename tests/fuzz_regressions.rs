//! Replays of what the fuzz targets in `fuzz/` found (see RELIABILITY.md). Each test feeds the
//! input that failed, decoded from the artifact committed under `tests/data/fuzz/<target>/`,
//! through the same public API the target calls, and checks the typed error (or result) that
//! the library now gives instead of the panic, hang or out-of-memory.

use std::time::{Duration, Instant};

use wavegpu::dsp::frames::MAX_N_FFT;
use wavegpu::{Device, Error, Spectrogram};

/// `plans`, artifact `oom-991301bf…` (tests/data/fuzz/plans/): an STFT plan with n_fft
/// 13_750_321 (= 13 x 29 x 36473, within the old 2^24 maximum) took 9 s and 2.3 GB to build
/// its CPU FFT plans (forward f64 and an unused inverse f32). n_fft is now at most 2^22 and the
/// request fails at once, naming n_fft.
#[test]
fn stft_n_fft_above_the_maximum_is_refused_at_once() {
    let t = Instant::now();
    let err = Spectrogram::stft()
        .n_fft(13_750_321)
        .hop_length(53_713)
        .center(false)
        .power(3.756_559_3e-14)
        .build(&Device::cpu())
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("n_fft") && msg.contains("13750321"), "{msg}");

    // The same bound for every plan built on an STFT.
    for n in [MAX_N_FFT + 1, 16_777_213, 1 << 24] {
        let e = Spectrogram::istft().n_fft(n).build(&Device::cpu()).unwrap_err();
        assert!(e.to_string().contains("n_fft"), "{e}");
        let e = Spectrogram::mel(22_050).n_fft(n).build(&Device::cpu()).unwrap_err();
        assert!(e.to_string().contains("n_fft"), "{e}");
    }
}

/// The maximum itself still builds (a power of two plans in milliseconds).
#[test]
fn stft_n_fft_at_the_maximum_builds() {
    let plan = Spectrogram::stft()
        .n_fft(MAX_N_FFT)
        .center(false)
        .build(&Device::cpu())
        .unwrap();
    assert_eq!(plan.n_freq(), MAX_N_FFT / 2 + 1);
}
