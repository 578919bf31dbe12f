// Helpers shared by the AVX2 kernel files. Every function carries the target attribute, so including this needs no
// -mavx2: the code only runs once CPUID reported AVX2 + FMA + F16C.
#pragma once
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <type_traits>

#include "cpu/cpu_backend.h"

#define MS4_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ms4::cpu::avx2 {

MS4_AVX2 inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 8 BF16 values → fp32 (exact: a shift into the high half).
MS4_AVX2 inline __m256 loadBf16x8(const uint16_t* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
}

// Prefetches the weight stream kPrefetchBytes ahead.
MS4_AVX2 inline void prefetchAhead(const void* p) {
    _mm_prefetch(static_cast<const char*>(p) + kPrefetchBytes, _MM_HINT_T0);
}

// Calls run(std::integral_constant<int, TB>) with the token block TB = min(T, kTokenBlock) as a compile-time constant.
template <typename Run>
MS4_AVX2 void withTokenBlock(int T, const Run& run) {
    static_assert(kTokenBlock == 4, "withTokenBlock covers token blocks of 1..4");
    switch (T) {
        case 1:
            run(std::integral_constant<int, 1>{});
            return;
        case 2:
            run(std::integral_constant<int, 2>{});
            return;
        case 3:
            run(std::integral_constant<int, 3>{});
            return;
        default:
            run(std::integral_constant<int, 4>{});
            return;
    }
}

// nibble → 2·e2m1 as int8 (bit 3 = sign), in both 128-bit lanes
MS4_AVX2 inline __m256i twiceE2m1Lut() {
    return _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12));
}

// nibble → 2·e2m1 + 12 as u8 ({12..24} for codes 0-7, {12..0} for 8-15): the unsigned codes of the quantized
// kernels, which subtract 12·Σq per block.
MS4_AVX2 inline __m256i biasedE2m1Lut() { return _mm256_add_epi8(twiceE2m1Lut(), _mm256_set1_epi8(12)); }

// A repacked NVFP4 chunk's 128 codes through `lut` (a vpshufb table over the nibble, in both 128-bit lanes):
// v[0] = elements 0..31, v[1] = 32..63 (low nibbles), v[2] = 64..95, v[3] = 96..127 (high nibbles); byte i of v[g]
// is element 32g + i. Prefetches the weight stream ahead.
MS4_AVX2 inline void chunkCodes(const uint8_t* nib, __m256i lut, __m256i v[4]) {
    prefetchAhead(nib);
    const __m256i lowMask = _mm256_set1_epi8(0x0f);
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nib));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nib + 32));
    v[0] = _mm256_shuffle_epi8(lut, _mm256_and_si256(b0, lowMask));
    v[1] = _mm256_shuffle_epi8(lut, _mm256_and_si256(b1, lowMask));
    v[2] = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(b0, 4), lowMask));
    v[3] = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(b1, 4), lowMask));
}

// The 8 FP8 block scales of a chunk (8 bytes at p), permuted to kQ8Pos order, as fp32 · 2^-8: FP8 → FP16 by bit
// moves (s eeee mmm → s 0eeee mmm0000000, exactly fp8 · 2^-8, subnormals included), then vcvtph2ps (exact).
MS4_AVX2 inline __m256 chunkScalesTimes2PowMinus8(const uint8_t* p) {
    const __m128i perm = _mm_setr_epi8(0, 2, 4, 6, 1, 3, 5, 7, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i s8 = _mm_shuffle_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), perm);
    const __m128i h16 = _mm_and_si128(_mm_srai_epi16(_mm_unpacklo_epi8(_mm_setzero_si128(), s8), 1),
                                      _mm_set1_epi16(static_cast<short>(0xbfff)));
    return _mm256_cvtph_ps(h16);
}

}  // namespace ms4::cpu::avx2

#endif
