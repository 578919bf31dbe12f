// One engine step as the backend sees it: the integer arrays that say which tokens run, where their cache
// entries go and which rows produce logits, plus optional input embeddings that replace the token-embedding
// lookup for some rows (the vision encoder's hook). The model hands StepInputs to Backend::beginStep once per
// step; the backend keeps what its ops need (a GPU backend uploads the arrays once) in a StepContext, which the
// ops then take instead of raw host pointers. See docs/architecture.md#one-step.
#pragma once
#include <cstdint>

namespace ms4 {

// Host arrays of one step, owned by the caller and valid until the step ends. Sequence s owns token rows
// [seqStarts[s], seqStarts[s+1]); after this step's cache writes it has contextLens[s] entries, in blocks
// blockTables[s][0..]. New token k of sequence s (0-based among its n_s new tokens) sees entries
// [0, contextLens[s] - n_s + k] (causal).
struct StepInputs {
    int numTokens = 0;                     // T
    const int32_t* tokens = nullptr;       // [T] token ids (rows with an input embedding keep a valid id)
    const int32_t* positions = nullptr;    // [T] RoPE positions
    const int32_t* slotMapping = nullptr;  // [T] cache slot of each token's entry, -1 = none
    int numSeqs = 0;                       // S
    const int32_t* seqStarts = nullptr;    // [S + 1]
    const int32_t* contextLens = nullptr;  // [S]
    const int32_t* blockTables = nullptr;  // [S, maxBlocksPerSeq]
    int maxBlocksPerSeq = 0;
    int numLogitRows = 0;
    const int32_t* logitRows = nullptr;  // [numLogitRows] rows whose logits are computed, in output order
    // Input embeddings: row inputRows[i] starts the first layer from inputEmbeddings[i, 0..embeddingWidth)
    // instead of its token's embedding.
    int numInputRows = 0;
    const int32_t* inputRows = nullptr;      // [numInputRows], distinct rows of [0, T)
    const float* inputEmbeddings = nullptr;  // [numInputRows, embeddingWidth]
    int embeddingWidth = 0;
};

// A step's inputs in the backend's own form. Ops read the arrays through the backend that made it; the model
// only passes it along and reads the counts.
class StepContext {
   public:
    explicit StepContext(const StepInputs& in)
        : numTokens(in.numTokens), numSeqs(in.numSeqs), numLogitRows(in.numLogitRows), numInputRows(in.numInputRows) {}
    virtual ~StepContext() = default;
    StepContext(const StepContext&) = delete;
    StepContext& operator=(const StepContext&) = delete;

    const int numTokens;
    const int numSeqs;
    const int numLogitRows;
    const int numInputRows;
};

}  // namespace ms4
