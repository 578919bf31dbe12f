// How a linear (y = x · Wᵀ) is launched on the tensor cores (docs/cuda-backend.md#linear): one block per (row tile of
// 16 output rows, tile of tokens); inside a block, warp w multiplies k-slice w (a fixed run of 64-wide chunks) and the
// slices' partial sums are added in slice order. The slicing depends on the weight's column count only, never on
// the number of tokens, so every token's result is bit for bit the same whatever else is in the step (batch
// invariance); tokens only ever share MMA columns, which never mix.
#pragma once
#include "linear_layout.h"

namespace ms4::cuda {

constexpr int kMaxSlices = 8;    // warps per block
constexpr int kSliceChunks = 8;  // chunks per slice before a weight gets more slices (512 columns)

struct LinearPlan {
    ActSplit split = ActSplit::F16x2;
    int chunks = 0;          // 64-wide k-chunks of the weight
    int slices = 0;          // warps per block
    int chunksPerSlice = 0;  // the last slice may get fewer
    int tilesPerWarp = 0;    // n8 tiles each warp multiplies (1, 2, 4 or 8)
    int tokensPerBlock = 0;  // tilesPerWarp · tokensPerTile
    int rowBlocks = 0;       // grid.x: row tiles
    int tokenBlocks = 0;     // grid.y
};

// The k-slicing of a weight with `chunks` chunks: a function of the weight alone.
MS4_HD int slicesFor(int chunks) {
    const int s = ceilDiv(chunks, kSliceChunks);
    return s < 1 ? 1 : (s > kMaxSlices ? kMaxSlices : s);
}

// n8 tiles per warp for T tokens: enough columns for the step, at most 8 (32 F16x2 / 16 BF16x3 tokens per block).
MS4_HD int tilesPerWarpFor(ActSplit s, int T) {
    const int tiles = ceilDiv(T, tokensPerTile(s));
    return tiles <= 1 ? 1 : tiles <= 2 ? 2 : tiles <= 4 ? 4 : 8;
}

inline LinearPlan planLinear(WeightFormat f, int rows, int cols, int T) {
    LinearPlan p;
    p.split = splitFor(f);
    p.chunks = ceilDiv(cols, kChunkK);
    p.slices = slicesFor(p.chunks);
    p.chunksPerSlice = ceilDiv(p.chunks, p.slices);
    p.tilesPerWarp = tilesPerWarpFor(p.split, T);
    p.tokensPerBlock = p.tilesPerWarp * tokensPerTile(p.split);
    p.rowBlocks = ceilDiv(rows, kRowTile);
    p.tokenBlocks = ceilDiv(T, p.tokensPerBlock);
    return p;
}

}  // namespace ms4::cuda
