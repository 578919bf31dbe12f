#!/usr/bin/env bash
# The CUDA backend's proof on a GPU, needing no Node.js (docs/cuda-backend.md#proof-on-a-gpu): builds ms4-gpu-check
# with plain cmake for this machine's GPU only, runs it, and prints its one JSON object on stdout (progress on
# stderr). Exit status 0 when every check passed. `npm run test:gpu` runs the same program plus the vitest GPU tests.
# --build-only stops after the build.
# Environment: MS4_GPU_DEVICE (CUDA device index, 0), MS4_BUILD_JOBS (all cores), MS4_CUDA_ARCHS (override the
# detected architecture, e.g. 90a-real), MS4_GPU_SKIP_BENCH=1 (checks only), MS4_GPU_OUT (a folder that receives
# gpu-check.json and build.log; default build-gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
device="${MS4_GPU_DEVICE:-0}"
out="${MS4_GPU_OUT:-build-gpu}"
jobs="${MS4_BUILD_JOBS:-$(nproc)}"
mkdir -p "$out"

# The device's compute capability as digits ("9.0" -> 90): nvidia-smi, else the CUDA toolkit's device query.
capability() {
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i "$device" 2>/dev/null | tr -d ' .\r'
  elif command -v __nvcc_device_query >/dev/null 2>&1; then
    __nvcc_device_query | tr ',' '\n' | sed -n "$((device + 1))p"
  fi
}
arch="${MS4_CUDA_ARCHS:-}"
if [ -z "$arch" ]; then
  cc="$(capability)"
  if [ -z "$cc" ]; then
    echo "gpu-check: no GPU found (nvidia-smi and __nvcc_device_query answer nothing for device $device)" >&2
    exit 1
  fi
  case "$cc" in
    90 | 100 | 101 | 103 | 110 | 120 | 121) arch="${cc}a-real" ;;  # the arch-specific targets (sm_90a, ...)
    *) arch="${cc}-real" ;;
  esac
fi
echo "[gpu-check] building ms4-gpu-check for $arch with $jobs jobs (log: $out/build.log)" >&2
start=$(date +%s)
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DMS4_CUDA=ON "-DMS4_CUDA_ARCHS=$arch" -DMS4_GPU_CHECK=ON \
  >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; exit 1; }
cmake --build build-gpu --target ms4-gpu-check --parallel "$jobs" >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log" >&2; exit 1; }
echo "[gpu-check] built in $(($(date +%s) - start)) s" >&2
if [ "${1:-}" = "--build-only" ]; then exit 0; fi
args=(--device "$device" --out "$out/gpu-check.json")
if [ "${MS4_GPU_SKIP_BENCH:-}" = "1" ]; then args+=(--skip-bench); fi
exec build-gpu/ms4-gpu-check "${args[@]}"
