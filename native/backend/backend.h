// The seam between the model and the hardware: weight preparation, memory, the step context, and one method
// per fused op the Mistral Small 4 forward needs. The model (model/mistral4.cc) is written once against this
// interface and never sees a concrete backend: backend/create_backend.cc builds one from BackendOptions. cpu/
// implements it; a new device adds a folder and one branch in createBackend (docs/architecture.md#adding-a-backend).
// Every op has a plain reference in ref/ that defines what it means; checks/ runs any backend against it.
//
// Conventions: activations are float32, row-major, in the backend's memory space; `T` tokens, `H` heads,
// `D` hidden size, `L` latent rank (kv_lora_rank), `R` rope dims. A `stride` is in elements between rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/kv_cache.h"
#include "backend/step.h"
#include "backend/vision.h"
#include "backend/weights.h"

namespace ms4 {

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

// wkv_b ([H·(nope+v), L]: per head, W_UK rows [nope, L] then W_UV rows [v, L]) prepared for the MLA ops.
class MlaUpWeights {
   public:
    virtual ~MlaUpWeights() = default;
    MlaDims dims;
    size_t bytes = 0;  // memory the prepared weight occupies
};

class Backend {
   public:
    virtual ~Backend() = default;
    virtual const char* name() const = 0;
    // Which kernel path this backend runs (e.g. "cpu-avx2"), for reports and benchmarks.
    virtual std::string kernelPath() const = 0;
    // What NVFP4 weights are multiplied with (CPU: "f32" | "int16" | "int8" activations), for reports and checks.
    virtual std::string nvfp4ActivationsName() const = 0;

    // ---- memory ----
    virtual float* allocFloats(size_t count) = 0;  // zero-initialised; freed by freeFloats
    virtual void freeFloats(float* p) = 0;
    virtual void upload(float* dst, const float* src, size_t count) = 0;    // host → backend
    virtual void download(float* dst, const float* src, size_t count) = 0;  // backend → host (waits for the data)
    // Waits until every op issued so far has finished (a no-op where ops run synchronously).
    virtual void synchronize() = 0;

    // ---- weights and cache (load time) ----
    // Converts a checkpoint-layout linear weight into this backend's kernel layout (a copy it owns).
    virtual std::unique_ptr<LinearWeights> prepareLinear(const LinearSource& src) = 0;
    // Prepares wkv_b (checkpoint layout [H·(nope+v), L]) for mlaAbsorbQuery / mlaAbsorbOutput / mlaAttentionExpanded.
    virtual std::unique_ptr<MlaUpWeights> prepareMlaUp(const LinearSource& wkvb, const MlaDims& d) = 0;
    virtual std::unique_ptr<KvCache> allocKvCache(const KvCacheShape& shape) = 0;
    // The cache entries of `layer` as float32 [numBlocks·blockSize, L + R] on the host (for checks and tests).
    virtual void downloadKvLayer(const KvCache& cache, int layer, float* out) = 0;

    // ---- the step ----
    // Takes the step's integer arrays (and input embeddings) once, checks them for consistency, and returns the
    // context the ops below read them from. The host arrays must stay valid until the context is destroyed.
    virtual std::unique_ptr<StepContext> beginStep(const StepInputs& in) = 0;

