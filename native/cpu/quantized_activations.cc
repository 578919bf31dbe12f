// The scalar activation quantizers (layouts in quantized_activations.h).
#include "cpu/quantized_activations.h"

#include <cmath>
#include <stdexcept>

namespace ms4::cpu {

namespace {

// absmax of a 16-block; false when it holds a NaN or an infinity.
bool blockAbsMax(const float* xb, float& amax) {
    amax = 0.0f;
    bool finite = true;
    for (int i = 0; i < 16; ++i) {
        const float a = std::fabs(xb[i]);
        if (!(a <= 3.4028234663852886e38f)) finite = false;
        amax = a > amax ? a : amax;
    }
    return finite;
}

// round(v · inv) clamped to ±limit (round half to even: the default rounding mode).
int32_t quantize(float v, float inv, float limit) {
    float q = std::nearbyint(v * inv);
    q = q > limit ? limit : (q < -limit ? -limit : q);
    return static_cast<int32_t>(q);
}

int scaleSlot(int blk) { return (blk / 8) * 8 + kQ8Pos[blk % 8]; }

constexpr int kChunk = 128;  // elements per NVFP4 weight chunk (cpu_backend.h kNvfp4Chunk)

}  // namespace

const char* nvfp4ActivationsName(Nvfp4Activations a) {
    switch (a) {
        case Nvfp4Activations::F32:
            return "f32";
        case Nvfp4Activations::Int16:
            return "int16";
        case Nvfp4Activations::Int8:
            return "int8";
    }
    return "?";
}

void quantizeQ8Row(const float* x, int kPad, uint8_t* out) {
    int8_t* q = reinterpret_cast<int8_t*>(out);
    float* scales = reinterpret_cast<float*>(out + kPad);
    int32_t* bias = reinterpret_cast<int32_t*>(out + kPad + static_cast<size_t>(kPad / 16) * 4);
    for (int blk = 0; blk < kPad / 16; ++blk) {
        const float* xb = x + 16 * blk;
        float amax;
        const bool finite = blockAbsMax(xb, amax);
        const int slot = scaleSlot(blk);
        int32_t sum = 0;
        if (!finite || amax == 0.0f) {
            for (int i = 0; i < 16; ++i) q[16 * blk + i] = 0;
            scales[slot] = finite ? 0.0f : NAN;
        } else {
            const float inv = 127.0f / amax;
            for (int i = 0; i < 16; ++i) {
                const int32_t v = quantize(xb[i], inv, 127.0f);
                q[16 * blk + i] = static_cast<int8_t>(v);
                sum += v;
            }
            scales[slot] = amax / 127.0f;
        }
        bias[slot] = 12 * sum;
    }
}

void quantizeQ16Row(const float* x, int kPad, uint8_t* out) {
    int16_t* q = reinterpret_cast<int16_t*>(out);
    float* scales = reinterpret_cast<float*>(out + static_cast<size_t>(kPad) * 2);
    int32_t* bias =
        reinterpret_cast<int32_t*>(out + static_cast<size_t>(kPad) * 2 + static_cast<size_t>(kPad / 16) * 4);
    for (int blk = 0; blk < kPad / 16; ++blk) {
        const float* xb = x + 16 * blk;
        float amax;
        const bool finite = blockAbsMax(xb, amax);
        const int chunkBase = (blk / 8) * 128;
        const int slot = scaleSlot(blk);
        const bool zero = !finite || amax == 0.0f;
        const float inv = zero ? 0.0f : 32767.0f / amax;
        int32_t sum = 0;
        for (int i = 0; i < 16; ++i) {
            const int e = 16 * (blk % 8) + i;
            const int32_t v = zero ? 0 : quantize(xb[i], inv, 32767.0f);
            q[chunkBase + q16Pos(e)] = static_cast<int16_t>(v);
            sum += v;
        }
        scales[slot] = zero ? (finite ? 0.0f : NAN) : amax / 32767.0f;
        bias[slot] = 12 * sum;
    }
}

// Quantizes block blk of x like the q8 / q16 rows above: values q (limit 127 or 32767) and the block's scale.
template <typename Q>
float quantizeBlock(const float* xb, float limit, Q* q) {
    float amax;
    const bool finite = blockAbsMax(xb, amax);
    if (!finite || amax == 0.0f) {
        for (int i = 0; i < 16; ++i) q[i] = 0;
        return finite ? 0.0f : NAN;
    }
    const float inv = limit / amax;
    for (int i = 0; i < 16; ++i) q[i] = static_cast<Q>(quantize(xb[i], inv, limit));
    return amax / limit;
}

void quantizeQ8LaneRow(const float* x, int kPad, uint8_t* out) {
    int8_t* q = reinterpret_cast<int8_t*>(out);
    float* scales = reinterpret_cast<float*>(out + kPad);
    int32_t* negBias = reinterpret_cast<int32_t*>(out + kPad + static_cast<size_t>(kPad / 8) * 4);
    for (int c = 0; c < kPad / kChunk; ++c) {
        int8_t natural[kChunk];
        float blockScale[8];
        for (int b = 0; b < 8; ++b) blockScale[b] = quantizeBlock(x + kChunk * c + 16 * b, 127.0f, natural + 16 * b);
        int8_t* qc = q + kChunk * c;
        for (int p = 0; p < kChunk; ++p) qc[p] = natural[q8LaneElement(p)];
        for (int d = 0; d < 16; ++d) {  // lane d: bytes 4d..4d+3 of both 64-byte vectors
            int32_t sum = 0;
            for (int i = 0; i < 4; ++i) sum += qc[4 * d + i] + qc[64 + 4 * d + i];
            scales[16 * c + d] = blockScale[vnniLaneBlock(d)];
            negBias[16 * c + d] = -12 * sum;
        }
    }
}

void quantizeQ16LaneRow(const float* x, int kPad, uint8_t* out) {
    int16_t* q = reinterpret_cast<int16_t*>(out);
    float* scales = reinterpret_cast<float*>(out + static_cast<size_t>(kPad) * 2);
    for (int c = 0; c < kPad / kChunk; ++c) {
        int16_t natural[kChunk];
        float blockScale[8];
        for (int b = 0; b < 8; ++b) blockScale[b] = quantizeBlock(x + kChunk * c + 16 * b, 32767.0f, natural + 16 * b);
        for (int p = 0; p < kChunk; ++p) q[kChunk * c + p] = natural[q16LaneElement(p)];
        for (int d = 0; d < 16; ++d) scales[16 * c + d] = blockScale[vnniLaneBlock(d)];
    }
}

const ActivationLayout kQ8Layout = {q8RowBytes, quantizeQ8Row};
const ActivationLayout kQ16Layout = {q16RowBytes, quantizeQ16Row};
const ActivationLayout kQ8LaneLayout = {q8LaneRowBytes, quantizeQ8LaneRow};
const ActivationLayout kQ16LaneLayout = {q16LaneRowBytes, quantizeQ16LaneRow};

}  // namespace ms4::cpu
