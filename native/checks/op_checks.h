// The op-check suites over any Backend (checks/op_cases.h for the cases), and the CPU driver that runs them on
// every NVFP4 activation mode of a CPU kernel path plus the CPU-only layout checks.
#pragma once
#include <string>
#include <vector>

#include "checks/check_harness.h"

namespace ms4::checks {

// Every op of the backend against its reference, at the tiny model's dims and odd ones, several T, batches of
// sequences over shuffled blocks of size 4 and 16, both KV dtypes and all three weight formats.
void runFullSuite(Checker& c);
// The NVFP4 cases only (linear, MoE, batch invariance, non-finite): for a backend's quantized-activation modes.
void runNvfp4Suite(Checker& c);

// The CPU backend of kernel path `path` ("" = the best this CPU runs; "portable" | "avx2" | "avx512" |
// "avx512-emulated"): the full suite with f32 activations, the NVFP4 suite with int16 and int8 activations, and the
// NVFP4 repack-layout check. Cases run when their params contain `filter` ("" = all).
std::vector<OpCheckResult> runCpuOpChecks(const std::string& filter, const std::string& path);

// The CUDA backend's host-side code on the CPU, no GPU needed (cuda/layout/host_checks.cc): bit conversions, the
// fragment-order weight layouts and split activations rebuilt into tensor-core products by the PTX fragment rules
// and compared with the reference, the element decode, and the launch and MoE grouping plans.
std::vector<OpCheckResult> runCudaLayoutChecks(const std::string& filter);

}  // namespace ms4::checks
