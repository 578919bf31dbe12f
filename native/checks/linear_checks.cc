// Checks of linear (GEMV / GEMM in every weight format), its batch invariance and non-finite handling, the
// embedding lookup with input-embedding rows, and the logit-row gather.
#include <cmath>

#include "checks/bounds.h"
#include "checks/op_cases.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

void checkLinear(Checker& c, WeightFormat f, int T, int rows, int cols, bool strided) {
    const std::string params = std::string("linear(format=") + formatName(f) + ",T=" + str(T) + ",rows=" + str(rows) +
                               ",cols=" + str(cols) + (strided ? ",strided" : "") + actTag(c.be, f) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    const int xStride = cols + (strided ? 3 : 0), yStride = rows + (strided ? 5 : 0);
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * xStride);
    std::vector<float> want(static_cast<size_t>(T) * yStride, 0.0f);
    BackendFloats dx(c.be, x), dy(c.be, want.size());
    c.be.linear(*w, dx.get(), xStride, T, dy.get(), yStride);
    ref::linear(tw.src, x.data(), xStride, T, want.data(), yStride);
    c.record("linear", params, dy.host(), want, activationBound(c.be, f, false));
}

// Batch invariance: each token of a batched linear must equal, bit for bit, the same token run alone (T = 1).
// Quantized activations: T = 11 (token blocks 4+4+3). With f32 activations T = 37 takes the GEMM path (row tiles
// with an odd tail, token blocks 3 + ... + 1) and T = 1 the GEMV, which must agree bit for bit; cols = 1040 / 1008
// leave a partial GEMM column chunk.
void checkLinearBatchInvariance(Checker& c, WeightFormat f, int T, int rows, int cols) {
    const std::string params = std::string("linearBatchInvariance(format=") + formatName(f) + ",T=" + str(T) +
                               ",rows=" + str(rows) + ",cols=" + str(cols) + actTag(c.be, f) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * cols);
    BackendFloats dx(c.be, x), batch(c.be, static_cast<size_t>(T) * rows), single(c.be, static_cast<size_t>(T) * rows);
    c.be.linear(*w, dx.get(), cols, T, batch.get(), rows);
    for (int t = 0; t < T; ++t) {
        c.be.linear(*w, dx.get() + static_cast<size_t>(t) * cols, cols, 1, single.get() + static_cast<size_t>(t) * rows,
                    rows);
    }
    c.record("linearBatchInvariance", params, batch.host(), single.host(), kExact);
}

// Non-finite activations: token 1 of 3 gets a NaN in one 16-block and token 2 an infinity; every output of those
// two tokens must be non-finite (a quantized path turns the block's scale into NaN) and token 0 must equal its own
// T = 1 result bit for bit. Recorded with got/want = 1 for a non-finite output, else the value, and bound 0.
void checkLinearNonFinite(Checker& c, WeightFormat f, int rows, int cols) {
    const std::string params = std::string("linearNonFinite(format=") + formatName(f) + ",rows=" + str(rows) +
                               ",cols=" + str(cols) + actTag(c.be, f) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    const int T = 3;
    std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * cols);
    x[static_cast<size_t>(cols) + 5] = NAN;
    x[2 * static_cast<size_t>(cols) + cols - 3] = INFINITY;
    BackendFloats dx(c.be, x), dy(c.be, static_cast<size_t>(T) * rows), dalone(c.be, rows);
    c.be.linear(*w, dx.get(), cols, T, dy.get(), rows);
    c.be.linear(*w, dx.get(), cols, 1, dalone.get(), rows);
    const std::vector<float> y = dy.host(), alone = dalone.host();
    std::vector<float> got(y.size()), want(y.size());
    for (int t = 0; t < T; ++t) {
        for (int r = 0; r < rows; ++r) {
            const size_t i = static_cast<size_t>(t) * rows + r;
            got[i] = std::isfinite(y[i]) ? y[i] : 1.0f;
            want[i] = t == 0 ? alone[r] : 1.0f;
        }
    }
    c.record("linearNonFinite", params, got, want, kExact);
}

// The token-embedding lookup; withInputRows: every third row (and the last) carries an input embedding instead.
void checkEmbed(Checker& c, WeightFormat f, int T, int vocab, int cols, bool withInputRows) {
    const std::string params = std::string("embedTokens(format=") + formatName(f) + ",T=" + str(T) +
                               ",vocab=" + str(vocab) + ",cols=" + str(cols) + (withInputRows ? ",inputRows" : "") +
                               ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, vocab, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    StepArrays step;
    step.numTokens = T;
    step.tokens.resize(T);
    for (int32_t& id : step.tokens) id = rng.below(vocab);
    step.tokens[0] = vocab - 1;
    std::vector<float> want(static_cast<size_t>(T) * cols);
    ref::embedRows(tw.src, step.tokens.data(), T, want.data());
    if (withInputRows) {
        step.embeddingWidth = cols;
        for (int t = T - 1; t >= 0; t -= 3) step.inputRows.push_back(t);  // distinct, in no particular order
        step.inputEmbeddings = randomVec(rng, step.inputRows.size() * static_cast<size_t>(cols));
        for (size_t i = 0; i < step.inputRows.size(); ++i) {
            std::copy_n(step.inputEmbeddings.begin() + static_cast<std::ptrdiff_t>(i * cols), cols,
                        want.begin() + static_cast<std::ptrdiff_t>(step.inputRows[i]) * cols);
        }
    }
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(step.inputs());
    BackendFloats out(c.be, want.size());
    c.be.embedTokens(*w, *ctx, out.get());
    c.record("embedTokens", params, out.host(), want, kExact);
}

// Rows of the step's logitRows (in their order, repeats allowed), gathered in two chunks.
void checkGatherLogitRows(Checker& c, int T, int width) {
    const std::string params = "gatherLogitRows(T=" + str(T) + ",width=" + str(width) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int stride = width + 3;
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * stride);
    StepArrays step;
    step.numTokens = T;
    for (int i = 0; i < T + 2; ++i) step.logitRows.push_back(rng.below(T));
    step.logitRows.back() = T - 1;
    const int rows = static_cast<int>(step.logitRows.size()), first = rows / 2;
    std::vector<float> want(static_cast<size_t>(rows) * width);
    for (int i = 0; i < rows; ++i) {
        std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(step.logitRows[i]) * stride, width,
                    want.begin() + static_cast<std::ptrdiff_t>(i) * width);
    }
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(step.inputs());
    BackendFloats dx(c.be, x), out(c.be, want.size());
    c.be.gatherLogitRows(dx.get(), stride, width, *ctx, 0, first, out.get());
    c.be.gatherLogitRows(dx.get(), stride, width, *ctx, first, rows - first,
                         out.get() + static_cast<size_t>(first) * width);
    c.record("gatherLogitRows", params, out.host(), want, kExact);
}

}  // namespace ms4::checks
