// Step 5 of the sampler (see sampler.h): temperature, top-k, top-p, min-p and the draw, on processed logits.
// Selection is linear-time: tokens are bucketed by (max - logit) / temperature (1/8 nat per bucket), the
// bucket holding the top-k / top-p cut is found from per-bucket counts and masses, and only the tokens up
// to that bucket are selected exactly (nth_element for top-k, a sort of the boundary bucket for top-p).
#pragma once

#include <cstdint>
#include <vector>

namespace ms4 {

struct TruncateParams {
    float temperature = 1.0f;  // > 0
    int32_t topK = 0;          // 0 = off
    float topP = 1.0f;         // 1 = off
    float minP = 0.0f;         // 0 = off
};

/** Scratch buffers; reuse one per thread. */
struct TruncateScratch {
    std::vector<float> w;         // exp(x - max) on entry to sampleTruncated, then exp((x - max) / temperature)
    std::vector<uint8_t> bucket;  // per token; 255 = zero weight
    std::vector<int32_t> cand;
};

/**
 * The order every selection uses: higher logit first, ties -> lower id. All three filters keep a prefix of
 * this order.
 */
struct BetterToken {
    const float* x;
    bool operator()(int32_t a, int32_t b) const { return x[a] > x[b] || (x[a] == x[b] && a < b); }
};

/**
 * Draws a token from softmax(x / temperature) restricted by top-k, then top-p (renormalised after top-k),
 * then min-p. `maxLogit` is the (finite) max of x; `uniform` in [0, 1) picks the token by inverse CDF over
 * the kept tokens in id order, so the result depends only on x, the parameters and `uniform`.
 * On entry s.w must hold exp(x - maxLogit) for every token (the log-softmax terms; see expShifted).
 */
int32_t sampleTruncated(const float* x, int vocab, float maxLogit, const TruncateParams& p, double uniform,
                        TruncateScratch& s);

/** The n best tokens of x in BetterToken order, best first (ties -> lower id). */
void topTokens(const float* x, int vocab, int n, int32_t* ids, std::vector<int32_t>& scratch);

}  // namespace ms4
