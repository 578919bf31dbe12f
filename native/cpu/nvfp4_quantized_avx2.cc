// NVFP4 × quantized activations on AVX2 (Nvfp4Activations::Int16 and ::Int8): one driver, two activation types.
// Per 128-weight chunk, shared by the tokens: nibbles → u8 codes 2·e2m1 + 12 ({12..24} for codes 0-7, {12..0} for
// 8-15) by one vpshufb per 32 weights (avx2::chunkCodes), prepared for the activation type; the 8 FP8 block scales
// permuted to kQ8Pos order as fp32 · 2^-8 (avx2::chunkScalesTimes2PowMinus8).
// Per token: the type's exact integer block sums of the biased codes in kQ8Pos order, minus the per-token bias 12·Σq
// (exact integers), then one fp32 FMA with (block scale · activation scale).
// The row's sum is × 128 / globalScale at the end (2^8 of the FP16 scale trick, 1/2 of the doubled e2m1).
// Every token's accumulation order is fixed and independent of T (batch invariance).
#include "cpu/avx2_util.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

namespace ms4::cpu {

namespace {

// int16: each 32 codes become two vectors of 16 int16 by masking the 16-bit lanes with 0x00ff (even elements) and
// shifting them right by 8 (odd elements), no shuffles, in the order q16Pos stores the activations. Block sums:
// 8 vpmaddwd (s16 pair sums), 4 adds, two rounds of vphaddd: exact int32, |·| <= 16 · 24 · 32767 < 2^24.
struct Int16Activations {
    using Value = int16_t;
    static const Value* values(const uint8_t* row) { return q16Values(row); }
    static const float* scales(const uint8_t* row, int kPad) { return q16Scales(row, kPad); }
    static const int32_t* bias(const uint8_t* row, int kPad) { return q16Bias(row, kPad); }

    struct Weights {
        __m256i w16[8];  // w16[2g]: the even elements of group g as int16, w16[2g + 1]: the odd ones
    };
    MS4_AVX2 static Weights prepare(const __m256i v[4]) {
        const __m256i evenMask = _mm256_set1_epi16(0x00ff);
        Weights w;
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
            w.w16[2 * g] = _mm256_and_si256(v[g], evenMask);
            w.w16[2 * g + 1] = _mm256_srli_epi16(v[g], 8);
        }
        return w;
    }
    MS4_AVX2 static __m256i blockSums(const Weights& w, const Value* qc) {
        const __m256i* q = reinterpret_cast<const __m256i*>(qc);
        __m256i p[4];  // p[g] = [block 2g partial sums ×4 | block 2g + 1 ×4]
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
            p[g] = _mm256_add_epi32(_mm256_madd_epi16(w.w16[2 * g], _mm256_loadu_si256(q + 2 * g)),
                                    _mm256_madd_epi16(w.w16[2 * g + 1], _mm256_loadu_si256(q + 2 * g + 1)));
        }
        // [b0 b0 b2 b2 | b1 b1 b3 b3], [b4 b4 b6 b6 | b5 b5 b7 b7] → [b0 b2 b4 b6 | b1 b3 b5 b7]
        return _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    }
};

// int8 (docs/cpu-backend.md): vpmaddubsw(codes, q) (u8 × s8 pair sums, |·| <= 2·24·127 = 6096: no s16
// saturation), three vphaddw (s16 sums of 16 elements' halves, |·| <= 24384: exact), one vpmaddwd with ones.
struct Int8Activations {
    using Value = int8_t;
    static const Value* values(const uint8_t* row) { return q8Values(row); }
    static const float* scales(const uint8_t* row, int kPad) { return q8Scales(row, kPad); }
    static const int32_t* bias(const uint8_t* row, int kPad) { return q8Bias(row, kPad); }

