// The "avx2" kernel path (AVX2 + FMA + F16C). Every function carries its own target attribute so the addon
// itself needs no -mavx2 and still runs on any x86-64; the path is only selected when CPUID reports the
// features. Weights are dequantized exactly to the values ref::weightAt gives, then FMA'd in fp32:
//   BF16  zero-extend and shift (exact)
//   FP8   FP16 bit moves + vcvtph2ps give fp8 · 2^-8 exactly (subnormals included); × scale · 2^8 per output
//   NVFP4 one vpshufb maps each nibble to 2·e2m1 (int8), converted to fp32 and × (block factor / 2), where the
//         block factor fp8(scale)/globalScale comes from the weight's 256-entry table; the product equals
//         e2m1 · factor exactly (the doubling and halving are exact).
#include <algorithm>
#include <vector>

#include "backend/number_formats.h"
#include "cpu/avx2_util.h"
#include "cpu/cpu_backend.h"
#include "cpu/gemm_tiles.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

namespace ms4::cpu {

// The quantized-activation NVFP4 kernels (nvfp4_quantized_avx2.cc).
void linearRowsQ8Avx2(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride, int r0,
                      int r1);
void linearRowsQ16Avx2(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride, int r0,
                       int r1);
// The vision attention tiles (vision_attention_avx2.cc).
void attnScoresAvx2(const float* q, int qStride, int nq, const float* kt, int ktStride, int nk, int headDim, float* s,
                    int sStride);
void attnAccumulateAvx2(const float* p, int pStride, int nq, const float* v, int vStride, int nk, int headDim, float* o,
                        int oStride);
void attnSoftmaxAvx2(float* s, int sStride, int nq, int nk, float scale, float* m, float* l, float* o, int oStride,
                     int headDim);

namespace {

using avx2::hsum;
using avx2::loadBf16x8;
using avx2::withTokenBlock;

// 16 FP8-E4M3 codes → fp32 · 2^-8 (exact), two vectors of 8: each code becomes FP16 by bit moves
// (s eeee mmm → s 0eeee mmm0000000, exactly fp8 · 2^-8, subnormals included), then vcvtph2ps. The per-tensor
// scale · 2^8 is applied once per output (fp8RowFactor). (The NaN code 0x7f/0xff decodes to ±480 instead of NaN;
// checkpoint weights hold no NaN.)
MS4_AVX2 inline void loadFp8x16(const uint8_t* p, __m256& lo, __m256& hi) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i clear14 = _mm_set1_epi16(static_cast<short>(0xbfff));
    const __m128i zero = _mm_setzero_si128();
    lo = _mm256_cvtph_ps(_mm_and_si128(_mm_srai_epi16(_mm_unpacklo_epi8(zero, v), 1), clear14));
    hi = _mm256_cvtph_ps(_mm_and_si128(_mm_srai_epi16(_mm_unpackhi_epi8(zero, v), 1), clear14));
}
inline float fp8RowFactor(const CpuLinear& w) { return w.scale * 256.0f; }

template <int TB>
MS4_AVX2 void rowsBf16(const CpuLinear& w, const float* x, int xs, float* y, int ys, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
        const uint16_t* wr = reinterpret_cast<const uint16_t*>(w.row(r));
        __m256 a0[TB], a1[TB];
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
        for (int k = 0; k < w.kPad; k += 16) {
            avx2::prefetchAhead(wr + k);
            const __m256 w0 = loadBf16x8(wr + k), w1 = loadBf16x8(wr + k + 8);
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t) {
                const float* xt = x + static_cast<size_t>(t) * xs + k;
                a0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt), a0[t]);
                a1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + 8), a1[t]);
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) y[static_cast<size_t>(t) * ys + (r - r0)] = hsum(_mm256_add_ps(a0[t], a1[t]));
    }
}

