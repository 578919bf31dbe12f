// A synthetic Mistral Small 4 checkpoint written by native code alone (no TypeScript): random weights of the right
// shapes and formats in one file, the ModelSpec that points into it and the mapped WeightStore, so the forward of any
// backend can be compared with another's, and timed at real sizes, where Node.js is not available (the GPU check
// program, cuda/gpu_check). Weights are random but sane: every linear has rms 1/sqrt(cols), norms are near 1, so
// activations stay bounded through the layers.
#pragma once
#include <memory>
#include <string>

#include "backend/weights.h"
#include "io/weight_store.h"
#include "model/model_spec.h"

namespace ms4::checks {

struct SyntheticModelOptions {
    bool real = false;  // Mistral Small 4's sizes (hidden 4096, 128 experts of 2048, vocab 131072), else tiny ones
    int layers = 2;
    WeightFormat experts = WeightFormat::NVFP4;   // routed and shared experts
    WeightFormat attention = WeightFormat::BF16;  // the five attention projections
    KvDtype kvDtype = KvDtype::BF16;
    int numBlocks = 64;
    int blockSize = 16;
    int maxStepTokens = 256;
    int logitRowsPerChunk = 64;
    uint64_t seed = 1;
    std::string dir;  // where the file goes ("" = /dev/shm when it exists, else the temp folder)
};

class SyntheticModel {
   public:
    explicit SyntheticModel(const SyntheticModelOptions& options);
    ~SyntheticModel();  // removes the file
    SyntheticModel(const SyntheticModel&) = delete;
    SyntheticModel& operator=(const SyntheticModel&) = delete;

    // The spec of the model, or of its first `layers` layers (a smaller model over the same file).
    ModelSpec spec(int layers = -1) const;
    const WeightStore& store() const { return *store_; }
    uint64_t fileBytes() const { return fileBytes_; }

   private:
    ModelSpec spec_;
    std::unique_ptr<WeightStore> store_;
    std::string path_;
    uint64_t fileBytes_ = 0;
};

}  // namespace ms4::checks
