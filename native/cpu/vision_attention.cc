// Bidirectional attention of the vision encoder, inside each image (docs/model.md#encoder): a blocked, online-softmax
// ("flash") form. First every (image, head)'s keys and values are packed tile by tile (keys transposed, kt[d, j],
// zero padded to a multiple of 16 keys; each tile contiguous, so a large image costs no TLB miss per row). Then a
// task is one (image, head, block of kQueryBlock query patches); it walks the image's keys in tiles of
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
    // ---- keys and values per (image, head), tile by tile, each tile contiguous (no TLB miss per row): tile t holds
    // kt[d, j] = k[key 128t + j, d] (zero padded to a multiple of 16 keys) then v[j, d] ----
    const int images = l.numImages();
    const size_t tileFloats = static_cast<size_t>(2) * headDim * kKeyTile;
    std::vector<size_t> base(images + 1, 0);  // first float of image i's heads
    std::vector<int> tiles(images);
    for (int i = 0; i < images; ++i) {
        tiles[i] = (l.imageStart[i + 1] - l.imageStart[i] + kKeyTile - 1) / kKeyTile;
        base[i + 1] = base[i] + static_cast<size_t>(heads) * tiles[i] * tileFloats;
    }
    cpu::AlignedPtr packed = cpu::alignedAlloc(base[images] * sizeof(float), "vision attention keys and values");
    auto tileOf = [&](int image, int head, int tile) {
        return reinterpret_cast<float*>(packed.get()) + base[image] +
               (static_cast<size_t>(head) * tiles[image] + tile) * tileFloats;
    };
    pool_.parallelFor(
        static_cast<int64_t>(images) * heads,
        [&](int64_t b, int64_t e) {
            for (int64_t task = b; task < e; ++task) {
                const int image = static_cast<int>(task / heads), head = static_cast<int>(task % heads);
                const int s0 = l.imageStart[image], n = l.imageStart[image + 1] - s0;
                const size_t col = static_cast<size_t>(head) * headDim;
                for (int t = 0; t < tiles[image]; ++t) {
                    float* kt = tileOf(image, head, t);
                    float* vt = kt + static_cast<size_t>(headDim) * kKeyTile;
                    const int nk = std::min(kKeyTile, n - t * kKeyTile), nkPad = (nk + 15) / 16 * 16;
                    for (int j = 0; j < nkPad; ++j) {
                        const size_t row = static_cast<size_t>(s0 + t * kKeyTile + j) * stride + col;
                        for (int d = 0; d < headDim; ++d) {
                            kt[static_cast<size_t>(d) * kKeyTile + j] = j < nk ? k[row + d] : 0.0f;
                        }
                        if (j < nk) std::copy(v + row, v + row + headDim, vt + static_cast<size_t>(j) * headDim);
                    }
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
            thread_local std::vector<float> qb, s, o, m, sum;
            qb.resize(static_cast<size_t>(kQueryBlock) * headDim);
            s.resize(static_cast<size_t>(kQueryBlock) * kKeyTile);
            o.resize(static_cast<size_t>(kQueryBlock) * headDim);
            m.resize(kQueryBlock);
            sum.resize(kQueryBlock);
            for (int64_t task = b; task < e; ++task) {
                const AttentionTask& a = tasks[task];
                const int s0 = l.imageStart[a.image], n = l.imageStart[a.image + 1] - s0;
                const int nq = std::min(kQueryBlock, n - a.q0);
                const size_t col = static_cast<size_t>(a.head) * headDim;
                for (int i = 0; i < nq; ++i) {  // the block's queries, contiguous
                    const float* qi = q + static_cast<size_t>(s0 + a.q0 + i) * stride + col;
                    std::copy(qi, qi + headDim, qb.data() + static_cast<size_t>(i) * headDim);
                }
                std::fill(o.begin(), o.end(), 0.0f);
                std::fill(m.begin(), m.end(), -INFINITY);
                std::fill(sum.begin(), sum.end(), 0.0f);
                for (int t = 0; t < tiles[a.image]; ++t) {
                    const int nk = std::min(kKeyTile, n - t * kKeyTile), nkPad = (nk + 15) / 16 * 16;
                    const float* kt = tileOf(a.image, a.head, t);
                    const float* vt = kt + static_cast<size_t>(headDim) * kKeyTile;
                    k_.attnScores(qb.data(), headDim, nq, kt, kKeyTile, nkPad, headDim, s.data(), kKeyTile);
                    k_.attnSoftmax(s.data(), kKeyTile, nq, nk, scale, m.data(), sum.data(), o.data(), headDim, headDim);
                    k_.attnAccumulate(s.data(), kKeyTile, nq, vt, headDim, nk, headDim, o.data(), headDim);
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
