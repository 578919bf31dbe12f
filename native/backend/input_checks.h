// Checks of what the model hands a backend, shared by every backend: checkpoint-layout weights (prepareLinear), KV pool
// shapes (allocKvCache), and a step's arrays against themselves (beginStep) and against a KV cache (the attention and
// cache ops), so kernels can index without re-checking. Each throws std::runtime_error naming what is wrong.
// checkStepBatch is the whole check of a step that crosses the binding (native/napi/model_object.cc), before the
// forward runs.
#pragma once
#include <stdexcept>
#include <string>
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

// What a step must fit to run on a loaded model.
struct StepLimits {
    KvCacheShape cache;     // the pool its slots and block tables index
    int vocab = 0;          // token ids lie in [0, vocab)
    int hidden = 0;         // values per input-embedding row
    int maxStepTokens = 0;  // tokens the scratch arena holds; 0 leaves the count to the forward's own check
};

// A step that is inconsistent or out of range. `field()` names the array (and entry) at fault, e.g.
// "slotMapping[3]"; what() is the field followed by what is wrong with it.
class StepInputError : public std::invalid_argument {
   public:
    StepInputError(const std::string& field, const std::string& why)
        : std::invalid_argument(field + " " + why), field_(field) {}
    const std::string& field() const { return field_; }

   private:
    std::string field_;
};

// Everything a forward pass indexes with, checked as a whole (defence in depth: the engine never sends a bad step):
// the token count fits the arena; token ids lie in the vocabulary and positions are non-negative; seqStarts runs
// from 0 to the token count with at least one token per sequence; each context length covers its new tokens and fits
// its row of the block table; every block a sequence reads lies in the pool, at most once per sequence; every slot is
// -1 or the slot its block table gives that token's entry, and no slot is written twice; logit rows and input rows
// lie inside the step, input rows are distinct and their embeddings have `hidden` values. Throws StepInputError.
void checkStepBatch(const StepInputs& in, const StepLimits& limits);

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
