// Reference paged latent cache and MLA attention, in both the absorbed (decode) and expanded (prefill) forms
// of docs/model.md#absorbed-and-expanded-forms.
#include <cmath>
#include <vector>

#include "ref/ref_ops.h"

namespace ms4::ref {

RefKvCache::RefKvCache(const KvCacheShape& s)
    : shape(s), data(static_cast<size_t>(s.layers) * s.numBlocks * s.blockSize * s.width(), 0.0f) {}

float* RefKvCache::slot(int layer, int64_t slot) {
    return data.data() + (static_cast<size_t>(layer) * shape.numBlocks * shape.blockSize + slot) * shape.width();
}
const float* RefKvCache::slot(int layer, int64_t slot) const {
    return data.data() + (static_cast<size_t>(layer) * shape.numBlocks * shape.blockSize + slot) * shape.width();
}

void kvWrite(RefKvCache& cache, int layer, const float* latent, int latentStride, const float* kpe, int kpeStride,
             const int32_t* slotMapping, int T) {
    const int L = cache.shape.latent, R = cache.shape.rope;
    for (int t = 0; t < T; ++t) {
        if (slotMapping[t] < 0) continue;
        float* dst = cache.slot(layer, slotMapping[t]);
        for (int i = 0; i < L; ++i) dst[i] = latent[static_cast<size_t>(t) * latentStride + i];
        for (int i = 0; i < R; ++i) dst[L + i] = kpe[static_cast<size_t>(t) * kpeStride + i];
    }
}

void visibleEntries(const StepInputs& b, std::vector<int>& seqOfToken, std::vector<int>& visible) {
    seqOfToken.assign(b.numTokens, 0);
    visible.assign(b.numTokens, 0);
    for (int s = 0; s < b.numSeqs; ++s) {
        const int begin = b.seqStarts[s], end = b.seqStarts[s + 1];
        const int n = end - begin;
        for (int k = 0; k < n; ++k) {
            seqOfToken[begin + k] = s;
            visible[begin + k] = b.contextLens[s] - n + k + 1;
        }
    }
}

int64_t slotOf(const StepInputs& b, int blockSize, int s, int j) {
    const int block = b.blockTables[static_cast<size_t>(s) * b.maxBlocksPerSeq + j / blockSize];
    return static_cast<int64_t>(block) * blockSize + j % blockSize;
}

void mlaAbsorbQuery(const float* q, int qTokenStride, const float* wkvb, const MlaDims& d, int T, float* qLat) {
    const int qk = d.nope + d.rope, rowsPerHead = d.nope + d.v;
    for (int t = 0; t < T; ++t) {
        for (int h = 0; h < d.heads; ++h) {
            const float* qn = q + static_cast<size_t>(t) * qTokenStride + static_cast<size_t>(h) * qk;
            for (int l = 0; l < d.latent; ++l) {
                double acc = 0;
                for (int i = 0; i < d.nope; ++i) {
                    acc += static_cast<double>(qn[i]) * wkvb[(static_cast<size_t>(h) * rowsPerHead + i) * d.latent + l];
                }
                qLat[(static_cast<size_t>(t) * d.heads + h) * d.latent + l] = static_cast<float>(acc);
            }
        }
    }
}

void mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const RefKvCache& cache, int layer,
                          const StepInputs& batch, const MlaDims& d, float* oLat) {
    std::vector<int> seqOf, visible;
    visibleEntries(batch, seqOf, visible);
    const int qk = d.nope + d.rope, L = d.latent;
    std::vector<double> scores;
    for (int t = 0; t < batch.numTokens; ++t) {
        const int n = visible[t];
        scores.assign(n, 0);
        for (int h = 0; h < d.heads; ++h) {
            const float* ql = qLat + (static_cast<size_t>(t) * d.heads + h) * L;
            const float* qp = q + static_cast<size_t>(t) * qTokenStride + static_cast<size_t>(h) * qk + d.nope;
            double maxScore = -INFINITY;
            for (int j = 0; j < n; ++j) {
                const float* e = cache.slot(layer, slotOf(batch, cache.shape.blockSize, seqOf[t], j));
                double acc = 0;
                for (int i = 0; i < L; ++i) acc += static_cast<double>(ql[i]) * e[i];
                for (int i = 0; i < d.rope; ++i) acc += static_cast<double>(qp[i]) * e[L + i];
                scores[j] = acc * d.scale;
                maxScore = std::max(maxScore, scores[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; ++j) sum += (scores[j] = std::exp(scores[j] - maxScore));
            float* out = oLat + (static_cast<size_t>(t) * d.heads + h) * L;
            for (int i = 0; i < L; ++i) {
                double acc = 0;
                for (int j = 0; j < n; ++j) {
                    acc += scores[j] * cache.slot(layer, slotOf(batch, cache.shape.blockSize, seqOf[t], j))[i];
                }
                out[i] = static_cast<float>(acc / sum);
            }
        }
    }
}

void mlaAbsorbOutput(const float* oLat, const float* wkvb, const MlaDims& d, int T, float* out) {
    const int rowsPerHead = d.nope + d.v;
    for (int t = 0; t < T; ++t) {
        for (int h = 0; h < d.heads; ++h) {
            const float* ol = oLat + (static_cast<size_t>(t) * d.heads + h) * d.latent;
            for (int v = 0; v < d.v; ++v) {
                const float* w = wkvb + (static_cast<size_t>(h) * rowsPerHead + d.nope + v) * d.latent;
                double acc = 0;
                for (int l = 0; l < d.latent; ++l) acc += static_cast<double>(w[l]) * ol[l];
                out[(static_cast<size_t>(t) * d.heads + h) * d.v + v] = static_cast<float>(acc);
            }
        }
    }
}

void mlaAttentionExpanded(const float* q, int qTokenStride, const RefKvCache& cache, int layer, const StepInputs& batch,
                          const float* wkvb, const MlaDims& d, float* out) {
    std::vector<int> seqOf, visible;
    visibleEntries(batch, seqOf, visible);
    const int qk = d.nope + d.rope, L = d.latent, rowsPerHead = d.nope + d.v;
    std::vector<double> scores, k(d.nope), v(static_cast<size_t>(d.v));
    for (int t = 0; t < batch.numTokens; ++t) {
        const int n = visible[t];
        for (int h = 0; h < d.heads; ++h) {
            const float* qh = q + static_cast<size_t>(t) * qTokenStride + static_cast<size_t>(h) * qk;
            scores.assign(n, 0);
            double maxScore = -INFINITY;
            for (int j = 0; j < n; ++j) {
                const float* e = cache.slot(layer, slotOf(batch, cache.shape.blockSize, seqOf[t], j));
                double acc = 0;
                for (int i = 0; i < d.nope; ++i) {  // k_nope = W_UK[h] · c_kv
                    const float* w = wkvb + (static_cast<size_t>(h) * rowsPerHead + i) * L;
                    double kn = 0;
                    for (int l = 0; l < L; ++l) kn += static_cast<double>(w[l]) * e[l];
                    acc += qh[i] * kn;
                }
                for (int i = 0; i < d.rope; ++i) acc += static_cast<double>(qh[d.nope + i]) * e[L + i];
                scores[j] = acc * d.scale;
                maxScore = std::max(maxScore, scores[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; ++j) sum += (scores[j] = std::exp(scores[j] - maxScore));
            std::vector<double> o(d.v, 0.0);
            for (int j = 0; j < n; ++j) {
                const float* e = cache.slot(layer, slotOf(batch, cache.shape.blockSize, seqOf[t], j));
                for (int vi = 0; vi < d.v; ++vi) {  // v = W_UV[h] · c_kv
                    const float* w = wkvb + (static_cast<size_t>(h) * rowsPerHead + d.nope + vi) * L;
                    double vv = 0;
                    for (int l = 0; l < L; ++l) vv += static_cast<double>(w[l]) * e[l];
                    o[vi] += scores[j] * vv;
                }
            }
            for (int vi = 0; vi < d.v; ++vi) {
                out[(static_cast<size_t>(t) * d.heads + h) * d.v + vi] = static_cast<float>(o[vi] / sum);
            }
        }
    }
}

}  // namespace ms4::ref
