#include "napi/op_checks_binding.h"

#include <string>
#include <thread>
#include <vector>

#include "backend/create_backend.h"
#include "checks/model_checks.h"
#include "checks/op_checks.h"
#include "cuda_bridge.h"

namespace ms4 {

namespace {

std::string optionalString(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
    if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return std::string();
    if (!info[i].IsString())
        throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + what + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
}

Napi::Array toJs(Napi::Env env, const std::vector<checks::OpCheckResult>& results) {
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

// "cuda" → 0, "cuda:N" → N; anything else → -1.
int cudaIndex(const std::string& device) {
    if (device == "cuda") return 0;
    if (device.rfind("cuda:", 0) != 0 || device.size() == 5 || device.size() > 9) return -1;
    int index = 0;
    for (size_t i = 5; i < device.size(); ++i) {
        if (device[i] < '0' || device[i] > '9') return -1;
        index = index * 10 + (device[i] - '0');
    }
    return index;
}

// A backend factory from "cpu", "cpu:<kernel path>" (f32 activations: the exact path), "cuda" or "cuda:N".
checks::BackendFactory factoryFor(Napi::Env env, const std::string& spec) {
    BackendOptions o;
    if (spec == "cpu" || spec.rfind("cpu:", 0) == 0) {
        o.device = "cpu";
        o.cpu.threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
        o.cpu.path = spec == "cpu" ? "" : spec.substr(4);
        o.cpu.nvfp4Activations = "f32";
        o.cpu.hugePages = false;
    } else {
        const int index = cudaIndex(spec);
        if (index < 0) {
            throw Napi::TypeError::New(env,
                                       "modelChecks: a backend is \"cpu\", \"cpu:<path>\", \"cuda\" or "
                                       "\"cuda:N\", not \"" +
                                           spec + "\"");
        }
        o.device = "cuda";
        o.deviceIndex = index;
    }
    return [o] { return createBackend(o); };
}

}  // namespace

Napi::Value ModelChecks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
        throw Napi::TypeError::New(env,
                                   "modelChecks(reference, candidate, filter?, continuation?): backends are strings");
    }
    const checks::BackendFactory reference = factoryFor(env, info[0].As<Napi::String>().Utf8Value());
    const checks::BackendFactory candidate = factoryFor(env, info[1].As<Napi::String>().Utf8Value());
    const std::string filter = optionalString(info, 2, "modelChecks", "filter");
    int continuation = 64;
    if (info.Length() > 3 && info[3].IsNumber()) continuation = info[3].As<Napi::Number>().Int32Value();
    std::vector<checks::OpCheckResult> results;
    try {
        results = checks::runModelChecks(reference, candidate, filter, continuation);
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("modelChecks: ") + e.what());
    }
    return toJs(env, results);
}

Napi::Value OpChecks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string filter = optionalString(info, 0, "opChecks", "filter");
    const std::string path = optionalString(info, 1, "opChecks", "path");
    const std::string device = optionalString(info, 2, "opChecks", "device");
    const bool cpu = device.empty() || device == "cpu";
    const int cudaDevice = cpu ? -1 : cudaIndex(device);
    if (!cpu && cudaDevice < 0) {
        throw Napi::TypeError::New(env,
                                   "opChecks: device must be \"cpu\", \"cuda\" or \"cuda:N\", not \"" + device + "\"");
    }
    if (!cpu && !path.empty())
        throw Napi::TypeError::New(env, "opChecks: a CPU kernel path applies to device \"cpu\" only");
    std::vector<checks::OpCheckResult> results;
    try {
        results = cpu ? checks::runCpuOpChecks(filter, path) : runCudaOpChecks(filter, cudaDevice);
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("opChecks: ") + e.what());
    }
    return toJs(env, results);
}

Napi::Value CudaLayoutChecks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string filter = optionalString(info, 0, "cudaLayoutChecks", "filter");
    std::vector<checks::OpCheckResult> results;
    try {
        results = checks::runCudaLayoutChecks(filter);
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("cudaLayoutChecks: ") + e.what());
    }
    return toJs(env, results);
}

}  // namespace ms4
