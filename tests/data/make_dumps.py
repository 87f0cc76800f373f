#!/usr/bin/env python3
"""Generate the fixtures and librosa reference dumps for wavegpu's parity tests.

Rerun from the repository root:

    python3 -m venv .venv
    .venv/bin/pip install -r tests/data/requirements.txt
    .venv/bin/python tests/data/make_dumps.py

What it does (deterministic, fixed seeds, safe to rerun):
  (a) writes the synthetic fixtures in tests/data/fixtures/ (bit-identical on every run);
  (b) records the espeak-ng speech fixtures (tests/data/fixtures/speech_16k.wav and
      examples/data/speech.wav) and the ffmpeg-encoded copies of speech_16k (flac, mp3, ogg,
      m4a) ONLY IF THEY ARE MISSING, because espeak-ng / ffmpeg output differs between
      versions; the committed files are the reference;
  (c) writes the dumps under tests/data/dumps/ and the manifests
      tests/data/{stft,istft,load}_cases.json;
  (d) sanity-checks every dump (shapes, frame counts, and an independent numpy STFT/iSTFT
      implementation that must agree with librosa to ~1e-10) and prints a summary;
  (e) runs make_feature_dumps.py (same directory): mel filterbanks, mel spectrograms, dB, MFCC
      (tests/data/{mel_filter,mel,db,mfcc}_cases.json, dumps/{filters,mel,db,mfcc}/) and the
      mel_file / mel_db_file / mfcc_file entries of load_cases.json, each checked against an
      independent numpy reimplementation;
  (f) runs make_chroma_spectral_dumps.py (same directory): chroma filterbanks, chroma_stft and
      the spectral features (centroid, bandwidth, rolloff, flatness, contrast, rms, zero
      crossing rate) (tests/data/{chroma_filter,chroma,spectral}_cases.json,
      dumps/filters/chroma_*.npy, dumps/{chroma,spectral}/), again checked against an
      independent numpy reimplementation.

All reference computations are done in float64 (complex128); dumps are stored as float32 /
complex64 .npy files.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from importlib import metadata
from pathlib import Path

import audioread
import librosa
import numpy as np
import scipy
import scipy.signal
import soundfile as sf

DATA = Path(__file__).resolve().parent  # tests/data
REPO = DATA.parent.parent
FIX = DATA / "fixtures"
DUMPS = DATA / "dumps"
EXAMPLE_SPEECH = REPO / "examples" / "data" / "speech.wav"

SPEECH_TEXT = "Hello from the GPU."
EXAMPLE_TEXT = "Wave GPU computes spectrograms on the graphics card."

# Manifest window names: librosa/scipy name -> name recorded for the Rust side.
WINDOW_NAMES = {"hann": "hann", "hamming": "hamming", "blackman": "blackman", "boxcar": "ones"}


# ----------------------------------------------------------------------------------------
# (a) synthetic fixtures
# ----------------------------------------------------------------------------------------

def to_pcm16(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1) -> int16, so that the file decodes to exactly q / 32768."""
    q = np.round(np.asarray(x, dtype=np.float64) * 32767.0)
    return np.clip(q, -32768, 32767).astype(np.int16)


def write_pcm16(name: str, x: np.ndarray, sr: int) -> None:
    # x: (samples,) or (samples, channels)
    sf.write(FIX / name, to_pcm16(x), sr, subtype="PCM_16", format="WAV")