template <int TB>
MS4_AVX2 void rowsFp8(const CpuLinear& w, const float* x, int xs, float* y, int ys, int r0, int r1) {
    const float rowFactor = fp8RowFactor(w);
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = w.row(r);
        __m256 a0[TB], a1[TB];
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
        for (int k = 0; k < w.kPad; k += 16) {
            avx2::prefetchAhead(wr + k);
            __m256 w0, w1;
            loadFp8x16(wr + k, w0, w1);
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t) {
                const float* xt = x + static_cast<size_t>(t) * xs + k;
                a0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt), a0[t]);
                a1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + 8), a1[t]);
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t)
            y[static_cast<size_t>(t) * ys + (r - r0)] = hsum(_mm256_add_ps(a0[t], a1[t])) * rowFactor;
    }
}

MS4_AVX2 inline __m256 int8x8ToFloat(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

template <int TB>
MS4_AVX2 void rowsNvfp4(const CpuLinear& w, const float* x, int xs, float* y, int ys, int r0, int r1) {
    // nibble → 2·e2m1 as int8 (bit 3 = sign)
    const __m128i lut = _mm256_castsi256_si128(avx2::twiceE2m1Lut());
    const __m128i lowMask = _mm_set1_epi8(0x0f);
    const int chunks = w.kPad / kNvfp4Chunk;
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = w.row(r);
        __m256 a0[TB], a1[TB];
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
        for (int c = 0; c < chunks; ++c) {
            const uint8_t* nib = wr + static_cast<size_t>(c) * kNvfp4ChunkBytes;
            const uint8_t* sc = nib + 64;
            const int kc = c * kNvfp4Chunk;
            for (int q = 0; q < 4; ++q) {  // bytes 16q..16q+15: blocks q (low nibbles) and 4 + q (high nibbles)
                const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(nib + 16 * q));
                const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(bytes, lowMask));
                const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(bytes, 4), lowMask));
                const __m256 sLo = _mm256_set1_ps(w.table[sc[q]] * 0.5f);
                const __m256 sHi = _mm256_set1_ps(w.table[sc[4 + q]] * 0.5f);
                const __m256 w0 = _mm256_mul_ps(int8x8ToFloat(lo), sLo);
                const __m256 w1 = _mm256_mul_ps(int8x8ToFloat(_mm_srli_si128(lo, 8)), sLo);
                const __m256 w2 = _mm256_mul_ps(int8x8ToFloat(hi), sHi);
                const __m256 w3 = _mm256_mul_ps(int8x8ToFloat(_mm_srli_si128(hi, 8)), sHi);
#pragma GCC unroll 4
                for (int t = 0; t < TB; ++t) {
                    const float* xt = x + static_cast<size_t>(t) * xs + kc + 16 * q;
                    a0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt), a0[t]);
                    a1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + 8), a1[t]);
                    a0[t] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xt + 64), a0[t]);
                    a1[t] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xt + 72), a1[t]);
                }
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) y[static_cast<size_t>(t) * ys + (r - r0)] = hsum(_mm256_add_ps(a0[t], a1[t]));
    }
}

template <int TB>
MS4_AVX2 void rowsAny(const CpuLinear& w, const float* x, int xs, float* y, int ys, int r0, int r1) {
    switch (w.format) {
        case WeightFormat::BF16:
            rowsBf16<TB>(w, x, xs, y, ys, r0, r1);
            return;
        case WeightFormat::FP8:
            rowsFp8<TB>(w, x, xs, y, ys, r0, r1);
            return;
        case WeightFormat::NVFP4:
            rowsNvfp4<TB>(w, x, xs, y, ys, r0, r1);
            return;
    }
}

MS4_AVX2 void linearRowsAvx2(const CpuLinear& w, const float* x, int xStride, int T, float* y, int yStride, int r0,
                             int r1) {
    withTokenBlock(T, [&](auto tb) { rowsAny<decltype(tb)::value>(w, x, xStride, y, yStride, r0, r1); });
}
static_assert(kTokenBlock == 4, "linearRowsAvx2 handles token blocks of up to 4");

