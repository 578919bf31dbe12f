// RMSNorm, interleaved RoPE, llama-4 query scaling and the residual add, with the CPU backend's arithmetic: Σx² and
// the rotations in double, so the results match the reference to the CPU's bounds.
#include <cmath>
#include <stdexcept>
#include <string>

#include "launch.h"

namespace ms4 {

namespace cuda {

namespace {

constexpr int kMaxRopePairs = 64;

// Σx² of one row in double, summed over the block in a fixed tree (the same bits every run).
__device__ double blockSumDouble(double v, double* shared) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, warps = blockDim.x / kWarp;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? shared[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    return shared[0];
}

__global__ void rmsNormKernel(const float* x, int xStride, const float* w, int n, float eps, float* y, int yStride) {
    __shared__ double shared[32];
    const float* xt = x + static_cast<size_t>(blockIdx.x) * xStride;
    float* yt = y + static_cast<size_t>(blockIdx.x) * yStride;
    double ss = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += static_cast<double>(xt[i]) * xt[i];
    ss = blockSumDouble(ss, shared);
    const float inv = static_cast<float>(1.0 / sqrt(ss / n + static_cast<double>(eps)));
    for (int i = threadIdx.x; i < n; i += blockDim.x) yt[i] = xt[i] * inv * w[i];
}

struct RopeArgs {
    double invFreq[kMaxRopePairs];
    double factor;
    int pairs;
};

__global__ void ropeKernel(float* x, int heads, int tokenStride, int headStride, const int32_t* positions,
                           const RopeArgs a) {
    __shared__ double cs[2 * kMaxRopePairs];
    const int t = blockIdx.x;
    for (int i = threadIdx.x; i < a.pairs; i += blockDim.x) {
        const double angle = static_cast<double>(positions[t]) * a.invFreq[i];
        cs[2 * i] = cos(angle) * a.factor;
        cs[2 * i + 1] = sin(angle) * a.factor;
    }
    __syncthreads();
    for (int item = threadIdx.x; item < heads * a.pairs; item += blockDim.x) {
        const int h = item / a.pairs, i = item % a.pairs;
        float* v = x + static_cast<size_t>(t) * tokenStride + static_cast<size_t>(h) * headStride;
        const double p = v[2 * i], q = v[2 * i + 1], c = cs[2 * i], s = cs[2 * i + 1];
        v[2 * i] = static_cast<float>(p * c - q * s);
        v[2 * i + 1] = static_cast<float>(q * c + p * s);
    }
}

__global__ void queryScaleKernel(float* x, int n, int stride, const int32_t* positions, double beta, int originalMax) {
    const int t = blockIdx.x;
    const double f = 1.0 + beta * log(1.0 + floor(static_cast<double>(positions[t]) / originalMax));
    float* row = x + static_cast<size_t>(t) * stride;
    for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] = static_cast<float>(row[i] * f);
}

__global__ void addKernel(float* y, const float* x, size_t n) {
    for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<size_t>(gridDim.x) * blockDim.x) {
        y[i] += x[i];
    }
}

}  // namespace

}  // namespace cuda

void CudaBackend::rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y, int yStride) {
    if (n <= 0 || T <= 0) return;
    makeCurrent();
    cuda::rmsNormKernel<<<T, 256, 0, stream_>>>(x, xStride, w, n, eps, y, yStride);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::ropeInterleaved(float* x, int heads, int tokenStride, int headStride, const StepContext& step,
                                  const RopeParams& rope) {
    const cuda::CudaStepContext& s = asCudaStep(step);
    const int T = s.in.numTokens, pairs = static_cast<int>(rope.invFreq.size());
    if (T > 0 && s.dev.positions == nullptr) throw std::runtime_error("ropeInterleaved: the step has no positions");
    if (pairs == 0 || T == 0) return;
    if (pairs > cuda::kMaxRopePairs) {
        throw std::runtime_error("ropeInterleaved: " + std::to_string(pairs) + " rope pairs; the CUDA backend takes " +
                                 std::to_string(cuda::kMaxRopePairs) + " at most");
    }
    cuda::RopeArgs a{};
    for (int i = 0; i < pairs; ++i) a.invFreq[i] = rope.invFreq[i];
    a.factor = rope.attentionFactor;
    a.pairs = pairs;
    makeCurrent();
    cuda::ropeKernel<<<T, 128, 0, stream_>>>(x, heads, tokenStride, headStride, s.dev.positions, a);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::queryScale(float* x, int n, int stride, const StepContext& step, const QueryScaling& q) {
    if (q.beta == 0) return;
    const cuda::CudaStepContext& s = asCudaStep(step);
    const int T = s.in.numTokens;
    if (T > 0 && s.dev.positions == nullptr) throw std::runtime_error("queryScale: the step has no positions");
    if (q.originalMax <= 0) throw std::runtime_error("queryScale: originalMax must be positive");
    if (T == 0) return;
    makeCurrent();
    cuda::queryScaleKernel<<<T, 128, 0, stream_>>>(x, n, stride, s.dev.positions, q.beta, q.originalMax);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::addInPlace(float* y, const float* x, size_t n) {
    if (n == 0) return;
    makeCurrent();
    const unsigned blocks = static_cast<unsigned>(std::min<size_t>((n + 255) / 256, 4096));
    cuda::addKernel<<<blocks, 256, 0, stream_>>>(y, x, n);
    MS4_LAUNCH_CHECK();
}

}  // namespace ms4
