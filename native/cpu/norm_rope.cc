// RMSNorm, interleaved RoPE, llama-4 query scaling and the residual add.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_backend.h"

namespace ms4 {

// Σx² in double (|error| ≲ n·2^-53·Σx², negligible); the scale is rounded to fp32 once and y = fl(fl(x·s)·w),
// so each output is within ~3 fp32 ulps (≈2e-7 relative) of the reference.
void CpuBackend::rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y, int yStride) {
    if (n <= 0) return;
    pool_.parallelFor(
        T,
        [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                const float* xt = x + static_cast<size_t>(t) * xStride;
                float* yt = y + static_cast<size_t>(t) * yStride;
                const double ss = k_.sumSquares(xt, n);
                const float inv = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
                for (int i = 0; i < n; ++i) yt[i] = xt[i] * inv * w[i];
            }
        },
        T >= 64 ? 16 : 1);
}

// Angles pos·invFreq, their cos/sin and the rotation are computed in double (pos up to ~1e6 loses nothing),
// exactly like the reference.
void CpuBackend::ropeInterleaved(float* x, int heads, int tokenStride, int headStride, const StepContext& step,
                                 const RopeParams& rope) {
    const StepInputs& in = asCpuStep(step).in;
    const int T = in.numTokens;
    const int32_t* positions = in.positions;
    if (T > 0 && positions == nullptr) throw std::runtime_error("ropeInterleaved: the step has no positions");
    const int pairs = static_cast<int>(rope.invFreq.size());
    if (pairs == 0) return;
    pool_.parallelFor(
        T,
        [&](int64_t b, int64_t e) {
            std::vector<double> cs(2 * static_cast<size_t>(pairs));
            for (int64_t t = b; t < e; ++t) {
                for (int i = 0; i < pairs; ++i) {
                    const double angle = static_cast<double>(positions[t]) * rope.invFreq[i];
                    cs[2 * i] = std::cos(angle) * rope.attentionFactor;
                    cs[2 * i + 1] = std::sin(angle) * rope.attentionFactor;
                }
                for (int h = 0; h < heads; ++h) {
                    float* v = x + static_cast<size_t>(t) * tokenStride + static_cast<size_t>(h) * headStride;
                    for (int i = 0; i < pairs; ++i) {
                        const double a = v[2 * i], bb = v[2 * i + 1], c = cs[2 * i], s = cs[2 * i + 1];
                        v[2 * i] = static_cast<float>(a * c - bb * s);
                        v[2 * i + 1] = static_cast<float>(bb * c + a * s);
                    }
                }
            }
        },
        T >= 64 ? 16 : 1);
}

void CpuBackend::queryScale(float* x, int n, int stride, const StepContext& step, const QueryScaling& s) {
    if (s.beta == 0) return;
    const StepInputs& in = asCpuStep(step).in;
    const int T = in.numTokens;
    const int32_t* positions = in.positions;
    if (T > 0 && positions == nullptr) throw std::runtime_error("queryScale: the step has no positions");
    if (s.originalMax <= 0) throw std::runtime_error("queryScale: originalMax must be positive");
    for (int t = 0; t < T; ++t) {
        const double f = 1.0 + s.beta * std::log(1.0 + std::floor(static_cast<double>(positions[t]) / s.originalMax));
        float* row = x + static_cast<size_t>(t) * stride;
        for (int i = 0; i < n; ++i) row[i] = static_cast<float>(row[i] * f);
    }
}

void CpuBackend::addInPlace(float* y, const float* x, size_t n) {
    constexpr size_t kGrain = 1 << 16;
    if (n <= kGrain) {
        for (size_t i = 0; i < n; ++i) y[i] += x[i];
        return;
    }
    pool_.parallelFor(
        static_cast<int64_t>(n),
        [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) y[i] += x[i];
        },
        static_cast<int64_t>(kGrain));
}

}  // namespace ms4
