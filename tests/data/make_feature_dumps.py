#!/usr/bin/env python3
"""librosa reference dumps for the feature stage: mel filterbanks, mel spectrograms,
power_to_db / amplitude_to_db and MFCC.

Called from make_dumps.py's main (the one command that regenerates everything):

    .venv/bin/python tests/data/make_dumps.py

It can also be run on its own, after make_dumps.py has run at least once (it reads the
committed fixtures and tests/data/load_cases.json, and rewrites only what it owns):

    .venv/bin/python tests/data/make_feature_dumps.py

Writes
  tests/data/mel_filter_cases.json + dumps/filters/*.npy   librosa.filters.mel, float64 .npy
  tests/data/mel_cases.json        + dumps/mel/*.npy       librosa.feature.melspectrogram
  tests/data/db_cases.json         + dumps/db/*.npy        power_to_db / amplitude_to_db of a mel
  tests/data/mfcc_cases.json       + dumps/mfcc/*.npy      librosa.feature.mfcc
  dumps/load/*_{mel,mel_db,mfcc}.npy and the keys mel_file / mel_db_file / mfcc_file of
  load_cases.json (librosa.load + every default).
dumps/filters/ is shared with make_chroma_spectral_dumps.py: this module clears and counts only
the mel filterbanks there, never its chroma_*.npy files.

Signals are loaded with librosa.load(sr=None, mono=False) and cast to float64; outputs are
float32 .npy except the filterbanks (float64; large n_fft comes with few mels to keep them small).
Every dump is checked against an independent numpy / scipy reimplementation (own mel scale and
triangles, own dB, scipy.fftpack.dct type 2 ortho).

librosa details the reimplementation has to follow (and the Rust side should know):
  * melspectrogram builds its basis with librosa.filters.mel's DEFAULT dtype, float32, then
    contracts it with a float64 power spectrogram. The triangle is rounded to float32, then the
    slaney factor is applied and rounded again. The mel dumps carry that rounding; a float64
    basis differs by up to ~4e-8 relative (printed in the summary).
  * librosa.feature.mfcc's `norm` is the DCT norm ("ortho"); the mel filter norm is `mel_norm`.
  * power_to_db: ref=np.max is evaluated on the whole array (both channels together), then
    clamped by amin like a numeric ref: 10*log10(max(amin, S)) - 10*log10(max(amin, max(S))).
    top_db floors at the GLOBAL max of the dB array minus top_db (again both channels).
    On all-zero input every value is 10*log10(amin) - 10*log10(max(amin, ref)), i.e. a
    constant (-100 dB for ref 1, amin 1e-10; exactly 0 dB for ref=np.max), and top_db does nothing.
  * amplitude_to_db(S, ref, amin, top_db) == power_to_db(S**2, ref**2, amin**2, top_db), with
    ref=np.max taken on the amplitude (then squared).
  * mfcc applies power_to_db with its defaults (ref 1.0, amin 1e-10, top_db 80) to the whole
    (possibly multichannel) mel array, so the top_db floor of a stereo MFCC is global.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from collections import Counter
from pathlib import Path

import librosa
import numpy as np
import scipy
import scipy.fftpack

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_dumps as md  # noqa: E402  (fixtures, paths, ref_stft, rel_err)

DATA = md.DATA
DUMPS = md.DUMPS
FIX = md.FIX
WINDOW_NAMES = md.WINDOW_NAMES
FEATURE_DIRS = ("filters", "mel", "db", "mfcc")
# new dumps (the four directories above + the feature files added to dumps/load)
BUDGET_BYTES = 8e6

EMPTY_FILTER_WARNING = "Empty filters detected"


# ----------------------------------------------------------------------------------------
# independent reference implementation (sanity checks only)
# ----------------------------------------------------------------------------------------

def ref_hz_to_mel(f: np.ndarray, htk: bool) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    # Slaney's Auditory Toolbox: linear below 1 kHz (200/3 Hz per mel), log above
    # (27 mels per factor 6.4 in frequency).
    lin = f / (200.0 / 3.0)
    log = 15.0 + 27.0 * np.log(np.maximum(f, 1e-300) / 1000.0) / np.log(6.4)
    return np.where(f >= 1000.0, log, lin)


def ref_mel_to_hz(m: np.ndarray, htk: bool) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    lin = m * (200.0 / 3.0)
    log = 1000.0 * np.exp((m - 15.0) * np.log(6.4) / 27.0)
    return np.where(m >= 15.0, log, lin)


def ref_mel_filters(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype=np.float64) -> np.ndarray:
    """Triangles between consecutive mel-spaced edges, evaluated on the rfft bin frequencies.

    dtype=np.float32 reproduces how librosa.filters.mel rounds a float32 basis: the triangle is
    stored as float32 first, then the slaney factor is applied (in float64) and rounded again.
    """
    bins = np.arange(1 + n_fft // 2) * (sr / n_fft)
    edges = ref_mel_to_hz(np.linspace(ref_hz_to_mel(fmin, htk), ref_hz_to_mel(fmax, htk),
                                      n_mels + 2), htk)
    W = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        rise = (bins - lo) / (c - lo)
        fall = (hi - bins) / (hi - c)
        W[m] = np.clip(np.minimum(rise, fall), 0.0, None).astype(dtype)
        if norm == "slaney":  # unit area in Hz: peak 1 over a base of (hi - lo) Hz
            W[m] = (W[m] * (2.0 / (hi - lo))).astype(dtype)
    return W


def ref_power_to_db(S, ref, amin, top_db) -> np.ndarray:
    ref_value = np.max(S) if ref == "max" else abs(ref)
    out = 10.0 * np.log10(np.maximum(amin, S)) - 10.0 * np.log10(max(amin, ref_value))
    if top_db is not None:
        out = np.maximum(out, out.max() - top_db)
    return out


def ref_amplitude_to_db(A, ref, amin, top_db) -> np.ndarray:
    ref_value = np.max(A) if ref == "max" else abs(ref)
    out = 20.0 * np.log10(np.maximum(amin, A)) - 20.0 * np.log10(max(amin, ref_value))
    if top_db is not None:
        out = np.maximum(out, out.max() - top_db)
    return out


def ref_melspec(y, p: dict, basis_dtype=np.float32) -> np.ndarray:
    S = np.abs(md.ref_stft(y, p["n_fft"], p["hop_length"], p["win_length"], p["_window"],
                           p["center"], p["pad_mode"])) ** p["power"]
    # librosa's melspectrogram uses a float32 basis (filters.mel's default dtype)
    fb = ref_mel_filters(p["sr"], p["n_fft"], p["n_mels"], p["fmin"], p["fmax"], p["htk"],
                         p["norm"], basis_dtype)
    return np.einsum("mf,...ft->...mt", fb, S)


def ref_mfcc(y, p: dict, n_mfcc: int, lifter: float) -> np.ndarray:
    D = ref_power_to_db(ref_melspec(y, p), 1.0, 1e-10, 80.0)
    C = scipy.fftpack.dct(D, type=2, norm="ortho", axis=-2)[..., :n_mfcc, :]
    if lifter > 0:
        C = C * (1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, n_mfcc + 1) / lifter))[:, None]
    return C


def check(what: str, out: np.ndarray, ref: np.ndarray, tol: float = 1e-9) -> float:
    assert out.shape == ref.shape, (what, out.shape, ref.shape)
    e = md.rel_err(out, ref)
    assert e < tol, (what, e)
    return e


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------

def fresh_dir(name: str) -> Path:
    d = DUMPS / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


# dumps/filters/ is shared with make_chroma_spectral_dumps.py, which owns its chroma_*.npy files.
CHROMA_FILTER_PREFIX = "chroma_"


def fresh_mel_filters_dir() -> Path:
    """Empties dumps/filters/ of mel filterbanks only (the chroma filterbanks stay)."""
    d = DUMPS / "filters"
    d.mkdir(parents=True, exist_ok=True)
    for f in d.iterdir():
        if not f.name.startswith(CHROMA_FILTER_PREFIX):
            f.unlink()
    return d


def feature_dir_size(name: str) -> int:
    """Bytes of this module's dumps in dumps/<name>/ (chroma filterbanks not counted)."""
    return sum(f.stat().st_size for f in (DUMPS / name).rglob("*")
               if f.is_file() and not f.name.startswith(CHROMA_FILTER_PREFIX))