// GEMM (T >= kGemmMinTokens): see gemm_tiles.h. The AVX2 micro-kernel is 3 rows × 4 tokens of 8-lane accumulators.
// Decodes rows [rt, rt + nr) × columns [k0, k0 + kc) into buf (row i at buf + i · kGemmK) in step order.
MS4_AVX2 void gemmDecode(const CpuLinear& w, int rt, int nr, int k0, int kc, float* buf) {
    switch (w.format) {
        case WeightFormat::BF16:
            for (int i = 0; i < nr; ++i) {
                const uint16_t* wr = reinterpret_cast<const uint16_t*>(w.row(rt + i)) + k0;
                float* b = buf + static_cast<size_t>(i) * kGemmK;
                for (int k = 0; k < kc; k += 8) _mm256_store_ps(b + k, loadBf16x8(wr + k));
            }
            return;
        case WeightFormat::FP8:
            for (int i = 0; i < nr; ++i) {
                const uint8_t* wr = w.row(rt + i) + k0;
                float* b = buf + static_cast<size_t>(i) * kGemmK;
                for (int k = 0; k < kc; k += 16) {
                    __m256 lo, hi;
                    loadFp8x16(wr + k, lo, hi);
                    _mm256_store_ps(b + k, lo);
                    _mm256_store_ps(b + k + 8, hi);
                }
            }
            return;
        case WeightFormat::NVFP4: {
            const __m128i lut = _mm256_castsi256_si128(avx2::twiceE2m1Lut());
            const __m128i lowMask = _mm_set1_epi8(0x0f);
            for (int i = 0; i < nr; ++i) {
                const uint8_t* wr = w.row(rt + i);
                float* b = buf + static_cast<size_t>(i) * kGemmK;
                for (int kk = 0; kk < kc; kk += kNvfp4Chunk) {
                    const uint8_t* nib = wr + static_cast<size_t>((k0 + kk) / kNvfp4Chunk) * kNvfp4ChunkBytes;
                    const uint8_t* sc = nib + 64;
                    float* bc = b + kk;
                    for (int q = 0; q < 4; ++q) {  // as rowsNvfp4: steps 2q (w0 w1) and 2q + 1 (w2 w3)
                        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(nib + 16 * q));
                        const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(bytes, lowMask));
                        const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(bytes, 4), lowMask));
                        const __m256 sLo = _mm256_set1_ps(w.table[sc[q]] * 0.5f);
                        const __m256 sHi = _mm256_set1_ps(w.table[sc[4 + q]] * 0.5f);
                        _mm256_store_ps(bc + 32 * q, _mm256_mul_ps(int8x8ToFloat(lo), sLo));
                        _mm256_store_ps(bc + 32 * q + 8, _mm256_mul_ps(int8x8ToFloat(_mm_srli_si128(lo, 8)), sLo));
                        _mm256_store_ps(bc + 32 * q + 16, _mm256_mul_ps(int8x8ToFloat(hi), sHi));
                        _mm256_store_ps(bc + 32 * q + 24, _mm256_mul_ps(int8x8ToFloat(_mm_srli_si128(hi, 8)), sHi));
                    }
                }
            }
            return;
        }
    }
}

