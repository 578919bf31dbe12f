// The CUDA bridge (cuda_bridge.h) in a build without the CUDA backend: no devices, and every function that needs one
// says why it cannot run.
#ifndef MS4_WITH_CUDA
#include <stdexcept>
#include <string>

#include "cuda_bridge.h"

namespace ms4 {

namespace {
const char* const kNoCuda =
    "this build of the addon has no CUDA backend (a CPU-only build: a prebuilt binary, node-gyp, MS4_CUDA=OFF, or no "
    "usable nvcc when it was compiled)";
}

CudaStatus queryCuda() {
    CudaStatus status;
    status.error = kNoCuda;
    return status;
}

std::unique_ptr<Backend> createCudaBackend(int) {
    throw std::runtime_error(std::string("device \"cuda\": ") + kNoCuda);
}

std::vector<checks::OpCheckResult> runCudaOpChecks(const std::string&, int) {
    throw std::runtime_error(std::string("CUDA op checks: ") + kNoCuda);
}

CudaBandwidth cudaCopyBandwidth(int, size_t, int) {
    throw std::runtime_error(std::string("CUDA bandwidth: ") + kNoCuda);
}

std::vector<double> cudaGraphMilliseconds(Backend&, const std::function<void()>&, int) {
    throw std::runtime_error(std::string("CUDA graph timing: ") + kNoCuda);
}

}  // namespace ms4
#endif
