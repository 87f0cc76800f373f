#!/usr/bin/env python3
"""librosa reference dumps for chroma and the spectral features: chroma filterbanks,
chroma_stft, spectral_centroid / bandwidth / rolloff / flatness / contrast, rms and
zero_crossing_rate.

Called from make_dumps.py's main (the one command that regenerates everything):

    .venv/bin/python tests/data/make_dumps.py

It can also be run on its own, after make_dumps.py has run at least once (it reads the
committed fixtures and rewrites only what it owns, with identical bytes):

    .venv/bin/python tests/data/make_chroma_spectral_dumps.py

Writes
  tests/data/chroma_filter_cases.json + dumps/filters/chroma_*.npy  librosa.filters.chroma, float64
  tests/data/chroma_cases.json        + dumps/chroma/*.npy          librosa.feature.chroma_stft
  tests/data/spectral_cases.json      + dumps/spectral/*.npy        spectral_centroid, _bandwidth,
      _rolloff, _flatness, _contrast, rms, zero_crossing_rate
dumps/filters/ is shared with make_feature_dumps.py (mel filterbanks); each module clears only
its own files there.

Signals are loaded with librosa.load(sr=None, mono=False) and cast to float64; outputs are
float32 .npy except the filterbanks (float64). Every dump is checked against an independent
numpy reimplementation (own STFT from make_dumps.py, own chroma filterbank, own features,
spectral_contrast included) that must agree to < 1e-9 relative.

librosa details the reimplementation has to follow (and the Rust side should know):
  * chroma_stft works on the POWER spectrogram |stft|**2 and builds its filterbank with
    filters.chroma's DEFAULT dtype, float32 (computed in float64, rounded once at the end); the
    dumps carry that rounding (a float64 basis differs by ~3e-8 relative, printed below).
    Normalisation is util.normalize(norm, axis=chroma): a column whose norm is below
    np.finfo(float64).tiny (an all-zero frame) is left as it is, i.e. stays all zeros; any other
    column, however quiet, is scaled to max 1 (norm=inf).
  * chroma_stft(tuning=None) estimates the tuning with
    estimate_tuning(S=<power spectrogram>, sr, bins_per_octave=n_chroma), NOT with the signal:
    estimate_tuning(y=y, sr, bins_per_octave=12) (which runs piptrack on the magnitude) returns a
    different number. The manifests record the value chroma_stft really used.
  * spectral_centroid / bandwidth / rolloff / contrast use the MAGNITUDE |stft| (power 1);
    spectral_flatness uses max(amin, |stft|**power) (power 2 = power spectrogram).
  * spectral_rolloff: the lowest bin centre frequency whose cumulative magnitude is >=
    roll_percent * total (0 Hz on an all-zero frame).
  * spectral_contrast: octave bands [0, fmin], [fmin, 2 fmin], ..., the last one extended to
    Nyquist; each band but the first also takes the bin just below it, each band but the last
    drops its top bin from the sorted set, but the quantile count rint(quantile * n) (at least 1)
    counts the bins before that drop. In dB it is power_to_db(peak) - power_to_db(valley) with
    power_to_db's defaults (10 log10 although peak / valley are magnitudes; ref 1, amin 1e-10,
    top_db 80 measured from the GLOBAL max of the peak (resp. valley) array, all bands, frames
    and channels together).
  * rms: np.pad(y, frame_length // 2, mode=pad_mode) when centred, util.frame, sqrt(mean(y**2)).
    librosa's default dtype=np.float32 squares and averages in float32; these dumps pass
    dtype=np.float64 (the float32 default differs by up to ~1e-6 relative, printed below).
  * zero_crossing_rate pads with mode="edge" (repeats the end samples) when centred; it has no
    pad_mode parameter; |x| <= 1e-10 counts as 0 and 0 as positive (signbit); the first sample of
    each frame never counts (pad=False), and the count is divided by frame_length.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

import librosa
import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_dumps as md  # noqa: E402  (fixtures, paths, ref_stft, rel_err, write_json)
import make_feature_dumps as mfd  # noqa: E402  (check, fresh_dir, ref_power_to_db, ...)

DATA = md.DATA
DUMPS = md.DUMPS
FIX = md.FIX
WINDOW_NAMES = md.WINDOW_NAMES
CHROMA_PREFIX = mfd.CHROMA_FILTER_PREFIX  # "chroma_": our files in the shared dumps/filters/
BUDGET_BYTES = 3e6  # chroma filterbanks + dumps/chroma + dumps/spectral
TINY = np.finfo(np.float64).tiny
fnum = mfd.fnum


# ----------------------------------------------------------------------------------------
# independent reference implementation (sanity checks only)
# ----------------------------------------------------------------------------------------

def ref_chroma_filters(sr, n_fft, n_chroma, tuning, ctroct, octwidth, norm, base_c,
                       dtype=np.float64) -> np.ndarray:
    """Ellis' chroma filterbank, column by column.

    Each FFT bin k >= 1 sits at a (fractional) position p_k on the chroma-bin scale, counted
    from A0 shifted by `tuning` bins (A0 = A440 * 2^(tuning / n_chroma) / 16). Bin 0 gets a
    made-up position 1.5 octaves below bin 1. Column k is a Gaussian bump over the chroma
    classes centred at p_k (wrapped to the nearest class), with half-width = the spacing to the
    next bin (at least one chroma bin; 1 for the last bin), L2-normalised, then weighted by a
    Gaussian in octaves around ctroct (half-width octwidth). Rows are rotated to start at C.
    """
    a0 = 440.0 * 2.0 ** (tuning / n_chroma) / 16.0
    pos = np.empty(n_fft)
    for k in range(1, n_fft):
        pos[k] = n_chroma * np.log2((k * sr / n_fft) / a0)
    pos[0] = pos[1] - 1.5 * n_chroma
    width = np.ones(n_fft)
    for k in range(n_fft - 1):
        width[k] = max(pos[k + 1] - pos[k], 1.0)
    half = round(n_chroma / 2)  # n_chroma is even here
    n_out = 1 + n_fft // 2
    W = np.zeros((n_chroma, n_out))
    for k in range(n_out):
        col = np.empty(n_chroma)
        for c in range(n_chroma):
            d = (pos[k] - c + half + 10 * n_chroma) % n_chroma - half  # in [-half, half)
            col[c] = np.exp(-0.5 * (2.0 * d / width[k]) ** 2)
        if norm is not None:
            col = col / np.sqrt(np.sum(col ** 2))
        if octwidth is not None:
            col = col * np.exp(-0.5 * ((pos[k] / n_chroma - ctroct) / octwidth) ** 2)
        W[:, k] = col
    if base_c:  # class 0 is A; C is 3 semitones above
        shift = 3 * (n_chroma // 12)
        W = np.concatenate([W[shift:], W[:shift]], axis=0)
    return W.astype(dtype)


def magnitude(y, p) -> np.ndarray:
    return np.abs(md.ref_stft(y, p["n_fft"], p["hop_length"], p["win_length"], p["_window"],
                              p["center"], p["pad_mode"]))


def bin_freqs(sr, n_fft) -> np.ndarray:
    return np.arange(1 + n_fft // 2) * (sr / n_fft)


def ref_chroma_stft(y, p, tuning, basis_dtype=np.float32) -> np.ndarray:
    P = magnitude(y, p) ** 2
    fb = ref_chroma_filters(p["sr"], p["n_fft"], p["n_chroma"], tuning, 5.0, 2.0, 2, True,
                            basis_dtype).astype(np.float64)
    raw = np.einsum("cf,...ft->...ct", fb, P)
    if p["norm"] is None:
        return raw
    peak = raw.max(axis=-2, keepdims=True)  # norm = inf (all entries are >= 0)
    return raw / np.where(peak < TINY, 1.0, peak)


def ref_centroid(S, sr, n_fft) -> np.ndarray:
    f = bin_freqs(sr, n_fft)[:, None]
    total = S.sum(axis=-2, keepdims=True)
    return np.sum(f * S, axis=-2, keepdims=True) / np.where(total < TINY, 1.0, total)


def ref_bandwidth(S, sr, n_fft, p) -> np.ndarray:
    f = bin_freqs(sr, n_fft)[:, None]
    total = S.sum(axis=-2, keepdims=True)
    w = S / np.where(total < TINY, 1.0, total)
    dev = np.abs(f - ref_centroid(S, sr, n_fft))
    return np.sum(w * dev ** p, axis=-2, keepdims=True) ** (1.0 / p)


def ref_rolloff(S, sr, n_fft, roll_percent) -> np.ndarray:
    f = bin_freqs(sr, n_fft)
    cum = np.cumsum(S, axis=-2)
    reached = cum >= roll_percent * cum[..., -1:, :]
    first = np.argmax(reached, axis=-2)  # lowest bin that reaches the threshold
    return f[first][..., None, :]


def ref_flatness(S, power, amin) -> np.ndarray:
    X = np.maximum(amin, S ** power)
    return np.exp(np.mean(np.log(X), axis=-2, keepdims=True)) / np.mean(X, axis=-2,
                                                                         keepdims=True)


def contrast_bands(S, sr, n_fft, n_bands, fmin, quantile) -> tuple[np.ndarray, np.ndarray]:
    """(peak, valley), shape (..., n_bands + 1, frames): the means of the quantile highest /
    lowest magnitudes of each octave band."""
    f = bin_freqs(sr, n_fft)
    edges = [0.0] + [fmin * 2.0 ** k for k in range(n_bands + 1)]
    peaks, valleys = [], []
    for k in range(n_bands + 1):
        inside = np.nonzero((f >= edges[k]) & (f <= edges[k + 1]))[0]
        lo = inside[0] - 1 if k > 0 else inside[0]
        hi = len(f) - 1 if k == n_bands else inside[-1]
        n = hi - lo + 1
        q = max(int(np.rint(quantile * n)), 1)
        top = hi if k == n_bands else hi - 1  # all bands but the last drop their top bin
        band = np.sort(S[..., lo:top + 1, :], axis=-2)
        valleys.append(band[..., :q, :].mean(axis=-2))
        peaks.append(band[..., -q:, :].mean(axis=-2))
    return np.stack(peaks, axis=-2), np.stack(valleys, axis=-2)


def ref_contrast(S, sr, n_fft, n_bands, fmin, quantile, linear) -> np.ndarray:
    peak, valley = contrast_bands(S, sr, n_fft, n_bands, fmin, quantile)
    if linear:
        return peak - valley
    return (mfd.ref_power_to_db(peak, 1.0, 1e-10, 80.0)
            - mfd.ref_power_to_db(valley, 1.0, 1e-10, 80.0))


def contrast_floor_binds(S, sr, n_fft, prm) -> bool:
    """True where power_to_db's top_db=80 floor changes the dB contrast."""
    peak, valley = contrast_bands(S, sr, n_fft, prm["n_bands"], prm["fmin"], prm["quantile"])
    no_floor = (mfd.ref_power_to_db(peak, 1.0, 1e-10, None)
                - mfd.ref_power_to_db(valley, 1.0, 1e-10, None))
    floor = ref_contrast(S, sr, n_fft, prm["n_bands"], prm["fmin"], prm["quantile"], False)
    return bool(np.abs(floor - no_floor).max() > 1e-9)


