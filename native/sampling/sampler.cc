#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "sampling/fast_exp.h"
#include "sampling/truncate.h"

namespace ms4 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kFloatMax = std::numeric_limits<float>::max();

uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string rowName(int r) { return "sampling row " + std::to_string(r); }

// Scratch buffers reused across rows and calls on one thread. `seen` and `counts` are all zero between rows.
struct Workspace {
    std::vector<float> x;         // processed logits
    std::vector<uint8_t> seen;    // repetition-penalty marks
    std::vector<int32_t> counts;  // output-token counts
    TruncateScratch truncate;

    void fit(int vocab) {
        const size_t n = static_cast<size_t>(vocab);
        if (x.size() == n) return;
        x.assign(n, 0.0f);
        seen.assign(n, 0);
        counts.assign(n, 0);
    }
};

Workspace& workspace() {
    thread_local Workspace ws;
    return ws;
}

// Steps 1-3: penalties and mask, in place on ws.x.
void applyPenaltiesAndMask(const SamplingRow& row, int vocab, Workspace& ws) {
    float* x = ws.x.data();
    if (row.repetitionPenalty != 1.0f) {
        const float p = row.repetitionPenalty;
        for (int64_t i = 0; i < row.contextCount; ++i) {
            const int32_t t = row.contextTokens[i];
            if (ws.seen[t]) continue;
            ws.seen[t] = 1;
            const float v = x[t] > 0.0f ? x[t] / p : x[t] * p;
            // A tiny or huge penalty can overflow a finite logit: it saturates at the largest float instead, so one
            // request's penalty never fails the step of the whole batch (found by fuzzing). -inf (masked) stays.
            x[t] = std::isfinite(x[t]) && !std::isfinite(v) ? std::copysign(kFloatMax, v) : v;
        }
        for (int64_t i = 0; i < row.contextCount; ++i) ws.seen[row.contextTokens[i]] = 0;
    }
    if (row.presencePenalty != 0.0f || row.frequencyPenalty != 0.0f) {
        for (int64_t i = 0; i < row.outputCount; ++i) ws.counts[row.outputTokens[i]] += 1;
        const double presence = row.presencePenalty;
        const double frequency = row.frequencyPenalty;
        for (int64_t i = 0; i < row.outputCount; ++i) {
            const int32_t t = row.outputTokens[i];
            const int32_t c = ws.counts[t];
            if (c == 0) continue;  // already applied
            x[t] = static_cast<float>(static_cast<double>(x[t]) - (presence + frequency * c));
            ws.counts[t] = 0;
        }
    }
    if (row.mask) {
        for (int i = 0; i < vocab; ++i) {
            if (!((row.mask[i >> 5] >> (i & 31)) & 1u)) x[i] = kNegInf;
        }
    }
}

bool maskAllowsNothing(const uint32_t* mask, int vocab) {
    for (int i = 0; i < vocab; ++i) {
        if ((mask[i >> 5] >> (i & 31)) & 1u) return false;
    }
    return true;
}

void sampleRow(const float* logits, int vocab, const SamplingRow& row, int r, int topN, Workspace& ws, int32_t* token,
               float* logprob, int32_t* topIds, float* topLogprobs) {
    ws.fit(vocab);
    float* x = ws.x.data();
    for (int i = 0; i < vocab; ++i) {
        const float v = logits[i];
        if (std::isnan(v) || v == std::numeric_limits<float>::infinity()) {
            throw std::runtime_error(rowName(r) + ": the logit of token " + std::to_string(i) + " is " + num(v));
        }
        x[i] = v;
    }
    applyPenaltiesAndMask(row, vocab, ws);

    float maxLogit = kNegInf;
    int32_t argmax = -1;
    for (int i = 0; i < vocab; ++i) {
        if (x[i] > maxLogit) {
            maxLogit = x[i];
            argmax = i;
        }
    }
    if (argmax < 0) {
        if (row.mask && maskAllowsNothing(row.mask, vocab)) {
            throw std::runtime_error(rowName(r) + ": the token mask allows no token");
        }
        throw std::runtime_error(rowName(r) + ": no token has a finite logit after penalties and the mask");
    }
    if (maxLogit == std::numeric_limits<float>::infinity()) {
        throw std::runtime_error(rowName(r) + ": the repetition penalty made the logit of token " +
                                 std::to_string(argmax) + " infinite");
    }

    // Step 4: log_softmax.
    std::vector<float>& e = ws.truncate.w;
    e.resize(static_cast<size_t>(vocab));
    expShifted(x, vocab, maxLogit, 1.0f, e.data());  // sampleTruncated reuses these
    double sum = 0.0;
    for (int i = 0; i < vocab; ++i) sum += e[i];
    const double lse = static_cast<double>(maxLogit) + std::log(sum);
    if (topN > 0) {
        topTokens(x, vocab, topN, topIds, ws.truncate.cand);
        for (int j = 0; j < topN; ++j) topLogprobs[j] = static_cast<float>(static_cast<double>(x[topIds[j]]) - lse);
    }

    // Step 5.
    int32_t t = argmax;
    if (row.temperature != 0.0f) {
        const TruncateParams p{row.temperature, row.topK, row.topP, row.minP};
        t = sampleTruncated(x, vocab, maxLogit, p, samplingUniform(row.seed, row.draws), ws.truncate);
    }
    *token = t;
    *logprob = static_cast<float>(static_cast<double>(x[t]) - lse);
}

