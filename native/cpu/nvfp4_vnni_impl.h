// NVFP4 × quantized activations on AVX-512 VNNI. Included by kernels_avx512.cc (native intrinsics, every function
// marked MS4_VNNI_TARGET) and by kernels_avx512_emulated.cc (the same source on SIMDe's portable AVX-512, so the
// op checks and model tests exercise this code on machines without AVX-512). Before including, define
// MS4_VNNI_TARGET and provide the intrinsics plus cvtI32x16ToF32 (_mm512_cvtepi32_ps, which SIMDe 0.7 lacks).
//
// One 64-byte load holds a chunk's 128 nibbles (byte j: element j low, element j + 64 high). Per chunk and token the
// integer dot products leave 16 32-bit lanes, each the exact sum of 8 elements of one block: lane d = 4L + 2m sums
// the low nibbles of dwords d and d + 1 (elements 16L + 8m .. + 7, block L), lane d + 1 their high nibbles (block
// 4 + L). Each weight vector holds, per dword, its own nibbles (the low ones in even dwords, the high ones in odd
// dwords) or its neighbour's (the dwords of each qword swapped by one vprolq), picked by per-lane shift counts, so no
// blend is needed; the activations are stored in that order (the "lane" layouts of quantized_activations.h).
//   int8  (vpdpbusd): weights u8 = 2·e2m1 + 12 by vpshufb; two vpdpbusd per chunk, started from the lanes' −12·Σq:
//         exact int32 (|·| <= 8 · 24 · 127).
//   int16 (vpdpwssd): weights s16 = 2·e2m1 straight from the nibbles by vpermw (a 32-word table indexed by the low
//         5 bits of each 16-bit word, so the nibble above the indexed one needs no masking), after per-word shifts
//         (vpsrlvw) of 0 / 8 (even dwords) or 4 / 12 (odd dwords); four vpdpwssd per chunk: exact int32
//         (|·| <= 8 · 12 · 32767).
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

// The 8 FP8 block scales of a chunk as fp32 · 2^-8 (FP8 → FP16 by bit moves, exact, then vcvtph2ps), expanded to
// the 16 lanes (vnniLaneBlock: lanes 4L, 4L + 2 → block L; 4L + 1, 4L + 3 → block 4 + L).
MS4_VNNI_TARGET inline __m512 chunkLaneScales(const uint8_t* p) {
    const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i h16 = _mm_and_si128(_mm_srai_epi16(_mm_unpacklo_epi8(_mm_setzero_si128(), s8), 1),
                                      _mm_set1_epi16(static_cast<short>(0xbfff)));
    const __m512 ws = _mm512_castps256_ps512(_mm256_cvtph_ps(h16));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 0, 4, 1, 5, 1, 5, 2, 6, 2, 6, 3, 7, 3, 7), ws);
}

MS4_VNNI_TARGET inline void prefetchAhead(const uint8_t* p) {
    _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchBytes, _MM_HINT_T0);
}

// int8 (vpdpbusd): u8 codes 2·e2m1 + 12 × s8 activations.
struct Int8Lanes {
    struct Token {
        const int8_t* q;
        const float* s;
        const int32_t* negBias;
    };
    static Token token(const uint8_t* row, int kPad) {
        return {q8Values(row), q8LaneScales(row, kPad), q8LaneNegBias(row, kPad)};
    }
    struct Weights {
        __m512i own, neighbour;  // per dword: its own codes (low nibbles in even dwords, high in odd), its neighbour's
        __m512 ws;
    };
    MS4_VNNI_TARGET static Weights prepare(const uint8_t* nib) {
        const __m512i lut = _mm512_broadcast_i32x4(
            _mm_add_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12), _mm_set1_epi8(12)));
        const __m512i lowMask = _mm512_set1_epi8(0x0f);
        const __m512i shift = _mm512_set1_epi64(0x0000000400000000LL);  // 0 in even dwords, 4 in odd ones
        const __m512i b = _mm512_loadu_si512(nib);
        const __m512i swapped = _mm512_rol_epi64(b, 32);
        return {_mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srlv_epi32(b, shift), lowMask)),
                _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srlv_epi32(swapped, shift), lowMask)),
                chunkLaneScales(nib + 64)};
    }
    MS4_VNNI_TARGET static void accumulate(const Weights& w, const Token& x, int c, __m512& acc) {
        const size_t e = static_cast<size_t>(c) * kNvfp4Chunk, l = static_cast<size_t>(c) * 16;
        __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(x.negBias + l), w.own, _mm512_loadu_si512(x.q + e));
        s = _mm512_dpbusd_epi32(s, w.neighbour, _mm512_loadu_si512(x.q + e + 64));
        acc = _mm512_fmadd_ps(cvtI32x16ToF32(s), _mm512_mul_ps(w.ws, _mm512_loadu_ps(x.s + l)), acc);
    }
};

