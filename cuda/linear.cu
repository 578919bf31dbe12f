// Weight preparation (streamed through pinned staging, repacked on the device), the split-activation prepass, the
// tensor-core linear (one kernel for every T: docs/cuda-backend.md#linear), the embedding lookup and wkv_b.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "backend/input_checks.h"
#include "launch.h"
#include "layout/linear_plan.h"

namespace ms4 {

namespace cuda {

namespace {

constexpr int kSplitThreads = 256;

__device__ float blockMax(float v, float* shared) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, warps = blockDim.x / kWarp;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? shared[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    return shared[0];
}

// One block per (padded) row: the row's terms for every k of the padded width, two k per word.
template <ActSplit S>
__global__ void splitKernel(const float* x, int xStride, const int32_t* rowToken, int rows, int K, int chunks,
                            uint32_t* out, float* rowScale) {
    __shared__ float shared[32];
    const int r = blockIdx.x;
    const int src = r < rows ? (rowToken != nullptr ? rowToken[r] : r) : -1;
    const float* xr = src >= 0 ? x + static_cast<size_t>(src) * xStride : nullptr;
    const int kPad = chunks * kChunkK;
    auto value = [&](int k) { return xr != nullptr && k < K ? xr[k] : 0.0f; };
    if constexpr (S == ActSplit::F16x2) {
        float m = 0.0f;
        int bad = 0;
        for (int k = threadIdx.x; k < K && xr != nullptr; k += blockDim.x) {
            const float v = xr[k];
            m = fmaxf(m, fabsf(v));
            bad |= isfinite(v) ? 0 : 1;
        }
        bad = __syncthreads_or(bad);
        m = blockMax(m, shared);
        const int e = bad ? 0 : f16ScaleExponent(m);
        const float up = pow2f(e);
        if (threadIdx.x == 0 && rowScale != nullptr) rowScale[r] = bad ? __int_as_float(0x7fc00000) : pow2f(-e);
        for (int k = 2 * threadIdx.x; k < kPad; k += 2 * blockDim.x) {
            const F16Terms t0 = splitF16(value(k) * up), t1 = splitF16(value(k + 1) * up);
            out[splitPos(S, r, k, 0, chunks).word] = t0.hi | (static_cast<uint32_t>(t1.hi) << 16);
            out[splitPos(S, r, k, 1, chunks).word] = t0.lo | (static_cast<uint32_t>(t1.lo) << 16);
        }
    } else {
        if (threadIdx.x == 0 && rowScale != nullptr) rowScale[r] = 1.0f;
        for (int k = 2 * threadIdx.x; k < kPad; k += 2 * blockDim.x) {
            const Bf16Terms t0 = splitBf16(value(k)), t1 = splitBf16(value(k + 1));
            out[splitPos(S, r, k, 0, chunks).word] = t0.hi | (static_cast<uint32_t>(t1.hi) << 16);
            out[splitPos(S, r, k, 1, chunks).word] = t0.mid | (static_cast<uint32_t>(t1.mid) << 16);
            out[splitPos(S, r, k, 2, chunks).word] = t0.lo | (static_cast<uint32_t>(t1.lo) << 16);
            out[splitPos(S, r, k, 3, chunks).word] = 0;
        }
    }
}

struct LinearArgs {
    WeightView w;
    const uint32_t* split;
    const float* rowScale;
    float* y;
    int yStride, T, slices, chunksPerSlice, tokensPerBlock;
};

// grid (row tiles, token blocks), block = 32 · slices: warp w multiplies k-slice w, warp 0 adds the slices in order
// and writes the block's outputs.
template <WeightFormat F, int NTILES>
__global__ void __launch_bounds__(kMaxSlices* kWarp) linearKernel(const LinearArgs a) {
    constexpr ActSplit S = F == WeightFormat::BF16 ? ActSplit::BF16x3 : ActSplit::F16x2;
    __shared__ float red[reduceFloats<1, NTILES>()];
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int rowTile = blockIdx.x, tokenBlock = blockIdx.y;
    const int c0 = warp * a.chunksPerSlice, c1 = min(a.w.chunks, c0 + a.chunksPerSlice);
    float acc[1][NTILES][4] = {};
    const WeightView views[1] = {a.w};
    warpGemm<F, NTILES, 1>(views, rowTile, a.split, a.w.chunks, tokenBlock * NTILES, c0, c1, lane, acc);
    reduceSlices<1, NTILES>(acc, red, warp, lane, a.slices);
    if (warp != 0) return;
#pragma unroll
    for (int j = 0; j < NTILES; ++j) {
        const int token = tokenBlock * a.tokensPerBlock + epilogueToken(S, j, lane);
        const float scale = S == ActSplit::F16x2 && token < a.T ? a.rowScale[token] : 1.0f;
#pragma unroll
        for (int hiRow = 0; hiRow < 2; ++hiRow) {
            const int row = rowTile * kRowTile + lane / 4 + 8 * hiRow;
            const float v = epilogueValue<S, NTILES>(acc[0], j, hiRow, scale, a.w.weightScale);
            if (writesEpilogue<S>(lane) && token < a.T && row < a.w.rows)
                a.y[static_cast<size_t>(token) * a.yStride + row] = v;
        }
    }
}

template <WeightFormat F>
void launchLinearFormat(const LinearArgs& a, const LinearPlan& p, cudaStream_t stream) {
    const dim3 grid(p.rowBlocks, p.tokenBlocks), block(kWarp * p.slices);
    switch (p.tilesPerWarp) {
        case 1:
            linearKernel<F, 1><<<grid, block, 0, stream>>>(a);
            break;
        case 2:
            linearKernel<F, 2><<<grid, block, 0, stream>>>(a);
            break;
        case 4:
            linearKernel<F, 4><<<grid, block, 0, stream>>>(a);
            break;
        default:
            linearKernel<F, 8><<<grid, block, 0, stream>>>(a);
            break;
    }
    MS4_LAUNCH_CHECK();
}

__global__ void scatterRows(const float* rows, const int32_t* rowIds, int count, int width, float* out, int outStride) {
    const int i = blockIdx.x;
    if (i >= count) return;
    float* o = out + static_cast<size_t>(rowIds[i]) * outStride;
    const float* src = rows + static_cast<size_t>(i) * width;
    for (int k = threadIdx.x; k < width; k += blockDim.x) o[k] = src[k];
}

__global__ void gatherRows(const float* x, int xStride, const int32_t* rowIds, int width, float* out) {
    const int i = blockIdx.x;
    const float* src = x + static_cast<size_t>(rowIds[i]) * xStride;
    float* o = out + static_cast<size_t>(i) * width;
    for (int k = threadIdx.x; k < width; k += blockDim.x) o[k] = src[k];
}

// Source bytes per row of a checkpoint-layout weight: codes, then NVFP4 block scales.
size_t codeBytesPerRow(const LinearSource& s) {
    return s.format == WeightFormat::NVFP4 ? s.cols / 2 : s.format == WeightFormat::FP8 ? s.cols : 2 * size_t(s.cols);
}
size_t scaleBytesPerRow(const LinearSource& s) { return s.format == WeightFormat::NVFP4 ? s.cols / 16 : 0; }

}  // namespace

WeightView viewOf(const CudaLinear& w) {
    WeightView v;
    v.codes = w.codes.as<const uint8_t>();
    v.scales = w.scales.as<const uint8_t>();
    v.rows = w.rows;
    v.rowTiles = w.geo.rowTiles;
    v.chunks = w.geo.chunks;
    v.weightScale = w.weightScale;
    return v;
}

void launchSplit(ActSplit split, const float* x, int xStride, const int32_t* rowToken, int rows, int paddedRows, int K,
                 int chunks, uint32_t* out, float* rowScale, cudaStream_t stream) {
    const int padded = ceilDiv(std::max(rows, paddedRows), tokensPerTile(split)) * tokensPerTile(split);
    if (padded == 0) return;
    if (split == ActSplit::F16x2) {
        splitKernel<ActSplit::F16x2>
            <<<padded, kSplitThreads, 0, stream>>>(x, xStride, rowToken, rows, K, chunks, out, rowScale);
    } else {
        splitKernel<ActSplit::BF16x3>
            <<<padded, kSplitThreads, 0, stream>>>(x, xStride, rowToken, rows, K, chunks, out, rowScale);
    }
    MS4_LAUNCH_CHECK();
}

namespace {

// Rows of the split buffer a linear over T tokens reads: whole token blocks.
int paddedTokens(const LinearPlan& p) { return p.tokenBlocks * p.tokensPerBlock; }

}  // namespace

size_t linearScratchBytes(const CudaLinear& w, int T) {
    const LinearPlan p = planLinear(w.format, w.rows, w.cols, T);
    Carve c;
    c.take<uint8_t>(splitBytes(p.split, paddedTokens(p), p.chunks));
    c.take<float>(static_cast<size_t>(paddedTokens(p)));
    return c.used();
}

void linearWithScratch(const CudaLinear& w, const float* x, int xStride, int T, float* y, int yStride, uint8_t* scratch,
                       cudaStream_t stream) {
    const LinearPlan p = planLinear(w.format, w.rows, w.cols, T);
    Carve c(scratch);
    uint32_t* split = c.take<uint32_t>(splitBytes(p.split, paddedTokens(p), p.chunks) / 4);
    float* rowScale = c.take<float>(static_cast<size_t>(paddedTokens(p)));
    // The padded rows past T, which the last token block reads, are zero rows.
    launchSplit(p.split, x, xStride, nullptr, T, paddedTokens(p), w.cols, p.chunks, split, rowScale, stream);
    LinearArgs a{viewOf(w), split, rowScale, y, yStride, T, p.slices, p.chunksPerSlice, p.tokensPerBlock};
    switch (w.format) {
        case WeightFormat::NVFP4:
            launchLinearFormat<WeightFormat::NVFP4>(a, p, stream);
            break;
        case WeightFormat::FP8:
            launchLinearFormat<WeightFormat::FP8>(a, p, stream);
            break;
        case WeightFormat::BF16:
            launchLinearFormat<WeightFormat::BF16>(a, p, stream);
            break;
    }
}

}  // namespace cuda

// ---- CudaBackend: weights ----

void CudaBackend::ensureLoadStaging(size_t bytes) {
    if (loadStaging_[0].bytes() >= bytes) return;
    const size_t size = std::max(bytes, kLoadPieceBytes);
    for (int i = 0; i < 2; ++i) {
        if (loadDone_[i] != nullptr) CUDA_CHECK(cudaEventSynchronize(loadDone_[i]));
        loadStaging_[i] = cuda::PinnedBuffer();
        loadRaw_[i] = cuda::DeviceBuffer();
        loadStaging_[i] = cuda::PinnedBuffer(size);
        loadRaw_[i] = cuda::DeviceBuffer(size, "weight load staging");
        if (loadDone_[i] == nullptr) CUDA_CHECK(cudaEventCreateWithFlags(&loadDone_[i], cudaEventDisableTiming));
    }
}

std::unique_ptr<LinearWeights> CudaBackend::prepareLinear(const LinearSource& src) {
    checkLinearSource(src);
    makeCurrent();
    auto w = std::make_unique<cuda::CudaLinear>();
    w->format = src.format;
    w->rows = src.rows;
    w->cols = src.cols;
    w->id = nextWeightId();
    w->geo = cuda::linearGeometry(src.format, src.rows, src.cols);
    w->sourceScale = src.scale;
    w->weightScale = cuda::weightScaleOf(src.format, src.scale);
    const std::string what = "a weight [" + std::to_string(src.rows) + ", " + std::to_string(src.cols) + "]";
    w->codes = cuda::DeviceBuffer(w->geo.codeBytes, what);
    if (w->geo.scaleBytes > 0) w->scales = cuda::DeviceBuffer(w->geo.scaleBytes, what + "'s block scales");
    // Pieces of whole row tiles, through two pinned buffers and two device buffers: the host copies piece i + 1
    // while the device copies and repacks piece i.
    const size_t codeRow = cuda::codeBytesPerRow(src), scaleRow = cuda::scaleBytesPerRow(src);
    const size_t tileBytes = (codeRow + scaleRow) * cuda::kRowTile + 256;
    ensureLoadStaging(tileBytes);
    const int pieceRows = static_cast<int>(loadStaging_[0].bytes() / tileBytes) * cuda::kRowTile;
    for (int r0 = 0, piece = 0; r0 < src.rows; r0 += pieceRows, ++piece) {
        const int n = std::min(pieceRows, src.rows - r0), half = piece % 2;
        const size_t codeBytes = codeRow * n, scaleOffset = (codeBytes + 255) / 256 * 256;
        CUDA_CHECK(cudaEventSynchronize(loadDone_[half]));
        uint8_t* host = loadStaging_[half].get();
        std::memcpy(host, src.data + codeRow * r0, codeBytes);
        if (scaleRow > 0) std::memcpy(host + scaleOffset, src.blockScales + scaleRow * r0, scaleRow * n);
        uint8_t* raw = loadRaw_[half].as<uint8_t>();
        CUDA_CHECK(cudaMemcpyAsync(raw, host, scaleOffset + scaleRow * n, cudaMemcpyHostToDevice, stream_));
        cuda::launchRepack(src.format, raw, raw + scaleOffset, n, src.cols, r0 / cuda::kRowTile, w->geo.chunks,
                           w->codes.as<uint8_t>(), w->scales.as<uint8_t>(), stream_);
        CUDA_CHECK(cudaEventRecord(loadDone_[half], stream_));
    }
    w->bytes = w->geo.bytes();
    return w;
}

std::unique_ptr<MlaUpWeights> CudaBackend::prepareMlaUp(const LinearSource& src, const MlaDims& d) {
    if (src.rows != d.heads * (d.nope + d.v) || src.cols != d.latent) {
        throw std::runtime_error("prepareMlaUp: wkv_b is [" + std::to_string(src.rows) + ", " +
                                 std::to_string(src.cols) + "] but the MLA dims need [" +
                                 std::to_string(d.heads * (d.nope + d.v)) + ", " + std::to_string(d.latent) + "]");
    }
    const std::unique_ptr<LinearWeights> packed = prepareLinear(src);
    auto up = std::make_unique<cuda::CudaMlaUp>();
    up->dims = d;
    up->bytes = static_cast<size_t>(src.rows) * src.cols * sizeof(float);
    up->values = cuda::DeviceBuffer(up->bytes, "wkv_b");
    cuda::launchDecodeRows(asCudaLinear(*packed), nullptr, src.rows, up->values.as<float>(), src.cols, stream_);
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // before `packed` is freed
    return up;
}

// ---- CudaBackend: ops ----

void CudaBackend::linear(const LinearWeights& lw, const float* x, int xStride, int T, float* y, int yStride) {
    const cuda::CudaLinear& w = asCudaLinear(lw);
    if (T <= 0) return;
    makeCurrent();
    uint8_t* scratch = workspace_.reserve(cuda::linearScratchBytes(w, T));
    cuda::linearWithScratch(w, x, xStride, T, y, yStride, scratch, stream_);
}

void CudaBackend::embedTokens(const LinearWeights& table, const StepContext& step, float* out) {
    const cuda::CudaLinear& w = asCudaLinear(table);
    const cuda::CudaStepContext& s = asCudaStep(step);
    const StepInputs& in = s.in;
    const int T = in.numTokens;
    if (T > 0 && in.tokens == nullptr) throw std::runtime_error("embedTokens: the step has no token ids");
    for (int t = 0; t < T; ++t) {
        if (in.tokens[t] < 0 || in.tokens[t] >= w.rows) {
            throw std::runtime_error("embedTokens: token id " + std::to_string(in.tokens[t]) + " outside [0, " +
                                     std::to_string(w.rows) + ")");
        }
    }
    if (in.numInputRows > 0 && in.embeddingWidth != w.cols) {
        throw std::runtime_error("embedTokens: input embeddings have " + std::to_string(in.embeddingWidth) +
                                 " values per row but the hidden size is " + std::to_string(w.cols));
    }
    makeCurrent();
    cuda::launchDecodeRows(w, s.dev.tokens, T, out, w.cols, stream_);
    if (in.numInputRows > 0) {
        cuda::scatterRows<<<in.numInputRows, 256, 0, stream_>>>(s.dev.inputEmbeddings, s.dev.inputRows, in.numInputRows,
                                                                w.cols, out, w.cols);
        MS4_LAUNCH_CHECK();
    }
}

void CudaBackend::gatherLogitRows(const float* x, int xStride, int width, const StepContext& step, int first, int count,
                                  float* out) {
    const cuda::CudaStepContext& s = asCudaStep(step);
    if (first < 0 || count < 0 || first + count > s.numLogitRows) {
        throw std::runtime_error("step: gatherLogitRows: rows outside logitRows");
    }
    if (count == 0) return;
    makeCurrent();
    cuda::gatherRows<<<count, 256, 0, stream_>>>(x, xStride, s.dev.logitRows + first, width, out);
    MS4_LAUNCH_CHECK();
}

}  // namespace ms4
