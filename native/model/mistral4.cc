// Mistral Small 4 forward (MODEL-SPEC §2) written once against the Backend interface.
#include "model/mistral4.h"

#include <stdexcept>

#include "cpu/cpu_backend.h"
#include "model/weight_sources.h"
#include "ref/ref_ops.h"

namespace ms4 {

namespace {

DeviceFloats uploadFloats(Backend* b, const std::vector<float>& host) {
    DeviceFloats d(b, host.size());
    b->upload(d.get(), host.data(), host.size());
    return d;
}

}  // namespace

Mistral4Model::Mistral4Model(const ModelSpec& spec, const WeightStore& store, const Progress& progress,
                             const Cancelled& cancelled)
    : spec_(spec), backend_(createCpuBackend(spec.threads, spec.cpuPath, spec.nvfp4Activations)) {
    const ModelDims& d = spec_.dims;
    std::vector<uint8_t> scratch;
    size_t total = 2, done = 0;
    for (const LayerRef& l : spec_.layers) total += 7 + 3 * (l.experts.size() + (l.hasShared ? 1 : 0));
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
        {
            // wkv_b: [H·(nope+v), L] dequantized to float32 for both attention forms.
            const LinearSource src = linearSource(store, r.wkvB, scratch, p + "attention.wkv_b");
            std::vector<float> host(static_cast<size_t>(src.rows) * src.cols);
            for (int row = 0; row < src.rows; ++row)
                ref::weightRow(src, row, host.data() + static_cast<size_t>(row) * src.cols);
            w.wkvB = uploadFloats(backend_.get(), host);
            weightBytes_ += host.size() * 4;
            releaseSource(store, r.wkvB);
        }
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
    kv_ = backend_->allocKvCache(spec_.kv);
}

Mistral4Model::~Mistral4Model() = default;

void Mistral4Model::ensureScratch(int T) {
    if (T <= capacity_) return;
    const ModelDims& d = spec_.dims;
    const size_t t = static_cast<size_t>(T);
    const int qk = d.nope + d.rope;
    x_ = DeviceFloats(backend_.get(), t * d.hidden);
    normed_ = DeviceFloats(backend_.get(), t * d.hidden);
    cq_ = DeviceFloats(backend_.get(), t * d.qLora);
    q_ = DeviceFloats(backend_.get(), t * d.heads * qk);
    kva_ = DeviceFloats(backend_.get(), t * (d.kvLora + d.rope));
    qLat_ = DeviceFloats(backend_.get(), t * d.heads * d.kvLora);
    oLat_ = DeviceFloats(backend_.get(), t * d.heads * d.kvLora);
    attn_ = DeviceFloats(backend_.get(), t * d.heads * d.v);
    tmp_ = DeviceFloats(backend_.get(), t * d.hidden);
    capacity_ = T;
}

// Absorbed attention costs ~H·(2L+R) per (token, visible entry); the expanded form re-expands K/V once per
// (sequence, visible entry) at H·(nope+v)·L and then costs H·(nope+R+v) per (token, entry). Pick the cheaper.
AttentionForm Mistral4Model::chooseAttention(const StepInputs& in) const {
    if (in.attention != AttentionForm::Auto) return in.attention;
    const ModelDims& d = spec_.dims;
    const AttentionBatch& b = in.batch;
    double absorbed = 0, expanded = 0;
    for (int s = 0; s < b.numSeqs; ++s) {
        const double n = b.seqStarts[s + 1] - b.seqStarts[s];
        const double ctx = b.contextLens[s];
        const double pairs = n * ctx - n * (n - 1) / 2;  // Σ visible entries over the new tokens
        absorbed += pairs * (2.0 * d.kvLora + d.rope) + n * (d.nope + d.v) * d.kvLora;
        expanded += ctx * (d.nope + d.v) * d.kvLora + pairs * (d.nope + d.rope + d.v);
    }
    return expanded < absorbed ? AttentionForm::Expanded : AttentionForm::Absorbed;
}

void Mistral4Model::forward(const StepInputs& in, float* logits) {
    const ModelDims& d = spec_.dims;
    const int T = in.numTokens, D = d.hidden, H = d.heads, L = d.kvLora, R = d.rope;
    const int qk = d.nope + R, kvWidth = L + R;
    ensureScratch(T);
    Backend& b = *backend_;
    const MlaDims mla{H, d.nope, R, d.v, L, d.softmaxScale};
    const RopeParams rope{d.invFreq, d.ropeAttentionFactor};
    const QueryScaling qscale{d.queryScaleBeta, d.queryScaleOriginalMax};
    const AttentionForm form = chooseAttention(in);
    float *x = x_.get(), *normed = normed_.get(), *cq = cq_.get(), *q = q_.get(), *kva = kva_.get();

    b.embedRows(*embedding_, in.tokens, T, x);  // x: [T, D]
    auto stopIfCancelled = [&] {
        if (in.cancelled && in.cancelled()) throw std::runtime_error("aborted");
    };
    for (size_t l = 0; l < layers_.size(); ++l) {
        stopIfCancelled();
        const LayerWeights& w = layers_[l];
        // ---- MLA attention ----
        b.rmsNorm(x, D, w.attentionNorm.get(), T, D, d.rmsEps, normed, D);  // normed: [T, D]
        b.linear(*w.wqA, normed, D, T, cq, d.qLora);                        // cq: [T, q_lora]
        b.rmsNorm(cq, d.qLora, w.qANorm.get(), T, d.qLora, d.rmsEps, cq, d.qLora);
        b.linear(*w.wqB, cq, d.qLora, T, q, H * qk);                             // q: [T, H, nope + rope]
        b.linear(*w.wkvA, normed, D, T, kva, kvWidth);                           // kva: [T, L + R]
        b.rmsNorm(kva, kvWidth, w.kvANorm.get(), T, L, d.rmsEps, kva, kvWidth);  // normalised latent c_kv
        b.ropeInterleaved(q + d.nope, T, H, H * qk, qk, in.positions, rope);     // q_pe
        b.ropeInterleaved(kva + L, T, 1, kvWidth, 0, in.positions, rope);        // k_pe (one head shared by all)
        b.queryScale(q, T, H * qk, H * qk, in.positions, qscale);                // llama-4 temperature on all of q
        b.kvWrite(*kv_, static_cast<int>(l), kva, kvWidth, kva + L, kvWidth, in.slotMapping, T);
        if (form == AttentionForm::Expanded) {
            b.mlaAttentionExpanded(q, H * qk, *kv_, static_cast<int>(l), in.batch, w.wkvB.get(), mla, attn_.get());
        } else {
            b.mlaAbsorbQuery(q, H * qk, w.wkvB.get(), mla, T, qLat_.get());  // q_lat: [T, H, L]
            b.mlaAttentionAbsorbed(qLat_.get(), q, H * qk, *kv_, static_cast<int>(l), in.batch, mla, oLat_.get());
            b.mlaAbsorbOutput(oLat_.get(), w.wkvB.get(), mla, T, attn_.get());  // attn: [T, H, v]
        }
        b.linear(*w.wo, attn_.get(), H * d.v, T, tmp_.get(), D);  // o: [T, D]
        b.addInPlace(x, tmp_.get(), static_cast<size_t>(T) * D);
        // ---- MoE ----
        stopIfCancelled();
        b.rmsNorm(x, D, w.ffnNorm.get(), T, D, d.rmsEps, normed, D);
        b.moe(w.moe, normed, T, D, tmp_.get());  // routed top-k + shared expert
        b.addInPlace(x, tmp_.get(), static_cast<size_t>(T) * D);
    }
    // ---- final norm and lm_head on the requested rows only ----
    const int rows = in.numLogitRows;
    if (rows == 0) return;
    DeviceFloats selected(backend_.get(), static_cast<size_t>(rows) * D);
    for (int r = 0; r < rows; ++r) {
        const int row = in.logitRows[r];
        if (row < 0 || row >= T) throw std::runtime_error("logit row " + std::to_string(row) + " out of range");
        b.rmsNorm(x + static_cast<size_t>(row) * D, D, finalNorm_.get(), 1, D, d.rmsEps,
                  selected.get() + static_cast<size_t>(r) * D, D);
    }
    DeviceFloats out(backend_.get(), static_cast<size_t>(rows) * d.vocab);
    b.linear(*lmHead_, selected.get(), D, rows, out.get(), d.vocab);  // logits: [rows, vocab]
    b.download(logits, out.get(), static_cast<size_t>(rows) * d.vocab);
}

}  // namespace ms4