def frames_of(y, frame_length, hop, center, pad_mode) -> np.ndarray:
    if center:
        h = frame_length // 2
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(h, h)], mode=pad_mode)
    n = 1 + (y.shape[-1] - frame_length) // hop
    idx = np.arange(frame_length)[:, None] + hop * np.arange(n)[None, :]
    return y[..., idx]  # (..., frame_length, frames)


def ref_rms(y, frame_length, hop, center, pad_mode) -> np.ndarray:
    x = frames_of(y, frame_length, hop, center, pad_mode)
    return np.sqrt(np.mean(x * x, axis=-2, keepdims=True))


def ref_zcr(y, frame_length, hop, center) -> np.ndarray:
    x = frames_of(y, frame_length, hop, center, "edge")
    x = np.where(np.abs(x) <= 1e-10, 0.0, x)
    neg = np.signbit(x)
    flips = neg[..., 1:, :] != neg[..., :-1, :]
    return flips.sum(axis=-2, keepdims=True) / frame_length


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------

def stft_params(fixture, sr, n_fft, hop, win, window, center, pad_mode) -> dict:
    win = n_fft if win is None else win
    hop = win // 4 if hop is None else hop  # librosa: hop_length = win_length // 4
    return {"fixture": fixture, "sr": int(sr), "n_fft": n_fft, "hop_length": hop,
            "win_length": win, "window": WINDOW_NAMES[window], "center": center,
            "pad_mode": pad_mode, "_window": window}


