// MLA attention over the paged latent cache (MODEL-SPEC §2): the absorbed (decode) form with its query/output
// projections, and the expanded (prefill) form. Softmax is online (running max and sum, rescaled once per tile
// of kTile entries); dot products and the running sums are fp32.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"

namespace ms4 {

namespace {

constexpr int kTile = 64;          // cache entries per online-softmax step
constexpr int kTokensPerTask = 8;  // tokens per task of the absorb projections

// Checks the batch against the cache so the kernels can index without checks; fills seqOf / visible per token.
void prepareBatch(const cpu::CpuKvCache& cache, int layer, const AttentionBatch& b, const MlaDims& d, const char* op,
                  std::vector<int>& seqOf, std::vector<int>& visible) {
    const KvCacheShape& s = cache.shape;
    auto fail = [&](const std::string& why) { throw std::runtime_error(std::string(op) + ": " + why); };
    if (layer < 0 || layer >= s.layers) fail("layer " + std::to_string(layer) + " is outside the cache");
    if (d.latent != s.latent || d.rope != s.rope) {
        fail("MLA dims (latent " + std::to_string(d.latent) + ", rope " + std::to_string(d.rope) +
             ") do not match the cache (" + std::to_string(s.latent) + ", " + std::to_string(s.rope) + ")");
    }
    if (b.numTokens < 0 || b.numSeqs < 0) fail("negative token or sequence count");
    if (b.numSeqs > 0 && (b.seqStarts[0] != 0 || b.seqStarts[b.numSeqs] != b.numTokens)) {
        fail("seqStarts must run from 0 to numTokens");
    }
    seqOf.assign(b.numTokens, 0);
    visible.assign(b.numTokens, 0);
    for (int q = 0; q < b.numSeqs; ++q) {
        const int begin = b.seqStarts[q], end = b.seqStarts[q + 1], n = end - begin, ctx = b.contextLens[q];
        if (n < 0) fail("seqStarts is not non-decreasing");
        if (n == 0) continue;
        if (ctx < n) fail("sequence " + std::to_string(q) + " has more new tokens than cache entries");
        const int blocks = (ctx + s.blockSize - 1) / s.blockSize;
        if (blocks > b.maxBlocksPerSeq)
            fail("sequence " + std::to_string(q) + " needs more blocks than maxBlocksPerSeq");
        for (int i = 0; i < blocks; ++i) {
            const int blk = b.blockTables[static_cast<size_t>(q) * b.maxBlocksPerSeq + i];
            if (blk < 0 || blk >= s.numBlocks) {
                fail("sequence " + std::to_string(q) + " block " + std::to_string(i) + " = " + std::to_string(blk) +
                     " is outside the pool");
            }
        }
        for (int k = 0; k < n; ++k) {
            seqOf[begin + k] = q;
            visible[begin + k] = ctx - n + k + 1;
        }
    }
}

// Reads cache entries of one sequence in either dtype through the active kernels.
struct EntryReader {
    const cpu::CpuKvCache& cache;
    const cpu::CpuKernels& k;
    const AttentionBatch& b;
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

void CpuBackend::mlaAbsorbQuery(const float* q, int qTokenStride, const float* wkvb, const MlaDims& d, int T,
                                float* qLat) {
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

void CpuBackend::mlaAbsorbOutput(const float* oLat, const float* wkvb, const MlaDims& d, int T, float* out) {
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

// Threads over (token, head); each walks its sequence's visible entries through the block table.
void CpuBackend::mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& kv, int layer,
                                      const AttentionBatch& batch, const MlaDims& d, float* oLat) {
    const cpu::CpuKvCache& cache = asCpuKvCache(kv);
    std::vector<int> seqOf, visible;
    prepareBatch(cache, layer, batch, d, "mlaAttentionAbsorbed", seqOf, visible);
    const EntryReader rd{cache, k_, batch, layer, cache.shape.dtype == KvDtype::BF16};
    const int H = d.heads, L = d.latent, R = d.rope, qk = d.nope + d.rope;
    pool_.parallelFor(
        static_cast<int64_t>(batch.numTokens) * H,
        [&](int64_t b, int64_t e) {
            std::vector<float> acc(L);
            float scores[kTile];
            const uint8_t* entries[kTile];
            for (int64_t task = b; task < e; ++task) {
                const int t = static_cast<int>(task / H), h = static_cast<int>(task % H);
                const int n = visible[t], seq = seqOf[t];
                const float* ql = qLat + (static_cast<size_t>(t) * H + h) * L;
                const float* qp = q + static_cast<size_t>(t) * qTokenStride + static_cast<size_t>(h) * qk + d.nope;
                std::fill(acc.begin(), acc.end(), 0.0f);
                float m = -INFINITY, l = 0.0f;
                for (int j0 = 0; j0 < n; j0 += kTile) {
                    const int count = std::min(kTile, n - j0);
                    for (int j = 0; j < count; ++j) {
                        entries[j] = rd.entry(seq, j0 + j);
                        scores[j] = (rd.dot(ql, entries[j], 0, L) + rd.dot(qp, entries[j], L, R)) * d.scale;
                    }
                    onlineSoftmaxTile(scores, count, m, l, acc.data(), L);
                    for (int j = 0; j < count; ++j) rd.axpy(acc.data(), scores[j], entries[j], L);
                }
                float* out = oLat + (static_cast<size_t>(t) * H + h) * L;
                const float inv = n > 0 ? 1.0f / l : 0.0f;
                for (int i = 0; i < L; ++i) out[i] = acc[i] * inv;
            }
        },
        1);
}

// Threads over (sequence, head). Each task expands K_nope = W_UK[h]·c and V = W_UV[h]·c for kTile visible
// entries at a time, once, and folds that tile into the online softmax of every token of the sequence that
// sees it.
void CpuBackend::mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& kv, int layer,
                                      const AttentionBatch& batch, const float* wkvb, const MlaDims& d, float* out) {
    const cpu::CpuKvCache& cache = asCpuKvCache(kv);
    std::vector<int> seqOf, visible;
    prepareBatch(cache, layer, batch, d, "mlaAttentionExpanded", seqOf, visible);
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
