// Weight repacking on the device (checkpoint layout → the fragment-order lane records of layout/linear_layout.h, one
// thread per output word or byte, by the same pack functions the host checks run) and the exact element decode that
// reads prepared weights back as floats (embedding rows, wkv_b).
#include "launch.h"

namespace ms4::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void repackNvfp4Codes(const uint8_t* raw, int rows, int cols, int rowTile0, int rowTiles, int chunks,
                                 uint32_t* out) {
    const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const size_t total = static_cast<size_t>(rowTiles) * chunks * kWarp * kStepsPerChunk;
    if (i >= total) return;
    const int step = static_cast<int>(i % kStepsPerChunk), lane = static_cast<int>((i / kStepsPerChunk) % kWarp);
    const size_t rest = i / (kStepsPerChunk * kWarp);
    const int chunk = static_cast<int>(rest % chunks), rowTile = static_cast<int>(rest / chunks);
    out[laneRecord(rowTile0 + rowTile, chunk, lane, chunks) * 4 + step] =
        packNvfp4Word(raw, rows, cols, rowTile, chunk, lane, step);
}

__global__ void repackNvfp4Scales(const uint8_t* raw, int rows, int cols, int rowTile0, int rowTiles, int chunks,
                                  uint8_t* out) {
    const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<size_t>(rowTiles) * chunks * 64) return;
    const int byte = static_cast<int>(i % 64), chunk = static_cast<int>((i / 64) % chunks);
    const int rowTile = static_cast<int>(i / 64 / chunks);
    out[(static_cast<size_t>(rowTile0 + rowTile) * chunks + chunk) * 64 + byte] =
        packNvfp4ScaleByte(raw, rows, cols, rowTile, chunk, byte);
}

__global__ void repackFp8(const uint8_t* raw, int rows, int cols, int rowTile0, int rowTiles, int chunks,
                          uint8_t* out) {
    const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<size_t>(rowTiles) * chunks * kWarp * 32) return;
    const int byte = static_cast<int>(i % 32), lane = static_cast<int>((i / 32) % kWarp);
    const size_t rest = i / (32 * kWarp);
    const int chunk = static_cast<int>(rest % chunks), rowTile = static_cast<int>(rest / chunks);
    out[laneRecord(rowTile0 + rowTile, chunk, lane, chunks) * 32 + byte] =
        packFp8Byte(raw, rows, cols, rowTile, chunk, lane, byte);
}

__global__ void repackBf16(const uint16_t* raw, int rows, int cols, int rowTile0, int rowTiles, int chunks,
                           uint16_t* out) {
    const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<size_t>(rowTiles) * chunks * kWarp * 32) return;
    const int element = static_cast<int>(i % 32), lane = static_cast<int>((i / 32) % kWarp);
    const size_t rest = i / (32 * kWarp);
    const int chunk = static_cast<int>(rest % chunks), rowTile = static_cast<int>(rest / chunks);
    out[laneRecord(rowTile0 + rowTile, chunk, lane, chunks) * 32 + element] =
        packBf16Element(raw, rows, cols, rowTile, chunk, lane, element);
}

unsigned blocksFor(size_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

template <WeightFormat F>
__global__ void decodeRows(const uint8_t* codes, const uint8_t* scales, int chunks, float sourceScale,
                           const int32_t* rowIds, int cols, float* out, int outStride) {
    const int i = blockIdx.x, r = rowIds != nullptr ? rowIds[i] : i;
    float* o = out + static_cast<size_t>(i) * outStride;
    for (int k = threadIdx.x; k < cols; k += blockDim.x) {
        if constexpr (F == WeightFormat::NVFP4) {
            o[k] = nvfp4Element(reinterpret_cast<const uint32_t*>(codes), scales, chunks, sourceScale, r, k);
        } else if constexpr (F == WeightFormat::FP8) {
            o[k] = fp8Element(codes, chunks, sourceScale, r, k);
        } else {
            o[k] = bf16Element(reinterpret_cast<const uint16_t*>(codes), chunks, r, k);
        }
    }
}

}  // namespace

void launchRepack(WeightFormat f, const uint8_t* rawCodes, const uint8_t* rawScales, int rows, int cols, int rowTile0,
                  int chunks, uint8_t* codes, uint8_t* scales, cudaStream_t stream) {
    const int rowTiles = ceilDiv(rows, kRowTile);
    const size_t records = static_cast<size_t>(rowTiles) * chunks * kWarp;
    switch (f) {
        case WeightFormat::NVFP4:
            repackNvfp4Codes<<<blocksFor(records * kStepsPerChunk), kThreads, 0, stream>>>(
                rawCodes, rows, cols, rowTile0, rowTiles, chunks, reinterpret_cast<uint32_t*>(codes));
            MS4_LAUNCH_CHECK();
            repackNvfp4Scales<<<blocksFor(static_cast<size_t>(rowTiles) * chunks * 64), kThreads, 0, stream>>>(
                rawScales, rows, cols, rowTile0, rowTiles, chunks, scales);
            break;
        case WeightFormat::FP8:
            repackFp8<<<blocksFor(records * 32), kThreads, 0, stream>>>(rawCodes, rows, cols, rowTile0, rowTiles,
                                                                        chunks, codes);
            break;
        case WeightFormat::BF16:
            repackBf16<<<blocksFor(records * 32), kThreads, 0, stream>>>(reinterpret_cast<const uint16_t*>(rawCodes),
                                                                         rows, cols, rowTile0, rowTiles, chunks,
                                                                         reinterpret_cast<uint16_t*>(codes));
            break;
    }
    MS4_LAUNCH_CHECK();
}

void launchDecodeRows(const CudaLinear& w, const int32_t* rowIds, int count, float* out, int outStride,
                      cudaStream_t stream) {
    if (count <= 0) return;
    const uint8_t* codes = w.codes.as<const uint8_t>();
    const uint8_t* scales = w.scales.as<const uint8_t>();
    switch (w.format) {
        case WeightFormat::NVFP4:
            decodeRows<WeightFormat::NVFP4><<<count, kThreads, 0, stream>>>(codes, scales, w.geo.chunks, w.sourceScale,
                                                                            rowIds, w.cols, out, outStride);
            break;
        case WeightFormat::FP8:
            decodeRows<WeightFormat::FP8><<<count, kThreads, 0, stream>>>(codes, scales, w.geo.chunks, w.sourceScale,
                                                                          rowIds, w.cols, out, outStride);
            break;
        case WeightFormat::BF16:
            decodeRows<WeightFormat::BF16><<<count, kThreads, 0, stream>>>(codes, scales, w.geo.chunks, w.sourceScale,
                                                                           rowIds, w.cols, out, outStride);
            break;
    }
    MS4_LAUNCH_CHECK();
}

}  // namespace ms4::cuda
