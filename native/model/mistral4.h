// Mistral Small 4 on a Backend: the weights in backend layouts, the paged latent cache, the scratch arena, and
// forward(). The forward is one readable sequence of backend calls (docs/model.md#forward-pass), shared by every
// backend; the model receives its backend from outside (backend/create_backend.h) and never names a device.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/weight_store.h"
#include "model/device_floats.h"
#include "model/model_spec.h"
#include "model/pixtral.h"

namespace ms4 {

struct ExpertOwned {
    std::unique_ptr<LinearWeights> w1, w2, w3;
};

struct LayerWeights {
    DeviceFloats attentionNorm, qANorm, kvANorm, ffnNorm;
    std::unique_ptr<LinearWeights> wqA, wqB, wkvA, wo, router;
    std::unique_ptr<MlaUpWeights> wkvB;  // [H·(nope+v), L] for the absorbed and expanded forms
    std::vector<ExpertOwned> experts;
    ExpertOwned shared;
    MoeWeights moe;  // views into the above
};

// The two exact ways to compute MLA attention (docs/model.md#mla-attention). Production runs Absorbed for every
// step, see Mistral4Model::forward; Expanded stays reachable for tests and benchmarks.
enum class AttentionForm { Absorbed, Expanded };

class Mistral4Model {
   public:
    using Progress = std::function<void(const char* phase, uint64_t done, uint64_t total)>;
    using Cancelled = std::function<bool()>;

    // Prepares every weight out of the store through `backend` (releasing source pages as it goes), allocates the
    // KV pool and the scratch arena. Throws std::runtime_error naming the tensor or allocation that failed.
    Mistral4Model(const ModelSpec& spec, std::unique_ptr<Backend> backend, const WeightStore& store,
                  const Progress& progress, const Cancelled& cancelled);
    ~Mistral4Model();

    // Runs the forward for one step; writes logits [numLogitRows, vocab] to `logits` (host). `form` overrides the
    // attention form production uses (tests only). `cancelled` is polled before each layer's attention and MoE;
    // true stops the step with "aborted" (its KV writes left partial: only used when the environment is ending).
    void forward(const StepInputs& in, float* logits, AttentionForm form = kProductionAttention,
                 const Cancelled& cancelled = {});

    // Absorbed for every step: it is the only form whose per-token result does not depend on the other sequences
    // of the step (its context partitions are a function of the token's own context length), which the engine's
    // batch-invariance guarantee rests on — a sequence decodes the same tokens alone, batched, or after a
    // preemption. The expanded form is cheaper for long prefills; it becomes a choice only once it is batch
    // invariant too.
    static constexpr AttentionForm kProductionAttention = AttentionForm::Absorbed;

    // The vision encoder (docs/model.md#vision-tower), when the checkpoint has one: pixels → [tokens, hidden] image
    // features for the input embeddings of [IMG] positions (PixtralEncoder::encode). Throws without a tower.
    void encodeImages(const VisionInputs& in, const float* pixels, float* out, const Cancelled& cancelled = {});
    const PixtralEncoder* vision() const { return vision_.get(); }

    const ModelDims& dims() const { return spec_.dims; }
    const KvCacheShape& kvShape() const { return kv_->shape; }
    std::string kernelPath() const { return backend_->kernelPath(); }
    std::string nvfp4ActivationsName() const { return backend_->nvfp4ActivationsName(); }
    uint64_t weightBytes() const { return weightBytes_; }
    uint64_t scratchBytes() const { return arena_.size() * sizeof(float); }

   private:
    ModelSpec spec_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<LinearWeights> embedding_, lmHead_;
    DeviceFloats finalNorm_;
    std::vector<LayerWeights> layers_;
    std::unique_ptr<PixtralEncoder> vision_;
    std::unique_ptr<KvCache> kv_;
    uint64_t weightBytes_ = 0;
    // The scratch arena: one allocation, sized at load for spec.maxStepTokens tokens and
    // spec.logitRowsPerChunk logit rows, carved into the activations below.
    DeviceFloats arena_;
    float *x_ = nullptr, *normed_ = nullptr, *cq_ = nullptr, *q_ = nullptr, *kva_ = nullptr, *qLat_ = nullptr,
          *oLat_ = nullptr, *attn_ = nullptr, *tmp_ = nullptr, *selected_ = nullptr, *logits_ = nullptr;

    void allocateArena();
};

}  // namespace ms4
