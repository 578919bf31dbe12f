// libFuzzer target: the checks of a step (backend/input_checks.h). Builds a step from the input in arrays of exactly
// their length (so AddressSanitizer sees a read past one), runs the binding's whole check (checkStepBatch) and the
// backend's own (checkStepInputs at beginStep, checkSlots at kvWrite, checkStepAgainstCache at attention) on it, and:
//  - no check may read outside the arrays or hit undefined behaviour, whatever the input;
//  - a step checkStepBatch accepts must pass the backend's checks;
//  - a step the backend's checks pass must keep every index the CPU kernels use (embedding rows, cache slots, block
//    table entries of every visible cache entry, logit and input rows) inside its array, the pool or the vocabulary.
// Half the inputs start from a step as the engine builds it and change a few entries, so accepted steps are common.
// Build and run: scripts/fuzz/native-fuzz.sh step [seconds].
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "backend/input_checks.h"

namespace {

using ms4::KvCacheShape;
using ms4::MlaDims;
using ms4::StepInputs;
using ms4::StepLimits;

// An int32 array of exactly n entries on the heap (nullptr when empty, as the binding passes empty arrays).
struct Ints {
    explicit Ints(size_t n) : size(n), data(n ? new int32_t[n]() : nullptr) {}
    size_t size;
    std::unique_ptr<int32_t[]> data;
    int32_t& operator[](size_t i) {
        if (i >= size) __builtin_trap();
        return data[i];
    }
};

int32_t nasty(FuzzedDataProvider& p) {
    static const int32_t values[] = {-1, 0, 1, 2, 15, 16, 17, INT_MAX, INT_MIN, INT_MAX - 1, -2, 1 << 20};
    return p.ConsumeBool() ? p.PickValueInArray(values) : p.ConsumeIntegralInRange<int32_t>(-4, 40);
}

// Every index the CPU kernels use for a step the backend's checks passed (cpu/kv_cache.cc kvWrite, cpu/mla_attention.cc
// over seqOf/visible, cpu embedding and logit gathers), checked instead of used.
void walkKernelIndices(const StepInputs& in, const ms4::StepLayout& layout, const KvCacheShape& cache, int vocab) {
    const int64_t slots = static_cast<int64_t>(cache.numBlocks) * cache.blockSize;
    for (int t = 0; t < in.numTokens; ++t) {
        if (in.slotMapping[t] < -1 || in.slotMapping[t] >= slots) __builtin_trap();
        if (vocab > 0 && in.tokens != nullptr && (in.tokens[t] < 0 || in.tokens[t] >= vocab)) __builtin_trap();
    }
    if (in.numSeqs == 0) return;
    if (layout.seqOf.size() != static_cast<size_t>(in.numTokens)) __builtin_trap();
    for (int t = 0; t < in.numTokens; ++t) {
        const int s = layout.seqOf[t];
        if (s < 0 || s >= in.numSeqs) __builtin_trap();
        const int visible = layout.visible[t];
        if (visible < 0 || visible > in.contextLens[s]) __builtin_trap();
        for (int j = 0; j < visible; ++j) {
            const int64_t index = static_cast<int64_t>(s) * in.maxBlocksPerSeq + j / cache.blockSize;
            if (j / cache.blockSize >= in.maxBlocksPerSeq) __builtin_trap();
            const int32_t block = in.blockTables[index];
            if (block < 0 || block >= cache.numBlocks) __builtin_trap();
        }
    }
    for (int i = 0; i < in.numLogitRows; ++i) {
        if (in.logitRows[i] < 0 || in.logitRows[i] >= in.numTokens) __builtin_trap();
    }
    for (int i = 0; i < in.numInputRows; ++i) {
        if (in.inputRows[i] < 0 || in.inputRows[i] >= in.numTokens) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    FuzzedDataProvider p(bytes, size);
    StepLimits lim;
    lim.cache.layers = 1;
    lim.cache.numBlocks = p.ConsumeIntegralInRange(1, 12);
    lim.cache.blockSize = p.ConsumeIntegralInRange(1, 8);
    lim.cache.latent = 4;
    lim.cache.rope = 2;
    lim.vocab = p.ConsumeIntegralInRange(1, 50);
    lim.hidden = 4;
    lim.maxStepTokens = p.ConsumeIntegralInRange(0, 40);
    const MlaDims dims{1, 2, lim.cache.rope, 2, lim.cache.latent, 1.0f};

    const bool plausible = p.ConsumeBool();
    const int T = p.ConsumeIntegralInRange(0, 32);
    const int S = p.ConsumeIntegralInRange(0, 5);
    const int M = p.ConsumeIntegralInRange(0, 6);
    Ints tokens(T), positions(T), slots(T), starts(S > 0 ? S + 1 : 0), lens(S),
        tables(static_cast<size_t>(S) * static_cast<size_t>(M));
    Ints logitRows(p.ConsumeIntegralInRange(0, 6)), inputRows(p.ConsumeIntegralInRange(0, 3));
    const int width = p.ConsumeBool() ? lim.hidden : p.ConsumeIntegralInRange(0, 6);
    std::vector<float> embeddings(inputRows.size * static_cast<size_t>(std::max(width, 0)), 0.5f);

    if (plausible && S > 0 && T >= S && M > 0) {
        // As the engine builds it: T tokens over S sequences, each with some cached entries, distinct blocks.
        std::vector<int32_t> free(lim.cache.numBlocks);
        std::iota(free.begin(), free.end(), 0);
        int t = 0;
        for (int s = 0; s < S; ++s) {
            const int n = s == S - 1 ? T - t : p.ConsumeIntegralInRange(1, T - t - (S - 1 - s));
            const int cached = p.ConsumeIntegralInRange(0, M * lim.cache.blockSize);
            const int len = std::min(cached + n, M * lim.cache.blockSize);
            starts[s] = t;
            lens[s] = len;
            for (int b = 0; b < M; ++b) {
                tables[static_cast<size_t>(s) * M + b] = free.empty() ? 0 : free.back();
                if (!free.empty()) free.pop_back();
            }
            for (int k = 0; k < n; ++k, ++t) {
                const int entry = len - n + k;
                tokens[t] = p.ConsumeIntegralInRange(0, lim.vocab - 1);
                positions[t] = std::max(entry, 0);
                slots[t] =
                    entry < 0 ? -1
                              : tables[static_cast<size_t>(s) * M + entry / lim.cache.blockSize] * lim.cache.blockSize +
                                    entry % lim.cache.blockSize;
            }
        }
        starts[S] = t;
        for (size_t i = 0; i < logitRows.size; ++i) logitRows[i] = p.ConsumeIntegralInRange(0, T - 1);
        for (size_t i = 0; i < inputRows.size; ++i) inputRows[i] = static_cast<int32_t>(i);
        // A few entries changed to anything.
        Ints* arrays[] = {&tokens, &positions, &slots, &starts, &lens, &tables, &logitRows, &inputRows};
        const int changes = p.ConsumeIntegralInRange(0, 3);
        for (int c = 0; c < changes; ++c) {
            Ints& a = *arrays[p.ConsumeIntegralInRange<size_t>(0, 7)];
            if (a.size > 0) a[p.ConsumeIntegralInRange<size_t>(0, a.size - 1)] = nasty(p);
        }
    } else {
        Ints* arrays[] = {&tokens, &positions, &slots, &starts, &lens, &tables, &logitRows, &inputRows};
        for (Ints* a : arrays) {
            for (size_t i = 0; i < a->size; ++i) (*a)[i] = nasty(p);
        }
    }

    StepInputs in;
    in.numTokens = T;
    in.tokens = tokens.data.get();
    in.positions = positions.data.get();
    in.slotMapping = slots.data.get();
    in.numSeqs = S;
    in.seqStarts = starts.data.get();
    in.contextLens = lens.data.get();
    in.blockTables = tables.data.get();
    in.maxBlocksPerSeq = M;
    in.numLogitRows = static_cast<int>(logitRows.size);
    in.logitRows = logitRows.data.get();
    in.numInputRows = static_cast<int>(inputRows.size);
    in.inputRows = inputRows.data.get();
    in.inputEmbeddings = embeddings.empty() ? nullptr : embeddings.data();
    in.embeddingWidth = width;

    bool accepted = true;
    try {
        ms4::checkStepBatch(in, lim);
    } catch (const ms4::StepInputError&) {
        accepted = false;
    }
    ms4::StepLayout layout;
    bool backendAccepts = true;
    try {
        layout = ms4::checkStepInputs(in);
        ms4::checkSlots(in, lim.cache, 0, "fuzz");
        if (in.numSeqs > 0 || in.numTokens > 0) ms4::checkStepAgainstCache(in, lim.cache, 0, dims, "fuzz");
    } catch (const std::runtime_error&) {
        backendAccepts = false;
    }
    if (accepted && !backendAccepts) __builtin_trap();
    if (backendAccepts) walkKernelIndices(in, layout, lim.cache, accepted ? lim.vocab : 0);
    return 0;
}
