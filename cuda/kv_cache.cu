// The paged latent cache in device memory: allocation, the KV write (BF16 rounded to nearest even, F32 copied) and
// reading a layer back for the checks.
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/input_checks.h"
#include "launch.h"

namespace ms4 {

namespace cuda {

namespace {

template <bool kBf16>
__global__ void kvWriteKernel(uint8_t* layer, int width, const float* latent, int latentStride, int L, const float* kpe,
                              int kpeStride, int R, const int32_t* slotMapping) {
    const int t = blockIdx.x, slot = slotMapping[t];
    if (slot < 0) return;  // padding token: no cache entry
    for (int i = threadIdx.x; i < L + R; i += blockDim.x) {
        const float v = i < L ? latent[static_cast<size_t>(t) * latentStride + i]
                              : kpe[static_cast<size_t>(t) * kpeStride + (i - L)];
        const size_t at = static_cast<size_t>(slot) * width + i;
        if constexpr (kBf16) {
            reinterpret_cast<uint16_t*>(layer)[at] = floatToBf16Rne(v);
        } else {
            reinterpret_cast<float*>(layer)[at] = v;
        }
    }
}

}  // namespace

}  // namespace cuda

std::unique_ptr<KvCache> CudaBackend::allocKvCache(const KvCacheShape& shape) {
    checkKvCacheShape(shape);
    makeCurrent();
    cuda::DeviceBuffer data(shape.bytes(), "the KV cache (" + std::to_string(shape.layers) + " layers × " +
                                               std::to_string(shape.numBlocks) + " blocks × " +
                                               std::to_string(shape.blockSize) + " slots)");
    CUDA_CHECK(cudaMemsetAsync(data.get(), 0, shape.bytes(), stream_));
    return std::make_unique<cuda::CudaKvCache>(shape, std::move(data));
}

void CudaBackend::kvWrite(KvCache& kv, int layer, const float* latent, int latentStride, const float* kpe,
                          int kpeStride, const StepContext& step) {
    const cuda::CudaStepContext& s = asCudaStep(step);
    cuda::CudaKvCache& cache = asCudaKvCache(kv);
    checkSlots(s.in, cache.shape, layer, "kvWrite");
    const int T = s.in.numTokens;
    if (T == 0) return;
    makeCurrent();
    const KvCacheShape& sh = cache.shape;
    if (sh.dtype == KvDtype::BF16) {
        cuda::kvWriteKernel<true><<<T, 128, 0, stream_>>>(cache.layerBase(layer), sh.width(), latent, latentStride,
                                                          sh.latent, kpe, kpeStride, sh.rope, s.dev.slotMapping);
    } else {
        cuda::kvWriteKernel<false><<<T, 128, 0, stream_>>>(cache.layerBase(layer), sh.width(), latent, latentStride,
                                                           sh.latent, kpe, kpeStride, sh.rope, s.dev.slotMapping);
    }
    MS4_LAUNCH_CHECK();
}

void CudaBackend::downloadKvLayer(const KvCache& kv, int layer, float* out) {
    const cuda::CudaKvCache& cache = asCudaKvCache(kv);
    if (layer < 0 || layer >= cache.shape.layers) {
        throw std::runtime_error("downloadKvLayer: no layer " + std::to_string(layer));
    }
    makeCurrent();
    const size_t n = cache.layerValues();
    if (cache.shape.dtype == KvDtype::F32) {
        download(out, reinterpret_cast<const float*>(cache.layerBase(layer)), n);
        return;
    }
    std::vector<uint16_t> values(n);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    CUDA_CHECK(cudaMemcpy(values.data(), cache.layerBase(layer), n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; ++i) out[i] = cuda::bf16ToFloatExact(values[i]);
}

}  // namespace ms4
