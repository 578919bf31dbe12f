// The CPU step context: the caller's host arrays, checked once per step (backend/input_checks.h, so the ops index
// without re-checking what does not depend on the cache), plus each token's sequence and visible-entry count.
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "backend/input_checks.h"
#include "cpu/cpu_backend.h"

namespace ms4 {

std::unique_ptr<StepContext> CpuBackend::beginStep(const StepInputs& in) {
    StepLayout layout = checkStepInputs(in);
    auto ctx = std::make_unique<cpu::CpuStepContext>(in);
    ctx->seqOf = std::move(layout.seqOf);
    ctx->visible = std::move(layout.visible);
    return ctx;
}

void CpuBackend::gatherLogitRows(const float* x, int xStride, int width, const StepContext& step, int first, int count,
                                 float* out) {
    const cpu::CpuStepContext& s = asCpuStep(step);
    if (first < 0 || count < 0 || first + count > s.numLogitRows) {
        throw std::runtime_error("step: gatherLogitRows: rows outside logitRows");
    }
    for (int i = 0; i < count; ++i) {
        std::memcpy(out + static_cast<size_t>(i) * width, x + static_cast<size_t>(s.in.logitRows[first + i]) * xStride,
                    sizeof(float) * width);
    }
}

}  // namespace ms4
