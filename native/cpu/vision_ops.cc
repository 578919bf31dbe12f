// The vision encoder's element-wise and layout ops (docs/model.md#vision-tower): the pass context, patch rows for
// the patch convolution, 2-D RoPE, SiLU·mul, GELU, the patch merger's unfold and the bias add.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"

namespace ms4 {

namespace {

int64_t rowGrain(int T) { return T >= 64 ? 16 : 1; }

}  // namespace

std::unique_ptr<VisionContext> CpuBackend::beginVision(const VisionInputs& in) {
    auto ctx = std::make_unique<cpu::CpuVisionContext>(visionLayout(in));
    const VisionLayout& l = ctx->layout;
    ctx->row.resize(l.numPatches());
    ctx->col.resize(l.numPatches());
    for (int i = 0; i < l.numImages(); ++i) {
        for (int p = 0; p < l.rows[i] * l.cols[i]; ++p) {
            ctx->row[l.imageStart[i] + p] = p / l.cols[i];
            ctx->col[l.imageStart[i] + p] = p % l.cols[i];
        }
    }
    return ctx;
}

void CpuBackend::patchRows(const float* pixels, const VisionContext& v, float* out, int outStride) {
    const VisionLayout& l = asCpuVision(v).layout;
    const int ps = l.patchSize, C = l.channels, width = C * ps * ps;
    if (outStride < width) throw std::runtime_error("patchRows: outStride is smaller than channels · patch²");
    std::vector<size_t> planeOffset(l.numImages());  // first pixel of each image
    for (int i = 1; i < l.numImages(); ++i) {
        planeOffset[i] = planeOffset[i - 1] + static_cast<size_t>(C) * l.rows[i - 1] * l.cols[i - 1] * ps * ps;
    }
    const cpu::CpuVisionContext& ctx = asCpuVision(v);
    pool_.parallelFor(
        l.numPatches(),
        [&](int64_t b, int64_t e) {
            int image =
                static_cast<int>(std::upper_bound(l.imageStart.begin(), l.imageStart.end(), b) - l.imageStart.begin()) -
                1;
            for (int64_t p = b; p < e; ++p) {
                while (p >= l.imageStart[image + 1]) ++image;
                const size_t W = static_cast<size_t>(l.cols[image]) * ps, H = static_cast<size_t>(l.rows[image]) * ps;
                const float* src = pixels + planeOffset[image] + static_cast<size_t>(ctx.row[p]) * ps * W +
                                   static_cast<size_t>(ctx.col[p]) * ps;
                float* row = out + static_cast<size_t>(p) * outStride;
                for (int ch = 0; ch < C; ++ch) {
                    for (int ky = 0; ky < ps; ++ky) {
                        std::memcpy(row + (ch * ps + ky) * ps, src + ch * H * W + ky * W, sizeof(float) * ps);
                    }
                }
                std::fill(row + width, row + outStride, 0.0f);
            }
        },
        rowGrain(l.numPatches()));
}

// cos / sin of every row and column angle once per call (rows and columns are few), in double like the reference.
void CpuBackend::rope2d(float* x, int heads, int tokenStride, int headStride, const VisionContext& v,
                        const Rope2dParams& rope) {
    const cpu::CpuVisionContext& ctx = asCpuVision(v);
    const VisionLayout& l = ctx.layout;
    const int half = static_cast<int>(rope.rowFreq.size()), other = static_cast<int>(rope.colFreq.size());
    const int maxRow = *std::max_element(l.rows.begin(), l.rows.end());
    const int maxCol = *std::max_element(l.cols.begin(), l.cols.end());
    std::vector<double> rowCs(static_cast<size_t>(maxRow) * half * 2), colCs(static_cast<size_t>(maxCol) * other * 2);
    for (int r = 0; r < maxRow; ++r) {
        for (int i = 0; i < half; ++i) {
            const double angle = r * rope.rowFreq[i];
            rowCs[(static_cast<size_t>(r) * half + i) * 2] = std::cos(angle);
            rowCs[(static_cast<size_t>(r) * half + i) * 2 + 1] = std::sin(angle);
        }
    }
    for (int c = 0; c < maxCol; ++c) {
        for (int i = 0; i < other; ++i) {
            const double angle = c * rope.colFreq[i];
            colCs[(static_cast<size_t>(c) * other + i) * 2] = std::cos(angle);
            colCs[(static_cast<size_t>(c) * other + i) * 2 + 1] = std::sin(angle);
        }
    }
    pool_.parallelFor(
        l.numPatches(),
        [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                const double* rcs = rowCs.data() + static_cast<size_t>(ctx.row[p]) * half * 2;
                const double* ccs = colCs.data() + static_cast<size_t>(ctx.col[p]) * other * 2;
                for (int h = 0; h < heads; ++h) {
                    float* vh = x + static_cast<size_t>(p) * tokenStride + static_cast<size_t>(h) * headStride;
                    for (int i = 0; i < half + other; ++i) {
                        const double* cs = i < half ? rcs + 2 * i : ccs + 2 * (i - half);
                        const double a = vh[2 * i], bb = vh[2 * i + 1];
                        vh[2 * i] = static_cast<float>(a * cs[0] - bb * cs[1]);
                        vh[2 * i + 1] = static_cast<float>(bb * cs[0] + a * cs[1]);
                    }
                }
            }
        },
        rowGrain(l.numPatches()));
}

