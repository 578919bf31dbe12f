// Reference ops: plain scalar loops, double accumulation, checkpoint (original) weight layouts. They define what
// each Backend op means; backends are checked against them. Never used at run time.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace ms4::ref {

// Dequantized value of W[r, c] of a checkpoint-layout weight.
float weightAt(const LinearSource& w, int r, int c);
// One dequantized row of W.
void weightRow(const LinearSource& w, int r, float* out);

float bf16ToFloat(uint16_t v);
uint16_t floatToBf16(float f);  // round to nearest even
float fp8e4m3ToFloat(uint8_t v);
float e2m1ToFloat(uint8_t code);  // code in 0..15, sign bit 8

void linear(const LinearSource& w, const float* x, int xStride, int T, float* y, int yStride);
void embedRows(const LinearSource& table, const int32_t* ids, int T, float* out);
void rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y, int yStride);
void ropeInterleaved(float* x, int T, int heads, int tokenStride, int headStride, const int32_t* positions,
                     const RopeParams& rope);
void queryScale(float* x, int T, int n, int stride, const int32_t* positions, const QueryScaling& s);

// Reference latent cache: float32 [layers][numBlocks·blockSize][L + R].
struct RefKvCache {
    KvCacheShape shape;
    std::vector<float> data;
    explicit RefKvCache(const KvCacheShape& s);
    float* slot(int layer, int64_t slot);
    const float* slot(int layer, int64_t slot) const;
};
void kvWrite(RefKvCache& cache, int layer, const float* latent, int latentStride, const float* kpe, int kpeStride,
             const int32_t* slotMapping, int T);
void mlaAbsorbQuery(const float* q, int qTokenStride, const float* wkvb, const MlaDims& d, int T, float* qLat);
void mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const RefKvCache& cache, int layer,
                          const StepInputs& batch, const MlaDims& d, float* oLat);
void mlaAbsorbOutput(const float* oLat, const float* wkvb, const MlaDims& d, int T, float* out);
void mlaAttentionExpanded(const float* q, int qTokenStride, const RefKvCache& cache, int layer, const StepInputs& batch,
                          const float* wkvb, const MlaDims& d, float* out);

struct RefExpert {
    LinearSource gate, up, down;
};
struct RefMoe {
    LinearSource router;
    std::vector<RefExpert> experts;
    bool hasShared = false;
    RefExpert shared;
    int topK = 0;
    bool normTopk = true;
    float routedScale = 1.0f;
};
// Routing of one token: the chosen experts (ties → lower index) and their weights.
void moeRoute(const RefMoe& w, const float* x, int D, std::vector<int>& experts, std::vector<float>& weights);
void moe(const RefMoe& w, const float* x, int T, int D, float* y);

// Vision encoder ops (ref_vision.cc), over the layout visionLayout gives for the pass.
void patchRows(const float* pixels, const VisionLayout& l, float* out, int outStride);
void rope2d(float* x, int heads, int tokenStride, int headStride, const VisionLayout& l, const Rope2dParams& rope);
void visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim, float scale,
                     const VisionLayout& l, float* out, int outStride);
void siluMul(float* a, int aStride, const float* b, int bStride, int T, int n);
void gelu(float* x, int stride, int T, int n);
void mergePatches(const float* x, int width, const VisionLayout& l, float* out);
void addBias(float* y, int yStride, const float* bias, int T, int n);

// The cache entries visible to each new token: visible[t] and the sequence of token t.
void visibleEntries(const StepInputs& batch, std::vector<int>& seqOfToken, std::vector<int>& visible);
// Pool slot of entry j of sequence s.
int64_t slotOf(const StepInputs& batch, int blockSize, int s, int j);

}  // namespace ms4::ref