def stft_stem(p: dict) -> str:
    c = "c" if p["center"] else "nc"
    return (f"{Path(p['fixture']).stem}_n{p['n_fft']}_h{p['hop_length']}_w{p['win_length']}_"
            f"{p['window']}_{c}_{p['pad_mode']}")


def public(p: dict) -> dict:
    return {k: v for k, v in p.items() if not k.startswith("_")}


def save(subdir: str, name: str, arr: np.ndarray, dtype=np.float32) -> str:
    rel = f"dumps/{subdir}/{name}.npy"
    np.save(DATA / rel, arr.astype(dtype))
    return rel


# ----------------------------------------------------------------------------------------
# 1. chroma filterbanks
# ----------------------------------------------------------------------------------------

# (sr, n_fft, n_chroma, tuning, octwidth or None, norm 2 or None, base_c); ctroct is 5.0.
# A float64 basis is n_chroma * (1 + n_fft/2) * 8 bytes, so n_fft 4096 comes with 12 chroma.
CHROMA_FILTER_GRID = [
    (22050, 2048, 12, 0.0, 2.0, 2, True),     # librosa's defaults (chroma_stft's basis)
    (8000, 512, 12, 0.0, 2.0, 2, True),
    (8000, 1024, 24, -0.25, 2.0, 2, True),
    (8000, 4096, 12, 0.3, 2.0, 2, True),
    (16000, 512, 12, 0.3, 2.0, 2, True),
    (16000, 1024, 12, -0.25, 2.0, 2, True),
    (16000, 2048, 36, 0.0, 2.0, 2, True),
    (16000, 4096, 12, -0.25, 2.0, 2, True),
    (22050, 512, 24, 0.3, 2.0, 2, True),
    (22050, 1024, 36, 0.0, 2.0, 2, True),
    (44100, 512, 36, -0.25, 2.0, 2, True),
    (44100, 1024, 12, 0.3, 2.0, 2, True),
    (44100, 2048, 24, -0.25, 2.0, 2, True),
    (44100, 4096, 12, 0.0, 2.0, 2, True),
    (16000, 1024, 12, 0.0, None, 2, True),    # octwidth=None: flat octave weighting
    (22050, 2048, 12, 0.0, 2.0, None, True),  # norm=None: columns not normalised
    (44100, 1024, 12, 0.0, 2.0, 2, False),    # base_c=False: rows start at A
    (8000, 2048, 24, 0.3, None, None, False),
]

