#!/usr/bin/env python3
"""Dispatches and bytes moved per run of wavegpu's GPU STFT plan, from the plan's own rules.

No GPU is needed: this reproduces `GpuStft::chunks` (src/gpu/stft.rs) and counts, per
`Stft::run_batch` / `run_batch_complex`:
  - chunks: the plan splits a run so that each chunk's input and output buffers fit the
    device's largest storage binding (`max_binding`); one chunk = one upload (queue.write_buffer),
    one dispatch of rows*frames workgroups, one copy_buffer_to_buffer into the readback buffer,
    one submit, one map + poll (chunks run one after another);
  - device-memory bytes: input read 4*rows*len (each sample read once from DRAM; the kernel
    re-reads overlapping frames, n_fft/hop times, but those hits are in cache), output write
    4*rows*freq*frames (8 for complex), and the readback copy (reads that output again and writes
    the same bytes into the host-visible readback buffer); window/twiddle/stage tables are a few
    KiB and stay cached;
  - PCIe bytes: the input upload plus the output readback;
  - DESIGN.md's floor: input read + output write only, at 3.35 TB/s (H100 SXM HBM3);
  - the output stores: each workgroup transforms `tile` consecutive frames (GpuStft::tile:
    the most that fit 16 KiB of workgroup memory beside the FFT, at most 16, a power of two,
    halved while the dispatch would have fewer than 4096 workgroups) and writes each bin's
    `tile` values as one run of tile*4 bytes (8 complex); a run at a 4-byte offset touches
    (run + 28) / 32 32-byte sectors on average. Sector efficiency = bytes written / bytes of
    the sectors touched: 12.5% (real) or 25% (complex) with one frame per workgroup.

    python3 bench/gpu_model.py [--max-binding-mib 128] [--workgroup-kib 16] [--tile N]

--max-binding-mib: lavapipe reports 128 MiB; NVIDIA's Vulkan driver reports about 4 GiB
(the default here, 4096). --workgroup-kib: the device's workgroup memory (NVIDIA: 48, the
default; WebGPU's floor: 16). --tile: frames per workgroup instead of the plan's choice.
"""

import argparse

HBM = 3.35e12  # B/s, H100 SXM
PCIE = 50e9  # B/s, a realistic PCIe 5.0 x16 host<->device copy rate (the link's peak is 64 GB/s)

# (label, rows, seconds, sr, n_fft, hop)
WORKLOADS = [
    ("1 x 10 s, 16 kHz, n_fft 512, hop 160", 1, 10, 16_000, 512, 160),
    ("16 x 10 s, 16 kHz, n_fft 512, hop 160", 16, 10, 16_000, 512, 160),
    ("40 x 10 s, 16 kHz, n_fft 512, hop 160", 40, 10, 16_000, 512, 160),
    ("40 x 10 s, 22.05 kHz, n_fft 2048, hop 512", 40, 10, 22_050, 2048, 512),
    ("40 x 10 s, 16 kHz, n_fft 400, hop 160", 40, 10, 16_000, 400, 160),
    ("256 x 10 s, 16 kHz, n_fft 512, hop 160 (DESIGN.md)", 256, 10, 16_000, 512, 160),
]


