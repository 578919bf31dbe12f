#include "napi/model_object.h"

#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/input_checks.h"
#include "napi/env_state.h"
#include "napi/js_args.h"
#include "napi/model_spec_parse.h"
#include "napi/progress_events.h"
#include "napi/safe_settle.h"
#include "napi/sampling_batch.h"
#include "napi/weights_object.h"

namespace ms4 {

namespace {

// Completions never throw and settle nothing once the environment is shutting down (napi/safe_settle.h);
// the work holds the shared ModelState and WeightStore, never the JS objects, and stops early when
// TeardownWatch sees its environment shutting down.
class LoadWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
   public:
    LoadWorker(Napi::Env env, ModelObject* owner, WeightsObject* weights, ModelSpec spec, BackendOptions backend,
               Napi::Function onProgress)
        : Napi::AsyncProgressQueueWorker<ProgressEvent>(env, "ms4:model-load"),
          deferred_(Napi::Promise::Deferred::New(env)),
          state_(owner->state()),
          store_(weights->store()),
          weightsFlags_(weights->loadFlags()),
          spec_(std::move(spec)),
          backend_(std::move(backend)),
          watch_(EnvState::of(env)) {
        if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
        // The weights stay mapped while the model reads them: their dispose() refuses until this load settles.
        weightsFlags_->busy = true;
    }
    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute(const ExecutionProgress& progress) override {
        watch_.start();
        try {
            auto report = [&](const char* phase, uint64_t done, uint64_t total) {
                ProgressEvent ev{phase, static_cast<double>(done), static_cast<double>(total)};
                progress.Send(&ev, 1);
            };
            // A file truncated under its mapping stops the repack at the next weight (its bytes read as zeros).
            auto cancelled = [&]() { return state_->cancel.load() || watch_.stopping() || store_->faulted(); };
            model_ = std::make_shared<Mistral4Model>(spec_, createBackend(backend_), *store_, report, cancelled);
            // Nothing read from a file that changed under the load is kept.
            store_->checkUnchanged();
        } catch (const std::exception& e) {
            model_.reset();
            SetError(changedFileError().value_or(e.what()));
        } catch (...) {
            model_.reset();
            SetError(changedFileError().value_or("unknown native error while preparing the model"));
        }
    }
    void OnProgress(const ProgressEvent* data, size_t count) override {
        deliverProgress(Env(), onProgress_, data, count);
    }
    void OnOK() override {
        state_->model = std::move(model_);
        state_->maxStepTokens = spec_.maxStepTokens;
        state_->busy = false;
        weightsFlags_->busy = false;
        resolveSafely(Env(), deferred_, [&] { return Env().Undefined(); });
    }
    void OnError(const Napi::Error& e) override {
        state_->busy = false;
        weightsFlags_->busy = false;
        rejectSafely(Env(), deferred_, e);
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<ModelState> state_;
    Napi::FunctionReference onProgress_;
    // The message of a file that changed under the load, which explains a failure better than what it caused.
    std::optional<std::string> changedFileError() const {
        try {
            store_->checkUnchanged();
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::nullopt;
    }

    std::shared_ptr<WeightStore> store_;
    std::shared_ptr<WeightsLoadFlags> weightsFlags_;
    ModelSpec spec_;
    BackendOptions backend_;
    TeardownWatch watch_;
    std::shared_ptr<Mistral4Model> model_;
};

// The step's arrays, copied out of JS (the JS side may reuse its buffers while the worker runs).
struct StepData {
    std::vector<int32_t> tokens, positions, seqStarts, contextLens, blockTables, slotMapping, logitRows, inputRows;
    std::vector<float> inputEmbeddings;  // [inputRows.size(), hidden]
    int maxBlocksPerSeq = 0;
    bool returnLogits = false;
    AttentionForm attention = Mistral4Model::kProductionAttention;
    bool sample = false;
    std::unique_ptr<SamplingStorage> samplingStorage;
    SamplingBatch sampling;
};

// A view of the step's arrays as the model takes them.
StepInputs stepInputs(const StepData& data, int hidden) {
    StepInputs in;
    in.numTokens = static_cast<int>(data.tokens.size());
    in.tokens = data.tokens.data();
    in.positions = data.positions.data();
    in.slotMapping = data.slotMapping.data();
    in.numSeqs = static_cast<int>(data.contextLens.size());
    in.seqStarts = data.seqStarts.data();
    in.contextLens = data.contextLens.data();
    in.blockTables = data.blockTables.data();
    in.maxBlocksPerSeq = data.maxBlocksPerSeq;
    in.numLogitRows = static_cast<int>(data.logitRows.size());
    in.logitRows = data.logitRows.data();
    in.numInputRows = static_cast<int>(data.inputRows.size());
    in.inputRows = data.inputRows.data();
    in.inputEmbeddings = data.inputEmbeddings.data();
    in.embeddingWidth = hidden;
    return in;
}

StepData parseStep(const Napi::Object& o, const Mistral4Model& m, int maxStepTokens) {
    Napi::Env env = o.Env();
    const std::string w = "batch";
    StepData s;
    s.tokens = js::int32s(o, "tokens", w);
    const int64_t T = static_cast<int64_t>(s.tokens.size());
    if (T == 0) throw Napi::RangeError::New(env, "batch.tokens must not be empty");
    // Counts become ints below; no real step comes near this.
    auto notHuge = [&](size_t n, const char* field) {
        if (n > (size_t{1} << 30)) throw Napi::RangeError::New(env, w + "." + field + " has too many entries");
    };
    notHuge(s.tokens.size(), "tokens");
    s.positions = js::int32s(o, "positions", w, T);
    s.slotMapping = js::int32s(o, "slotMapping", w, T);
    s.seqStarts = js::int32s(o, "seqStarts", w);
    const int64_t S = static_cast<int64_t>(s.seqStarts.size()) - 1;
    if (S < 1) throw Napi::RangeError::New(env, "batch.seqStarts must have at least 2 entries");
    notHuge(s.seqStarts.size(), "seqStarts");
    s.contextLens = js::int32s(o, "contextLens", w, S);
    s.maxBlocksPerSeq = js::integer(o, "maxBlocksPerSeq", w, 1, 1 << 24);
    s.blockTables = js::int32s(o, "blockTables", w, S * s.maxBlocksPerSeq);
    s.logitRows = js::int32s(o, "logitRows", w);
    notHuge(s.logitRows.size(), "logitRows");
    s.returnLogits = js::boolean(o, "returnLogits");
    // Tests may force the other attention form; production leaves it to the model
    // (Mistral4Model::kProductionAttention).
    if (o.Has("attention") && !o.Get("attention").IsUndefined()) {
        const std::string form = js::string(o, "attention", w);
        if (form == "absorbed") {
            s.attention = AttentionForm::Absorbed;
        } else if (form == "expanded") {
            s.attention = AttentionForm::Expanded;
        } else {
            throw Napi::TypeError::New(env, "batch.attention must be absorbed or expanded");
        }
    }
    if (o.Has("inputRows") && !o.Get("inputRows").IsUndefined() && !o.Get("inputRows").IsNull()) {
        s.inputRows = js::int32s(o, "inputRows", w);
        notHuge(s.inputRows.size(), "inputRows");
        s.inputEmbeddings =
            js::float32s(o, "inputEmbeddings", w, static_cast<int64_t>(s.inputRows.size()) * m.dims().hidden);
    }
    // Every index the forward uses, checked as a whole (backend/input_checks.h); the error names the field.
    StepLimits limits;
    limits.cache = m.kvShape();
    limits.vocab = m.dims().vocab;
    limits.hidden = m.dims().hidden;
    limits.maxStepTokens = maxStepTokens;
    try {
        checkStepBatch(stepInputs(s, m.dims().hidden), limits);
    } catch (const StepInputError& e) {
        throw Napi::RangeError::New(env, w + "." + e.what());
    }
    Napi::Value sampling = o.Get("sampling");
    if (sampling.IsObject()) {
        s.sample = true;
        s.samplingStorage = std::make_unique<SamplingStorage>();
        s.sampling = parseSamplingBatch(sampling.As<Napi::Object>(), static_cast<int>(s.logitRows.size()),
                                        m.dims().vocab, *s.samplingStorage);
    } else if (!sampling.IsNull() && !sampling.IsUndefined()) {
        throw Napi::TypeError::New(env, "batch.sampling must be an object or null");
    }
    return s;
}

Napi::Float32Array float32Array(Napi::Env env, const std::vector<float>& v) {
    Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
    return a;
}

Napi::Int32Array int32Array(Napi::Env env, const std::vector<int32_t>& v) {
    Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(int32_t));
    return a;
}

// A step or an image encode on a loaded model: runs `run()` on a worker thread with the model's TeardownWatch (the
// forward stops at its next layer once the environment is shutting down), then clears the model's busy flag and
// settles the promise without throwing into a dying environment (napi/safe_settle.h).
class ModelTaskWorker : public Napi::AsyncWorker {
   public:
    ModelTaskWorker(Napi::Env env, const char* name, ModelObject* owner, const char* unknownError)
        : Napi::AsyncWorker(env, name),
          deferred_(Napi::Promise::Deferred::New(env)),
          state_(owner->state()),
          model_(owner->model()),
          watch_(EnvState::of(env)),
          unknownError_(unknownError) {}
    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() final {
        watch_.start();
        try {
            run([this] { return watch_.stopping(); });
        } catch (const std::exception& e) {
            SetError(e.what());
        } catch (...) {
            SetError(unknownError_);
        }
    }
    void OnOK() final {
        state_->busy = false;
        resolveSafely(Env(), deferred_, [this] { return result(Env()); });
    }
    void OnError(const Napi::Error& e) final {
        state_->busy = false;
        rejectSafely(Env(), deferred_, e);
    }

