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

// The Pixtral vision tower and projector (docs/model.md#vision-tower).
struct VisionDims {
    int hidden = 0, layers = 0, heads = 0, headDim = 0, intermediate = 0;
    int channels = 0, patchSize = 0;
    int merge = 1;       // spatial merge (the patch merger's block side); 1: no merger
    int textHidden = 0;  // the projector's output size
    double ropeTheta = 10000;
    float eps = 1e-5f;
    bool preMmNorm = false;      // pre_mm_projector_norm before the merger
    bool projectorBias = false;  // w_in / w_out carry biases
    // wq / wk rows are stored in the Hugging Face order (halves per head) and are put back in the interleaved-pair
    // order at load (docs/model.md#vision-qk-row-permutation).
    bool qkRowsPermuted = false;
};

struct VisionLayerRef {
    NormRef attentionNorm, ffnNorm;
    LinearRef wq, wk, wv, wo, w1, w2, w3;
};

struct VisionSpec {
    VisionDims dims;
    LinearRef patchConv;  // [hidden, channels · patch²]: the convolution's kernels as rows
    NormRef lnPre;
    std::vector<VisionLayerRef> layers;
    NormRef preMmNorm;          // when dims.preMmNorm
    LinearRef merging;          // [hidden, hidden · merge²] when dims.merge > 1
    LinearRef wIn, wOut;        // [textHidden, hidden], [textHidden, textHidden]
    NormRef wInBias, wOutBias;  // when dims.projectorBias
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
    bool hasVision = false;
    VisionSpec vision;
};

}  // namespace ms4
