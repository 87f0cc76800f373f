#!/usr/bin/env bash
# Prepares, on this machine, what one call of the device tool needs to take every GPU figure of
# issue 7 (see BENCHMARKS.md, "GPU instrumentation"): the device machine has no Rust toolchain
# and no network, so everything travels as ignored folders named in the call's `carry`:
#   .bin/  the release CLI, the GPU test binaries and the threads/soak examples, stripped and
#          xz-compressed (about 3.5 MB each; the working tree that travels is capped at 64 MiB
#          and the tracked files take about 34 MB)
#   .gl/   the Vulkan loader and GL dispatch .debs (the device image has none)
#   .whl/  nnAudio's wheel, for bench/compare_gpu.py's nnAudio column
# Then one call: run(command="bash bench/device_run.sh", carry=[".bin", ".gl", ".whl"]).
#
#   bash bench/device_prep.sh            # builds, strips, compresses, downloads
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p "$(git rev-parse --git-path info)"
for d in .bin .gl .whl; do
  x=$(git rev-parse --git-path info/exclude)
  grep -qx "/$d/" "$x" 2>/dev/null || echo "/$d/" >> "$x"
done
rm -rf .bin && mkdir -p .bin .gl .whl

# The GPU test files that say most on a real GPU (every kernel against its CPU twin, errors,
# the property draws, features, sharing one device); more would pass the 64 MiB cap.
TESTS="gpu_vs_cpu gpu_errors properties features shared_device"
echo "== building the CLI, the examples and the test binaries (release)"
cargo build --release --quiet
cargo build --release --quiet --example threads --example soak
args=""
for t in $TESTS; do args="$args --test $t"; done
# shellcheck disable=SC2086
cargo test --release --no-run --message-format=json $args 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])
' | while read -r name exe; do cp "$exe" ".bin/test_$name"; done
cp target/release/wavegpu .bin/wavegpu
cp target/release/examples/threads .bin/threads
cp target/release/examples/soak .bin/soak
strip .bin/*
xz -9 -T0 .bin/*
# The test binaries find tests/data through the path they were built in (CARGO_MANIFEST_DIR).
pwd > .bin/manifest_dir
ls -la .bin

echo "== Vulkan loader .debs (as /work/.library/device/README.md says)"
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
ls .gl

echo "== nnAudio wheel"
if ! ls .whl/nnaudio-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps --only-binary=:all: -d .whl nnAudio==0.3.4 ||
    .venv/bin/pip download -q --no-deps -d .whl nnAudio==0.3.4
fi
ls .whl
du -sh .bin .gl .whl
