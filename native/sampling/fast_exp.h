// exp over a vocabulary for the sampler's softmax weights. Explicit 4-wide vectors (GCC/Clang vector
// extensions; a scalar loop elsewhere) because compilers do not vectorise exp on their own. Relative error
// below 2e-7 for arguments in [-87, 0]; exactly 0 below -87 (including -inf, the masked tokens).
#pragma once

#include <cstdint>
#include <cstring>

namespace ms4 {

/** exp(a) for a <= 0: 2^n * exp(r), n = round(a / ln 2), r = a - n ln 2 (ln 2 in two parts), exp(r) by its
 * Taylor series to r^7 (truncation error < 1e-8 for |r| <= ln2/2). The vector loop below does the same steps. */
inline float expNonPositive(float a) {
    const float xc = a < -87.0f ? -87.0f : a;
    const float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest
    const float r = (xc - n * 0.693145752f) - n * 1.42860677e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) * (1 << 23);
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return a < -87.0f ? 0.0f : p * scale;
}

/** out[i] = exp((x[i] - shift) * scale) for i < n; every argument must be <= 0 (shift = the max, scale > 0). */
inline void expShifted(const float* x, int n, float shift, float scale, float* out) {
    int i = 0;
#if defined(__GNUC__) || defined(__clang__)
    typedef float F4 __attribute__((vector_size(16)));
    typedef int32_t I4 __attribute__((vector_size(16)));
    const F4 shift4 = {shift, shift, shift, shift};
    const F4 scale4 = {scale, scale, scale, scale};
    const F4 lo = {-87.0f, -87.0f, -87.0f, -87.0f};
    const F4 magic = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
    for (; i + 4 <= n; i += 4) {
        F4 a;
        std::memcpy(&a, x + i, sizeof a);
        a = (a - shift4) * scale4;
        const I4 tiny = a < lo;  // all ones where the result is 0
        const F4 xc = (F4)(((I4)a & ~tiny) | ((I4)lo & tiny));
        const F4 nf = (xc * 1.44269504f + magic) - magic;
        const F4 r = (xc - nf * 0.693145752f) - nf * 1.42860677e-6f;
        F4 p = r * (1.0f / 5040.0f) + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        const I4 bits = (__builtin_convertvector(nf, I4) + 127) * (1 << 23);
        const F4 result = (F4)((I4)(p * (F4)bits) & ~tiny);
        std::memcpy(out + i, &result, sizeof result);
    }
#endif
    for (; i < n; ++i) out[i] = expNonPositive((x[i] - shift) * scale);
}

}  // namespace ms4
