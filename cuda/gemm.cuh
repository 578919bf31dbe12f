// The tensor-core core of every linear and MoE projection (docs/cuda-backend.md#linear): a warp multiplies a 16-row
// tile of weights, over its k-slice, by the split activations of NTILES n8 tiles of tokens with mma.sync.m16n8k16
// (f16 or bf16 inputs, f32 accumulators). The weights stream from the fragment-order layout (one coalesced load per
// lane per 64-wide chunk, several chunks in flight) and are decoded in registers to exact 16-bit values: NVFP4 with
// two integer ops per pair of codes and one half multiply by the block scale, FP8 by bit moves, BF16 as stored.
// The slices of a block are summed in slice order by reduceSlices.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "layout/linear_layout.h"
#include "layout/linear_plan.h"

namespace ms4::cuda {

// The weights one GEMM reads (device pointers and geometry).
struct WeightView {
    const uint8_t* codes = nullptr;
    const uint8_t* scales = nullptr;
    int rows = 0, rowTiles = 0, chunks = 0;
    float weightScale = 1.0f;
};

__device__ __forceinline__ uint32_t component(const uint4& v, int i) {
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// d = a · b on half2 (round to nearest, subnormals kept): exact for the decode's products.
__device__ __forceinline__ uint32_t mulHalf2(uint32_t a, uint32_t b) {
    uint32_t d;
    asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
    return d;
}

// d += A · B for one m16n8k16 tile: f16 (kHalf) or bf16 inputs, f32 accumulators.
template <bool kHalf>
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    if constexpr (kHalf) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

// Weights are read once per step: no L1 allocation, so the activations keep L1.
__device__ __forceinline__ uint4 loadStream(const uint8_t* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}

__device__ __forceinline__ uint2 loadStream8(const uint8_t* p) {
    uint2 v;
    asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0,%1}, [%2];" : "=r"(v.x), "=r"(v.y) : "l"(p));
    return v;
}

// One lane's record of one chunk.
template <WeightFormat F>
struct Record;
template <>
struct Record<WeightFormat::NVFP4> {
    uint4 codes;
    uint2 scales;  // rows g, g + 8 of the chunk's four blocks
};
template <>
struct Record<WeightFormat::FP8> {
    uint4 q[2];
};
template <>
struct Record<WeightFormat::BF16> {
    uint4 q[4];
};

template <WeightFormat F>
__device__ __forceinline__ Record<F> loadRecord(const WeightView& w, int rowTile, int chunk, int lane) {
    const size_t rec = laneRecord(rowTile, chunk, lane, w.chunks);
    Record<F> r;
    if constexpr (F == WeightFormat::NVFP4) {
        r.codes = loadStream(w.codes + rec * 16);
        r.scales = loadStream8(w.scales + nvfp4ScaleOffset(rowTile, chunk, lane / 4, 0, 0, w.chunks));
    } else if constexpr (F == WeightFormat::FP8) {
        r.q[0] = loadStream(w.codes + rec * 32);
        r.q[1] = loadStream(w.codes + rec * 32 + 16);
    } else {
        for (int i = 0; i < 4; ++i) r.q[i] = loadStream(w.codes + rec * 64 + 16 * i);
    }
    return r;
}

// The four A registers of k-step `step` (a compile-time constant after unrolling).
template <WeightFormat F>
__device__ __forceinline__ void decodeStep(const Record<F>& r, int step, uint32_t (&a)[4]) {
    if constexpr (F == WeightFormat::NVFP4) {
        const uint32_t word = component(r.codes, step);
        const uint32_t pair = ((step < 2 ? r.scales.x : r.scales.y) >> (16 * (step & 1))) & 0xffffu;
        const uint32_t s2 = mulHalf2(fp8PairToHalf2(pair), 0x78007800u);  // fp8 · 2^-8 · 2^15 = fp8 · 2^7
        const uint32_t sLo = __byte_perm(s2, 0, 0x1010), sHi = __byte_perm(s2, 0, 0x3232);
#pragma unroll
        for (int i = 0; i < 4; ++i) a[i] = mulHalf2(e2m1PairToHalf2(word, i), (i & 1) ? sHi : sLo);
    } else if constexpr (F == WeightFormat::FP8) {
        const uint32_t w0 = component(r.q[step / 2], (step % 2) * 2), w1 = component(r.q[step / 2], (step % 2) * 2 + 1);
        a[0] = fp8PairToHalf2(w0);
        a[1] = fp8PairToHalf2(w0 >> 16);
        a[2] = fp8PairToHalf2(w1);
        a[3] = fp8PairToHalf2(w1 >> 16);
    } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) a[i] = component(r.q[step], i);
    }
}

// Weight chunks each lane keeps in flight (about 2 KB per warp).
template <WeightFormat F>
__host__ __device__ constexpr int prefetchDepth() {
    return F == WeightFormat::NVFP4 ? 4 : 2;
}

