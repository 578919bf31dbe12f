// The MoE layer on the device (docs/cuda-backend.md#moe), with no host round trip and no launch sized by the routing:
//   1. router logits: the tensor-core linear (BF16 router);
//   2. routing: one warp per token: softmax in double, top-k (ties to the lower index), renormalise, × routed scale;
//   3. grouping: a counting sort in one block (layout/moe_plan.h): each expert's tokens (and every token for the shared
//      expert) in consecutive rows, padded to the tile size, and the tile list;
//   4. the inputs gathered into split activations by row, then one grouped launch for gate and up of every touched
//      expert (blocks past the tile list exit), SiLU·mul in its epilogue;
//   5. the hidden rows split, one grouped launch for down;
//   6. per token, y = shared(x) + Σ_k w_k · expert_k(x) in k order (deterministic, no atomics).
#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "launch.h"
#include "layout/linear_plan.h"
#include "layout/moe_plan.h"

namespace ms4 {

namespace cuda {

namespace {

constexpr int kMaxTopK = 16;
constexpr int kMaxExperts = 1024;

// One warp per token.
__global__ void routeKernel(const float* logits, int E, int K, bool normTopk, float routedScale, int T, int32_t* chosen,
                            float* weights) {
    const int t = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    if (t >= T) return;
    const float* lt = logits + static_cast<size_t>(t) * E;
    float maxLogit = -INFINITY;
    for (int e = lane; e < E; e += kWarp) maxLogit = fmaxf(maxLogit, lt[e]);
    for (int o = 16; o > 0; o >>= 1) maxLogit = fmaxf(maxLogit, __shfl_xor_sync(0xffffffffu, maxLogit, o));
    double sum = 0;
    for (int e = lane; e < E; e += kWarp) sum += exp(static_cast<double>(lt[e]) - maxLogit);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    uint32_t taken = 0;  // bit i: expert lane + 32·i is chosen
    int picked[kMaxTopK];
    double p[kMaxTopK], topSum = 0;
    for (int k = 0; k < K; ++k) {
        double best = -1;
        int bestE = E;
        for (int i = 0, e = lane; e < E; ++i, e += kWarp) {
            if (taken & (1u << i)) continue;
            const double pe = exp(static_cast<double>(lt[e]) - maxLogit) / sum;
            if (pe > best) {  // a lane's experts rise in index: the first of equals is kept
                best = pe;
                bestE = e;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            const double ob = __shfl_xor_sync(0xffffffffu, best, o);
            const int oe = __shfl_xor_sync(0xffffffffu, bestE, o);
            if (ob > best || (ob == best && oe < bestE)) {
                best = ob;
                bestE = oe;
            }
        }
        if (bestE >= E) {  // NaN probabilities compare false: take the lowest expert not yet taken
            int lowest = E;
            for (int i = 0, e = lane; e < E; ++i, e += kWarp) {
                if (!(taken & (1u << i))) {
                    lowest = e;
                    break;
                }
            }
            for (int o = 16; o > 0; o >>= 1) lowest = min(lowest, __shfl_xor_sync(0xffffffffu, lowest, o));
            bestE = lowest;
            best = __longlong_as_double(0x7ff8000000000000LL);
        }
        if (lane == bestE % kWarp) taken |= 1u << (bestE / kWarp);
        picked[k] = bestE;
        p[k] = best;
        topSum += best;
    }
    if (lane == 0) {
        for (int k = 0; k < K; ++k) {
            const double wk = normTopk ? p[k] / (topSum + 1e-20) : p[k];
            chosen[static_cast<size_t>(t) * K + k] = picked[k];
            weights[static_cast<size_t>(t) * K + k] = static_cast<float>(wk * routedScale);
        }
    }
}

// The counting sort of layout/moe_plan.h as one block: thread g counts and places group g, thread 0 plans the tiles.
__global__ void groupKernel(const int32_t* chosen, MoeShape s, bool stage, int* counts, int* rowStart,
                            int32_t* tileGroup, int32_t* tileRow, int* numTiles, int32_t* rowToken, int32_t* itemRow) {
    extern __shared__ int32_t staged[];
    const int items = s.tokens * s.topK, groups = moeGroups(s);
    const int32_t* src = chosen;
    if (stage) {
        for (int i = threadIdx.x; i < items; i += blockDim.x) staged[i] = chosen[i];
        __syncthreads();
        src = staged;
    }
    for (int g = threadIdx.x; g < groups; g += blockDim.x) counts[g] = moeCount(src, s, g);
    __syncthreads();
    if (threadIdx.x == 0) *numTiles = moePlanTiles(counts, s, rowStart, tileGroup, tileRow);
    __syncthreads();
    for (int g = threadIdx.x; g < groups; g += blockDim.x) moeAssignRows(src, s, g, rowStart, rowToken, itemRow);
}

struct GroupedArgs {
    const ExpertMatrix* table;  // [groups][3]: gate, up, down
    const int32_t* tileGroup;
    const int32_t* tileRow;
    const int* numTiles;
    const uint32_t* split;
    int splitChunks;
    const float* rowScale;
    float* out;  // [rows][outStride]
    int outStride;
};

__device__ __forceinline__ WeightView viewOf(const ExpertMatrix& m) {
    WeightView v;
    v.codes = m.codes;
    v.scales = m.scales;
    v.rows = m.rows;
    v.rowTiles = m.rowTiles;
    v.chunks = m.chunks;
    v.weightScale = m.weightScale;
    return v;
}

// grid (row tiles, tiles): the tile's group's gate and up (kGateUp, writing silu(gate)·up) or down over the tile's
// rows; blocks past the tile list, past the group's rows, or of a group stored in another format exit at once.
template <WeightFormat F, int NTILES, bool kGateUp>
__global__ void __launch_bounds__(kMaxSlices* kWarp) groupedKernel(const GroupedArgs a) {
    constexpr ActSplit S = F == WeightFormat::BF16 ? ActSplit::BF16x3 : ActSplit::F16x2;
    constexpr int NW = kGateUp ? 2 : 1;
    __shared__ float red[reduceFloats<NW, NTILES>()];
    const int tile = blockIdx.y;
    if (tile >= *a.numTiles) return;
    const int group = a.tileGroup[tile], firstRow = a.tileRow[tile], rowTile = blockIdx.x;
    const ExpertMatrix& m0 = a.table[group * 3 + (kGateUp ? 0 : 2)];
    if (m0.format != static_cast<int>(F) || rowTile >= m0.rowTiles) return;
    WeightView views[NW];
    views[0] = viewOf(m0);
    if constexpr (kGateUp) views[1] = viewOf(a.table[group * 3 + 1]);
    const int slices = slicesFor(m0.chunks), perSlice = ceilDiv(m0.chunks, slices);
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const int c0 = warp * perSlice, c1 = min(m0.chunks, c0 + perSlice);
    float acc[NW][NTILES][4] = {};
    warpGemm<F, NTILES, NW>(views, rowTile, a.split, a.splitChunks, firstRow / tokensPerTile(S), c0, c1, lane, acc);
    reduceSlices<NW, NTILES>(acc, red, warp, lane, slices);
    if (warp != 0) return;
#pragma unroll
    for (int j = 0; j < NTILES; ++j) {
        const int row = firstRow + epilogueToken(S, j, lane);
        const float scale = S == ActSplit::F16x2 ? a.rowScale[row] : 1.0f;
#pragma unroll
        for (int hiRow = 0; hiRow < 2; ++hiRow) {
            const int outRow = rowTile * kRowTile + lane / 4 + 8 * hiRow;
            float v = epilogueValue<S, NTILES>(acc[0], j, hiRow, scale, views[0].weightScale);
            if constexpr (kGateUp) {
                const float u = epilogueValue<S, NTILES>(acc[1], j, hiRow, scale, views[1].weightScale);
                v = v / (1.0f + expf(-v)) * u;
            }
            if (writesEpilogue<S>(lane) && outRow < m0.rows) a.out[static_cast<size_t>(row) * a.outStride + outRow] = v;
        }
    }
}

// y[t] = shared row of t + Σ_k w_k · row of (t, k), in k order.
__global__ void combineKernel(const float* o, int D, const int32_t* itemRow, const float* weights, int K,
                              const int* rowStart, int E, bool shared, float* y) {
    const int t = blockIdx.x;
    const float* sharedRow = shared ? o + static_cast<size_t>(rowStart[E] + t) * D : nullptr;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
        float v = sharedRow != nullptr ? sharedRow[i] : 0.0f;
        for (int k = 0; k < K; ++k) {
            v = fmaf(weights[static_cast<size_t>(t) * K + k], o[static_cast<size_t>(itemRow[t * K + k]) * D + i], v);
        }
        y[static_cast<size_t>(t) * D + i] = v;
    }
}

template <WeightFormat F, bool kGateUp>
void launchGrouped(const GroupedArgs& a, int tileTokens, dim3 grid, int slices, cudaStream_t stream) {
    constexpr ActSplit S = F == WeightFormat::BF16 ? ActSplit::BF16x3 : ActSplit::F16x2;
    const int tiles = tileTokens / tokensPerTile(S);
    const dim3 block(kWarp * slices);
    switch (tiles) {
        case 1:
            groupedKernel<F, 1, kGateUp><<<grid, block, 0, stream>>>(a);
            break;
        case 2:
            groupedKernel<F, 2, kGateUp><<<grid, block, 0, stream>>>(a);
            break;
        case 4:
            groupedKernel<F, 4, kGateUp><<<grid, block, 0, stream>>>(a);
            break;
        default:
            throw std::runtime_error("moe: no grouped kernel for " + std::to_string(tiles) + " n8 tiles");
    }
    MS4_LAUNCH_CHECK();
}

template <bool kGateUp>
void launchGroupedFormat(WeightFormat f, const GroupedArgs& a, int tileTokens, dim3 grid, int slices,
                         cudaStream_t stream) {
    switch (f) {
        case WeightFormat::NVFP4:
            launchGrouped<WeightFormat::NVFP4, kGateUp>(a, tileTokens, grid, slices, stream);
            break;
        case WeightFormat::FP8:
            launchGrouped<WeightFormat::FP8, kGateUp>(a, tileTokens, grid, slices, stream);
            break;
        case WeightFormat::BF16:
            launchGrouped<WeightFormat::BF16, kGateUp>(a, tileTokens, grid, slices, stream);
            break;
    }
}

void checkExpert(const ExpertWeights& e, int D, const std::string& what) {
    if (e.gate == nullptr || e.up == nullptr || e.down == nullptr) {
        throw std::runtime_error("moe: " + what + " is missing a weight");
    }
    const int I = e.gate->rows;
    if (e.gate->cols != D || e.up->cols != D || e.up->rows != I || e.down->rows != D || e.down->cols != I) {
        throw std::runtime_error("moe: " + what + " has shapes gate [" + std::to_string(e.gate->rows) + ", " +
                                 std::to_string(e.gate->cols) + "], up [" + std::to_string(e.up->rows) + ", " +
                                 std::to_string(e.up->cols) + "], down [" + std::to_string(e.down->rows) + ", " +
                                 std::to_string(e.down->cols) + "] that do not fit hidden size " + std::to_string(D));
    }
    if (e.gate->format != e.up->format) {
        throw std::runtime_error("moe: " + what +
                                 " stores gate and up in different formats; the CUDA backend multiplies them together");
    }
}

ExpertMatrix matrixOf(const LinearWeights& lw) {
    const CudaLinear& w = asCudaLinear(lw);
    ExpertMatrix m;
    m.codes = w.codes.as<const uint8_t>();
    m.scales = w.scales.as<const uint8_t>();
    m.rows = w.rows;
    m.rowTiles = w.geo.rowTiles;
    m.chunks = w.geo.chunks;
    m.format = static_cast<int>(w.format);
    m.weightScale = w.weightScale;
    return m;
}

}  // namespace

}  // namespace cuda

const cuda::ExpertMatrix* CudaBackend::moeTable(const MoeWeights& w) {
    std::vector<const ExpertWeights*> groups;
    for (const ExpertWeights& e : w.experts) groups.push_back(&e);
    if (w.hasShared) groups.push_back(&w.shared);
    std::vector<uint64_t> ids;
    std::vector<cuda::ExpertMatrix> matrices;
    for (const ExpertWeights* e : groups) {
        for (const LinearWeights* lw : {e->gate, e->up, e->down}) {
            ids.push_back(asCudaLinear(*lw).id);
            matrices.push_back(cuda::matrixOf(*lw));
        }
    }
    cuda::MoeTable& table = moeTables_[&w];
    if (table.ids != ids) {
        table.matrices = cuda::DeviceBuffer(matrices.size() * sizeof(cuda::ExpertMatrix), "a MoE layer's table");
        uploadBytes(table.matrices.get(), matrices.data(), matrices.size() * sizeof(cuda::ExpertMatrix));
        table.ids = std::move(ids);
    }
    return table.matrices.as<const cuda::ExpertMatrix>();
}

void CudaBackend::moe(const MoeWeights& w, const float* x, int T, int D, float* y) {
    if (w.router == nullptr) throw std::runtime_error("moe: no router weight");
    const int E = static_cast<int>(w.experts.size());
    if (w.router->rows != E || w.router->cols != D) {
        throw std::runtime_error("moe: router is [" + std::to_string(w.router->rows) + ", " +
                                 std::to_string(w.router->cols) + "] but there are " + std::to_string(E) +
                                 " experts and hidden size " + std::to_string(D));
    }
    if (w.topK < 1 || w.topK > E) {
        throw std::runtime_error("moe: topK " + std::to_string(w.topK) + " outside [1, " + std::to_string(E) + "]");
    }
    if (w.topK > cuda::kMaxTopK || E > cuda::kMaxExperts) {
        throw std::runtime_error("moe: the CUDA backend routes at most " + std::to_string(cuda::kMaxTopK) +
                                 " of at most " + std::to_string(cuda::kMaxExperts) + " experts per token");
    }
    for (int e = 0; e < E; ++e) cuda::checkExpert(w.experts[e], D, "expert " + std::to_string(e));
    if (w.hasShared) cuda::checkExpert(w.shared, D, "the shared expert");
    if (T <= 0) return;
    makeCurrent();
    const cuda::ExpertMatrix* table = moeTable(w);
    const int K = w.topK;
    cuda::MoeShape s;
    s.tokens = T;
    s.topK = K;
    s.experts = E;
    s.shared = w.hasShared;
    s.tileTokens = cuda::moeTileTokens(T, K, E);
    const int groups = cuda::moeGroups(s), maxRows = cuda::moeMaxRows(s), maxTiles = cuda::moeMaxTiles(s);
    // What the groups look like: formats of gate/up and of down, widths.
    std::set<WeightFormat> inFormats, downFormats;
    std::set<cuda::ActSplit> inSplits, downSplits;
    int maxI = 0, minI = 1 << 30, maxIChunks = 0, maxDownSlices = 1;
    auto note = [&](const ExpertWeights& e) {
        inFormats.insert(e.gate->format);
        downFormats.insert(e.down->format);
        inSplits.insert(cuda::splitFor(e.gate->format));
        downSplits.insert(cuda::splitFor(e.down->format));
        maxI = std::max(maxI, e.gate->rows);
        minI = std::min(minI, e.gate->rows);
        const int chunks = cuda::ceilDiv(e.down->cols, cuda::kChunkK);
        maxIChunks = std::max(maxIChunks, chunks);
        maxDownSlices = std::max(maxDownSlices, cuda::slicesFor(chunks));
    };
    for (const ExpertWeights& e : w.experts) note(e);
    if (w.hasShared) note(w.shared);
    const int dChunks = cuda::ceilDiv(D, cuda::kChunkK);
    const cuda::CudaLinear& router = asCudaLinear(*w.router);
    // ---- workspace: sized with a null carve, then carved ----
    struct SplitBuffer {
        cuda::ActSplit split;
        uint32_t* words;
        float* rowScale;
    };
    struct Buffers {
        uint8_t* routerScratch;
        float *logits, *weights, *hidden, *out;
        int32_t *chosen, *tileGroup, *tileRow, *rowToken, *itemRow;
        int *counts, *rowStart, *numTiles;
        std::vector<SplitBuffer> in, down;
    };
    auto carveAll = [&](cuda::Carve& c) {
        Buffers b;
        b.routerScratch = c.take<uint8_t>(cuda::linearScratchBytes(router, T));
        b.logits = c.take<float>(static_cast<size_t>(T) * E);
        b.chosen = c.take<int32_t>(static_cast<size_t>(T) * K);
        b.weights = c.take<float>(static_cast<size_t>(T) * K);
        b.counts = c.take<int>(groups);
        b.rowStart = c.take<int>(groups + 1);
        b.tileGroup = c.take<int32_t>(maxTiles);
        b.tileRow = c.take<int32_t>(maxTiles);
        b.numTiles = c.take<int>(1);
        b.rowToken = c.take<int32_t>(maxRows);
        b.itemRow = c.take<int32_t>(static_cast<size_t>(T) * K);
        b.hidden = c.take<float>(static_cast<size_t>(maxRows) * maxI);
        b.out = c.take<float>(static_cast<size_t>(maxRows) * D);
        for (cuda::ActSplit sp : inSplits) {
            b.in.push_back(
                {sp, c.take<uint32_t>(cuda::splitBytes(sp, maxRows, dChunks) / 4), c.take<float>(maxRows + 4)});
        }
        for (cuda::ActSplit sp : downSplits) {
            b.down.push_back(
                {sp, c.take<uint32_t>(cuda::splitBytes(sp, maxRows, maxIChunks) / 4), c.take<float>(maxRows + 4)});
        }
        return b;
    };
    cuda::Carve sizing;
    carveAll(sizing);
    cuda::Carve carve(workspace_.reserve(sizing.used()));
    const Buffers b = carveAll(carve);
    // ---- routing and grouping ----
    cuda::linearWithScratch(router, x, D, T, b.logits, E, b.routerScratch, stream_);
    cuda::routeKernel<<<cuda::ceilDiv(T, 8), 8 * cuda::kWarp, 0, stream_>>>(b.logits, E, K, w.normTopk, w.routedScale,
                                                                            T, b.chosen, b.weights);
    MS4_LAUNCH_CHECK();
    CUDA_CHECK(cudaMemsetAsync(b.rowToken, 0xff, static_cast<size_t>(maxRows) * sizeof(int32_t), stream_));
    const size_t stageBytes = static_cast<size_t>(T) * K * sizeof(int32_t);
    const bool stage = stageBytes <= 32 * 1024;
    cuda::groupKernel<<<1, std::min(1024, cuda::ceilDiv(groups, cuda::kWarp) * cuda::kWarp), stage ? stageBytes : 0,
                        stream_>>>(b.chosen, s, stage, b.counts, b.rowStart, b.tileGroup, b.tileRow, b.numTiles,
                                   b.rowToken, b.itemRow);
    MS4_LAUNCH_CHECK();
    // ---- gate / up, then down, one grouped launch per storage format present ----
    if (minI != maxI) CUDA_CHECK(cudaMemsetAsync(b.hidden, 0, static_cast<size_t>(maxRows) * maxI * 4, stream_));
    for (const SplitBuffer& sb : b.in) {
        cuda::launchSplit(sb.split, x, D, b.rowToken, maxRows, maxRows, D, dChunks, sb.words, sb.rowScale, stream_);
    }
    for (WeightFormat f : inFormats) {
        for (const SplitBuffer& sb : b.in) {
            if (sb.split != cuda::splitFor(f)) continue;
            const cuda::GroupedArgs a{table,   b.tileGroup, b.tileRow, b.numTiles, sb.words,
                                      dChunks, sb.rowScale, b.hidden,  maxI};
            cuda::launchGroupedFormat<true>(f, a, s.tileTokens, dim3(cuda::ceilDiv(maxI, cuda::kRowTile), maxTiles),
                                            cuda::slicesFor(dChunks), stream_);
        }
    }
    for (const SplitBuffer& sb : b.down) {
        cuda::launchSplit(sb.split, b.hidden, maxI, nullptr, maxRows, maxRows, maxI, maxIChunks, sb.words, sb.rowScale,
                          stream_);
    }
    for (WeightFormat f : downFormats) {
        for (const SplitBuffer& sb : b.down) {
            if (sb.split != cuda::splitFor(f)) continue;
            const cuda::GroupedArgs a{table,      b.tileGroup, b.tileRow, b.numTiles, sb.words,
                                      maxIChunks, sb.rowScale, b.out,     D};
            cuda::launchGroupedFormat<false>(f, a, s.tileTokens, dim3(cuda::ceilDiv(D, cuda::kRowTile), maxTiles),
                                             maxDownSlices, stream_);
        }
    }
    cuda::combineKernel<<<T, 256, 0, stream_>>>(b.out, D, b.itemRow, b.weights, K, b.rowStart, E, w.hasShared, y);
    MS4_LAUNCH_CHECK();
}

}  // namespace ms4
