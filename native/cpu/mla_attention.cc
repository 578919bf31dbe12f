// MLA attention over the paged latent cache (docs/model.md#mla-attention): the absorbed (decode) form with its
// query/output projections, and the expanded (prefill) form. Softmax is online (running max and sum, rescaled once per
// tile of entries); dot products and the running sums are fp32. The absorbed form splits each token's context into
// fixed partitions (batch invariant, see mlaAttentionAbsorbed); on the avx2 path each partition runs the
// head-folded kernel of cpu/mla_avx2.cc.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/input_checks.h"
#include "cpu/cpu_backend.h"
#include "cpu/mla_kernels.h"

namespace ms4 {

namespace {

constexpr int kTile = 64;          // cache entries per online-softmax step
constexpr int kTokensPerTask = 8;  // tokens per task of the absorb projections

// Checks the step against the cache and the dims (backend/input_checks.h), so the kernels can index without checks.
const cpu::CpuStepContext& checkStep(const cpu::CpuKvCache& cache, int layer, const StepContext& step, const MlaDims& d,
                                     const char* op) {
    const cpu::CpuStepContext& ctx = asCpuStep(step);
    checkStepAgainstCache(ctx.in, cache.shape, layer, d, op);
    return ctx;
}

// Reads cache entries of one sequence in either dtype through the active kernels.
struct EntryReader {
    const cpu::CpuKvCache& cache;
    const cpu::CpuKernels& k;
    const StepInputs& b;
    int layer;
    bool bf16;

