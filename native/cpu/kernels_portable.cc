// The "portable" kernel path: plain C++ (the compiler may auto-vectorize for the baseline ISA). Weights are
// dequantized exactly (decodeRow) once per row per token block; dot products use 8 fp32 partial sums.
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/formats.h"

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

const CpuKernels kPortable = {
    "portable", linearRowsPortable, dotPortable, dotBf16Portable, axpyPortable, axpyBf16Portable, sumSquaresPortable,
};

}  // namespace

const CpuKernels& portableKernels() { return kPortable; }

}  // namespace ms4::cpu
