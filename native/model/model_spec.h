// What the TypeScript load plan tells native code about the model: dimensions and, for every weight, which
// tensors of the WeightStore hold it (lib/native.ts NativeModelSpec mirrors this). It describes the model only;
// where and how it runs is the Backend's business (backend/create_backend.h).
#pragma once
#include <string>
#include <vector>

#include "backend/kv_cache.h"
#include "backend/weights.h"

namespace ms4 {

// A dtype of a tensor in the checkpoint, as the safetensors header names it.
enum class TensorDtype : int { BF16, F16, F32, F8_E4M3, U8 };
TensorDtype parseTensorDtype(const std::string& name);  // throws on unknown names

struct LinearRef {
    WeightFormat format = WeightFormat::BF16;
    int rows = 0, cols = 0;
    int weight = -1;  // tensor index: BF16/F16/F32 or FP8 weight, or NVFP4 weight_packed
    TensorDtype weightDtype = TensorDtype::BF16;
    int blockScales = -1;  // NVFP4 block scales
    int scale = -1;        // FP8 weight_scale / NVFP4 weight_global_scale
    TensorDtype scaleDtype = TensorDtype::F32;
};

struct NormRef {
    int weight = -1;
    TensorDtype dtype = TensorDtype::BF16;
    int size = 0;
};

struct ExpertRef {
    LinearRef w1, w2, w3;  // gate, down, up
};

struct LayerRef {
    NormRef attentionNorm, qANorm, kvANorm, ffnNorm;
    LinearRef wqA, wqB, wkvA, wkvB, wo, router;
    bool hasShared = false;
    ExpertRef shared;
    std::vector<ExpertRef> experts;
};

struct ModelDims {
    int hidden = 0, layers = 0, vocab = 0, heads = 0;
    int qLora = 0, kvLora = 0, nope = 0, rope = 0, v = 0;
    int experts = 0, topK = 0;
    bool normTopk = true;
    float routedScale = 1.0f;
    float rmsEps = 1e-6f;
    float softmaxScale = 0;
    std::vector<double> invFreq;
    double ropeAttentionFactor = 1.0;
    double queryScaleBeta = 0;
    int queryScaleOriginalMax = 1;
};

struct ModelSpec {
    ModelDims dims;
    LinearRef embedding, lmHead;
    NormRef finalNorm;
    std::vector<LayerRef> layers;
    KvCacheShape kv;
    // The largest step the engine sends (tokens) and the most logit rows computed at once: the scratch arena is
    // sized for these at load, so no step allocates. Steps with more logit rows run the lm_head in chunks.
    int maxStepTokens = 0;
    int logitRowsPerChunk = 0;
};

}  // namespace ms4