def frames(length, n_fft, hop):
    # center=True: librosa's count
    return 1 + (length + 2 * (n_fft // 2) - n_fft) // hop


def chunks(rows, length, n_fft, hop, out_elems, max_binding):
    """Mirror of GpuStft::chunks for equal-length rows: list of (rows_in_chunk, frames_in_chunk, in_samples)."""
    nf = n_fft // 2 + 1
    fr = frames(length, n_fft, hop)
    in_row = length * 4
    out_row = nf * fr * out_elems * 4
    per = max(in_row, out_row, 1)
    if per <= max_binding:
        rows_per = max(max_binding // per, 1)
        return [(min(rows_per, rows - r0), fr, length) for r0 in range(0, rows, rows_per)]
    pad = n_fft // 2
    by_out = max_binding // (nf * out_elems * 4)
    by_in = max(max_binding // 4 - 3 * n_fft, 0) // hop
    fc = min(by_out, by_in + 1)
    if fc == 0:
        raise ValueError("one frame does not fit")
    out = []
    for _ in range(rows):
        f0 = 0
        while f0 < fr:
            f1 = min(f0 + fc, fr)
            lo = min(max(f0 * hop - (pad + n_fft), 0), length)
            hi = min(max((f1 - 1) * hop + 2 * n_fft - pad, 0), length)
            out.append((1, f1 - f0, max(hi, lo) - lo))
            f0 = f1
    return out


TILE_BYTES = 16 << 10  # src/gpu/kernel.rs
MAX_TILE = 16
MIN_WORKGROUPS = 4096  # src/gpu/stft.rs


def tile_for(n_fft, complex_out, rows, fr, wg_bytes, fixed=None):
    """Mirror of FftKernel's tile_words and GpuStft::tile for a plain STFT plan."""
    nf = n_fft // 2 + 1
    m = n_fft // 2 if n_fft % 2 == 0 else n_fft
    if m * 8 > wg_bytes:
        return 1  # FFT in the storage scratch: no tiles
    avail = min(max(wg_bytes - (m * 8 + 16), 0), TILE_BYTES) // 4
    # tile_words / tile_frames: nf values at an odd pitch of T w + 1 words
    words = min(avail, (MAX_TILE + 1) * 2 * nf) if avail // nf >= 3 else 0
    fit = max(1, min(max(words - nf, 0) // (nf * (2 if complex_out else 1)), MAX_TILE))
    if fixed is not None:
        return max(1, min(fixed, fit))
    t = 1 << (fit.bit_length() - 1)
    while t > 1 and rows * -(-fr // t) < MIN_WORKGROUPS:
        t //= 2
    return t


def model(rows, seconds, sr, n_fft, hop, complex_out, max_binding, wg_bytes=48 << 10, fixed=None):
    length = seconds * sr
    nf = n_fft // 2 + 1
    fr = frames(length, n_fft, hop)
    e = 2 if complex_out else 1
    ch = chunks(rows, length, n_fft, hop, e, max_binding)
    inp = sum(4 * r * s for r, _, s in ch)
    out = sum(4 * e * r * nf * f for r, f, _ in ch)
    tiles = [tile_for(n_fft, complex_out, r, f, wg_bytes, fixed) for r, f, _ in ch]
    runs = sectors = 0
    for (r, f, _), t in zip(ch, tiles):
        full, last = divmod(f, t)
        for n, span in ((full, t), (1 if last else 0, last)):
            run = 4 * e * span
            runs += r * nf * n
            sectors += r * nf * n * (run + 28) / 32
    return dict(
        tile=max(tiles),
        sectors=sectors,
        sector_eff=out / (32 * sectors),
        frames=fr,
        freq=nf,
        dispatches=len(ch),
        workgroups=sum(r * -(-f // t) for (r, f, _), t in zip(ch, tiles)),
        input=inp,
        output=out,
        copy=out,  # read again by copy_buffer_to_buffer, written to the readback buffer
        total=inp + out + out,
        floor=4 * rows * length + 4 * e * rows * fr * nf,
        pcie=inp + out,
    )


def mb(x):
    return f"{x / 1e6:.1f}"


def us(x):
    return f"{x * 1e6:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-binding-mib", type=float, default=4096.0)
    ap.add_argument("--workgroup-kib", type=float, default=48.0)
    ap.add_argument("--tile", type=int, default=None)
    args = ap.parse_args()
    mx = int(args.max_binding_mib * 2**20)
    wg = int(args.workgroup_kib * 1024)
    print(f"max storage binding {args.max_binding_mib:g} MiB; workgroup memory {args.workgroup_kib:g} KiB; "
          f"floor at {HBM / 1e12:.2f} TB/s; PCIe at {PCIE / 1e9:.0f} GB/s\n")
    print("| workload | output | dispatches (= submits = readbacks) | frames per workgroup | workgroups "
          "| input read MB | output write MB | store sectors (M) | sector efficiency "
          "| readback copy MB | device bytes/run MB | DESIGN floor MB | floor µs | plan at HBM rate µs "
          "| PCIe up+down MB | PCIe µs |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, rows, secs, sr, n_fft, hop in WORKLOADS:
        for cx in (False, True):
            m = model(rows, secs, sr, n_fft, hop, cx, mx, wg, args.tile)
            print(f"| {label} | {'complex' if cx else 'real'} | {m['dispatches']} | {m['tile']} | {m['workgroups']} | "
                  f"{mb(m['input'])} | {mb(m['output'])} | {m['sectors'] / 1e6:.1f} | {100 * m['sector_eff']:.0f}% | "
                  f"{mb(m['copy'])} | {mb(m['total'])} | {mb(m['floor'])} | "
                  f"{us(m['floor'] / HBM)} | {us(m['total'] / HBM)} | {mb(m['pcie'])} | {us(m['pcie'] / PCIE)} |")


if __name__ == "__main__":
    main()
