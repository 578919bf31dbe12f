// Mistral Small 4 on a Backend: the weights in backend layouts, the paged latent cache, and forward().
// The forward is one readable sequence of backend calls (MODEL-SPEC §2), shared by every backend.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/weight_store.h"
#include "model/model_spec.h"

namespace ms4 {

// A float buffer in backend memory, freed with the backend.
class DeviceFloats {
   public:
    DeviceFloats() = default;
    DeviceFloats(Backend* b, size_t n) : backend_(b), data_(n ? b->allocFloats(n) : nullptr), size_(n) {}
    DeviceFloats(DeviceFloats&& o) noexcept { *this = std::move(o); }
    DeviceFloats& operator=(DeviceFloats&& o) noexcept {
        reset();
        backend_ = o.backend_;
        data_ = o.data_;
        size_ = o.size_;
        o.data_ = nullptr;
        o.size_ = 0;
        return *this;
    }
    ~DeviceFloats() { reset(); }
    float* get() const { return data_; }
    size_t size() const { return size_; }
    void reset() {
        if (data_) backend_->freeFloats(data_);
        data_ = nullptr;
        size_ = 0;
    }

   private:
    Backend* backend_ = nullptr;
    float* data_ = nullptr;
    size_t size_ = 0;
};

struct ExpertOwned {
    std::unique_ptr<LinearWeights> w1, w2, w3;
};

struct LayerWeights {
    DeviceFloats attentionNorm, qANorm, kvANorm, ffnNorm;
    std::unique_ptr<LinearWeights> wqA, wqB, wkvA, wo, router;
    DeviceFloats wkvB;  // [H·(nope+v), L] float32, dequantized at load for the absorbed and expanded forms
    std::vector<ExpertOwned> experts;
    ExpertOwned shared;
    MoeWeights moe;  // views into the above
};

enum class AttentionForm { Auto, Absorbed, Expanded };

// One step's inputs (host arrays; see lib/native.ts NativeStepBatch).
struct StepInputs {
    const int32_t* tokens = nullptr;
    const int32_t* positions = nullptr;
    const int32_t* slotMapping = nullptr;
    int numTokens = 0;
    AttentionBatch batch;  // seqStarts, contextLens, blockTables (host)
    const int32_t* logitRows = nullptr;
    int numLogitRows = 0;
    AttentionForm attention = AttentionForm::Auto;
    // Polled before each layer's attention and MoE; true stops the step with "aborted" (KV writes left partial).
    std::function<bool()> cancelled;
};

class Mistral4Model {
   public:
    using Progress = std::function<void(const char* phase, uint64_t done, uint64_t total)>;
    using Cancelled = std::function<bool()>;

    // Builds the backend, repacks every weight out of the store (releasing source pages as it goes) and
    // allocates the KV pool. Throws std::runtime_error naming the tensor or allocation that failed.
    Mistral4Model(const ModelSpec& spec, const WeightStore& store, const Progress& progress,
                  const Cancelled& cancelled);
    ~Mistral4Model();

    // Runs the forward for one step; writes logits [numLogitRows, vocab] to `logits` (host).
    void forward(const StepInputs& in, float* logits);

    const ModelDims& dims() const { return spec_.dims; }
    const KvCacheShape& kvShape() const { return kv_->shape; }
    std::string kernelPath() const { return backend_->kernelPath(); }
    std::string nvfp4ActivationsName() const { return backend_->nvfp4ActivationsName(); }
    uint64_t weightBytes() const { return weightBytes_; }

   private:
    ModelSpec spec_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<LinearWeights> embedding_, lmHead_;
    DeviceFloats finalNorm_;
    std::vector<LayerWeights> layers_;
    std::unique_ptr<KvCache> kv_;
    uint64_t weightBytes_ = 0;
    // Scratch, grown on demand.
    int capacity_ = 0;
    DeviceFloats x_, normed_, cq_, q_, kva_, qLat_, oLat_, attn_, tmp_;

    void ensureScratch(int T);
    AttentionForm chooseAttention(const StepInputs& in) const;
};

}  // namespace ms4
