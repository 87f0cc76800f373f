#!/usr/bin/env python3
"""Log-mel of many 10 s files, files in and .npy out: wavegpu's CLI (whole process) against
librosa in-process, on the same machine in one run.

Run from the repository root with the project's venv (librosa 0.11):

    cargo build --release
    .venv/bin/python bench/compare_logmel.py [--files 40] [--seconds 10] [--sr 22050] [--repeats 5]

It writes --files WAV files (PCM 16-bit, deterministic tones + noise) into a temporary
directory, then times, median of --repeats runs after one warm-up:
  (a) librosa in-process (import excluded): for each file librosa.load(sr=None),
      melspectrogram(n_fft=2048, hop_length=512, n_mels=128), power_to_db, np.save;
  (b) `wavegpu mel DIR -o OUT --db --device cpu` as a whole process (start-up, decoding,
      DSP, writing .npy files), with RAYON_NUM_THREADS unset (all cores);
  (c) the same with --device gpu if --gpu is given (on a machine without a GPU that is
      lavapipe, a software rasteriser: NOT a GPU figure).
Before timing it checks that every wavegpu output equals librosa's within DESIGN.md's
dB tolerance (max abs 1e-3 dB), so that the timings are of the same computation.
The table is printed as markdown on stdout.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

import librosa

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / "target" / "release" / "wavegpu"


def make_files(d: Path, n: int, seconds: float, sr: int) -> list[Path]:
    rng = np.random.default_rng(1234)
    t = np.arange(int(seconds * sr)) / sr
    paths = []
    for i in range(n):
        f0 = 110.0 * 2 ** (i / 12)
        y = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.1 * np.sin(2 * np.pi * 3 * f0 * t)
        y += 0.05 * rng.standard_normal(t.size)
        p = d / f"clip{i:03d}.wav"
        sf.write(p, np.clip(y, -1, 1), sr, subtype="PCM_16")
        paths.append(p)
    return paths


def librosa_run(paths: list[Path], out: Path) -> float:
    t0 = time.perf_counter()
    for p in paths:
        y, sr = librosa.load(p, sr=None)
        S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
        np.save(out / (p.stem + ".npy"), librosa.power_to_db(S))
    return time.perf_counter() - t0


def librosa_dsp_only(ys: list[tuple[np.ndarray, int]]) -> float:
    t0 = time.perf_counter()
    for y, sr in ys:
        S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
        librosa.power_to_db(S)
    return time.perf_counter() - t0


def wavegpu_run(src: Path, out: Path, device: str) -> float:
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    subprocess.run(
        [str(EXE), "mel", str(src), "-o", str(out), "--db", "--device", device],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def timed(f, repeats: int) -> float:
    f()
    return statistics.median(f() for _ in range(repeats))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gpu", action="store_true")
    a = ap.parse_args()
    if not EXE.exists():
        print(f"{EXE} is missing: run `cargo build --release` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src, ref, outs = tmp / "in", tmp / "librosa", tmp / "wavegpu"
        src.mkdir()
        ref.mkdir()
        paths = make_files(src, a.files, a.seconds, a.sr)
        devices = ["cpu"] + (["gpu"] if a.gpu else [])
        # Same numbers first.
        librosa_run(paths, ref)
        for dev in devices:
            wavegpu_run(src, outs, dev)
            worst = 0.0
            for p in paths:
                x = np.load(outs / (p.stem + ".npy"))
                r = np.load(ref / (p.stem + ".npy"))
                assert x.shape == r.shape, (p, x.shape, r.shape)
                worst = max(worst, float(np.abs(x - r).max()))
            print(f"{dev}: max abs difference to librosa {worst:.2e} dB", file=sys.stderr)
            if worst > 1e-3:
                print("outputs differ from librosa beyond 1e-3 dB: not timing", file=sys.stderr)
                return 1
        t_lib = timed(lambda: librosa_run(paths, ref), a.repeats)
        ys = [librosa.load(p, sr=None) for p in paths]
        t_dsp = timed(lambda: librosa_dsp_only(ys), a.repeats)
        rows = []
        for dev in devices:
            t = timed(lambda dev=dev: wavegpu_run(src, outs, dev), a.repeats)
            rows.append((dev, t))
    print(f"Log-mel of {a.files} x {a.seconds:g} s files at {a.sr} Hz (n_fft 2048, hop 512, 128 mels, "
          f"power_to_db), .wav in, .npy out; median of {a.repeats} runs; "
          f"{platform.machine()}, {os.cpu_count()} cores\n")
    print(f"load average before timing: {os.getloadavg()[0]:.2f}\n")
    print("| tool | seconds | librosa / tool |")
    print("| --- | ---: | ---: |")
    print(f"| librosa {librosa.__version__} in-process (import excluded) | {t_lib:.3f} | 1.00x |")
    print(f"| librosa, DSP only (audio already loaded, nothing saved) | {t_dsp:.3f} | {t_lib / t_dsp:.2f}x |")
    for dev, t in rows:
        note = " (lavapipe: software, not a GPU figure)" if dev == "gpu" else ""
        print(f"| `wavegpu mel DIR --db --device {dev}`, whole process{note} | {t:.3f} | {t_lib / t:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
