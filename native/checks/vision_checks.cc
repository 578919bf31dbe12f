// Checks of the vision encoder ops (docs/model.md#vision-tower) over sets of images with different patch grids:
// one image, several (attention stays inside each), grids larger than the attention's query block and key tile, and
// the real head size.
#include <cmath>
#include <utility>

#include "checks/bounds.h"
#include "checks/op_cases.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

namespace {

struct ImageSet {
    const char* name;
    std::vector<std::pair<int, int>> grids;  // patch rows, patch columns
};

const ImageSet kImageSets[] = {
    {"one", {{3, 5}}},     {"several", {{2, 4}, {7, 9}, {1, 1}, {5, 2}}}, {"even", {{4, 6}, {2, 2}, {6, 4}}},
    {"large", {{12, 14}}}, {"largeMany", {{10, 26}, {3, 4}, {14, 12}}},
};

struct Pass {
    std::vector<int32_t> rows, cols;
    VisionInputs in;
    VisionLayout layout;
    Pass(const ImageSet& set, int channels, int patchSize, int merge) {
        for (auto [r, c] : set.grids) {
            rows.push_back(r);
            cols.push_back(c);
        }
        in.numImages = static_cast<int>(rows.size());
        in.patchRows = rows.data();
        in.patchCols = cols.data();
        in.channels = channels;
        in.patchSize = patchSize;
        in.merge = merge;
        layout = visionLayout(in);
    }
};

const ImageSet& imageSet(int index) { return kImageSets[index]; }

Rope2dParams pixtralRope(int headDim) {
    Rope2dParams r;
    for (int k = 0; k < headDim / 2; ++k) {
        const double f = std::pow(10000.0, -2.0 * k / headDim);
        (k % 2 == 0 ? r.rowFreq : r.colFreq).push_back(f);
    }
    return r;
}

}  // namespace

int visionImageSetCount() { return static_cast<int>(sizeof(kImageSets) / sizeof(kImageSets[0])); }

void checkPatchRows(Checker& c, int setIndex, int channels, int patchSize) {
    const ImageSet& set = imageSet(setIndex);
    const std::string params =
        "patchRows(images=" + std::string(set.name) + ",channels=" + str(channels) + ",patch=" + str(patchSize) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    Pass pass(set, channels, patchSize, 1);
    const int width = channels * patchSize * patchSize, stride = width + 5;
    const std::vector<float> pixels =
        randomVec(rng, static_cast<size_t>(pass.layout.numPatches()) * channels * patchSize * patchSize);
    std::vector<float> want(static_cast<size_t>(pass.layout.numPatches()) * stride, 0.0f);
    ref::patchRows(pixels.data(), pass.layout, want.data(), stride);
    BackendFloats dp(c.be, pixels), got(c.be, std::vector<float>(want.size(), NAN));
    const std::unique_ptr<VisionContext> ctx = c.be.beginVision(pass.in);
    c.be.patchRows(dp.get(), *ctx, got.get(), stride);
    c.record("patchRows", params, got.host(), want, kExact);
}

void checkRope2d(Checker& c, int setIndex, int heads, int headDim) {
    const ImageSet& set = imageSet(setIndex);
    const std::string params =
        "rope2d(images=" + std::string(set.name) + ",heads=" + str(heads) + ",headDim=" + str(headDim) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    Pass pass(set, 3, 14, 1);
    const int headStride = headDim + 3, tokenStride = heads * headStride + 1;
    std::vector<float> want = randomVec(rng, static_cast<size_t>(pass.layout.numPatches()) * tokenStride);
    BackendFloats got(c.be, want);
    const Rope2dParams rope = pixtralRope(headDim);
    const std::unique_ptr<VisionContext> ctx = c.be.beginVision(pass.in);
    c.be.rope2d(got.get(), heads, tokenStride, headStride, *ctx, rope);
    ref::rope2d(want.data(), heads, tokenStride, headStride, pass.layout, rope);
    c.record("rope2d", params, got.host(), want, kRopeBound);
}

