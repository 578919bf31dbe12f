// The vision encoder's ops on the GPU (docs/model.md#vision-tower): the patch convolution's input, 2-D RoPE,
// bidirectional attention inside each image, SiLU·mul, the exact GELU, the patch merger's unfold and bias adds. The
// pass's layout (each patch's image, row and column; each merged token's image and block) is computed on the host by
// visionLayout and uploaded once in beginVision. Arithmetic follows the CPU backend: rotations in double, fp32
// softmax with a running maximum, so the CPU's bounds apply (native/checks/bounds.h). Not yet run on a GPU
// (docs/cuda-backend.md#status).
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_backend.h"
#include "cuda_check.cuh"
#include "launch.h"

namespace ms4 {

namespace cuda {

// A pass on the device: per patch its image, grid row and column; per image its first patch and grid width; per
// merged token its image and block row and column.
class CudaVisionContext : public VisionContext {
   public:
    CudaVisionContext(const VisionLayout& l)
        : VisionContext(l.numImages(), l.numPatches(), l.numTokens(), l.channels, l.patchSize, l.merge), layout(l) {}
    VisionLayout layout;
    DeviceBuffer buffer;
    const int32_t* patchImage = nullptr;  // [numPatches]
    const int32_t* patchRow = nullptr;    // [numPatches]
    const int32_t* patchCol = nullptr;    // [numPatches]
    const int32_t* imageStart = nullptr;  // [numImages + 1]
    const int32_t* imageCols = nullptr;   // [numImages]
    const int32_t* tokenImage = nullptr;  // [numTokens]
    const int32_t* tokenRow = nullptr;    // [numTokens] block row in the image's merged grid
    const int32_t* tokenCol = nullptr;    // [numTokens]
};

namespace {

constexpr int kMaxFreqs = 64;
constexpr int kAttentionThreads = 128;  // keys scored per tile, and the most head dims one block covers

const CudaVisionContext& asCudaVision(const VisionContext& v) {
    const auto* c = dynamic_cast<const CudaVisionContext*>(&v);
    if (c == nullptr) throw std::runtime_error("CUDA backend: the vision context was not made by the CUDA backend");
    return *c;
}

__global__ void patchRowsKernel(const float* pixels, const int32_t* patchImage, const int32_t* patchRow,
                                const int32_t* patchCol, const int32_t* imageStart, const int32_t* imageCols,
                                int channels, int ps, float* out, int outStride) {
    const int p = blockIdx.x, img = patchImage[p], row = patchRow[p], col = patchCol[p];
    const int cols = imageCols[img], rows = (imageStart[img + 1] - imageStart[img]) / cols;
    const size_t width = static_cast<size_t>(ps) * cols, plane = width * ps * rows;
    const float* base = pixels + static_cast<size_t>(imageStart[img]) * channels * ps * ps;
    for (int i = threadIdx.x; i < channels * ps * ps; i += blockDim.x) {
        const int c = i / (ps * ps), ky = (i / ps) % ps, kx = i % ps;
        out[static_cast<size_t>(p) * outStride + i] =
            base[c * plane + static_cast<size_t>(ps * row + ky) * width + ps * col + kx];
    }
}

struct Rope2dArgs {
    double rowFreq[kMaxFreqs];
    double colFreq[kMaxFreqs];
    int rowPairs, colPairs;
};

__global__ void rope2dKernel(float* x, int heads, int tokenStride, int headStride, const int32_t* patchRow,
                             const int32_t* patchCol, const Rope2dArgs a) {
    const int p = blockIdx.x, pairs = a.rowPairs + a.colPairs;
    for (int item = threadIdx.x; item < heads * pairs; item += blockDim.x) {
        const int h = item / pairs, i = item % pairs;
        const double angle = i < a.rowPairs ? patchRow[p] * a.rowFreq[i] : patchCol[p] * a.colFreq[i - a.rowPairs];
        float* v = x + static_cast<size_t>(p) * tokenStride + static_cast<size_t>(h) * headStride;
        const double c = cos(angle), s = sin(angle), q0 = v[2 * i], q1 = v[2 * i + 1];
        v[2 * i] = static_cast<float>(q0 * c - q1 * s);
        v[2 * i + 1] = static_cast<float>(q1 * c + q0 * s);
    }
}

// One block per (query patch, head): keys of the patch's image in tiles of kAttentionThreads, each thread scoring
// one key of the tile, then each thread (one per head dim) folding the tile into its output with an online softmax.
__global__ void visionAttentionKernel(const float* q, const float* k, const float* v, int stride, int headDim,
                                      float scale, const int32_t* patchImage, const int32_t* imageStart, float* out,
                                      int outStride) {
    __shared__ float qs[kAttentionThreads];
    __shared__ float scores[kAttentionThreads];
    __shared__ float tileMax;
    const int p = blockIdx.x, h = blockIdx.y, t = threadIdx.x;
    const int first = imageStart[patchImage[p]], last = imageStart[patchImage[p] + 1];
    const size_t col = static_cast<size_t>(h) * headDim;
    if (t < headDim) qs[t] = q[static_cast<size_t>(p) * stride + col + t];
    __syncthreads();
    float m = -INFINITY, l = 0.0f, acc = 0.0f;
    for (int j0 = first; j0 < last; j0 += kAttentionThreads) {
        const int count = min(kAttentionThreads, last - j0);
        if (t < count) {
            const float* kr = k + static_cast<size_t>(j0 + t) * stride + col;
            float s = 0.0f;
            for (int d = 0; d < headDim; ++d) s = fmaf(qs[d], kr[d], s);
            scores[t] = s * scale;
        }
        __syncthreads();
        if (t == 0) {
            float mx = -INFINITY;
            for (int j = 0; j < count; ++j) mx = fmaxf(mx, scores[j]);
            tileMax = mx;
        }
        __syncthreads();
        const float newMax = fmaxf(m, tileMax);
        const float correction = expf(m - newMax);  // 0 on the first tile (m = -inf)
        acc *= correction;
        l *= correction;
        m = newMax;
        for (int j = 0; j < count; ++j) {
            const float w = expf(scores[j] - m);
            l += w;
            if (t < headDim) acc = fmaf(w, v[static_cast<size_t>(j0 + j) * stride + col + t], acc);
        }
        __syncthreads();
    }
    if (t < headDim) out[static_cast<size_t>(p) * outStride + col + t] = acc / l;
}

__global__ void siluMulKernel(float* a, int aStride, const float* b, int bStride, int T, int n) {
    const size_t total = static_cast<size_t>(T) * n;
    for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        const size_t t = i / n, c = i % n;
        float& x = a[t * aStride + c];
        x = x / (1.0f + expf(-x)) * b[t * bStride + c];
    }
}

__global__ void geluKernel(float* x, int stride, int T, int n) {
    const size_t total = static_cast<size_t>(T) * n;
    for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        float& v = x[(i / n) * stride + i % n];
        v = static_cast<float>(0.5 * v * (1.0 + erf(v / 1.4142135623730951)));
    }
}

__global__ void mergePatchesKernel(const float* x, int width, int merge, const int32_t* tokenImage,
                                   const int32_t* tokenRow, const int32_t* tokenCol, const int32_t* imageStart,
                                   const int32_t* imageCols, float* out) {
    const int t = blockIdx.x, img = tokenImage[t], cols = imageCols[img], mm = merge * merge;
    float* o = out + static_cast<size_t>(t) * width * mm;
    for (int i = threadIdx.x; i < width * mm; i += blockDim.x) {
        const int c = i / mm, dy = (i % mm) / merge, dx = i % merge;
        const int patch = imageStart[img] + (merge * tokenRow[t] + dy) * cols + merge * tokenCol[t] + dx;
        o[i] = x[static_cast<size_t>(patch) * width + c];
    }
}

__global__ void addBiasKernel(float* y, int yStride, const float* bias, int T, int n) {
    const size_t total = static_cast<size_t>(T) * n;
    for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        y[(i / n) * yStride + i % n] += bias[i % n];
    }
}

