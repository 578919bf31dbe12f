#include "napi/op_checks_binding.h"

#include <string>
#include <vector>

#include "checks/op_checks.h"

namespace ms4 {

Napi::Value OpChecks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto optionalString = [&](size_t i, const char* what) {
        if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return std::string();
        if (!info[i].IsString())
            throw Napi::TypeError::New(env, std::string("opChecks: ") + what + " must be a string");
        return info[i].As<Napi::String>().Utf8Value();
    };
    const std::string filter = optionalString(0, "filter"), path = optionalString(1, "path");
    std::vector<checks::OpCheckResult> results;
    try {
        results = checks::runCpuOpChecks(filter, path);
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("opChecks: ") + e.what());
    }
    Napi::Array out = Napi::Array::New(env, results.size());
    for (size_t i = 0; i < results.size(); ++i) {
        const checks::OpCheckResult& r = results[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("op", r.op);
        o.Set("params", r.params);
        o.Set("error", r.error);
        o.Set("maxAbsError", r.maxAbsError);
        o.Set("bound", r.bound);
        o.Set("ok", r.ok);
        out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
}

}  // namespace ms4
