// MLA attention over the paged latent cache (docs/model.md#mla-attention), float32 on the CUDA cores:
//   - the absorbed query / output projections (qLat = q_nope · W_UK, out = W_UV · oLat per head);
//   - absorbed attention, split-KV: one block per (token, partition of kAttentionPartition entries) keeps the 32
//     heads' online softmax and latent sums over the partition (the heads share every cache entry, so each entry is
//     read once per block for all of them), then one block per token combines its partitions in index order. The
//     partitions of a token depend on its own context length only: batch invariant;
//   - the expanded form (tests and forced steps): one block per (token, head) re-expanding keys and values.
// docs/cuda-backend.md#attention.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/input_checks.h"
#include "launch.h"

namespace ms4 {

namespace cuda {

namespace {

constexpr int kTile = 32;  // cache entries per online-softmax step (one per lane)
constexpr int kAttnThreads = 256;
constexpr int kAttnWarps = kAttnThreads / kWarp;
constexpr int kMaxAcc = 32;  // latent sums per thread: ceil(H / 8) · ceil(L / 32) must not exceed it
// Partial results of the absorbed attention held at once (a long prefill chunk over a long context runs in groups).
constexpr size_t kMaxPartialBytes = size_t{256} << 20;

struct CacheView {
    const uint8_t* layer;  // first slot of the layer
    int width, blockSize, maxBlocksPerSeq;
    bool bf16;
    const int32_t* blockTables;
};

__device__ __forceinline__ float cacheValue(const CacheView& c, int64_t slot, int i) {
    const size_t at = static_cast<size_t>(slot) * c.width + i;
    return c.bf16 ? bf16ToFloatExact(reinterpret_cast<const uint16_t*>(c.layer)[at])
                  : reinterpret_cast<const float*>(c.layer)[at];
}

__device__ __forceinline__ int64_t slotOf(const CacheView& c, int seq, int j) {
    const int block = c.blockTables[static_cast<size_t>(seq) * c.maxBlocksPerSeq + j / c.blockSize];
    return static_cast<int64_t>(block) * c.blockSize + j % c.blockSize;
}

// Loads entries [j0, j0 + count) of sequence `seq` into tile[j][0..width) (row stride `stride`), zero rows after.
__device__ void loadEntries(const CacheView& c, int seq, int j0, int count, float* tile, int stride) {
    for (int item = threadIdx.x; item < kTile * c.width; item += blockDim.x) {
        const int j = item / c.width, i = item % c.width;
        tile[j * stride + i] = j < count ? cacheValue(c, slotOf(c, seq, j0 + j), i) : 0.0f;
    }
}

struct AbsorbedArgs {
    const float* qLat;  // [T, H, L]
    const float* q;     // q_pe of token t, head h at t · qTokenStride + h · qk + nope
    int qTokenStride, qk, nope;
    int H, L, R;
    float scale;
    CacheView cache;
    const int32_t* seqOf;
    const int32_t* visible;
    const int32_t* firstTask;
    const int32_t* taskToken;
    int taskBase;     // this launch runs tasks taskBase + blockIdx.x
    float* partials;  // per task of the launch: m[H], l[H], o[H][L]
};

// Shared floats of one absorbed block: queries [H][L+R+1], an entry tile [kTile][L+R+1], scores [H][kTile], and per
// head the rescale factor of the current tile.
size_t absorbedSharedBytes(int H, int L, int R) {
    const size_t qs = static_cast<size_t>(L + R + 1);
    return (H * qs + kTile * qs + static_cast<size_t>(H) * kTile + H) * sizeof(float);
}

__global__ void __launch_bounds__(kAttnThreads) absorbedPartition(const AbsorbedArgs a) {
    extern __shared__ float smem[];
    const int width = a.L + a.R, stride = width + 1;
    float* qs = smem;                       // [H][stride]
    float* tile = qs + a.H * stride;        // [kTile][stride]
    float* scores = tile + kTile * stride;  // [H][kTile]
    float* corr = scores + a.H * kTile;     // [H]
    const int task = a.taskBase + blockIdx.x, t = a.taskToken[task], part = task - a.firstTask[t];
    const int seq = a.seqOf[t], j0 = part * kAttentionPartition;
    const int j1 = min(a.visible[t], j0 + kAttentionPartition);
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    for (int item = threadIdx.x; item < a.H * width; item += blockDim.x) {
        const int h = item / width, i = item % width;
        qs[h * stride + i] = i < a.L ? a.qLat[(static_cast<size_t>(t) * a.H + h) * a.L + i]
                                     : a.q[static_cast<size_t>(t) * a.qTokenStride + h * a.qk + a.nope + (i - a.L)];
    }
    // Thread (warp w, lane): heads w·hpw .. and latents lane + 32·k.
    const int hpw = (a.H + kAttnWarps - 1) / kAttnWarps, lpl = (a.L + kWarp - 1) / kWarp;
    float acc[kMaxAcc];
#pragma unroll
    for (int i = 0; i < kMaxAcc; ++i) acc[i] = 0.0f;
    // Online-softmax state of the heads this warp scores (heads warp, warp + 8, ...), held by every lane.
    float m[kMaxAcc], l[kMaxAcc];
#pragma unroll
    for (int i = 0; i < kMaxAcc; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
    }
    for (int jt = j0; jt < j1; jt += kTile) {
        const int count = min(kTile, j1 - jt);
        __syncthreads();  // the previous tile's readers are done
        loadEntries(a.cache, seq, jt, count, tile, stride);
        __syncthreads();
        // Scores: warp w scores heads w, w + 8, ...; lane j the tile's entry j.
#pragma unroll
        for (int k = 0; k < kMaxAcc; ++k) {
            const int h = warp + k * kAttnWarps;
            if (h >= a.H) break;
            const float* qh = qs + h * stride;
            const float* e = tile + lane * stride;
            float dl = 0.0f, dr = 0.0f;
            for (int i = 0; i < a.L; ++i) dl = fmaf(qh[i], e[i], dl);
            for (int i = a.L; i < width; ++i) dr = fmaf(qh[i], e[i], dr);
            const float s = lane < count ? (dl + dr) * a.scale : -INFINITY;
            float tileMax = s;
            for (int o = 16; o > 0; o >>= 1) tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, o));
            const float mNew = fmaxf(m[k], tileMax);
            const float c = expf(m[k] - mNew);  // 0 on the first tile (m = -inf)
            const float p = lane < count ? expf(s - mNew) : 0.0f;
            float sum = p;
            for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
            l[k] = l[k] * c + sum;
            m[k] = mNew;
            scores[h * kTile + lane] = p;
            if (lane == 0) corr[h] = c;
        }
        __syncthreads();
        // Latent sums: acc[h][l] = acc · corr[h] + Σ_j p[h][j] · c_kv[j][l].
#pragma unroll
        for (int k = 0; k < kMaxAcc; ++k) {
            const int hh = k / lpl, li = k % lpl;
            const int h = warp * hpw + hh, lat = lane + kWarp * li;
            if (hh >= hpw || h >= a.H || lat >= a.L) continue;
            float v = acc[k] * corr[h];
            const float* p = scores + h * kTile;
            for (int j = 0; j < count; ++j) v = fmaf(p[j], tile[j * stride + lat], v);
            acc[k] = v;
        }
    }
    float* out = a.partials + static_cast<size_t>(blockIdx.x) * (2 * a.H + static_cast<size_t>(a.H) * a.L);
#pragma unroll
    for (int k = 0; k < kMaxAcc; ++k) {
        const int h = warp + k * kAttnWarps;
        if (h >= a.H) break;
        if (lane == 0) {
            out[h] = m[k];
            out[a.H + h] = l[k];
        }
    }
#pragma unroll
    for (int k = 0; k < kMaxAcc; ++k) {
        const int hh = k / lpl, li = k % lpl;
        const int h = warp * hpw + hh, lat = lane + kWarp * li;
        if (hh >= hpw || h >= a.H || lat >= a.L) continue;
        out[2 * a.H + static_cast<size_t>(h) * a.L + lat] = acc[k];
    }
}

// o = Σ_p e^(m_p − M) o_p / Σ_p e^(m_p − M) l_p over a token's partitions, in index order; token tokenBase +
// blockIdx.x, whose partials start at task firstTask[t] - taskBase of `partials`.
__global__ void combinePartitions(const float* partials, const int32_t* firstTask, int tokenBase, int taskBase, int H,
                                  int L, float* oLat) {
    __shared__ float headMax[256], headInv[256];
    const int t = tokenBase + blockIdx.x, p0 = firstTask[t] - taskBase, np = firstTask[t + 1] - firstTask[t];
    const size_t pf = 2 * static_cast<size_t>(H) + static_cast<size_t>(H) * L;
    for (int h = threadIdx.x; h < H; h += blockDim.x) {
        float M = -INFINITY;
        for (int p = 0; p < np; ++p) M = fmaxf(M, partials[(p0 + p) * pf + h]);
        float sum = 0.0f;
        for (int p = 0; p < np; ++p) {
            const float w = np == 1 ? 1.0f : expf(partials[(p0 + p) * pf + h] - M);
            sum += w * partials[(p0 + p) * pf + H + h];
        }
        headMax[h] = M;
        headInv[h] = np == 0 ? 0.0f : 1.0f / sum;
    }
    __syncthreads();
    for (int item = threadIdx.x; item < H * L; item += blockDim.x) {
        const int h = item / L;
        float v = 0.0f;
        for (int p = 0; p < np; ++p) {
            const float* part = partials + (p0 + p) * pf;
            const float w = np == 1 ? 1.0f : expf(part[h] - headMax[h]);
            v = fmaf(w, part[2 * H + item], v);
        }
        oLat[static_cast<size_t>(t) * H * L + item] = v * headInv[h];
    }
}

// qLat[t, h, l] = Σ_i qNope[t, h, i] · W_UK[h][i][l]; grid (T, H).
__global__ void absorbQueryKernel(const float* q, int qTokenStride, int qk, const float* wkvb, int rowsPerHead,
                                  int nope, int L, float* qLat) {
    const int t = blockIdx.x, h = blockIdx.y, H = gridDim.y;
    const float* qn = q + static_cast<size_t>(t) * qTokenStride + static_cast<size_t>(h) * qk;
    const float* wuk = wkvb + static_cast<size_t>(h) * rowsPerHead * L;
    for (int l = threadIdx.x; l < L; l += blockDim.x) {
        float acc = 0.0f;
        for (int i = 0; i < nope; ++i) acc = fmaf(qn[i], wuk[static_cast<size_t>(i) * L + l], acc);
        qLat[(static_cast<size_t>(t) * H + h) * L + l] = acc;
    }
}

// out[t, h, v] = Σ_l W_UV[h][v][l] · oLat[t, h, l]; grid (T, H), a warp per output, lanes over l, tree-summed.
__global__ void absorbOutputKernel(const float* oLat, const float* wkvb, int rowsPerHead, int nope, int L, int V,
                                   float* out) {
    const int t = blockIdx.x, h = blockIdx.y, H = gridDim.y;
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, warps = blockDim.x / kWarp;
    const float* ol = oLat + (static_cast<size_t>(t) * H + h) * L;
    for (int v = warp; v < V; v += warps) {
        const float* w = wkvb + (static_cast<size_t>(h) * rowsPerHead + nope + v) * L;
        float s = 0.0f;
        for (int l = lane; l < L; l += kWarp) s = fmaf(w[l], ol[l], s);
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (lane == 0) out[(static_cast<size_t>(t) * H + h) * V + v] = s;
    }
}

struct ExpandedArgs {
    const float* q;
    int qTokenStride;
    const float* wkvb;
    int H, nope, rope, V, L;
    float scale;
    CacheView cache;
    const int32_t* seqOf;
    const int32_t* visible;
    float* out;
};

size_t expandedSharedBytes(int nope, int rope, int L) {
    return (static_cast<size_t>(kTile) * (L + rope + 1) + static_cast<size_t>(kTile) * (nope + 1) + nope + rope +
            2 * kTile + 2) *
           sizeof(float);
}

// One block per (token, head): keys and values re-expanded from each visible entry, online softmax over tiles.
__global__ void expandedKernel(const ExpandedArgs a) {
    extern __shared__ float smem[];
    const int t = blockIdx.x, h = blockIdx.y, width = a.L + a.rope, stride = width + 1;
    float* tile = smem;                     // [kTile][stride]
    float* kn = tile + kTile * stride;      // [kTile][nope + 1]
    float* qh = kn + kTile * (a.nope + 1);  // [nope + rope]
    float* p = qh + a.nope + a.rope;        // [kTile]
    float* state = p + kTile;               // m, correction
    const int seq = a.seqOf[t], vis = a.visible[t], rowsPerHead = a.nope + a.V;
    const float* wuk = a.wkvb + static_cast<size_t>(h) * rowsPerHead * a.L;
    const float* wuv = wuk + static_cast<size_t>(a.nope) * a.L;
    for (int i = threadIdx.x; i < a.nope + a.rope; i += blockDim.x) {
        qh[i] = a.q[static_cast<size_t>(t) * a.qTokenStride + static_cast<size_t>(h) * (a.nope + a.rope) + i];
    }
    if (threadIdx.x == 0) state[0] = -INFINITY;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // values v = threadIdx.x + blockDim.x · k
    float lsum = 0.0f;
    for (int j0 = 0; j0 < vis; j0 += kTile) {
        const int count = min(kTile, vis - j0);
        __syncthreads();
        loadEntries(a.cache, seq, j0, count, tile, stride);
        __syncthreads();
        for (int item = threadIdx.x; item < kTile * a.nope; item += blockDim.x) {
            const int j = item / a.nope, i = item % a.nope;
            float s = 0.0f;
            for (int l = 0; l < a.L; ++l) s = fmaf(wuk[static_cast<size_t>(i) * a.L + l], tile[j * stride + l], s);
            kn[j * (a.nope + 1) + i] = s;
        }
        __syncthreads();
        if (threadIdx.x < kWarp) {
            const int j = threadIdx.x;
            float s = -INFINITY;
            if (j < count) {
                float dn = 0.0f, dr = 0.0f;
                for (int i = 0; i < a.nope; ++i) dn = fmaf(qh[i], kn[j * (a.nope + 1) + i], dn);
                for (int i = 0; i < a.rope; ++i) dr = fmaf(qh[a.nope + i], tile[j * stride + a.L + i], dr);
                s = (dn + dr) * a.scale;
            }
            float tileMax = s;
            for (int o = 16; o > 0; o >>= 1) tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, o));
            const float mOld = state[0], mNew = fmaxf(mOld, tileMax);
            p[j] = j < count ? expf(s - mNew) : 0.0f;
            __syncwarp();
            if (j == 0) {
                state[0] = mNew;
                state[1] = expf(mOld - mNew);
            }
        }
        __syncthreads();
        const float c = state[1];
        float tileSum = 0.0f;
        for (int j = 0; j < count; ++j) tileSum += p[j];
        lsum = lsum * c + tileSum;
        for (int k = 0; k < 4; ++k) {
            const int v = threadIdx.x + blockDim.x * k;
            if (v >= a.V) break;
            float o = acc[k] * c;
            for (int j = 0; j < count; ++j) {
                float vv = 0.0f;
                for (int l = 0; l < a.L; ++l)
                    vv = fmaf(wuv[static_cast<size_t>(v) * a.L + l], tile[j * stride + l], vv);
                o = fmaf(p[j], vv, o);
            }
            acc[k] = o;
        }
    }
    for (int k = 0; k < 4; ++k) {
        const int v = threadIdx.x + blockDim.x * k;
        if (v >= a.V) break;
        a.out[(static_cast<size_t>(t) * a.H + h) * a.V + v] = acc[k] / lsum;
    }
}