void checkVisionAttention(Checker& c, int setIndex, int heads, int headDim) {
    const ImageSet& set = imageSet(setIndex);
    const std::string params =
        "visionAttention(images=" + std::string(set.name) + ",heads=" + str(heads) + ",headDim=" + str(headDim) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    Pass pass(set, 3, 14, 1);
    const int N = pass.layout.numPatches(), width = heads * headDim, stride = 3 * width + 4, outStride = width + 2;
    // q, k and v side by side in one row, as the encoder's fused projection output lays them out
    const std::vector<float> qkv = randomVec(rng, static_cast<size_t>(N) * stride, 1.5f);
    const float scale = 1.0f / std::sqrt(static_cast<float>(headDim));
    std::vector<float> want(static_cast<size_t>(N) * outStride, 0.0f);
    ref::visionAttention(qkv.data(), qkv.data() + width, qkv.data() + 2 * width, stride, heads, headDim, scale,
                         pass.layout, want.data(), outStride);
    BackendFloats d(c.be, qkv), got(c.be, want.size());
    const std::unique_ptr<VisionContext> ctx = c.be.beginVision(pass.in);
    c.be.visionAttention(d.get(), d.get() + width, d.get() + 2 * width, stride, heads, headDim, scale, *ctx, got.get(),
                         outStride);
    const std::vector<float> all = got.host();
    c.record("visionAttention", params, all, want, kVisionAttentionBound);

    // Each image alone (and on one thread) gives the same bits as the images together.
    const std::string pi = "visionAttentionInvariance(images=" + std::string(set.name) + ",heads=" + str(heads) +
                           ",headDim=" + str(headDim) + ")";
    if (!c.wants(pi)) return;
    std::unique_ptr<Backend> oneThread = c.singleThread ? c.singleThread() : nullptr;
    Backend& one = oneThread ? *oneThread : c.be;
    std::vector<float> alone(all.size(), 0.0f);
    for (int i = 0; i < pass.layout.numImages(); ++i) {
        const int s0 = pass.layout.imageStart[i], n = pass.layout.imageStart[i + 1] - s0;
        ImageSet single{"single", {set.grids[i]}};
        Pass p1(single, 3, 14, 1);
        const std::vector<float> part(qkv.begin() + static_cast<std::ptrdiff_t>(s0) * stride,
                                      qkv.begin() + static_cast<std::ptrdiff_t>(s0 + n) * stride);
        BackendFloats dPart(one, part), out1(one, static_cast<size_t>(n) * outStride);
        const std::unique_ptr<VisionContext> ctx1 = one.beginVision(p1.in);
        one.visionAttention(dPart.get(), dPart.get() + width, dPart.get() + 2 * width, stride, heads, headDim, scale,
                            *ctx1, out1.get(), outStride);
        const std::vector<float> h = out1.host();
        std::copy(h.begin(), h.end(), alone.begin() + static_cast<std::ptrdiff_t>(s0) * outStride);
    }
    c.record("visionAttentionInvariance", pi, all, alone, kExact);
}

void checkSiluMul(Checker& c, int T, int n) {
    const std::string params = "siluMul(T=" + str(T) + ",n=" + str(n) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int aStride = 2 * n + 3, bStride = n + 1;  // a and b interleaved in one buffer in the encoder
    std::vector<float> want = randomVec(rng, static_cast<size_t>(T) * aStride, 3.0f);
    const std::vector<float> b = randomVec(rng, static_cast<size_t>(T) * bStride);
    BackendFloats da(c.be, want), db(c.be, b);
    c.be.siluMul(da.get(), aStride, db.get(), bStride, T, n);
    ref::siluMul(want.data(), aStride, b.data(), bStride, T, n);
    c.record("siluMul", params, da.host(), want, kActivationBound);
}

void checkGelu(Checker& c, int T, int n) {
    const std::string params = "gelu(T=" + str(T) + ",n=" + str(n) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int stride = n + 7;
    std::vector<float> want = randomVec(rng, static_cast<size_t>(T) * stride, 3.0f);
    BackendFloats got(c.be, want);
    c.be.gelu(got.get(), stride, T, n);
    ref::gelu(want.data(), stride, T, n);
    c.record("gelu", params, got.host(), want, kActivationBound);
}

void checkMergePatches(Checker& c, int setIndex, int width, int merge) {
    const ImageSet& set = imageSet(setIndex);
    const std::string params =
        "mergePatches(images=" + std::string(set.name) + ",width=" + str(width) + ",merge=" + str(merge) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    Pass pass(set, 3, 14, merge);
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(pass.layout.numPatches()) * width);
    std::vector<float> want(static_cast<size_t>(pass.layout.numTokens()) * width * merge * merge);
    ref::mergePatches(x.data(), width, pass.layout, want.data());
    BackendFloats dx(c.be, x), got(c.be, want.size());
    const std::unique_ptr<VisionContext> ctx = c.be.beginVision(pass.in);
    c.be.mergePatches(dx.get(), width, *ctx, got.get());
    c.record("mergePatches", params, got.host(), want, kExact);
}

void checkAddBias(Checker& c, int T, int n) {
    const std::string params = "addBias(T=" + str(T) + ",n=" + str(n) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int stride = n + 2;
    std::vector<float> want = randomVec(rng, static_cast<size_t>(T) * stride);
    const std::vector<float> bias = randomVec(rng, n);
    BackendFloats got(c.be, want), db(c.be, bias);
    c.be.addBias(got.get(), stride, db.get(), T, n);
    ref::addBias(want.data(), stride, bias.data(), T, n);
    c.record("addBias", params, got.host(), want, kExact);
}

}  // namespace ms4::checks