// acc[w][j] += W_w[rowTile, chunks c0..c1) · B[n8 tile firstTile + j, same chunks] for the NW weights `wv` (which
// share the activations: gate and up of an expert); the split buffer has `splitChunks` chunks per tile (at least the
// weights' own).
template <WeightFormat F, int NTILES, int NW>
__device__ __forceinline__ void warpGemm(const WeightView (&wv)[NW], int rowTile, const uint32_t* split,
                                         int splitChunks, int firstTile, int c0, int c1, int lane,
                                         float (&acc)[NW][NTILES][4]) {
    constexpr int kDepth = prefetchDepth<F>();
    constexpr bool kHalf = F != WeightFormat::BF16;
    Record<F> ring[NW][kDepth];
#pragma unroll
    for (int i = 0; i < kDepth; ++i) {
        if (c0 + i < c1) {
#pragma unroll
            for (int w = 0; w < NW; ++w) ring[w][i] = loadRecord<F>(wv[w], rowTile, c0 + i, lane);
        }
    }
    for (int c = c0; c < c1; c += kDepth) {
#pragma unroll
        for (int i = 0; i < kDepth; ++i) {
            const int ch = c + i;
            if (ch < c1) {
                uint32_t a[NW][kStepsPerChunk][4];
#pragma unroll
                for (int w = 0; w < NW; ++w) {
#pragma unroll
                    for (int s = 0; s < kStepsPerChunk; ++s) decodeStep<F>(ring[w][i], s, a[w][s]);
                }
                if (ch + kDepth < c1) {
#pragma unroll
                    for (int w = 0; w < NW; ++w) ring[w][i] = loadRecord<F>(wv[w], rowTile, ch + kDepth, lane);
                }
#pragma unroll
                for (int j = 0; j < NTILES; ++j) {
                    const uint4* bp =
                        reinterpret_cast<const uint4*>(split + splitWord(firstTile + j, ch, lane, 0, 0, splitChunks));
                    const uint4 b01 = __ldg(bp), b23 = __ldg(bp + 1);
#pragma unroll
                    for (int w = 0; w < NW; ++w) {
                        mma16816<kHalf>(acc[w][j], a[w][0], b01.x, b01.y);
                        mma16816<kHalf>(acc[w][j], a[w][1], b01.z, b01.w);
                        mma16816<kHalf>(acc[w][j], a[w][2], b23.x, b23.y);
                        mma16816<kHalf>(acc[w][j], a[w][3], b23.z, b23.w);
                    }
                }
            }
        }
    }
}

// Shared floats reduceSlices needs.
template <int NW, int NTILES>
__host__ __device__ constexpr int reduceFloats() {
    return (kMaxSlices - 1) * NW * NTILES * 4 * kWarp;
}

// Warp 0 ends with the sum of every slice's acc, added in slice order (a fixed order: batch invariance). Every thread
// of the block must call it.
template <int NW, int NTILES>
__device__ __forceinline__ void reduceSlices(float (&acc)[NW][NTILES][4], float* smem, int warp, int lane, int slices) {
    constexpr int kN = NW * NTILES * 4;
    if (warp > 0) {
#pragma unroll
        for (int w = 0; w < NW; ++w) {
#pragma unroll
            for (int j = 0; j < NTILES; ++j) {
#pragma unroll
                for (int i = 0; i < 4; ++i)
                    smem[((warp - 1) * kN + (w * NTILES + j) * 4 + i) * kWarp + lane] = acc[w][j][i];
            }
        }
    }
    __syncthreads();
    if (warp == 0) {
        for (int s = 1; s < slices; ++s) {
#pragma unroll
            for (int w = 0; w < NW; ++w) {
#pragma unroll
                for (int j = 0; j < NTILES; ++j) {
#pragma unroll
                    for (int i = 0; i < 4; ++i)
                        acc[w][j][i] += smem[((s - 1) * kN + (w * NTILES + j) * 4 + i) * kWarp + lane];
                }
            }
        }
    }
}

// The value of row g (hiRow = 0) or g + 8 (hiRow = 1) of n8 tile j for the token epilogueToken gives this lane;
// BF16x3 lanes exchange halves with their neighbour, so all 32 lanes must call it, and only even lanes get a value.
template <ActSplit S, int NTILES>
__device__ __forceinline__ float epilogueValue(const float (&acc)[NTILES][4], int j, int hiRow, float rowScale,
                                               float weightScale) {
    if constexpr (S == ActSplit::F16x2) {
        return epilogueF16(acc[j][2 * hiRow], acc[j][2 * hiRow + 1], rowScale, weightScale);
    } else {
        const float sum = acc[j][2 * hiRow] + acc[j][2 * hiRow + 1];
        const float other = __shfl_xor_sync(0xffffffffu, sum, 1);
        return epilogueBf16(sum, other, weightScale);
    }
}

// Whether this lane writes the epilogue value (BF16x3: the even lane of each pair).
template <ActSplit S>
__device__ __forceinline__ bool writesEpilogue(int lane) {
    return S == ActSplit::F16x2 || (lane & 1) == 0;
}

}  // namespace ms4::cuda
