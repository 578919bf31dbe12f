// JS: kernelBench(name, params?) → Record<string, number | string> (the benchmarks live in checks/kernel_bench.cc).
#pragma once
#include <napi.h>

namespace ms4 {
Napi::Value KernelBench(const Napi::CallbackInfo& info);
}