// acc[(t · kGemmRows + i) · 16 ..]: a0 (8 lanes) then a1 of token t, tile row i. xoff[s]: the x column of step s.
// The a0 chains (columns 0..7 of each step) and the a1 chains (8..15) are independent, so they run as two passes:
// RB × TB accumulators, RB weight registers and one x register per pass (3 × 4: 16 ymm, 7 loads per 12 FMAs).
template <int RB, int TB>
MS4_AVX2 void gemmMicro(const float* wb, const float* x, int xs, const int* xoff, int steps, float* acc) {
    for (int h = 0; h < 16; h += 8) {
        __m256 a[RB][TB];
#pragma GCC unroll 4
        for (int i = 0; i < RB; ++i) {
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t)
                a[i][t] = _mm256_loadu_ps(acc + (static_cast<size_t>(t) * kGemmRows + i) * 16 + h);
        }
        const float* xh = x + h;
        const float* wh = wb + h;
        for (int s = 0; s < steps; ++s) {
            const float* xp = xh + xoff[s];
            __m256 wv[RB];
#pragma GCC unroll 4
            for (int i = 0; i < RB; ++i) wv[i] = _mm256_load_ps(wh + static_cast<size_t>(i) * kGemmK + 16 * s);
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t) {
                const __m256 xv = _mm256_loadu_ps(xp + static_cast<size_t>(t) * xs);
#pragma GCC unroll 4
                for (int i = 0; i < RB; ++i) a[i][t] = _mm256_fmadd_ps(wv[i], xv, a[i][t]);
            }
        }
#pragma GCC unroll 4
        for (int i = 0; i < RB; ++i) {
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t)
                _mm256_storeu_ps(acc + (static_cast<size_t>(t) * kGemmRows + i) * 16 + h, a[i][t]);
        }
    }
}

constexpr int kGemmTB = 4;  // tokens per micro-kernel call
template <int TB>
MS4_AVX2 void gemmTokens(const float* wb, int nr, const float* x, int xs, const int* xoff, int steps, float* acc) {
    int i = 0;
    for (; i + 3 <= nr; i += 3) {
        gemmMicro<3, TB>(wb + static_cast<size_t>(i) * kGemmK, x, xs, xoff, steps, acc + static_cast<size_t>(i) * 16);
    }
    if (nr - i == 2) {
        gemmMicro<2, TB>(wb + static_cast<size_t>(i) * kGemmK, x, xs, xoff, steps, acc + static_cast<size_t>(i) * 16);
    } else if (nr - i == 1) {
        gemmMicro<1, TB>(wb + static_cast<size_t>(i) * kGemmK, x, xs, xoff, steps, acc + static_cast<size_t>(i) * 16);
    }
}

MS4_AVX2 void gemmMicroAvx2(const float* wb, int nr, const float* x, int xs, const int* xoff, int steps, float* acc,
                            int tokens) {
    withTokenBlock(tokens, [&](auto tb) { gemmTokens<decltype(tb)::value>(wb, nr, x, xs, xoff, steps, acc); });
}

MS4_AVX2 void linearGemmAvx2(const CpuLinear& w, const float* x, int xs, int T, float* y, int ys, int r0, int r1) {
    linearGemmTiled(w, x, xs, T, y, ys, r0, r1, kGemmTB, gemmMicroAvx2);
}

}  // namespace