    const uint8_t* entry(int seq, int j) const {
        const int bs = cache.shape.blockSize;
        const int blk = b.blockTables[static_cast<size_t>(seq) * b.maxBlocksPerSeq + j / bs];
        return cache.slotPtr(layer, static_cast<int64_t>(blk) * bs + j % bs);
    }
    // a · entry[off, off + n)
    float dot(const float* a, const uint8_t* e, int off, int n) const {
        return bf16 ? k.dotBf16(a, reinterpret_cast<const uint16_t*>(e) + off, n)
                    : k.dot(a, reinterpret_cast<const float*>(e) + off, n);
    }
    // y += p · entry[0, n)
    void axpy(float* y, float p, const uint8_t* e, int n) const {
        if (bf16) {
            k.axpyBf16(y, p, reinterpret_cast<const uint16_t*>(e), n);
        } else {
            k.axpy(y, p, reinterpret_cast<const float*>(e), n);
        }
    }
};

// Online-softmax state of one (token, head): running max m, sum l, and the unnormalised output acc[n].
// Folds a tile of scores in; returns the weights p[j] to accumulate with (acc already rescaled).
inline void onlineSoftmaxTile(float* scores, int count, float& m, float& l, float* acc, int n) {
    float tileMax = -INFINITY;
    for (int j = 0; j < count; ++j) tileMax = std::max(tileMax, scores[j]);
    if (tileMax > m) {
        const float corr = std::exp(m - tileMax);  // 0 on the first tile (m = -inf)
        for (int i = 0; i < n; ++i) acc[i] *= corr;
        l *= corr;
        m = tileMax;
    }
    for (int j = 0; j < count; ++j) {
        scores[j] = std::exp(scores[j] - m);
        l += scores[j];
    }
}

}  // namespace

void CpuBackend::mlaAbsorbQuery(const float* q, int qTokenStride, const MlaUpWeights& up, int T, float* qLat) {
    const float* wkvb = asCpuMlaUp(up).values();
    const MlaDims& d = up.dims;
    const int H = d.heads, L = d.latent, qk = d.nope + d.rope, rowsPerHead = d.nope + d.v;
    const int tokenBlocks = (T + kTokensPerTask - 1) / kTokensPerTask;
    pool_.parallelFor(
        static_cast<int64_t>(H) * tokenBlocks,
        [&](int64_t b, int64_t e) {
            for (int64_t task = b; task < e; ++task) {
                const int h = static_cast<int>(task % H), t0 = static_cast<int>(task / H) * kTokensPerTask;
                const float* wuk = wkvb + static_cast<size_t>(h) * rowsPerHead * L;  // [nope, L]
                for (int t = t0; t < std::min(T, t0 + kTokensPerTask); ++t) {
                    const float* qn = q + static_cast<size_t>(t) * qTokenStride + static_cast<size_t>(h) * qk;
                    float* out = qLat + (static_cast<size_t>(t) * H + h) * L;
                    std::fill(out, out + L, 0.0f);
                    for (int i = 0; i < d.nope; ++i) k_.axpy(out, qn[i], wuk + static_cast<size_t>(i) * L, L);
                }
            }
        },
        1);
}

void CpuBackend::mlaAbsorbOutput(const float* oLat, const MlaUpWeights& up, int T, float* out) {
    const float* wkvb = asCpuMlaUp(up).values();
    const MlaDims& d = up.dims;
    const int H = d.heads, L = d.latent, rowsPerHead = d.nope + d.v;
    const int tokenBlocks = (T + kTokensPerTask - 1) / kTokensPerTask;
    pool_.parallelFor(
        static_cast<int64_t>(H) * tokenBlocks,
        [&](int64_t b, int64_t e) {
            for (int64_t task = b; task < e; ++task) {
                const int h = static_cast<int>(task % H), t0 = static_cast<int>(task / H) * kTokensPerTask;
                const float* wuv = wkvb + (static_cast<size_t>(h) * rowsPerHead + d.nope) * L;  // [v, L]
                for (int t = t0; t < std::min(T, t0 + kTokensPerTask); ++t) {
                    const float* ol = oLat + (static_cast<size_t>(t) * H + h) * L;
                    float* o = out + (static_cast<size_t>(t) * H + h) * d.v;
                    for (int vi = 0; vi < d.v; ++vi) o[vi] = k_.dot(wuv + static_cast<size_t>(vi) * L, ol, L);
                }
            }
        },
        1);
}

// Decode attention, batch invariant by construction: token t's visible entries are cut into partitions of
// kPartition entries (a function of its own context length only); each (token, partition) is one task, run by
// whichever thread, producing its own running max / sum / unnormalised output for all heads; then each token
// combines its partitions in index order. So a token's result depends neither on the batch nor on the threads,
// and one long sequence still keeps every thread busy. The partition kernel is the AVX2 head-folded one on the
// avx2 path (cpu/mla_avx2.cc), else the portable per-head one below.
namespace {

constexpr int kPartition = 256;    // cache entries per partition (a multiple of kTile)
constexpr int kMaxPartials = 256;  // partitions whose partial states are held at once (bounds the scratch)

inline int roundUp8(int x) { return (x + 7) / 8 * 8; }

// The portable partition kernel: per head, tiles of kTile entries through the path's dot / axpy kernels.
void partitionPortable(const cpu::MlaPartArgs& a, const cpu::CpuKernels& k) {
    const size_t bytesPerValue = a.bf16 ? 2 : 4, width = static_cast<size_t>(a.L + a.R);
    float scores[kTile];
    const uint8_t* entries[kTile];
    for (int h = 0; h < a.H; ++h) {
        const float* ql = a.qLat + static_cast<size_t>(h) * a.L;
        const float* qp = a.qPe + static_cast<size_t>(h) * a.qPeStride;
        float* acc = a.o + static_cast<size_t>(h) * a.Lpad;
        std::fill(acc, acc + a.L, 0.0f);
        float m = -INFINITY, l = 0.0f;
        for (int j0 = a.j0; j0 < a.j1; j0 += kTile) {
            const int count = std::min(kTile, a.j1 - j0);
            for (int j = 0; j < count; ++j) {
                const int idx = j0 + j;
                const int64_t slot =
                    static_cast<int64_t>(a.blocks[idx / a.blockSize]) * a.blockSize + idx % a.blockSize;
                const uint8_t* e = a.layer + static_cast<size_t>(slot) * width * bytesPerValue;
                entries[j] = e;
                const float dl = a.bf16 ? k.dotBf16(ql, reinterpret_cast<const uint16_t*>(e), a.L)
                                        : k.dot(ql, reinterpret_cast<const float*>(e), a.L);
                const float dr = a.bf16 ? k.dotBf16(qp, reinterpret_cast<const uint16_t*>(e) + a.L, a.R)
                                        : k.dot(qp, reinterpret_cast<const float*>(e) + a.L, a.R);
                scores[j] = (dl + dr) * a.scale;
            }
            onlineSoftmaxTile(scores, count, m, l, acc, a.L);
            for (int j = 0; j < count; ++j) {
                if (a.bf16) {
                    k.axpyBf16(acc, scores[j], reinterpret_cast<const uint16_t*>(entries[j]), a.L);
                } else {
                    k.axpy(acc, scores[j], reinterpret_cast<const float*>(entries[j]), a.L);
                }
            }
        }
        a.m[h] = m;
        a.l[h] = l;
    }
}

}  // namespace

void CpuBackend::mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& kv, int layer,
                                      const StepContext& step, const MlaDims& d, float* oLat) {
    const cpu::CpuKvCache& cache = asCpuKvCache(kv);
    const cpu::CpuStepContext& ctx = checkStep(cache, layer, step, d, "mlaAttentionAbsorbed");
    const StepInputs& batch = ctx.in;
    const std::vector<int>& seqOf = ctx.seqOf;
    const std::vector<int>& visible = ctx.visible;
    const int H = d.heads, L = d.latent, R = d.rope, qk = d.nope + d.rope, T = batch.numTokens;
    const int Hpad = roundUp8(H), Lpad = roundUp8(L);
    const size_t partialFloats = static_cast<size_t>(Hpad) * Lpad + 2 * static_cast<size_t>(Hpad);
    // Every vector path (avx2, avx512, avx512-emulated) runs on a CPU with AVX2+FMA+F16C: all take the head-folded
    // AVX2 partition kernel.
    const cpu::MlaPartitionFn avx2 = std::string(k_.name) != "portable" ? cpu::mlaPartitionAvx2() : nullptr;
    const bool bf16 = cache.shape.dtype == KvDtype::BF16;
    const uint8_t* layerBase = cache.slotPtr(layer, 0);
    auto parts = [&](int t) { return (visible[t] + kPartition - 1) / kPartition; };
    std::vector<float> partials;
    std::vector<int> taskToken, firstTask;
    for (int t0 = 0; t0 < T;) {
        // A group of tokens [t0, t1) holding at most kMaxPartials partitions (at least one token).
        int t1 = t0, total = 0;
        firstTask.clear();
        taskToken.clear();
        while (t1 < T && (t1 == t0 || total + parts(t1) <= kMaxPartials)) {
            firstTask.push_back(total);
            for (int p = 0; p < parts(t1); ++p) taskToken.push_back(t1);
            total += parts(t1);
            ++t1;
        }
        firstTask.push_back(total);
        if (partials.size() < static_cast<size_t>(total) * partialFloats) {
            partials.assign(static_cast<size_t>(total) * partialFloats, 0.0f);
        }
        pool_.parallelFor(
            total,
            [&](int64_t b, int64_t e) {
                for (int64_t task = b; task < e; ++task) {
                    const int t = taskToken[task], p = static_cast<int>(task - firstTask[t - t0]);
                    float* part = partials.data() + static_cast<size_t>(task) * partialFloats;
                    cpu::MlaPartArgs a;
                    a.qLat = qLat + static_cast<size_t>(t) * H * L;
                    a.qPe = q + static_cast<size_t>(t) * qTokenStride + d.nope;
                    a.qPeStride = qk;
                    a.layer = layerBase;
                    a.blocks = batch.blockTables + static_cast<size_t>(seqOf[t]) * batch.maxBlocksPerSeq;
                    a.blockSize = cache.shape.blockSize;
                    a.bf16 = bf16;
                    a.H = H;
                    a.L = L;
                    a.R = R;
                    a.Hpad = Hpad;
                    a.Lpad = Lpad;
                    a.scale = d.scale;
                    a.j0 = p * kPartition;
                    a.j1 = std::min(visible[t], a.j0 + kPartition);
                    a.m = part;
                    a.l = part + Hpad;
                    a.o = part + 2 * Hpad;
                    if (avx2 != nullptr) {
                        avx2(a);
                    } else {
                        partitionPortable(a, k_);
                    }
                }
            },
            1);
        // Combine each token's partitions in index order: o = Σ_p e^(m_p - M) o_p / Σ_p e^(m_p - M) l_p.
        pool_.parallelFor(
            t1 - t0,
            [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) {
                    const int t = t0 + static_cast<int>(i), p0 = firstTask[i], np = firstTask[i + 1] - p0;
                    for (int h = 0; h < H; ++h) {
                        float* out = oLat + (static_cast<size_t>(t) * H + h) * L;
                        std::fill(out, out + L, 0.0f);
                        if (np == 0) continue;
                        float M = -INFINITY;
                        for (int p = 0; p < np; ++p) {
                            M = std::max(M, partials[static_cast<size_t>(p0 + p) * partialFloats + h]);
                        }
                        float sum = 0.0f;
                        for (int p = 0; p < np; ++p) {
                            const float* part = partials.data() + static_cast<size_t>(p0 + p) * partialFloats;
                            const float w = np == 1 ? 1.0f : std::exp(part[h] - M);
                            sum += w * part[Hpad + h];
                            k_.axpy(out, w, part + 2 * Hpad + static_cast<size_t>(h) * Lpad, L);
                        }
                        const float inv = 1.0f / sum;
                        for (int x = 0; x < L; ++x) out[x] *= inv;
                    }
                }
            },
            1);
        t0 = t1;
    }
}

