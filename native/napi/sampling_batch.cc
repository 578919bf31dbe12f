#include "napi/sampling_batch.h"

#include <cmath>
#include <cstring>
#include <string>

namespace ms4 {

namespace {

template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<float> {
    static constexpr napi_typedarray_type type = napi_float32_array;
    static constexpr const char* name = "a Float32Array";
};
template <>
struct TypedArrayTraits<int32_t> {
    static constexpr napi_typedarray_type type = napi_int32_array;
    static constexpr const char* name = "an Int32Array";
};
template <>
struct TypedArrayTraits<uint32_t> {
    static constexpr napi_typedarray_type type = napi_uint32_array;
    static constexpr const char* name = "a Uint32Array";
};

constexpr size_t kAnyLength = static_cast<size_t>(-1);

// Copies obj[field] (which must be a T typed array of `expected` elements unless kAnyLength) into dst.
template <typename T>
void copyField(const Napi::Object& obj, const char* field, size_t expected, const char* per, std::vector<T>& dst) {
    Napi::Env env = obj.Env();
    const Napi::Value v = obj.Get(field);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::type) {
        throw Napi::TypeError::New(env, std::string("sampling.") + field + " must be " + TypedArrayTraits<T>::name);
    }
    const Napi::TypedArrayOf<T> arr = v.As<Napi::TypedArrayOf<T>>();
    const size_t n = arr.ElementLength();
    if (expected != kAnyLength && n != expected) {
        throw Napi::RangeError::New(env, std::string("sampling.") + field + " has " + std::to_string(n) +
                                             " elements but needs " + std::to_string(expected) + " (" + per + ")");
    }
    dst.resize(n);
    if (n > 0) std::memcpy(dst.data(), arr.Data(), n * sizeof(T));
}

void checkStarts(Napi::Env env, const char* field, const std::vector<int32_t>& starts, size_t tokenCount) {
    for (size_t r = 0; r < starts.size(); ++r) {
        const int64_t s = starts[r];
        const int64_t prev = r == 0 ? 0 : starts[r - 1];
        if (s < prev || s > static_cast<int64_t>(tokenCount)) {
            throw Napi::RangeError::New(env, std::string("sampling.") + field + "[" + std::to_string(r) + "] is " +
                                                 std::to_string(s) + "; starts must be non-decreasing within [0, " +
                                                 std::to_string(tokenCount) + "]");
        }
    }
}

}  // namespace

SamplingBatch parseSamplingBatch(const Napi::Object& obj, int rows, int vocab, SamplingStorage& s) {
    Napi::Env env = obj.Env();
    const size_t n = static_cast<size_t>(rows);
    const char* perRow = "one per logit row";
    copyField(obj, "temperature", n, perRow, s.temperature);
    copyField(obj, "topK", n, perRow, s.topK);
    copyField(obj, "topP", n, perRow, s.topP);
    copyField(obj, "minP", n, perRow, s.minP);
    copyField(obj, "repetitionPenalty", n, perRow, s.repetitionPenalty);
    copyField(obj, "presencePenalty", n, perRow, s.presencePenalty);
    copyField(obj, "frequencyPenalty", n, perRow, s.frequencyPenalty);
    copyField(obj, "seeds", 2 * n, "low and high 32 bits per logit row", s.seeds);
    copyField(obj, "draws", n, perRow, s.draws);
    copyField(obj, "contextTokens", kAnyLength, "", s.contextTokens);
    copyField(obj, "contextStarts", n + 1, "logit rows + 1", s.contextStarts);
    copyField(obj, "outputTokens", kAnyLength, "", s.outputTokens);
    copyField(obj, "outputStarts", n + 1, "logit rows + 1", s.outputStarts);
    checkStarts(env, "contextStarts", s.contextStarts, s.contextTokens.size());
    checkStarts(env, "outputStarts", s.outputStarts, s.outputTokens.size());

    const Napi::Value masks = obj.Get("masks");
    if (masks.IsNull() || masks.IsUndefined()) {
        s.masks.clear();
    } else {
        copyField(obj, "masks", n * static_cast<size_t>(maskWords(vocab)), "ceil(vocab / 32) words per logit row",
                  s.masks);
    }

    const Napi::Value top = obj.Get("topLogprobs");
    if (!top.IsNumber()) throw Napi::TypeError::New(env, "sampling.topLogprobs must be a number");
    const double topN = top.As<Napi::Number>().DoubleValue();
    if (!(topN >= 0 && topN <= vocab) || std::floor(topN) != topN) {
        throw Napi::RangeError::New(env, "sampling.topLogprobs must be an integer in [0, " + std::to_string(vocab) +
                                             "] (got " + top.ToString().Utf8Value() + ")");
    }

    SamplingBatch b;
    b.rows = rows;
    b.temperature = s.temperature.data();
    b.topK = s.topK.data();
    b.topP = s.topP.data();
    b.minP = s.minP.data();
    b.repetitionPenalty = s.repetitionPenalty.data();
    b.presencePenalty = s.presencePenalty.data();
    b.frequencyPenalty = s.frequencyPenalty.data();
    b.seeds = s.seeds.data();
    b.draws = s.draws.data();
    b.contextTokens = s.contextTokens.data();
    b.contextStarts = s.contextStarts.data();
    b.outputTokens = s.outputTokens.data();
    b.outputStarts = s.outputStarts.data();
    b.masks = masks.IsNull() || masks.IsUndefined() ? nullptr : s.masks.data();
    b.topLogprobs = static_cast<int>(topN);

    try {
        for (int r = 0; r < rows; ++r) validateSamplingRow(samplingRow(b, r, vocab), r, vocab);
    } catch (const SamplingArgumentError& e) {
        throw Napi::RangeError::New(env, e.what());
    }
    return b;
}

}  // namespace ms4
