// AVX2 absorbed-form MLA decode attention over one context partition, all heads of a token at once ("head
// folding"): every cache entry of a tile of kTile entries is converted to fp32 once (BF16 by shifting, exact)
// and reused by all heads. Scores are a small GEMM vectorised over heads (the query is transposed to
// [L + R][Hpad]); the online softmax runs 8 heads per vector with a polynomial exp; the output update
// o[h][:] += p[h][j] · c_kv[j][:] is a second small GEMM vectorised over the latent dimension.
// Everything is fp32 with a fixed order, independent of threads and of the batch.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/number_formats.h"
#include "cpu/mla_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "cpu/avx2_util.h"

namespace ms4::cpu {

namespace {

using avx2::loadBf16x8;

constexpr int kTile = 16;  // cache entries per online-softmax step

// e^x to about 1 ulp: x = n·ln2 + r, |r| <= ln2/2, e^r by its degree-7 Taylor polynomial (truncation error
// below 1e-8 relative), times 2^n built in the exponent bits. x < ln(FLT_MIN) gives 0 (so e^-inf = 0).
MS4_AVX2 inline __m256 expAvx2(__m256 x) {
    const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n·ln2 with ln2 split in two so that n·ln2hi is exact
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), underflow);
}

// dst[0..n) = src[0..n) as fp32
MS4_AVX2 void convertRow(const uint8_t* src, bool bf16, int n, float* dst) {
    if (bf16) {
        const uint16_t* s = reinterpret_cast<const uint16_t*>(src);
        int i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, loadBf16x8(s + i));
        for (; i < n; ++i) dst[i] = bf16ToFloat(s[i]);
    } else {
        __builtin_memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    }
}

// st[j][h0 + 0..8HV) = scale · Σ_k qt[k][h0 + ..] · e[j][k] for NE entries (qt and st already offset by h0).
template <int HV, int NE>
MS4_AVX2 void scoreBlock(const float* qt, int hpad, int K, const float* e, int es, float* st, float scale) {
    __m256 acc[NE][HV];
#pragma GCC unroll 8
    for (int j = 0; j < NE; ++j) {
#pragma GCC unroll 8
        for (int v = 0; v < HV; ++v) acc[j][v] = _mm256_setzero_ps();
    }
    for (int k = 0; k < K; ++k) {
        __m256 qv[HV];
#pragma GCC unroll 8
        for (int v = 0; v < HV; ++v) qv[v] = _mm256_loadu_ps(qt + static_cast<size_t>(k) * hpad + 8 * v);
#pragma GCC unroll 8
        for (int j = 0; j < NE; ++j) {
            const __m256 b = _mm256_broadcast_ss(e + static_cast<size_t>(j) * es + k);
#pragma GCC unroll 8
            for (int v = 0; v < HV; ++v) acc[j][v] = _mm256_fmadd_ps(qv[v], b, acc[j][v]);
        }
    }
    const __m256 sv = _mm256_set1_ps(scale);
#pragma GCC unroll 8
    for (int j = 0; j < NE; ++j) {
#pragma GCC unroll 8
        for (int v = 0; v < HV; ++v) {
            _mm256_storeu_ps(st + static_cast<size_t>(j) * hpad + 8 * v, _mm256_mul_ps(acc[j][v], sv));
        }
    }
}

template <int HV>
MS4_AVX2 void scoreRows(const float* qt, int hpad, int K, const float* e, int es, float* st, float scale, int n) {
    int j = 0;
    for (; j + 6 <= n; j += 6)
        scoreBlock<HV, 6>(qt, hpad, K, e + static_cast<size_t>(j) * es, es, st + j * hpad, scale);
    const float* ej = e + static_cast<size_t>(j) * es;
    float* sj = st + j * hpad;
    switch (n - j) {
        case 5:
            scoreBlock<HV, 5>(qt, hpad, K, ej, es, sj, scale);
            break;
        case 4:
            scoreBlock<HV, 4>(qt, hpad, K, ej, es, sj, scale);
            break;
        case 3:
            scoreBlock<HV, 3>(qt, hpad, K, ej, es, sj, scale);
            break;
        case 2:
            scoreBlock<HV, 2>(qt, hpad, K, ej, es, sj, scale);
            break;
        case 1:
            scoreBlock<HV, 1>(qt, hpad, K, ej, es, sj, scale);
            break;
        default:
            break;
    }
}

// o[h][l0 + 0..8LV) += Σ_j p[j][h] · e[j][l0 + ..] for 4 heads (o, p and e already offset by head / column).
template <int LV>
MS4_AVX2 void outBlock(float* o, int lpad, const float* p, int hpad, const float* e, int es, int n) {
    __m256 acc[4][LV];
#pragma GCC unroll 4
    for (int h = 0; h < 4; ++h) {
#pragma GCC unroll 4
        for (int v = 0; v < LV; ++v) acc[h][v] = _mm256_loadu_ps(o + static_cast<size_t>(h) * lpad + 8 * v);
    }
    for (int j = 0; j < n; ++j) {
        __m256 ev[LV];
#pragma GCC unroll 4
        for (int v = 0; v < LV; ++v) ev[v] = _mm256_loadu_ps(e + static_cast<size_t>(j) * es + 8 * v);
#pragma GCC unroll 4
        for (int h = 0; h < 4; ++h) {
            const __m256 pv = _mm256_broadcast_ss(p + static_cast<size_t>(j) * hpad + h);
#pragma GCC unroll 4
            for (int v = 0; v < LV; ++v) acc[h][v] = _mm256_fmadd_ps(pv, ev[v], acc[h][v]);
        }
    }
#pragma GCC unroll 4
    for (int h = 0; h < 4; ++h) {
#pragma GCC unroll 4
        for (int v = 0; v < LV; ++v) _mm256_storeu_ps(o + static_cast<size_t>(h) * lpad + 8 * v, acc[h][v]);
    }
}

