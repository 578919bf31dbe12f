#include "napi/model_spec_parse.h"

#include <limits>

#include "napi/js_args.h"

namespace ms4 {

namespace {

constexpr int64_t kMaxDim = 1 << 24;

int tensorIndex(const Napi::Object& o, const char* key, const std::string& where, size_t count, bool optional) {
    const int idx = js::integer(o, key, where, optional ? -1 : 0, static_cast<int64_t>(count) - 1);
    return idx;
}

TensorDtype dtypeField(const Napi::Object& o, const char* key, const std::string& where) {
    try {
        return parseTensorDtype(js::string(o, key, where));
    } catch (const std::runtime_error& e) {
        throw Napi::TypeError::New(o.Env(), where + "." + key + ": " + e.what());
    }
}

LinearRef linear(const Napi::Object& parent, const char* key, const std::string& where, size_t count) {
    const std::string w = where + "." + key;
    Napi::Object o = js::object(parent, key, where);
    LinearRef r;
    r.format = static_cast<WeightFormat>(js::integer(o, "format", w, 0, 2));
    r.rows = js::integer(o, "rows", w, 1, kMaxDim);
    r.cols = js::integer(o, "cols", w, 1, kMaxDim);
    r.weight = tensorIndex(o, "weight", w, count, false);
    r.weightDtype = dtypeField(o, "weightDtype", w);
    r.blockScales = tensorIndex(o, "blockScales", w, count, true);
    r.scale = tensorIndex(o, "scale", w, count, true);
    r.scaleDtype = dtypeField(o, "scaleDtype", w);
    if (r.format != WeightFormat::BF16 && r.scale < 0) throw Napi::RangeError::New(o.Env(), w + ".scale is required");
    if (r.format == WeightFormat::NVFP4 && r.blockScales < 0) {
        throw Napi::RangeError::New(o.Env(), w + ".blockScales is required for NVFP4");
    }
    return r;
}

NormRef norm(const Napi::Object& parent, const char* key, const std::string& where, size_t count) {
    const std::string w = where + "." + key;
    Napi::Object o = js::object(parent, key, where);
    NormRef r;
    r.weight = tensorIndex(o, "weight", w, count, false);
    r.dtype = dtypeField(o, "dtype", w);
    r.size = js::integer(o, "size", w, 1, kMaxDim);
    return r;
}

ExpertRef expert(const Napi::Object& o, const std::string& where, size_t count) {
    return {linear(o, "w1", where, count), linear(o, "w2", where, count), linear(o, "w3", where, count)};
}

bool present(const Napi::Object& o, const char* key) {
    Napi::Value v = o.Get(key);
    return !v.IsUndefined() && !v.IsNull();
}

VisionSpec vision(const Napi::Object& o, size_t count) {
    Napi::Env env = o.Env();
    const std::string w = "spec.vision";
    VisionSpec v;
    Napi::Object d = js::object(o, "dims", w);
    const std::string dw = w + ".dims";
    VisionDims& vd = v.dims;
    vd.hidden = js::integer(d, "hiddenSize", dw, 1, kMaxDim);
    vd.layers = js::integer(d, "numLayers", dw, 0, 1024);
    vd.heads = js::integer(d, "numHeads", dw, 1, 4096);
    vd.headDim = js::integer(d, "headDim", dw, 4, 4096);
    vd.intermediate = js::integer(d, "intermediateSize", dw, 1, kMaxDim);
    vd.channels = js::integer(d, "numChannels", dw, 1, 16);
    vd.patchSize = js::integer(d, "patchSize", dw, 1, 1024);
    vd.merge = js::integer(d, "spatialMergeSize", dw, 1, 64);
    vd.textHidden = js::integer(d, "textHiddenSize", dw, 1, kMaxDim);
    vd.ropeTheta = js::number(d, "ropeTheta", dw);
    vd.eps = static_cast<float>(js::number(d, "rmsNormEps", dw));
    vd.preMmNorm = js::boolean(d, "preMmNorm");
    vd.projectorBias = js::boolean(d, "projectorBias");
    vd.qkRowsPermuted = js::boolean(d, "qkRowsPermuted");
    v.patchConv = linear(o, "patchConv", w, count);
    v.lnPre = norm(o, "lnPre", w, count);
    Napi::Value layersValue = o.Get("layers");
    if (!layersValue.IsArray()) throw Napi::TypeError::New(env, w + ".layers must be an array");
    Napi::Array layers = layersValue.As<Napi::Array>();
    if (static_cast<int>(layers.Length()) != vd.layers) {
        throw Napi::RangeError::New(env, w + ".layers must have numLayers entries");
    }
    for (uint32_t i = 0; i < layers.Length(); ++i) {
        const std::string lw = w + ".layers[" + std::to_string(i) + "]";
        Napi::Value lv = layers.Get(i);
        if (!lv.IsObject()) throw Napi::TypeError::New(env, lw + " must be an object");
        Napi::Object lo = lv.As<Napi::Object>();
        VisionLayerRef l;
        l.attentionNorm = norm(lo, "attentionNorm", lw, count);
        l.ffnNorm = norm(lo, "ffnNorm", lw, count);
        l.wq = linear(lo, "wq", lw, count);
        l.wk = linear(lo, "wk", lw, count);
        l.wv = linear(lo, "wv", lw, count);
        l.wo = linear(lo, "wo", lw, count);
        l.w1 = linear(lo, "w1", lw, count);
        l.w2 = linear(lo, "w2", lw, count);
        l.w3 = linear(lo, "w3", lw, count);
        v.layers.push_back(std::move(l));
    }
    if (vd.preMmNorm) v.preMmNorm = norm(o, "preMmNorm", w, count);
    if (vd.merge > 1) v.merging = linear(o, "merging", w, count);
    v.wIn = linear(o, "wIn", w, count);
    v.wOut = linear(o, "wOut", w, count);
    if (vd.projectorBias) {
        v.wInBias = norm(o, "wInBias", w, count);
        v.wOutBias = norm(o, "wOutBias", w, count);
    }
    return v;
}

}  // namespace

ModelSpec parseModelSpec(const Napi::Object& s, size_t count) {
    ModelSpec spec;
    Napi::Env env = s.Env();
    Napi::Object d = js::object(s, "dims", "spec");
    ModelDims& m = spec.dims;
    const std::string w = "spec.dims";
    m.hidden = js::integer(d, "hiddenSize", w, 1, kMaxDim);
    m.layers = js::integer(d, "numLayers", w, 1, 1024);
    m.vocab = js::integer(d, "vocabSize", w, 1, kMaxDim);
    m.heads = js::integer(d, "numHeads", w, 1, 4096);
    m.qLora = js::integer(d, "qLoraRank", w, 1, kMaxDim);
    m.kvLora = js::integer(d, "kvLoraRank", w, 1, kMaxDim);
    m.nope = js::integer(d, "qkNopeHeadDim", w, 1, 4096);
    m.rope = js::integer(d, "qkRopeHeadDim", w, 2, 4096);
    m.v = js::integer(d, "vHeadDim", w, 1, 4096);
    m.experts = js::integer(d, "numExperts", w, 1, 65536);
    m.topK = js::integer(d, "numExpertsPerToken", w, 1, m.experts);
    m.normTopk = js::boolean(d, "normTopkProb");
    m.routedScale = static_cast<float>(js::number(d, "routedScalingFactor", w));
    m.rmsEps = static_cast<float>(js::number(d, "rmsNormEps", w));
    m.softmaxScale = static_cast<float>(js::number(d, "softmaxScale", w));
    m.invFreq = js::float64s(d, "invFreq", w);
    if (static_cast<int>(m.invFreq.size()) * 2 != m.rope) {
        throw Napi::RangeError::New(env, "spec.dims.invFreq must hold qkRopeHeadDim / 2 values");
    }
    m.ropeAttentionFactor = js::number(d, "ropeAttentionFactor", w);
    m.queryScaleBeta = js::number(d, "queryScaleBeta", w);
    m.queryScaleOriginalMax = js::integer(d, "queryScaleOriginalMax", w, 1, std::numeric_limits<int>::max());

    spec.embedding = linear(s, "embedding", "spec", count);
    spec.lmHead = linear(s, "lmHead", "spec", count);
    spec.finalNorm = norm(s, "finalNorm", "spec", count);
    Napi::Value layersValue = s.Get("layers");
    if (!layersValue.IsArray()) throw Napi::TypeError::New(env, "spec.layers must be an array");
    Napi::Array layers = layersValue.As<Napi::Array>();
    if (static_cast<int>(layers.Length()) != m.layers) {
        throw Napi::RangeError::New(env, "spec.layers must have numLayers entries");
    }
    for (uint32_t i = 0; i < layers.Length(); ++i) {
        const std::string lw = "spec.layers[" + std::to_string(i) + "]";
        Napi::Value lv = layers.Get(i);
        if (!lv.IsObject()) throw Napi::TypeError::New(env, lw + " must be an object");
        Napi::Object lo = lv.As<Napi::Object>();
        LayerRef l;
        l.attentionNorm = norm(lo, "attentionNorm", lw, count);
        l.qANorm = norm(lo, "qANorm", lw, count);
        l.kvANorm = norm(lo, "kvANorm", lw, count);
        l.ffnNorm = norm(lo, "ffnNorm", lw, count);
        l.wqA = linear(lo, "wqA", lw, count);
        l.wqB = linear(lo, "wqB", lw, count);
        l.wkvA = linear(lo, "wkvA", lw, count);
        l.wkvB = linear(lo, "wkvB", lw, count);
        l.wo = linear(lo, "wo", lw, count);
        l.router = linear(lo, "router", lw, count);
        Napi::Value shared = lo.Get("shared");
        if (shared.IsObject()) {
            l.hasShared = true;
            l.shared = expert(shared.As<Napi::Object>(), lw + ".shared", count);
        }
        Napi::Value ev = lo.Get("experts");
        if (!ev.IsArray()) throw Napi::TypeError::New(env, lw + ".experts must be an array");
        Napi::Array experts = ev.As<Napi::Array>();
        if (static_cast<int>(experts.Length()) != m.experts) {
            throw Napi::RangeError::New(env, lw + ".experts must have numExperts entries");
        }
        for (uint32_t e = 0; e < experts.Length(); ++e) {
            Napi::Value x = experts.Get(e);
            if (!x.IsObject()) throw Napi::TypeError::New(env, lw + ".experts[i] must be an object");
            l.experts.push_back(expert(x.As<Napi::Object>(), lw + ".experts[" + std::to_string(e) + "]", count));
        }
        spec.layers.push_back(std::move(l));
    }
    Napi::Object kv = js::object(s, "kvCache", "spec");
    spec.kv.layers = m.layers;
    spec.kv.numBlocks = js::integer(kv, "numBlocks", "spec.kvCache", 1, std::numeric_limits<int>::max());
    spec.kv.blockSize = js::integer(kv, "blockSize", "spec.kvCache", 1, 1 << 16);
    spec.kv.latent = m.kvLora;
    spec.kv.rope = m.rope;
    const std::string dtype = js::string(kv, "dtype", "spec.kvCache");
    if (dtype != "bf16" && dtype != "f32") throw Napi::TypeError::New(env, "spec.kvCache.dtype must be bf16 or f32");
    spec.kv.dtype = dtype == "f32" ? KvDtype::F32 : KvDtype::BF16;
    Napi::Object scratch = js::object(s, "scratch", "spec");
    spec.maxStepTokens = js::integer(scratch, "maxStepTokens", "spec.scratch", 1, 1 << 20);
    spec.logitRowsPerChunk = js::integer(scratch, "logitRowsPerChunk", "spec.scratch", 1, 1 << 16);
    if (present(s, "vision")) {
        spec.hasVision = true;
        spec.vision = vision(js::object(s, "vision", "spec"), count);
    }
    return spec;
}

BackendOptions parseBackendOptions(const Napi::Object& o) {
    BackendOptions b;
    const std::string w = "backend";
    b.device = js::string(o, "device", w);
    if (b.device != "cpu" && b.device != "cuda")
        throw Napi::TypeError::New(o.Env(), "backend.device must be cpu or cuda");
    b.deviceIndex = js::integer(o, "deviceIndex", w, 0, 1024);
    Napi::Object cpu = js::object(o, "cpu", w);
    const std::string cw = "backend.cpu";
    b.cpu.threads = js::integer(cpu, "threads", cw, 1, 4096);
    b.cpu.path = js::string(cpu, "path", cw);
    b.cpu.nvfp4Activations = js::string(cpu, "nvfp4Activations", cw);
    b.cpu.hugePages = js::boolean(cpu, "hugePages");
    return b;
}

}  // namespace ms4
