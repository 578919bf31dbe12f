// Reads a JS NativeModelSpec (lib/native.ts) into a ModelSpec, checking types and ranges.
#pragma once
#include <napi.h>

#include "model/model_spec.h"

namespace ms4 {
ModelSpec parseModelSpec(const Napi::Object& spec, size_t tensorCount);
}
