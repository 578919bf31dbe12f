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
// `src` with its rows reordered: row r of the result is row from[r] of `src` (NVFP4 block scales move with their
// rows). The bytes go into `scratch`; the result points into it.
LinearSource permutedRows(const LinearSource& src, const std::vector<int>& from, std::vector<uint8_t>& scratch);
// A norm weight (BF16/F16/F32) as float32.
std::vector<float> normWeights(const WeightStore& store, const NormRef& ref, const std::string& name);
// The first value of a one-element tensor (F32/BF16/F16).
float scalarValue(const WeightStore& store, int tensor, TensorDtype dtype, const std::string& name);
// Releases the source pages of a weight once it has been repacked.
void releaseSource(const WeightStore& store, const LinearRef& ref);

}  // namespace ms4
