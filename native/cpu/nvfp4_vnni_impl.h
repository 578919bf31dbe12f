// NVFP4 × quantized activations on AVX-512 VNNI. Included by kernels_avx512.cc (native intrinsics, every function
// marked MS4_VNNI_TARGET) and by kernels_avx512_emulated.cc (the same source on SIMDe's portable AVX-512, so the
// op checks and model tests exercise this code on machines without AVX-512). Before including, define
// MS4_VNNI_TARGET and provide the intrinsics plus cvtI32x16ToF32 (_mm512_cvtepi32_ps, which SIMDe 0.7 lacks).
//
// One 64-byte load holds a chunk's 128 nibbles (byte j: element j low, element j + 64 high); one vpshufb per 64
// weights maps them to int8 codes, so lo = elements 0..63 and hi = 64..127 with 128-bit lane L = block L (lo) and
// block 4 + L (hi). The activation rows are the "lane" layouts of quantized_activations.h, in natural order.
//   int8  (vpdpbusd): weights u8 = 2·e2m1 + 12; one vpdpbusd per 64 weights gives 16 lanes of 4-element sums
//         (lane i: elements 4i..4i+3, so block b = lanes 4b..4b+3), minus the per-lane bias 12·Σq: exact int32.
//   int16 (vpdpwssd): weights s16 = 2·e2m1 (vpmovsxbw of 32 codes); one vpdpwssd per 32 weights gives 16 lanes of
//         pair sums (block b of the group = 8 lanes): exact int32 (|·| <= 2 · 12 · 32767).
// Each lane's sum becomes fp32 and takes one FMA with (its block's FP8 scale · 2^-8 · its activation scale), the
// weight scales expanded to lanes once per chunk for all tokens. A row is 16 fp32 lanes summed in a fixed order,
// × 128 / globalScale (2^8 of the FP16 scale trick, 1/2 of the doubled e2m1). The accumulation order of every token
// is fixed and independent of T (batch invariance).

namespace vnni {

// 16 fp32 lanes summed in a fixed tree order.
MS4_VNNI_TARGET inline float sumLanes(__m512 v) {
    alignas(64) float l[16];
    _mm512_store_ps(l, v);
    float s8[8];
    for (int i = 0; i < 8; ++i) s8[i] = l[i] + l[i + 8];
    return ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7]));
}

// The 8 FP8 block scales of a chunk as fp32 · 2^-8 in natural block order (FP8 → FP16 by bit moves, exact).
MS4_VNNI_TARGET inline __m256 chunkScales(const uint8_t* p) {
    const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i h16 = _mm_and_si128(_mm_srai_epi16(_mm_unpacklo_epi8(_mm_setzero_si128(), s8), 1),
                                      _mm_set1_epi16(static_cast<short>(0xbfff)));
    return _mm256_cvtph_ps(h16);
}

// nibble → code as int8, in all four 128-bit lanes (bit 3 = sign); `bias` is added to every entry.
MS4_VNNI_TARGET inline __m512i codeLut(int bias) {
    return _mm512_broadcast_i32x4(_mm_add_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12),
                                               _mm_set1_epi8(static_cast<char>(bias))));
}

// A chunk's 128 codes through `lut`: lo = elements 0..63, hi = 64..127 (byte i = element i of the half).
MS4_VNNI_TARGET inline void chunkCodes(const uint8_t* nib, __m512i lut, __m512i& lo, __m512i& hi) {
    _mm_prefetch(reinterpret_cast<const char*>(nib) + kPrefetchBytes, _MM_HINT_T0);
    const __m512i lowMask = _mm512_set1_epi8(0x0f);
    const __m512i b = _mm512_loadu_si512(nib);
    lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(b, lowMask));
    hi = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(b, 4), lowMask));
}

// int8 (vpdpbusd): u8 codes 2·e2m1 + 12 × s8 activations; 16 lanes of 4-element sums per 64 weights (block b of
// the half = lanes 4b..4b+3), minus the per-lane bias 12·Σq.
struct Int8Lanes {
    static constexpr int kCodeBias = 12;
    struct Token {
        const int8_t* q;
        const float* s;
        const int32_t* bias;
    };
    static Token token(const uint8_t* row, int kPad) {
        return {q8Values(row), q8LaneScales(row, kPad), q8LaneBias(row, kPad)};
    }
    struct Weights {
        __m512i lo, hi;     // codes of elements 0..63, 64..127
        __m512 wsLo, wsHi;  // each lane's block scale
    };
    MS4_VNNI_TARGET static Weights prepare(__m512i lo, __m512i hi, __m512 ws) {
        const __m512i toLo = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        const __m512i toHi = _mm512_setr_epi32(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
        return {lo, hi, _mm512_permutexvar_ps(toLo, ws), _mm512_permutexvar_ps(toHi, ws)};
    }
    MS4_VNNI_TARGET static __m512 accumulate(const Weights& w, const Token& x, int c, __m512 acc) {
        const size_t e = static_cast<size_t>(c) * kNvfp4Chunk, l = e / 4;
        __m512i sLo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.lo, _mm512_loadu_si512(x.q + e));
        __m512i sHi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.hi, _mm512_loadu_si512(x.q + e + 64));
        sLo = _mm512_sub_epi32(sLo, _mm512_loadu_si512(x.bias + l));
        sHi = _mm512_sub_epi32(sHi, _mm512_loadu_si512(x.bias + l + 16));
        acc = _mm512_fmadd_ps(cvtI32x16ToF32(sLo), _mm512_mul_ps(w.wsLo, _mm512_loadu_ps(x.s + l)), acc);
        return _mm512_fmadd_ps(cvtI32x16ToF32(sHi), _mm512_mul_ps(w.wsHi, _mm512_loadu_ps(x.s + l + 16)), acc);
    }
};