CacheView cacheView(const CudaKvCache& cache, int layer, const CudaStepContext& s) {
    CacheView c;
    c.layer = cache.layerBase(layer);
    c.width = cache.shape.width();
    c.blockSize = cache.shape.blockSize;
    c.maxBlocksPerSeq = s.in.maxBlocksPerSeq;
    c.bf16 = cache.shape.dtype == KvDtype::BF16;
    c.blockTables = s.dev.blockTables;
    return c;
}

// Raises a kernel's dynamic shared memory limit when `bytes` needs it (above the 48 KiB default).
void allowSharedBytes(const void* kernel, size_t bytes, const cudaDeviceProp& props, const char* what) {
    if (bytes > props.sharedMemPerBlockOptin) {
        throw std::runtime_error(std::string(what) + ": the MLA dims need " + std::to_string(bytes) +
                                 " bytes of shared memory per block; this device has " +
                                 std::to_string(props.sharedMemPerBlockOptin));
    }
    if (bytes > 48 * 1024) {
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
    }
}

}  // namespace

}  // namespace cuda

void CudaBackend::mlaAbsorbQuery(const float* q, int qTokenStride, const MlaUpWeights& up, int T, float* qLat) {
    const cuda::CudaMlaUp& w = asCudaMlaUp(up);
    const MlaDims& d = up.dims;
    if (T <= 0) return;
    makeCurrent();
    cuda::absorbQueryKernel<<<dim3(T, d.heads), std::min(256, std::max(32, d.latent)), 0, stream_>>>(
        q, qTokenStride, d.nope + d.rope, w.data(), d.nope + d.v, d.nope, d.latent, qLat);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::mlaAbsorbOutput(const float* oLat, const MlaUpWeights& up, int T, float* out) {
    const cuda::CudaMlaUp& w = asCudaMlaUp(up);
    const MlaDims& d = up.dims;
    if (T <= 0) return;
    makeCurrent();
    cuda::absorbOutputKernel<<<dim3(T, d.heads), 128, 0, stream_>>>(oLat, w.data(), d.nope + d.v, d.nope, d.latent, d.v,
                                                                    out);
    MS4_LAUNCH_CHECK();
}

void CudaBackend::mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& kv,
                                       int layer, const StepContext& step, const MlaDims& d, float* oLat) {
    const cuda::CudaKvCache& cache = asCudaKvCache(kv);
    const cuda::CudaStepContext& s = asCudaStep(step);
    checkStepAgainstCache(s.in, cache.shape, layer, d, "mlaAttentionAbsorbed");
    const int T = s.in.numTokens;
    if (T == 0) return;
    const int hpw = (d.heads + cuda::kAttnWarps - 1) / cuda::kAttnWarps,
              lpl = (d.latent + cuda::kWarp - 1) / cuda::kWarp;
    if (hpw * lpl > cuda::kMaxAcc || (d.heads + cuda::kAttnWarps - 1) / cuda::kAttnWarps > cuda::kMaxAcc) {
        throw std::runtime_error("mlaAttentionAbsorbed: " + std::to_string(d.heads) + " heads of latent " +
                                 std::to_string(d.latent) + " exceed the CUDA kernel's register tile");
    }
    makeCurrent();
    const size_t partialFloats = 2 * static_cast<size_t>(d.heads) + static_cast<size_t>(d.heads) * d.latent;
    // Tokens go in groups whose partitions' partial results fit the budget (a long prefill chunk over a long context
    // has many; layout/attention_plan.h); each group is one partition launch and one combine launch.
    const int budgetTasks = std::max(1, static_cast<int>(cuda::kMaxPartialBytes / (partialFloats * sizeof(float))));
    int maxParts = 1;
    for (int t = 0; t < T; ++t) maxParts = std::max(maxParts, cuda::attentionParts(s.visible[t]));
    float* partials = reinterpret_cast<float*>(
        workspace_.reserve(static_cast<size_t>(std::max(budgetTasks, maxParts)) * partialFloats * sizeof(float)));
    cuda::AbsorbedArgs a;
    a.qLat = qLat;
    a.q = q;
    a.qTokenStride = qTokenStride;
    a.qk = d.nope + d.rope;
    a.nope = d.nope;
    a.H = d.heads;
    a.L = d.latent;
    a.R = d.rope;
    a.scale = d.scale;
    a.cache = cuda::cacheView(cache, layer, s);
    a.seqOf = s.dev.seqOf;
    a.visible = s.dev.visible;
    a.firstTask = s.dev.firstTask;
    a.taskToken = s.dev.taskToken;
    a.partials = partials;
    const size_t shared = cuda::absorbedSharedBytes(d.heads, d.latent, d.rope);
    cuda::allowSharedBytes(reinterpret_cast<const void*>(cuda::absorbedPartition), shared, props_,
                           "mlaAttentionAbsorbed");
    if (d.heads > 256) throw std::runtime_error("mlaAttentionAbsorbed: more than 256 heads");
    int taskBase = 0;
    for (const auto& [t0, t1] : cuda::attentionGroups(s.visible, budgetTasks)) {
        int tasks = 0;
        for (int t = t0; t < t1; ++t) tasks += cuda::attentionParts(s.visible[t]);
        a.taskBase = taskBase;
        if (tasks > 0) {
            cuda::absorbedPartition<<<tasks, cuda::kAttnThreads, shared, stream_>>>(a);
            MS4_LAUNCH_CHECK();
        }
        cuda::combinePartitions<<<t1 - t0, 256, 0, stream_>>>(partials, s.dev.firstTask, t0, taskBase, d.heads,
                                                              d.latent, oLat);
        MS4_LAUNCH_CHECK();
        taskBase += tasks;
    }
}