int gridFor(size_t total) { return static_cast<int>(std::min<size_t>((total + 255) / 256, 65535)); }

}  // namespace

}  // namespace cuda

std::unique_ptr<VisionContext> CudaBackend::beginVision(const VisionInputs& in) {
    const VisionLayout layout = visionLayout(in);
    auto ctx = std::make_unique<cuda::CudaVisionContext>(layout);
    const int N = layout.numPatches(), tokens = layout.numTokens(), images = layout.numImages(), m = layout.merge;
    // Host arrays, one after another: patchImage, patchRow, patchCol, imageStart, imageCols, tokenImage, tokenRow,
    // tokenCol.
    std::vector<int32_t> host;
    host.reserve(3 * static_cast<size_t>(N) + 2 * images + 1 + 3 * static_cast<size_t>(tokens));
    std::vector<int32_t> patchImage, patchRow, patchCol, tokenImage, tokenRow, tokenCol;
    for (int i = 0; i < images; ++i) {
        for (int r = 0; r < layout.rows[i]; ++r) {
            for (int c = 0; c < layout.cols[i]; ++c) {
                patchImage.push_back(i);
                patchRow.push_back(r);
                patchCol.push_back(c);
            }
        }
        for (int r = 0; r < layout.rows[i] / m; ++r) {
            for (int c = 0; c < layout.cols[i] / m; ++c) {
                tokenImage.push_back(i);
                tokenRow.push_back(r);
                tokenCol.push_back(c);
            }
        }
    }
    std::vector<size_t> offsets;
    for (const std::vector<int32_t>* part : {&patchImage, &patchRow, &patchCol}) {
        offsets.push_back(host.size());
        host.insert(host.end(), part->begin(), part->end());
    }
    offsets.push_back(host.size());
    host.insert(host.end(), layout.imageStart.begin(), layout.imageStart.end());
    offsets.push_back(host.size());
    host.insert(host.end(), layout.cols.begin(), layout.cols.end());
    for (const std::vector<int32_t>* part : {&tokenImage, &tokenRow, &tokenCol}) {
        offsets.push_back(host.size());
        host.insert(host.end(), part->begin(), part->end());
    }
    makeCurrent();
    ctx->buffer = cuda::DeviceBuffer(host.size() * sizeof(int32_t), "a vision pass's layout");
    uploadBytes(ctx->buffer.get(), host.data(), host.size() * sizeof(int32_t));
    const int32_t* base = ctx->buffer.as<const int32_t>();
    ctx->patchImage = base + offsets[0];
    ctx->patchRow = base + offsets[1];
    ctx->patchCol = base + offsets[2];
    ctx->imageStart = base + offsets[3];
    ctx->imageCols = base + offsets[4];
    ctx->tokenImage = base + offsets[5];
    ctx->tokenRow = base + offsets[6];
    ctx->tokenCol = base + offsets[7];
    return ctx;
}

