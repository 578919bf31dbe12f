// Reference linear, embedding, RMSNorm, RoPE and query scaling.
#include <cmath>
#include <vector>

#include "ref/ref_ops.h"

namespace ms4::ref {

void linear(const LinearSource& w, const float* x, int xStride, int T, float* y, int yStride) {
    std::vector<float> row(w.cols);
    for (int r = 0; r < w.rows; ++r) {
        weightRow(w, r, row.data());
        for (int t = 0; t < T; ++t) {
            double acc = 0;
            const float* xt = x + static_cast<size_t>(t) * xStride;
            for (int c = 0; c < w.cols; ++c) acc += static_cast<double>(row[c]) * xt[c];
            y[static_cast<size_t>(t) * yStride + r] = static_cast<float>(acc);
        }
    }
}

void embedRows(const LinearSource& table, const int32_t* ids, int T, float* out) {
    for (int t = 0; t < T; ++t) weightRow(table, ids[t], out + static_cast<size_t>(t) * table.cols);
}

void rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y, int yStride) {
    for (int t = 0; t < T; ++t) {
        const float* xt = x + static_cast<size_t>(t) * xStride;
        double ss = 0;
        for (int i = 0; i < n; ++i) ss += static_cast<double>(xt[i]) * xt[i];
        const double inv = 1.0 / std::sqrt(ss / n + eps);
        float* yt = y + static_cast<size_t>(t) * yStride;
        for (int i = 0; i < n; ++i) yt[i] = static_cast<float>(xt[i] * inv * w[i]);
    }
}

void ropeInterleaved(float* x, int T, int heads, int tokenStride, int headStride, const int32_t* positions,
                     const RopeParams& rope) {
    const int pairs = static_cast<int>(rope.invFreq.size());
    for (int t = 0; t < T; ++t) {
        for (int i = 0; i < pairs; ++i) {
            const double angle = static_cast<double>(positions[t]) * rope.invFreq[i];
            const double c = std::cos(angle) * rope.attentionFactor, s = std::sin(angle) * rope.attentionFactor;
            for (int h = 0; h < heads; ++h) {
                float* v = x + static_cast<size_t>(t) * tokenStride + static_cast<size_t>(h) * headStride + 2 * i;
                const double a = v[0], b = v[1];
                v[0] = static_cast<float>(a * c - b * s);
                v[1] = static_cast<float>(b * c + a * s);
            }
        }
    }
}

void queryScale(float* x, int T, int n, int stride, const int32_t* positions, const QueryScaling& s) {
    if (s.beta == 0) return;
    for (int t = 0; t < T; ++t) {
        const double f = 1.0 + s.beta * std::log(1.0 + std::floor(static_cast<double>(positions[t]) / s.originalMax));
        float* row = x + static_cast<size_t>(t) * stride;
        for (int i = 0; i < n; ++i) row[i] = static_cast<float>(row[i] * f);
    }
}

}  // namespace ms4::ref
