// JS: opChecks(filter?: string, path?: CpuKernelPath) → { op, params, error, maxAbsError, bound, ok }[]
// (the checks themselves live in checks/).
#pragma once
#include <napi.h>

namespace ms4 {
Napi::Value OpChecks(const Napi::CallbackInfo& info);
}