void CudaBackend::patchRows(const float* pixels, const VisionContext& v, float* out, int outStride) {
    const cuda::CudaVisionContext& c = cuda::asCudaVision(v);
    if (c.numPatches == 0) return;
    makeCurrent();
    cuda::patchRowsKernel<<<c.numPatches, 256, 0, stream_>>>(pixels, c.patchImage, c.patchRow, c.patchCol, c.imageStart,
                                                             c.imageCols, c.channels, c.patchSize, out, outStride);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::rope2d(float* x, int heads, int tokenStride, int headStride, const VisionContext& v,
                         const Rope2dParams& rope) {
    const cuda::CudaVisionContext& c = cuda::asCudaVision(v);
    if (rope.rowFreq.size() > cuda::kMaxFreqs || rope.colFreq.size() > cuda::kMaxFreqs) {
        throw std::runtime_error("rope2d: the CUDA backend takes at most " + std::to_string(cuda::kMaxFreqs) +
                                 " row and column frequencies");
    }
    if (c.numPatches == 0 || rope.rowFreq.size() + rope.colFreq.size() == 0) return;
    cuda::Rope2dArgs a{};
    for (size_t i = 0; i < rope.rowFreq.size(); ++i) a.rowFreq[i] = rope.rowFreq[i];
    for (size_t i = 0; i < rope.colFreq.size(); ++i) a.colFreq[i] = rope.colFreq[i];
    a.rowPairs = static_cast<int>(rope.rowFreq.size());
    a.colPairs = static_cast<int>(rope.colFreq.size());
    makeCurrent();
    cuda::rope2dKernel<<<c.numPatches, 128, 0, stream_>>>(x, heads, tokenStride, headStride, c.patchRow, c.patchCol, a);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim,
                                  float scale, const VisionContext& ctx, float* out, int outStride) {
    const cuda::CudaVisionContext& c = cuda::asCudaVision(ctx);
    if (headDim < 1 || headDim > cuda::kAttentionThreads) {
        throw std::runtime_error("visionAttention: head size " + std::to_string(headDim) +
                                 " outside the CUDA backend's [1, " + std::to_string(cuda::kAttentionThreads) + "]");
    }
    if (c.numPatches == 0 || heads == 0) return;
    makeCurrent();
    const dim3 grid(static_cast<unsigned>(c.numPatches), static_cast<unsigned>(heads));
    cuda::visionAttentionKernel<<<grid, cuda::kAttentionThreads, 0, stream_>>>(
        q, k, v, stride, headDim, scale, c.patchImage, c.imageStart, out, outStride);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::siluMul(float* a, int aStride, const float* b, int bStride, int T, int n) {
    const size_t total = static_cast<size_t>(T) * n;
    if (total == 0) return;
    makeCurrent();
    cuda::siluMulKernel<<<cuda::gridFor(total), 256, 0, stream_>>>(a, aStride, b, bStride, T, n);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::gelu(float* x, int stride, int T, int n) {
    const size_t total = static_cast<size_t>(T) * n;
    if (total == 0) return;
    makeCurrent();
    cuda::geluKernel<<<cuda::gridFor(total), 256, 0, stream_>>>(x, stride, T, n);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::mergePatches(const float* x, int width, const VisionContext& v, float* out) {
    const cuda::CudaVisionContext& c = cuda::asCudaVision(v);
    if (c.numTokens == 0) return;
    makeCurrent();
    cuda::mergePatchesKernel<<<c.numTokens, 256, 0, stream_>>>(x, width, c.merge, c.tokenImage, c.tokenRow, c.tokenCol,
                                                               c.imageStart, c.imageCols, out);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::addBias(float* y, int yStride, const float* bias, int T, int n) {
    const size_t total = static_cast<size_t>(T) * n;
    if (total == 0) return;
    makeCurrent();
    cuda::addBiasKernel<<<cuda::gridFor(total), 256, 0, stream_>>>(y, yStride, bias, T, n);
    MS4_LAUNCH_CHECK();
}

}  // namespace ms4
