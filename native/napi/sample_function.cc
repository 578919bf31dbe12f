#include "napi/sample_function.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <string>

#include "napi/sampling_batch.h"
#include "sampling/sampler.h"

namespace ms4 {

namespace {

template <typename T, typename Array>
Array copyOut(Napi::Env env, const std::vector<T>& src) {
    Array arr = Array::New(env, src.size());
    if (!src.empty()) std::memcpy(arr.Data(), src.data(), src.size() * sizeof(T));
    return arr;
}

}  // namespace

Napi::Value SampleFunction(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3) {
        throw Napi::TypeError::New(
            env, "sample(logits, vocab, sampling) takes 3 arguments, got " + std::to_string(info.Length()));
    }
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, "sample: logits must be a Float32Array");
    }
    const Napi::Float32Array logits = info[0].As<Napi::Float32Array>();
    if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "sample: vocab must be a number");
    const double vocabD = info[1].As<Napi::Number>().DoubleValue();
    if (!(vocabD >= 1 && vocabD <= INT_MAX) || std::floor(vocabD) != vocabD) {
        throw Napi::RangeError::New(
            env, "sample: vocab must be a positive integer (got " + info[1].ToString().Utf8Value() + ")");
    }
    const int vocab = static_cast<int>(vocabD);
    const size_t length = logits.ElementLength();
    if (length % static_cast<size_t>(vocab) != 0) {
        throw Napi::RangeError::New(env, "sample: logits has " + std::to_string(length) +
                                             " elements, not a multiple of vocab " + std::to_string(vocab));
    }
    if (length / static_cast<size_t>(vocab) > static_cast<size_t>(INT_MAX)) {
        throw Napi::RangeError::New(env, "sample: too many logit rows");
    }
    const int rows = static_cast<int>(length / static_cast<size_t>(vocab));
    if (!info[2].IsObject()) throw Napi::TypeError::New(env, "sample: sampling must be a NativeSamplingBatch object");

    SamplingStorage storage;
    const SamplingBatch batch = parseSamplingBatch(info[2].As<Napi::Object>(), rows, vocab, storage);
    SampleResult result;
    try {
        sampleRows(logits.Data(), rows, vocab, batch, result);
    } catch (const SamplingArgumentError& e) {
        throw Napi::RangeError::New(env, e.what());
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, e.what());
    }

    Napi::Object out = Napi::Object::New(env);
    out.Set("tokens", copyOut<int32_t, Napi::Int32Array>(env, result.tokens));
    out.Set("logprobs", copyOut<float, Napi::Float32Array>(env, result.logprobs));
    out.Set("topIds", copyOut<int32_t, Napi::Int32Array>(env, result.topIds));
    out.Set("topLogprobs", copyOut<float, Napi::Float32Array>(env, result.topLogprobs));
    return out;
}

}  // namespace ms4
