// Reference number formats and weight dequantization (docs/model.md#weight-formats).
#include <cmath>
#include <cstring>

#include "ref/ref_ops.h"

namespace ms4::ref {

float bf16ToFloat(uint16_t v) {
    uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToBf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (std::isnan(f)) return 0x7fc0;
    bits += 0x7fff + ((bits >> 16) & 1);
    return static_cast<uint16_t>(bits >> 16);
}

float fp8e4m3ToFloat(uint8_t v) {
    const int sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 7;
    if (exp == 0xf && man == 7) return NAN;
    float mag = exp == 0 ? std::ldexp(static_cast<float>(man), -9) : std::ldexp(1.0f + man / 8.0f, exp - 7);
    return sign ? -mag : mag;
}

float e2m1ToFloat(uint8_t code) {
    static const float kMag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    const float m = kMag[code & 7];
    return (code & 8) ? -m : m;
}

float weightAt(const LinearSource& w, int r, int c) {
    const size_t i = static_cast<size_t>(r) * w.cols + c;
    switch (w.format) {
        case WeightFormat::BF16: {
            uint16_t v;
            std::memcpy(&v, w.data + 2 * i, 2);
            return bf16ToFloat(v);
        }
        case WeightFormat::FP8:
            return fp8e4m3ToFloat(w.data[i]) * (w.rowScales != nullptr ? w.rowScales[r] : w.scale);
        case WeightFormat::NVFP4: {
            const uint8_t byte = w.data[i / 2];
            const uint8_t code = (i % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
            const float blockScale = fp8e4m3ToFloat(w.blockScales[static_cast<size_t>(r) * (w.cols / 16) + c / 16]);
            // compressed-tensors order: (scale / global) first, then × value.
            return e2m1ToFloat(code) * (blockScale / w.scale);
        }
    }
    return 0.0f;
}

void weightRow(const LinearSource& w, int r, float* out) {
    for (int c = 0; c < w.cols; ++c) out[c] = weightAt(w, r, c);
}

}  // namespace ms4::ref