// fp32: silu(z)·b = z·b / (1 + e^−z), e^−z by the C library (within ~1 ulp).
void CpuBackend::siluMul(float* a, int aStride, const float* b, int bStride, int T, int n) {
    pool_.parallelFor(
        T,
        [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                float* at = a + static_cast<size_t>(t) * aStride;
                const float* bt = b + static_cast<size_t>(t) * bStride;
                for (int i = 0; i < n; ++i) at[i] = at[i] / (1.0f + std::exp(-at[i])) * bt[i];
            }
        },
        rowGrain(T));
}

void CpuBackend::gelu(float* x, int stride, int T, int n) {
    pool_.parallelFor(
        T,
        [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                float* xt = x + static_cast<size_t>(t) * stride;
                for (int i = 0; i < n; ++i) xt[i] = 0.5f * xt[i] * (1.0f + std::erf(xt[i] * 0.70710678118654752f));
            }
        },
        rowGrain(T));
}

void CpuBackend::mergePatches(const float* x, int width, const VisionContext& v, float* out) {
    const VisionLayout& l = asCpuVision(v).layout;
    const int m = l.merge, outWidth = width * m * m;
    pool_.parallelFor(
        l.numTokens(),
        [&](int64_t b, int64_t e) {
            for (int64_t token = b; token < e; ++token) {
                const int i = static_cast<int>(std::upper_bound(l.tokenStart.begin(), l.tokenStart.end(), token) -
                                               l.tokenStart.begin()) -
                              1;
                const int blockCols = l.cols[i] / m, k = static_cast<int>(token) - l.tokenStart[i];
                const int br = k / blockCols, bc = k % blockCols;
                float* o = out + static_cast<size_t>(token) * outWidth;
                for (int dy = 0; dy < m; ++dy) {
                    for (int dx = 0; dx < m; ++dx) {
                        const float* src =
                            x + static_cast<size_t>(l.imageStart[i] + (br * m + dy) * l.cols[i] + bc * m + dx) * width;
                        for (int c = 0; c < width; ++c) o[(c * m + dy) * m + dx] = src[c];
                    }
                }
            }
        },
        rowGrain(l.numTokens()));
}

void CpuBackend::addBias(float* y, int yStride, const float* bias, int T, int n) {
    for (int t = 0; t < T; ++t) {
        float* yt = y + static_cast<size_t>(t) * yStride;
        for (int i = 0; i < n; ++i) yt[i] += bias[i];
    }
}

}  // namespace ms4
