// Bidirectional attention of the vision encoder, inside each image (docs/model.md#encoder): a blocked, online-softmax
// ("flash") form. First every (image, head)'s keys are packed transposed, kt[d, j], zero padded to a multiple of 16
// keys. Then a task is one (image, head, block of kQueryBlock query patches); it walks the image's keys in tiles of
// kKeyTile: the score tile S = Q·Kᵀ, the online-softmax step (running max and sum per query, the output rescaled
// when the max grows) and the output update O += P·V run through the kernel table's tiles (CpuKernels::attnScores,
// attnSoftmax, attnAccumulate: register-blocked and vectorised on avx2). Every output depends only on its own
// image's patches, tiled from the image's first patch, so an image gets the same bits alone, beside others, and on
// any number of threads.
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

void attnSoftmaxPortable(float* s, int sStride, int nq, int nk, float scale, float* m, float* l, float* o, int oStride,
                         int headDim) {
    for (int i = 0; i < nq; ++i) {
        float* si = s + static_cast<size_t>(i) * sStride;
        const float tileMax = *std::max_element(si, si + nk);
        if (tileMax > m[i]) {
            const float corr = m[i] == -INFINITY ? 0.0f : std::exp((m[i] - tileMax) * scale);
            float* oi = o + static_cast<size_t>(i) * oStride;
            for (int d = 0; d < headDim; ++d) oi[d] *= corr;
            l[i] *= corr;
            m[i] = tileMax;
        }
        expShifted(si, nk, m[i], scale, si);  // every argument ≤ 0
        float sum = 0.0f;
        for (int j = 0; j < nk; ++j) sum += si[j];
        l[i] += sum;
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
    // ---- keys transposed per (image, head): kt[d, j], j padded to a multiple of 16 ----
    const int images = l.numImages();
    std::vector<size_t> ktOffset(images + 1, 0);
    std::vector<int> padded(images);
    for (int i = 0; i < images; ++i) {
        padded[i] = (l.imageStart[i + 1] - l.imageStart[i] + 15) / 16 * 16;
        ktOffset[i + 1] = ktOffset[i] + static_cast<size_t>(heads) * headDim * padded[i];
    }
    cpu::AlignedPtr ktBuffer = cpu::alignedAlloc(ktOffset[images] * sizeof(float), "vision attention keys");
    float* kt = reinterpret_cast<float*>(ktBuffer.get());
    auto keysOf = [&](int image, int head) {
        return kt + ktOffset[image] + static_cast<size_t>(head) * headDim * padded[image];
    };
    pool_.parallelFor(
        static_cast<int64_t>(images) * heads,
        [&](int64_t b, int64_t e) {
            for (int64_t task = b; task < e; ++task) {
                const int image = static_cast<int>(task / heads), head = static_cast<int>(task % heads);
                const int s0 = l.imageStart[image], n = l.imageStart[image + 1] - s0, np = padded[image];
                float* dst = keysOf(image, head);
                for (int j = 0; j < np; ++j) {
                    const float* kj = k + static_cast<size_t>(s0 + j) * stride + static_cast<size_t>(head) * headDim;
                    for (int d = 0; d < headDim; ++d) dst[static_cast<size_t>(d) * np + j] = j < n ? kj[d] : 0.0f;
                }
            }
        },
        1);
    // ---- query blocks ----
    std::vector<AttentionTask> tasks;
    for (int i = 0; i < images; ++i) {
        const int n = l.imageStart[i + 1] - l.imageStart[i];
        for (int h = 0; h < heads; ++h) {
            for (int q0 = 0; q0 < n; q0 += kQueryBlock) tasks.push_back({i, h, q0});
        }
    }
    pool_.parallelFor(
        static_cast<int64_t>(tasks.size()),
        [&](int64_t b, int64_t e) {
            thread_local std::vector<float> s, o, m, sum;
            s.resize(static_cast<size_t>(kQueryBlock) * kKeyTile);
            o.resize(static_cast<size_t>(kQueryBlock) * headDim);
            m.resize(kQueryBlock);
            sum.resize(kQueryBlock);
            for (int64_t task = b; task < e; ++task) {
                const AttentionTask& a = tasks[task];
                const int s0 = l.imageStart[a.image], n = l.imageStart[a.image + 1] - s0, np = padded[a.image];
                const int nq = std::min(kQueryBlock, n - a.q0);
                const size_t col = static_cast<size_t>(a.head) * headDim;
                const float* qb = q + static_cast<size_t>(s0 + a.q0) * stride + col;
                const float* keys = keysOf(a.image, a.head);
                std::fill(o.begin(), o.end(), 0.0f);
                std::fill(m.begin(), m.end(), -INFINITY);
                std::fill(sum.begin(), sum.end(), 0.0f);
                for (int k0 = 0; k0 < n; k0 += kKeyTile) {
                    const int nk = std::min(kKeyTile, n - k0), nkPad = std::min(kKeyTile, np - k0);
                    k_.attnScores(qb, stride, nq, keys + k0, np, nkPad, headDim, s.data(), kKeyTile);
                    k_.attnSoftmax(s.data(), kKeyTile, nq, nk, scale, m.data(), sum.data(), o.data(), headDim, headDim);
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
