#include "backend/create_backend.h"

#include <stdexcept>

#include "cpu/cpu_backend.h"
#include "cuda_bridge.h"

namespace ms4 {

std::unique_ptr<Backend> createBackend(const BackendOptions& options) {
    if (options.device == "cpu") return createCpuBackend(options.cpu);
    if (options.device == "cuda") return createCudaBackend(options.deviceIndex);
    throw std::runtime_error("unknown device \"" + options.device + "\" (expected \"cpu\" or \"cuda\")");
}

}  // namespace ms4