def write_float32_wav(name: str, x: np.ndarray, sr: int) -> None:
    """Mono IEEE-float WAV (format tag 3): RIFF, fmt (16 bytes), fact, data.

    Written by hand because libsndfile adds a PEAK chunk containing a timestamp, which
    would make the file differ on every run.
    """
    data = np.ascontiguousarray(x, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, sr, sr * 4, 4, 32)
    fact = struct.pack("<I", x.shape[0])
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"fact" + struct.pack("<I", len(fact)) + fact
            + b"data" + struct.pack("<I", len(data)) + data)
    (FIX / name).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def make_synthetic() -> None:
    FIX.mkdir(parents=True, exist_ok=True)

    # chirp_8k.wav: 8 kHz, 1 s, logarithmic chirp 50 Hz -> 3800 Hz, amplitude 0.7
    sr = 8000
    t = np.arange(sr) / sr
    x = 0.7 * scipy.signal.chirp(t, f0=50.0, t1=1.0, f1=3800.0, method="logarithmic")
    write_pcm16("chirp_8k.wav", x, sr)

    # noise_22k.wav: 22050 Hz, 0.5 s, white Gaussian noise (std 0.25)
    sr = 22050
    rng = np.random.default_rng(1)
    x = np.clip(0.25 * rng.standard_normal(sr // 2), -0.99, 0.99)
    write_pcm16("noise_22k.wav", x, sr)

    # impulses_16k.wav: 16 kHz, 1 s, sparse clicks, incl. the very first and last samples
    sr = 16000
    rng = np.random.default_rng(2)
    x = np.zeros(sr)
    pos = np.concatenate([[0, sr - 1], rng.choice(np.arange(1, sr - 1), size=14, replace=False)])
    amp = rng.uniform(0.3, 0.95, size=pos.size) * rng.choice([-1.0, 1.0], size=pos.size)
    x[pos] = amp
    write_pcm16("impulses_16k.wav", x, sr)

    # silence_16k.wav: 16 kHz, 0.25 s of exact zeros
    write_pcm16("silence_16k.wav", np.zeros(4000), 16000)

    # short_16k.wav: 16 kHz, 300 samples (shorter than most n_fft): 440 Hz sine + noise
    sr = 16000
    rng = np.random.default_rng(3)
    t = np.arange(300) / sr
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.05 * rng.standard_normal(300)
    write_pcm16("short_16k.wav", x, sr)

    # odd_44k.wav: 44.1 kHz, 12345 samples, sum of sines (+ tiny noise), 32-bit FLOAT WAV
    sr = 44100
    rng = np.random.default_rng(4)
    t = np.arange(12345) / sr
    x = (0.3 * np.sin(2 * np.pi * 220.0 * t)
         + 0.2 * np.sin(2 * np.pi * 1234.5 * t + 0.3)
         + 0.15 * np.sin(2 * np.pi * 5000.0 * t + 1.1)
         + 0.1 * np.sin(2 * np.pi * 15000.0 * t + 2.0)
         + 0.01 * rng.standard_normal(t.size))
    write_float32_wav("odd_44k.wav", x.astype(np.float32), sr)

    # stereo_48k.wav: 48 kHz, 0.5 s, 2 channels: L = 1 kHz + 3 kHz sines,
    # R = linear chirp 100 Hz -> 12 kHz plus noise
    sr = 48000
    rng = np.random.default_rng(5)
    n = sr // 2
    t = np.arange(n) / sr
    left = 0.4 * np.sin(2 * np.pi * 1000.0 * t) + 0.3 * np.sin(2 * np.pi * 3000.0 * t)
    right = (0.5 * scipy.signal.chirp(t, f0=100.0, t1=0.5, f1=12000.0, method="linear")
             + 0.05 * rng.standard_normal(n))
    write_pcm16("stereo_48k.wav", np.stack([left, right], axis=1), sr)


# ----------------------------------------------------------------------------------------
# (b) recorded fixtures (only if missing)
# ----------------------------------------------------------------------------------------

def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def espeak_to(path: Path, text: str, sr: int, max_seconds: float | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        run(["espeak-ng", "-v", "en-us", "-w", str(raw), text])
        cmd = ["sox", str(raw), "-D", "-b", "16", "-c", "1", "-e", "signed-integer",
               str(path), "rate", "-v", str(sr)]
        if max_seconds is not None:
            cmd += ["trim", "0", str(max_seconds)]
        run(cmd)  # -D: no dither, so the conversion is deterministic


def make_recorded() -> None:
    speech = FIX / "speech_16k.wav"
    if not speech.exists():
        print(f"recording {speech.relative_to(REPO)} with espeak-ng")
        espeak_to(speech, SPEECH_TEXT, 16000, 1.5)
    EXAMPLE_SPEECH.parent.mkdir(parents=True, exist_ok=True)
    if not EXAMPLE_SPEECH.exists():
        print(f"recording {EXAMPLE_SPEECH.relative_to(REPO)} with espeak-ng")
        espeak_to(EXAMPLE_SPEECH, EXAMPLE_TEXT, 22050, None)

    common = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", str(speech),
              "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    encodings = {
        "flac": ["-c:a", "flac"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        "ogg": ["-c:a", "libvorbis", "-q:a", "4"],
        "m4a": ["-c:a", "aac", "-b:a", "64k"],
    }
    for ext, args in encodings.items():
        out = FIX / f"speech_16k.{ext}"
        if not out.exists():
            print(f"encoding {out.relative_to(REPO)} with ffmpeg")
            run(common + args + [str(out)])


# ----------------------------------------------------------------------------------------
# independent reference implementation used only for sanity checks
# ----------------------------------------------------------------------------------------

def ref_window(window: str, win_length: int, n_fft: int) -> np.ndarray:
    w = scipy.signal.get_window(window, win_length, fftbins=True).astype(np.float64)
    lpad = (n_fft - win_length) // 2
    return np.pad(w, (lpad, n_fft - win_length - lpad))


def ref_stft(y: np.ndarray, n_fft, hop, win_length, window, center, pad_mode) -> np.ndarray:
    w = ref_window(window, win_length, n_fft)
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode=pad_mode)
    n_frames = 1 + (y.shape[-1] - n_fft) // hop
    idx = np.arange(n_fft)[:, None] + hop * np.arange(n_frames)[None, :]
    frames = y[..., idx] * w[:, None]
    return np.fft.rfft(frames, axis=-2)


def ref_istft(S, n_fft, hop, win_length, window, center, length) -> np.ndarray:
    w = ref_window(window, win_length, n_fft)
    n_frames = S.shape[-1]
    frames = np.fft.irfft(S, n=n_fft, axis=-2) * w[:, None]
    full = n_fft + hop * (n_frames - 1)
    y = np.zeros(S.shape[:-2] + (full,))
    wss = np.zeros(full)
    for i in range(n_frames):
        y[..., i * hop:i * hop + n_fft] += frames[..., :, i]
        wss[i * hop:i * hop + n_fft] += w ** 2
    nz = wss > np.finfo(np.float64).tiny
    y[..., nz] /= wss[nz]
    start = n_fft // 2 if center else 0
    if length is None:
        end = full - n_fft // 2 if center else full
        y = y[..., start:end]
    else:
        y = y[..., start:start + length]
        if y.shape[-1] < length:
            y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])])
    return y


