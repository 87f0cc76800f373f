"""Reference dumps for the IIR filters (tests/iir.rs).

Writes, deterministically:
- tests/data/filter_cases.json: scipy.signal.butter(..., output='sos', fs=...) sections for many
  (order, btype, cutoffs, fs); the RBJ biquads (peaking, low/high shelf) and the seven-band EQ as
  audiomentations 0.43 computes them; and the list of filtering cases below.
- tests/data/dumps/filter_signal.npy: the float32 input signal (2000 samples).
- tests/data/dumps/filter_outputs.npy: float32 (cases, 2000), one row per filtering case:
  scipy.signal.sosfilt (zero state), sosfilt with zi = sosfilt_zi(sos) * x[0] (audiomentations'
  filters), sosfiltfilt (padtype 'odd'), audiomentations transforms run end to end with
  their parameters pinned, and the FIR option: scipy.signal.firwin taps (in the JSON) applied
  as np.convolve(x, h, mode='same').

Run from the repository root: .venv/bin/python tests/data/make_filter_dumps.py
"""

import json
import os
import random

import numpy as np
import scipy
import scipy.signal as sg
import audiomentations
from audiomentations import (
    HighPassFilter,
    HighShelfFilter,
    LowPassFilter,
    LowShelfFilter,
    PeakingFilter,
    SevenBandParametricEQ,
)

HERE = os.path.dirname(os.path.abspath(__file__))
N = 2000


def signal():
    """A deterministic test signal: two tones, a DC offset and white noise (seed 6)."""
    rng = np.random.default_rng(6)
    t = np.arange(N) / 16000.0
    x = (
        0.4 * np.sin(2 * np.pi * 440.0 * t)
        + 0.2 * np.sin(2 * np.pi * 3100.0 * t + 1.0)
        + 0.1
        + 0.25 * rng.standard_normal(N)
    )
    return x.astype(np.float32)


def butter_cases():
    cases = []
    one = [
        (44100.0, 20.0),
        (44100.0, 150.0),
        (44100.0, 1000.0),
        (44100.0, 7500.0),
        (44100.0, 21000.0),
        (16000.0, 1000.0),
        (16000.0, 3999.0),
        (8000.0, 60.0),
    ]
    two = [
        (44100.0, 20.0, 60.0),
        (44100.0, 200.0, 4000.0),
        (44100.0, 1000.0, 1100.0),
        (16000.0, 300.0, 7900.0),
        (16000.0, 50.0, 7000.0),
    ]
    for order in range(1, 11):
        for btype in ("lowpass", "highpass"):
            for fs, f in one:
                sos = sg.butter(order, f, btype=btype, output="sos", fs=fs)
                cases.append(dict(order=order, btype=btype, freqs=[f], fs=fs, sos=sos.tolist()))
        for btype in ("bandpass", "bandstop"):
            for fs, lo, hi in two:
                sos = sg.butter(order, [lo, hi], btype=btype, output="sos", fs=fs)
                cases.append(dict(order=order, btype=btype, freqs=[lo, hi], fs=fs, sos=sos.tolist()))
    return cases


def rbj_cases():
    cases = []
    kinds = [("peaking", PeakingFilter()), ("low_shelf", LowShelfFilter()), ("high_shelf", HighShelfFilter())]
    params = [
        (44100.0, 50.0, -24.0, 0.5),
        (44100.0, 1000.0, 6.0, 0.707),
        (44100.0, 7500.0, 18.0, 0.999),
        (16000.0, 4000.0, -12.0, 0.1),
        (16000.0, 120.0, 3.0, 0.3),
    ]
    for name, t in kinds:
        for fs, f, g, q in params:
            sos = t._get_biquad_coefficients_from_input_parameters(f, g, q, fs)
            cases.append(dict(kind=name, fs=fs, center_freq=f, gain_db=g, q=q, sos=sos.tolist()))
    return cases