// int16 (vpdpwssd): s16 codes 2·e2m1 (vpmovsxbw of 32 codes) × s16 activations; 16 lanes of pair sums per 32
// weights (group g: lanes 0..7 = block 2g, 8..15 = block 2g + 1).
struct Int16Lanes {
    static constexpr int kCodeBias = 0;
    struct Token {
        const int16_t* q;
        const float* s;
    };
    static Token token(const uint8_t* row, int kPad) { return {q16Values(row), q16LaneScales(row, kPad)}; }
    struct Weights {
        __m512i w16[4];  // elements 32g..32g+31 as int16
        __m512 ws[4];    // each lane's block scale
    };
    MS4_VNNI_TARGET static Weights prepare(__m512i lo, __m512i hi, __m512 ws) {
        Weights w;
        w.w16[0] = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(lo));
        w.w16[1] = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(lo, 1));
        w.w16[2] = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(hi));
        w.w16[3] = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(hi, 1));
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
            const __m512i toGroup =
                _mm512_setr_epi32(2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g, 2 * g + 1, 2 * g + 1,
                                  2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1);
            w.ws[g] = _mm512_permutexvar_ps(toGroup, ws);
        }
        return w;
    }
    MS4_VNNI_TARGET static __m512 accumulate(const Weights& w, const Token& x, int c, __m512 acc) {
        const size_t e = static_cast<size_t>(c) * kNvfp4Chunk;
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
            const __m512i s =
                _mm512_dpwssd_epi32(_mm512_setzero_si512(), w.w16[g], _mm512_loadu_si512(x.q + e + 32 * g));
            const __m512 scale = _mm512_mul_ps(w.ws[g], _mm512_loadu_ps(x.s + e / 2 + 16 * g));
            acc = _mm512_fmadd_ps(cvtI32x16ToF32(s), scale, acc);
        }
        return acc;
    }
};

template <typename Act, int TB>
MS4_VNNI_TARGET void rows(const CpuLinear& w, const uint8_t* xq, size_t xqs, float* y, int ys, int r0, int r1) {
    const __m512i lut = codeLut(Act::kCodeBias);
    const int kPad = w.kPad, chunks = kPad / kNvfp4Chunk;
    const float rowFactor = 128.0f * w.invGlobalScale;
    typename Act::Token x[TB];
#pragma GCC unroll 4
    for (int t = 0; t < TB; ++t) x[t] = Act::token(xq + static_cast<size_t>(t) * xqs, kPad);
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = w.row(r);
        __m512 acc[TB];
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; ++c) {
            const uint8_t* nib = wr + static_cast<size_t>(c) * kNvfp4ChunkBytes;
            __m512i lo, hi;
            chunkCodes(nib, lut, lo, hi);
            const typename Act::Weights wq = Act::prepare(lo, hi, _mm512_castps256_ps512(chunkScales(nib + 64)));
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t) acc[t] = Act::accumulate(wq, x[t], c, acc[t]);
        }
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) y[static_cast<size_t>(t) * ys + (r - r0)] = sumLanes(acc[t]) * rowFactor;
    }
}

template <typename Act>
MS4_VNNI_TARGET void linearRows(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride,
                                int r0, int r1) {
    switch (T) {
        case 1:
            return rows<Act, 1>(w, xq, xqStride, y, yStride, r0, r1);
        case 2:
            return rows<Act, 2>(w, xq, xqStride, y, yStride, r0, r1);
        case 3:
            return rows<Act, 3>(w, xq, xqStride, y, yStride, r0, r1);
        default:
            return rows<Act, 4>(w, xq, xqStride, y, yStride, r0, r1);
    }
}

// The path's table: the AVX2 kernels (exact f32 GEMV / GEMM, dot, axpy, …) with the quantized NVFP4 kernels above.
inline CpuKernels makeTable(const char* name, const CpuKernels& avx2) {
    CpuKernels k = avx2;
    k.name = name;
    k.linearRowsQ8 = linearRows<Int8Lanes>;
    k.linearRowsQ16 = linearRows<Int16Lanes>;
    k.q8Layout = &kQ8LaneLayout;
    k.q16Layout = &kQ16LaneLayout;
    return k;
}

}  // namespace vnni