def rel_err(a, b) -> float:
    nb = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / nb) if nb > 0 else float(np.linalg.norm(a - b))


# ----------------------------------------------------------------------------------------
# (c) STFT dumps
# ----------------------------------------------------------------------------------------

# (fixture, n_fft, hop_length or None, win_length or None, window, center, pad_mode, complex)
STFT_GRID = [
    # chirp_8k.wav: 8000 samples
    ("chirp_8k.wav", 256, None, None, "hann", True, "constant", False),
    ("chirp_8k.wav", 512, 160, 400, "hann", True, "reflect", False),
    ("chirp_8k.wav", 1023, 333, None, "hamming", False, "constant", False),
    ("chirp_8k.wav", 400, 100, None, "blackman", True, "constant", False),
    ("chirp_8k.wav", 400, 100, None, "blackman", True, "constant", True),
    ("chirp_8k.wav", 2048, 333, 1000, "boxcar", True, "reflect", False),
    ("chirp_8k.wav", 4096, None, None, "hann", False, "constant", False),
    ("chirp_8k.wav", 1000, 160, None, "hann", True, "reflect", False),
    ("chirp_8k.wav", 512, 128, None, "boxcar", False, "constant", False),
    ("chirp_8k.wav", 1023, 160, 400, "hamming", True, "constant", False),
    # noise_22k.wav: 11025 samples
    ("noise_22k.wav", 2048, None, None, "hann", True, "constant", False),
    ("noise_22k.wav", 2048, 512, 1000, "hamming", True, "reflect", False),
    ("noise_22k.wav", 1000, 250, None, "hann", False, "constant", False),
    ("noise_22k.wav", 1023, 100, None, "blackman", True, "reflect", False),
    ("noise_22k.wav", 256, 160, None, "boxcar", True, "constant", False),
    ("noise_22k.wav", 256, 160, None, "boxcar", False, "constant", True),
    ("noise_22k.wav", 4096, 333, None, "hamming", True, "constant", False),
    ("noise_22k.wav", 400, 160, None, "hann", False, "reflect", False),
    ("noise_22k.wav", 512, 333, 400, "blackman", True, "constant", False),
    # impulses_16k.wav: 16000 samples, clicks at the first and last sample
    ("impulses_16k.wav", 512, 160, 400, "hann", True, "constant", False),
    ("impulses_16k.wav", 400, 160, None, "hann", True, "reflect", False),
    ("impulses_16k.wav", 256, 100, None, "hamming", False, "constant", False),
    ("impulses_16k.wav", 1000, 333, None, "boxcar", True, "constant", False),
    ("impulses_16k.wav", 2048, None, None, "blackman", True, "constant", False),
    ("impulses_16k.wav", 4096, 333, None, "hann", True, "reflect", False),
    ("impulses_16k.wav", 1023, None, None, "hann", True, "constant", False),
    ("impulses_16k.wav", 512, None, None, "hamming", True, "reflect", False),
    # silence_16k.wav: 4000 zeros
    ("silence_16k.wav", 512, None, None, "hann", True, "constant", False),
    ("silence_16k.wav", 512, 160, None, "hann", True, "reflect", False),
    ("silence_16k.wav", 2048, 333, None, "hamming", False, "constant", False),
    ("silence_16k.wav", 4096, None, None, "blackman", True, "constant", False),
    ("silence_16k.wav", 400, 100, None, "boxcar", True, "reflect", False),
    # short_16k.wav: 300 samples
    ("short_16k.wav", 512, None, None, "hann", True, "constant", False),
    ("short_16k.wav", 512, None, None, "hann", True, "constant", True),
    ("short_16k.wav", 512, 160, 400, "hann", True, "reflect", False),
    ("short_16k.wav", 256, 100, None, "hamming", False, "constant", False),
    ("short_16k.wav", 1000, 160, None, "blackman", True, "constant", False),
    ("short_16k.wav", 2048, None, None, "hann", True, "constant", False),
    ("short_16k.wav", 4096, 333, None, "boxcar", True, "constant", False),
    ("short_16k.wav", 2048, 512, None, "hann", True, "reflect", False),  # pad 1024 > 300
    ("short_16k.wav", 400, 100, None, "hann", True, "constant", False),
    ("short_16k.wav", 1023, 333, None, "hamming", True, "reflect", False),  # pad 511 > 300
    ("short_16k.wav", 4096, None, 1000, "blackman", True, "reflect", False),  # pad 2048 > 300
    # odd_44k.wav: 12345 samples, float32 WAV
    ("odd_44k.wav", 2048, None, None, "hann", True, "constant", False),
    ("odd_44k.wav", 1023, 333, None, "hann", True, "reflect", False),
    ("odd_44k.wav", 1023, 333, None, "hann", True, "reflect", True),
    ("odd_44k.wav", 4096, 333, 1000, "hamming", True, "constant", False),
    ("odd_44k.wav", 1000, 100, None, "blackman", False, "constant", False),
    ("odd_44k.wav", 512, 160, 400, "boxcar", True, "reflect", False),
    ("odd_44k.wav", 400, None, None, "hann", False, "constant", False),
    ("odd_44k.wav", 256, 333, None, "hamming", True, "constant", False),
    ("odd_44k.wav", 2048, 512, 1000, "blackman", False, "constant", False),
    # stereo_48k.wav: 2 x 24000 samples
    ("stereo_48k.wav", 2048, None, None, "hann", True, "constant", False),
    ("stereo_48k.wav", 1000, 333, None, "hamming", True, "reflect", False),
    ("stereo_48k.wav", 2048, 1024, None, "hamming", True, "reflect", True),
    ("stereo_48k.wav", 4096, None, 2048, "blackman", False, "constant", False),
    ("stereo_48k.wav", 512, 160, 400, "hann", True, "constant", False),
    ("stereo_48k.wav", 1023, 333, None, "boxcar", False, "reflect", False),
    ("stereo_48k.wav", 256, 100, None, "hann", True, "reflect", False),
    # speech_16k.wav: ~1.5 s espeak-ng
    ("speech_16k.wav", 512, 160, 400, "hann", True, "constant", False),
    ("speech_16k.wav", 512, 160, 400, "hann", True, "constant", True),
    ("speech_16k.wav", 400, 160, None, "hann", True, "constant", False),
    ("speech_16k.wav", 2048, None, None, "hann", True, "constant", False),
    ("speech_16k.wav", 2048, 512, 1000, "hamming", True, "reflect", False),
    ("speech_16k.wav", 1023, 100, None, "blackman", True, "constant", False),
    ("speech_16k.wav", 256, None, None, "boxcar", True, "reflect", False),
    ("speech_16k.wav", 4096, 333, None, "hann", False, "constant", False),
    ("speech_16k.wav", 1000, 333, None, "hamming", False, "reflect", False),
    ("speech_16k.wav", 512, 128, None, "blackman", False, "constant", False),
    ("speech_16k.wav", 400, 333, None, "hann", True, "reflect", False),
    ("speech_16k.wav", 1000, 160, 400, "hann", True, "constant", False),
    ("speech_16k.wav", 4096, 1024, 2048, "hann", True, "reflect", False),
]

