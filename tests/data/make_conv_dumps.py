"""Reference dumps for the FFT convolution (apply_impulse_response; unit tests in src/cpu/conv.rs).

Writes, deterministically, tests/data/conv_cases.json: for a few (signal, impulse response)
pairs of float32 values (shorter and longer impulse responses than the signal, a single tap):
- "full": scipy.signal.convolve(x, ir) in float64 (full mode, len(x) + len(ir) - 1 samples);
- "audiomentations": audiomentations.ApplyImpulseResponse(p=1.0) run end to end on x with the
  impulse response written as a float32 WAV file at the same rate (peak normalised to 0.5
  over the full convolution, then truncated to len(x): leave_length_unchanged=True).

Run from the repository root: .venv/bin/python tests/data/make_conv_dumps.py
"""

import json
import os
import random
import tempfile

import numpy as np
import scipy
import scipy.signal as sg
import soundfile as sf
import audiomentations
from audiomentations import ApplyImpulseResponse

HERE = os.path.dirname(os.path.abspath(__file__))
SR = 16000


def main():
    rng = np.random.default_rng(20261121)
    shapes = [(300, 37), (257, 1), (200, 1500), (1000, 1024), (64, 2049), (1500, 333)]
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (lx, lh) in enumerate(shapes):
            x = (0.8 * rng.standard_normal(lx) * np.sin(np.arange(lx) / 17.0)).astype(np.float32)
            decay = np.exp(-np.arange(lh) / max(lh / 4.0, 1.0))
            h = (rng.standard_normal(lh) * decay).astype(np.float32)
            if lh == 1:
                h[0] = np.float32(-0.75)
            full = sg.convolve(x.astype(np.float64), h.astype(np.float64))
            path = os.path.join(tmp, f"ir{n}.wav")
            sf.write(path, h, SR, subtype="FLOAT")
            random.seed(n)
            np.random.seed(n)
            aug = ApplyImpulseResponse(ir_path=path, p=1.0)(samples=x, sample_rate=SR)
            cases.append(
                {
                    "x": x.tolist(),
                    "ir": h.tolist(),
                    "full": full.tolist(),
                    "audiomentations": aug.astype(np.float64).tolist(),
                }
            )
    out = {
        "generator": "tests/data/make_conv_dumps.py",
        "scipy": scipy.__version__,
        "audiomentations": audiomentations.__version__,
        "sample_rate": SR,
        "cases": cases,
    }
    with open(os.path.join(HERE, "conv_cases.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
