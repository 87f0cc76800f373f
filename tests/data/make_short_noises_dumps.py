"""Reference outputs of audiomentations 0.43.1's AddShortNoises for wavegpu's parity tests.

Writes tests/data/short_noises_cases.json: three short noise clips (float32 samples, written
to WAV by the test), a mono float32 input, and per case the transform's parameters, a fixed
list of sounds (audiomentations' `parameters["sounds"]`, with the clip as an index into the
clips) and the output of `AddShortNoises.apply` with those sounds, as audiomentations' own
tests fix them. The sounds are cut at both ends of the input, overlap, and one ends before
the input starts (skipped); no fade-out is zero samples long (audiomentations crashes there).

Run from the repository root: .venv/bin/python tests/data/make_short_noises_dumps.py
Deterministic: the signals come from numpy's default_rng(2027).
"""

import json
import os
import tempfile

import numpy as np
import audiomentations as A
from scipy.io import wavfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "short_noises_cases.json")
SR = 8000


def f32(a):
    """float32 values as the shortest decimal text that reads back to the same float32."""
    return [float(np.format_float_positional(v, unique=True)) for v in np.asarray(a, np.float32)]


def main():
    rng = np.random.default_rng(2027)
    n = 1000
    t = np.arange(n) / SR
    x = (0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    # A: noise with a silent stretch (the silence-free RMS differs), B: a tone, C: a click
    # shorter than one 25 ms window.
    a = (0.2 * rng.standard_normal(400)).astype(np.float32)
    a[150:330] = 0.0
    b = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(500) / SR)).astype(np.float32)
    c = (0.8 * rng.standard_normal(120)).astype(np.float32)
    clips = [a, b, c]
    sounds = [
        # start, clip, fade_in_time, fade_out_time, snr_db, rms_db
        (-0.02, 0, 0.01, 0.02, 3.0, -30.0),  # cut at the start
        (0.03, 1, 0.005, 0.03, -2.0, -25.0),
        (0.035, 2, 0.0, 0.004, 10.0, -35.0),  # overlaps the previous, no fade-in
        (0.1, 0, 0.03, 0.01, 6.0, -20.0),  # cut at the end
        (-0.2, 1, 0.01, 0.01, 0.0, -30.0),  # ends before the input: skipped
    ]
    cases = []
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, s in enumerate(clips):
            p = os.path.join(d, f"clip{i}.wav")
            wavfile.write(p, SR, s)
            paths.append(p)
        for noise_rms in ["relative_to_whole_input", "relative", "absolute"]:
            for gain in [0.0, -12.0]:
                for silence in [True, False] if noise_rms == "relative" else [True]:
                    params = dict(
                        noise_rms=noise_rms,
                        signal_gain_db_during_noise=gain,
                        include_silence_in_noise_rms_estimation=silence,
                    )
                    tr = A.AddShortNoises(sounds_path=paths, p=1.0, **params)
                    tr.parameters = {
                        "should_apply": True,
                        "sounds": [
                            {
                                "fade_in_time": fi,
                                "start": st,
                                "end": st + len(clips[k]) / SR,
                                "fade_out_time": fo,
                                "file_path": paths[k],
                                "snr_db": snr,
                                "rms_db": rms,
                            }
                            for st, k, fi, fo, snr, rms in sounds
                        ],
                    }
                    y = tr.apply(x, SR)
                    cases.append(
                        {
                            "name": f"{noise_rms}_gain{gain:g}_silence{silence}",
                            "params": params,
                            "output": f32(y),
                        }
                    )
    with open(OUT, "w") as f:
        json.dump(
            {
                "audiomentations": A.__version__,
                "sample_rate": SR,
                "clips": [f32(s) for s in clips],
                "input": f32(x),
                "sounds": [
                    dict(start=st, clip=k, fade_in_time=fi, fade_out_time=fo, snr_db=snr, rms_db=rms)
                    for st, k, fi, fo, snr, rms in sounds
                ],
                "cases": cases,
            },
            f,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