# Cases librosa rejects: recorded with expect_error=true and no file.
# (fixture, n_fft, hop_length, win_length, window, center, pad_mode)
STFT_ERRORS = [
    ("short_16k.wav", 512, 128, 512, "hann", False, "constant"),    # uncentered, 300 < n_fft
    ("short_16k.wav", 1000, 160, 1000, "hamming", False, "reflect"),  # uncentered, 300 < n_fft
    ("silence_16k.wav", 4096, 1024, 4096, "hann", False, "constant"),  # uncentered, 4000 < n_fft
    ("chirp_8k.wav", 512, 128, 1024, "hann", True, "constant"),     # win_length > n_fft
    ("chirp_8k.wav", 512, 0, 512, "hann", True, "constant"),        # hop_length == 0
]


def load_fixture(name: str) -> tuple[np.ndarray, int]:
    y, sr = librosa.load(FIX / name, sr=None, mono=False)
    return y.astype(np.float64), int(sr)


def case_name(fixture, n_fft, hop, win, window, center, pad_mode, cplx) -> str:
    stem = Path(fixture).stem
    c = "c" if center else "nc"
    name = f"{stem}_n{n_fft}_h{hop}_w{win}_{WINDOW_NAMES[window]}_{c}_{pad_mode}"
    return name + ("_complex" if cplx else "")


