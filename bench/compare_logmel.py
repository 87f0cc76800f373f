#!/usr/bin/env python3
"""Log-mel of many 10 s files, files in and .npy out: wavegpu's CLI (whole process) against
librosa in-process, on the same machine in one run.

Run from the repository root with the project's venv (librosa 0.11):

    cargo build --release
    .venv/bin/python bench/compare_logmel.py [--files 40] [--seconds 10] [--sr 22050] [--repeats 5]

Other formats and both decoder backends (the ffmpeg CLI converts the WAV files; a wavegpu built
with the `ffmpeg` feature):

    cargo build --release --features ffmpeg
    .venv/bin/python bench/compare_logmel.py --format mp3 --decoders symphonia,ffmpeg

It writes --files WAV files (PCM 16-bit, deterministic tones + noise) into a temporary
directory, then times, median of --repeats runs after one warm-up:
  (a) librosa in-process (import excluded): for each file librosa.load(sr=None),
      melspectrogram(n_fft=2048, hop_length=512, n_mels=128), power_to_db, np.save;
  (b) `wavegpu mel DIR -o OUT --db --device cpu` as a whole process (start-up, decoding,
      DSP, writing .npy files), with RAYON_NUM_THREADS unset (all cores);
  (c) the same with --device gpu if --gpu is given (on a machine without a GPU that is
      lavapipe, a software rasteriser: NOT a GPU figure);
  each wavegpu run once per --decoders backend (`--decoder NAME`).
--format flac|mp3|ogg|opus|m4a converts the files with the ffmpeg CLI first (flac; mp3 128k;
vorbis q4; opus 96k; aac 128k). librosa reads through soundfile (libsndfile): formats it cannot
read (m4a) leave its rows out.
Before timing it checks that every wavegpu output equals librosa's within DESIGN.md's
dB tolerance (max abs 1e-3 dB), so that the timings are of the same computation. For lossy
formats the decoders themselves differ (libsndfile's mpg123/vorbis/opus vs symphonia vs
FFmpeg): the difference is printed, not enforced.
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
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

import librosa

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / "target" / "release" / "wavegpu"


def make_files(d: Path, n: int, seconds: float, sr: int, fmt: str) -> list[Path]:
    rng = np.random.default_rng(1234)
    t = np.arange(int(seconds * sr)) / sr
    paths = []
    for i in range(n):
        f0 = 110.0 * 2 ** (i / 12)
        y = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.1 * np.sin(2 * np.pi * 3 * f0 * t)
        y += 0.05 * rng.standard_normal(t.size)
        p = d / f"clip{i:03d}.wav"
        sf.write(p, np.clip(y, -1, 1), sr, subtype="PCM_16")
        if fmt != "wav":
            q = p.with_suffix("." + fmt)
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(p), *CODEC[fmt], str(q)],
                           check=True)
            p.unlink()
            p = q
        paths.append(p)
    return paths


CODEC = {
    "flac": [],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "4"],
    "opus": ["-c:a", "libopus", "-b:a", "96k"],
    "m4a": ["-c:a", "aac", "-b:a", "128k"],
}
LOSSLESS = {"wav", "flac"}


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


def wavegpu_run(src: Path, out: Path, device: str, decoder: str, extra: list[str]) -> float:
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    subprocess.run(
        [str(EXE), "mel", str(src), "-o", str(out), "--db", "--device", device,
         "--decoder", decoder, *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def timed(f, repeats: int) -> float:
    f()
    return statistics.median(f() for _ in range(repeats))


def main() -> int:
    global EXE
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--format", default="wav", choices=["wav", *CODEC])
    ap.add_argument("--decoders", default="symphonia")
    ap.add_argument("--exe", default=str(EXE), help="the wavegpu binary")
    a = ap.parse_args()
    EXE = Path(a.exe)
    decoders = a.decoders.split(",")
    warnings.filterwarnings("ignore")
    # Opus decodes at 48 kHz in FFmpeg; libsndfile decodes it at 24 kHz for a 22.05 kHz
    # source (Opus' own rates: 8/12/16/24/48k): wavegpu resamples to that rate, to compute
    # the same thing.
    extra = ["--sr", str(min(r for r in (8000, 12000, 16000, 24000, 48000) if r >= a.sr))] \
        if a.format == "opus" else []
    if not EXE.exists():
        print(f"{EXE} is missing: run `cargo build --release` first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src, ref, outs = tmp / "in", tmp / "librosa", tmp / "wavegpu"
        src.mkdir()
        ref.mkdir()
        paths = make_files(src, a.files, a.seconds, a.sr, a.format)
        devices = ["cpu"] + (["gpu"] if a.gpu else [])
        # Same numbers first.
        try:
            librosa_run(paths, ref)
            have_librosa = True
        except Exception as e:  # libsndfile cannot read this format
            print(f"librosa cannot read .{a.format}: {e}", file=sys.stderr)
            have_librosa = False
        outputs = {}
        for dev in devices:
            for dec in decoders:
                wavegpu_run(src, outs, dev, dec, extra)
                outputs[(dev, dec)] = [np.load(outs / (p.stem + ".npy")) for p in paths]
        for (dev, dec), xs in outputs.items():
            first = outputs[(devices[0], decoders[0])]
            if all(x.shape == y.shape for x, y in zip(xs, first)):
                between = max(float(np.abs(x - y).max()) for x, y in zip(xs, first))
                print(f"{dev}/{dec}: max abs difference to {devices[0]}/{decoders[0]} "
                      f"{between:.2e} dB", file=sys.stderr)
            else:
                print(f"{dev}/{dec}: shape {xs[0].shape} vs {first[0].shape} for "
                      f"{devices[0]}/{decoders[0]}", file=sys.stderr)
            if not have_librosa:
                continue
            worst = 0.0
            for p, x in zip(paths, xs):
                r = np.load(ref / (p.stem + ".npy"))
                if x.shape != r.shape:
                    # e.g. AAC priming: audioread (the ffmpeg CLI) keeps it, wavegpu trims it.
                    print(f"{p.name}: shape {x.shape} vs librosa's {r.shape}", file=sys.stderr)
                    worst = float("nan")
                    break
                worst = max(worst, float(np.abs(x - r).max()))
            print(f"{dev}/{dec}: max abs difference to librosa {worst:.2e} dB", file=sys.stderr)
            if not worst <= 1e-3 and a.format in LOSSLESS:
                print("outputs differ from librosa beyond 1e-3 dB: not timing", file=sys.stderr)
                return 1
        if have_librosa:
            t_lib = timed(lambda: librosa_run(paths, ref), a.repeats)
            ys = [librosa.load(p, sr=None) for p in paths]
            t_dsp = timed(lambda: librosa_dsp_only(ys), a.repeats)
        rows = []
        for dev in devices:
            for dec in decoders:
                t = timed(lambda dev=dev, dec=dec: wavegpu_run(src, outs, dev, dec, extra), a.repeats)
                rows.append((dev, dec, t))
    audio_s = a.files * a.seconds
    print(f"Log-mel of {a.files} x {a.seconds:g} s files at {a.sr} Hz (n_fft 2048, hop 512, 128 mels, "
          f"power_to_db), .{a.format} in, .npy out; median of {a.repeats} runs; "
          f"{platform.machine()}, {os.cpu_count()} cores\n")
    print(f"load average before timing: {os.getloadavg()[0]:.2f}\n")
    print("| tool | seconds | x real time | librosa / tool |")
    print("| --- | ---: | ---: | ---: |")
    if have_librosa:
        print(f"| librosa {librosa.__version__} in-process (import excluded) | {t_lib:.3f} | "
              f"{audio_s / t_lib:.0f}x | 1.00x |")
        print(f"| librosa, DSP only (audio already loaded, nothing saved) | {t_dsp:.3f} | "
              f"{audio_s / t_dsp:.0f}x | {t_lib / t_dsp:.2f}x |")
    for dev, dec, t in rows:
        note = " (lavapipe: software, not a GPU figure)" if dev == "gpu" else ""
        ratio = f"{t_lib / t:.2f}x" if have_librosa else "n/a"
        print(f"| `wavegpu mel DIR --db --device {dev} --decoder {dec}`, whole process{note} | "
              f"{t:.3f} | {audio_s / t:.0f}x | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
