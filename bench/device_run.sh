#!/usr/bin/env bash
# Runs ON the device machine, in the repo root, after bench/device_prep.sh here:
#   run(command="bash bench/device_run.sh", carry=[".bin", ".gl", ".whl"], timeout_s=600)
# Every GPU figure issue 7 asks for, in one call, logged to $OUT/device_run.log (it comes back).
# QUICK=1 shrinks every workload (a dry run of the script itself, e.g. on lavapipe here);
# PYTHON names the interpreter (default python3: on the device, the one with torch).
set -uo pipefail
out=${OUT:-/tmp/wavegpu-device}
mkdir -p "$out" /tmp/wg
log="$out/device_run.log"
exec > >(tee "$log") 2>&1
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}

# The Vulkan loader, where the machine has none (the device image); never over one that is there.
if ! ldconfig -p | grep -q 'libvulkan.so.1 ' && ls .gl/*.deb >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
"$py" - <<'PY'
import lzma, os, shutil
for f in sorted(os.listdir(".bin")):
    if f.endswith(".xz"):
        dst = os.path.join("/tmp/wg", f[:-3])
        with lzma.open(os.path.join(".bin", f)) as s, open(dst, "wb") as d:
            shutil.copyfileobj(s, d)
        os.chmod(dst, 0o755)
PY
# The test binaries read tests/data under the directory they were built in: point it here.
built=$(cat .bin/manifest_dir 2>/dev/null || true)
if [ -n "$built" ] && [ ! -e "$built" ]; then
  mkdir -p "$(dirname "$built")" && ln -s "$PWD" "$built"
fi
exe=/tmp/wg/wavegpu
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -e "$icd" ] && ! "$exe" devices 2>/dev/null | grep -qi nvidia; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; "$@" || echo "== exit status $? from: $*"; }
if [ "${QUICK:-0}" = 1 ]; then
  B="--clips 4 --seconds 1 --repeats 2"; BW="--bandwidth-mib 16"; SC="--clips 1,4 --seconds 1"; R=20
  CG="--clips 4 --seconds 1 --repeats 2"
else
  B=""; BW=""; SC="--clips 1,4,16,64,256 --seconds 1,10,60"; R=2000; CG=""
fi
step nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
step "$exe" devices
# shellcheck disable=SC2086
step "$exe" bench --device gpu $B $BW
for t in 1 2 4 8 16; do
  # shellcheck disable=SC2086
  step "$exe" bench --device gpu $B --frames-per-workgroup "$t" --bandwidth-mib 0
done
# shellcheck disable=SC2086
step "$py" bench/compare_gpu.py --exe "$exe" $CG
# shellcheck disable=SC2086
step "$py" bench/scaling.py --exe "$exe" --device gpu $SC
step /tmp/wg/threads --device gpu
step /tmp/wg/soak --device gpu --runs "$R"
# The GPU tests on the real adapter (CI=true: a missing adapter fails instead of skipping).
for t in /tmp/wg/test_*; do
  CI=true step "$t" --test-threads 4
done
echo; echo "== done ($(date -u +%H:%M:%S))"
