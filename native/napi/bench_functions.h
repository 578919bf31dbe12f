// kernelBench(name, params): micro-benchmarks of the CPU kernels (bench/kernels/kernel-bench.ts).
#pragma once
#include <napi.h>

namespace ms4 {

// JS: kernelBench(name: "bandwidth" | "linear" | "moeLayer", params?: object) → { bytes, seconds, ... }
Napi::Value KernelBench(const Napi::CallbackInfo& info);

}  // namespace ms4