CHROMA_FILTER_KEYS = ["name", "sr", "n_fft", "n_chroma", "tuning", "ctroct", "octwidth", "norm",
                      "base_c", "file"]


def make_chroma_filters(stats: dict) -> list[dict]:
    d = DUMPS / "filters"
    d.mkdir(parents=True, exist_ok=True)
    for f in d.glob(CHROMA_PREFIX + "*"):  # ours only; the mel filterbanks stay
        f.unlink()
    cases = []
    for sr, n_fft, n_chroma, tuning, octwidth, norm, base_c in CHROMA_FILTER_GRID:
        ctroct = 5.0
        W = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning,
                                   ctroct=ctroct, octwidth=octwidth, norm=norm, base_c=base_c,
                                   dtype=np.float64)
        assert W.dtype == np.float64 and W.shape == (n_chroma, 1 + n_fft // 2), W.shape
        stats["chroma_filters"].append(mfd.check(
            f"chroma filters sr{sr} n{n_fft} c{n_chroma}", W,
            ref_chroma_filters(sr, n_fft, n_chroma, tuning, ctroct, octwidth, norm, base_c)))
        W32 = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning,
                                     ctroct=ctroct, octwidth=octwidth, norm=norm, base_c=base_c)
        assert W32.dtype == np.float32 and np.array_equal(W32, W.astype(np.float32))
        ow = "flat" if octwidth is None else fnum(octwidth)
        name = (f"{CHROMA_PREFIX}sr{sr}_n{n_fft}_c{n_chroma}_t{fnum(tuning)}_o{fnum(ctroct)}-{ow}_"
                f"{'l2' if norm else 'nonorm'}_{'C' if base_c else 'A'}")
        rel = save("filters", name, W, np.float64)
        cases.append({"name": name, "sr": sr, "n_fft": n_fft, "n_chroma": n_chroma,
                      "tuning": float(tuning), "ctroct": ctroct, "octwidth": octwidth,
                      "norm": norm, "base_c": base_c, "file": rel})
    return cases


# ----------------------------------------------------------------------------------------
# 2. chroma_stft
# ----------------------------------------------------------------------------------------

# (fixture, n_fft, hop or None, win or None, window, center, pad_mode, n_chroma,
#  tuning (number or "estimate"), norm ("inf" or None))
CHROMA_GRID = [
    ("speech_16k.wav", 2048, None, None, "hann", True, "constant", 12, 0.0, "inf"),
    ("speech_16k.wav", 512, 160, 400, "hann", True, "constant", 12, 0.0, "inf"),
    ("speech_16k.wav", 1024, 256, None, "hamming", True, "reflect", 24, -0.2, "inf"),
    ("speech_16k.wav", 512, 160, 400, "hann", False, "constant", 12, 0.15, None),
    ("chirp_8k.wav", 2048, None, None, "hann", True, "constant", 12, 0.0, "inf"),
    ("chirp_8k.wav", 512, 128, None, "blackman", True, "constant", 24, 0.0, "inf"),
    ("chirp_8k.wav", 1024, 256, None, "hann", False, "constant", 12, -0.2, "inf"),
    ("noise_22k.wav", 2048, None, None, "hann", True, "constant", 12, 0.0, "inf"),
    ("noise_22k.wav", 1024, 256, None, "boxcar", True, "reflect", 24, 0.15, None),
    ("stereo_48k.wav", 2048, None, None, "hann", True, "constant", 12, 0.0, "inf"),
    ("stereo_48k.wav", 4096, 1024, None, "hann", True, "constant", 24, -0.2, "inf"),
    ("silence_16k.wav", 2048, None, None, "hann", True, "constant", 12, 0.0, "inf"),
    ("silence_16k.wav", 512, 128, None, "hann", True, "constant", 24, 0.0, None),
    ("odd_44k.wav", 2048, None, None, "hann", True, "constant", 12, 0.0, "inf"),
    ("odd_44k.wav", 1023, 333, None, "hamming", True, "reflect", 12, 0.15, "inf"),
    # librosa's default tuning=None: estimated from the power spectrogram
    ("speech_16k.wav", 2048, None, None, "hann", True, "constant", 12, "estimate", "inf"),
    ("chirp_8k.wav", 2048, None, None, "hann", True, "constant", 12, "estimate", "inf"),
]

