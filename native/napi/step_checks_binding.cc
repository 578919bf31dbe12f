#include "napi/step_checks_binding.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "backend/input_checks.h"
#include "napi/js_args.h"

namespace ms4 {

namespace {

std::vector<int32_t> optionalInt32s(const Napi::Object& o, const char* key, const std::string& where) {
    const Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return {};
    return js::int32s(o, key, where);
}

Napi::Value errorOrNull(Napi::Env env, const std::string& error) {
    return error.empty() ? env.Null() : Napi::String::New(env, error);
}

}  // namespace

Napi::Value StepChecks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) {
        throw Napi::TypeError::New(env, "stepChecks(step, limits): two objects expected");
    }
    const Napi::Object o = info[0].As<Napi::Object>();
    const Napi::Object l = info[1].As<Napi::Object>();
    const std::string w = "step";
    // The arrays' lengths define the counts, so the checks never read past an array.
    const std::vector<int32_t> tokens = js::int32s(o, "tokens", w);
    const int64_t T = static_cast<int64_t>(tokens.size());
    const std::vector<int32_t> positions = js::int32s(o, "positions", w, T);
    const std::vector<int32_t> slots = js::int32s(o, "slotMapping", w, T);
    const std::vector<int32_t> lens = js::int32s(o, "contextLens", w);
    const int64_t S = static_cast<int64_t>(lens.size());
    const std::vector<int32_t> starts = js::int32s(o, "seqStarts", w, S > 0 ? S + 1 : 0);
    const int maxBlocks = js::integer(o, "maxBlocksPerSeq", w, 0, 1 << 20);
    const std::vector<int32_t> tables = js::int32s(o, "blockTables", w, S * maxBlocks);
    const std::vector<int32_t> logitRows = optionalInt32s(o, "logitRows", w);
    const std::vector<int32_t> inputRows = optionalInt32s(o, "inputRows", w);
    const int width = o.Get("embeddingWidth").IsUndefined() ? 0 : js::integer(o, "embeddingWidth", w, 0, 1 << 20);
    const std::vector<float> embeddings(inputRows.size() * static_cast<size_t>(width));

    StepLimits limits;
    limits.cache.layers = 1;
    limits.cache.numBlocks = js::integer(l, "numBlocks", "limits", 1, 1 << 24);
    limits.cache.blockSize = js::integer(l, "blockSize", "limits", 1, 1 << 16);
    limits.cache.latent = 4;
    limits.cache.rope = 2;
    limits.vocab = js::integer(l, "vocab", "limits", 1, 1 << 24);
    limits.hidden = js::integer(l, "hidden", "limits", 1, 1 << 20);
    limits.maxStepTokens = js::integer(l, "maxStepTokens", "limits", 0, 1 << 24);

    StepInputs in;
    in.numTokens = static_cast<int>(T);
    in.tokens = tokens.data();
    in.positions = positions.data();
    in.slotMapping = slots.data();
    in.numSeqs = static_cast<int>(S);
    in.seqStarts = starts.empty() ? nullptr : starts.data();
    in.contextLens = lens.empty() ? nullptr : lens.data();
    in.blockTables = tables.empty() ? nullptr : tables.data();
    in.maxBlocksPerSeq = maxBlocks;
    in.numLogitRows = static_cast<int>(logitRows.size());
    in.logitRows = logitRows.empty() ? nullptr : logitRows.data();
    in.numInputRows = static_cast<int>(inputRows.size());
    in.inputRows = inputRows.empty() ? nullptr : inputRows.data();
    in.inputEmbeddings = embeddings.empty() ? nullptr : embeddings.data();
    in.embeddingWidth = width;

    std::string bindingError, backendError;
    try {
        checkStepBatch(in, limits);
    } catch (const StepInputError& e) {
        bindingError = e.what();
    }
    try {
        checkStepInputs(in);
        checkSlots(in, limits.cache, 0, "kvWrite");
        const MlaDims dims{1, 2, limits.cache.rope, 2, limits.cache.latent, 1.0f};
        if (in.numTokens > 0 || in.numSeqs > 0) checkStepAgainstCache(in, limits.cache, 0, dims, "attention");
    } catch (const std::runtime_error& e) {
        backendError = e.what();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("binding", errorOrNull(env, bindingError));
    out.Set("backend", errorOrNull(env, backendError));
    return out;
}

}  // namespace ms4