   protected:
    virtual void run(const Mistral4Model::Cancelled& stopping) = 0;
    virtual Napi::Value result(Napi::Env env) const = 0;
    const std::shared_ptr<Mistral4Model>& model() const { return model_; }

   private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<ModelState> state_;
    std::shared_ptr<Mistral4Model> model_;
    TeardownWatch watch_;
    const char* unknownError_;
};

class StepWorker : public ModelTaskWorker {
   public:
    StepWorker(Napi::Env env, ModelObject* owner, StepData data)
        : ModelTaskWorker(env, "ms4:step", owner, "unknown native error in the forward pass"), data_(std::move(data)) {}

   private:
    void run(const Mistral4Model::Cancelled& stopping) override {
        const StepInputs in = stepInputs(data_, model()->dims().hidden);
        const int vocab = model()->dims().vocab;
        logits_.resize(data_.logitRows.size() * static_cast<size_t>(vocab));
        model()->forward(in, logits_.data(), data_.attention, stopping);
        if (data_.sample && in.numLogitRows > 0) {
            sampleRows(logits_.data(), in.numLogitRows, vocab, data_.sampling, sampled_);
        }
    }

    Napi::Value result(Napi::Env env) const override {
        Napi::Object result = Napi::Object::New(env);
        result.Set("logits", data_.returnLogits ? Napi::Value(float32Array(env, logits_)) : env.Null());
        if (data_.sample) {
            result.Set("tokens", int32Array(env, sampled_.tokens));
            result.Set("logprobs", float32Array(env, sampled_.logprobs));
            result.Set("topIds", int32Array(env, sampled_.topIds));
            result.Set("topLogprobs", float32Array(env, sampled_.topLogprobs));
        }
        return result;
    }