// The driver (gemm_tiles.h), compiled for AVX2: the decode and the final sums are the avx2 GEMV's.
MS4_AVX2 void linearGemmTiled(const CpuLinear& w, const float* x, int xs, int T, float* y, int ys, int r0, int r1,
                              int tokenBlock, GemmMicroFn micro) {
    const float rowFactor = w.format == WeightFormat::FP8 ? fp8RowFactor(w) : 1.0f;  // as rowsFp8
    alignas(64) float wbuf[kGemmDecRows * kGemmK];
    int xoff[kGemmSteps];
    for (int s = 0; s < kGemmSteps; ++s) {
        xoff[s] = w.format == WeightFormat::NVFP4 ? (s / 2) % 4 * 16 + (s % 2) * 64 + s / 8 * 128 : 16 * s;
    }
    std::vector<float> accv(static_cast<size_t>(T) * kGemmRows * 16);
    float* acc = accv.data();
    // Column chunk outermost inside a row tile: the chunk's x [T × kGemmK] stays in L2 across the tile's row groups.
    for (int rt = r0; rt < r1; rt += kGemmRows) {
        const int nr = std::min(kGemmRows, r1 - rt);
        std::fill(accv.begin(), accv.end(), 0.0f);
        for (int k0 = 0; k0 < w.kPad; k0 += kGemmK) {
            const int kc = std::min(kGemmK, w.kPad - k0), steps = kc / 16;
            const float* xk = x + k0;
            for (int rg = 0; rg < nr; rg += kGemmDecRows) {
                const int ng = std::min(kGemmDecRows, nr - rg);
                gemmDecode(w, rt + rg, ng, k0, kc, wbuf);
                float* accg = acc + static_cast<size_t>(rg) * 16;
                for (int t0 = 0; t0 < T; t0 += tokenBlock) {
                    micro(wbuf, ng, xk + static_cast<size_t>(t0) * xs, xs, xoff, steps,
                          accg + static_cast<size_t>(t0) * kGemmRows * 16, std::min(tokenBlock, T - t0));
                }
            }
        }
        for (int t = 0; t < T; ++t) {
            for (int i = 0; i < nr; ++i) {
                const float* p = acc + (static_cast<size_t>(t) * kGemmRows + i) * 16;
                y[static_cast<size_t>(t) * ys + (rt - r0 + i)] =
                    hsum(_mm256_add_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8))) * rowFactor;
            }
        }
    }
}

namespace {

static_assert(kGemmK % kNvfp4Chunk == 0, "a GEMM column chunk holds whole NVFP4 chunks");

// The dot / axpy kernels over fp32 or BF16 (exactly widened) second operands.
MS4_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
MS4_AVX2 inline __m256 load8(const uint16_t* p) { return loadBf16x8(p); }
inline float valueAt(const float* p, int i) { return p[i]; }
inline float valueAt(const uint16_t* p, int i) { return bf16ToFloat(p[i]); }

template <typename B>
MS4_AVX2 float dotT(const float* a, const B* b, int n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), a1);
    }
    if (i + 8 <= n) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), a0);
        i += 8;
    }
    float s = hsum(_mm256_add_ps(a0, a1));
    for (; i < n; ++i) s += a[i] * valueAt(b, i);
    return s;
}

template <typename X>
MS4_AVX2 void axpyT(float* y, float a, const X* x, int n) {
    const __m256 av = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, load8(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * valueAt(x, i);
}

MS4_AVX2 float dotAvx2(const float* a, const float* b, int n) { return dotT(a, b, n); }
MS4_AVX2 float dotBf16Avx2(const float* a, const uint16_t* b, int n) { return dotT(a, b, n); }
MS4_AVX2 void axpyAvx2(float* y, float a, const float* x, int n) { axpyT(y, a, x, n); }
MS4_AVX2 void axpyBf16Avx2(float* y, float a, const uint16_t* x, int n) { axpyT(y, a, x, n); }

MS4_AVX2 double sumSquaresAvx2(const float* x, int n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), v1 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        a0 = _mm256_fmadd_pd(v0, v0, a0);
        a1 = _mm256_fmadd_pd(v1, v1, a1);
    }
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, _mm256_add_pd(a0, a1));
    double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
    return s;
}

const CpuKernels kAvx2 = {
    "avx2",       linearRowsAvx2, linearRowsQ8Avx2, linearRowsQ16Avx2,  &kQ8Layout,
    &kQ16Layout,  linearGemmAvx2, dotAvx2,          dotBf16Avx2,        axpyAvx2,
    axpyBf16Avx2, sumSquaresAvx2, attnScoresAvx2,   attnAccumulateAvx2, attnSoftmaxAvx2,
};

}  // namespace

const CpuKernels* avx2Kernels() { return &kAvx2; }

}  // namespace ms4::cpu

#else  // not x86-64 (or not GCC/Clang): no AVX2 path

namespace ms4::cpu {
const CpuKernels* avx2Kernels() { return nullptr; }
}  // namespace ms4::cpu

#endif
