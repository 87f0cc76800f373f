#!/usr/bin/env python3
"""Reference dumps for wavegpu's CQT / VQT plan ("full-rate" librosa.vqt) and the librosa 0.11
outputs it is compared with.

Called from make_dumps.py's main (the one command that regenerates everything):

    .venv/bin/python tests/data/make_dumps.py

It also runs on its own from the repository root (it writes its own fixture, reads the
committed ones and rewrites only what it owns, with identical bytes):

    .venv/bin/python tests/data/make_cqt_dumps.py

Writes
  tests/data/fixtures/music_22k.wav      synthetic 6 s "music" clip (fixed seed, PCM 16-bit)
  tests/data/cqt_cases.json   + dumps/cqt/NAME_ref.npy, NAME_librosa.npy   (float32 |V|)
  tests/data/cqt_filter_cases.json + dumps/cqt/NAME_{freqs,alpha,lengths}.npy (float64) and
      dumps/cqt/NAME_oct{i}.npy (complex128, dense FFT basis after sparsification)

The full-rate algorithm is librosa.vqt (librosa/core/constantq.py) WITHOUT any downsampling:
no early downsampling, and every octave is computed at the original rate sr, with the original
hop, on the original signal. Octave i (i = 0: the top octave, the last
n_filters = min(bins_per_octave, n_bins) bins) holds bins [-n_filters*(i+1), -n_filters*i)
(the lowest octave may hold fewer). For each octave its FFT basis is built exactly as librosa's
__vqt_filter_fft(sr, freqs_oct, filter_scale, norm, sparsity, window="hann", gamma,
alpha=alpha_oct) does (no hop_length: vqt never passes it), but at the FULL rate sr, so the
octave's n_fft is the next power of two >= its longest wavelet at sr (2**i times librosa's after
its i halvings), and in complex128 (librosa's filters.wavelet default is complex64; vqt does not
override it). The librosa factor sqrt(sr / my_sr) is 1. The response is
fft_basis @ stft(y, n_fft, hop, window="ones", center=True, pad_mode) (librosa's
__cqt_response); octaves are stacked with librosa's __trim_stack; scale=True divides every bin by
sqrt(lengths) (wavelet_lengths at sr).

librosa 0.11 formulas (checked below against an independent numpy reimplementation):
  * tuning: fmin_t = fmin * 2**(tuning / bpo); freqs = interval_frequencies(n_bins, fmin_t,
    "equal", bpo, sort=True) = (2**(k // bpo) * 2**((k % bpo) / bpo)) * fmin_t (bit-for-bit NOT
    cqt_frequencies' fmin * 2**(tuning/bpo) * 2**(k/bpo), equal to ~1 ulp).
  * alpha = filters._relative_bandwidth(freqs) (n_bins >= 2; n_bins == 1 uses
    __et_relative_bw(bpo)): local bins-per-octave b_k from log2 differences (one-sided at the
    ends, centred inside), alpha_k = (2**(2/b_k) - 1) / (2**(2/b_k) + 1); for equal spacing
    r = 2**(1/bpo), alpha = (r**2 - 1) / (r**2 + 1) for every bin (up to ~1e-15).
    There is no __bpo_to_alpha in 0.11.
  * gamma=None (vqt's default): gamma_k = alpha_k * 24.7 / 0.108 (ERB-proportional), per bin.
  * lengths = Q * sr / (freqs + gamma / alpha) with Q = filter_scale / alpha (fractional).
  * Nyquist check: filter_cutoff = max(freqs * (1 + 0.5 * 1.50018310546875 / Q) + 0.5 * gamma)
    (1.50018310546875 = window_bandwidth("hann")); ParameterError if filter_cutoff > sr / 2.
  * wavelet k: t = arange(floor(-L/2), floor(L/2)) (L fractional: 2*floor(L/2)+1 samples unless
    L is an even integer), exp(2 pi i f t / sr) * periodic hann(len(t)), divided by its L1 norm
    (norm=1), centred in n_fft = 2**ceil(log2(max L over the octave)) samples with
    lpad = (n_fft - len) // 2, multiplied by L / n_fft, fft over n_fft, bins 0..n_fft/2 kept.
  * sparsify_rows(quantile=sparsity): per row, sort |B|, cumulative sum of |B| / sum|B|
    (L1 of magnitudes, not energy), j = first index where that cumsum >= sparsity, keep the
    entries with |B| >= sorted[j] (sparsity 0 keeps everything).
"""

from __future__ import annotations

import functools
import math
import shutil
import sys
import warnings
from collections import Counter
from pathlib import Path

import librosa
import numpy as np
import scipy
import soundfile as sf
from librosa import filters, util
from librosa.util.exceptions import ParameterError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_dumps as md  # noqa: E402  (paths, write_pcm16, load_fixture, rel_err, write_json)

DATA = md.DATA
FIX = md.FIX
DUMPS = md.DUMPS
CQT_SUBDIR = "cqt"
BUDGET_BYTES = 4.5e6  # dumps/cqt/ (spectrograms, filter bases, pseudo_cqt, chroma_cqt)

MUSIC = "fixtures/music_22k.wav"
SPEECH22 = "../../examples/data/speech.wav"
SPEECH16 = "fixtures/speech_16k.wav"
CHIRP8 = "fixtures/chirp_8k.wav"
ODD44 = "fixtures/odd_44k.wav"
NOISE22 = "fixtures/noise_22k.wav"
SHORT16 = "fixtures/short_16k.wav"
IMPULSES16 = "fixtures/impulses_16k.wav"

C0 = float(librosa.note_to_hz("C0"))  # 16.351597831287414
C1 = float(librosa.note_to_hz("C1"))  # 32.70319566257483, librosa.cqt's default fmin
C2 = float(librosa.note_to_hz("C2"))
HANN_BW = 1.50018310546875  # filters.window_bandwidth("hann")
ERB_GAMMA = 24.7 / 0.108    # gamma=None: gamma = alpha * 24.7 / 0.108


def fnum(x: float) -> str:
    return f"{x:g}".replace("-", "m").replace(".", "p")


# ----------------------------------------------------------------------------------------
# fixture: synthetic music
# ----------------------------------------------------------------------------------------

