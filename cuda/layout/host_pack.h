// A weight prepared on the host by the layout functions (the bytes the device repack must produce: lane records, then
// NVFP4 scales), for the CUDA op checks' repack check. Defined in host_checks.cc.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/weights.h"

namespace ms4::cuda {

std::vector<uint8_t> hostPreparedBytes(const LinearSource& src);

}  // namespace ms4::cuda
