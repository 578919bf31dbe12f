// How the MoE layer groups a step's tokens by expert on the device (docs/cuda-backend.md#moe). Group g < E is routed
// expert g, group E the shared expert (every token, weight 1). Each group's token rows are laid out consecutively,
// in token order, padded to a multiple of the tile size, so one grouped GEMM launch covers every touched expert:
// its blocks read (group, first row) from the tile list and exit when past its end. The counting sort runs as one
// block (thread g handles group g, thread 0 the prefix sums); these functions are that block's code, and the host
// tests run them in the same order.
#pragma once
#include <cstdint>

#include "hd.h"
#include "linear_layout.h"

namespace ms4::cuda {

struct MoeShape {
    int tokens = 0;   // T
    int topK = 0;     // K
    int experts = 0;  // E
    bool shared = false;
    int tileTokens = 0;  // rows per grouped-GEMM tile (a multiple of 4)
};

MS4_HD int moeGroups(const MoeShape& s) { return s.experts + (s.shared ? 1 : 0); }

// Rows per tile: about the tokens an expert gets (T·K / E), 4 or 8. A multiple of both split layouts' tokens per
// n8 tile, so tiles start on split-tile boundaries whatever the weights' format.
inline int moeTileTokens(int T, int topK, int experts) { return static_cast<long>(T) * topK <= 4L * experts ? 4 : 8; }

// Upper bounds for buffers and grids: every group may leave tileTokens - 1 padding rows.
MS4_HD int moeMaxRows(const MoeShape& s) {
    return s.tokens * s.topK + (s.shared ? s.tokens : 0) + moeGroups(s) * (s.tileTokens - 1);
}
MS4_HD int moeMaxTiles(const MoeShape& s) { return ceilDiv(moeMaxRows(s), s.tileTokens); }

// Thread g: how many rows group g gets. chosen[t·K + k] is token t's k-th expert.
MS4_HD int moeCount(const int32_t* chosen, const MoeShape& s, int g) {
    if (g == s.experts) return s.tokens;  // the shared expert
    int n = 0;
    for (int i = 0; i < s.tokens * s.topK; ++i) n += chosen[i] == g ? 1 : 0;
    return n;
}

// Thread 0: each group's first row and the tile list (tileGroup[i], tileRow[i]); returns the tile count.
MS4_HD int moePlanTiles(const int* counts, const MoeShape& s, int* rowStart, int32_t* tileGroup, int32_t* tileRow) {
    int row = 0, tiles = 0;
    for (int g = 0; g < moeGroups(s); ++g) {
        rowStart[g] = row;
        for (int r = 0; r < counts[g]; r += s.tileTokens) {
            tileGroup[tiles] = g;
            tileRow[tiles] = row + r;
            ++tiles;
        }
        row += ceilDiv(counts[g], s.tileTokens) * s.tileTokens;
    }
    rowStart[moeGroups(s)] = row;
    return tiles;
}

// Thread g: the rows of group g — rowToken[row] = its token (-1 for padding) and, for routed groups, itemRow[t·K + k]
// = the row of token t's k-th expert.
MS4_HD void moeAssignRows(const int32_t* chosen, const MoeShape& s, int g, const int* rowStart, int32_t* rowToken,
                          int32_t* itemRow) {
    int row = rowStart[g];
    if (g == s.experts) {
        for (int t = 0; t < s.tokens; ++t) rowToken[row++] = t;
    } else {
        for (int i = 0; i < s.tokens * s.topK; ++i) {
            if (chosen[i] != g) continue;
            itemRow[i] = row;
            rowToken[row++] = i / s.topK;
        }
    }
    for (; row < rowStart[g + 1]; ++row) rowToken[row] = -1;
}

}  // namespace ms4::cuda