    StepData data_;
    std::vector<float> logits_;
    SampleResult sampled_;
};

// One vision pass: the patch grids and the normalised pixels, copied out of JS.
struct VisionPass {
    std::vector<int32_t> patchRows, patchCols;
    std::vector<float> pixels;
    int tokens = 0;
};

VisionPass parseVisionPass(const Napi::Object& o, const Mistral4Model& m) {
    Napi::Env env = o.Env();
    const PixtralEncoder* enc = m.vision();
    if (enc == nullptr) throw Napi::Error::New(env, "this checkpoint has no vision tower");
    const VisionDims& d = enc->dims();
    const std::string w = "pass";
    VisionPass p;
    p.patchRows = js::int32s(o, "patchRows", w);
    p.patchCols = js::int32s(o, "patchCols", w, static_cast<int64_t>(p.patchRows.size()));
    if (p.patchRows.empty()) throw Napi::RangeError::New(env, "pass.patchRows must not be empty");
    int64_t pixels = 0, tokens = 0;
    for (size_t i = 0; i < p.patchRows.size(); ++i) {
        const int64_t r = p.patchRows[i], c = p.patchCols[i];
        if (r < 1 || c < 1 || r > 4096 || c > 4096 || r % d.merge != 0 || c % d.merge != 0) {
            throw Napi::RangeError::New(env, "pass: image " + std::to_string(i) +
                                                 " has a patch grid that is empty, too large or not divisible by the "
                                                 "merge size");
        }
        pixels += r * c * d.channels * d.patchSize * d.patchSize;
        tokens += (r / d.merge) * (c / d.merge);
        if (r * c > (1 << 20) || pixels > (int64_t{1} << 31)) throw Napi::RangeError::New(env, "pass: too many pixels");
    }
    p.pixels = js::float32s(o, "pixels", w, pixels);
    p.tokens = static_cast<int>(tokens);
    return p;
}

class EncodeWorker : public ModelTaskWorker {
   public:
    EncodeWorker(Napi::Env env, ModelObject* owner, VisionPass pass)
        : ModelTaskWorker(env, "ms4:encode-images", owner, "unknown native error in the vision encoder"),
          pass_(std::move(pass)) {}

   private:
    void run(const Mistral4Model::Cancelled& stopping) override {
        const VisionDims& d = model()->vision()->dims();
        VisionInputs in;
        in.numImages = static_cast<int>(pass_.patchRows.size());
        in.patchRows = pass_.patchRows.data();
        in.patchCols = pass_.patchCols.data();
        in.channels = d.channels;
        in.patchSize = d.patchSize;
        in.merge = d.merge;
        out_.resize(static_cast<size_t>(pass_.tokens) * d.textHidden);
        model()->encodeImages(in, pass_.pixels.data(), out_.data(), stopping);
    }

