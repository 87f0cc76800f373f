#!/usr/bin/env python3
"""The reference batch through wavegpu (Vulkan) and torch.stft / torchaudio MelSpectrogram /
nnAudio (CUDA) on one GPU, in one run, with ratios (issue 7).

    cargo build --release
    python bench/compare_gpu.py [--exe target/release/wavegpu] [--clips 256] [--seconds 10] [--repeats 10]

wavegpu: `wavegpu bench --json --device gpu`: each run uploads the batch, runs the kernels
and reads the output back ("wall_s"); "pass_s" is the kernels alone, from timestamp queries. torch: the batch resident on the GPU, times from CUDA events around the op alone
(`torch.stft(..., return_complex=True)` then `abs()**2`; MelSpectrogram(power=2); nnAudio's
STFT/MelSpectrogram if it imports), median of --repeats after a warm-up; also the time with
the host->device copy and the readback, to compare with wavegpu's wall time. Same sizes:
n_fft 512, hop 160, Hann, centred with zero padding, 80 mels. Without CUDA, torch runs on the
CPU (a smoke test, not the figure). Prints a markdown table.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, repeats, cuda):
    fn()
    out = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            out.append(a.elapsed_time(b) / 1e3)
        else:
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return float(np.median(out))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=str(ROOT / "target" / "release" / "wavegpu"))
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sr", type=int, default=16000)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="gpu", help="wavegpu's --device")
    a = ap.parse_args()
    n_fft, hop, n_mels = 512, 160, 80
    r = subprocess.run(
        [a.exe, "bench", "--json", "--device", a.device, "--clips", str(a.clips),
         "--seconds", str(a.seconds), "--sr", str(a.sr), "--repeats", str(a.repeats)],
        capture_output=True, text=True, check=True)
    ours = {j["plan"]: j for j in map(json.loads, r.stdout.splitlines())}

    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    n = int(round(a.seconds * a.sr))
    rng = np.random.default_rng(0)
    host = torch.from_numpy(rng.uniform(-0.5, 0.5, (a.clips, n)).astype(np.float32))
    x = host.to(dev)
    win = torch.hann_window(n_fft, device=dev)

    def stft_power(t):
        s = torch.stft(t, n_fft, hop, window=win, center=True, pad_mode="constant",
                       return_complex=True)
        return s.real ** 2 + s.imag ** 2

    def stft_complex(t):
        return torch.stft(t, n_fft, hop, window=win, center=True, pad_mode="constant",
                          return_complex=True)

    peers = {
        "stft power": ("torch.stft, then re^2 + im^2", lambda: stft_power(x),
                       lambda: stft_power(host.to(dev)).cpu()),
        "stft complex": ("torch.stft (complex)", lambda: stft_complex(x),
                         lambda: stft_complex(host.to(dev)).cpu()),
    }
    try:
        import torchaudio
        mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=a.sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, power=2.0,
            center=True, pad_mode="constant", norm="slaney", mel_scale="slaney").to(dev)
        peers["mel"] = ("torchaudio MelSpectrogram", lambda: mel(x), lambda: mel(host.to(dev)).cpu())
    except Exception as e:  # noqa: BLE001
        print(f"torchaudio not timed: {type(e).__name__}: {str(e).splitlines()[0]}", file=sys.stderr)
    try:
        from nnAudio import features as nn
        nmel = nn.MelSpectrogram(sr=a.sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                 center=True, pad_mode="constant", verbose=False).to(dev)
        peers["mel (nnAudio)"] = ("nnAudio MelSpectrogram", lambda: nmel(x), lambda: nmel(host.to(dev)).cpu())
    except Exception as e:  # noqa: BLE001
        print(f"nnAudio not timed: {type(e).__name__}: {str(e).splitlines()[0]}", file=sys.stderr)

    name = torch.cuda.get_device_name(0) if cuda else "CPU (no CUDA: smoke test only)"
    print(f"{a.clips} clips x {a.seconds:g} s at {a.sr} Hz, n_fft {n_fft}, hop {hop}; "
          f"torch {torch.__version__} on {name}; wavegpu on {next(iter(ours.values()))['device']}\n")
    print("| plan | peer | peer kernel ms | wavegpu pass ms | peer / wavegpu (kernels) | "
          "peer with copies ms | wavegpu wall ms | peer / wavegpu (end to end) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with torch.no_grad():
        for plan, (peer, k, e2e) in peers.items():
            t_k = timed(k, a.repeats, cuda)
            t_e = timed(e2e, a.repeats, cuda)
            o = ours.get(plan.split(" (")[0] if plan.startswith("mel") else plan)
            p = o["pass_s"] if o else None
            w = o["wall_s"] if o else None
            fmt = lambda v: f"{v * 1e3:.3f}" if v else "n/a"  # noqa: E731
            ratio = lambda u, v: f"{u / v:.2f}x" if u and v else "n/a"  # noqa: E731
            print(f"| {plan} | {peer} | {fmt(t_k)} | {fmt(p)} | {ratio(t_k, p)} | {fmt(t_e)} | "
                  f"{fmt(w)} | {ratio(t_e, w)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
