//! Replays of what the fuzz targets in `fuzz/` found (see RELIABILITY.md). Each test feeds the
//! input that failed, decoded from the artifact committed under `tests/data/fuzz/<target>/`,
//! through the same public API the target calls, and checks the typed error (or result) that
//! the library now gives instead of the panic, hang or out-of-memory.

use wavegpu::dsp::frames::MAX_N_FFT;
use wavegpu::{Device, Error, Spectrogram};

/// `plans`, artifact `oom-991301bf…` (tests/data/fuzz/plans/): an STFT plan with n_fft
/// 13_750_321 (= 13 x 29 x 36473, within the old 2^24 maximum) took 9 s and 2.3 GB to build
/// its CPU FFT plans (forward f64 and an unused inverse f32). n_fft is now at most 2^22 and the
/// request fails at once, naming n_fft.
#[test]
fn stft_n_fft_above_the_maximum_is_refused_at_once() {
    let err = Spectrogram::stft()
        .n_fft(13_750_321)
        .hop_length(53_713)
        .center(false)
        .power(3.756_559_3e-14)
        .build(&Device::cpu())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("n_fft") && msg.contains("13750321"), "{msg}");

    // The same bound for every plan built on an STFT.
    for n in [MAX_N_FFT + 1, 16_777_213, 1 << 24] {
        let e = Spectrogram::istft()
            .n_fft(n)
            .build(&Device::cpu())
            .unwrap_err();
        assert!(e.to_string().contains("n_fft"), "{e}");
        let e = Spectrogram::mel(22_050)
            .n_fft(n)
            .build(&Device::cpu())
            .unwrap_err();
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

/// `decode_symphonia` (inputs in tests/data/fuzz/decode_symphonia/; the first byte is the
/// target's extension-hint selector, the rest the file): files that make symphonia 0.6.1
/// overflow inside its own code: `crash-ee595899…`, MS ADPCM in WAV (codec_ms.rs:96,
/// multiply); `riff-overflow-6fe49af5` (riff wave/chunks.rs:690, shift left);
/// `caf-overflow-aefb4450` (caf demuxer.rs:389, multiply). They panic with overflow checks on
/// and wrap silently without. wavegpu runs symphonia's calls under a guard that turns such a
/// panic into `Error::Decode`; in either build, probing, opening and decoding each input to the
/// end give samples or typed errors, never a panic.
#[test]
fn symphonia_overflows_are_no_panic() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fuzz/decode_symphonia"
    );
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let file = &data[1..];
        n += 1;
        let _ = wavegpu::io::Backend::Symphonia.probe(file);
        let mut dec = match wavegpu::io::Backend::Symphonia.open(file) {
            Ok(d) => d,
            Err(e) => {
                assert!(
                    matches!(e, Error::Decode { .. } | Error::Unsupported { .. }),
                    "{e:?}"
                );
                continue;
            }
        };
        let channels = dec.spec().channels;
        loop {
            match dec.next_chunk() {
                Ok(Some(chunk)) => assert_eq!(chunk.channels(), channels),
                Ok(None) => break,
                Err(e) => {
                    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
                    break;
                }
            }
        }
    }
    assert_eq!(n, 3);
}

/// `plans`, artifact `timeout-a8d00c7c…` (tests/data/fuzz/plans/): an MFCC plan with n_mels
/// = n_mfcc = 53_713 built its n_mfcc x n_mels DCT matrix (2.9e9 entries) before the mel
/// parameters were checked, and ran past the 10 s timeout. The mel parameters are now checked
/// first: n_mels is refused at once.
#[test]
fn mfcc_huge_n_mels_is_refused_before_the_dct() {
    let err = Spectrogram::mfcc(524_288)
        .n_mfcc(53_713)
        .lifter(7.453_038e-9)
        .power(1.3632e-41)
        .n_mels(53_713)
        .n_fft(9728)
        .center(false)
        .fmin(4.523_397_416_852_54e-259)
        .norm(wavegpu::MelNorm::None)
        .build(&Device::cpu())
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("n_mels") && msg.contains("53713"), "{msg}");
}
