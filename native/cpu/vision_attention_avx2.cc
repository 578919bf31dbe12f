// AVX2 tiles of the vision attention (cpu/vision_attention.cc): register-blocked like a GEMM micro-kernel, up to 6
// query rows × 16 columns of fp32 accumulators (12 ymm) per pass, one broadcast per row and two vector loads per
// step. Scores: columns are keys (the tile's keys are packed transposed, zero padded to 16), steps run over the head
// dims. Output update: columns are head dims, steps run over the tile's keys; head sizes that are not a multiple
// of 8 go to the portable tile.
#include <algorithm>

#include "cpu/avx2_util.h"
#include "cpu/cpu_backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

namespace ms4::cpu {

namespace {

constexpr int kRows = 6;

// s[r, j0 .. j0 + 16 · V) for the R rows at q, V vectors of 8 keys.
template <int R, int V>
MS4_AVX2 void scoreColumns(const float* q, int qStride, const float* kt, int ktStride, int headDim, float* s,
                           int sStride) {
    __m256 acc[R][V];
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int c = 0; c < V; ++c) acc[r][c] = _mm256_setzero_ps();
    }
    for (int d = 0; d < headDim; ++d) {
        __m256 kv[V];
#pragma GCC unroll 2
        for (int c = 0; c < V; ++c) kv[c] = _mm256_loadu_ps(kt + static_cast<size_t>(d) * ktStride + 8 * c);
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
            const __m256 qv = _mm256_broadcast_ss(q + static_cast<size_t>(r) * qStride + d);
#pragma GCC unroll 2
            for (int c = 0; c < V; ++c) acc[r][c] = _mm256_fmadd_ps(qv, kv[c], acc[r][c]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int c = 0; c < V; ++c) _mm256_storeu_ps(s + static_cast<size_t>(r) * sStride + 8 * c, acc[r][c]);
    }
}

template <int R>
MS4_AVX2 void scoreRows(const float* q, int qStride, const float* kt, int ktStride, int nk, int headDim, float* s,
                        int sStride) {
    for (int j = 0; j < nk; j += 16) scoreColumns<R, 2>(q, qStride, kt + j, ktStride, headDim, s + j, sStride);
}

// o[r, d0 .. d0 + 8 · V) += Σ_j p[r, j] v[j, d0 ..] for the R rows at p / o.
template <int R, int V>
MS4_AVX2 void accumulateColumns(const float* p, int pStride, const float* v, int vStride, int nk, float* o,
                                int oStride) {
    __m256 acc[R][V];
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int c = 0; c < V; ++c) acc[r][c] = _mm256_loadu_ps(o + static_cast<size_t>(r) * oStride + 8 * c);
    }
    for (int j = 0; j < nk; ++j) {
        __m256 vv[V];
#pragma GCC unroll 2
        for (int c = 0; c < V; ++c) vv[c] = _mm256_loadu_ps(v + static_cast<size_t>(j) * vStride + 8 * c);
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
            const __m256 pv = _mm256_broadcast_ss(p + static_cast<size_t>(r) * pStride + j);
#pragma GCC unroll 2
            for (int c = 0; c < V; ++c) acc[r][c] = _mm256_fmadd_ps(pv, vv[c], acc[r][c]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
        for (int c = 0; c < V; ++c) _mm256_storeu_ps(o + static_cast<size_t>(r) * oStride + 8 * c, acc[r][c]);
    }
}

template <int R>
MS4_AVX2 void accumulateRows(const float* p, int pStride, const float* v, int vStride, int nk, int headDim, float* o,
                             int oStride) {
    int d = 0;
    for (; d + 16 <= headDim; d += 16) accumulateColumns<R, 2>(p, pStride, v + d, vStride, nk, o + d, oStride);
    if (d < headDim) accumulateColumns<R, 1>(p, pStride, v + d, vStride, nk, o + d, oStride);
}

// Calls run(std::integral_constant<int, R>) for R = rows (1..kRows) as a compile-time constant.
template <typename Run>
MS4_AVX2 void withRows(int rows, const Run& run) {
    switch (rows) {
        case 1:
            run(std::integral_constant<int, 1>{});
            return;
        case 2:
            run(std::integral_constant<int, 2>{});
            return;
        case 3:
            run(std::integral_constant<int, 3>{});
            return;
        case 4:
            run(std::integral_constant<int, 4>{});
            return;
        case 5:
            run(std::integral_constant<int, 5>{});
            return;
        default:
            run(std::integral_constant<int, 6>{});
            return;
    }
}

}  // namespace

MS4_AVX2 void attnScoresAvx2(const float* q, int qStride, int nq, const float* kt, int ktStride, int nk, int headDim,
                             float* s, int sStride) {
    if (nk % 16 != 0) {
        attnScoresPortable(q, qStride, nq, kt, ktStride, nk, headDim, s, sStride);
        return;
    }
    for (int i = 0; i < nq; i += kRows) {
        withRows(std::min(kRows, nq - i), [&](auto rows) {
            scoreRows<decltype(rows)::value>(q + static_cast<size_t>(i) * qStride, qStride, kt, ktStride, nk, headDim,
                                             s + static_cast<size_t>(i) * sStride, sStride);
        });
    }
}

MS4_AVX2 void attnAccumulateAvx2(const float* p, int pStride, int nq, const float* v, int vStride, int nk, int headDim,
                                 float* o, int oStride) {
    if (headDim % 8 != 0) {
        attnAccumulatePortable(p, pStride, nq, v, vStride, nk, headDim, o, oStride);
        return;
    }
    for (int i = 0; i < nq; i += kRows) {
        withRows(std::min(kRows, nq - i), [&](auto rows) {
            accumulateRows<decltype(rows)::value>(p + static_cast<size_t>(i) * pStride, pStride, v, vStride, nk,
                                                  headDim, o + static_cast<size_t>(i) * oStride, oStride);
        });
    }
}

}  // namespace ms4::cpu

#endif
