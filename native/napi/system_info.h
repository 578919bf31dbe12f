#pragma once
#include <napi.h>

namespace ms4 {
// systemInfo() -> { cpu: {...features, logicalCores}, cuda: { compiled, runtimeVersion, driverVersion, error, devices }
// }
Napi::Value SystemInfo(const Napi::CallbackInfo& info);
}  // namespace ms4