    struct Weights {
        __m256i v[4];  // codes of elements 0..31, 32..63, 64..95, 96..127
    };
    MS4_AVX2 static Weights prepare(const __m256i v[4]) { return {{v[0], v[1], v[2], v[3]}}; }
    MS4_AVX2 static __m256i blockSums(const Weights& w, const Value* qc) {
        const __m256i* q = reinterpret_cast<const __m256i*>(qc);
        __m256i m[4];
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) m[g] = _mm256_maddubs_epi16(w.v[g], _mm256_loadu_si256(q + g));
        // s16 pair sums → [b0×4 b2×4 | b1×4 b3×4], [b4×4 b6×4 | b5×4 b7×4] → [b0 b0 b2 b2 b4 b4 b6 b6 |
        // b1 b1 b3 b3 b5 b5 b7 b7] → s32 [b0 b2 b4 b6 | b1 b3 b5 b7]
        return _mm256_madd_epi16(_mm256_hadd_epi16(_mm256_hadd_epi16(m[0], m[1]), _mm256_hadd_epi16(m[2], m[3])),
                                 _mm256_set1_epi16(1));
    }
};

template <typename Act, int TB>
MS4_AVX2 void rowsQuantized(const CpuLinear& w, const uint8_t* xq, size_t xqs, float* y, int ys, int r0, int r1) {
    const __m256i lut = avx2::biasedE2m1Lut();
    const int kPad = w.kPad, chunks = kPad / kNvfp4Chunk;
    const float rowFactor = 128.0f * w.invGlobalScale;
    const typename Act::Value* q[TB];
    const float* sa[TB];
    const int32_t* bias[TB];
#pragma GCC unroll 4
    for (int t = 0; t < TB; ++t) {
        const uint8_t* xt = xq + static_cast<size_t>(t) * xqs;
        q[t] = Act::values(xt);
        sa[t] = Act::scales(xt, kPad);
        bias[t] = Act::bias(xt, kPad);
    }
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = w.row(r);
        __m256 acc[TB];
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) acc[t] = _mm256_setzero_ps();
        for (int c = 0; c < chunks; ++c) {
            const uint8_t* nib = wr + static_cast<size_t>(c) * kNvfp4ChunkBytes;
            __m256i v[4];
            avx2::chunkCodes(nib, lut, v);
            const typename Act::Weights wq = Act::prepare(v);
            const __m256 ws = avx2::chunkScalesTimes2PowMinus8(nib + 64);
#pragma GCC unroll 4
            for (int t = 0; t < TB; ++t) {
                __m256i blocks = Act::blockSums(wq, q[t] + c * kNvfp4Chunk);
                blocks =
                    _mm256_sub_epi32(blocks, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias[t] + c * 8)));
                const __m256 scale = _mm256_mul_ps(ws, _mm256_loadu_ps(sa[t] + c * 8));
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(blocks), scale, acc[t]);
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < TB; ++t) y[static_cast<size_t>(t) * ys + (r - r0)] = avx2::hsum(acc[t]) * rowFactor;
    }
}

}  // namespace

// Any T: tokens in blocks of kTokenBlock (a token's arithmetic is the same whatever its block).
MS4_AVX2 void linearRowsQ16Avx2(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride,
                                int r0, int r1) {
    for (int t0 = 0; t0 < T; t0 += kTokenBlock) {
        const uint8_t* x = xq + static_cast<size_t>(t0) * xqStride;
        float* yt = y + static_cast<size_t>(t0) * yStride;
        avx2::withTokenBlock(T - t0, [&](auto tb) {
            rowsQuantized<Int16Activations, decltype(tb)::value>(w, x, xqStride, yt, yStride, r0, r1);
        });
    }
}

MS4_AVX2 void linearRowsQ8Avx2(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride,
                               int r0, int r1) {
    for (int t0 = 0; t0 < T; t0 += kTokenBlock) {
        const uint8_t* x = xq + static_cast<size_t>(t0) * xqStride;
        float* yt = y + static_cast<size_t>(t0) * yStride;
        avx2::withTokenBlock(T - t0, [&](auto tb) {
            rowsQuantized<Int8Activations, decltype(tb)::value>(w, x, xqStride, yt, yStride, r0, r1);
        });
    }
}

}  // namespace ms4::cpu

#endif