// Threads over (sequence, head). Each task expands K_nope = W_UK[h]·c and V = W_UV[h]·c for kTile visible
// entries at a time, once, and folds that tile into the online softmax of every token of the sequence that
// sees it.
void CpuBackend::mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& kv, int layer,
                                      const StepContext& step, const MlaUpWeights& up, float* out) {
    const cpu::CpuKvCache& cache = asCpuKvCache(kv);
    const MlaDims& d = up.dims;
    const float* wkvb = asCpuMlaUp(up).values();
    const StepInputs& batch = checkStep(cache, layer, step, d, "mlaAttentionExpanded").in;
    const EntryReader rd{cache, k_, batch, layer, cache.shape.dtype == KvDtype::BF16};
    const int H = d.heads, L = d.latent, R = d.rope, V = d.v, nope = d.nope, qk = nope + d.rope;
    const int rowsPerHead = nope + V;
    pool_.parallelFor(
        static_cast<int64_t>(batch.numSeqs) * H,
        [&](int64_t b, int64_t e) {
            std::vector<float> kn(static_cast<size_t>(kTile) * nope), vv(static_cast<size_t>(kTile) * V);
            std::vector<float> m, l, acc;
            float scores[kTile];
            const uint8_t* entries[kTile];
            for (int64_t task = b; task < e; ++task) {
                const int s = static_cast<int>(task / H), h = static_cast<int>(task % H);
                const int begin = batch.seqStarts[s], ns = batch.seqStarts[s + 1] - begin;
                if (ns == 0) continue;
                const int ctx = batch.contextLens[s];
                const float* wuk = wkvb + static_cast<size_t>(h) * rowsPerHead * L;  // [nope, L]
                const float* wuv = wuk + static_cast<size_t>(nope) * L;              // [v, L]
                m.assign(ns, -INFINITY);
                l.assign(ns, 0.0f);
                acc.assign(static_cast<size_t>(ns) * V, 0.0f);
                for (int j0 = 0; j0 < ctx; j0 += kTile) {
                    const int count = std::min(kTile, ctx - j0);
                    for (int j = 0; j < count; ++j) {
                        entries[j] = rd.entry(s, j0 + j);
                        for (int i = 0; i < nope; ++i) {
                            kn[static_cast<size_t>(j) * nope + i] =
                                rd.dot(wuk + static_cast<size_t>(i) * L, entries[j], 0, L);
                        }
                        for (int i = 0; i < V; ++i) {
                            vv[static_cast<size_t>(j) * V + i] =
                                rd.dot(wuv + static_cast<size_t>(i) * L, entries[j], 0, L);
                        }
                    }
                    for (int k = 0; k < ns; ++k) {
                        const int vis = ctx - ns + k + 1;
                        if (vis <= j0) continue;
                        const int upto = std::min(count, vis - j0);
                        const float* qh =
                            q + static_cast<size_t>(begin + k) * qTokenStride + static_cast<size_t>(h) * qk;
                        for (int j = 0; j < upto; ++j) {
                            scores[j] = (k_.dot(qh, kn.data() + static_cast<size_t>(j) * nope, nope) +
                                         rd.dot(qh + nope, entries[j], L, R)) *
                                        d.scale;
                        }
                        float* a = acc.data() + static_cast<size_t>(k) * V;
                        onlineSoftmaxTile(scores, upto, m[k], l[k], a, V);
                        for (int j = 0; j < upto; ++j) k_.axpy(a, scores[j], vv.data() + static_cast<size_t>(j) * V, V);
                    }
                }
                for (int k = 0; k < ns; ++k) {
                    float* o = out + (static_cast<size_t>(begin + k) * H + h) * V;
                    const float inv = 1.0f / l[k];
                    for (int i = 0; i < V; ++i) o[i] = acc[static_cast<size_t>(k) * V + i] * inv;
                }
            }
        },
        1);
}

}  // namespace ms4