CHROMA_KEYS = ["name", "fixture", "sr", "n_fft", "hop_length", "win_length", "window", "center",
               "pad_mode", "n_chroma", "tuning", "estimated_tuning", "norm", "file"]


def make_chroma(fixtures: dict, stats: dict) -> list[dict]:
    mfd.fresh_dir("chroma")
    cases = []
    for fixture, n_fft, hop, win, window, center, pad_mode, n_chroma, tuning, norm in CHROMA_GRID:
        y, sr = fixtures[fixture]
        p = stft_params(fixture, sr, n_fft, hop, win, window, center, pad_mode)
        p.update({"n_chroma": n_chroma, "norm": norm})
        lnorm = np.inf if norm == "inf" else None
        kw = dict(y=y, sr=sr, n_fft=n_fft, hop_length=p["hop_length"],
                  win_length=p["win_length"], window=window, center=center, pad_mode=pad_mode,
                  n_chroma=n_chroma, norm=lnorm)
        estimated = None
        if tuning == "estimate":
            C = librosa.feature.chroma_stft(**kw, tuning=None)
            # what chroma_stft does inside: estimate_tuning on the power spectrogram
            P = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=p["hop_length"],
                                    win_length=p["win_length"], window=window, center=center,
                                    pad_mode=pad_mode)) ** 2
            estimated = float(librosa.estimate_tuning(S=P, sr=sr, bins_per_octave=n_chroma))
            assert np.array_equal(C, librosa.feature.chroma_stft(**kw, tuning=estimated))
            from_y = float(librosa.estimate_tuning(y=y, sr=sr, bins_per_octave=12))
            stats["tuning"].append((fixture, estimated, from_y))
            used = estimated
        else:
            C = librosa.feature.chroma_stft(**kw, tuning=tuning)
            used = tuning
        assert C.dtype == np.float64
        assert C.shape == y.shape[:-1] + (n_chroma, mfd.expected_frames(y.shape[-1], p)), C.shape
        t = "tuning-estimated" if tuning == "estimate" else f"t{fnum(tuning)}"
        name = f"{stft_stem(p)}_c{n_chroma}_{t}_{'inf' if norm else 'nonorm'}"
        stats["chroma"].append(mfd.check(name, C, ref_chroma_stft(y, p, used)))
        if norm is not None and C.any():
            stats["chroma_f64_basis"].append(md.rel_err(C, ref_chroma_stft(y, p, used,
                                                                           np.float64)))
        zero_cols = int(np.sum(np.all(C == 0, axis=-2)))
        if zero_cols:
            stats["chroma_zero_columns"].append(f"{name}: {zero_cols} of "
                                                f"{C.size // n_chroma}")
        rel = save("chroma", name, C)
        cases.append({"name": name, **public(p), "tuning": tuning, "estimated_tuning": estimated,
                      "file": rel})
        # key order as documented
        cases[-1] = {k: cases[-1][k] for k in CHROMA_KEYS}
    return cases


# ----------------------------------------------------------------------------------------
# 3. spectral features
# ----------------------------------------------------------------------------------------

# STFT settings: (n_fft, hop or None, win or None, window, center, pad_mode)
SETTINGS = {
    "default": (2048, None, None, "hann", True, "constant"),   # librosa's defaults (hop 512)
    "ham512": (512, 128, None, "hamming", True, "constant"),
    "nc512": (512, 128, None, "hann", False, "constant"),
    "refl512": (512, 128, None, "hann", True, "reflect"),
    "w400": (512, 160, 400, "hann", True, "constant"),
    "odd1023": (1023, 333, None, "hamming", True, "reflect"),
    "ones1024": (1024, 256, None, "boxcar", True, "constant"),
}
FEATURES = ("centroid", "bandwidth", "rolloff", "flatness", "contrast", "rms", "zcr")
CONTRAST_DEFAULT = {"n_bands": 6, "fmin": 200.0, "quantile": 0.02, "linear": False}
# chirp_8k's Nyquist (4 kHz) is below the 6th band's lower edge at fmin 200 (6.4 kHz:
# librosa raises "Frequency band exceeds Nyquist"), so it uses fmin 100 there.
CONTRAST_8K = {"n_bands": 6, "fmin": 100.0, "quantile": 0.02, "linear": False}
DEFAULT_PARAMS = {
    "centroid": {}, "bandwidth": {"p": 2.0}, "rolloff": {"roll_percent": 0.85},
    "flatness": {"power": 2.0, "amin": 1e-10}, "contrast": CONTRAST_DEFAULT,
}
SPECTRAL_FIXTURES = ("speech_16k.wav", "chirp_8k.wav", "noise_22k.wav", "stereo_48k.wav",
                     "silence_16k.wav", "odd_44k.wav")

