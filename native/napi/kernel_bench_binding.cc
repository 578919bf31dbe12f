#include "napi/kernel_bench_binding.h"

#include <string>

#include "checks/kernel_bench.h"

namespace ms4 {

Napi::Value KernelBench(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "kernelBench: name must be a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    checks::BenchParams params;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object o = info[1].As<Napi::Object>();
        Napi::Array keys = o.GetPropertyNames();
        for (uint32_t i = 0; i < keys.Length(); ++i) {
            const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
            Napi::Value v = o.Get(key);
            if (v.IsNumber()) {
                params.nums[key] = v.As<Napi::Number>().DoubleValue();
            } else if (v.IsString()) {
                params.strs[key] = v.As<Napi::String>().Utf8Value();
            } else if (!v.IsUndefined()) {
                throw Napi::TypeError::New(env, "kernelBench: " + key + " must be a number or a string");
            }
        }
    }
    checks::BenchResult result;
    try {
        result = checks::runKernelBench(name, params);
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("kernelBench: ") + e.what());
    }
    Napi::Object out = Napi::Object::New(env);
    for (const checks::BenchResult::Value& v : result.values) {
        if (v.isString) {
            out.Set(v.key, v.text);
        } else {
            out.Set(v.key, v.number);
        }
    }
    return out;
}

}  // namespace ms4
