// Bit-exact number conversions shared by the CUDA kernels and their host tests: IEEE half and BF16 round to nearest
// even, half → float, and the exact FP8-E4M3 / E2M1 → half bit moves the GEMM's weight decode is built on
// (docs/cuda-backend.md#numerics). Integer arithmetic only, so device and host give the same bits.
#pragma once
#include <cstdint>
#include <cstring>

#include "hd.h"

namespace ms4::cuda {

MS4_HD uint32_t floatBits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
#endif
}

MS4_HD float bitsFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

// float → IEEE half, round to nearest even; overflow → ±inf; NaN → quiet NaN; subnormal halves are produced.
MS4_HD uint16_t floatToHalfRne(float f) {
    uint32_t x = floatBits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
    if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 (and inf): rounds to inf
    if (x >= 0x38800000u) {                                              // >= 2^-14: a normal half
        uint32_t r = x - 0x38000000u;                                    // exponent rebiased from 127 to 15
        r += 0x0fffu + ((r >> 13) & 1u);
        return static_cast<uint16_t>(sign | (r >> 13));
    }
    if (x <= 0x33000000u) return static_cast<uint16_t>(sign);  // <= 2^-25: rounds to zero (2^-25 ties to even 0)
    const uint32_t e = x >> 23, m = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;  // 14 .. 24: units of 2^-24
    uint32_t units = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (units & 1u))) ++units;
    return static_cast<uint16_t>(sign | units);
}

// IEEE half → float, exact (subnormals included).
MS4_HD float halfToFloatExact(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0) {
        const float v = static_cast<float>(man) * 5.9604644775390625e-8f;  // man · 2^-24, exact
        return sign ? -v : v;
    }
    if (exp == 31) return bitsFloat(sign | 0x7f800000u | (man << 13));
    return bitsFloat(sign | ((exp + 112u) << 23) | (man << 13));
}

// float → BF16, round to nearest even; NaN → 0x7fc0 (the same rule as backend/number_formats.h).
MS4_HD uint16_t floatToBf16Rne(float f) {
    uint32_t x = floatBits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>(x >> 16);
}

MS4_HD float bf16ToFloatExact(uint16_t v) { return bitsFloat(static_cast<uint32_t>(v) << 16); }

// Two FP8-E4M3 bytes (bits 0-7 and 8-15 of `twoBytes`) → a half2 (low half from bits 0-7) holding fp8 · 2^-8,
// exactly: the sign moves to bit 15 and exponent+mantissa to bits 7-14, which turns E4M3's bias 7 into half's bias
// 15 (subnormal E4M3 values become subnormal halves of the same ratio). NaN codes (0x7f / 0xff) are not NaN here.
MS4_HD uint32_t fp8PairToHalf2(uint32_t twoBytes) {
    const uint32_t w = (twoBytes & 0xffu) | ((twoBytes & 0xff00u) << 8);
    return ((w & 0x00800080u) << 8) | ((w & 0x007f007fu) << 7);
}

// Register `reg` (0..3) of one lane's NVFP4 word: the E2M1 codes at nibble positions 3 - reg (low half) and 7 - reg
// (high half) of `codes` become a half2 holding e2m1 · 2^-14 each, exactly: sign to bit 15 / 31, the exponent and
// mantissa bits (e1 e0 m) to bits 9-11 / 25-27, i.e. the two low exponent bits and the top mantissa bit of a half.
// Code 1 (0.5) becomes the subnormal 2^-15.
MS4_HD uint32_t e2m1PairToHalf2(uint32_t codes, int reg) {
    const uint32_t v = codes << (4 * reg);
    return (v & 0x80008000u) | ((v >> 3) & 0x0e000e00u);
}

// Host emulation of the device's HMUL2 for products that are exact in half (the only ones the decode forms):
// each half multiplied in float (exact) and rounded back.
inline uint32_t mulHalf2Host(uint32_t a, uint32_t b) {
    const float lo = halfToFloatExact(static_cast<uint16_t>(a)) * halfToFloatExact(static_cast<uint16_t>(b));
    const float hi =
        halfToFloatExact(static_cast<uint16_t>(a >> 16)) * halfToFloatExact(static_cast<uint16_t>(b >> 16));
    return static_cast<uint32_t>(floatToHalfRne(lo)) | (static_cast<uint32_t>(floatToHalfRne(hi)) << 16);
}

}  // namespace ms4::cuda
