#!/usr/bin/env python3
"""Scaling table (issue 7, item 5): `wavegpu bench` over a grid of batch sizes and clip lengths.

    python3 bench/scaling.py [--exe target/release/wavegpu] [--device auto|gpu|cpu]
                             [--clips 1,4,16,64,256] [--seconds 1,10,60] [--repeats 5]
                             [--max-samples 2e8]

For every (clips, seconds) pair it runs `wavegpu bench --json` (copy-bandwidth measurement
skipped) and prints, per plan, the median wall time of a whole run_batch and, on a profiled
GPU, the compute passes' time, both in microseconds per second of audio (clip-second). A
flat row means cost grows linearly with the batch; a row falling from left to right shows
fixed per-run costs (launches, readback, thread start-up) that larger batches amortise.
Pairs whose batch exceeds --max-samples samples are skipped (host memory: the complex STFT
of 2e8 samples is 2.2 GB). Only the standard library is needed.
"""
import argparse
import json
import subprocess
import sys


def run(exe, device, clips, seconds, repeats):
    cmd = [exe, "bench", "--json", "--device", device, "--clips", str(clips),
           "--seconds", str(seconds), "--repeats", str(repeats), "--bandwidth-mib", "0"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default="target/release/wavegpu")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--clips", default="1,4,16,64,256")
    ap.add_argument("--seconds", default="1,10,60")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-samples", type=float, default=2e8)
    a = ap.parse_args()
    clips = [int(c) for c in a.clips.split(",")]
    seconds = [float(s) for s in a.seconds.split(",")]
    rows = {}  # (plan, seconds) -> {clips: (wall us per clip-s, pass us per clip-s)}
    device = None
    for s in seconds:
        for c in clips:
            if c * s * 16000 > a.max_samples:
                continue
            for r in run(a.exe, a.device, c, s, a.repeats):
                device = r["device"]
                per = c * s
                wall = r["wall_s"] * 1e6 / per
                gpu = r["pass_s"] * 1e6 / per if r.get("pass_s") else None
                rows.setdefault((r["plan"], s), {})[c] = (wall, gpu)
            print(f"done: {c} clips x {s:g} s", file=sys.stderr)
    print(f"device: {device}; us per clip-second (wall of a whole run_batch"
          " / GPU passes where profiled); 16 kHz, n_fft 512, hop 160, 80 mels")
    head = "| plan | clip s | " + " | ".join(f"{c} clips" for c in clips) + " |"
    print(head)
    print("|" + "---|" * (2 + len(clips)))
    for (plan, s), cells in rows.items():
        vals = []
        for c in clips:
            if c not in cells:
                vals.append("-")
                continue
            wall, gpu = cells[c]
            vals.append(f"{wall:.1f}" + (f" / {gpu:.2f}" if gpu is not None else ""))
        print(f"| {plan} | {s:g} | " + " | ".join(vals) + " |")


if __name__ == "__main__":
    main()
