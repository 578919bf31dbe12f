// AVX2 tiles of the vision attention (cpu/vision_attention.cc): the score and output tiles are register-blocked like
// a GEMM micro-kernel, up to 6 query rows × 16 columns of fp32 accumulators (12 ymm) per pass, one broadcast per row
// and two vector loads per step; the softmax step runs 8 lanes at a time with an 8-lane exp. Scores: columns are keys
// (the tile's keys are packed transposed, zero padded to 16), steps run over the head dims. Output update: columns are
// head dims, steps run over the tile's keys; head sizes that are not a multiple of 8 go to the portable tile.
#include <algorithm>
#include <cmath>

#include "cpu/avx2_util.h"
#include "cpu/cpu_backend.h"
#include "sampling/fast_exp.h"

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

// e^x for x ≤ 0, 8 lanes: 2^n · e^r with n = round(x / ln 2), r = x − n ln 2 (ln 2 in two parts), e^r by its Taylor
// series to r^7 (relative error < 2e-7, as fast_exp.h); 0 below −87.
MS4_AVX2 inline __m256 expNonPositive8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f);
    const __m256 tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    const __m256 xc = _mm256_max_ps(x, lo);
    const __m256 n =
        _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

}  // namespace

MS4_AVX2 void attnSoftmaxAvx2(float* s, int sStride, int nq, int nk, float scale, float* m, float* l, float* o,
                              int oStride, int headDim) {
    const __m256 scaleV = _mm256_set1_ps(scale);
    for (int i = 0; i < nq; ++i) {
        float* si = s + static_cast<size_t>(i) * sStride;
        int j = 0;
        __m256 mx = _mm256_set1_ps(-INFINITY);
        for (; j + 8 <= nk; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(si + j));
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, mx);
        float tileMax = lanes[0];
        for (int t = 1; t < 8; ++t) tileMax = std::max(tileMax, lanes[t]);
        for (; j < nk; ++j) tileMax = std::max(tileMax, si[j]);
        if (tileMax > m[i]) {
            const float corr = m[i] == -INFINITY ? 0.0f : std::exp((m[i] - tileMax) * scale);
            float* oi = o + static_cast<size_t>(i) * oStride;
            for (int d = 0; d < headDim; ++d) oi[d] *= corr;
            l[i] *= corr;
            m[i] = tileMax;
        }
        const __m256 shift = _mm256_set1_ps(m[i]);
        __m256 acc = _mm256_setzero_ps();
        for (j = 0; j + 8 <= nk; j += 8) {
            const __m256 p = expNonPositive8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(si + j), shift), scaleV));
            _mm256_storeu_ps(si + j, p);
            acc = _mm256_add_ps(acc, p);
        }
        float sum = avx2::hsum(acc);
        for (; j < nk; ++j) {
            si[j] = expNonPositive((si[j] - m[i]) * scale);
            sum += si[j];
        }
        l[i] += sum;
    }
}

MS4_AVX2 void attnScoresAvx2(const float* q, int qStride, int nq, const float* kt, int ktStride, int nk, int headDim,
                             float* s, int sStride) {
    if (nk % 16 != 0) {
        attnScoresPortable(q, qStride, nq, kt, ktStride, nk, headDim, s, sStride);
        return;
    }
    // key groups outermost: a group's [headDim × 16] slice of kt stays in L1 while every row group reads it
    for (int j = 0; j < nk; j += 16) {
        for (int i = 0; i < nq; i += kRows) {
            withRows(std::min(kRows, nq - i), [&](auto rows) {
                scoreColumns<decltype(rows)::value, 2>(q + static_cast<size_t>(i) * qStride, qStride, kt + j, ktStride,
                                                       headDim, s + static_cast<size_t>(i) * sStride + j, sStride);
            });
        }
    }
}

MS4_AVX2 void attnAccumulateAvx2(const float* p, int pStride, int nq, const float* v, int vStride, int nk, int headDim,
                                 float* o, int oStride) {
    if (headDim % 8 != 0) {
        attnAccumulatePortable(p, pStride, nq, v, vStride, nk, headDim, o, oStride);
        return;
    }
    // column groups outermost: a group's [nk × 16] slice of v stays in L1 while every row group reads it
    for (int d = 0; d < headDim; d += 16) {
        const bool full = d + 16 <= headDim;
        for (int i = 0; i < nq; i += kRows) {
            withRows(std::min(kRows, nq - i), [&](auto rows) {
                constexpr int R = decltype(rows)::value;
                const float* pi = p + static_cast<size_t>(i) * pStride;
                float* oi = o + static_cast<size_t>(i) * oStride + d;
                if (full) {
                    accumulateColumns<R, 2>(pi, pStride, v + d, vStride, nk, oi, oStride);
                } else {
                    accumulateColumns<R, 1>(pi, pStride, v + d, vStride, nk, oi, oStride);
                }
            });
        }
    }
}

}  // namespace ms4::cpu

#endif