def seven_band_cases():
    """SevenBandParametricEQ's sections with its own random draws (seeded), per band."""
    cases = []
    for seed, fs in ((1, 44100.0), (2, 16000.0)):
        random.seed(seed)
        np.random.seed(seed)
        t = SevenBandParametricEQ(p=1.0)
        x = signal()
        t.randomize_parameters(x, int(fs))
        filters = [t.low_shelf_filter] + t.peaking_filters + [t.high_shelf_filter]
        bands, sos = [], []
        for f in filters:
            pr = f.parameters
            cf = pr["center_freq"]
            if not isinstance(f, PeakingFilter) and cf > int(fs) // 2:
                cf = (int(fs) // 2) * 0.9999
            bands.append(dict(center_freq=cf, gain_db=pr["gain_db"], q=pr["q_factor"]))
            sos.append(f._get_biquad_coefficients_from_input_parameters(cf, pr["gain_db"], pr["q_factor"], fs)[0].tolist())
        cases.append(dict(seed=seed, fs=fs, bands=bands, sos=sos, output=None))
    return cases


def main():
    x = signal()
    out_rows = []
    filt_cases = []

    def add(name, sos, mode, y, fs):
        filt_cases.append(dict(name=name, mode=mode, fs=fs, sos=np.asarray(sos).tolist(), row=len(out_rows)))
        out_rows.append(np.asarray(y, dtype=np.float32))

    designs = [
        ("lowpass4_1k_16k", sg.butter(4, 1000.0, "lowpass", output="sos", fs=16000.0), 16000.0),
        ("highpass3_20_44k", sg.butter(3, 20.0, "highpass", output="sos", fs=44100.0), 44100.0),
        ("lowpass10_150_44k", sg.butter(10, 150.0, "lowpass", output="sos", fs=44100.0), 44100.0),
        ("bandpass2_300_3k_16k", sg.butter(2, [300.0, 3000.0], "bandpass", output="sos", fs=16000.0), 16000.0),
        ("bandstop4_1k_2k_16k", sg.butter(4, [1000.0, 2000.0], "bandstop", output="sos", fs=16000.0), 16000.0),
        ("peaking_1k", PeakingFilter()._get_biquad_coefficients_from_input_parameters(1000.0, 12.0, 2.0, 16000.0), 16000.0),
    ]
    xd = x.astype(np.float64)
    for name, sos, fs in designs:
        add(name, sos, "zero", sg.sosfilt(sos, xd), fs)
        add(name, sos, "steady", sg.sosfilt(sos, xd, zi=sg.sosfilt_zi(sos) * xd[0])[0], fs)
        add(name, sos, "zero_phase", sg.sosfiltfilt(sos, xd), fs)

    # audiomentations end to end, parameters pinned (min == max), on the float32 signal.
    for name, t, fs in (
        ("am_low_pass", LowPassFilter(min_cutoff_freq=1000.0, max_cutoff_freq=1000.0, min_rolloff=24, max_rolloff=24, p=1.0), 16000),
        ("am_high_pass_zero_phase", HighPassFilter(min_cutoff_freq=200.0, max_cutoff_freq=200.0, min_rolloff=24, max_rolloff=24, zero_phase=True, p=1.0), 16000),
    ):
        random.seed(0)
        np.random.seed(0)
        y = t(x, sample_rate=fs)
        cutoff = t.parameters["cutoff_freq"]
        order = t.parameters["rolloff"] // (12 if t.zero_phase else 6)
        sos = sg.butter(order, cutoff, btype=t.filter_type, output="sos", fs=fs)
        filt_cases.append(dict(name=name, mode="zero_phase" if t.zero_phase else "steady", fs=float(fs),
                               sos=sos.tolist(), row=len(out_rows), cutoff_freq=cutoff, order=order))
        out_rows.append(np.asarray(y, dtype=np.float32))

    sb = seven_band_cases()
    for case in sb:
        random.seed(case["seed"])
        np.random.seed(case["seed"])
        t = SevenBandParametricEQ(p=1.0)
        y = t(x, sample_rate=int(case["fs"]))
        case["output"] = len(out_rows)
        out_rows.append(np.asarray(y, dtype=np.float32))

    # The FIR option: scipy.signal.firwin (hamming) taps and np.convolve(x, h, 'same').
    fir = []
    for numtaps, cutoff, pass_zero, fs in (
        (101, 1000.0, "lowpass", 16000.0),
        (255, 200.0, "highpass", 44100.0),
        (129, [300.0, 3000.0], "bandpass", 16000.0),
        (61, [1000.0, 2000.0], "bandstop", 16000.0),
        (1, 1000.0, "lowpass", 16000.0),
        (3, 7000.0, "highpass", 16000.0),
    ):
        h = sg.firwin(numtaps, cutoff, pass_zero=pass_zero, fs=fs)
        fir.append(dict(numtaps=numtaps, freqs=np.atleast_1d(cutoff).tolist(), btype=pass_zero, fs=fs,
                        taps=h.tolist(), row=len(out_rows)))
        out_rows.append(np.convolve(xd, h, mode="same").astype(np.float32))

    doc = dict(
        scipy=scipy.__version__,
        audiomentations=audiomentations.__version__,
        n=N,
        butter=butter_cases(),
        rbj=rbj_cases(),
        seven_band=sb,
        filtering=filt_cases,
        fir=fir,
    )
    with open(os.path.join(HERE, "filter_cases.json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.makedirs(os.path.join(HERE, "dumps"), exist_ok=True)
    np.save(os.path.join(HERE, "dumps", "filter_signal.npy"), x)
    np.save(os.path.join(HERE, "dumps", "filter_outputs.npy"), np.stack(out_rows))


if __name__ == "__main__":
    main()