def fnum(x: float) -> str:
    return f"{x:g}"


def resolve(fixture, sr, n_fft, hop, win, window, center, pad_mode, power, n_mels, fmin, fmax,
            htk, norm) -> dict:
    """Manifest-ready parameters with librosa's defaults made concrete."""
    win = n_fft if win is None else win
    hop = win // 4 if hop is None else hop  # librosa: hop_length = win_length // 4
    fmax = sr / 2.0 if fmax is None else float(fmax)
    return {
        "fixture": fixture, "sr": int(sr), "n_fft": n_fft, "hop_length": hop,
        "win_length": win, "window": WINDOW_NAMES[window], "center": center,
        "pad_mode": pad_mode, "power": float(power), "n_mels": n_mels, "fmin": float(fmin),
        "fmax": fmax, "htk": htk, "norm": norm, "_window": window,
    }


def mel_stem(p: dict) -> str:
    c = "c" if p["center"] else "nc"
    return (f"{Path(p['fixture']).stem}_n{p['n_fft']}_h{p['hop_length']}_w{p['win_length']}_"
            f"{p['window']}_{c}_{p['pad_mode']}_p{fnum(p['power'])}_m{p['n_mels']}_"
            f"f{fnum(p['fmin'])}-{fnum(p['fmax'])}_{'htk' if p['htk'] else 'slaney'}_"
            f"{p['norm'] or 'nonorm'}")


def librosa_mel(y, p: dict) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft=... is too large for input signal"
        warnings.filterwarnings("error", message=EMPTY_FILTER_WARNING)  # none in these grids
        M = librosa.feature.melspectrogram(
            y=y, sr=p["sr"], n_fft=p["n_fft"], hop_length=p["hop_length"],
            win_length=p["win_length"], window=p["_window"], center=p["center"],
            pad_mode=p["pad_mode"], power=p["power"], n_mels=p["n_mels"], fmin=p["fmin"],
            fmax=p["fmax"], htk=p["htk"], norm=p["norm"])
    assert M.dtype == np.float64, M.dtype
    return M


