"""Reference outputs of audiomentations 0.43.1 for wavegpu's augmentation parity tests.

Writes tests/data/augment_cases.json: for each case an input (channels, samples) float32
signal, the wavegpu pipeline JSON (with every random parameter fixed by min = max or by a
fixed mask location), the audiomentations call it mirrors, and audiomentations' output.
`op_cases` fix parameters that no range can pin down (gain_transition's start) by setting
the transform's `parameters` and calling `apply`, as audiomentations' own tests do.

Run from the repository root: .venv/bin/python tests/data/make_augment_dumps.py
Deterministic: the inputs come from numpy's default_rng(2026).
"""

import json
import os

import numpy as np
import audiomentations as A

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "augment_cases.json")
SR = 8000


def signal(rng, channels, n, scale=0.4):
    t = np.arange(n) / SR
    x = scale * np.sin(2 * np.pi * 440 * t) + 0.2 * rng.standard_normal((channels, n))
    return x.astype(np.float32)


def f32_list(a):
    """float32 values as the shortest decimal text that reads back to the same float32."""
    return [[float(np.format_float_positional(v, unique=True)) for v in row] for row in np.atleast_2d(a)]


def main():
    rng = np.random.default_rng(2026)
    mono = signal(rng, 1, 300)
    stereo = signal(rng, 2, 250)
    loud = (mono * 3.0).astype(np.float32)
    cases = []

    def case(name, aug, pipeline, x):
        y = aug(samples=x[0] if x.shape[0] == 1 else x, sample_rate=SR)
        y = np.asarray(y, dtype=np.float32).reshape(x.shape[0], -1)
        cases.append(
            {
                "name": name,
                "sample_rate": SR,
                "pipeline": pipeline,
                "input": f32_list(x),
                "output": f32_list(y),
            }
        )

    def one(name, cls, kw, json_name, x=mono):
        case(name, cls(**kw, p=1.0), [dict(name=json_name, p=1.0, **kw)], x)

    one("gain", A.Gain, dict(min_gain_db=-4.5, max_gain_db=-4.5), "gain")
    one("gain_stereo", A.Gain, dict(min_gain_db=3.0, max_gain_db=3.0), "gain", stereo)
    one("polarity_inversion", A.PolarityInversion, {}, "polarity_inversion")
    one("reverse", A.Reverse, {}, "reverse")
    one("reverse_stereo", A.Reverse, {}, "reverse", stereo)
    one("shift_fraction_rollover_fade", A.Shift,
        dict(min_shift=0.25, max_shift=0.25, shift_unit="fraction", rollover=True, fade_duration=0.005), "shift")
    one("shift_negative_no_rollover_fade", A.Shift,
        dict(min_shift=-0.3, max_shift=-0.3, shift_unit="fraction", rollover=False, fade_duration=0.005), "shift")
    one("shift_positive_no_rollover", A.Shift,
        dict(min_shift=0.1, max_shift=0.1, shift_unit="fraction", rollover=False, fade_duration=0.0), "shift")
    one("shift_samples", A.Shift,
        dict(min_shift=-77, max_shift=-77, shift_unit="samples", rollover=True, fade_duration=0.0), "shift")
    one("shift_seconds_stereo", A.Shift,
        dict(min_shift=0.01, max_shift=0.01, shift_unit="seconds", rollover=True, fade_duration=0.002), "shift", stereo)
    one("clip", A.Clip, dict(a_min=-0.3, a_max=0.5), "clip")
    one("clipping_distortion", A.ClippingDistortion,
        dict(min_percentile_threshold=20, max_percentile_threshold=20), "clipping_distortion")
    one("clipping_distortion_stereo", A.ClippingDistortion,
        dict(min_percentile_threshold=35, max_percentile_threshold=35), "clipping_distortion", stereo)
    one("normalize", A.Normalize, dict(apply_to="all"), "normalize")
    one("normalize_stereo", A.Normalize, dict(apply_to="all"), "normalize", stereo)
    one("normalize_only_too_loud_quiet", A.Normalize, dict(apply_to="only_too_loud_sounds"), "normalize")
    one("normalize_only_too_loud_loud", A.Normalize, dict(apply_to="only_too_loud_sounds"), "normalize", loud)
    one("time_mask_start_fade", A.TimeMask,
        dict(min_band_part=0.2, max_band_part=0.2, fade_duration=0.005, mask_location="start"), "time_mask")
    one("time_mask_end_hard", A.TimeMask,
        dict(min_band_part=0.3, max_band_part=0.3, fade_duration=0.0, mask_location="end"), "time_mask")
    one("tanh_distortion", A.TanhDistortion, dict(min_distortion=0.4, max_distortion=0.4), "tanh_distortion")
    one("tanh_distortion_stereo", A.TanhDistortion,
        dict(min_distortion=0.8, max_distortion=0.8), "tanh_distortion", stereo)
    one("bit_crush", A.BitCrush, dict(min_bit_depth=6, max_bit_depth=6), "bit_crush")
    for mode in ["silence", "wrap", "reflect"]:
        for section in ["start", "end"]:
            for frac in [0.3, 0.8]:
                one(f"padding_{mode}_{section}_{frac}", A.Padding,
                    dict(mode=mode, min_fraction=frac, max_fraction=frac, pad_section=section), "padding")

    # The IIR filters with every random parameter pinned (min = max).
    for zp in [False, True]:
        suffix = "_zero_phase" if zp else ""
        one(f"low_pass_filter{suffix}", A.LowPassFilter,
            dict(min_cutoff_freq=1200.0, max_cutoff_freq=1200.0, min_rolloff=24, max_rolloff=24, zero_phase=zp),
            "low_pass_filter")
        one(f"high_pass_filter{suffix}", A.HighPassFilter,
            dict(min_cutoff_freq=300.0, max_cutoff_freq=300.0, min_rolloff=12, max_rolloff=12, zero_phase=zp),
            "high_pass_filter")
        one(f"band_pass_filter{suffix}", A.BandPassFilter,
            dict(min_center_freq=1000.0, max_center_freq=1000.0, min_bandwidth_fraction=0.8,
                 max_bandwidth_fraction=0.8, min_rolloff=12, max_rolloff=12, zero_phase=zp),
            "band_pass_filter")
        one(f"band_stop_filter{suffix}", A.BandStopFilter,
            dict(min_center_freq=700.0, max_center_freq=700.0, min_bandwidth_fraction=1.5,
                 max_bandwidth_fraction=1.5, min_rolloff=24, max_rolloff=24, zero_phase=zp),
            "band_stop_filter")
    one("low_pass_filter_stereo", A.LowPassFilter,
        dict(min_cutoff_freq=2000.0, max_cutoff_freq=2000.0, min_rolloff=36, max_rolloff=36), "low_pass_filter",
        stereo)
    one("low_pass_filter_above_nyquist", A.LowPassFilter,
        dict(min_cutoff_freq=9000.0, max_cutoff_freq=9000.0, min_rolloff=12, max_rolloff=12), "low_pass_filter")
    one("peaking_filter", A.PeakingFilter,
        dict(min_center_freq=900.0, max_center_freq=900.0, min_gain_db=9.0, max_gain_db=9.0, min_q=2.0, max_q=2.0),
        "peaking_filter")
    one("low_shelf_filter", A.LowShelfFilter,
        dict(min_center_freq=400.0, max_center_freq=400.0, min_gain_db=-8.0, max_gain_db=-8.0, min_q=0.7,
             max_q=0.7), "low_shelf_filter")
    one("high_shelf_filter_stereo", A.HighShelfFilter,
        dict(min_center_freq=2500.0, max_center_freq=2500.0, min_gain_db=6.0, max_gain_db=6.0, min_q=0.5,
             max_q=0.5), "high_shelf_filter", stereo)

    # apply_impulse_response: a decaying-noise impulse response written as float32 WAV
    # (committed, regenerated bit-identically), convolved as audiomentations does.
    from scipy.io import wavfile

    ir_rel = "tests/data/augment_ir_8k.wav"
    ir_path = os.path.join(os.path.dirname(OUT), "augment_ir_8k.wav")
    t = np.arange(120)
    ir = (rng.standard_normal(120) * np.exp(-t / 25.0)).astype(np.float32)
    ir[0] = 1.0
    wavfile.write(ir_path, SR, ir)
    for name, x in [("apply_impulse_response", mono), ("apply_impulse_response_stereo", stereo)]:
        case(name, A.ApplyImpulseResponse(ir_path=ir_path, p=1.0),
             [dict(name="apply_impulse_response", ir_path=ir_rel, p=1.0)], x)

    op_cases = []
    for fade, t0, start, end in [(200, 100, -12.0, 4.0), (250, -50, 3.0, -20.0), (100, 250, -6.0, 0.0)]:
        t = A.GainTransition(p=1.0)
        t.parameters = dict(should_apply=True, fade_time_samples=fade, t0=t0, start_gain_db=start, end_gain_db=end)
        y = t.apply(mono[0], SR)
        op_cases.append(
            dict(name="gain_transition", fade_time_samples=fade, t0=t0, start_gain_db=start,
                 end_gain_db=end, input=f32_list(mono[0])[0], output=f32_list(np.asarray(y, np.float32))[0])
        )

    # add_color_noise: audiomentations' FIR design (random phases over n_fft = 128 bins) does
    # not give exactly the nominal slope; record the slope its noise has, averaged over 32
    # draws: mean Welch PSD (hann, 1024, 50 % overlap), the 2-4 kHz band over the
    # 500-1000 Hz band, per octave.
    from audiomentations.augmentations.add_color_noise import generate_decaying_white_noise
    import scipy.signal as sps

    slopes = []
    for decay in [-6.02, -3.01, 3.01]:
        total = 0.0
        for s in range(32):
            np.random.seed(s)
            z = generate_decaying_white_noise(64000, decay, 16000)
            freqs, psd = sps.welch(z, 16000, nperseg=1024)
            total = total + psd
        band = lambda lo, hi: total[(freqs >= lo) & (freqs < hi)].mean()
        slopes.append(dict(f_decay=decay, draws=32, samples=64000, sample_rate=16000,
                           slope_db_per_octave=float(10 * np.log10(band(2000, 4000) / band(500, 1000)) / 2)))

    # add_color_noise's FIR for given phases (fractions of a turn): audiomentations'
    # generate_decaying_white_noise steps with the random phases replaced.
    from audiomentations.core.utils import a_weighting_frequency_envelope
    from audiomentations.augmentations.add_color_noise import decay_to_beta

    color_taps = []
    for decay, a_weighting, n_fft, sr in [(-3.01, False, 128, 16000), (6.02, True, 64, 44100), (-1.7, False, 33, 8000)]:
        bins = n_fft // 2 + 1
        phases = [(0.37 * k + 0.11) % 1.0 for k in range(bins)]
        f = np.fft.rfftfreq(n_fft, 1.0 / sr)
        f[0] = 1
        beta = decay_to_beta(decay)
        d = np.sqrt(1 / f**beta) * np.exp(1j * 2 * np.pi * np.array(phases))
        if a_weighting:
            d *= a_weighting_frequency_envelope(n_fft, sr)
        color_taps.append(dict(f_decay=decay, a_weighting=a_weighting, n_fft=n_fft, sample_rate=sr,
                               phases=phases, taps=np.fft.irfft(d, n_fft).tolist()))

    with open(OUT, "w") as f:
        json.dump({"audiomentations": A.__version__, "cases": cases, "op_cases": op_cases,
                   "color_noise_slopes": slopes, "color_taps": color_taps}, f)
    print(f"wrote {OUT}: {len(cases)} cases, {len(op_cases)} op cases")


if __name__ == "__main__":
    main()
