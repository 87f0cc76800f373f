#!/usr/bin/env python3
"""Augmentation, per transform: wavegpu (CPU, and GPU with --gpu) against audiomentations on
the same batch, same machine, one run; torch-audiomentations (CPU) too when it imports.

Run from the repository root with the project's venv (audiomentations 0.43):

    cargo build --release --example bench_augment
    .venv/bin/python bench/compare_augment.py [--clips 128] [--seconds 5.7] [--sr 44100] [--repeats 5] [--gpu]

The batch is fast-audiomentations' benchmark shape: 128 clips x 5.7 s at 44.1 kHz (float32,
deterministic noise + tones). Each transform runs with p = 1 and audiomentations' default
parameters unless listed in TRANSFORMS below (the transforms that read files get WAV files
written to a temporary directory; time_stretch and pitch_shift run librosa's phase vocoder on
both sides, audiomentations' `method="librosa_phase_vocoder"`). audiomentations runs clip by clip in-process (its API takes
one clip), timed over the whole batch, median of --repeats runs after one warm-up; wavegpu is
examples/bench_augment (pipeline built once; median of --repeats `Pipeline::run` calls over the
whole batch; on the GPU that includes the upload and the readback). Figures are microseconds
per clip. The table is printed as markdown on stdout.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import audiomentations as A

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / "target" / "release" / "examples" / "bench_augment"

# (our name, audiomentations class, parameters given to both, torch-audiomentations class or None)
TRANSFORMS = [
    ("gain", "Gain", {}, "Gain"),
    ("polarity_inversion", "PolarityInversion", {}, "PolarityInversion"),
    ("reverse", "Reverse", {}, None),
    ("shift", "Shift", {}, "Shift"),
    ("clip", "Clip", {}, None),
    ("normalize", "Normalize", {}, "PeakNormalization"),
    ("gain_transition", "GainTransition", {}, None),
    ("add_gaussian_noise", "AddGaussianNoise", {}, None),
    ("add_gaussian_snr", "AddGaussianSNR", {}, None),
    ("time_mask", "TimeMask", {}, None),
    ("tanh_distortion", "TanhDistortion", {}, None),
    ("clipping_distortion", "ClippingDistortion", {}, None),
    ("bit_crush", "BitCrush", {}, None),
    ("padding", "Padding", {}, None),
    ("low_pass_filter", "LowPassFilter", {}, "LowPassFilter"),
    ("high_pass_filter", "HighPassFilter", {}, "HighPassFilter"),
    ("band_pass_filter", "BandPassFilter", {}, "BandPassFilter"),
    ("band_stop_filter", "BandStopFilter", {}, "BandStopFilter"),
    ("peaking_filter", "PeakingFilter", {}, None),
    ("low_shelf_filter", "LowShelfFilter", {}, None),
    ("high_shelf_filter", "HighShelfFilter", {}, None),
    ("seven_band_parametric_eq", "SevenBandParametricEQ", {}, None),
    ("add_color_noise", "AddColorNoise", {}, None),
    ("add_background_noise", "AddBackgroundNoise", {"sounds_path": "$NOISE"}, None),
    ("add_short_noises", "AddShortNoises", {"sounds_path": "$SHORT"}, None),
    ("apply_impulse_response", "ApplyImpulseResponse", {"ir_path": "$IR"}, None),
    ("time_stretch", "TimeStretch", {"method": "librosa_phase_vocoder"}, None),
    ("pitch_shift", "PitchShift", {"method": "librosa_phase_vocoder"}, None),
]


def write_sounds(root: Path, sr: int) -> dict:
    """Noise clips (5 s), short sounds (0.2-1 s) and impulse responses (0.3 s decays) as WAV
    files, for the transforms that read files; returns the placeholders' directories."""
    import soundfile as sf

    rng = np.random.default_rng(7)
    dirs = {k: root / k.strip("$").lower() for k in ("$NOISE", "$SHORT", "$IR")}
    for d in dirs.values():
        d.mkdir()
    for i in range(4):
        sf.write(dirs["$NOISE"] / f"noise{i}.wav",
                 (0.1 * rng.standard_normal(5 * sr)).astype(np.float32), sr, subtype="FLOAT")
        n = int(sr * (0.2 + 0.2 * i))
        t = np.arange(n) / sr
        short = np.sin(2 * np.pi * (400 + 300 * i) * t) * np.exp(-4 * t)
        sf.write(dirs["$SHORT"] / f"short{i}.wav", short.astype(np.float32), sr, subtype="FLOAT")
    for i in range(2):
        n = int(0.3 * sr)
        ir = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.05 * sr * (i + 1)))
        sf.write(dirs["$IR"] / f"ir{i}.wav", ir.astype(np.float32), sr, subtype="FLOAT")
    return {k: str(v) for k, v in dirs.items()}


