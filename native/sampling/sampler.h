// The token sampler: one token (plus its log-probability and top alternatives) per row of logits.
// Used by the JS `sample()` function and by the model's step; both fill a SamplingBatch view.
//
// Per row, in this order:
//   1. repetition penalty over the row's context tokens (each distinct token once):
//        logit > 0 ? logit / penalty : logit * penalty          (penalty 1 = off)
//   2. presence and frequency penalties over the row's output tokens:
//        logit -= presence + frequency * count                  (for each distinct token, count = occurrences)
//   3. allowed-token bitmask (bit t % 32 of word t / 32; clear = disallowed -> -inf);
//      a mask that allows nothing, or a row with no finite logit left, is an error naming the row.
//   4. logprobs = log_softmax of these processed logits (float exp with relative error < 2e-7, summed in
//      double); the sampled token's logprob and the top-N alternatives (best first, ties -> lower id) come
//      from here.
//   5. temperature == 0: greedy argmax (ties -> lower id). Otherwise weights w = exp((logit - max) / temperature)
//      (0 below exp(-87): such tokens are never drawn), then three filters, each keeping a prefix of the
//      order (logit desc, id asc): top-k (0 = off); top-p (the smallest prefix whose mass, renormalised
//      after top-k, is >= p; at least one token); min-p (drop tokens whose prob < minP * maxProb). The kept
//      tokens are renormalised and one is drawn by inverse CDF over them in id order.
//
// RNG (counter-based, so a request's tokens do not depend on the batch or the row order):
//   u64 = output number `draws` of a SplitMix64 generator whose state starts at mix64(seed) (mix64 = the
//   SplitMix64 finaliser), i.e.
//   mix64(mix64(seed) + (draws + 1) * 0x9E3779B97F4A7C15); uniform = (u64 >> 11) * 2^-53 in [0, 1).
//
// Errors are thrown as SamplingArgumentError (bad parameters / token ids) or std::runtime_error (NaN or +inf
// logits, a row with nothing left to sample); the process never aborts. Thread-safe: scratch buffers are
// thread_local, so the model's step may call sampleRows on its worker thread.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ms4 {

/** A parameter or token id out of range (the N-API layer reports it as a RangeError). */
class SamplingArgumentError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

/** A view of the per-row sampling parameters (mirrors NativeSamplingBatch in lib/native.ts). */
struct SamplingBatch {
    int rows = 0;
    const float* temperature = nullptr;        // [rows]
    const int32_t* topK = nullptr;             // [rows]
    const float* topP = nullptr;               // [rows]
    const float* minP = nullptr;               // [rows]
    const float* repetitionPenalty = nullptr;  // [rows]
    const float* presencePenalty = nullptr;    // [rows]
    const float* frequencyPenalty = nullptr;   // [rows]
    const uint32_t* seeds = nullptr;           // [rows * 2]: low, high 32 bits per row
    const uint32_t* draws = nullptr;           // [rows]
    const int32_t* contextTokens = nullptr;    // ragged: row r owns [contextStarts[r], contextStarts[r + 1])
    const int32_t* contextStarts = nullptr;    // [rows + 1]
    const int32_t* outputTokens = nullptr;
    const int32_t* outputStarts = nullptr;  // [rows + 1]
    const uint32_t* masks = nullptr;        // [rows * maskWords(vocab)] or nullptr
    int topLogprobs = 0;                    // alternatives per row
};

/** One row's parameters, taken out of a SamplingBatch. */
struct SamplingRow {
    float temperature = 1.0f;
    int32_t topK = 0;
    float topP = 1.0f;
    float minP = 0.0f;
    float repetitionPenalty = 1.0f;
    float presencePenalty = 0.0f;
    float frequencyPenalty = 0.0f;
    uint64_t seed = 0;
    uint32_t draws = 0;
    const int32_t* contextTokens = nullptr;
    int64_t contextCount = 0;
    const int32_t* outputTokens = nullptr;
    int64_t outputCount = 0;
    const uint32_t* mask = nullptr;  // maskWords(vocab) words, or nullptr = everything allowed
};

struct SampleResult {
    std::vector<int32_t> tokens;     // [rows]
    std::vector<float> logprobs;     // [rows]
    std::vector<int32_t> topIds;     // [rows * topLogprobs]
    std::vector<float> topLogprobs;  // [rows * topLogprobs]
};

inline int maskWords(int vocab) { return (vocab + 31) / 32; }

/** Row r of the batch as a SamplingRow (no validation). */
SamplingRow samplingRow(const SamplingBatch& batch, int r, int vocab);

/** Throws SamplingArgumentError naming the row and field when a parameter or token id is out of range. */
void validateSamplingRow(const SamplingRow& row, int r, int vocab);

/** The uniform in [0, 1) a request with this seed gets for its `draws`-th sample. */
double samplingUniform(uint64_t seed, uint32_t draws);

/** Samples every row of logits [rows, vocab]; resizes and fills `out`. */
void sampleRows(const float* logits, int rows, int vocab, const SamplingBatch& batch, SampleResult& out);

}  // namespace ms4
