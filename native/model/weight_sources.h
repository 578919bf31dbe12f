// Turns the spec's tensor references into checkpoint-layout views (LinearSource) and host floats.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/weights.h"
#include "io/weight_store.h"
#include "model/model_spec.h"

namespace ms4 {

// A LinearSource over the store's bytes. Float weights stored as F16/F32 are converted to BF16 into `scratch`.
LinearSource linearSource(const WeightStore& store, const LinearRef& ref, std::vector<uint8_t>& scratch,
                          const std::string& name);
// A norm weight (BF16/F16/F32) as float32.
std::vector<float> normWeights(const WeightStore& store, const NormRef& ref, const std::string& name);
// The first value of a one-element tensor (F32/BF16/F16).
float scalarValue(const WeightStore& store, int tensor, TensorDtype dtype, const std::string& name);
// Releases the source pages of a weight once it has been repacked.
void releaseSource(const WeightStore& store, const LinearRef& ref);

}  // namespace ms4
