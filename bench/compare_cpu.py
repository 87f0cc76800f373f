#!/usr/bin/env python3
"""Side-by-side CPU timing of the STFT: librosa vs torch vs wavegpu's CPU path.

Run from the repository root with the project's venv (librosa 0.11; torch optional):

    .venv/bin/python bench/compare_cpu.py [--repeats 7] [--clips 40] [--lavapipe] [--no-build]

For each workload it writes one float32 (clips, samples) signal to a temporary .npy
(numpy default_rng with a fixed seed), then times, on that same array:
  (a) librosa.stft in-process, then |S| (power 1) or |S|**2 (power 2), as librosa's own
      _spectrogram does; librosa processes the whole (clips, samples) array in one call;
  (b) torch.stft on the CPU (if torch imports): periodic hann, center=True,
      pad_mode="constant", return_complex=True, then .abs() / .abs()**2, with
      torch.set_num_threads(os.cpu_count());
  (c) wavegpu's CPU path through target/release/examples/bench_stft (the plan built once,
      one Stft::run_batch per timed run), which reads the same .npy.
Each is warmed up once and timed --repeats times; the median wall time is reported.

Before timing, it checks on clip 0 that wavegpu's output equals librosa's (float64
reference, and the float32 librosa result) within 1e-5 relative Frobenius norm, so that
the timings are of the same computation. It exits non-zero if that check fails.

With --lavapipe it also times wavegpu's GPU path on whatever Device::gpu() opens; on a
machine without a GPU that is lavapipe, a software Vulkan rasteriser on the same CPU, and
its column is NOT a GPU figure.

The table is printed as markdown on stdout; progress goes to stderr.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import librosa

try:
    import torch

    HAVE_TORCH = True
except Exception as e:  # noqa: BLE001 - any import failure means "no torch column"
    torch = None
    HAVE_TORCH = False
    TORCH_ERR = f"{type(e).__name__}: {e}"

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / "target" / "release" / "examples" / "bench_stft"
SEED = 20240611
TOL = 1e-5

# (label, sr, n_fft, hop, power)
WORKLOADS = [
    ("16 kHz, n_fft 512, hop 160, power 2", 16_000, 512, 160, 2.0),
    ("22.05 kHz, n_fft 2048, hop 512, magnitude", 22_050, 2048, 512, 1.0),
    ("16 kHz, n_fft 400, hop 160, power 2", 16_000, 400, 160, 2.0),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def median_time(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), ts


def librosa_spec(y, n_fft, hop, power):
    s = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True, pad_mode="constant"))
    return s if power == 1.0 else s**power


def torch_spec(x, window, n_fft, hop, power):
    s = torch.stft(
        x,
        n_fft=n_fft,
        hop_length=hop,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    ).abs()
    return s if power == 1.0 else s**power


def run_wavegpu(npy, sr, n_fft, hop, power, repeats, device="cpu", output=None):
    cmd = [
        str(EXE),
        "--input", str(npy),
        "--sr", str(sr),
        "--n-fft", str(n_fft),
        "--hop", str(hop),
        "--power", str(power),
        "--device", device,
        "--repeats", str(repeats),
    ]
    if output is not None:
        cmd += ["--output", str(output)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench_stft failed ({p.returncode}): {p.stderr.strip()}")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def fmt_s(x):
    return "n/a" if x is None else f"{x:.3g}"


def fmt_r(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--lavapipe", action="store_true",
                    help="also time wavegpu's GPU path on whatever Device::gpu() opens (lavapipe without a GPU)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build first")
    args = ap.parse_args()

    if not args.no_build:
        log("building target/release/examples/bench_stft ...")
        subprocess.run(["cargo", "build", "--release", "--example", "bench_stft"], cwd=ROOT, check=True)
    threads = os.cpu_count() or 1
    if HAVE_TORCH:
        torch.set_num_threads(threads)
        log(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        log(f"torch not available ({TORCH_ERR}); torch column is n/a")
    log(f"librosa {librosa.__version__}, numpy {np.__version__}, fft backend {librosa.get_fftlib().__name__}")

    rows = []
    with tempfile.TemporaryDirectory(prefix="wavegpu-bench-") as tmp:
        tmp = Path(tmp)
        for wi, (label, sr, n_fft, hop, power) in enumerate(WORKLOADS):
            n = int(round(args.seconds * sr))
            rng = np.random.default_rng(SEED + wi)
            # Noise plus a tone per clip, float32, within about [-1, 1].
            t = np.arange(n, dtype=np.float64) / sr
            f0 = rng.uniform(100.0, 1000.0, size=(args.clips, 1))
            y = (0.3 * np.sin(2 * np.pi * f0 * t) + 0.1 * rng.standard_normal((args.clips, n))).astype(np.float32)
            npy = tmp / f"clips{wi}.npy"
            np.save(npy, y)
            log(f"[{label}] {args.clips} clips x {n} samples")

            # Same computation: wavegpu row 0 vs librosa on clip 0.
            out0 = tmp / f"row0_{wi}.npy"
            run_wavegpu(npy, sr, n_fft, hop, power, 1, output=out0)
            w0 = np.load(out0)
            ref64 = librosa_spec(y[0].astype(np.float64), n_fft, hop, power)
            ref32 = librosa_spec(y[0], n_fft, hop, power)
            e64, e32 = rel_err(w0, ref64), rel_err(w0, ref32)
            if w0.shape != ref64.shape or not (e64 <= TOL and e32 <= TOL):
                raise SystemExit(
                    f"[{label}] wavegpu differs from librosa: shape {w0.shape} vs {ref64.shape}, "
                    f"rel err {e64:.2e} (f64 ref) / {e32:.2e} (f32 librosa) > {TOL}"
                )
            etorch = None
            if HAVE_TORCH:
                win = torch.hann_window(n_fft, periodic=True, dtype=torch.float32)
                tt = torch_spec(torch.from_numpy(y[0]), win, n_fft, hop, power).numpy()
                etorch = rel_err(tt, ref64)
            log(f"  parity clip 0: wavegpu vs librosa f64 {e64:.2e}, vs librosa f32 {e32:.2e}"
                + (f"; torch vs librosa f64 {etorch:.2e}" if etorch is not None else ""))

            t_lib, _ = median_time(lambda: librosa_spec(y, n_fft, hop, power), args.repeats)
            log(f"  librosa {t_lib:.4f} s")
            t_torch = None
            if HAVE_TORCH:
                x = torch.from_numpy(y)
                win = torch.hann_window(n_fft, periodic=True, dtype=torch.float32)
                with torch.inference_mode():
                    t_torch, _ = median_time(lambda: torch_spec(x, win, n_fft, hop, power), args.repeats)
                log(f"  torch   {t_torch:.4f} s")
            res = run_wavegpu(npy, sr, n_fft, hop, power, args.repeats)
            t_wg = res["median_s"]
            log(f"  wavegpu {t_wg:.4f} s ({res['device']}), runs {res['times_s']}")
            t_lava = None
            lava_dev = None
            if args.lavapipe:
                r = run_wavegpu(npy, sr, n_fft, hop, power, max(1, min(args.repeats, 3)), device="gpu")
                t_lava, lava_dev = r["median_s"], r["device"]
                log(f"  wavegpu gpu path {t_lava:.4f} s ({lava_dev})")
            rows.append(dict(label=label, clips=args.clips, seconds=args.seconds, lib=t_lib, torch=t_torch,
                             wg=t_wg, lava=t_lava, lava_dev=lava_dev, e64=e64, etorch=etorch))

    print(f"CPU STFT, {args.clips} clips x {args.seconds:g} s per workload, median of {args.repeats} runs "
          f"(after 1 warm-up); {platform.processor() or platform.machine()}, {threads} threads\n")
    head = "| workload | librosa s | torch s | wavegpu-cpu s | librosa/wavegpu | torch/wavegpu | wavegpu vs librosa (rel) |"
    sep = "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    if args.lavapipe:
        head += " wavegpu gpu path s |"
        sep += " ---: |"
    print(head)
    print(sep)
    for r in rows:
        line = (f"| {r['clips']} x {r['seconds']:g} s, {r['label']} | {fmt_s(r['lib'])} | {fmt_s(r['torch'])} | "
                f"{fmt_s(r['wg'])} | {fmt_r(r['lib'], r['wg'])} | {fmt_r(r['torch'], r['wg'])} | {r['e64']:.1e} |")
        if args.lavapipe:
            line += f" {fmt_s(r['lava'])} |"
        print(line)
    if args.lavapipe and rows and rows[0]["lava_dev"]:
        dev = rows[0]["lava_dev"]
        print(f"\nGPU-path device: {dev}")
        if ", Cpu)" in dev or "llvmpipe" in dev or "lavapipe" in dev:
            print("That adapter is a software Vulkan rasteriser on this CPU: its column is NOT a GPU figure.")
    print()
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, "
          + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if HAVE_TORCH else "torch not installed"))


if __name__ == "__main__":
    main()
