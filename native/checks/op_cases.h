// The op-check cases, one function per op family; each records one result per parameter set it runs (filtered by
// Checker::wants). op_checks.cc runs them in suites.
#pragma once
#include "checks/check_harness.h"

namespace ms4::checks {

// linear_checks.cc
void checkLinear(Checker& c, WeightFormat f, int T, int rows, int cols, bool strided);
void checkLinearBatchInvariance(Checker& c, WeightFormat f, int T, int rows, int cols);
void checkLinearNonFinite(Checker& c, WeightFormat f, int rows, int cols);
void checkEmbed(Checker& c, WeightFormat f, int T, int vocab, int cols, bool withInputRows);
void checkGatherLogitRows(Checker& c, int T, int width);

// elementwise_checks.cc
void checkRmsNorm(Checker& c, int T, int n, bool inPlace);
void checkRope(Checker& c, int T, int heads, int offset, int headStride, int rope);
void checkQueryScale(Checker& c, int T, double beta);
void checkAdd(Checker& c, size_t n);

// attention_checks.cc
void checkKvWrite(Checker& c, int T, int L, int R, int blockSize, KvDtype dtype);
void checkAbsorbProjections(Checker& c, int dimsIndex, int T);
void checkAttention(Checker& c, bool expanded, int dimsIndex, int batchIndex, int blockSize, KvDtype dtype,
                    bool rawBf16);
void checkAttentionBatchInvariance(Checker& c, KvDtype dtype);
// Indices for the two functions above.
constexpr int kTinyDims = 0, kOddDims = 1, kRealDims = 2;
int attentionBatchCount();           // short batches: decode, mixed, long
constexpr int kLongBatchesFrom = 3;  // batch indices >= this are the long-context ones
int attentionLongBatchCount();

// vision_checks.cc: image sets 0 .. visionImageSetCount() − 1 ("one", "several", "even" (grids divisible by 2),
// "large", "largeMany": grids beyond the attention's query block and key tile)
int visionImageSetCount();
constexpr int kVisionOne = 0, kVisionSeveral = 1, kVisionEven = 2, kVisionLarge = 3, kVisionLargeMany = 4;
void checkPatchRows(Checker& c, int setIndex, int channels, int patchSize);
void checkRope2d(Checker& c, int setIndex, int heads, int headDim);
void checkVisionAttention(Checker& c, int setIndex, int heads, int headDim);
void checkSiluMul(Checker& c, int T, int n);
void checkGelu(Checker& c, int T, int n);
void checkMergePatches(Checker& c, int setIndex, int width, int merge);
void checkAddBias(Checker& c, int T, int n);

// moe_checks.cc
void checkMoe(Checker& c, WeightFormat f, int T, int D, int E, int topK, int I, bool shared, bool normTopk);

}  // namespace ms4::checks
