// JS: opChecks(filter?: string, path?: CpuKernelPath, device?: "cpu" | "cuda" | "cuda:N")
//       → { op, params, error, maxAbsError, bound, ok }[]: every op of the device's backend against the reference;
//     cudaLayoutChecks(filter?: string) → the same shape: the CUDA backend's layouts and plans, on the CPU;
//     modelChecks(reference, candidate, filter?, continuation?) → the same shape: whole synthetic models on two
//       backends ("cpu", "cpu:<path>", "cuda", "cuda:N"; checks/model_checks.h).
// (the checks themselves live in checks/ and cuda/).
#pragma once
#include <napi.h>

namespace ms4 {
Napi::Value OpChecks(const Napi::CallbackInfo& info);
Napi::Value CudaLayoutChecks(const Napi::CallbackInfo& info);
Napi::Value ModelChecks(const Napi::CallbackInfo& info);
}  // namespace ms4
