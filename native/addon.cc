// Module entry: registers the addon's classes and functions and its per-environment state, nothing else.
#include <napi.h>

#include "napi/env_state.h"
#include "napi/kernel_bench_binding.h"
#include "napi/model_object.h"
#include "napi/op_checks_binding.h"
#include "napi/sample_function.h"
#include "napi/step_checks_binding.h"
#include "napi/system_info.h"
#include "napi/weights_object.h"

namespace {

constexpr int kAbiVersion = 4;  // bumped whenever the JS-visible binding changes shape

// Runs once per environment that loads the addon (the main thread and each worker thread): everything
// per-environment lives in EnvState, nothing in globals.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
    ms4::EnvState::install(env);
    exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
    exports.Set("NativeWeights", ms4::WeightsObject::Define(env));
    exports.Set("systemInfo", Napi::Function::New(env, ms4::SystemInfo, "systemInfo"));
    exports.Set("NativeModel", ms4::ModelObject::Define(env));
    exports.Set("opChecks", Napi::Function::New(env, ms4::OpChecks, "opChecks"));
    exports.Set("cudaLayoutChecks", Napi::Function::New(env, ms4::CudaLayoutChecks, "cudaLayoutChecks"));
    exports.Set("modelChecks", Napi::Function::New(env, ms4::ModelChecks, "modelChecks"));
    exports.Set("sample", Napi::Function::New(env, ms4::SampleFunction, "sample"));
    exports.Set("kernelBench", Napi::Function::New(env, ms4::KernelBench, "kernelBench"));
    exports.Set("stepChecks", Napi::Function::New(env, ms4::StepChecks, "stepChecks"));
    return exports;
}

}  // namespace

NODE_API_MODULE(mistral4, Init)
