// Pixtral encoder + projector (docs/model.md#vision-tower) written against the Backend interface.
#include "model/pixtral.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "model/weight_sources.h"

namespace ms4 {

namespace {

// Patches per linear() call: the GEMM keeps its accumulators and a column chunk of the activations in L2 for this
// many tokens (its result per token does not depend on the count, so chunking changes no bit).
constexpr int kLinearChunk = 512;
// Patches per FFN chunk: the [chunk, 2·intermediate] gate/up buffer is the pass's largest scratch otherwise.
constexpr int kFfnChunk = 1024;

void checkRef(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("vision tower: " + what);
}

}  // namespace

std::vector<int> pixtralQkRowOrder(int heads, int headDim) {
    // docs/model.md#vision-qk-row-permutation: HF row h·hd + i = row h·hd + 2i, HF row h·hd + hd/2 + i = row h·hd + 2i
    // + 1
    std::vector<int> from(static_cast<size_t>(heads) * headDim);
    for (int h = 0; h < heads; ++h) {
        for (int j = 0; j < headDim; ++j) from[h * headDim + j] = h * headDim + (j % 2) * (headDim / 2) + j / 2;
    }
    return from;
}

size_t pixtralLoadSteps(const VisionSpec& spec) {
    return 2 + 7 * spec.layers.size() + (spec.dims.merge > 1 ? 1 : 0) + 2;
}

PixtralWeights loadPixtralWeights(const VisionSpec& spec, Backend& backend, const WeightStore& store,
                                  const std::function<void()>& step) {
    const VisionDims& d = spec.dims;
    checkRef(d.hidden > 0 && d.layers == static_cast<int>(spec.layers.size()) && d.heads > 0 &&
                 d.headDim * d.heads == d.hidden && d.headDim % 4 == 0 && d.intermediate > 0 && d.channels > 0 &&
                 d.patchSize > 0 && d.merge > 0 && d.textHidden > 0,
             "inconsistent dimensions (heads · head size must be the hidden size, the head size a multiple of 4)");
    PixtralWeights w;
    std::vector<uint8_t> scratch, permuted;
    auto prepare = [&](const LinearRef& ref, const std::string& name, int rows, int cols, bool permuteQk) {
        checkRef(ref.rows == rows && ref.cols == cols, name + " has shape [" + std::to_string(ref.rows) + ", " +
                                                           std::to_string(ref.cols) + "], expected [" +
                                                           std::to_string(rows) + ", " + std::to_string(cols) + "]");
        LinearSource src = linearSource(store, ref, scratch, name);
        if (permuteQk) src = permutedRows(src, pixtralQkRowOrder(d.heads, d.headDim), permuted);
        std::unique_ptr<LinearWeights> p = backend.prepareLinear(src);
        releaseSource(store, ref);
        w.bytes += p->bytes;
        step();
        return p;
    };
    auto norm = [&](const NormRef& ref, const std::string& name, int size) {
        checkRef(ref.size == size,
                 name + " has " + std::to_string(ref.size) + " values, expected " + std::to_string(size));
        w.bytes += static_cast<uint64_t>(size) * 4;
        return uploadFloats(&backend, normWeights(store, ref, name));
    };
    const int D = d.hidden, I = d.intermediate, patchWidth = d.channels * d.patchSize * d.patchSize;
    w.patchConv = prepare(spec.patchConv, "vision_encoder.patch_conv", D, patchWidth, false);
    w.lnPre = norm(spec.lnPre, "vision_encoder.ln_pre", D);
    step();
    for (size_t l = 0; l < spec.layers.size(); ++l) {
        const VisionLayerRef& r = spec.layers[l];
        const std::string p = "vision_encoder.transformer.layers." + std::to_string(l) + ".";
        auto layer = std::make_shared<PixtralLayer>();
        layer->attentionNorm = norm(r.attentionNorm, p + "attention_norm", D);
        layer->ffnNorm = norm(r.ffnNorm, p + "ffn_norm", D);
        layer->wq = prepare(r.wq, p + "attention.wq", D, D, d.qkRowsPermuted);
        layer->wk = prepare(r.wk, p + "attention.wk", D, D, d.qkRowsPermuted);
        layer->wv = prepare(r.wv, p + "attention.wv", D, D, false);
        layer->wo = prepare(r.wo, p + "attention.wo", D, D, false);
        layer->w1 = prepare(r.w1, p + "feed_forward.w1", I, D, false);
        layer->w2 = prepare(r.w2, p + "feed_forward.w2", D, I, false);
        layer->w3 = prepare(r.w3, p + "feed_forward.w3", I, D, false);
        w.layers.push_back(std::move(layer));
    }
    if (d.preMmNorm) w.preMmNorm = norm(spec.preMmNorm, "pre_mm_projector_norm", D);
    if (d.merge > 1) {
        w.merging = prepare(spec.merging, "patch_merger.merging_layer", D, D * d.merge * d.merge, false);
    }
    w.wIn = prepare(spec.wIn, "vision_language_adapter.w_in", d.textHidden, D, false);
    w.wOut = prepare(spec.wOut, "vision_language_adapter.w_out", d.textHidden, d.textHidden, false);
    if (d.projectorBias) {
        w.wInBias = norm(spec.wInBias, "vision_language_adapter.w_in.bias", d.textHidden);
        w.wOutBias = norm(spec.wOutBias, "vision_language_adapter.w_out.bias", d.textHidden);
    }
    return w;
}

PixtralEncoder::PixtralEncoder(const VisionDims& dims, Backend& backend, PixtralWeights weights)
    : dims_(dims), b_(backend), w_(std::move(weights)) {
    if (static_cast<int>(w_.layers.size()) != dims_.layers) throw std::runtime_error("vision tower: layer count");
    // docs/model.md#2-d-rope: g[k] = θ^(−2k/hd); rows take the even k, columns the odd k
    for (int k = 0; k < dims_.headDim / 2; ++k) {
        const double g = std::pow(dims_.ropeTheta, -2.0 * k / dims_.headDim);
        (k % 2 == 0 ? rope_.rowFreq : rope_.colFreq).push_back(g);
    }
}

size_t PixtralEncoder::scratchFloats(int64_t patches, int64_t tokens) const {
    const int64_t D = dims_.hidden, m2 = static_cast<int64_t>(dims_.merge) * dims_.merge;
    const int64_t patchWidth = static_cast<int64_t>(dims_.channels) * dims_.patchSize * dims_.patchSize;
    const int64_t ffn = std::min<int64_t>(patches, kFfnChunk) * 2 * dims_.intermediate;
    const int64_t projector = tokens * (D * m2 + D + 2 * static_cast<int64_t>(dims_.textHidden));
    return static_cast<size_t>(patches * (2 * patchWidth + 6 * D) + ffn + projector);
}

double PixtralEncoder::flops(const std::vector<int32_t>& patchRows, const std::vector<int32_t>& patchCols) const {
    const double D = dims_.hidden, I = dims_.intermediate, E = dims_.textHidden;
    const double m2 = static_cast<double>(dims_.merge) * dims_.merge;
    const double patchWidth = static_cast<double>(dims_.channels) * dims_.patchSize * dims_.patchSize;
    double macs = 0;
    for (size_t i = 0; i < patchRows.size(); ++i) {
        const double n = static_cast<double>(patchRows[i]) * patchCols[i], tokens = n / m2;
        macs += n * patchWidth * D;                          // patch convolution
        macs += dims_.layers * (n * (4 * D * D + 3 * D * I)  // q, k, v, o, FFN
                                + 2 * n * n * D);            // scores and weighted sum over the image
        macs += tokens * (m2 * D * D + D * E + E * E);       // merger and adapter
    }
    return 2 * macs;
}

void PixtralEncoder::encode(const VisionInputs& in, const float* pixels, float* out,
                            const std::function<bool()>& cancelled) {
    const VisionDims& d = dims_;
    if (in.channels != d.channels || in.patchSize != d.patchSize || in.merge != d.merge) {
        throw std::runtime_error("vision pass: channels, patch size or merge differ from the tower's");
    }
    Backend& b = b_;
    const std::unique_ptr<VisionContext> ctx = b.beginVision(in);
    const int N = ctx->numPatches, tokens = ctx->numTokens;
    const int D = d.hidden, I = d.intermediate, E = d.textHidden, hd = d.headDim;
    const int patchWidth = d.channels * d.patchSize * d.patchSize;
    auto linear = [&](const LinearWeights& w, const float* x, int xStride, int T, float* y, int yStride) {
        for (int t0 = 0; t0 < T; t0 += kLinearChunk) {
            b.linear(w, x + static_cast<size_t>(t0) * xStride, xStride, std::min(kLinearChunk, T - t0),
                     y + static_cast<size_t>(t0) * yStride, yStride);
        }
    };

    // ---- patch convolution: patches as rows, times the kernels as a matrix ----
    DeviceFloats x(&b, static_cast<size_t>(N) * D);  // [N, D] residual stream
    {
        const size_t pixelCount = static_cast<size_t>(N) * patchWidth;
        DeviceFloats px(&b, pixelCount), rows(&b, pixelCount);
        b.upload(px.get(), pixels, pixelCount);
        b.patchRows(px.get(), *ctx, rows.get(), patchWidth);  // rows: [N, C·ps²]
        linear(*w_.patchConv, rows.get(), patchWidth, N, x.get(), D);
    }
    b.rmsNorm(x.get(), D, w_.lnPre.get(), N, D, d.eps, x.get(), D);

    // ---- transformer blocks ----
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    DeviceFloats normed(&b, static_cast<size_t>(N) * D), qkv(&b, static_cast<size_t>(N) * 3 * D),
        tmp(&b, static_cast<size_t>(N) * D), ffn(&b, static_cast<size_t>(std::min(N, kFfnChunk)) * 2 * I);
    float* q = qkv.get();
    float* k = q + D;
    float* v = q + 2 * D;
    for (const std::shared_ptr<const PixtralLayer>& layer : w_.layers) {
        if (cancelled && cancelled()) throw std::runtime_error("aborted");
        const PixtralLayer& w = *layer;
        b.rmsNorm(x.get(), D, w.attentionNorm.get(), N, D, d.eps, normed.get(), D);
        linear(*w.wq, normed.get(), D, N, q, 3 * D);  // qkv: [N, q | k | v]
        linear(*w.wk, normed.get(), D, N, k, 3 * D);
        linear(*w.wv, normed.get(), D, N, v, 3 * D);
        b.rope2d(q, d.heads, 3 * D, hd, *ctx, rope_);
        b.rope2d(k, d.heads, 3 * D, hd, *ctx, rope_);
        b.visionAttention(q, k, v, 3 * D, d.heads, hd, scale, *ctx, tmp.get(), D);  // tmp: [N, D]
        linear(*w.wo, tmp.get(), D, N, normed.get(), D);
        b.addInPlace(x.get(), normed.get(), static_cast<size_t>(N) * D);
        b.rmsNorm(x.get(), D, w.ffnNorm.get(), N, D, d.eps, normed.get(), D);
        for (int t0 = 0; t0 < N; t0 += kFfnChunk) {  // w2 · (silu(w1 · x) ⊙ (w3 · x)), a chunk of patches at a time
            const int n = std::min(kFfnChunk, N - t0);
            const float* xn = normed.get() + static_cast<size_t>(t0) * D;
            linear(*w.w1, xn, D, n, ffn.get(), 2 * I);  // ffn: [n, gate | up]
            linear(*w.w3, xn, D, n, ffn.get() + I, 2 * I);
            b.siluMul(ffn.get(), 2 * I, ffn.get() + I, 2 * I, n, I);
            linear(*w.w2, ffn.get(), 2 * I, n, tmp.get() + static_cast<size_t>(t0) * D, D);
        }
        b.addInPlace(x.get(), tmp.get(), static_cast<size_t>(N) * D);
    }
    qkv.reset();
    ffn.reset();

    // ---- projector: pre_mm_projector_norm, patch merger, adapter ----
    if (d.preMmNorm) b.rmsNorm(x.get(), D, w_.preMmNorm.get(), N, D, d.eps, x.get(), D);
    const float* features = x.get();  // [tokens, D]
    DeviceFloats merged, mergedOut;
    if (d.merge > 1) {
        const int mergedWidth = D * d.merge * d.merge;
        merged = DeviceFloats(&b, static_cast<size_t>(tokens) * mergedWidth);
        mergedOut = DeviceFloats(&b, static_cast<size_t>(tokens) * D);
        b.mergePatches(x.get(), D, *ctx, merged.get());  // [tokens, D · merge²]
        linear(*w_.merging, merged.get(), mergedWidth, tokens, mergedOut.get(), D);
        features = mergedOut.get();
    }
    DeviceFloats hidden(&b, static_cast<size_t>(tokens) * E), projected(&b, static_cast<size_t>(tokens) * E);
    linear(*w_.wIn, features, D, tokens, hidden.get(), E);
    if (d.projectorBias) b.addBias(hidden.get(), E, w_.wInBias.get(), tokens, E);
    b.gelu(hidden.get(), E, tokens, E);
    linear(*w_.wOut, hidden.get(), E, tokens, projected.get(), E);
    if (d.projectorBias) b.addBias(projected.get(), E, w_.wOutBias.get(), tokens, E);
    b.download(out, projected.get(), static_cast<size_t>(tokens) * E);
    b.synchronize();
}

}  // namespace ms4