void CudaBackend::mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& kv, int layer,
                                       const StepContext& step, const MlaUpWeights& up, float* out) {
    const cuda::CudaKvCache& cache = asCudaKvCache(kv);
    const cuda::CudaStepContext& s = asCudaStep(step);
    const MlaDims& d = up.dims;
    checkStepAgainstCache(s.in, cache.shape, layer, d, "mlaAttentionExpanded");
    const int T = s.in.numTokens;
    if (T == 0) return;
    if (d.v > 4 * 128) throw std::runtime_error("mlaAttentionExpanded: v_head_dim above 512");
    makeCurrent();
    cuda::ExpandedArgs a;
    a.q = q;
    a.qTokenStride = qTokenStride;
    a.wkvb = asCudaMlaUp(up).data();
    a.H = d.heads;
    a.nope = d.nope;
    a.rope = d.rope;
    a.V = d.v;
    a.L = d.latent;
    a.scale = d.scale;
    a.cache = cuda::cacheView(cache, layer, s);
    a.seqOf = s.dev.seqOf;
    a.visible = s.dev.visible;
    a.out = out;
    const size_t shared = cuda::expandedSharedBytes(d.nope, d.rope, d.latent);
    cuda::allowSharedBytes(reinterpret_cast<const void*>(cuda::expandedKernel), shared, props_, "mlaAttentionExpanded");
    cuda::expandedKernel<<<dim3(T, d.heads), 128, shared, stream_>>>(a);
    MS4_LAUNCH_CHECK();
}

}  // namespace ms4