// int16 (vpdpwssd): s16 codes 2·e2m1 × s16 activations.
struct Int16Lanes {
    struct Token {
        const int16_t* q;
        const float* s;
    };
    static Token token(const uint8_t* row, int kPad) { return {q16Values(row), q16LaneScales(row, kPad)}; }
    struct Weights {
        __m512i w16[4];  // the words' even and odd elements (own dwords), then the same from the swapped dwords
        __m512 ws;
    };
    MS4_VNNI_TARGET static Weights prepare(const uint8_t* nib) {
        const __m512i lut =
            _mm512_broadcast_i64x4(_mm256_setr_epi16(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12));
        // per 16-bit word: shift 0 (even element) / 8 (odd element) in even dwords, 4 / 12 in odd dwords
        const __m512i evenShift = _mm512_set1_epi64(0x0004000400000000LL);
        const __m512i oddShift = _mm512_set1_epi64(0x000c000c00080008LL);
        const __m512i b = _mm512_loadu_si512(nib);
        const __m512i swapped = _mm512_rol_epi64(b, 32);
        return {{_mm512_permutexvar_epi16(_mm512_srlv_epi16(b, evenShift), lut),
                 _mm512_permutexvar_epi16(_mm512_srlv_epi16(b, oddShift), lut),
                 _mm512_permutexvar_epi16(_mm512_srlv_epi16(swapped, evenShift), lut),
                 _mm512_permutexvar_epi16(_mm512_srlv_epi16(swapped, oddShift), lut)},
                chunkLaneScales(nib + 64)};
    }
    MS4_VNNI_TARGET static void accumulate(const Weights& w, const Token& x, int c, __m512& acc) {
        const int16_t* q = x.q + static_cast<size_t>(c) * kNvfp4Chunk;
        __m512i s = _mm512_dpwssd_epi32(_mm512_setzero_si512(), w.w16[0], _mm512_loadu_si512(q));
        s = _mm512_dpwssd_epi32(s, w.w16[1], _mm512_loadu_si512(q + 32));
        s = _mm512_dpwssd_epi32(s, w.w16[2], _mm512_loadu_si512(q + 64));
        s = _mm512_dpwssd_epi32(s, w.w16[3], _mm512_loadu_si512(q + 96));
        const __m512 scale = _mm512_mul_ps(w.ws, _mm512_loadu_ps(x.s + static_cast<size_t>(c) * 16));
        acc = _mm512_fmadd_ps(cvtI32x16ToF32(s), scale, acc);
    }
};

template <typename Act, int TB>
MS4_VNNI_TARGET void rows(const CpuLinear& w, const uint8_t* xq, size_t xqs, float* y, int ys, int r0, int r1) {
    const int kPad = w.kPad, chunks = kPad / kNvfp4Chunk;
    const float rowFactor = 128.0f * w.invGlobalScale;
    typename Act::Token x[TB];
#pragma GCC unroll 8
    for (int t = 0; t < TB; ++t) x[t] = Act::token(xq + static_cast<size_t>(t) * xqs, kPad);
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = w.row(r);
        __m512 acc[TB];
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) acc[t] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; ++c) {
            const uint8_t* nib = wr + static_cast<size_t>(c) * kNvfp4ChunkBytes;
            prefetchAhead(nib);
            const typename Act::Weights wq = Act::prepare(nib);
#pragma GCC unroll 8
            for (int t = 0; t < TB; ++t) Act::accumulate(wq, x[t], c, acc[t]);
        }
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) y[static_cast<size_t>(t) * ys + (r - r0)] = sumLanes(acc[t]) * rowFactor;
    }
}

// Any T: tokens in blocks of kVnniTokenBlock (8: a chunk's weights are expanded once per 8 tokens), the remainder as
// 4 + 2 + 1; a token's arithmetic is the same whatever its block (batch invariance).
constexpr int kVnniTokenBlock = 8;
template <typename Act>
MS4_VNNI_TARGET void linearRows(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride,
                                int r0, int r1) {
    int t0 = 0;
    auto run = [&](auto tb) {
        constexpr int TB = decltype(tb)::value;
        rows<Act, TB>(w, xq + static_cast<size_t>(t0) * xqStride, xqStride, y + static_cast<size_t>(t0) * yStride,
                      yStride, r0, r1);
        t0 += TB;
    };
    while (T - t0 >= kVnniTokenBlock) run(std::integral_constant<int, kVnniTokenBlock>{});
    if (T - t0 >= 4) run(std::integral_constant<int, 4>{});
    if (T - t0 >= 2) run(std::integral_constant<int, 2>{});
    if (T - t0 >= 1) run(std::integral_constant<int, 1>{});
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