    Napi::Value result(Napi::Env env) const override { return float32Array(env, out_); }

    VisionPass pass_;
    std::vector<float> out_;
};

// Throws unless a step or encode may start now (loaded, not disposed, nothing else running, an object argument).
void startModelTask(Napi::Env env, bool disposed, ModelState& state, const char* usage,
                    const Napi::CallbackInfo& info) {
    if (disposed) throw Napi::Error::New(env, "NativeModel has been disposed");
    if (!state.model) throw Napi::Error::New(env, "NativeModel is not loaded");
    if (state.busy) throw Napi::Error::New(env, "NativeModel is busy: steps and encodes must run one at a time");
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, usage);
}

template <typename Worker>
Napi::Promise queueModelTask(ModelState& state, Worker* worker) {
    state.busy = true;
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
}

}  // namespace

Napi::Function ModelObject::Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {
                           InstanceMethod<&ModelObject::Load>("load"),
                           InstanceMethod<&ModelObject::Step>("step"),
                           InstanceMethod<&ModelObject::EncodeImages>("encodeImages"),
                           InstanceMethod<&ModelObject::Info>("info"),
                           InstanceMethod<&ModelObject::Abort>("abort"),
                           InstanceMethod<&ModelObject::Dispose>("dispose"),
                       });
}

ModelObject::ModelObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelObject>(info) {}

Napi::Value ModelObject::Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_) throw Napi::Error::New(env, "NativeModel has been disposed");
    if (state_->model || state_->busy) throw Napi::Error::New(env, "NativeModel is already loaded or loading");
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
        throw Napi::TypeError::New(
            env, "load(weights, spec, backend): expected a NativeWeights, a spec and backend options");
    }
    WeightsObject* weights = WeightsObject::FromValue(info[0]);
    if (!weights) throw Napi::TypeError::New(env, "load(weights, spec, backend): weights must be a NativeWeights");
    if (weights->loadFlags()->busy) {
        throw Napi::Error::New(env, "load(weights, spec, backend): the weights are still loading or in use by a load");
    }
    ModelSpec spec = parseModelSpec(info[1].As<Napi::Object>(), weights->store()->tensorCount());
    BackendOptions backend = parseBackendOptions(info[2].As<Napi::Object>());
    Napi::Function onProgress;
    if (info.Length() > 3 && info[3].IsFunction()) onProgress = info[3].As<Napi::Function>();
    state_->busy = true;
    state_->cancel = false;
    auto* worker = new LoadWorker(env, this, weights, std::move(spec), std::move(backend), onProgress);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
}

Napi::Value ModelObject::Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    startModelTask(env, disposed_, *state_, "step(batch): batch must be an object", info);
    StepData data = parseStep(info[0].As<Napi::Object>(), *state_->model, state_->maxStepTokens);
    return queueModelTask(*state_, new StepWorker(env, this, std::move(data)));
}

Napi::Value ModelObject::EncodeImages(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    startModelTask(env, disposed_, *state_, "encodeImages(pass): pass must be an object", info);
    VisionPass pass = parseVisionPass(info[0].As<Napi::Object>(), *state_->model);
    return queueModelTask(*state_, new EncodeWorker(env, this, std::move(pass)));
}

Napi::Value ModelObject::Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::shared_ptr<Mistral4Model>& model = state_->model;
    if (!model) throw Napi::Error::New(env, "NativeModel is not loaded");
    const KvCacheShape& kv = model->kvShape();
    Napi::Object o = Napi::Object::New(env);
    o.Set("kernelPath", model->kernelPath());
    o.Set("nvfp4Activations", model->nvfp4ActivationsName());
    o.Set("weightBytes", static_cast<double>(model->weightBytes()));
    o.Set("scratchBytes", static_cast<double>(model->scratchBytes()));
    o.Set("kvBytes", static_cast<double>(kv.bytes()));
    o.Set("numBlocks", kv.numBlocks);
    o.Set("blockSize", kv.blockSize);
    o.Set("hasVision", model->vision() != nullptr);
    return o;
}

Napi::Value ModelObject::Abort(const Napi::CallbackInfo& info) {
    if (state_->busy) state_->cancel = true;
    return info.Env().Undefined();
}

Napi::Value ModelObject::Dispose(const Napi::CallbackInfo& info) {
    if (state_->busy) {
        state_->cancel = true;
        throw Napi::Error::New(info.Env(), "NativeModel is busy; await the running load or step before dispose");
    }
    state_->model.reset();
    disposed_ = true;
    return info.Env().Undefined();
}

}  // namespace ms4
