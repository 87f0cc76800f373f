#!/usr/bin/env python3
"""librosa.cqt with every default on many 10 s clips of 22.05 kHz audio, in-process, single
thread, side by side with wavegpu's CQT plan (examples/bench_cqt.rs) on the same samples in
one run: wavegpu on one thread (RAYON_NUM_THREADS=1) and on every core, and the relative
Frobenius difference of clip 0 against librosa's output.

Run from the repository root with the project's venv (librosa 0.11):

    cargo build --release --example bench_cqt
    .venv/bin/python bench/compare_cqt.py [--files 40] [--seconds 10] [--repeats 3]
                                          [--dtype float32|float64] [--device cpu|gpu]

Clips: tests/data/fixtures/music_22k.wav (synthetic, 6 s) and examples/data/speech.wav (3.5 s),
both 22.05 kHz, alternately, each tiled to --seconds and rotated by a per-clip offset so that no
two clips are equal. They are held in memory (no decoding, nothing saved): the time is
librosa.cqt(y, sr=22050) alone, every default (hop 512, fmin C1, 84 bins, 12 bins per octave,
res_type soxr_hq, sparsity 0.01). --dtype float32 (the default) is what librosa.load returns, so
librosa computes in complex64; float64 makes it compute in complex128.

Single thread: OMP / OpenBLAS / MKL / numba thread counts are set to 1 before numpy is imported
(librosa's CQT is FFTs, sparse products and soxr resampling). LIBROSA_CACHE_DIR is unset, so
every call designs its filter bases again, as in ordinary use. One warm-up call (numba JIT,
first-call imports), then the median of --repeats timed passes over all clips. Prints the
median total and the time per clip, wall clock and process CPU time (on a busy machine the CPU
time is the steadier number).
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.pop("LIBROSA_CACHE_DIR", None)

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import librosa  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "data" / "fixtures" / "music_22k.wav",
           ROOT / "examples" / "data" / "speech.wav"]
SR = 22050


def make_clips(n: int, seconds: float, dtype) -> list[np.ndarray]:
    srcs = []
    for p in SOURCES:
        if not p.exists():
            sys.exit(f"{p} is missing: run .venv/bin/python tests/data/make_cqt_dumps.py")
        y, sr = librosa.load(p, sr=None)
        assert sr == SR, (p, sr)
        srcs.append(y.astype(np.float64))
    n_samples = int(round(seconds * SR))
    clips = []
    for i in range(n):
        src = srcs[i % len(srcs)]
        tiled = np.tile(src, -(-n_samples // src.size) + 1)
        off = (i * 7919) % src.size
        clips.append(np.ascontiguousarray(tiled[off:off + n_samples], dtype=dtype))
    return clips


def run_all(clips: list[np.ndarray]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) for one pass over all clips."""
    c0, t0 = time.process_time(), time.perf_counter()
    for y in clips:
        librosa.cqt(y, sr=SR)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--wavegpu", default=str(ROOT / "target" / "release" / "examples" / "bench_cqt"))
    a = ap.parse_args()

    clips = make_clips(a.files, a.seconds, np.dtype(a.dtype))
    C = librosa.cqt(clips[0], sr=SR)  # warm-up (numba JIT, first-call imports)
    runs = [run_all(clips) for _ in range(a.repeats)]
    times = [w for w, _ in runs]
    t = statistics.median(times)
    cpu = statistics.median(c for _, c in runs)
    print(f"librosa {librosa.__version__} (numpy {np.__version__}), {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores visible, single thread; load average {os.getloadavg()[0]:.2f}")
    print(f"librosa.cqt defaults on {a.files} x {a.seconds:g} s clips at {SR} Hz, {a.dtype} input "
          f"(output {C.shape} {C.dtype} per clip); median of {a.repeats} passes "
          f"({', '.join(f'{x:.2f}' for x in times)} s)")
    print(f"librosa total {t:.3f} s, per clip {1000 * t / a.files:.1f} ms "
          f"(process CPU time: {cpu:.3f} s, {1000 * cpu / a.files:.1f} ms per clip; CPU time "
          f"well above wall time would mean more than one thread ran)")
    if not Path(a.wavegpu).exists():
        print(f"{a.wavegpu} is missing: cargo build --release --example bench_cqt")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        xs = Path(tmp) / "clips.npy"
        np.save(xs, np.stack(clips).astype(np.float32))
        for threads in ("1", str(os.cpu_count())):
            row0 = Path(tmp) / "row0.npy"
            env = dict(os.environ, RAYON_NUM_THREADS=threads)
            out = subprocess.run([a.wavegpu, "--input", str(xs), "--device", a.device,
                                  "--repeats", str(a.repeats), "--output", str(row0)],
                                 env=env, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            ours = np.load(row0).astype(np.float64)
            theirs = np.abs(librosa.cqt(clips[0].astype(np.float64), sr=SR))
            err = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
            print(f"wavegpu {r['device']}, RAYON_NUM_THREADS={threads}: total {r['median_s']:.3f} s, "
                  f"per clip {r['per_clip_ms']:.1f} ms = {t / r['median_s']:.2f}x librosa's wall time "
                  f"({cpu / r['median_s']:.2f}x its CPU time); clip 0 vs librosa.cqt: {err:.2e} relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
