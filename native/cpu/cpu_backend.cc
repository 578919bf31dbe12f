// CpuBackend: construction, kernel-path selection, memory.
#include "cpu/cpu_backend.h"

#include <cstring>
#include <stdexcept>

#include "cpu/cpu_features.h"

namespace ms4 {

CpuBackend::CpuBackend(int threads, const cpu::CpuKernels& kernels, cpu::Nvfp4Activations acts, bool hugePages)
    : k_(kernels), acts_(acts), hugePages_(hugePages), pool_(threads) {}

cpu::Nvfp4Activations resolveNvfp4Activations(const std::string& path, const std::string& v) {
    if (v.empty() || v == "auto") return path == "portable" ? cpu::Nvfp4Activations::F32 : cpu::Nvfp4Activations::Int16;
    if (v == "f32") return cpu::Nvfp4Activations::F32;
    if (v == "int16") return cpu::Nvfp4Activations::Int16;
    if (v == "int8") return cpu::Nvfp4Activations::Int8;
    throw std::runtime_error("unknown NVFP4 activation mode \"" + v + "\" (expected \"f32\", \"int16\" or \"int8\")");
}

std::string resolveCpuPath(const std::string& path) {
    const CpuFeatures& f = cpuFeatures();
    const bool avx2Ok = cpu::avx2Kernels() != nullptr && f.avx2 && f.fma && f.f16c;
    const bool avx512Ok = avx2Ok && cpu::avx512Kernels() != nullptr && f.avx512f && f.avx512bw && f.avx512vnni;
    if (path.empty() || path == "auto") return avx512Ok ? "avx512" : avx2Ok ? "avx2" : "portable";
    if (path == "portable") return path;
    if (path == "avx2") {
        if (!avx2Ok) {
            throw std::runtime_error(
                "CPU kernel path \"avx2\" was requested but this CPU (or build) lacks AVX2+FMA+F16C; use \"portable\"");
        }
        return path;
    }
    if (path == "avx512") {
        if (!avx512Ok) {
            throw std::runtime_error(
                "CPU kernel path \"avx512\" was requested but this CPU (or build) lacks AVX-512 F/BW/VNNI with "
                "AVX2+FMA+F16C; use \"avx2\" or \"portable\"");
        }
        return path;
    }
    if (path == "avx512-emulated") {
        if (!avx2Ok || cpu::avx512EmulatedKernels() == nullptr) {
            throw std::runtime_error(
                "CPU kernel path \"avx512-emulated\" (a test path) needs AVX2+FMA+F16C and an addon built with "
                "SIMDe's headers (Debian: libsimde-dev)");
        }
        return path;
    }
    throw std::runtime_error("unknown CPU kernel path \"" + path +
                             "\" (expected \"portable\", \"avx2\" or \"avx512\")");
}

const cpu::CpuKernels& cpuKernelsFor(const std::string& path) {
    if (path == "avx2") return *cpu::avx2Kernels();
    if (path == "avx512") return *cpu::avx512Kernels();
    if (path == "avx512-emulated") return *cpu::avx512EmulatedKernels();
    return cpu::portableKernels();
}

std::unique_ptr<CpuBackend> createCpuBackend(const CpuBackendOptions& o) {
    const std::string path = resolveCpuPath(o.path);
    return std::make_unique<CpuBackend>(o.threads, cpuKernelsFor(path),
                                        resolveNvfp4Activations(path, o.nvfp4Activations), o.hugePages);
}

const cpu::CpuLinear& asCpuLinear(const LinearWeights& w) {
    const auto* c = dynamic_cast<const cpu::CpuLinear*>(&w);
    if (c == nullptr) throw std::runtime_error("CPU backend: a linear weight was not prepared by the CPU backend");
    return *c;
}

const cpu::CpuMlaUp& asCpuMlaUp(const MlaUpWeights& w) {
    const auto* c = dynamic_cast<const cpu::CpuMlaUp*>(&w);
    if (c == nullptr) throw std::runtime_error("CPU backend: wkv_b was not prepared by the CPU backend");
    return *c;
}

const cpu::CpuStepContext& asCpuStep(const StepContext& s) {
    const auto* c = dynamic_cast<const cpu::CpuStepContext*>(&s);
    if (c == nullptr) throw std::runtime_error("CPU backend: the step context was not made by the CPU backend");
    return *c;
}

const cpu::CpuVisionContext& asCpuVision(const VisionContext& v) {
    const auto* c = dynamic_cast<const cpu::CpuVisionContext*>(&v);
    if (c == nullptr) throw std::runtime_error("CPU backend: the vision context was not made by the CPU backend");
    return *c;
}

const cpu::CpuKvCache& asCpuKvCache(const KvCache& c) {
    const auto* k = dynamic_cast<const cpu::CpuKvCache*>(&c);
    if (k == nullptr) throw std::runtime_error("CPU backend: the KV cache was not allocated by the CPU backend");
    return *k;
}

float* CpuBackend::allocFloats(size_t count) {
    if (count > SIZE_MAX / sizeof(float)) throw std::runtime_error("CPU backend: allocFloats size overflow");
    cpu::AlignedPtr p = cpu::alignedAlloc(count * sizeof(float), "scratch activations");
    std::memset(p.get(), 0, count * sizeof(float));
    return reinterpret_cast<float*>(p.release());
}

void CpuBackend::freeFloats(float* p) {
    if (p != nullptr) cpu::AlignedDelete()(p);
}

void CpuBackend::upload(float* dst, const float* src, size_t count) {
    if (count != 0) std::memcpy(dst, src, count * sizeof(float));
}

void CpuBackend::download(float* dst, const float* src, size_t count) {
    if (count != 0) std::memcpy(dst, src, count * sizeof(float));
}

}  // namespace ms4