# (feature, fixture, setting, params). For rms / zcr the setting gives frame_length (= n_fft),
# hop_length and center (rms: pad_mode "constant"; zcr always pads with "edge").
SPECTRAL_GRID = []
for _fx in SPECTRAL_FIXTURES:  # every feature with librosa's defaults on every fixture
    for _feat in FEATURES:
        if _feat in ("rms", "zcr"):
            SPECTRAL_GRID.append((_feat, _fx, "default", {}))
        elif _feat == "contrast" and _fx == "chirp_8k.wav":
            SPECTRAL_GRID.append((_feat, _fx, "default", CONTRAST_8K))
        else:
            SPECTRAL_GRID.append((_feat, _fx, "default", DEFAULT_PARAMS[_feat]))
SPECTRAL_GRID += [
    # speech
    ("centroid", "speech_16k.wav", "ham512", {}),
    ("centroid", "speech_16k.wav", "w400", {}),
    ("bandwidth", "speech_16k.wav", "default", {"p": 1.0}),
    ("bandwidth", "speech_16k.wav", "nc512", {"p": 2.0}),
    ("rolloff", "speech_16k.wav", "default", {"roll_percent": 0.5}),
    ("rolloff", "speech_16k.wav", "refl512", {"roll_percent": 0.85}),
    ("flatness", "speech_16k.wav", "ham512", {"power": 2.0, "amin": 1e-10}),
    ("flatness", "speech_16k.wav", "default", {"power": 1.0, "amin": 1e-5}),
    ("contrast", "speech_16k.wav", "nc512", CONTRAST_DEFAULT),
    ("contrast", "speech_16k.wav", "w400", {**CONTRAST_DEFAULT, "linear": True}),
    ("contrast", "speech_16k.wav", "default", {"n_bands": 4, "fmin": 300.0, "quantile": 0.1,
                                              "linear": False}),
    ("rms", "speech_16k.wav", "nc512", {}),
    ("rms", "speech_16k.wav", "w400", {}),  # frame_length 512, hop 160
    ("zcr", "speech_16k.wav", "nc512", {}),
    ("zcr", "speech_16k.wav", "ham512", {}),  # frame_length 512, hop 128, centred
    # stereo (leading channel axis)
    ("centroid", "stereo_48k.wav", "refl512", {}),
    ("bandwidth", "stereo_48k.wav", "ham512", {"p": 1.0}),
    ("rolloff", "stereo_48k.wav", "nc512", {"roll_percent": 0.5}),
    ("contrast", "stereo_48k.wav", "ham512", CONTRAST_DEFAULT),
    ("rms", "stereo_48k.wav", "nc512", {}),
    ("zcr", "stereo_48k.wav", "nc512", {}),
    # the others
    ("centroid", "noise_22k.wav", "nc512", {}),
    ("flatness", "noise_22k.wav", "refl512", {"power": 2.0, "amin": 1e-10}),
    ("rolloff", "noise_22k.wav", "ham512", {"roll_percent": 0.5}),
    ("centroid", "odd_44k.wav", "odd1023", {}),
    ("bandwidth", "odd_44k.wav", "odd1023", {"p": 2.0}),
    ("rolloff", "odd_44k.wav", "ones1024", {"roll_percent": 0.85}),
    ("contrast", "odd_44k.wav", "odd1023", CONTRAST_DEFAULT),
    ("rms", "odd_44k.wav", "odd1023", {}),  # odd frame_length, centred: pad 511 each side
    ("zcr", "odd_44k.wav", "ham512", {}),
    ("centroid", "chirp_8k.wav", "nc512", {}),
    ("rolloff", "chirp_8k.wav", "refl512", {"roll_percent": 0.5}),
    ("zcr", "chirp_8k.wav", "nc512", {}),
    ("flatness", "silence_16k.wav", "nc512", {"power": 2.0, "amin": 1e-10}),
    ("rolloff", "silence_16k.wav", "ham512", {"roll_percent": 0.5}),
    ("contrast", "silence_16k.wav", "ham512", CONTRAST_DEFAULT),
    ("zcr", "silence_16k.wav", "nc512", {}),
]

SPECTRAL_KEYS = ["name", "feature", "fixture", "sr", "n_fft", "hop_length", "win_length",
                 "window", "center", "pad_mode", "p", "roll_percent", "power", "amin", "n_bands",
                 "fmin", "quantile", "linear", "file"]
