// Checks of what the model hands a backend, shared by every backend: checkpoint-layout weights (prepareLinear), KV pool
// shapes (allocKvCache), and a step's arrays against themselves (beginStep) and against a KV cache (the attention and
// cache ops), so kernels can index without re-checking. Each throws std::runtime_error naming what is wrong.
#pragma once
#include <vector>

#include "backend/backend.h"

namespace ms4 {

// A linear weight in checkpoint layout: positive shape, data present, NVFP4 with block scales, columns a multiple of
// 16 and a usable global scale.
void checkLinearSource(const LinearSource& s);

// Per token of a checked step: its sequence and how many cache entries it sees (causal).
struct StepLayout {
    std::vector<int> seqOf;
    std::vector<int> visible;
};

// Counts, sequence starts and context lengths agree; logit rows and input rows lie inside the step; input rows are
// distinct and come with embeddings.
StepLayout checkStepInputs(const StepInputs& in);

// `layer` exists, the MLA dims match the cache, and every block a sequence uses is in the pool. `op` names the caller.
void checkStepAgainstCache(const StepInputs& in, const KvCacheShape& cache, int layer, const MlaDims& d,
                           const char* op);

// A KV pool shape every backend can allocate: positive sizes, a known dtype, slots indexable by int32.
void checkKvCacheShape(const KvCacheShape& shape);

// Every slot of the step is -1 or inside the pool of `cache`.
void checkSlots(const StepInputs& in, const KvCacheShape& cache, int layer, const char* op);

}  // namespace ms4
