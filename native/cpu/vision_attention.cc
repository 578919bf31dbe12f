// Bidirectional attention of the vision encoder, inside each image (docs/model.md#encoder): a blocked, online-softmax
// ("flash") form. A task is one (image, head, block of kQueryBlock query patches); it walks the image's keys in tiles
// of kKeyTile: the tile's keys are packed transposed, the score tile S = Q·Kᵀ and the output update O += P·V run
// through the kernel table's register-blocked tiles (CpuKernels::attnScores / attnAccumulate), and the softmax is
// carried online (running max and sum per query, the output rescaled when the max grows). Every output depends
// only on its own image's patches, tiled from the image's first patch, so an image gets the same bits alone, beside
// others, and on any number of threads.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "sampling/fast_exp.h"

namespace ms4 {

namespace {

constexpr int kQueryBlock = 48;  // query patches per task (a multiple of the AVX2 tiles' 6 rows)
constexpr int kKeyTile = 128;    // keys per online-softmax step (a multiple of 16)

struct AttentionTask {
    int image, head, q0;
};

}  // namespace

namespace cpu {

void attnScoresPortable(const float* q, int qStride, int nq, const float* kt, int ktStride, int nk, int headDim,
                        float* s, int sStride) {
    for (int i = 0; i < nq; ++i) {
        float* si = s + static_cast<size_t>(i) * sStride;
        std::fill(si, si + nk, 0.0f);
        for (int d = 0; d < headDim; ++d) {
            const float qd = q[static_cast<size_t>(i) * qStride + d];
            const float* kd = kt + static_cast<size_t>(d) * ktStride;
            for (int j = 0; j < nk; ++j) si[j] += qd * kd[j];
        }
    }
}

void attnAccumulatePortable(const float* p, int pStride, int nq, const float* v, int vStride, int nk, int headDim,
                            float* o, int oStride) {
    for (int i = 0; i < nq; ++i) {
        float* oi = o + static_cast<size_t>(i) * oStride;
        for (int j = 0; j < nk; ++j) {
            const float pj = p[static_cast<size_t>(i) * pStride + j];
            const float* vj = v + static_cast<size_t>(j) * vStride;
            for (int d = 0; d < headDim; ++d) oi[d] += pj * vj[d];
        }
    }
}

}  // namespace cpu

void CpuBackend::visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim,
                                 float scale, const VisionContext& vc, float* out, int outStride) {
    const VisionLayout& l = asCpuVision(vc).layout;
    if (heads < 1 || headDim < 1 || stride < heads * headDim || outStride < heads * headDim) {
        throw std::runtime_error("visionAttention: bad head count, head size or strides");
    }
    if (!(scale > 0)) throw std::runtime_error("visionAttention: the scale must be positive");
    std::vector<AttentionTask> tasks;
    for (int i = 0; i < l.numImages(); ++i) {
        const int n = l.imageStart[i + 1] - l.imageStart[i];
        for (int h = 0; h < heads; ++h) {
            for (int q0 = 0; q0 < n; q0 += kQueryBlock) tasks.push_back({i, h, q0});
        }
    }
    pool_.parallelFor(
        static_cast<int64_t>(tasks.size()),
        [&](int64_t b, int64_t e) {
            thread_local std::vector<float> kt, s, o, m, sum;
            kt.resize(static_cast<size_t>(headDim) * kKeyTile);
            s.resize(static_cast<size_t>(kQueryBlock) * kKeyTile);
            o.resize(static_cast<size_t>(kQueryBlock) * headDim);
            m.resize(kQueryBlock);
            sum.resize(kQueryBlock);
            for (int64_t task = b; task < e; ++task) {
                const AttentionTask& a = tasks[task];
                const int s0 = l.imageStart[a.image], n = l.imageStart[a.image + 1] - s0;
                const int nq = std::min(kQueryBlock, n - a.q0);
                const size_t col = static_cast<size_t>(a.head) * headDim;
                const float* qb = q + static_cast<size_t>(s0 + a.q0) * stride + col;
                std::fill(o.begin(), o.end(), 0.0f);
                std::fill(m.begin(), m.end(), -INFINITY);
                std::fill(sum.begin(), sum.end(), 0.0f);
                for (int k0 = 0; k0 < n; k0 += kKeyTile) {
                    const int nk = std::min(kKeyTile, n - k0), nkPad = (nk + 15) / 16 * 16;
                    // the tile's keys transposed: kt[d, j], zero beyond nk
                    for (int j = 0; j < nkPad; ++j) {
                        if (j < nk) {
                            const float* kj = k + static_cast<size_t>(s0 + k0 + j) * stride + col;
                            for (int d = 0; d < headDim; ++d) kt[static_cast<size_t>(d) * kKeyTile + j] = kj[d];
                        } else {
                            for (int d = 0; d < headDim; ++d) kt[static_cast<size_t>(d) * kKeyTile + j] = 0.0f;
                        }
                    }
                    k_.attnScores(qb, stride, nq, kt.data(), kKeyTile, nkPad, headDim, s.data(), kKeyTile);
                    for (int i = 0; i < nq; ++i) {
                        float* si = s.data() + static_cast<size_t>(i) * kKeyTile;
                        const float tileMax = *std::max_element(si, si + nk);
                        if (tileMax > m[i]) {
                            const float corr = m[i] == -INFINITY ? 0.0f : std::exp((m[i] - tileMax) * scale);
                            float* oi = o.data() + static_cast<size_t>(i) * headDim;
                            for (int d = 0; d < headDim; ++d) oi[d] *= corr;
                            sum[i] *= corr;
                            m[i] = tileMax;
                        }
                        expShifted(si, nk, m[i], scale, si);  // p = e^(scale·(s − max)), every argument ≤ 0
                        float tileSum = 0.0f;
                        for (int j = 0; j < nk; ++j) tileSum += si[j];
                        sum[i] += tileSum;
                    }
                    const float* vb = v + static_cast<size_t>(s0 + k0) * stride + col;
                    k_.attnAccumulate(s.data(), kKeyTile, nq, vb, stride, nk, headDim, o.data(), headDim);
                }
                for (int i = 0; i < nq; ++i) {
                    float* dst = out + static_cast<size_t>(s0 + a.q0 + i) * outStride + col;
                    const float inv = 1.0f / sum[i];
                    for (int d = 0; d < headDim; ++d) dst[d] = o[static_cast<size_t>(i) * headDim + d] * inv;
                }
            }
        },
        1);
}

}  // namespace ms4
