#!/usr/bin/env python3
"""Workgroup-memory wavefronts per frame of wavegpu's STFT kernels, counted access by access.

No GPU is needed. This replays, for one frame of `stft_forward` (shaders/stft.wgsl over
shaders/common/fft_workgroup.wgsl), every workgroup-memory load and store that the 128 threads
of a workgroup issue, with the kernel's own index expressions, and counts the wavefronts an
NVIDIA SM needs for each warp-wide access:

  - 32 banks of 4 bytes, 128 bytes per wavefront (one wavefront per clock per SM);
  - an access of s bytes per thread is served in phases of 128 / s threads (4 B: the whole
    warp; 8 B: each half-warp); within a phase, the wavefronts are the most distinct words
    that fall in one bank (threads reading the same word share it);
  - inactive threads issue nothing; a warp with no active thread issues nothing.

Phases of one frame: the frame load into the FFT memory, each Stockham stage's loads and
stores, the epilogue's two loads per bin (bin_value), the staging of its value(s) into
`out_tile` (T > 1 only), and, once per tile, the flush's reads of `out_tile` (counted per
frame: divided by T). Twiddles, the window and the signal are storage buffers (L1/L2, not
workgroup memory) and are not counted.

The time is wavefronts / (SMs x clock): H100 SXM, 132 SMs at 1.755 GHz (its boost clock under
load; 1.98 GHz peak), against DESIGN.md's DRAM floor for the same run.

    python3 bench/smem_model.py [--n-fft 512] [--tile 8] [--rows 256 --seconds 10 --sr 16000 --hop 160]

Layouts compared (* marks the one the kernel takes for that n_fft):
  first kernel   radix 4 first, fft_buf[i], out_tile[v * T + i] (x2 complex): before 2026-11-22
  tile pitch     out_tile rows at an odd pitch: out_tile[v * (T w + 1) + i w + c]
  pad 16         fft_buf index i + i / 16 (one 8-byte slot of padding per 16 values)
  swizzle        each line of 16 values rotated by 3 x its line number: no memory
  radix 8        stages 8, 8, ... first (whole radix-8 butterflies): built, measured less
                 accurate against librosa than radix 4 (BENCHMARKS.md), and not kept
"""

import argparse

import gpu_model

WG = 128
WARP = 32
BANKS = 32
SMS = 132
CLOCK = 1.755e9
HBM = 3.35e12