def synth_music(sr: int = 22050, seconds: float = 6.0) -> np.ndarray:
    """Deterministic 6 s 'music': 4 bars of 1.5 s (C - Am - F - G) with a bass line (E1..C2
    and octaves), plucked triads, an eighth-note melody with vibrato, kick and hi-hat, and a
    low noise floor. Harmonic partials with slight inharmonicity and per-partial decays."""
    rng = np.random.default_rng(6)
    n = int(round(sr * seconds))
    y = np.zeros(n)

    def hz(midi: float) -> float:
        return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)

    def note(midi, start, dur, amp, n_harm, decay, bright, vibrato=0.0):
        i0 = int(round(start * sr))
        i1 = min(n, i0 + int(round((dur + 0.25) * sr)))
        tt = np.arange(i1 - i0) / sr
        env = (1.0 - np.exp(-tt / 0.004)) * np.exp(-tt / decay)
        env *= np.where(tt < dur, 1.0, np.exp(-(tt - dur) / 0.04))
        f0 = hz(midi)
        # vibrato: 5.5 Hz, depth `vibrato` semitones, fading in over 0.15 s
        dev = vibrato * np.minimum(tt / 0.15, 1.0) * np.sin(2 * np.pi * 5.5 * tt)
        phase_f0 = 2 * np.pi * f0 * np.cumsum(2.0 ** (dev / 12.0)) / sr
        s = np.zeros_like(tt)
        for h in range(1, n_harm + 1):
            stretch = h * math.sqrt(1.0 + 2e-4 * h * h)  # slight piano-like inharmonicity
            if stretch * f0 * 2.0 ** (abs(vibrato) / 12) >= 0.45 * sr:
                break
            ph = rng.uniform(0, 2 * np.pi)
            s += (bright ** (h - 1) / h) * np.sin(stretch * phase_f0 + ph) \
                * np.exp(-tt * 0.8 * (h - 1))
        y[i0:i1] += amp * env * s

    bar = 1.5
    chords = [(48, [60, 64, 67], 28), (45, [57, 60, 64], 33), (41, [53, 57, 60], 29),
              (43, [55, 59, 62], 31)]  # (bass C3-ish root, triad, low root E1..G1 midi)
    melody = [72, 74, 76, 79, 76, 74, 72, 69, 77, 76, 74, 72, 74, 71, 67, 71]
    for b, (root, triad, low) in enumerate(chords):
        t0 = b * bar
        # bass: the low root (41 .. 49 Hz) for the whole bar and the root an octave up
        note(low, t0, bar - 0.05, 0.22, 12, 1.2, 0.8)
        note(root - 12, t0 + 0.75, 0.7, 0.15, 10, 0.6, 0.7)
        # plucked triads on beats 1 and 3
        for k, off in enumerate((0.0, 0.75)):
            for m in triad:
                note(m + (12 if k else 0), t0 + off, 0.7, 0.07, 16, 0.5, 0.75)
        # melody, four eighth notes per bar, vibrato on the last one
        for j in range(4):
            note(melody[4 * b + j], t0 + 0.375 * j, 0.36, 0.12, 8, 0.45, 0.6,
                 vibrato=0.3 if j == 3 else 0.0)
        # kick at each bar start: sine sweep 120 -> 45 Hz
        i0 = int(round(t0 * sr))
        tt = np.arange(int(0.3 * sr)) / sr
        f = 45.0 + 75.0 * np.exp(-tt / 0.04)
        y[i0:i0 + tt.size] += 0.35 * np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-tt / 0.12)
    # hi-hat on every eighth note: differentiated noise, 25 ms decay
    for j in range(16):
        i0 = int(round(0.375 * j * sr)) + int(0.19 * sr)
        m = int(0.08 * sr)
        burst = np.diff(rng.standard_normal(m + 1)) * np.exp(-np.arange(m) / (0.025 * sr))
        y[i0:i0 + m] += 0.04 * burst
    y += 0.002 * rng.standard_normal(n)
    return 0.89 * y / np.max(np.abs(y))


def make_music_fixture() -> None:
    md.write_pcm16(Path(MUSIC).name, synth_music(), 22050)


def load(rel: str) -> tuple[np.ndarray, int]:
    y, sr = librosa.load(DATA / rel, sr=None, mono=True)
    return y.astype(np.float64), int(sr)


# ----------------------------------------------------------------------------------------
# the full-rate algorithm (librosa pieces, complex128)
# ----------------------------------------------------------------------------------------

def nyquist_error(freqs, cutoff, bpo, sr) -> ParameterError:
    # librosa.vqt's message, word for word
    fmax_t = np.max(freqs[-bpo:])
    return ParameterError(
        f"Wavelet basis with max frequency={fmax_t} would exceed the Nyquist frequency="
        f"{sr / 2.0}. Try reducing the number of frequency bins.")


def design(sr, fmin, n_bins, bins_per_octave, tuning, filter_scale, gamma):
    """freqs, alpha, lengths, filter_cutoff exactly as librosa.vqt computes them."""
    bpo = bins_per_octave
    fmin_t = fmin * 2.0 ** (tuning / bpo)
    freqs = librosa.interval_frequencies(n_bins=n_bins, fmin=fmin_t, intervals="equal",
                                         bins_per_octave=bpo, sort=True)
    if n_bins == 1:
        r = 2 ** (1 / bpo)
        alpha = np.atleast_1d((r**2 - 1) / (r**2 + 1))  # constantq.__et_relative_bw
    else:
        alpha = filters._relative_bandwidth(freqs=freqs)
    lengths, cutoff = filters.wavelet_lengths(freqs=freqs, sr=sr, window="hann",
                                              filter_scale=filter_scale, gamma=gamma,
                                              alpha=alpha)
    return freqs, alpha, lengths, float(cutoff)


def octave_slices(n_bins: int, bpo: int) -> list[tuple[int, int]]:
    """(lo, hi) bin ranges, ascending-frequency indices, hi exclusive; top octave first."""
    n_octaves = int(np.ceil(float(n_bins) / bpo))
    n_filters = min(bpo, n_bins)
    out = []
    for i in range(n_octaves):
        hi = n_bins - n_filters * i
        lo = max(0, n_bins - n_filters * (i + 1))
        out.append((lo, hi))
    return out


