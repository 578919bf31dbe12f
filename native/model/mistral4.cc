// Mistral Small 4 forward (docs/model.md#forward-pass) written once against the Backend interface.
#include "model/mistral4.h"

#include <algorithm>
#include <stdexcept>

#include "model/weight_sources.h"

namespace ms4 {

Mistral4Model::Mistral4Model(const ModelSpec& spec, std::unique_ptr<Backend> backend, const WeightStore& store,
                             const Progress& progress, const Cancelled& cancelled)
    : spec_(spec), backend_(std::move(backend)) {
    if (!backend_) throw std::runtime_error("Mistral4Model: no backend");
    const ModelDims& d = spec_.dims;
    const MlaDims mla{d.heads, d.nope, d.rope, d.v, d.kvLora, d.softmaxScale};
    std::vector<uint8_t> scratch;
    size_t total = 2, done = 0;
    for (const LayerRef& l : spec_.layers) total += 7 + 3 * (l.experts.size() + (l.hasShared ? 1 : 0));
    if (spec_.hasVision) total += pixtralLoadSteps(spec_.vision);
    auto step = [&](const char* what) {
        if (cancelled()) throw std::runtime_error("aborted");
        progress("repack", ++done, total);
        (void)what;
    };
    auto prepare = [&](const LinearRef& ref, const std::string& name) {
        std::unique_ptr<LinearWeights> w = backend_->prepareLinear(linearSource(store, ref, scratch, name));
        releaseSource(store, ref);
        weightBytes_ += w->bytes;
        return w;
    };
    auto norm = [&](const NormRef& ref, const std::string& name) {
        weightBytes_ += static_cast<uint64_t>(ref.size) * 4;
        return uploadFloats(backend_.get(), normWeights(store, ref, name));
    };

    embedding_ = prepare(spec_.embedding, "tok_embeddings");
    step("embedding");
    layers_.resize(spec_.layers.size());
    for (size_t i = 0; i < spec_.layers.size(); ++i) {
        const LayerRef& r = spec_.layers[i];
        LayerWeights& w = layers_[i];
        const std::string p = "layers." + std::to_string(i) + ".";
        w.attentionNorm = norm(r.attentionNorm, p + "attention_norm");
        w.qANorm = norm(r.qANorm, p + "attention.q_a_norm");
        w.kvANorm = norm(r.kvANorm, p + "attention.kv_a_norm");
        w.ffnNorm = norm(r.ffnNorm, p + "ffn_norm");
        w.wqA = prepare(r.wqA, p + "attention.wq_a");
        step("wq_a");
        w.wqB = prepare(r.wqB, p + "attention.wq_b");
        step("wq_b");
        w.wkvA = prepare(r.wkvA, p + "attention.wkv_a_with_mqa");
        step("wkv_a");
        w.wkvB = backend_->prepareMlaUp(linearSource(store, r.wkvB, scratch, p + "attention.wkv_b"), mla);
        weightBytes_ += w.wkvB->bytes;
        releaseSource(store, r.wkvB);
        step("wkv_b");
        w.wo = prepare(r.wo, p + "attention.wo");
        step("wo");
        w.router = prepare(r.router, p + "gate");
        step("gate");
        w.experts.resize(r.experts.size());
        for (size_t e = 0; e < r.experts.size(); ++e) {
            const std::string ep = p + "experts." + std::to_string(e) + ".";
            w.experts[e].w1 = prepare(r.experts[e].w1, ep + "w1");
            w.experts[e].w2 = prepare(r.experts[e].w2, ep + "w2");
            w.experts[e].w3 = prepare(r.experts[e].w3, ep + "w3");
            step("expert");
            step("expert");
            step("expert");
        }
        if (r.hasShared) {
            w.shared.w1 = prepare(r.shared.w1, p + "shared_experts.w1");
            w.shared.w2 = prepare(r.shared.w2, p + "shared_experts.w2");
            w.shared.w3 = prepare(r.shared.w3, p + "shared_experts.w3");
            step("shared");
            step("shared");
            step("shared");
        }
        w.moe.router = w.router.get();
        for (const ExpertOwned& e : w.experts) w.moe.experts.push_back({e.w1.get(), e.w3.get(), e.w2.get()});
        w.moe.hasShared = r.hasShared;
        if (r.hasShared) w.moe.shared = {w.shared.w1.get(), w.shared.w3.get(), w.shared.w2.get()};
        w.moe.topK = d.topK;
        w.moe.normTopk = d.normTopk;
        w.moe.routedScale = d.routedScale;
        step("layer");
    }
    finalNorm_ = norm(spec_.finalNorm, "norm");
    lmHead_ = prepare(spec_.lmHead, "output");
    step("output");
    if (spec_.hasVision) {
        if (spec_.vision.dims.textHidden != d.hidden) {
            throw std::runtime_error("vision tower: the projector's output size differs from the hidden size");
        }
        PixtralWeights vw = loadPixtralWeights(spec_.vision, *backend_, store, [&]() { step("vision"); });
        weightBytes_ += vw.bytes;
        vision_ = std::make_unique<PixtralEncoder>(spec_.vision.dims, *backend_, std::move(vw));
    }
    kv_ = backend_->allocKvCache(spec_.kv);
    allocateArena();
}

Mistral4Model::~Mistral4Model() = default;

void Mistral4Model::allocateArena() {
    const ModelDims& d = spec_.dims;
    if (spec_.maxStepTokens < 1 || spec_.logitRowsPerChunk < 1) {
        throw std::runtime_error("Mistral4Model: maxStepTokens and logitRowsPerChunk must be positive");
    }
    const size_t t = static_cast<size_t>(spec_.maxStepTokens), rows = static_cast<size_t>(spec_.logitRowsPerChunk);
    const size_t qk = static_cast<size_t>(d.nope) + d.rope, H = d.heads;
    // Sizes in floats, in carving order.
    const size_t sizes[] = {
        t * d.hidden,                                  // x: [T, D] residual stream
        t * d.hidden,                                  // normed: [T, D]
        t * d.qLora,                                   // cq: [T, q_lora]
        t * H * qk,                                    // q: [T, H, nope + rope]
        t * (static_cast<size_t>(d.kvLora) + d.rope),  // kva: [T, L + R]
        t * H * d.kvLora,                              // qLat: [T, H, L]
        t * H * d.kvLora,                              // oLat: [T, H, L]
        t * H * d.v,                                   // attn: [T, H, v]
        t * d.hidden,                                  // tmp: [T, D]
        rows * d.hidden,                               // selected: [rows, D] final-normed logit rows
        rows * d.vocab,                                // logits: [rows, vocab]
    };
    size_t total = 0;
    for (size_t n : sizes) total += (n + 15) / 16 * 16;  // 64-byte aligned slices
    arena_ = DeviceFloats(backend_.get(), total);
    float** slices[] = {&x_, &normed_, &cq_, &q_, &kva_, &qLat_, &oLat_, &attn_, &tmp_, &selected_, &logits_};
    float* next = arena_.get();
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        *slices[i] = next;
        next += (sizes[i] + 15) / 16 * 16;
    }
}

