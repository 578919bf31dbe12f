// The "portable" kernel path: plain C++ (the compiler may auto-vectorize for the baseline ISA). Weights are
// dequantized exactly (decodeRow) once per row per token block; dot products use 8 fp32 partial sums.
#include <vector>

#include "backend/number_formats.h"
#include "cpu/cpu_backend.h"

namespace ms4::cpu {

namespace {

float dotPortable(const float* a, const float* b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
    }
    for (; i < n; ++i) acc[i & 7] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

float dotBf16Portable(const float* a, const uint16_t* b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * bf16ToFloat(b[i + j]);
    }
    for (; i < n; ++i) acc[i & 7] += a[i] * bf16ToFloat(b[i]);
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

void axpyPortable(float* y, float a, const float* x, int n) {
    for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpyBf16Portable(float* y, float a, const uint16_t* x, int n) {
    for (int i = 0; i < n; ++i) y[i] += a * bf16ToFloat(x[i]);
}

double sumSquaresPortable(const float* x, int n) {
    double acc[4] = {0, 0, 0, 0};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int j = 0; j < 4; ++j) acc[j] += static_cast<double>(x[i + j]) * x[i + j];
    }
    for (; i < n; ++i) acc[0] += static_cast<double>(x[i]) * x[i];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

void linearRowsPortable(const CpuLinear& w, const float* x, int xStride, int T, float* y, int yStride, int r0, int r1) {
    thread_local std::vector<float> row;
    if (row.size() < static_cast<size_t>(w.kPad)) row.resize(w.kPad);
    for (int r = r0; r < r1; ++r) {
        decodeRow(w, r, row.data());
        for (int t = 0; t < T; ++t) {
            y[static_cast<size_t>(t) * yStride + (r - r0)] =
                dotPortable(row.data(), x + static_cast<size_t>(t) * xStride, w.kPad);
        }
    }
}

// Quantized (int8 / int16) activations: per 16-block, an exact integer sum of 2·e2m1 × q, then × (block factor ·
// activation scale) in fp32; × 1/2 per row.
constexpr int kTwiceE2m1[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// The code of element e (0..127) of a repacked NVFP4 chunk.
uint8_t codeAt(const uint8_t* nib, int e) { return e < 64 ? (nib[e] & 0x0f) : (nib[e - 64] >> 4); }

// One token row's quantized activations: value of chunk element e, and the 8 block scales of chunk c.
struct Q8Row {
    const int8_t* q;
    const float* s;
    Q8Row(const uint8_t* row, int kPad) : q(q8Values(row)), s(q8Scales(row, kPad)) {}
    int32_t at(int c, int e) const { return q[c * kNvfp4Chunk + e]; }
};
struct Q16Row {
    const int16_t* q;
    const float* s;
    Q16Row(const uint8_t* row, int kPad) : q(q16Values(row)), s(q16Scales(row, kPad)) {}
    int32_t at(int c, int e) const { return q[c * kNvfp4Chunk + q16Pos(e)]; }
};

template <typename Row>
void linearRowsQuantizedPortable(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride,
                                 int r0, int r1) {
    const int chunks = w.kPad / kNvfp4Chunk;
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = w.row(r);
        for (int t = 0; t < T; ++t) {
            const Row x(xq + static_cast<size_t>(t) * xqStride, w.kPad);
            float acc = 0.0f;
            for (int c = 0; c < chunks; ++c) {
                const uint8_t* nib = wr + static_cast<size_t>(c) * kNvfp4ChunkBytes;
                for (int b = 0; b < 8; ++b) {
                    int32_t sum = 0;
                    for (int e = 16 * b; e < 16 * b + 16; ++e) sum += kTwiceE2m1[codeAt(nib, e)] * x.at(c, e);
                    acc += static_cast<float>(sum) * (w.table[nib[64 + b]] * x.s[c * 8 + kQ8Pos[b]]);
                }
            }
            y[static_cast<size_t>(t) * yStride + (r - r0)] = 0.5f * acc;
        }
    }
}

void linearRowsQ8Portable(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride, int r0,
                          int r1) {
    linearRowsQuantizedPortable<Q8Row>(w, xq, xqStride, T, y, yStride, r0, r1);
}
void linearRowsQ16Portable(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride, int r0,
                           int r1) {
    linearRowsQuantizedPortable<Q16Row>(w, xq, xqStride, T, y, yStride, r0, r1);
}

const CpuKernels kPortable = {
    "portable",
    linearRowsPortable,
    linearRowsQ8Portable,
    linearRowsQ16Portable,
    &kQ8Layout,
    &kQ16Layout,
    nullptr,
    dotPortable,
    dotBf16Portable,
    axpyPortable,
    axpyBf16Portable,
    sumSquaresPortable,
    attnScoresPortable,
    attnAccumulatePortable,
    attnSoftmaxPortable,
};

}  // namespace

const CpuKernels& portableKernels() { return kPortable; }

}  // namespace ms4::cpu