PARAM_KEYS = ("p", "roll_percent", "power", "amin", "n_bands", "fmin", "quantile", "linear")


def spectral_one(feature, y, p, prm) -> tuple[np.ndarray, np.ndarray]:
    """(librosa's output, the reference)."""
    sr, n_fft, hop = p["sr"], p["n_fft"], p["hop_length"]
    stft_kw = dict(y=y, n_fft=n_fft, hop_length=hop, win_length=p["win_length"],
                   window=p["_window"], center=p["center"], pad_mode=p["pad_mode"])
    if feature == "rms":
        out = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop, center=p["center"],
                                  pad_mode=p["pad_mode"], dtype=np.float64)
        return out, ref_rms(y, n_fft, hop, p["center"], p["pad_mode"])
    if feature == "zcr":
        out = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop,
                                                 center=p["center"])
        return out, ref_zcr(y, n_fft, hop, p["center"])
    S = magnitude(y, p)
    if feature == "centroid":
        return librosa.feature.spectral_centroid(sr=sr, **stft_kw), ref_centroid(S, sr, n_fft)
    if feature == "bandwidth":
        return (librosa.feature.spectral_bandwidth(sr=sr, p=prm["p"], **stft_kw),
                ref_bandwidth(S, sr, n_fft, prm["p"]))
    if feature == "rolloff":
        return (librosa.feature.spectral_rolloff(sr=sr, roll_percent=prm["roll_percent"],
                                                 **stft_kw),
                ref_rolloff(S, sr, n_fft, prm["roll_percent"]))
    if feature == "flatness":
        return (librosa.feature.spectral_flatness(power=prm["power"], amin=prm["amin"],
                                                  **stft_kw),
                ref_flatness(S, prm["power"], prm["amin"]))
    if feature == "contrast":
        return (librosa.feature.spectral_contrast(sr=sr, n_bands=prm["n_bands"],
                                                  fmin=prm["fmin"], quantile=prm["quantile"],
                                                  linear=prm["linear"], **stft_kw),
                ref_contrast(S, sr, n_fft, prm["n_bands"], prm["fmin"], prm["quantile"],
                             prm["linear"]))
    raise AssertionError(feature)


def spectral_name(feature, p, prm) -> str:
    c = "c" if p["center"] else "nc"
    stem = Path(p["fixture"]).stem
    if feature == "rms":
        return f"rms__{stem}_fl{p['n_fft']}_h{p['hop_length']}_{c}_{p['pad_mode']}"
    if feature == "zcr":
        return f"zcr__{stem}_fl{p['n_fft']}_h{p['hop_length']}_{c}"
    suffix = {
        "centroid": lambda: "",
        "bandwidth": lambda: f"_p{fnum(prm['p'])}",
        "rolloff": lambda: f"_r{fnum(prm['roll_percent'])}",
        "flatness": lambda: f"_pow{fnum(prm['power'])}_amin{fnum(prm['amin'])}",
        "contrast": lambda: (f"_b{prm['n_bands']}_f{fnum(prm['fmin'])}_q{fnum(prm['quantile'])}_"
                             f"{'linear' if prm['linear'] else 'db'}"),
    }[feature]()
    return f"{feature}__{stft_stem(p)}{suffix}"


def make_spectral(fixtures: dict, stats: dict) -> list[dict]:
    mfd.fresh_dir("spectral")
    cases = []
    for feature, fixture, setting, prm in SPECTRAL_GRID:
        y, sr = fixtures[fixture]
        p = stft_params(fixture, sr, *SETTINGS[setting])
        if feature == "rms":  # frame_length = n_fft; no window; rms pads with "constant" here
            p.update({"win_length": None, "window": None, "pad_mode": "constant",
                      "_window": None})
        elif feature == "zcr":  # zero_crossing_rate always pads with "edge"
            p.update({"win_length": None, "window": None, "pad_mode": "edge", "_window": None})
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # none expected
            out, ref = spectral_one(feature, y, p, prm)
        assert out.dtype == np.float64, (feature, out.dtype)
        rows = prm["n_bands"] + 1 if feature == "contrast" else 1
        assert out.shape == y.shape[:-1] + (rows, mfd.expected_frames(y.shape[-1], p)), \
            (feature, fixture, out.shape)
        name = spectral_name(feature, p, prm)
        stats[feature].append(mfd.check(name, out, ref))
        if feature == "rms":  # librosa's default dtype=np.float32
            f32 = librosa.feature.rms(y=y, frame_length=p["n_fft"], hop_length=p["hop_length"],
                                      center=p["center"], pad_mode=p["pad_mode"])
            assert f32.dtype == np.float32
            stats["rms_f32_default"].append(md.rel_err(f32.astype(np.float64), out))
        if feature == "contrast" and not prm["linear"]:  # does the top_db=80 floor bind?
            stats["contrast_topdb_binds"].append(
                (name, contrast_floor_binds(magnitude(y, p), sr, p["n_fft"], prm)))
        if fixture == "silence_16k.wav":
            stats["silence"].append(f"{feature} {setting}: " + ", ".join(
                repr(float(v)) for v in np.unique(out)))
        rel = save("spectral", name, out)
        entry = {"name": name, "feature": feature, **public(p)}
        entry.update({k: prm.get(k) for k in PARAM_KEYS})
        entry["file"] = rel
        cases.append({k: entry[k] for k in SPECTRAL_KEYS})
    return cases