def octave_basis(sr, freqs_oct, alpha_oct, filter_scale, norm, sparsity, gamma):
    """librosa's __vqt_filter_fft at rate sr, complex128 throughout (scipy CSR, n_fft)."""
    basis, lens = filters.wavelet(freqs=freqs_oct, sr=sr, filter_scale=filter_scale, norm=norm,
                                  pad_fft=True, window="hann", gamma=gamma, alpha=alpha_oct,
                                  dtype=np.complex128)
    n_fft = basis.shape[1]
    basis *= lens[:, np.newaxis] / float(n_fft)
    fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : (n_fft // 2) + 1]
    fft_basis = util.sparsify_rows(fft_basis, quantile=sparsity, dtype=np.complex128)
    return fft_basis, n_fft


def trim_stack(resp: list[np.ndarray], n_bins: int) -> np.ndarray:
    """librosa's __trim_stack."""
    max_col = min(c.shape[-1] for c in resp)
    out = np.empty((n_bins, max_col), dtype=np.complex128)
    end = n_bins
    for c in resp:
        n_oct = c.shape[-2]
        if end < n_oct:
            out[:end, :] = c[-end:, :max_col]
        else:
            out[end - n_oct:end, :] = c[:, :max_col]
        end -= n_oct
    return out


def full_rate_vqt(y, sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale,
                  norm, sparsity, gamma, scale, pad_mode, info: dict | None = None):
    """librosa.vqt without any downsampling (see the module docstring). complex128."""
    freqs, alpha, lengths, cutoff = design(sr, fmin, n_bins, bins_per_octave, tuning,
                                           filter_scale, gamma)
    if cutoff > sr / 2.0:
        raise nyquist_error(freqs, cutoff, bins_per_octave, sr)
    resp, octaves = [], []
    for lo, hi in octave_slices(n_bins, bins_per_octave):
        fft_basis, n_fft = octave_basis(sr, freqs[lo:hi], alpha[lo:hi], filter_scale, norm,
                                        sparsity, gamma)
        with warnings.catch_warnings():  # short clips: "n_fft=... is too large for input"
            warnings.filterwarnings("ignore", message="n_fft=.* is too large")
            D = librosa.stft(y, n_fft=n_fft, hop_length=hop_length, window="ones",
                             center=True, pad_mode=pad_mode, dtype=np.complex128)
        resp.append(fft_basis.dot(D))
        octaves.append({"n_fft": int(n_fft), "bin_lo": lo, "bin_hi": hi,
                        "basis": fft_basis.toarray()})
    V = trim_stack(resp, n_bins)
    if scale:
        V /= np.sqrt(lengths)[:, None]
    if info is not None:
        info.update(freqs=freqs, alpha=alpha, lengths=lengths, cutoff=cutoff, octaves=octaves)
    return V


# ----------------------------------------------------------------------------------------
# independent numpy reimplementation (sanity checks only; no librosa)
# ----------------------------------------------------------------------------------------

def ind_freqs(fmin, n_bins, bpo, tuning):
    return fmin * 2.0 ** ((np.arange(n_bins) + tuning) / bpo)


def ind_alpha(n_bins, bpo):
    r = 2.0 ** (1.0 / bpo)
    return np.full(n_bins, (r * r - 1.0) / (r * r + 1.0))


def ind_gamma(alpha, gamma):
    return alpha * ERB_GAMMA if gamma is None else np.full_like(alpha, float(gamma))


def ind_lengths(freqs, alpha, sr, filter_scale, gamma):
    g = ind_gamma(alpha, gamma)
    Q = filter_scale / alpha
    return Q * sr / (freqs + g / alpha)


def ind_cutoff(freqs, alpha, filter_scale, gamma):
    Q = filter_scale / alpha
    return float(np.max(freqs * (1.0 + 0.5 * HANN_BW / Q) + 0.5 * ind_gamma(alpha, gamma)))


def ind_sparsify(B, quantile):
    out = np.zeros_like(B)
    for k in range(B.shape[0]):
        mags = np.abs(B[k])
        srt = np.sort(mags)
        cum = np.cumsum(srt / mags.sum())
        j = int(np.nonzero(cum >= quantile)[0][0])
        keep = mags >= srt[j]
        out[k, keep] = B[k, keep]
    return out


def ind_octave_basis(sr, freqs, alpha, filter_scale, gamma, sparsity):
    """norm=1 only (the L1 normalisation of the windowed complex sinusoid)."""
    L = ind_lengths(freqs, alpha, sr, filter_scale, gamma)
    n_fft = 1 << int(math.ceil(math.log2(L.max())))
    B = np.zeros((freqs.size, n_fft), dtype=np.complex128)
    for k, (f, l) in enumerate(zip(freqs, L)):
        t = np.arange(math.floor(-l / 2.0), math.floor(l / 2.0), dtype=np.float64)
        m = t.size
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(m) / m)  # periodic hann
        sig = np.exp(2j * np.pi * f * t / sr) * w
        sig = sig / np.sum(np.abs(sig))
        lpad = (n_fft - m) // 2
        B[k, lpad:lpad + m] = sig * (l / n_fft)
    F = np.fft.fft(B, axis=1)[:, : n_fft // 2 + 1]
    return ind_sparsify(F, sparsity), n_fft


def ind_stft_project(y, n_fft, hop, basis, block=64):
    """basis @ rfft(frames) with a rectangular window, centred, zero padded, in frame blocks."""
    yp = np.pad(y, n_fft // 2)
    n_frames = 1 + (yp.size - n_fft) // hop
    out = np.empty((basis.shape[0], n_frames), dtype=np.complex128)
    for s in range(0, n_frames, block):
        e = min(n_frames, s + block)
        idx = np.arange(n_fft)[:, None] + hop * np.arange(s, e)[None, :]
        out[:, s:e] = basis @ np.fft.rfft(yp[idx], axis=0)
    return out


def ind_full_rate(y, sr, hop, fmin, n_bins, bpo, tuning, filter_scale, gamma, sparsity, scale):
    freqs = ind_freqs(fmin, n_bins, bpo, tuning)
    alpha = ind_alpha(n_bins, bpo)
    V = np.zeros((n_bins, 1 + y.size // hop), dtype=np.complex128)
    for lo, hi in octave_slices(n_bins, bpo):
        basis, n_fft = ind_octave_basis(sr, freqs[lo:hi], alpha[lo:hi], filter_scale, gamma,
                                        sparsity)
        V[lo:hi] = ind_stft_project(y, n_fft, hop, basis)
    if scale:
        V /= np.sqrt(ind_lengths(freqs, alpha, sr, filter_scale, gamma))[:, None]
    return V


def rel(a, b) -> float:
    return md.rel_err(a, b)


def check_design(sr, fmin, n_bins, bpo, tuning, filter_scale, gamma, sparsity, stats,
                 info=None):
    """Pieces of the librosa-based design vs the independent one, every octave."""
    freqs, alpha, lengths, cutoff = design(sr, fmin, n_bins, bpo, tuning, filter_scale, gamma)
    f2 = ind_freqs(fmin, n_bins, bpo, tuning)
    a2 = ind_alpha(n_bins, bpo)
    errs = {"freqs": rel(freqs, f2), "alpha": float(np.max(np.abs(alpha / a2 - 1))),
            "lengths": float(np.max(np.abs(lengths / ind_lengths(f2, a2, sr, filter_scale,
                                                                   gamma) - 1))),
            "cutoff": abs(cutoff / ind_cutoff(f2, a2, filter_scale, gamma) - 1)}
    if cutoff <= sr / 2.0:
        for lo, hi in octave_slices(n_bins, bpo):
            B, n_fft = octave_basis(sr, freqs[lo:hi], alpha[lo:hi], filter_scale, 1, sparsity,
                                    gamma)
            B2, n2 = ind_octave_basis(sr, f2[lo:hi], a2[lo:hi], filter_scale, gamma, sparsity)
            assert n_fft == n2, (n_fft, n2)
            B = B.toarray()
            assert np.array_equal(B != 0, B2 != 0), "sparsity patterns differ"
            errs["basis"] = max(errs.get("basis", 0.0), rel(B, B2))
    for k, v in errs.items():
        assert v < 1e-12, (k, v)
        stats.setdefault(k, []).append(v)
    return errs


# ----------------------------------------------------------------------------------------
# librosa itself
# ----------------------------------------------------------------------------------------

def librosa_vqt(y, c: dict, **extra):
    kw = dict(sr=c["sr"], hop_length=c["hop_length"], fmin=c["fmin"], n_bins=c["n_bins"],
              bins_per_octave=c["bins_per_octave"], tuning=c["tuning"],
              filter_scale=c["filter_scale"], norm=c["norm"], sparsity=c["sparsity"],
              scale=c["scale"], pad_mode=c["pad_mode"], **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft=... is too large for input signal"
        if c["kind"] == "cqt":
            return librosa.cqt(y, **kw)
        return librosa.vqt(y, gamma=c["gamma"], **kw)


@functools.lru_cache(maxsize=1)
def _orig_wavelet():
    return filters.wavelet


def librosa_vqt_c128_basis(y, c: dict):
    """librosa with filters.wavelet forced to complex128 (its default is complex64 and
    __vqt_filter_fft does not pass a dtype): shows what is left once that rounding is gone."""
    orig = _orig_wavelet()
    filters.wavelet = functools.partial(orig, dtype=np.complex128)
    try:
        return librosa_vqt(y, c)
    finally:
        filters.wavelet = orig


def twos(x: int) -> int:
    n = 0
    while x > 0 and x % 2 == 0:
        n, x = n + 1, x // 2
    return n


def librosa_plan(c: dict) -> str:
    """How librosa.vqt resamples for this case: early downsampling count (constantq.
    __early_downsample_count) and how many of the octave steps halve the rate."""
    n_oct = c["n_octaves"]
    nyq = c["sr"] / 2.0
    count1 = max(0, int(np.ceil(np.log2(nyq / c["filter_cutoff"])) - 1) - 1)
    count2 = max(0, twos(c["hop_length"]) - n_oct + 1)
    early = min(count1, count2)
    halvings = min(twos(c["hop_length"] >> early), n_oct - 1)
    return f"early x{2 ** early}, {halvings} halvings"


def common(a, b):
    n = min(a.shape[-1], b.shape[-1])
    return a[..., :n], b[..., :n]


def mag_rel(ref, lib) -> float:
    a, b = common(np.abs(ref), np.abs(lib))
    return rel(a, b)


# ----------------------------------------------------------------------------------------
# 1. spectrogram cases
# ----------------------------------------------------------------------------------------

D = dict(hop=512, fmin=C1, n_bins=84, bpo=12, tuning=0.0, fs=1.0, gamma=0.0, sp=0.01,
         scale=True, kind="cqt", seconds=None)


def row(name, fixture, **kw):
    r = dict(D)
    for k in kw:
        assert k in r, k
    r.update(kw)
    return (name, fixture, r)


# name, fixture, overrides of librosa.cqt's defaults; seconds: excerpt from the start
CQT_GRID = [
    # librosa.cqt defaults (hop 512, fmin C1, 84 bins, 12 bpo, sparsity 0.01)
    row("cqt_default_speech22k", SPEECH22),
    row("cqt_default_music22k", MUSIC),
    row("cqt_default_speech16k", SPEECH16),
    row("cqt_default_odd44k", ODD44),  # librosa downsamples early once at 44.1 kHz
    row("cqt_default_sp0_speech22k", SPEECH22, sp=0.0),
    row("cqt_default_sp0_music22k", MUSIC, sp=0.0, seconds=3.0),
    # hops
    row("cqt_h256_music22k", MUSIC, hop=256, seconds=2.0),
    row("cqt_h160_speech16k", SPEECH16, hop=160),          # 160 = 2**5 * 5
    row("cqt_h250_impulses16k", IMPULSES16, hop=250),      # one factor of 2 only
    row("cqt_h441_music22k", MUSIC, hop=441, seconds=3.0),  # odd: librosa never resamples
    row("cqt_h255_music22k", MUSIC, hop=255, seconds=2.0),
    row("cqt_h511_speech22k", SPEECH22, hop=511),
    row("cqt_h511_sp0_speech22k", SPEECH22, hop=511, sp=0.0, seconds=2.0),
    row("cqt_h441_9oct_odd44k", ODD44, hop=441, n_bins=108),  # odd hop, 9 octaves, 44.1 kHz
    # 9 octaves
    row("cqt_9oct_odd44k", ODD44, n_bins=108),
    row("cqt_9oct_c0_music22k", MUSIC, fmin=C0, n_bins=108, seconds=3.0),
    # 8 kHz: the defaults exceed Nyquist, 6 octaves fit
    row("cqt_default_chirp8k", CHIRP8),  # librosa: ParameterError (filters beyond Nyquist)
    row("cqt_6oct_h128_chirp8k", CHIRP8, hop=128, n_bins=72),
    row("cqt_a1_h125_chirp8k", CHIRP8, hop=125, fmin=55.0, n_bins=60),
    # longest filter (~16900 samples at 16 kHz) far longer than the 300-sample clip
    row("cqt_h64_short16k", SHORT16, hop=64),
    row("cqt_h63_short16k", SHORT16, hop=63),
    # bins per octave
    row("cqt_bpo24_music22k", MUSIC, bpo=24, n_bins=168, seconds=2.0),
    row("cqt_bpo36_h511_music22k", MUSIC, hop=511, fmin=C2, bpo=36, n_bins=216, seconds=2.0),
    row("cqt_bpo60_music22k", MUSIC, fmin=C2, bpo=60, n_bins=300, seconds=2.0),
    # filter_scale
    row("cqt_fs0p5_music22k", MUSIC, fs=0.5, seconds=3.0),
    row("cqt_fs2_speech22k", SPEECH22, fs=2.0, seconds=2.0),
    row("cqt_fs2_h255_music22k", MUSIC, fs=2.0, hop=255, seconds=2.0),
    # partial octaves, odd fmin, tuning, scale=False
    row("cqt_bins80_e1_h160_speech16k", SPEECH16, hop=160, fmin=41.2034446141087, n_bins=80),
    row("cqt_bins10_noise22k", NOISE22, hop=256, fmin=1000.0, n_bins=10),
    row("cqt_a1_h127_noise22k", NOISE22, hop=127, fmin=55.0, n_bins=72),
    row("cqt_tuning_m0p3_music22k", MUSIC, tuning=-0.3, seconds=3.0),
    row("cqt_noscale_music22k", MUSIC, scale=False, seconds=2.0),
    row("cqt_noscale_odd44k", ODD44, scale=False),  # librosa: early downsampling * sqrt(2)
    # VQT
    row("vqt_g0_music22k", MUSIC, kind="vqt", gamma=0.0, seconds=2.0),
    row("vqt_g10_music22k", MUSIC, kind="vqt", gamma=10.0, seconds=3.0),
    row("vqt_g20_speech22k", SPEECH22, kind="vqt", gamma=20.0),
    row("vqt_erb_music22k", MUSIC, kind="vqt", gamma=None, seconds=3.0),
    row("vqt_erb_h511_speech22k", SPEECH22, kind="vqt", gamma=None, hop=511, seconds=2.0),
]

CQT_KEYS = ["name", "fixture", "offset", "n_samples", "sr", "hop_length", "fmin", "n_bins",
            "bins_per_octave", "tuning", "filter_scale", "gamma", "gamma_resolved", "sparsity",
            "norm", "scale", "pad_mode", "kind", "n_octaves", "octave_n_fft", "filter_cutoff",
            "reference", "librosa", "librosa_error", "ref_vs_librosa"]


def save(name: str, arr: np.ndarray, dtype) -> str:
    rel_path = f"dumps/{CQT_SUBDIR}/{name}.npy"
    np.save(DATA / rel_path, np.ascontiguousarray(arr.astype(dtype)))
    return rel_path


def gamma_resolved(gamma, bpo) -> float:
    if gamma is None:
        return float(ind_alpha(1, bpo)[0] * ERB_GAMMA)
    return float(gamma)


def make_cqt(stats: dict) -> list[dict]:
    cache: dict[str, tuple[np.ndarray, int]] = {}
    cases = []
    for name, fixture, r in CQT_GRID:
        if fixture not in cache:
            cache[fixture] = load(fixture)
        y_full, sr = cache[fixture]
        n = y_full.size if r["seconds"] is None else min(y_full.size, int(r["seconds"] * sr))
        y = y_full[:n]
        c = {"name": name, "fixture": fixture, "offset": 0, "n_samples": int(n), "sr": sr,
             "hop_length": r["hop"], "fmin": float(r["fmin"]), "n_bins": r["n_bins"],
             "bins_per_octave": r["bpo"], "tuning": float(r["tuning"]),
             "filter_scale": float(r["fs"]),
             "gamma": None if r["gamma"] is None else float(r["gamma"]),
             "gamma_resolved": gamma_resolved(r["gamma"], r["bpo"]),
             "sparsity": float(r["sp"]), "norm": 1, "scale": r["scale"],
             "pad_mode": "constant", "kind": r["kind"],
             "n_octaves": int(math.ceil(r["n_bins"] / r["bpo"])), "octave_n_fft": None,
             "filter_cutoff": None, "reference": None, "librosa": None,
             "librosa_error": None, "ref_vs_librosa": None}
        assert c["kind"] == "vqt" or c["gamma"] == 0.0
        args = (y, sr, c["hop_length"], c["fmin"], c["n_bins"], c["bins_per_octave"],
                c["tuning"], c["filter_scale"], c["norm"], c["sparsity"], c["gamma"], c["scale"],
                c["pad_mode"])
        check_design(sr, c["fmin"], c["n_bins"], c["bins_per_octave"], c["tuning"],
                     c["filter_scale"], c["gamma"], c["sparsity"], stats)
        *_, cutoff = design(sr, c["fmin"], c["n_bins"], c["bins_per_octave"], c["tuning"],
                            c["filter_scale"], c["gamma"])
        c["filter_cutoff"] = cutoff
        info: dict = {}
        try:
            V = full_rate_vqt(*args, info=info)
        except ParameterError as exc:
            ref_err = f"{type(exc).__name__}: {exc}"
            V = None
        else:
            ref_err = None
            c["octave_n_fft"] = [o["n_fft"] for o in info["octaves"]]
            assert V.shape == (c["n_bins"], 1 + n // c["hop_length"]), V.shape
            V2 = ind_full_rate(y, sr, c["hop_length"], c["fmin"], c["n_bins"],
                               c["bins_per_octave"], c["tuning"], c["filter_scale"],
                               c["gamma"], c["sparsity"], c["scale"])
            e = rel(V, V2)
            assert e < 1e-11, (name, e)
            stats["full V vs independent"].append(e)
            c["reference"] = save(f"{name}_ref", np.abs(V), np.float32)
        try:
            L = librosa_vqt(y, c)
        except ParameterError as exc:
            c["librosa_error"] = f"{type(exc).__name__}: {exc}"
            # the full-rate algorithm keeps librosa's Nyquist check, word for word
            assert ref_err == c["librosa_error"], (ref_err, c["librosa_error"])
        else:
            assert V is not None, name
            c["librosa"] = save(f"{name}_librosa", np.abs(L), np.float32)
            c["ref_vs_librosa"] = mag_rel(V, L)
            if L.shape != V.shape:
                stats["shape differs"].append(f"{name}: ref {V.shape} librosa {L.shape}")
            if c["hop_length"] % 2 == 1:
                # librosa never resamples with an odd hop: it IS the full-rate algorithm, but
                # with a complex64 wavelet basis; forcing that to complex128 gives our numbers
                L128 = librosa_vqt_c128_basis(y, c)
                e128 = rel(*common(V, L128))
                assert c["ref_vs_librosa"] < 1e-4 and e128 < 1e-13, (name, e128)
                stats["odd hop"].append((name, c["ref_vs_librosa"], mag_rel(V, L128), e128))
            if name in ("cqt_default_speech22k", "cqt_default_music22k",
                        "cqt_default_speech16k"):
                assert c["ref_vs_librosa"] < 2e-2, (name, c["ref_vs_librosa"])
        assert list(c) == CQT_KEYS, list(c)
        cases.append(c)
        stats["print"].append(
            f"  {name:30s} {c['n_bins']:3d}x{(V.shape[1] if V is not None else 0):4d} "
            f"n_fft {c['octave_n_fft']} librosa: {librosa_plan(c)}; ref_vs_librosa "
            + (f"{c['ref_vs_librosa']:.2e}" if c["ref_vs_librosa"] is not None
               else c["librosa_error"]))
    return cases


# ----------------------------------------------------------------------------------------
# 2. filter-design cases
# ----------------------------------------------------------------------------------------

# name, sr, fmin, n_bins, bpo, tuning, filter_scale, gamma, sparsity (norm 1); every octave's
# n_fft <= 4096 (dense complex128 dumps: bins * (n_fft/2 + 1) * 16 bytes)
FILTER_GRID = [
    ("cqt_8k_a4_2oct", 8000, 440.0, 24, 12, 0.0, 1.0, 0.0, 0.01),
    ("cqt_16k_c5_partial", 16000, 523.2511306011972, 30, 12, 0.0, 1.0, 0.0, 0.01),
    ("cqt_22k_bpo24_fs0p5", 22050, 880.0, 48, 24, 0.0, 0.5, 0.0, 0.01),
    ("cqt_22k_fs2_sp0", 22050, 1760.0, 24, 12, 0.0, 2.0, 0.0, 0.0),
    ("cqt_11k_bpo36_tuning", 11025, 2000.0, 36, 36, 0.25, 1.0, 0.0, 0.01),
    ("cqt_8k_bins10_tuning", 8000, 300.0, 10, 12, -0.3, 1.0, 0.0, 0.01),
    ("vqt_16k_g20", 16000, 261.6255653005986, 36, 12, 0.0, 1.0, 20.0, 0.01),
    ("vqt_22k_erb", 22050, 500.0, 36, 12, 0.0, 1.0, None, 0.01),
    ("cqt_8k_single_bin", 8000, 1000.0, 1, 12, 0.0, 1.0, 0.0, 0.01),
]

FILTER_KEYS = ["name", "sr", "fmin", "n_bins", "bins_per_octave", "tuning", "filter_scale",
               "gamma", "gamma_resolved", "sparsity", "norm", "filter_cutoff", "freqs", "alpha",
               "lengths", "octaves"]


def make_filters(stats: dict) -> list[dict]:
    cases = []
    for name, sr, fmin, n_bins, bpo, tuning, fs, gamma, sp in FILTER_GRID:
        freqs, alpha, lengths, cutoff = design(sr, fmin, n_bins, bpo, tuning, fs, gamma)
        assert cutoff <= sr / 2.0, name
        if n_bins > 1:
            check_design(sr, fmin, n_bins, bpo, tuning, fs, gamma, sp, stats)
        c = {"name": name, "sr": sr, "fmin": float(fmin), "n_bins": n_bins,
             "bins_per_octave": bpo, "tuning": float(tuning), "filter_scale": float(fs),
             "gamma": None if gamma is None else float(gamma),
             "gamma_resolved": gamma_resolved(gamma, bpo), "sparsity": float(sp), "norm": 1,
             "filter_cutoff": cutoff,
             "freqs": save(f"{name}_freqs", freqs, np.float64),
             "alpha": save(f"{name}_alpha", alpha, np.float64),
             "lengths": save(f"{name}_lengths", lengths, np.float64), "octaves": []}
        for i, (lo, hi) in enumerate(octave_slices(n_bins, bpo)):
            B, n_fft = octave_basis(sr, freqs[lo:hi], alpha[lo:hi], fs, 1, sp, gamma)
            B = B.toarray()
            assert n_fft <= 4096 and B.shape == (hi - lo, n_fft // 2 + 1), (name, B.shape)
            assert B.dtype == np.complex128
            stats["basis nonzero fraction"].append(float(np.mean(B != 0)))
            c["octaves"].append({"n_fft": int(n_fft), "bin_lo": lo, "bin_hi": hi,
                                 "basis": save(f"{name}_oct{i}", B, np.complex128)})
        assert list(c) == FILTER_KEYS
        cases.append(c)
    return cases


# ----------------------------------------------------------------------------------------
# 3. measurements printed in the summary (not dumped)
# ----------------------------------------------------------------------------------------

RES_TYPES = ["soxr_hq", "soxr_vhq", "soxr_mq", "soxr_lq", "polyphase", "fft", "kaiser_best"]


def measure_spreads(cases: list[dict]) -> list[str]:
    lines = []
    by = {c["name"]: c for c in cases}
    for base in ("cqt_default_speech22k", "cqt_default_music22k"):
        c = dict(by[base])
        y = load(c["fixture"])[0][:c["n_samples"]]
        args = (y, c["sr"], c["hop_length"], c["fmin"], c["n_bins"], c["bins_per_octave"],
                c["tuning"], c["filter_scale"], c["norm"])
        ref = full_rate_vqt(*args, 0.01, 0.0, True, "constant")
        ref0 = full_rate_vqt(*args, 0.0, 0.0, True, "constant")
        lines.append(f"  {base}: |ref(sparsity 0) - ref(sparsity 0.01)| / |ref(0.01)| = "
                     f"{mag_rel(ref0, ref):.2e}; ref vs librosa: sparsity 0.01 "
                     f"{mag_rel(ref, librosa_vqt(y, c)):.2e}, sparsity 0 "
                     f"{mag_rel(ref0, librosa_vqt(y, {**c, 'sparsity': 0.0})):.2e}")
        outs = {}
        for rt in RES_TYPES:
            try:
                outs[rt] = librosa_vqt(y, c, res_type=rt)
            except Exception as exc:  # e.g. resampy not installed
                lines.append(f"    res_type={rt}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0]}")
        hq = outs["soxr_hq"]
        for rt, L in outs.items():
            lines.append(f"    res_type={rt:9s}: vs soxr_hq {mag_rel(L, hq):.2e}, "
                         f"vs full-rate ref {mag_rel(ref, L):.2e}")
    return lines


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------

# ----------------------------------------------------------------------------------------
# 3. pseudo_cqt and chroma_cqt
# ----------------------------------------------------------------------------------------

# name, fixture, seconds, pseudo_cqt / chroma_cqt keyword overrides (tuning is always given)
PSEUDO_GRID = [
    ("pseudo_default_music22k", MUSIC, 3.0, {}),
    ("pseudo_default_speech22k", SPEECH22, 2.0, {}),
    ("pseudo_h160_speech16k", SPEECH16, 2.0, dict(hop_length=160, fmin=65.40639132514966,
                                                  n_bins=60)),
    ("pseudo_bpo24_fs2_music22k", MUSIC, 2.0, dict(bins_per_octave=24, n_bins=144,
                                                   filter_scale=2.0, fmin=65.40639132514966)),
    ("pseudo_noscale_sp0_music22k", MUSIC, 2.0, dict(scale=False, sparsity=0.0)),
    ("pseudo_reflect_h256_odd44k", ODD44, 2.0, dict(hop_length=256, pad_mode="reflect",
                                                    fmin=65.40639132514966, n_bins=72)),
]
CHROMA_GRID = [
    ("chroma_cqt_default_music22k", MUSIC, 3.0, {}),
    ("chroma_cqt_default_speech22k", SPEECH22, 2.0, {}),
    ("chroma_cqt_bpo12_music22k", MUSIC, 2.0, dict(bins_per_octave=12)),
    ("chroma_cqt_n24_bpo48_h256_music22k", MUSIC, 2.0, dict(n_chroma=24, bins_per_octave=48,
                                                             n_octaves=5, hop_length=256,
                                                             fmin=65.40639132514966)),
    ("chroma_cqt_nonorm_a1_speech16k", SPEECH16, 2.0, dict(norm=None, fmin=55.0, n_octaves=6,
                                                           hop_length=160)),
    ("chroma_cqt_l1_h511_music22k", MUSIC, 2.0, dict(norm=1, hop_length=511)),
]
FEATURE_KEYS = ["name", "kind", "fixture", "offset", "n_samples", "sr", "hop_length", "fmin",
                "n_bins", "bins_per_octave", "tuning", "filter_scale", "sparsity", "norm",
                "scale", "pad_mode", "n_chroma", "n_octaves", "chroma_norm", "reference",
                "librosa", "ref_vs_librosa"]


def numnorm(v):
    if v is None:
        return None
    return "inf" if np.isinf(v) else float(v)


def make_cqt_features() -> list[dict]:
    """pseudo_cqt: the reference is librosa's own pieces (filters.wavelet, sparsify_rows,
    stft) in complex128 throughout; librosa.pseudo_cqt never resamples and agrees with it to
    ~2e-8 (its wavelets are complex64). chroma_cqt: the reference is librosa's cq_to_chroma
    mapping + util.normalize applied to the full-rate CQT of this script; `librosa` is
    librosa.feature.chroma_cqt itself (which resamples, like librosa.cqt)."""
    cases = []
    for name, fixture, seconds, kw in PSEUDO_GRID:
        y, sr = load(fixture)
        y = y[: int(round(seconds * sr))]
        a = dict(hop_length=512, fmin=C1, n_bins=84, bins_per_octave=12, tuning=0.0,
                 filter_scale=1.0, sparsity=0.01, norm=1, scale=True, pad_mode="constant")
        a.update(kw)
        C = librosa.pseudo_cqt(y, sr=sr, window="hann", **a)
        # independent: |stft(hann)| projected on |basis| (librosa's own pieces, complex128)
        freqs = librosa.cqt_frequencies(fmin=a["fmin"] * 2.0 ** (a["tuning"] / a["bins_per_octave"]),
                                        n_bins=a["n_bins"], bins_per_octave=a["bins_per_octave"])
        alpha = filters._relative_bandwidth(freqs=freqs)
        basis, lens = filters.wavelet(freqs=freqs, sr=sr, filter_scale=a["filter_scale"],
                                      norm=a["norm"], pad_fft=True, window="hann",
                                      alpha=alpha, dtype=np.complex128)
        n_fft = basis.shape[1]
        n_fft = max(n_fft, int(2.0 ** (1 + np.ceil(np.log2(a["hop_length"])))))
        basis *= lens[:, None] / float(n_fft)
        fb = np.abs(util.sparsify_rows(np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1],
                                       quantile=a["sparsity"], dtype=np.complex128).toarray())
        D = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=a["hop_length"], window="hann",
                                center=True, pad_mode=a["pad_mode"], dtype=np.complex128))
        ind = fb @ D
        ind = ind / np.sqrt(n_fft) if a["scale"] else ind * np.sqrt(lens / n_fft)[:, None]
        # librosa builds the wavelets in complex64 (filters.wavelet's default dtype) even for
        # float64 input: it agrees with the complex128 computation to ~2e-8.
        assert rel(C, ind) < 1e-6, (name, rel(C, ind))
        cases.append(dict(name=name, kind="pseudo_cqt", fixture=fixture, offset=0,
                          n_samples=int(y.size), sr=sr, chroma_norm=None, n_chroma=None,
                          n_octaves=None, reference=save(f"{name}_ref", ind, np.float32),
                          librosa=save(f"{name}_librosa", C, np.float32),
                          ref_vs_librosa=rel(C, ind), **{**a, "norm": numnorm(a["norm"])}))
    for name, fixture, seconds, kw in CHROMA_GRID:
        y, sr = load(fixture)
        y = y[: int(round(seconds * sr))]
        a = dict(hop_length=512, fmin=C1, n_chroma=12, n_octaves=7, bins_per_octave=36,
                 norm=np.inf)
        a.update(kw)
        n_bins = a["n_octaves"] * a["bins_per_octave"]
        V = np.abs(full_rate_vqt(y, sr, a["hop_length"], a["fmin"], n_bins,
                                 a["bins_per_octave"], 0.0, 1.0, 1, 0.01, 0.0, True,
                                 "constant"))
        m = filters.cq_to_chroma(n_bins, bins_per_octave=a["bins_per_octave"],
                                 n_chroma=a["n_chroma"], fmin=a["fmin"])
        ref = util.normalize(m @ V, norm=a["norm"], axis=-2)
        lib = librosa.feature.chroma_cqt(y=y, sr=sr, tuning=0.0, **a)
        cases.append(dict(name=name, kind="chroma_cqt", fixture=fixture, offset=0,
                          n_samples=int(y.size), sr=sr, hop_length=a["hop_length"],
                          fmin=a["fmin"], n_bins=n_bins, bins_per_octave=a["bins_per_octave"],
                          tuning=0.0, filter_scale=1.0, sparsity=0.01, norm=1, scale=True,
                          pad_mode="constant", n_chroma=a["n_chroma"],
                          n_octaves=a["n_octaves"], chroma_norm=numnorm(a["norm"]),
                          reference=save(f"{name}_ref", ref, np.float32),
                          librosa=save(f"{name}_librosa", lib, np.float32),
                          ref_vs_librosa=rel(*common(ref, lib))))
    out = []
    for c in cases:
        assert set(c) == set(FEATURE_KEYS), (c["name"], set(c) ^ set(FEATURE_KEYS))
        out.append({k: c[k] for k in FEATURE_KEYS})
    return out


def own_bytes() -> int:
    return md.dir_size(DUMPS / CQT_SUBDIR)


def run() -> None:
    make_music_fixture()
    info = sf.info(FIX / Path(MUSIC).name)
    print(f"fixture {MUSIC}: {info.samplerate} Hz, {info.frames} samples, {info.subtype}, "
          f"{(FIX / Path(MUSIC).name).stat().st_size} bytes (synthetic)")
    d = DUMPS / CQT_SUBDIR
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    stats = {"full V vs independent": [], "odd hop": [], "shape differs": [], "print": [],
             "basis nonzero fraction": []}
    cqt = make_cqt(stats)
    md.write_json(DATA / "cqt_cases.json", cqt)
    flt = make_filters(stats)
    md.write_json(DATA / "cqt_filter_cases.json", flt)
    feats = make_cqt_features()
    md.write_json(DATA / "cqt_feature_cases.json", feats)
    print("pseudo_cqt / chroma_cqt cases: " + ", ".join(
        f"{c['name']}" + (f" (ref vs librosa {c['ref_vs_librosa']:.1e})"
                          if c["ref_vs_librosa"] is not None else "") for c in feats))
    for cases in (cqt, flt, feats):
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), "duplicate case names"

    print(f"CQT cases: {len(cqt)} ({sum(c['librosa_error'] is not None for c in cqt)} "
          f"rejected by librosa)")
    for line in stats.pop("print"):
        print(line)
    for key in ("sr", "hop_length", "bins_per_octave", "filter_scale", "gamma", "sparsity",
                "scale", "kind", "n_octaves", "fixture"):
        cnt = Counter(c[key] for c in cqt)
        print(f"  cqt {key}: " + ", ".join(f"{k}={v}" for k, v in
                                          sorted(cnt.items(), key=str)))
    print("  odd hops (librosa never resamples): ref vs librosa |.|, vs librosa with a "
          "complex128 wavelet basis |.| and complex:")
    for name, e, e128, ec in stats.pop("odd hop"):
        print(f"    {name:30s} {e:.2e}   {e128:.2e}   {ec:.2e}")
    for s in stats.pop("shape differs"):
        print(f"  shape differs: {s}")
    print(f"filter cases: {len(flt)}, octaves: "
          + ", ".join(f"{c['name']} {[o['n_fft'] for o in c['octaves']]}" for c in flt))
    for bpo in sorted({c["bins_per_octave"] for c in cqt + flt if c["gamma"] is None}):
        a = filters._relative_bandwidth(freqs=librosa.cqt_frequencies(96, fmin=C1,
                                                                      bins_per_octave=bpo))
        print(f"  gamma=None (ERB) at {bpo} bpo resolves to alpha * 24.7 / 0.108 = "
              f"{gamma_resolved(None, bpo)!r} Hz (librosa's per-bin alpha varies by "
              f"{np.ptp(a) / a.mean():.1e} relative)")
    nz = stats.pop("basis nonzero fraction")
    print(f"  nonzero fraction of the sparsified bases: {min(nz):.3f} .. {max(nz):.3f}")
    print("measured spreads (relative Frobenius of magnitudes, common frames):")
    for line in measure_spreads(cqt):
        print(line)
    print("max rel. error of the full-rate design vs the independent numpy reimplementation: "
          + ", ".join(f"{k} {max(v):.1e}" for k, v in stats.items()))
    total = own_bytes()
    print(f"cqt dump size: {total / 1e6:.2f} MB")
    assert total < BUDGET_BYTES, "cqt dumps exceed their budget"


def main() -> int:
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