void Mistral4Model::encodeImages(const VisionInputs& in, const float* pixels, float* out, const Cancelled& cancelled) {
    if (!vision_) throw std::runtime_error("this checkpoint has no vision tower");
    vision_->encode(in, pixels, out, cancelled);
}

void Mistral4Model::forward(const StepInputs& in, float* logits, AttentionForm form, const Cancelled& cancelled) {
    const ModelDims& d = spec_.dims;
    const int T = in.numTokens, D = d.hidden, H = d.heads, L = d.kvLora, R = d.rope;
    const int qk = d.nope + R, kvWidth = L + R;
    if (T < 1 || T > spec_.maxStepTokens) {
        throw std::runtime_error("step of " + std::to_string(T) + " tokens outside [1, " +
                                 std::to_string(spec_.maxStepTokens) + "] (the arena's size)");
    }
    if (in.numInputRows > 0 && in.embeddingWidth != D) {
        throw std::runtime_error("input embeddings have " + std::to_string(in.embeddingWidth) +
                                 " values per row, the hidden size is " + std::to_string(D));
    }
    Backend& b = *backend_;
    const std::unique_ptr<StepContext> step = b.beginStep(in);
    const MlaDims mla{H, d.nope, R, d.v, L, d.softmaxScale};
    const RopeParams rope{d.invFreq, d.ropeAttentionFactor};
    const QueryScaling qscale{d.queryScaleBeta, d.queryScaleOriginalMax};
    float *x = x_, *normed = normed_, *cq = cq_, *q = q_, *kva = kva_;

    b.embedTokens(*embedding_, *step, x);  // x: [T, D] (input-embedding rows replace their token's row)
    auto stopIfCancelled = [&] {
        if (cancelled && cancelled()) throw std::runtime_error("aborted");
    };
    for (size_t l = 0; l < layers_.size(); ++l) {
        stopIfCancelled();
        const LayerWeights& w = layers_[l];
        const int layer = static_cast<int>(l);
        // ---- MLA attention ----
        b.rmsNorm(x, D, w.attentionNorm.get(), T, D, d.rmsEps, normed, D);  // normed: [T, D]
        b.linear(*w.wqA, normed, D, T, cq, d.qLora);                        // cq: [T, q_lora]
        b.rmsNorm(cq, d.qLora, w.qANorm.get(), T, d.qLora, d.rmsEps, cq, d.qLora);
        b.linear(*w.wqB, cq, d.qLora, T, q, H * qk);                             // q: [T, H, nope + rope]
        b.linear(*w.wkvA, normed, D, T, kva, kvWidth);                           // kva: [T, L + R]
        b.rmsNorm(kva, kvWidth, w.kvANorm.get(), T, L, d.rmsEps, kva, kvWidth);  // normalised latent c_kv
        b.ropeInterleaved(q + d.nope, H, H * qk, qk, *step, rope);               // q_pe
        b.ropeInterleaved(kva + L, 1, kvWidth, 0, *step, rope);                  // k_pe (one head shared by all)
        b.queryScale(q, H * qk, H * qk, *step, qscale);                          // llama-4 temperature on all of q
        b.kvWrite(*kv_, layer, kva, kvWidth, kva + L, kvWidth, *step);
        if (form == AttentionForm::Expanded) {
            b.mlaAttentionExpanded(q, H * qk, *kv_, layer, *step, *w.wkvB, attn_);
        } else {
            b.mlaAbsorbQuery(q, H * qk, *w.wkvB, T, qLat_);                            // q_lat: [T, H, L]
            b.mlaAttentionAbsorbed(qLat_, q, H * qk, *kv_, layer, *step, mla, oLat_);  // o_lat: [T, H, L]
            b.mlaAbsorbOutput(oLat_, *w.wkvB, T, attn_);                               // attn: [T, H, v]
        }
        b.linear(*w.wo, attn_, H * d.v, T, tmp_, D);  // o: [T, D]
        b.addInPlace(x, tmp_, static_cast<size_t>(T) * D);
        // ---- MoE ----
        stopIfCancelled();
        b.rmsNorm(x, D, w.ffnNorm.get(), T, D, d.rmsEps, normed, D);
        b.moe(w.moe, normed, T, D, tmp_);  // routed top-k + shared expert
        b.addInPlace(x, tmp_, static_cast<size_t>(T) * D);
    }
    // ---- final norm and lm_head on the requested rows only, logitRowsPerChunk rows at a time ----
    for (int first = 0; first < in.numLogitRows; first += spec_.logitRowsPerChunk) {
        const int rows = std::min(spec_.logitRowsPerChunk, in.numLogitRows - first);
        b.gatherLogitRows(x, D, D, *step, first, rows, selected_);  // selected: [rows, D]
        b.rmsNorm(selected_, D, finalNorm_.get(), rows, D, d.rmsEps, selected_, D);
        b.linear(*lmHead_, selected_, D, rows, logits_, d.vocab);  // logits: [rows, vocab]
        b.download(logits + static_cast<size_t>(first) * d.vocab, logits_, static_cast<size_t>(rows) * d.vocab);
    }
    b.synchronize();
}

}  // namespace ms4
