// The paged latent cache: per layer one contiguous [numBlocks·blockSize][L + R] array of F32 or BF16 values.
#include <cstring>
#include <stdexcept>
#include <string>

#include "backend/input_checks.h"
#include "backend/number_formats.h"
#include "cpu/cpu_backend.h"

namespace ms4 {

namespace cpu {

CpuKvCache::CpuKvCache(const KvCacheShape& s, Pages pages) : KvCache(s) {
    const size_t bytes = s.bytes();
    data = alignedAlloc(bytes,
                        ("the KV cache (" + std::to_string(s.layers) + " layers × " + std::to_string(s.numBlocks) +
                         " blocks × " + std::to_string(s.blockSize) + " slots)")
                            .c_str(),
                        pages);
    std::memset(data.get(), 0, bytes);
}

}  // namespace cpu

std::unique_ptr<KvCache> CpuBackend::allocKvCache(const KvCacheShape& shape) {
    checkKvCacheShape(shape);
    return std::make_unique<cpu::CpuKvCache>(shape, longLivedPages());
}

// BF16 values are rounded to nearest even (|relative error| ≤ 2^-9); F32 values are copied exactly.
void CpuBackend::kvWrite(KvCache& kv, int layer, const float* latent, int latentStride, const float* kpe, int kpeStride,
                         const StepContext& step) {
    const StepInputs& in = asCpuStep(step).in;
    const cpu::CpuKvCache& cache = asCpuKvCache(kv);
    const KvCacheShape& s = cache.shape;
    checkSlots(in, s, layer, "kvWrite");
    const int T = in.numTokens;
    const int32_t* slotMapping = in.slotMapping;
    const int L = s.latent, R = s.rope;
    for (int t = 0; t < T; ++t) {
        if (slotMapping[t] < 0) continue;  // padding token: no cache entry
        const float* lt = latent + static_cast<size_t>(t) * latentStride;
        const float* kt = kpe + static_cast<size_t>(t) * kpeStride;
        uint8_t* dst = cache.slotPtr(layer, slotMapping[t]);
        if (s.dtype == KvDtype::F32) {
            float* d = reinterpret_cast<float*>(dst);
            std::memcpy(d, lt, sizeof(float) * L);
            std::memcpy(d + L, kt, sizeof(float) * R);
        } else {
            uint16_t* d = reinterpret_cast<uint16_t*>(dst);
            for (int i = 0; i < L; ++i) d[i] = floatToBf16(lt[i]);
            for (int i = 0; i < R; ++i) d[L + i] = floatToBf16(kt[i]);
        }
    }
}

void CpuBackend::downloadKvLayer(const KvCache& kv, int layer, float* out) {
    const cpu::CpuKvCache& cache = asCpuKvCache(kv);
    if (layer < 0 || layer >= cache.shape.layers)
        throw std::runtime_error("downloadKvLayer: no layer " + std::to_string(layer));
    const size_t n = cache.layerValues();
    const uint8_t* base = cache.slotPtr(layer, 0);
    if (cache.shape.dtype == KvDtype::F32) {
        std::memcpy(out, base, n * sizeof(float));
    } else {
        const uint16_t* v = reinterpret_cast<const uint16_t*>(base);
        for (size_t i = 0; i < n; ++i) out[i] = bf16ToFloat(v[i]);
    }
}

}  // namespace ms4