def stages(m, radix8=False):
    """src/dsp/fft.rs `stages`: radix 4 first (8 first with radix8), then 2, 3, 5, ..."""
    rs = []
    rest = m
    if radix8 and m > 0:
        e = (m & -m).bit_length() - 1  # 2^e divides m: 8s and at most two 4s, never 8 then 2
        eights, fours = {0: (e // 3, 0), 1: (e // 3 - 1, 2) if e >= 4 else (0, 0), 2: (e // 3, 1)}[e % 3]
        rs += [8] * eights + [4] * fours
        rest >>= 3 * eights + 2 * fours
    while rest % 4 == 0:
        rs.append(4)
        rest //= 4
    p = 2
    while rest > 1:
        while rest % p == 0:
            rs.append(p)
            rest //= p
        p += 1
        if p * p > rest and rest > 1:
            rs.append(rest)
            rest = 1
    out = []
    ns = 1
    for r in rs:
        out.append((r, ns))
        ns *= r
    return out


def wavefronts(addrs, size):
    """Wavefronts for one warp-wide access: `addrs` = byte address per lane (None: inactive)."""
    per_phase = 128 // size
    total = 0
    for p0 in range(0, WARP, per_phase):
        banks = {}
        for a in addrs[p0:p0 + per_phase]:
            if a is None:
                continue
            for w in range(a // 4, (a + size) // 4):
                banks.setdefault(w % BANKS, set()).add(w)
        if banks:
            total += max(len(s) for s in banks.values())
    return total


class Counter:
    def __init__(self):
        self.by_phase = {}

    def access(self, phase, index_of, size, base=0):
        """One instruction executed by all 128 threads: index_of(tid) -> byte address or None."""
        n = 0
        for w0 in range(0, WG, WARP):
            addrs = [index_of(t) for t in range(w0, w0 + WARP)]
            if any(a is not None for a in addrs):
                n += wavefronts(addrs, size)
        self.by_phase[phase] = self.by_phase.get(phase, 0) + n


def frame(n_fft, tile, complex_out, radix8=False, pad=0, tile_pitch=False, swizzle=False):
    """Wavefronts of one frame of stft_forward (per-tile flush divided by the tile), by phase.

    radix8: whole radix-8 butterflies first; pad: fft_buf[i] at i + i / pad (0: none);
    tile_pitch: out_tile rows at an odd pitch; swizzle: each line of 16 values rotated by
    3 x its line number (fft_workgroup.wgsl's fft_slot with FFT_SWIZZLE = 1)."""
    m = n_fft // 2 if n_fft % 2 == 0 else n_fft
    n_freq = n_fft // 2 + 1

    def fa(i):  # byte address of fft_buf[i]
        if swizzle:
            return 8 * ((i & ~15) | ((i + 3 * (i >> 4)) & 15))
        return 8 * (i + i // pad if pad else i)

    c = Counter()
    # Frame load: fft_st(n, ...) for n = tid, tid + WG, ...
    for it in range(-(-m // WG)):
        c.access("frame load", lambda t: fa(t + it * WG) if t + it * WG < m else None, 8)
    for r, ns in stages(m, radix8):
        nb = m // r
        if r in (2, 4, 8) and nb <= 2 * WG:
            for j0 in (0, WG):
                if j0 >= nb:
                    continue
                stride = m // r
                for q in range(r):
                    c.access(f"stage r{r} ns{ns} loads",
                             lambda t: fa(t + j0 + q * stride) if t + j0 < nb else None, 8)

                def put(t, u):
                    j = t + j0
                    if j >= nb:
                        return None
                    k = j % ns
                    return fa((j - k) * r + k + u * ns)

                for u in range(r):
                    c.access(f"stage r{r} ns{ns} stores", lambda t: put(t, u), 8)
        else:
            span = ns * r
            stride = m // r
            per = -(-m // WG)
            for it in range(per):
                def base(t):
                    o = t + it * WG
                    if o >= m:
                        return None
                    b = o // span
                    k = (o - b * span) % ns
                    return b * ns + k

                for q in range(r):
                    c.access(f"stage r{r} ns{ns} loads",
                             lambda t: None if base(t) is None else fa(base(t) + q * stride), 8)
                c.access(f"stage r{r} ns{ns} stores",
                         lambda t: fa(t + it * WG) if t + it * WG < m else None, 8)
    w = 2 if complex_out else 1
    pitch = tile * w + 1 if tile_pitch else tile * w
    even = n_fft % 2 == 0
    for it in range(-(-n_freq // WG)):
        def k_of(t):
            k = t + it * WG
            return k if k < n_freq else None

        c.access("epilogue loads", lambda t: None if k_of(t) is None else fa(k_of(t) % m), 8)
        if even:
            c.access("epilogue loads",
                     lambda t: None if k_of(t) is None else fa((m - k_of(t)) % m), 8)
        if tile > 1:
            for comp in range(w):
                # out_tile[v * pitch + i * w + comp], i = the frame in the tile (0: its cost is
                # the same for every i)
                c.access("tile staging",
                         lambda t: None if k_of(t) is None else 4 * (k_of(t) * pitch + comp), 4)
    if tile > 1:
        run = tile * w
        words = n_freq * run
        flush = Counter()
        for it in range(-(-words // WG)):
            def src(t):
                j = t + it * WG
                if j >= words:
                    return None
                v, r = divmod(j, run)
                return 4 * (v * pitch + r)

            flush.access("tile flush (per frame)", src, 4)
        for k, v in flush.by_phase.items():
            c.by_phase[k] = c.by_phase.get(k, 0) + v / tile
    return c.by_phase


LAYOUTS = {
    # name: (radix8, pad, tile_pitch, swizzle)
    "first kernel": (False, 0, False, False),
    "tile pitch": (False, 0, True, False),
    "tile pitch, pad 16": (False, 16, True, False),
    "tile pitch, swizzle": (False, 0, True, True),
    "radix 8, tile pitch, pad 16": (True, 16, True, False),
}


def kernel_layout(n_fft):
    """The layout the kernel takes (src/gpu/kernel.rs swizzled)."""
    m = n_fft // 2 if n_fft % 2 == 0 else n_fft
    swizzled = m & (m - 1) == 0 and 32 <= m <= 8 * WG
    return "tile pitch, swizzle" if swizzled else "tile pitch"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-fft", type=int, nargs="+", default=[512, 400, 1024, 2048])
    ap.add_argument("--tile", type=int, default=None,
                    help="frames per workgroup (default: the plan's, as bench/gpu_model.py computes it)")
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--sr", type=int, default=16000)
    ap.add_argument("--hop", type=int, default=160)
    ap.add_argument("--workgroup-kib", type=int, default=48)
    ap.add_argument("--phases", action="store_true", help="print wavefronts per phase")
    a = ap.parse_args()
    length = int(a.seconds * a.sr)
    print(f"{a.rows} rows x {a.seconds:g} s at {a.sr} Hz, hop {a.hop}; H100 SXM {SMS} SMs x "
          f"{CLOCK / 1e9:.3f} GHz, one 128-byte wavefront per clock per SM; * = the kernel's layout")
    print()
    print("| n_fft | output | T | layout | wavefronts per frame | FFT stages | tile staging + flush "
          "| µs per run | DRAM floor µs |")
    print("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for n_fft in a.n_fft:
        n_freq = n_fft // 2 + 1
        fr = gpu_model.frames(length, n_fft, a.hop)
        n_frames = a.rows * fr
        for cplx in (False, True):
            tile = gpu_model.tile_for(n_fft, cplx, a.rows, fr, a.workgroup_kib << 10, a.tile)
            floor = (a.rows * length * 4 + n_frames * n_freq * 4 * (2 if cplx else 1)) / HBM
            for name, (radix8, pad, pitch, swizzle) in LAYOUTS.items():
                ph = frame(n_fft, tile, cplx, radix8, pad, pitch, swizzle)
                tot = sum(ph.values())
                st = sum(v for k, v in ph.items() if k.startswith("stage"))
                tl = sum(v for k, v in ph.items() if k.startswith("tile"))
                us = n_frames * tot / (SMS * CLOCK) * 1e6
                mark = " *" if name == kernel_layout(n_fft) else ""
                print(f"| {n_fft} | {'complex' if cplx else 'power'} | {tile} | {name}{mark} | "
                      f"{tot:.0f} | {st:.0f} | {tl:.0f} | {us:.0f} | {floor * 1e6:.0f} |")
                if a.phases:
                    for k, v in ph.items():
                        print(f"|  |  |  | {k} | {v:.0f} |  |  |  |  |")


if __name__ == "__main__":
    main()
