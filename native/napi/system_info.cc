#include "napi/system_info.h"

#include <stdexcept>
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_features.h"
#include "cuda_bridge.h"

namespace ms4 {

Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const CpuFeatures& f = cpuFeatures();
    Napi::Object cpu = Napi::Object::New(env);
    cpu.Set("avx2", f.avx2);
    cpu.Set("fma", f.fma);
    cpu.Set("f16c", f.f16c);
    cpu.Set("avx512f", f.avx512f);
    cpu.Set("avx512bw", f.avx512bw);
    cpu.Set("avx512vl", f.avx512vl);
    cpu.Set("avx512vnni", f.avx512vnni);
    cpu.Set("avx512bf16", f.avx512bf16);
    cpu.Set("avxVnni", f.avxVnni);
    cpu.Set("amxTile", f.amxTile);
    cpu.Set("amxBf16", f.amxBf16);
    cpu.Set("amxInt8", f.amxInt8);
    cpu.Set("logicalCores", f.logicalCores);
    // The kernel paths this CPU and build can run (cpuPath / MS4_CPU_PATH values), best last.
    Napi::Array paths = Napi::Array::New(env);
    for (const char* p : {"portable", "avx512-emulated", "avx2", "avx512"}) {
        try {
            resolveCpuPath(p);
            paths.Set(paths.Length(), p);
        } catch (const std::exception&) {
        }
    }
    cpu.Set("kernelPaths", paths);

    const CudaStatus s = queryCuda();
    Napi::Object cuda = Napi::Object::New(env);
    cuda.Set("compiled", s.compiled);
    cuda.Set("runtimeVersion", s.runtimeVersion);
    cuda.Set("driverVersion", s.driverVersion);
    cuda.Set("error", s.error);
    cuda.Set("architectures", s.architectures);
    Napi::Array devices = Napi::Array::New(env, s.devices.size());
    for (size_t i = 0; i < s.devices.size(); ++i) {
        const CudaDeviceInfo& d = s.devices[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("index", d.index);
        o.Set("name", d.name);
        o.Set("totalMemory", static_cast<double>(d.totalMemory));
        o.Set("freeMemory", static_cast<double>(d.freeMemory));
        o.Set("computeCapability", std::to_string(d.computeMajor) + "." + std::to_string(d.computeMinor));
        o.Set("multiprocessors", d.multiprocessors);
        o.Set("usable", d.usable);
        o.Set("unusableReason", d.unusableReason);
        devices.Set(static_cast<uint32_t>(i), o);
    }
    cuda.Set("devices", devices);

    Napi::Object out = Napi::Object::New(env);
    out.Set("cpu", cpu);
    out.Set("cuda", cuda);
    return out;
}

}  // namespace ms4