    // ---- ops ----
    // y[T, rows] = x[T, cols] · Wᵀ  (x row stride xStride, y row stride yStride)
    virtual void linear(const LinearWeights& w, const float* x, int xStride, int T, float* y, int yStride) = 0;
    // out[t, 0..D) = row tokens[t] of the table (an embedding stored like a linear weight [vocab, D]) for every
    // token of the step, except rows carrying an input embedding, which get that embedding.
    virtual void embedTokens(const LinearWeights& table, const StepContext& step, float* out) = 0;
    // out[i, 0..width) = x[logitRows[first + i], 0..width) for i < count (x row stride xStride; out rows dense).
    virtual void gatherLogitRows(const float* x, int xStride, int width, const StepContext& step, int first, int count,
                                 float* out) = 0;
    // y = x · rsqrt(mean(x²) + eps) · w over n values per row; y may equal x
    virtual void rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y,
                         int yStride) = 0;
    // Rotates interleaved pairs (x[2i], x[2i+1]) of the first 2·invFreq.size() values of each of `heads` vectors
    // of every token t of the step by angle positions[t]·invFreq[i]; vector h of token t starts at
    // x + t·tokenStride + h·headStride.
    virtual void ropeInterleaved(float* x, int heads, int tokenStride, int headStride, const StepContext& step,
                                 const RopeParams& rope) = 0;
    // Multiplies row t (n values, row stride `stride`) of every token of the step by the llama-4 factor of
    // positions[t].
    virtual void queryScale(float* x, int n, int stride, const StepContext& step, const QueryScaling& s) = 0;
    // Writes latent[t, 0..L) and kpe[t, 0..R) of every token of the step into cache slot slotMapping[t] of
    // `layer` (no write where the slot is -1).
    virtual void kvWrite(KvCache& cache, int layer, const float* latent, int latentStride, const float* kpe,
                         int kpeStride, const StepContext& step) = 0;
    // qLat[t, h, :] = qNope[t, h, :] · W_UK[h]   with W_UK[h] = wkvb rows [h(nope+v), h(nope+v)+nope) : [nope, L]
    virtual void mlaAbsorbQuery(const float* q, int qTokenStride, const MlaUpWeights& wkvb, int T, float* qLat) = 0;
    // Absorbed attention over the cached latent (decode form) for every token of the step: scores = qLat·c_kv +
    // qPe·k_pe, softmax(scale), oLat[t, h, :] = Σ_s p[h, s] c_kv[s].  qPe rows: t·qTokenStride + h·(nope+rope) + nope.
    virtual void mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& cache,
                                      int layer, const StepContext& step, const MlaDims& d, float* oLat) = 0;
    // out[t, h, :] = W_UV[h] · oLat[t, h, :]   with W_UV[h] = wkvb rows [h(nope+v)+nope, (h+1)(nope+v)) : [v, L]
    virtual void mlaAbsorbOutput(const float* oLat, const MlaUpWeights& wkvb, int T, float* out) = 0;
    // Expanded ("MHA") attention: K/V of every visible cache entry re-expanded with wkv_b. q rows as above (nope
    // then rope per head); out[t, h, 0..v).
    virtual void mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& cache, int layer,
                                      const StepContext& step, const MlaUpWeights& wkvb, float* out) = 0;
    // y[T, D] = Σ_k w_k · expert_k(x) + shared(x)   (routing included)
    virtual void moe(const MoeWeights& w, const float* x, int T, int D, float* y) = 0;
    // y[i] += x[i]
    virtual void addInPlace(float* y, const float* x, size_t n) = 0;

    // ---- vision encoder (docs/model.md#vision-tower) ----
    // Takes one encoder pass's patch grids, checks them (visionLayout) and returns the context the vision ops read.
    // The host arrays must stay valid until the context is destroyed.
    virtual std::unique_ptr<VisionContext> beginVision(const VisionInputs& in) = 0;
    // The patch convolution's input as a matrix: out[p, c·ps² + ky·ps + kx] = image(p)[c, ps·row(p) + ky, ps·col(p) +
    // kx] for every patch p of the pass (row stride outStride ≥ channels·ps²). `pixels` holds each image's
    // [channels, ps·rows, ps·cols] plane set, images one after another.
    virtual void patchRows(const float* pixels, const VisionContext& v, float* out, int outStride) = 0;
    // 2-D RoPE on interleaved pairs: pair i of each of `heads` vectors of patch p rotates by row(p)·rowFreq[i], then
    // pair rowFreq.size() + i by col(p)·colFreq[i] (row, col: the patch's place in its image's grid); vector h of
    // patch p starts at x + p·tokenStride + h·headStride.
    virtual void rope2d(float* x, int heads, int tokenStride, int headStride, const VisionContext& v,
                        const Rope2dParams& rope) = 0;
    // Bidirectional attention inside each image: out[p, h·hd .. (h+1)·hd) = Σ_j softmax_j(scale · q_h(p)·k_h(j))
    // v_h(j) over the patches j of p's image. q, k, v rows have stride `stride`, head h at column h·hd.
    virtual void visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim,
                                 float scale, const VisionContext& ctx, float* out, int outStride) = 0;
    // a[t, i] = silu(a[t, i]) · b[t, i] for i < n, silu(z) = z / (1 + e^−z)
    virtual void siluMul(float* a, int aStride, const float* b, int bStride, int T, int n) = 0;
    // x[t, i] = x·Φ(x) = 0.5·x·(1 + erf(x / √2)) for i < n (the exact GELU)
    virtual void gelu(float* x, int stride, int T, int n) = 0;
    // The patch merger's unfold: each merge × merge block of an image's patch grid becomes one row of
    // width·merge² values, value c·merge² + dy·merge + dx = x[patch (merge·r + dy, merge·c' + dx), c]; blocks row by
    // row, images in order (out rows dense). x rows have `width` values at stride `width`.
    virtual void mergePatches(const float* x, int width, const VisionContext& v, float* out) = 0;
    // y[t, i] += bias[i] for i < n
    virtual void addBias(float* y, int yStride, const float* bias, int T, int n) = 0;
};

}  // namespace ms4
