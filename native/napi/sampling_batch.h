// Converts a JS NativeSamplingBatch (lib/native.ts) into the sampler's SamplingBatch view. The typed arrays are
// copied into a SamplingStorage, so the view stays valid off the JS thread (the model's step uses it on a worker)
// however JS later changes or frees its arrays.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "sampling/sampler.h"

namespace ms4 {

/** Owns the copied arrays a parsed SamplingBatch points into; keep it alive as long as the batch. */
struct SamplingStorage {
    std::vector<float> temperature, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty;
    std::vector<int32_t> topK, contextTokens, contextStarts, outputTokens, outputStarts;
    std::vector<uint32_t> seeds, draws, masks;

    SamplingStorage() = default;
    SamplingStorage(const SamplingStorage&) = delete;
    SamplingStorage& operator=(const SamplingStorage&) = delete;
};

/**
 * Validates `obj` as the sampling parameters of `rows` logit rows of `vocab` entries and copies it into `storage`.
 * Throws Napi::TypeError for a wrong type, Napi::RangeError for a wrong length or an out-of-range value
 * (messages name the field, and the row where there is one).
 */
SamplingBatch parseSamplingBatch(const Napi::Object& obj, int rows, int vocab, SamplingStorage& storage);

}  // namespace ms4