void checkRange(bool ok, int r, const char* field, double v, const char* expected) {
    if (!ok) throw SamplingArgumentError(rowName(r) + ": " + field + " must be " + expected + " (got " + num(v) + ")");
}

void checkTokens(const int32_t* tokens, int64_t count, int r, const char* field, int vocab) {
    for (int64_t i = 0; i < count; ++i) {
        if (tokens[i] < 0 || tokens[i] >= vocab) {
            throw SamplingArgumentError(rowName(r) + ": " + field + " holds token id " + std::to_string(tokens[i]) +
                                        ", outside [0, " + std::to_string(vocab) + ")");
        }
    }
}

}  // namespace

double samplingUniform(uint64_t seed, uint32_t draws) {
    const uint64_t state = mix64(seed) + (static_cast<uint64_t>(draws) + 1) * 0x9E3779B97F4A7C15ULL;
    return static_cast<double>(mix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

SamplingRow samplingRow(const SamplingBatch& b, int r, int vocab) {
    SamplingRow row;
    row.temperature = b.temperature[r];
    row.topK = b.topK[r];
    row.topP = b.topP[r];
    row.minP = b.minP[r];
    row.repetitionPenalty = b.repetitionPenalty[r];
    row.presencePenalty = b.presencePenalty[r];
    row.frequencyPenalty = b.frequencyPenalty[r];
    row.seed = static_cast<uint64_t>(b.seeds[2 * r]) | (static_cast<uint64_t>(b.seeds[2 * r + 1]) << 32);
    row.draws = b.draws[r];
    row.contextTokens = b.contextTokens + b.contextStarts[r];
    row.contextCount = static_cast<int64_t>(b.contextStarts[r + 1]) - b.contextStarts[r];
    row.outputTokens = b.outputTokens + b.outputStarts[r];
    row.outputCount = static_cast<int64_t>(b.outputStarts[r + 1]) - b.outputStarts[r];
    row.mask = b.masks ? b.masks + static_cast<size_t>(r) * maskWords(vocab) : nullptr;
    return row;
}

void validateSamplingRow(const SamplingRow& row, int r, int vocab) {
    checkRange(std::isfinite(row.temperature) && row.temperature >= 0.0f, r, "temperature", row.temperature,
               "a finite number >= 0");
    checkRange(row.topK >= 0, r, "topK", row.topK, "an integer >= 0 (0 = off)");
    checkRange(row.topP > 0.0f && row.topP <= 1.0f, r, "topP", row.topP, "in (0, 1]");
    checkRange(row.minP >= 0.0f && row.minP <= 1.0f, r, "minP", row.minP, "in [0, 1]");
    checkRange(std::isfinite(row.repetitionPenalty) && row.repetitionPenalty > 0.0f, r, "repetitionPenalty",
               row.repetitionPenalty, "a finite number > 0");
    checkRange(std::isfinite(row.presencePenalty), r, "presencePenalty", row.presencePenalty, "finite");
    checkRange(std::isfinite(row.frequencyPenalty), r, "frequencyPenalty", row.frequencyPenalty, "finite");
    checkRange(row.contextCount >= 0, r, "the context token range", static_cast<double>(row.contextCount),
               "non-negative");
    checkRange(row.outputCount >= 0, r, "the output token range", static_cast<double>(row.outputCount), "non-negative");
    checkTokens(row.contextTokens, row.contextCount, r, "contextTokens", vocab);
    checkTokens(row.outputTokens, row.outputCount, r, "outputTokens", vocab);
}

void sampleRows(const float* logits, int rows, int vocab, const SamplingBatch& batch, SampleResult& out) {
    if (vocab <= 0) throw SamplingArgumentError("sampling: vocab must be > 0 (got " + std::to_string(vocab) + ")");
    if (rows < 0 || batch.rows != rows) {
        throw SamplingArgumentError("sampling: the batch has " + std::to_string(batch.rows) +
                                    " rows but the logits have " + std::to_string(rows));
    }
    const int topN = batch.topLogprobs;
    if (topN < 0 || topN > vocab) {
        throw SamplingArgumentError("sampling: topLogprobs must be in [0, " + std::to_string(vocab) + "] (got " +
                                    std::to_string(topN) + ")");
    }
    if (rows > 0 && !logits) throw SamplingArgumentError("sampling: no logits");
    for (int r = 0; r < rows; ++r) validateSamplingRow(samplingRow(batch, r, vocab), r, vocab);

    const size_t n = static_cast<size_t>(rows);
    const size_t nTop = n * static_cast<size_t>(topN);
    out.tokens.assign(n, 0);
    out.logprobs.assign(n, 0.0f);
    out.topIds.assign(nTop, 0);
    out.topLogprobs.assign(nTop, 0.0f);
    Workspace& ws = workspace();
    for (int r = 0; r < rows; ++r) {
        const size_t top = static_cast<size_t>(r) * static_cast<size_t>(topN);
        sampleRow(logits + static_cast<size_t>(r) * static_cast<size_t>(vocab), vocab, samplingRow(batch, r, vocab), r,
                  topN, ws, &out.tokens[r], &out.logprobs[r], out.topIds.data() + top, out.topLogprobs.data() + top);
    }
}

}  // namespace ms4
