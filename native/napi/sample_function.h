// sample(logits: Float32Array, vocab: number, sampling: NativeSamplingBatch) -> NativeSampleResult:
// one token per row of logits [rows, vocab], with the sampler the model's step uses (sampling/sampler.h).
#pragma once
#include <napi.h>

namespace ms4 {

Napi::Value SampleFunction(const Napi::CallbackInfo& info);

}  // namespace ms4
