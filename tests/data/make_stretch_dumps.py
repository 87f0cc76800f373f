"""Reference dumps for time_stretch and pitch_shift (phase vocoder; tests in src/augment/stretch.rs
and tests/augment_stretch.rs).

Writes, deterministically, tests/data/stretch_cases.json:
- "kaiser_best": resampy's kaiser_best filter (the rolloff, the table precision, zero crossings)
  and every 4096th value of its half window, to check the table wavegpu computes;
- "signals": three float32 signals (sines plus a little noise; 1500, 1000 and 300 samples);
- "time_stretch": the signals (sines plus a little noise) and
  librosa.effects.time_stretch(x.astype(float64), rate) for rates below and above 1 and lengths
  that are not multiples of the hop (full output, round(n / rate) samples);
- "pitch_shift": librosa.effects.pitch_shift(x.astype(float64), sr, n_steps,
  res_type="kaiser_best") (resampy, which wavegpu's resampler reproduces), with the relative
  distance of that output to librosa's default res_type="soxr_hq" (printed too: what the choice
  of resampler changes);
- "audiomentations": audiomentations' TimeStretch / PitchShift(method="librosa_phase_vocoder")
  end to end on float32 input (librosa in float32 there; pitch_shift with soxr_hq).

Run from the repository root: .venv/bin/python tests/data/make_stretch_dumps.py
(needs resampy: .venv/bin/pip install resampy==0.4.3).
"""

import json
import os
import random

import numpy as np
import scipy.signal as ss
import librosa
import resampy
from resampy.filters import sinc_window
import audiomentations
from audiomentations import PitchShift, TimeStretch

HERE = os.path.dirname(os.path.abspath(__file__))
SR = 8000
# resampy's kaiser_best is a precomputed table; these parameters rebuild it within 4e-15.
KAISER_BEST = dict(num_zeros=50, precision=13, beta=12.984585247046379, rolloff=0.9173473712608761)


def signal(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = (0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.3 * np.sin(2 * np.pi * 1234.5 * t + 0.3)
         + 0.2 * np.sin(2 * np.pi * 97.0 * t) * np.sin(2 * np.pi * 2.0 * t)
         + 0.05 * rng.standard_normal(n))
    return x.astype(np.float32)


def f32s(v):
    return [float(f"{np.float32(a):.9g}") for a in v]


def main():
    path = os.path.join(os.path.dirname(resampy.__file__), "data", "kaiser_best.npz")
    table = np.load(path)
    hw = table["half_window"]
    k = KAISER_BEST
    mine, bits, _ = sinc_window(
        num_zeros=k["num_zeros"], precision=k["precision"],
        window=lambda m: ss.get_window(("kaiser", k["beta"]), m, fftbins=False),
        rolloff=k["rolloff"])
    assert bits == int(table["precision"]) and np.abs(mine - hw).max() < 1e-13
    out = {
        "sample_rate": SR,
        "kaiser_best": {**k, "every_4096": [float(v) for v in hw[::4096]]},
        "time_stretch": [],
        "pitch_shift": [],
        "audiomentations": [],
    }
    signals = [signal(1500, 1), signal(1000, 2), signal(300, 4)]
    out["signals"] = [f32s(x) for x in signals]
    for sig, rate in [(0, 0.8), (0, 1.25), (1, 0.5), (1, 1.7), (1, 1.0), (2, 1.1)]:
        x = signals[sig].astype(np.float64)
        y = librosa.effects.time_stretch(x, rate=rate)
        out["time_stretch"].append({"signal": sig, "rate": rate, "output": list(y)})
    for sig, steps in [(0, 3.0), (0, -2.5), (1, 7.3), (1, -12.0), (2, 0.7)]:
        x = signals[sig].astype(np.float64)
        y = librosa.effects.pitch_shift(x, sr=SR, n_steps=steps, res_type="kaiser_best")
        soxr = librosa.effects.pitch_shift(x, sr=SR, n_steps=steps, res_type="soxr_hq")
        rel = float(np.linalg.norm(y - soxr) / np.linalg.norm(soxr))
        print(f"pitch_shift n_steps={steps}: kaiser_best vs soxr_hq relative distance {rel:.3g}")
        out["pitch_shift"].append({"signal": sig, "n_steps": steps, "output": list(y),
                                   "soxr_hq_distance": rel})
    for name, value in [("time_stretch", 0.9), ("pitch_shift", 2.0)]:
        x = signals[0]
        random.seed(0)
        np.random.seed(0)
        if name == "time_stretch":
            t = TimeStretch(min_rate=value, max_rate=value, method="librosa_phase_vocoder", p=1.0)
        else:
            t = PitchShift(min_semitones=value, max_semitones=value,
                           method="librosa_phase_vocoder", p=1.0)
        y = t(samples=x, sample_rate=SR)
        out["audiomentations"].append({"name": name, "value": value, "signal": 0,
                                       "output": list(y.astype(np.float64))})
    out["versions"] = {"librosa": librosa.__version__, "resampy": resampy.__version__,
                       "audiomentations": audiomentations.__version__, "numpy": np.__version__}

    # Signals keep every float32 digit (9 significant digits), outputs 8.
    def fmt(o):
        if isinstance(o, float):
            return float(f"{o:.8g}")
        if isinstance(o, list):
            return [fmt(v) for v in o]
        if isinstance(o, dict):
            return {a: (b if a == "signals" else fmt(b)) for a, b in o.items()}
        return o

    with open(os.path.join(HERE, "stretch_cases.json"), "w") as f:
        json.dump(fmt(out), f, separators=(",", ":"))


if __name__ == "__main__":
    main()
