// Checks of RMSNorm, interleaved RoPE, llama-4 query scaling and the residual add.
#include <cmath>

#include "checks/bounds.h"
#include "checks/op_cases.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

void checkRmsNorm(Checker& c, int T, int n, bool inPlace) {
    const std::string params = "rmsNorm(T=" + str(T) + ",n=" + str(n) + (inPlace ? ",inPlace" : "") + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int stride = n + 7;
    std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * stride);
    for (int t = 0; t < T; ++t) {
        const float s = static_cast<float>(std::exp(rng.uniform() * 6 - 3));  // rows of very different scale
        for (int i = 0; i < n; ++i) x[static_cast<size_t>(t) * stride + i] *= s;
    }
    std::vector<float> w(n);
    for (float& v : w) v = 1.0f + 0.2f * rng.normal();
    std::vector<float> want(x.size(), 0.0f);
    ref::rmsNorm(x.data(), stride, w.data(), T, n, 1e-5f, want.data(), stride);
    BackendFloats dx(c.be, x), dw(c.be, w), dy(c.be, x.size());
    float* y = inPlace ? dx.get() : dy.get();
    c.be.rmsNorm(dx.get(), stride, dw.get(), T, n, 1e-5f, y, stride);
    if (inPlace) {  // the gaps between rows keep x in the in-place case
        for (int t = 0; t < T; ++t) {
            for (int i = n; i < stride; ++i)
                want[static_cast<size_t>(t) * stride + i] = x[static_cast<size_t>(t) * stride + i];
        }
    }
    c.record("rmsNorm", params, inPlace ? dx.host() : dy.host(), want, kNormBound);
}

void checkRope(Checker& c, int T, int heads, int offset, int headStride, int rope) {
    const std::string params = "ropeInterleaved(T=" + str(T) + ",heads=" + str(heads) + ",rope=" + str(rope) +
                               ",headStride=" + str(headStride) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int tokenStride = heads * headStride + 3;
    RopeParams rp;
    for (int i = 0; i < rope / 2; ++i) {
        double f = std::pow(1e6, -2.0 * i / rope);
        if (i >= rope / 4) f /= 128.0;  // YaRN-like: the low frequencies interpolated
        rp.invFreq.push_back(f);
    }
    rp.attentionFactor = 1.1;
    StepArrays step;
    step.numTokens = T;
    step.positions.resize(T);
    for (int32_t& p : step.positions) p = rng.below(1000000);
    step.positions[0] = T > 1 ? 0 : 999999;
    std::vector<float> want = randomVec(rng, static_cast<size_t>(T) * tokenStride);
    BackendFloats got(c.be, want);
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(step.inputs());
    c.be.ropeInterleaved(got.get() + offset, heads, tokenStride, headStride, *ctx, rp);
    ref::ropeInterleaved(want.data() + offset, T, heads, tokenStride, headStride, step.positions.data(), rp);
    c.record("ropeInterleaved", params, got.host(), want, kRopeBound);
}

void checkQueryScale(Checker& c, int T, double beta) {
    const std::string params = "queryScale(T=" + str(T) + ",n=128,beta=" + (beta == 0 ? "0" : "0.1") + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int n = 128, stride = 133;
    QueryScaling qs;
    qs.beta = beta;
    qs.originalMax = 8192;
    StepArrays step;
    step.numTokens = T;
    step.positions.resize(T);
    for (int32_t& p : step.positions) p = rng.below(1000000);
    step.positions[0] = 8191;
    std::vector<float> want = randomVec(rng, static_cast<size_t>(T) * stride);
    BackendFloats got(c.be, want);
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(step.inputs());
    c.be.queryScale(got.get(), n, stride, *ctx, qs);
    ref::queryScale(want.data(), T, n, stride, step.positions.data(), qs);
    c.record("queryScale", params, got.host(), want, kQueryScaleBound);
}

void checkAdd(Checker& c, size_t n) {
    const std::string params = "addInPlace(n=" + std::to_string(n) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const std::vector<float> y = randomVec(rng, n), x = randomVec(rng, n);
    std::vector<float> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = y[i] + x[i];
    BackendFloats dy(c.be, y), dx(c.be, x);
    c.be.addInPlace(dy.get(), dx.get(), n);
    c.record("addInPlace", params, dy.host(), want, kExact);
}

}  // namespace ms4::checks
