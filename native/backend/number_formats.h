// Scalar number formats of checkpoints and caches (docs/model.md#number-formats), for run-time code of any backend
// and of the model's weight loading. ref/ref_weights.cc keeps its own independent definitions for the checks.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ms4 {

inline float bf16ToFloat(uint16_t v) {
    const uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even; NaN → quiet NaN 0x7fc0.
inline uint16_t floatToBf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (std::isnan(f)) return 0x7fc0;
    bits += 0x7fff + ((bits >> 16) & 1);
    return static_cast<uint16_t>(bits >> 16);
}

inline float fp8e4m3ToFloat(uint8_t v) {
    const int sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 7;
    if (exp == 0xf && man == 7) return NAN;
    const float mag = exp == 0 ? std::ldexp(static_cast<float>(man), -9) : std::ldexp(1.0f + man / 8.0f, exp - 7);
    return sign ? -mag : mag;
}

// IEEE half → float (exact).
inline float halfToFloat(uint16_t h) {
    const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) {
        v = std::ldexp(static_cast<float>(man), -24);
    } else if (exp == 31) {
        v = man ? NAN : INFINITY;
    } else {
        v = std::ldexp(1.0f + man / 1024.0f, exp - 15);
    }
    return sign ? -v : v;
}

// E2M1 code (bit 3 = sign) → value.
inline float e2m1ToFloat(uint8_t code) {
    static const float kMag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    const float m = kMag[code & 7];
    return (code & 8) ? -m : m;
}

}  // namespace ms4