def expected_frames(n: int, p: dict) -> int:
    if p["center"]:
        return 1 + (n + 2 * (p["n_fft"] // 2) - p["n_fft"]) // p["hop_length"]
    return 1 + (n - p["n_fft"]) // p["hop_length"]


def public(p: dict) -> dict:
    return {k: v for k, v in p.items() if not k.startswith("_")}


# ----------------------------------------------------------------------------------------
# 1. mel filterbanks
# ----------------------------------------------------------------------------------------

# (sr, n_fft, n_mels, fmin, fmax or None, htk, norm). fmax None means sr/2 (librosa's
# default); 8000 only where it is below Nyquist; also sr/2 - 1000 and a few others.
# A dense float64 basis is n_mels * (1 + n_fft/2) * 8 bytes (1 MB at 128 x 2048), so large
# n_fft comes with few mels. librosa warns about empty filters only when some triangle (other than
# one starting at 0 Hz) falls between two FFT bins, i.e. when two mel steps are narrower than
# sr / n_fft: n_mels 128 at sr 8000 / n_fft 256 does NOT warn (31.25 Hz bins, 36 Hz triangles).
FILTER_GRID = [
    (8000, 256, 20, 0, None, False, "slaney"),
    (8000, 256, 40, 20, None, True, None),
    (8000, 256, 128, 0, None, False, "slaney"),     # dense but no empty filter
    (8000, 400, 20, 20, 3000, False, None),
    (8000, 512, 40, 300, 3000, False, "slaney"),
    (8000, 1024, 40, 0, None, True, "slaney"),
    (8000, 2048, 20, 0, None, False, "slaney"),
    (16000, 256, 80, 20, None, True, "slaney"),     # empty filters (2 rows)
    (16000, 256, 128, 0, None, True, None),         # empty filters (14 rows)
    (16000, 400, 40, 20, None, False, "slaney"),
    (16000, 400, 80, 0, None, False, "slaney"),     # Whisper's filterbank
    (16000, 400, 128, 0, None, False, "slaney"),
    (16000, 512, 40, 0, 7000, True, None),
    (16000, 512, 64, 300, None, False, "slaney"),
    (16000, 512, 80, 0, None, False, "slaney"),
    (16000, 1024, 40, 0, 7000, False, "slaney"),
    (16000, 2048, 20, 300, 7000, True, "slaney"),
    (16000, 4096, 20, 0, None, False, None),
    (22050, 256, 20, 20, 8000, False, None),
    (22050, 256, 40, 300, None, True, "slaney"),
    (22050, 400, 40, 0, None, True, "slaney"),
    (22050, 512, 64, 0, 10025, False, "slaney"),
    (22050, 512, 128, 0, 8000, False, "slaney"),    # close to empty, but not
    (22050, 1024, 40, 20, 8000, True, None),
    (22050, 2048, 20, 0, None, True, "slaney"),
    (22050, 2048, 128, 0, None, False, "slaney"),   # librosa's defaults
    (44100, 256, 20, 0, 8000, False, "slaney"),
    (44100, 256, 128, 0, None, False, "slaney"),    # empty filters (32 rows)
    (44100, 400, 80, 20, 21050, False, "slaney"),   # empty filters (3 rows)
    (44100, 512, 40, 0, None, True, None),
    (44100, 1024, 20, 0, 8000, True, "slaney"),
    (44100, 1024, 40, 300, 21050, False, None),
    (44100, 2048, 20, 20, None, False, "slaney"),
    (48000, 256, 20, 20, 23000, False, "slaney"),
    (48000, 400, 40, 0, None, False, "slaney"),
    (48000, 400, 64, 0, 8000, False, "slaney"),     # empty filters (6 rows)
    (48000, 512, 64, 300, None, False, None),
    (48000, 512, 80, 300, 23000, True, None),
    (48000, 1024, 40, 20, 23000, True, "slaney"),
    (48000, 2048, 20, 0, 8000, True, None),
]


def make_filters(stats: dict) -> list[dict]:
    out = fresh_mel_filters_dir()
    cases = []
    for sr, n_fft, n_mels, fmin, fmax, htk, norm in FILTER_GRID:
        fmax = sr / 2.0 if fmax is None else float(fmax)
        assert fmin < fmax <= sr / 2.0, (sr, fmin, fmax)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            W = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                                    htk=htk, norm=norm, dtype=np.float64)
        empty = any(EMPTY_FILTER_WARNING in str(w.message) for w in caught)
        assert W.dtype == np.float64 and W.shape == (n_mels, 1 + n_fft // 2), W.shape
        stats["filters"].append(check(f"filters sr{sr} n{n_fft} m{n_mels}", W,
                                      ref_mel_filters(sr, n_fft, n_mels, fmin, fmax, htk, norm)))
        # librosa's default float32 basis (what melspectrogram uses), with its double rounding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W32 = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                                      htk=htk, norm=norm)
        assert W32.dtype == np.float32
        stats["filters_f32"].append(check(f"filters f32 sr{sr} n{n_fft} m{n_mels}", W32,
                                          ref_mel_filters(sr, n_fft, n_mels, fmin, fmax, htk,
                                                          norm, np.float32)))
        # librosa's flag: a row that is all zero although its lower edge is above 0 Hz
        assert empty == bool(np.any(W[1:].max(axis=1) == 0)), (sr, n_fft, n_mels)
        name = (f"sr{sr}_n{n_fft}_m{n_mels}_f{fnum(fmin)}-{fnum(fmax)}_"
                f"{'htk' if htk else 'slaney'}_{norm or 'nonorm'}")
        rel = f"dumps/filters/{name}.npy"
        np.save(DATA / rel, W)
        cases.append({"name": name, "sr": sr, "n_fft": n_fft, "n_mels": n_mels,
                      "fmin": float(fmin), "fmax": fmax, "htk": htk, "norm": norm,
                      "empty_filters": empty, "file": rel})
    assert sum(c["empty_filters"] for c in cases) == 5
    return cases


# ----------------------------------------------------------------------------------------
# 2. mel spectrograms
# ----------------------------------------------------------------------------------------

# (fixture, n_fft, hop or None, win or None, window, center, pad_mode, power, n_mels, fmin,
#  fmax or None, htk, norm)
MEL_GRID = [
    # chirp_8k.wav: 8000 samples (Nyquist 4 kHz)
    ("chirp_8k.wav", 256, None, None, "hann", True, "constant", 2, 40, 0, None, False, "slaney"),
    ("chirp_8k.wav", 512, 128, 400, "hamming", True, "reflect", 1, 40, 20, 3000, True, None),
    ("chirp_8k.wav", 1023, 256, None, "hann", False, "constant", 2, 64, 0, None, False, "slaney"),
    ("chirp_8k.wav", 400, 100, None, "blackman", True, "constant", 2, 40, 300, None, True,
     "slaney"),
    ("chirp_8k.wav", 2048, 512, None, "hann", True, "reflect", 2, 80, 0, None, False, "slaney"),
    # noise_22k.wav: 11025 samples
    ("noise_22k.wav", 2048, None, None, "hann", True, "constant", 2, 128, 0, None, False,
     "slaney"),  # librosa defaults
    ("noise_22k.wav", 2048, 512, None, "hann", True, "constant", 2, 128, 0, 8000, False,
     "slaney"),
    ("noise_22k.wav", 1024, 256, None, "hamming", True, "reflect", 1, 80, 20, 8000, True, None),
    ("noise_22k.wav", 4096, 1024, None, "blackman", True, "constant", 2, 128, 0, 10025, False,
     "slaney"),
    ("noise_22k.wav", 400, 160, None, "hann", False, "constant", 2, 40, 300, None, True,
     "slaney"),
    ("noise_22k.wav", 1023, 333, None, "boxcar", True, "constant", 2, 64, 0, None, False, None),
    # impulses_16k.wav: 16000 samples, clicks at the first and last sample
    ("impulses_16k.wav", 512, 160, 400, "hann", True, "constant", 2, 40, 20, 7000, False,
     "slaney"),
    ("impulses_16k.wav", 400, 160, None, "hann", True, "reflect", 2, 80, 0, 8000, True,
     "slaney"),
    ("impulses_16k.wav", 1024, 256, None, "hamming", False, "constant", 1, 64, 300, None, False,
     None),
    ("impulses_16k.wav", 2048, 512, 1000, "blackman", True, "constant", 2, 128, 0, None, False,
     "slaney"),
    # silence_16k.wav: 4000 zeros
    ("silence_16k.wav", 512, 128, None, "hann", True, "constant", 2, 40, 0, None, False,
     "slaney"),
    ("silence_16k.wav", 400, 160, None, "hamming", True, "reflect", 1, 80, 20, 7000, True, None),
    # short_16k.wav: 300 samples (shorter than most n_fft)
    ("short_16k.wav", 512, 128, None, "hann", True, "constant", 2, 40, 0, None, False, "slaney"),
    ("short_16k.wav", 400, 100, None, "hann", True, "reflect", 1, 40, 20, 7000, True, None),
    ("short_16k.wav", 2048, 512, None, "hann", True, "constant", 2, 128, 0, None, False,
     "slaney"),
    ("short_16k.wav", 1023, 333, None, "hamming", True, "reflect", 2, 64, 300, None, False,
     "slaney"),  # reflect pad 511 > 300 samples
    # odd_44k.wav: 12345 samples, float32 WAV
    ("odd_44k.wav", 2048, 512, None, "hann", True, "constant", 2, 128, 0, None, False, "slaney"),
    ("odd_44k.wav", 1023, 333, None, "hann", True, "reflect", 1, 40, 300, 8000, True, "slaney"),
    ("odd_44k.wav", 4096, 1024, 2048, "hamming", True, "constant", 2, 80, 0, 21050, False, None),
    ("odd_44k.wav", 400, 160, None, "blackman", False, "constant", 2, 40, 300, None, False,
     "slaney"),
    ("odd_44k.wav", 2048, 256, 400, "boxcar", True, "reflect", 2, 64, 0, 8000, True, None),
    # stereo_48k.wav: 2 x 24000 samples
    ("stereo_48k.wav", 2048, 512, None, "hann", True, "constant", 2, 128, 0, None, False,
     "slaney"),
    ("stereo_48k.wav", 1024, 333, None, "hamming", True, "reflect", 1, 80, 20, 8000, False, None),
    ("stereo_48k.wav", 4096, 1024, None, "blackman", False, "constant", 2, 128, 0, 23000, True,
     "slaney"),
    ("stereo_48k.wav", 512, 256, 400, "hann", True, "constant", 2, 40, 300, None, True, "slaney"),
    ("stereo_48k.wav", 1023, 480, None, "boxcar", True, "reflect", 2, 64, 0, None, False,
     "slaney"),
    # speech_16k.wav: ~1.5 s espeak-ng
    ("speech_16k.wav", 512, 160, 400, "hann", True, "constant", 2, 80, 0, None, False, "slaney"),
    ("speech_16k.wav", 400, 160, None, "hann", True, "reflect", 2, 80, 0, 8000, False,
     "slaney"),  # Whisper's front end (before its log10 / clamp)
    ("speech_16k.wav", 400, 160, None, "hamming", False, "constant", 2, 40, 20, 7600, True,
     None),
    ("speech_16k.wav", 2048, 512, None, "hann", True, "constant", 2, 128, 0, None, False,
     "slaney"),
    ("speech_16k.wav", 1024, 256, None, "hann", True, "constant", 1, 64, 0, 8000, False,
     "slaney"),
    ("speech_16k.wav", 1023, 256, None, "blackman", True, "reflect", 2, 128, 300, None, True,
     None),
    ("speech_16k.wav", 4096, 1024, 2048, "hann", True, "reflect", 2, 128, 20, 7000, False,
     "slaney"),
    ("speech_16k.wav", 256, 128, None, "hann", True, "constant", 2, 40, 0, None, False, "slaney"),
    ("speech_16k.wav", 512, 128, None, "boxcar", True, "constant", 1, 40, 0, 4000, True,
     "slaney"),
]

MEL_KEYS = ["name", "fixture", "sr", "n_fft", "hop_length", "win_length", "window", "center",
            "pad_mode", "power", "n_mels", "fmin", "fmax", "htk", "norm"]


def grid_params(fixtures: dict, row) -> tuple[np.ndarray, dict]:
    fixture = row[0]
    y, sr = fixtures[fixture]
    return y, resolve(fixture, sr, *row[1:])


def make_mel(fixtures: dict, stats: dict) -> list[dict]:
    fresh_dir("mel")
    cases = []
    for row in MEL_GRID:
        y, p = grid_params(fixtures, row)
        M = librosa_mel(y, p)
        assert M.shape == y.shape[:-1] + (p["n_mels"], expected_frames(y.shape[-1], p)), M.shape
        stats["mel"].append(check(mel_stem(p), M, ref_melspec(y, p)))
        # the same with a float64 basis: how far librosa's float32 basis moves the numbers
        stats["mel_f64_basis"].append(md.rel_err(M, ref_melspec(y, p, np.float64)))
        name = mel_stem(p)
        rel = f"dumps/mel/{name}.npy"
        np.save(DATA / rel, M.astype(np.float32))
        cases.append({**{"name": name}, **public(p), "file": rel})
    return cases


# ----------------------------------------------------------------------------------------
# 3. dB
# ----------------------------------------------------------------------------------------

# Mel configurations (same tuple layout as MEL_GRID minus power, which the kind decides).
DB_MELS = {
    "speech_default": ("speech_16k.wav", 2048, None, None, "hann", True, "constant", 128, 0,
                       None, False, "slaney"),
    "speech_whisper": ("speech_16k.wav", 400, 160, None, "hann", True, "reflect", 80, 0, 8000,
                       False, "slaney"),
    "speech_512": ("speech_16k.wav", 512, 160, 400, "hann", True, "constant", 80, 0, None,
                   False, "slaney"),
    "stereo_default": ("stereo_48k.wav", 2048, None, None, "hann", True, "constant", 128, 0,
                       None, False, "slaney"),
    "stereo_1024": ("stereo_48k.wav", 1024, 333, None, "hamming", True, "reflect", 80, 20, 8000,
                    False, None),
    "silence_512": ("silence_16k.wav", 512, 128, None, "hann", True, "constant", 40, 0, None,
                    False, "slaney"),
    "chirp_256": ("chirp_8k.wav", 256, None, None, "hann", True, "constant", 40, 0, None, False,
                  "slaney"),
    "noise_default": ("noise_22k.wav", 2048, None, None, "hann", True, "constant", 128, 0, None,
                      False, "slaney"),
    "odd_1023": ("odd_44k.wav", 1023, 333, None, "hann", True, "reflect", 40, 300, 8000, True,
                 "slaney"),
    "short_512": ("short_16k.wav", 512, 128, None, "hann", True, "constant", 40, 0, None, False,
                  "slaney"),
    "impulses_400": ("impulses_16k.wav", 400, 160, None, "hann", True, "reflect", 80, 0, 8000,
                     True, "slaney"),
}

# (mel config, kind, ref (number or "max"), amin, top_db or None)
DB_GRID = [
    ("speech_default", "power_to_db", 1.0, 1e-10, 80.0),   # power_to_db defaults
    ("speech_default", "power_to_db", "max", 1e-10, 80.0),
    ("speech_default", "power_to_db", 0.5, 1e-5, 40.0),
    ("speech_default", "power_to_db", "max", 1e-5, None),
    ("speech_whisper", "power_to_db", 1.0, 1e-10, None),
    ("speech_512", "power_to_db", "max", 1e-10, 40.0),
    ("stereo_default", "power_to_db", "max", 1e-10, 80.0),  # max over both channels
    ("stereo_1024", "power_to_db", 1.0, 1e-10, 40.0),       # top_db floor from the global max
    ("stereo_1024", "power_to_db", 0.5, 1e-5, None),
    ("silence_512", "power_to_db", 1.0, 1e-10, 80.0),       # all -100 dB
    ("silence_512", "power_to_db", "max", 1e-10, 80.0),     # ref clamps to amin: all 0 dB
    ("silence_512", "power_to_db", 0.5, 1e-5, None),
    ("chirp_256", "power_to_db", "max", 1e-5, 80.0),
    ("noise_default", "power_to_db", 1.0, 1e-5, 40.0),
    ("odd_1023", "power_to_db", "max", 1e-10, None),
    ("short_512", "power_to_db", 1.0, 1e-10, 80.0),
    ("impulses_400", "power_to_db", 0.5, 1e-10, 80.0),
    ("speech_default", "amplitude_to_db", 1.0, 1e-5, 80.0),
    ("speech_default", "amplitude_to_db", "max", 1e-5, 80.0),
    ("stereo_default", "amplitude_to_db", "max", 1e-5, 80.0),
    ("silence_512", "amplitude_to_db", 1.0, 1e-5, 80.0),
    ("silence_512", "amplitude_to_db", "max", 1e-5, 80.0),
    ("noise_default", "amplitude_to_db", 0.5, 1e-5, 80.0),
    ("impulses_400", "amplitude_to_db", "max", 1e-5, 80.0),
]


def make_db(fixtures: dict, stats: dict) -> list[dict]:
    fresh_dir("db")
    cases = []
    for key, kind, ref, amin, top_db in DB_GRID:
        power = 2 if kind == "power_to_db" else 1
        row = DB_MELS[key]
        y, p = grid_params(fixtures, row[:7] + (power,) + row[7:])
        M = librosa_mel(y, p)
        lref = np.max if ref == "max" else ref
        if kind == "power_to_db":
            D = librosa.power_to_db(M, ref=lref, amin=amin, top_db=top_db)
            R = ref_power_to_db(M, ref, amin, top_db)
        else:
            D = librosa.amplitude_to_db(M, ref=lref, amin=amin, top_db=top_db)
            R = ref_amplitude_to_db(M, ref, amin, top_db)
        assert D.dtype == np.float64 and D.shape == M.shape
        stats["db"].append(check(f"db {key} {kind} {ref}", D, R))
        if M.ndim == 3:  # does the dump tell global ref / top_db from per-channel ones?
            fn = ref_power_to_db if kind == "power_to_db" else ref_amplitude_to_db
            per_channel = np.stack([fn(ch, ref, amin, top_db) for ch in M])
            stats["stereo_global_differs"].append(float(np.abs(D - per_channel).max()) > 1e-6)
        if top_db is not None:
            assert D.min() >= D.max() - top_db - 1e-9
        r = "max" if ref == "max" else fnum(ref)
        t = "none" if top_db is None else fnum(top_db)
        name = f"{mel_stem(p)}__{kind}_ref{r}_amin{fnum(amin)}_top{t}"
        rel = f"dumps/db/{name}.npy"
        np.save(DATA / rel, D.astype(np.float32))
        cases.append({**{"name": name}, **public(p), "kind": kind, "ref": ref,
                      "amin": float(amin), "top_db": top_db, "file": rel})
    return cases


# ----------------------------------------------------------------------------------------
# 4. MFCC
# ----------------------------------------------------------------------------------------

# (fixture, n_fft, hop, win, window, center, pad_mode, n_mels, fmin, fmax, htk, norm,
#  n_mfcc, lifter); power is 2 (mfcc's melspectrogram default).
MFCC_GRID = [
    ("speech_16k.wav", 2048, None, None, "hann", True, "constant", 128, 0, None, False,
     "slaney", 20, 0),  # every default
    ("speech_16k.wav", 400, 160, None, "hamming", True, "constant", 40, 20, 7600, True, None,
     13, 22),  # HTK-style front end
    ("speech_16k.wav", 512, 160, 400, "hann", True, "constant", 64, 0, None, False, "slaney",
     13, 0),
    ("speech_16k.wav", 400, 160, None, "hann", True, "reflect", 80, 0, 8000, False, "slaney",
     40, 30),
    ("speech_16k.wav", 1023, 256, None, "blackman", True, "reflect", 128, 300, None, True, None,
     20, 30),
    ("speech_16k.wav", 256, 128, None, "hann", True, "constant", 40, 0, None, False, "slaney",
     40, 22),  # n_mfcc == n_mels
    ("stereo_48k.wav", 2048, None, None, "hann", True, "constant", 128, 0, None, False, "slaney",
     20, 0),
    ("stereo_48k.wav", 1024, 333, None, "hamming", True, "reflect", 64, 20, 8000, False, None,
     13, 22),
    ("stereo_48k.wav", 2048, 512, None, "hann", True, "constant", 128, 0, None, False, None,
     20, 0),  # the top_db floor binds in one channel: global != per-channel (by ~26)
    ("stereo_48k.wav", 4096, 1024, None, "blackman", False, "constant", 128, 0, 23000, True,
     "slaney", 40, 22),
    ("chirp_8k.wav", 256, None, None, "hann", True, "constant", 40, 0, None, False, "slaney",
     13, 0),
    ("chirp_8k.wav", 512, 128, 400, "hann", True, "reflect", 40, 20, 3000, True, "slaney",
     20, 22),
    ("chirp_8k.wav", 1023, 256, None, "hann", False, "constant", 64, 0, None, False, "slaney",
     13, 30),
    ("noise_22k.wav", 2048, None, None, "hann", True, "constant", 128, 0, None, False, "slaney",
     40, 0),
    ("noise_22k.wav", 1023, 333, None, "hamming", True, "constant", 64, 300, None, False, None,
     13, 30),
    ("impulses_16k.wav", 512, 160, 400, "hann", True, "constant", 40, 0, None, False, "slaney",
     20, 22),
    ("impulses_16k.wav", 1024, 256, None, "hann", True, "reflect", 128, 0, None, False,
     "slaney", 40, 0),
    ("silence_16k.wav", 512, 128, None, "hann", True, "constant", 40, 0, None, False, "slaney",
     13, 0),
    ("short_16k.wav", 512, 128, None, "hann", True, "constant", 40, 0, None, False, "slaney",
     13, 22),
    ("odd_44k.wav", 2048, 512, None, "hann", True, "constant", 128, 0, 8000, False, "slaney",
     20, 0),
    ("odd_44k.wav", 4096, 1024, 2048, "hann", True, "reflect", 80, 20, None, True, "slaney",
     40, 30),
]


def make_mfcc(fixtures: dict, stats: dict) -> list[dict]:
    fresh_dir("mfcc")
    cases = []
    for row in MFCC_GRID:
        *mel_row, n_mfcc, lifter = row
        y, p = grid_params(fixtures, tuple(mel_row[:7]) + (2,) + tuple(mel_row[7:]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.filterwarnings("error", message=EMPTY_FILTER_WARNING)
            C = librosa.feature.mfcc(
                y=y, sr=p["sr"], n_mfcc=n_mfcc, lifter=lifter, n_fft=p["n_fft"],
                hop_length=p["hop_length"], win_length=p["win_length"], window=p["_window"],
                center=p["center"], pad_mode=p["pad_mode"], n_mels=p["n_mels"], fmin=p["fmin"],
                fmax=p["fmax"], htk=p["htk"], mel_norm=p["norm"])  # `norm` is the DCT's
        assert C.dtype == np.float64
        assert C.shape == y.shape[:-1] + (n_mfcc, expected_frames(y.shape[-1], p)), C.shape
        stats["mfcc"].append(check(f"mfcc {mel_stem(p)}", C, ref_mfcc(y, p, n_mfcc, lifter)))
        if y.ndim == 2:  # does the dump tell a global top_db floor from a per-channel one?
            per_channel = np.stack([ref_mfcc(ch, p, n_mfcc, lifter) for ch in y])
            stats["stereo_global_differs"].append(float(np.abs(C - per_channel).max()) > 1e-6)
        name = f"{mel_stem(p)}__mfcc{n_mfcc}_lift{fnum(lifter)}"
        rel = f"dumps/mfcc/{name}.npy"
        np.save(DATA / rel, C.astype(np.float32))
        cases.append({**{"name": name}, **public(p), "n_mfcc": n_mfcc, "lifter": float(lifter),
                      "file": rel})
    return cases


# ----------------------------------------------------------------------------------------
# 5. end to end: librosa.load + every default
# ----------------------------------------------------------------------------------------

LOAD_FEATURES = {("speech_16k.wav", True), ("speech_16k.flac", True), ("speech_16k.mp3", True),
                 ("speech_16k.ogg", True), ("stereo_48k.wav", False)}
LOAD_FEATURE_SUFFIXES = ("_mel.npy", "_mel_db.npy", "_mfcc.npy")


def add_load_features(load_cases: list[dict], stats: dict) -> list[dict]:
    """Adds mel_file / mel_db_file / mfcc_file to every load_cases entry (null where not made)."""
    for f in (DUMPS / "load").iterdir():  # standalone reruns: drop our previous outputs
        if f.name.endswith(LOAD_FEATURE_SUFFIXES):
            f.unlink()
    for entry in load_cases:
        entry.update({"mel_file": None, "mel_db_file": None, "mfcc_file": None})
        if (entry["fixture"], entry["mono"]) not in LOAD_FEATURES or entry["file"] is None:
            continue
        y, sr = librosa.load(FIX / entry["fixture"], sr=None, mono=entry["mono"])
        assert np.array_equal(y, np.load(DATA / entry["file"])), entry["fixture"]
        assert sr == entry["sample_rate"]
        y = y.astype(np.float64)
        stem = entry["file"][:-len(".npy")]  # dumps/load/<stem>
        M = librosa.feature.melspectrogram(y=y, sr=sr)
        D = librosa.power_to_db(M)
        C = librosa.feature.mfcc(y=y, sr=sr)
        p = resolve(entry["fixture"], sr, 2048, None, None, "hann", True, "constant", 2, 128, 0,
                    None, False, "slaney")
        stats["load"].append(check(f"load mel {stem}", M, ref_melspec(y, p)))
        stats["load"].append(check(f"load db {stem}", D, ref_power_to_db(M, 1.0, 1e-10, 80.0)))
        stats["load"].append(check(f"load mfcc {stem}", C, ref_mfcc(y, p, 20, 0)))
        for key, arr, suffix in (("mel_file", M, "_mel"), ("mel_db_file", D, "_mel_db"),
                                 ("mfcc_file", C, "_mfcc")):
            rel = f"{stem}{suffix}.npy"
            np.save(DATA / rel, arr.astype(np.float32))
            entry[key] = rel
    return load_cases


def load_feature_bytes() -> int:
    return sum(f.stat().st_size for f in (DUMPS / "load").iterdir()
               if f.name.endswith(LOAD_FEATURE_SUFFIXES))


# ----------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------

def run(fixtures: dict, load_cases: list[dict]) -> list[dict]:
    """Writes every feature dump and manifest; returns load_cases with the feature keys added
    (the caller writes load_cases.json)."""
    stats = {"filters": [], "filters_f32": [], "mel": [], "mel_f64_basis": [], "db": [],
             "mfcc": [], "load": [], "stereo_global_differs": []}
    filters = make_filters(stats)
    md.write_json(DATA / "mel_filter_cases.json", filters)
    mel = make_mel(fixtures, stats)
    md.write_json(DATA / "mel_cases.json", mel)
    db = make_db(fixtures, stats)
    md.write_json(DATA / "db_cases.json", db)
    mfcc = make_mfcc(fixtures, stats)
    md.write_json(DATA / "mfcc_cases.json", mfcc)
    load_cases = add_load_features(load_cases, stats)

    for cases, keys in ((filters, ["name", "sr", "n_fft", "n_mels", "fmin", "fmax", "htk",
                                   "norm", "empty_filters", "file"]),
                        (mel, MEL_KEYS + ["file"]),
                        (db, MEL_KEYS + ["kind", "ref", "amin", "top_db", "file"]),
                        (mfcc, MEL_KEYS + ["n_mfcc", "lifter", "file"])):
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), "duplicate case names"
        for c in cases:
            assert list(c) == keys, (list(c), keys)

    # summary
    print(f"mel filter cases: {len(filters)} ({sum(c['empty_filters'] for c in filters)} with "
          f"empty filters: " + ", ".join(c["name"] for c in filters if c["empty_filters"]) + ")")
    for key in ("sr", "n_fft", "n_mels", "fmin", "htk", "norm"):
        cnt = Counter(c[key] for c in filters)
        print(f"  filters {key}: " + ", ".join(f"{k}={v}" for k, v in
                                              sorted(cnt.items(), key=str)))
    print(f"mel cases: {len(mel)}")
    for key in ("fixture", "n_fft", "n_mels", "window", "center", "pad_mode", "power", "htk",
                "norm"):
        cnt = Counter(c[key] for c in mel)
        print(f"  mel {key}: " + ", ".join(f"{k}={v}" for k, v in sorted(cnt.items(), key=str)))
    print(f"db cases: {len(db)} (" + ", ".join(
        f"{k}={v}" for k, v in sorted(Counter(c["kind"] for c in db).items())) + ")")
    print(f"mfcc cases: {len(mfcc)}")
    made = [c for c in load_cases if c["mel_file"]]
    print(f"load feature dumps: {len(made)} inputs x 3 ("
          + ", ".join(c["fixture"] + ("" if c["mono"] else " stereo") for c in made) + ")")
    g = stats.pop("stereo_global_differs")
    print(f"stereo dB / MFCC cases where librosa's global max / top_db differs from a per-channel "
          f"one: {sum(g)} of {len(g)}")
    assert sum(g) >= 4
    print("max rel. error vs independent numpy reference: "
          + ", ".join(f"{k} {max(v):.1e}" for k, v in stats.items() if k != "mel_f64_basis")
          + f"; librosa mel (float32 basis) vs float64 basis: up to "
          f"{max(stats['mel_f64_basis']):.1e}")
    sizes = {d: feature_dir_size(d) for d in FEATURE_DIRS}
    sizes["load features"] = load_feature_bytes()
    total = sum(sizes.values())
    print("feature dump sizes: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items())
          + f", total {total / 1e6:.2f} MB")
    assert total < BUDGET_BYTES, "feature dumps exceed their 8 MB budget"
    return load_cases


def main() -> int:
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    fixtures = {p.name: md.load_fixture(p.name) for p in sorted(FIX.glob("*.wav"))}
    load_path = DATA / "load_cases.json"
    load_cases = json.loads(load_path.read_text())
    load_cases = run(fixtures, load_cases)
    md.write_json(load_path, load_cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
