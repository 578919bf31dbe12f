// The CUDA driver of the op checks: the backend-generic suite (checks/op_checks.h) on the CUDA backend with the CPU's
// exact-path bounds, plus the check that weights repacked on the device are byte for byte what the host layout
// functions (the ones cuda/layout/host_checks.cc verifies) produce.
#include <memory>
#include <string>
#include <vector>

#include "checks/bounds.h"
#include "checks/op_checks.h"
#include "cuda_backend.h"
#include "cuda_bridge.h"
#include "layout/host_pack.h"

namespace ms4 {

namespace {

void checkDeviceRepack(checks::Checker& c, CudaBackend& be, WeightFormat f, int rows, int cols) {
    const std::string params = std::string("cudaDeviceRepack(format=") + checks::formatName(f) +
                               ",rows=" + checks::str(rows) + ",cols=" + checks::str(cols) + ")";
    if (!c.wants(params)) return;
    checks::Rng rng(checks::seedOf(params));
    checks::TestWeight tw(f, rows, cols, rng);
    const std::unique_ptr<LinearWeights> w = be.prepareLinear(tw.src);
    const std::vector<uint8_t> got = be.preparedBytes(*w), want = cuda::hostPreparedBytes(tw.src);
    float mismatches = got.size() == want.size() ? 0.0f : 1.0f;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) mismatches += got[i] == want[i] ? 0.0f : 1.0f;
    const float zero = 0.0f;
    c.record("cudaDeviceRepack", params, &mismatches, &zero, 1, checks::kExact);
}

}  // namespace

std::vector<checks::OpCheckResult> runCudaOpChecks(const std::string& filter, int deviceIndex) {
    auto backend = std::make_unique<CudaBackend>(deviceIndex);
    checks::Checker c{*backend, filter, nullptr, {}};
    for (WeightFormat f : {WeightFormat::NVFP4, WeightFormat::FP8, WeightFormat::BF16}) {
        const int cols = f == WeightFormat::NVFP4 ? 208 : 100;
        checkDeviceRepack(c, *backend, f, 40, cols);
        checkDeviceRepack(c, *backend, f, 4100, 4096);  // a partial last row tile; BF16 and FP8 load in several pieces
    }
    checks::runFullSuite(c);
    return c.results;
}

}  // namespace ms4