def make_stft(fixtures: dict) -> list[dict]:
    out_dir = DUMPS / "stft"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    cases = []
    for fixture, n_fft, hop, win, window, center, pad_mode, cplx in STFT_GRID:
        hop = n_fft // 4 if hop is None else hop  # librosa default: win_length // 4
        win = n_fft if win is None else win
        if hop is None:
            raise AssertionError
        y, _ = fixtures[fixture]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_fft=... is too large for input signal"
            S = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, window=window,
                             center=center, pad_mode=pad_mode)
        assert S.dtype == np.complex128, S.dtype
        # sanity: shape
        n = y.shape[-1]
        # frames = 1 + (padded_len - n_fft) // hop. Centered, padded_len = n + 2 * (n_fft // 2),
        # which is 1 + n // hop for even n_fft but 1 + (n - 1) // hop for ODD n_fft.
        frames = 1 + (n + 2 * (n_fft // 2) - n_fft) // hop if center else 1 + (n - n_fft) // hop
        if center and n_fft % 2 == 0:
            assert frames == 1 + n // hop
        assert S.shape == y.shape[:-1] + (1 + n_fft // 2, frames), (fixture, S.shape, frames)
        # sanity: independent implementation
        R = ref_stft(y, n_fft, hop, win, window, center, pad_mode)
        e = rel_err(S, R)
        assert e < 1e-10 or (np.linalg.norm(R) == 0 and np.linalg.norm(S) == 0), (fixture, e)
        name = case_name(fixture, n_fft, hop, win, window, center, pad_mode, cplx)
        rel = f"dumps/stft/{name}.npy"
        np.save(DATA / rel, S.astype(np.complex64) if cplx else np.abs(S).astype(np.float32))
        cases.append({
            "name": name, "fixture": fixture, "n_fft": n_fft, "hop_length": hop,
            "win_length": win, "window": WINDOW_NAMES[window], "center": center,
            "pad_mode": pad_mode, "complex": cplx, "expect_error": False, "file": rel,
        })
    for fixture, n_fft, hop, win, window, center, pad_mode in STFT_ERRORS:
        y, _ = fixtures[fixture]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, window=window,
                             center=center, pad_mode=pad_mode)
        except librosa.util.exceptions.ParameterError:
            pass
        else:
            raise AssertionError(f"librosa accepted an expected-error case: {fixture} {n_fft}")
        name = "error_" + case_name(fixture, n_fft, hop, win, window, center, pad_mode, False)
        cases.append({
            "name": name, "fixture": fixture, "n_fft": n_fft, "hop_length": hop,
            "win_length": win, "window": WINDOW_NAMES[window], "center": center,
            "pad_mode": pad_mode, "complex": False, "expect_error": True, "file": None,
        })
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


# ----------------------------------------------------------------------------------------
# iSTFT dumps
# ----------------------------------------------------------------------------------------

def make_istft(fixtures: dict) -> list[dict]:
    out_dir = DUMPS / "istft"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    speech, _ = fixtures["speech_16k.wav"]
    stereo, _ = fixtures["stereo_48k.wav"]
    rng = np.random.default_rng(10)

    def rand_spec(n_fft, frames, channels=None):
        shape = (1 + n_fft // 2, frames) if channels is None else (channels, 1 + n_fft // 2, frames)
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    inputs = {}

    def add_input(key, S):
        rel = f"dumps/istft/input_{key}.npy"
        np.save(DATA / rel, S.astype(np.complex64))
        inputs[key] = rel

    # consistent STFTs of real signals
    add_input("speech_n512_h160_w400_hann_c", librosa.stft(
        speech, n_fft=512, hop_length=160, win_length=400, window="hann", center=True))
    add_input("speech_n512_h128_hann_c", librosa.stft(
        speech, n_fft=512, hop_length=128, window="hann", center=True))
    add_input("speech_n400_h160_hann_c", librosa.stft(
        speech, n_fft=400, hop_length=160, window="hann", center=True))
    add_input("speech_n400_h100_hann_nc", librosa.stft(
        speech, n_fft=400, hop_length=100, window="hann", center=False))
    stereo = stereo[:, :8000]  # keep the dump small
    add_input("stereo_n1000_h250_hann_c", librosa.stft(
        stereo, n_fft=1000, hop_length=250, window="hann", center=True))
    # random complex matrices (not consistent STFTs; DC / Nyquist bins have nonzero imag)
    add_input("rand_f257_t50", rand_spec(512, 50))
    add_input("rand_f257_t61", rand_spec(512, 61))
    add_input("rand_f512_t40", rand_spec(1023, 40))
    add_input("rand_f501_t30", rand_spec(1000, 30))
    add_input("rand_f257_t20_x2", rand_spec(512, 20, channels=2))

    n_speech = speech.shape[-1]
    # (input key, n_fft, hop, win_length, window, center, length)
    grid = [
        ("speech_n512_h160_w400_hann_c", 512, 160, 400, "hann", True, None),
        ("speech_n512_h160_w400_hann_c", 512, 160, 400, "hann", True, n_speech),
        ("speech_n512_h128_hann_c", 512, 128, 512, "hann", True, n_speech),
        ("speech_n400_h160_hann_c", 400, 160, 400, "hann", True, None),
        ("speech_n400_h100_hann_nc", 400, 100, 400, "hann", False, None),
        ("stereo_n1000_h250_hann_c", 1000, 250, 1000, "hann", True, stereo.shape[-1]),
        ("rand_f257_t50", 512, 128, 512, "hann", True, None),
        ("rand_f257_t50", 512, 128, 512, "hann", False, None),
        ("rand_f257_t50", 512, 128, 512, "hann", True, 5000),   # shorter than natural
        ("rand_f257_t50", 512, 128, 512, "hann", True, 8000),   # longer: zero-padded
        ("rand_f257_t61", 512, 160, 512, "hamming", True, None),
        ("rand_f257_t61", 512, 160, 512, "hamming", False, 9000),
        ("rand_f257_t61", 512, 160, 400, "hann", True, None),   # win_length < n_fft
        ("rand_f512_t40", 1023, 333, 1023, "hann", True, None),  # odd n_fft
        # blackman only centered: scipy's periodic blackman has w[0] = -1.4e-17 (not 0), so an
        # uncentered iSTFT divides sample 0 by ~2e-34 and the output there is rounding noise.
        ("rand_f501_t30", 1000, 250, 1000, "blackman", True, 7000),
        ("rand_f257_t20_x2", 512, 256, 512, "boxcar", True, None),
    ]
    cases = []
    for key, n_fft, hop, win, window, center, length in grid:
        S = np.load(DATA / inputs[key]).astype(np.complex128)
        y = librosa.istft(S, n_fft=n_fft, hop_length=hop, win_length=win, window=window,
                          center=center, length=length)
        assert y.dtype == np.float64, y.dtype
        frames = S.shape[-1]
        if length is not None:
            exp_len = length
        elif center:  # n_fft + hop*(frames-1) - 2*(n_fft//2): one more sample for odd n_fft
            exp_len = hop * (frames - 1) + n_fft % 2
        else:
            exp_len = n_fft + hop * (frames - 1)
        assert y.shape == S.shape[:-2] + (exp_len,), (key, y.shape, exp_len)
        R = ref_istft(S, n_fft, hop, win, window, center, length)
        e = rel_err(y, R)
        assert e < 1e-10, (key, e)
        c = "c" if center else "nc"
        name = f"{key}__n{n_fft}_h{hop}_w{win}_{WINDOW_NAMES[window]}_{c}_len{length}"
        rel = f"dumps/istft/{name}.npy"
        np.save(DATA / rel, y.astype(np.float32))
        cases.append({
            "name": name, "input": inputs[key], "n_fft": n_fft, "hop_length": hop,
            "win_length": win, "window": WINDOW_NAMES[window], "center": center,
            "length": length, "file": rel,
        })
    # round trip: speech STFT -> iSTFT reproduces the signal (COLA), a check on the dumps
    S = np.load(DATA / inputs["speech_n512_h128_hann_c"]).astype(np.complex128)
    y = librosa.istft(S, n_fft=512, hop_length=128, window="hann", length=n_speech)
    assert rel_err(y, speech) < 1e-5, rel_err(y, speech)  # complex64 input limits this
    return cases


# ----------------------------------------------------------------------------------------
# decoding references
# ----------------------------------------------------------------------------------------

def make_load() -> list[dict]:
    out_dir = DUMPS / "load"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    cases = []
    items = [(f"speech_16k.{ext}", True) for ext in ("wav", "flac", "mp3", "ogg", "m4a")]
    items.append(("stereo_48k.wav", False))
    for fixture, mono in items:
        path = FIX / fixture
        stem = fixture.replace(".", "_") + ("" if mono else "_stereo")
        entry = {"fixture": fixture, "mono": mono, "file": None, "sample_rate": None,
                 "decoder_used": None, "error": None, "stft_file": None}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                y, sr = librosa.load(path, sr=None, mono=mono)
            fell_back = any("PySoundFile failed" in str(w.message) for w in caught)
            if fell_back:
                with audioread.audio_open(str(path)) as f:
                    backend = type(f).__name__
                entry["decoder_used"] = f"audioread {metadata.version('audioread')} ({backend})"
            else:
                entry["decoder_used"] = f"soundfile {sf.__version__} (libsndfile " \
                                        f"{sf.__libsndfile_version__})"
            rel = f"dumps/load/{stem}.npy"
            np.save(DATA / rel, y.astype(np.float32))
            entry["file"] = rel
            entry["sample_rate"] = int(sr)
            # librosa.load + librosa.stft with every default (n_fft 2048, hop 512, hann,
            # center, zero padding), magnitude: what `wavegpu stft FILE` must reproduce.
            srel = f"dumps/load/{stem}_stft.npy"
            S = np.abs(librosa.stft(y.astype(np.float64)))
            np.save(DATA / srel, S.astype(np.float32))
            entry["stft_file"] = srel
            if not mono:
                assert y.ndim == 2 and y.shape[0] == 2, y.shape
        except Exception as exc:  # record, do not fail
            entry["error"] = f"{type(exc).__name__}: {exc}"
        cases.append(entry)
    # lossless copies must decode to identical samples
    by = {c["fixture"]: c for c in cases}
    wav = np.load(DATA / by["speech_16k.wav"]["file"])
    if by["speech_16k.flac"]["file"]:
        assert np.array_equal(np.load(DATA / by["speech_16k.flac"]["file"]), wav)
    return cases


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------

def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main() -> int:
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"soundfile {sf.__version__} (libsndfile {sf.__libsndfile_version__})")
    make_synthetic()
    make_recorded()

    fixtures = {}
    print("fixtures:")
    for p in sorted(FIX.glob("*.wav")):
        y, sr = load_fixture(p.name)
        fixtures[p.name] = (y, sr)
        info = sf.info(p)
        ch = 1 if y.ndim == 1 else y.shape[0]
        print(f"  {p.name:18s} {sr:6d} Hz  {y.shape[-1]:6d} samples  {ch} ch  {info.subtype}")
        # PCM16 decodes to exact multiples of 1/32768
        if info.subtype == "PCM_16":
            q = y * 32768.0
            assert np.array_equal(q, np.round(q))
    ex = sf.info(EXAMPLE_SPEECH)
    print(f"  examples/data/speech.wav {ex.samplerate} Hz {ex.frames} samples "
          f"{ex.channels} ch {ex.subtype}")

    stft_cases = make_stft(fixtures)
    write_json(DATA / "stft_cases.json", stft_cases)
    istft_cases = make_istft(fixtures)
    write_json(DATA / "istft_cases.json", istft_cases)
    load_cases = make_load()
    import make_feature_dumps  # (e); imports this module for its helpers
    load_cases = make_feature_dumps.run(fixtures, load_cases)
    write_json(DATA / "load_cases.json", load_cases)
    import make_chroma_spectral_dumps  # (f)
    make_chroma_spectral_dumps.run(fixtures)
    import make_cqt_dumps  # (g) CQT / VQT: full-rate reference + librosa (its own fixture)
    make_cqt_dumps.run()

    # coverage summary for the STFT grid
    ok = [c for c in stft_cases if not c["expect_error"]]
    for key in ("n_fft", "hop_length", "window", "center", "pad_mode", "fixture"):
        cnt = Counter(c[key] for c in ok)
        print(f"  stft {key}: " + ", ".join(f"{k}={v}" for k, v in sorted(cnt.items(), key=str)))
    print(f"  stft win_length < n_fft: {sum(c['win_length'] < c['n_fft'] for c in ok)}")
    print(f"STFT cases: {len(stft_cases)} ({len(ok)} dumps, "
          f"{sum(c['complex'] for c in ok)} complex, "
          f"{len(stft_cases) - len(ok)} expect_error)")
    print(f"iSTFT cases: {len(istft_cases)}")
    for c in load_cases:
        shape = np.load(DATA / c["file"]).shape if c["file"] else None
        print(f"load {c['fixture']:17s} mono={c['mono']!s:5s} shape={shape} "
              f"decoder={c['decoder_used']} error={c['error']}")
    sizes = {d: dir_size(DUMPS / d) for d in ("stft", "istft", "load")}
    sizes["load"] -= make_feature_dumps.load_feature_bytes()  # counted in the feature budget
    total = sum(sizes.values())
    print("dump sizes: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items())
          + f", total {total / 1e6:.2f} MB; fixtures {dir_size(FIX) / 1e6:.2f} MB")
    assert total < 15e6, "dumps exceed the 15 MB budget"
    return 0


if __name__ == "__main__":
    sys.exit(main())