# ----------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------

def own_bytes() -> dict:
    return {
        "chroma filters": sum(f.stat().st_size
                              for f in (DUMPS / "filters").glob(CHROMA_PREFIX + "*")),
        "chroma": md.dir_size(DUMPS / "chroma"),
        "spectral": md.dir_size(DUMPS / "spectral"),
    }


def run(fixtures: dict) -> None:
    stats = {"chroma_filters": [], "chroma": [], "chroma_f64_basis": [],
             "chroma_zero_columns": [], "tuning": [], "rms_f32_default": [],
             "contrast_topdb_binds": [], "silence": []}
    for f in FEATURES:
        stats[f] = []
    filters = make_chroma_filters(stats)
    md.write_json(DATA / "chroma_filter_cases.json", filters)
    chroma = make_chroma(fixtures, stats)
    md.write_json(DATA / "chroma_cases.json", chroma)
    spectral = make_spectral(fixtures, stats)
    md.write_json(DATA / "spectral_cases.json", spectral)

    for cases, keys in ((filters, CHROMA_FILTER_KEYS), (chroma, CHROMA_KEYS),
                        (spectral, SPECTRAL_KEYS)):
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), "duplicate case names"
        for c in cases:
            assert list(c) == keys, (list(c), keys)

    # summary
    print(f"chroma filter cases: {len(filters)}")
    for key in ("sr", "n_fft", "n_chroma", "tuning", "octwidth", "norm", "base_c"):
        cnt = Counter(c[key] for c in filters)
        print(f"  chroma filters {key}: " + ", ".join(f"{k}={v}" for k, v in
                                                     sorted(cnt.items(), key=str)))
    print(f"chroma cases: {len(chroma)}")
    for key in ("fixture", "n_fft", "n_chroma", "tuning", "norm", "window", "center"):
        cnt = Counter(c[key] for c in chroma)
        print(f"  chroma {key}: " + ", ".join(f"{k}={v}" for k, v in
                                             sorted(cnt.items(), key=str)))
    for fixture, est, from_y in stats.pop("tuning"):
        print(f"  tuning=None on {fixture}: chroma_stft used {est!r} "
              f"(estimate_tuning(S=power spectrogram)); estimate_tuning(y=y, bins_per_octave=12)"
              f" gives {from_y!r}")
    print("  all-zero chroma columns (left unnormalised): "
          + "; ".join(stats.pop("chroma_zero_columns")))
    print(f"spectral cases: {len(spectral)}")
    for key in ("feature", "fixture", "n_fft", "window", "center", "pad_mode"):
        cnt = Counter(c[key] for c in spectral)
        print(f"  spectral {key}: " + ", ".join(f"{k}={v}" for k, v in
                                               sorted(cnt.items(), key=str)))
    print("  silence_16k (all-zero input), distinct values per case:")
    for line in stats.pop("silence"):
        print(f"    {line}")
    binds = stats.pop("contrast_topdb_binds")
    print(f"  spectral_contrast (dB) cases where power_to_db's top_db=80 floor binds: "
          f"{sum(b for _, b in binds)} of {len(binds)}"
          + "".join(f"\n    {n}" for n, b in binds if b))
    f64 = stats.pop("chroma_f64_basis")
    r32 = stats.pop("rms_f32_default")
    print("max rel. error vs independent numpy reference: "
          + ", ".join(f"{k} {max(v):.1e}" for k, v in stats.items()))
    print(f"librosa chroma_stft (float32 basis) vs a float64 basis: up to {max(f64):.1e}; "
          f"rms with librosa's default dtype=float32 vs float64: up to {max(r32):.1e}")
    sizes = own_bytes()
    total = sum(sizes.values())
    print("chroma / spectral dump sizes: " + ", ".join(f"{k} {v / 1e6:.2f} MB"
                                                       for k, v in sizes.items())
          + f", total {total / 1e6:.2f} MB")
    assert total < BUDGET_BYTES, "chroma / spectral dumps exceed their 3 MB budget"


def main() -> int:
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    fixtures = {p.name: md.load_fixture(p.name) for p in sorted(FIX.glob("*.wav"))}
    run(fixtures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
