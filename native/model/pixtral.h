// The Pixtral vision encoder and its projector (docs/model.md#vision-tower) on a Backend: patch convolution as a
// matrix product, ln_pre, the transformer blocks (2-D RoPE, attention inside each image, SiLU-gated FFN), then
// pre_mm_projector_norm, the 2 × 2 patch merger and the GELU adapter into the text model's hidden size. One encode()
// is one pass over any number of images; each image's result is independent of the others in the pass.
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

namespace ms4 {

struct PixtralLayer {
    DeviceFloats attentionNorm, ffnNorm;
    std::unique_ptr<LinearWeights> wq, wk, wv, wo, w1, w2, w3;
};

struct PixtralWeights {
    std::unique_ptr<LinearWeights> patchConv;
    DeviceFloats lnPre;
    // Shared so that a benchmark may run one layer's weights as every layer.
    std::vector<std::shared_ptr<const PixtralLayer>> layers;
    DeviceFloats preMmNorm;
    std::unique_ptr<LinearWeights> merging;
    std::unique_ptr<LinearWeights> wIn, wOut;
    DeviceFloats wInBias, wOutBias;
    uint64_t bytes = 0;  // prepared weights and norms
};

// Prepares the tower's weights out of the store through `backend` (putting q / k rows back in interleaved-pair order
// for Hugging Face files), calling step() after each module and releasing source pages as it goes. Throws
// std::runtime_error naming the tensor that failed.
PixtralWeights loadPixtralWeights(const VisionSpec& spec, Backend& backend, const WeightStore& store,
                                  const std::function<void()>& step);
// Modules loadPixtralWeights calls step() after.
size_t pixtralLoadSteps(const VisionSpec& spec);
// Interleaved-pair row of each Hugging Face wq / wk row: row r of the un-permuted weight is row from[r] of the file's.
std::vector<int> pixtralQkRowOrder(int heads, int headDim);

class PixtralEncoder {
   public:
    PixtralEncoder(const VisionDims& dims, Backend& backend, PixtralWeights weights);

    // Encodes the images of one pass. pixels (host): each image's normalised [channels, patch·rows, patch·cols]
    // planes, images one after another; out (host): [tokens, textHidden], each image's merged tokens in row-major
    // order, images in order (tokens = Σ (rows / merge) · (cols / merge)). in.channels / patchSize / merge must match
    // the tower's.
    // `cancelled` is polled before each layer; true stops the pass with "aborted" (the environment is ending).
    void encode(const VisionInputs& in, const float* pixels, float* out, const std::function<bool()>& cancelled = {});

    const VisionDims& dims() const { return dims_; }
    uint64_t weightBytes() const { return w_.bytes; }
    // Floats of scratch one pass over `patches` patches (and `tokens` merged tokens) allocates.
    size_t scratchFloats(int64_t patches, int64_t tokens) const;
    // Multiply-adds × 2 of one pass over images with these patch grids (linear layers and attention).
    double flops(const std::vector<int32_t>& patchRows, const std::vector<int32_t>& patchCols) const;

   private:
    VisionDims dims_;
    Backend& b_;
    PixtralWeights w_;
    Rope2dParams rope_;
};

}  // namespace ms4
