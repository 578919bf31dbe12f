// Reads a JS NativeModelSpec and NativeBackendOptions (lib/native.ts) into a ModelSpec and BackendOptions,
// checking types and ranges.
#pragma once
#include <napi.h>

#include "backend/create_backend.h"
#include "model/model_spec.h"

namespace ms4 {
ModelSpec parseModelSpec(const Napi::Object& spec, size_t tensorCount);
BackendOptions parseBackendOptions(const Napi::Object& options);
}  // namespace ms4