def resolve(params: dict, dirs: dict) -> dict:
    return {k: dirs.get(v, v) if isinstance(v, str) else v for k, v in params.items()}


def make_clips(n: int, seconds: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(42)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.05 * rng.standard_normal((n, t.size))
    x += 0.3 * np.sin(2 * np.pi * (110.0 * 2 ** (np.arange(n)[:, None] / 12)) * t)
    return x.astype(np.float32)


def time_audiomentations(cls: str, params: dict, clips: np.ndarray, sr: int, repeats: int) -> float:
    aug = getattr(A, cls)(p=1.0, **params)

    def once() -> float:
        t0 = time.perf_counter()
        for c in clips:
            aug(samples=c, sample_rate=sr)
        return time.perf_counter() - t0

    once()
    return float(np.median([once() for _ in range(repeats)]))


def time_torch(cls: str, clips: np.ndarray, sr: int, repeats: int):
    try:
        import torch
        import torch_audiomentations as T
    except Exception as e:  # noqa: BLE001 - any import failure means "not available"
        return None, f"{type(e).__name__}: {str(e).splitlines()[0]}"
    aug = getattr(T, cls)(p=1.0, output_type="tensor")
    x = torch.from_numpy(clips[:, None, :])

    def once() -> float:
        t0 = time.perf_counter()
        aug(x, sample_rate=sr)
        return time.perf_counter() - t0

    once()
    return float(np.median([once() for _ in range(repeats)])), None


def time_wavegpu(name: str, params: dict, npy: Path, sr: int, device: str, repeats: int):
    pipe = json.dumps([{"name": name, "p": 1.0, **params}])
    r = subprocess.run(
        [str(EXE), "--input", str(npy), "--pipeline", pipe, "--sr", str(sr),
         "--device", device, "--repeats", str(repeats)],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"
    j = json.loads(r.stdout)
    return (j["median_s"], j["in_place_s"]), None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=5.7)
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated transform names")
    a = ap.parse_args()
    if not EXE.exists():
        print(f"{EXE} is missing: cargo build --release --example bench_augment", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore")
    only = set(filter(None, a.only.split(",")))
    clips = make_clips(a.clips, a.seconds, a.sr)
    devices = ["cpu"] + (["gpu"] if a.gpu else [])
    rows = []
    torch_note = None
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "clips.npy"
        np.save(npy, clips)
        dirs = write_sounds(Path(tmp), a.sr)
        for name, cls, params, tcls in TRANSFORMS:
            if only and name not in only:
                continue
            params = resolve(params, dirs)
            ours = {}
            for dev in devices:
                t, err = time_wavegpu(name, params, npy, a.sr, dev, a.repeats)
                ours[dev] = t
                if err:
                    print(f"{name} on {dev}: {err}", file=sys.stderr)
            t_am = time_audiomentations(cls, params, clips, a.sr, a.repeats)
            t_ta = None
            if tcls:
                t_ta, torch_note = time_torch(tcls, clips, a.sr, a.repeats)
            rows.append((name, t_am, t_ta, ours))
    per = 1e6 / a.clips
    print(f"Augmentation, {a.clips} clips x {a.seconds:g} s at {a.sr} Hz, p = 1, defaults; "
          f"microseconds per clip, median of {a.repeats}; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}\n")
    if torch_note:
        print(f"torch-audiomentations not timed: {torch_note}\n")
    head = "| transform | audiomentations " + A.__version__ + " | torch-audiomentations (CPU) | " + \
        " | ".join(f"wavegpu {d} run / in place" for d in devices) + \
        " | audiomentations / wavegpu cpu (run, in place) |"
    print(head)
    print("| --- " * (4 + len(devices)) + "|")
    for name, t_am, t_ta, ours in rows:
        cells = [f"{t_am * per:.0f}", f"{t_ta * per:.0f}" if t_ta else "n/a"]
        cells += [f"{ours[d][0] * per:.0f} / {ours[d][1] * per:.0f}" if ours[d] else "n/a"
                  for d in devices]
        c = ours["cpu"]
        ratio = f"{t_am / c[0]:.1f}x, {t_am / c[1]:.1f}x" if c else "n/a"
        print(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")
    if a.gpu:
        print("\n(wavegpu gpu on a machine without a GPU is lavapipe, a software rasteriser: not a GPU figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
