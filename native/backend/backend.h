// The seam between the model and the hardware (ggml's idea, not its size): weight preparation, memory, and
// one method per fused op the Mistral Small 4 forward needs. The model (model/mistral4.cc) is written once
// against this interface; cpu/ implements it now, cuda/ later. Every op has a plain reference in ref/ that
// defines what it means; backends are tested against it (napi/op_checks.cc).
//
// Conventions: activations are float32, row-major, in the backend's memory space; `T` tokens, `H` heads,
// `D` hidden size, `L` latent rank (kv_lora_rank), `R` rope dims. A `stride` is in elements between rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/kv_cache.h"
#include "backend/weights.h"

namespace ms4 {

// The sequences of one step: tokens of sequence s are rows [seqStarts[s], seqStarts[s+1]) of the activations;
// after this step's cache writes, sequence s has contextLens[s] cache entries, in blocks blockTables[s][0..].
// New token k of sequence s (0-based among its new tokens) sees entries [0, contextLens[s] - n_s + k] (causal).
struct AttentionBatch {
    int numTokens = 0;
    int numSeqs = 0;
    const int32_t* seqStarts = nullptr;    // [numSeqs + 1]
    const int32_t* contextLens = nullptr;  // [numSeqs]
    const int32_t* blockTables = nullptr;  // [numSeqs, maxBlocksPerSeq]
    int maxBlocksPerSeq = 0;
};

// MLA dimensions of one attention layer.
struct MlaDims {
    int heads = 0;    // H
    int nope = 0;     // qk_nope_head_dim
    int rope = 0;     // qk_rope_head_dim (R)
    int v = 0;        // v_head_dim
    int latent = 0;   // kv_lora_rank (L)
    float scale = 0;  // softmax scale
};

// YaRN-interleaved RoPE parameters: invFreq[i] for i < rope/2, and the cos/sin magnitude factor.
struct RopeParams {
    std::vector<double> invFreq;
    double attentionFactor = 1.0;
};

// Llama-4 query temperature: q *= 1 + beta * ln(1 + floor(pos / originalMax)); disabled when beta == 0.
struct QueryScaling {
    double beta = 0;
    int originalMax = 1;
};

// One routed or shared expert: down(silu(gate(x)) * up(x)).
struct ExpertWeights {
    const LinearWeights* gate = nullptr;  // w1 [I, D]
    const LinearWeights* up = nullptr;    // w3 [I, D]
    const LinearWeights* down = nullptr;  // w2 [D, I]
};

// A MoE layer: router [E, D] → softmax → top-k → (renormalise) → × routedScale; plus the always-on shared expert.
struct MoeWeights {
    const LinearWeights* router = nullptr;
    std::vector<ExpertWeights> experts;
    bool hasShared = false;
    ExpertWeights shared;
    int topK = 0;
    bool normTopk = true;
    float routedScale = 1.0f;
};

class Backend {
   public:
    virtual ~Backend() = default;
    virtual const char* name() const = 0;
    // Which kernel path this backend runs (e.g. "cpu-avx2"), for reports and benchmarks.
    virtual std::string kernelPath() const = 0;
    // What NVFP4 weights are multiplied with (CPU: "f32" | "int16" | "int8" activations), for reports.
    virtual std::string nvfp4ActivationsName() const = 0;

    // ---- memory ----
    virtual float* allocFloats(size_t count) = 0;  // zero-initialised scratch; freed by freeFloats
    virtual void freeFloats(float* p) = 0;
    virtual void upload(float* dst, const float* src, size_t count) = 0;
    virtual void download(float* dst, const float* src, size_t count) = 0;

    // ---- weights (load time) ----
    // Converts a checkpoint-layout linear weight into this backend's kernel layout (a copy it owns).
    virtual std::unique_ptr<LinearWeights> prepareLinear(const LinearSource& src) = 0;
    virtual std::unique_ptr<KvCache> allocKvCache(const KvCacheShape& shape) = 0;

    // ---- ops ----
    // y[T, rows] = x[T, cols] · Wᵀ  (x row stride xStride, y row stride yStride)
    virtual void linear(const LinearWeights& w, const float* x, int xStride, int T, float* y, int yStride) = 0;
    // out[T, cols] = rows `ids` of the table (an embedding stored like a linear weight [vocab, D])
    virtual void embedRows(const LinearWeights& table, const int32_t* ids, int T, float* out) = 0;
    // y = x · rsqrt(mean(x²) + eps) · w over n values per row; y may equal x
    virtual void rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y,
                         int yStride) = 0;
    // Rotates interleaved pairs (x[2i], x[2i+1]) of the first 2·invFreq.size() values of each of `heads`
    // vectors per token by angle positions[t]·invFreq[i]; vector h of token t starts at x + t·tokenStride +
    // h·headStride.
    virtual void ropeInterleaved(float* x, int T, int heads, int tokenStride, int headStride, const int32_t* positions,
                                 const RopeParams& rope) = 0;
    // Multiplies row t (n values, row stride `stride`) by the llama-4 factor of positions[t].
    virtual void queryScale(float* x, int T, int n, int stride, const int32_t* positions, const QueryScaling& s) = 0;
    // Writes latent[t, 0..L) and kpe[t, 0..R) into cache slot slotMapping[t] of `layer`.
    virtual void kvWrite(KvCache& cache, int layer, const float* latent, int latentStride, const float* kpe,
                         int kpeStride, const int32_t* slotMapping, int T) = 0;
    // qLat[t, h, :] = qNope[t, h, :] · W_UK[h]   with W_UK[h] = wkvb rows [h(nope+v), h(nope+v)+nope) : [nope, L]
    virtual void mlaAbsorbQuery(const float* q, int qTokenStride, const float* wkvb, const MlaDims& d, int T,
                                float* qLat) = 0;
    // Absorbed attention over the cached latent (decode form): scores = qLat·c_kv + qPe·k_pe, softmax(scale),
    // oLat[t, h, :] = Σ_s p[h, s] c_kv[s].  qPe rows: t·qTokenStride + h·(nope+rope) + nope.
    virtual void mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& cache,
                                      int layer, const AttentionBatch& batch, const MlaDims& d, float* oLat) = 0;
    // out[t, h, :] = W_UV[h] · oLat[t, h, :]   with W_UV[h] = wkvb rows [h(nope+v)+nope, (h+1)(nope+v)) : [v, L]
    virtual void mlaAbsorbOutput(const float* oLat, const float* wkvb, const MlaDims& d, int T, float* out) = 0;
    // Expanded ("MHA") attention, suited to prefill: K/V of every visible cache entry re-expanded with wkv_b.
    // q rows as above (nope then rope per head); out[t, h, 0..v).
    virtual void mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& cache, int layer,
                                      const AttentionBatch& batch, const float* wkvb, const MlaDims& d, float* out) = 0;
    // y[T, D] = Σ_k w_k · expert_k(x) + shared(x)   (routing included)
    virtual void moe(const MoeWeights& w, const float* x, int T, int D, float* y) = 0;
    // y[i] += x[i]
    virtual void addInPlace(float* y, const float* x, size_t n) = 0;
};

}  // namespace ms4