struct Scratch {
    std::vector<float> qt, e, st, corr;
};

MS4_AVX2 void partitionAvx2(const MlaPartArgs& a) {
    thread_local Scratch s;
    const int H = a.H, L = a.L, R = a.R, hpad = a.Hpad, lpad = a.Lpad, K = lpad + R, es = K;
    s.qt.assign(static_cast<size_t>(K) * hpad, 0.0f);
    for (int h = 0; h < H; ++h) {
        const float* ql = a.qLat + static_cast<size_t>(h) * L;
        const float* qp = a.qPe + static_cast<size_t>(h) * a.qPeStride;
        for (int k = 0; k < L; ++k) s.qt[static_cast<size_t>(k) * hpad + h] = ql[k];
        for (int k = 0; k < R; ++k) s.qt[static_cast<size_t>(lpad + k) * hpad + h] = qp[k];
    }
    s.e.assign(static_cast<size_t>(kTile) * es, 0.0f);  // columns [L, lpad) stay zero
    s.st.resize(static_cast<size_t>(kTile) * hpad);
    s.corr.resize(hpad);
    for (int h = 0; h < hpad; ++h) {
        a.m[h] = -INFINITY;
        a.l[h] = 0.0f;
    }
    std::fill(a.o, a.o + static_cast<size_t>(hpad) * lpad, 0.0f);
    const size_t bytesPerValue = a.bf16 ? 2 : 4, width = static_cast<size_t>(L + R);
    float* st = s.st.data();
    for (int t0 = a.j0; t0 < a.j1; t0 += kTile) {
        const int n = std::min(kTile, a.j1 - t0);
        for (int j = 0; j < n; ++j) {
            const int idx = t0 + j;
            const int64_t slot = static_cast<int64_t>(a.blocks[idx / a.blockSize]) * a.blockSize + idx % a.blockSize;
            const uint8_t* src = a.layer + static_cast<size_t>(slot) * width * bytesPerValue;
            float* dst = s.e.data() + static_cast<size_t>(j) * es;
            convertRow(src, a.bf16, L, dst);
            convertRow(src + static_cast<size_t>(L) * bytesPerValue, a.bf16, R, dst + lpad);
        }
        // scores st[j][h]
        int h0 = 0;
        for (; h0 + 16 <= hpad; h0 += 16) scoreRows<2>(s.qt.data() + h0, hpad, K, s.e.data(), es, st + h0, a.scale, n);
        if (h0 < hpad) scoreRows<1>(s.qt.data() + h0, hpad, K, s.e.data(), es, st + h0, a.scale, n);
        // online softmax, 8 heads per vector
        bool rescale = false;
        for (int h = 0; h < hpad; h += 8) {
            __m256 tmax = _mm256_loadu_ps(st + h);
            for (int j = 1; j < n; ++j)
                tmax = _mm256_max_ps(tmax, _mm256_loadu_ps(st + static_cast<size_t>(j) * hpad + h));
            const __m256 mOld = _mm256_loadu_ps(a.m + h), mNew = _mm256_max_ps(mOld, tmax);
            const __m256 corr = expAvx2(_mm256_sub_ps(mOld, mNew));
            __m256 l = _mm256_mul_ps(_mm256_loadu_ps(a.l + h), corr);
            for (int j = 0; j < n; ++j) {
                float* sj = st + static_cast<size_t>(j) * hpad + h;
                const __m256 p = expAvx2(_mm256_sub_ps(_mm256_loadu_ps(sj), mNew));
                _mm256_storeu_ps(sj, p);
                l = _mm256_add_ps(l, p);
            }
            _mm256_storeu_ps(a.l + h, l);
            _mm256_storeu_ps(a.m + h, mNew);
            _mm256_storeu_ps(s.corr.data() + h, corr);
            rescale = rescale || _mm256_movemask_ps(_mm256_cmp_ps(corr, _mm256_set1_ps(1.0f), _CMP_NEQ_UQ)) != 0;
        }
        if (rescale) {
            for (int h = 0; h < hpad; ++h) {
                const float c = s.corr[h];
                if (c == 1.0f) continue;
                const __m256 cv = _mm256_set1_ps(c);
                float* o = a.o + static_cast<size_t>(h) * lpad;
                for (int i = 0; i < lpad; i += 8) _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_loadu_ps(o + i), cv));
            }
        }
        // o[h][:] += p[j][h] · e[j][:]
        for (int h = 0; h < hpad; h += 4) {
            float* o = a.o + static_cast<size_t>(h) * lpad;
            const float* p = st + h;
            int l0 = 0;
            for (; l0 + 24 <= lpad; l0 += 24) outBlock<3>(o + l0, lpad, p, hpad, s.e.data() + l0, es, n);
            if (lpad - l0 == 16) outBlock<2>(o + l0, lpad, p, hpad, s.e.data() + l0, es, n);
            if (lpad - l0 == 8) outBlock<1>(o + l0, lpad, p, hpad, s.e.data() + l0, es, n);
        }
    }
}

}  // namespace

MlaPartitionFn mlaPartitionAvx2() { return partitionAvx2; }

}  // namespace ms4::cpu

#else

namespace ms4::cpu {
MlaPartitionFn mlaPartitionAvx2() { return nullptr; }
}  // namespace ms4::cpu

#endif
