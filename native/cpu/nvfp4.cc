// NVFP4 repacking (checkpoint → 128-weight chunks, docs/cpu-backend.md#weight-layouts) and exact row dequantization of
// every prepared format.
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "backend/number_formats.h"
#include "cpu/cpu_backend.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ms4::cpu {

namespace {

// One chunk that may run past the row's last column (codes beyond `cols` and their scales become 0).
void repackChunkScalar(const uint8_t* codes, const uint8_t* scales, int cols, int c, uint8_t* nib) {
    const int base = c * kNvfp4Chunk;
    for (int j = 0; j < 64; ++j) {
        uint8_t byte = 0;
        for (int half = 0; half < 2; ++half) {
            const int k = base + j + 64 * half;
            if (k >= cols) continue;
            const uint8_t code = (k % 2 == 0) ? (codes[k / 2] & 0x0f) : (codes[k / 2] >> 4);
            byte |= static_cast<uint8_t>(code << (4 * half));
        }
        nib[j] = byte;
    }
    for (int b = 0; b < 8; ++b) {
        const int block = base / 16 + b;
        nib[64 + b] = block < cols / 16 ? scales[block] : 0;
    }
}

#if defined(__SSE2__)
// A full chunk with SSE2 (baseline x86-64): each 16 source bytes (32 elements, pairs low nibble first) split into
// even / odd elements and interleave back into element order; byte j of the output = e[j] | e[j + 64] << 4.
void repackChunkFull(const uint8_t* src64, const uint8_t* scales8, uint8_t* nib) {
    const __m128i lowMask = _mm_set1_epi8(0x0f);
    __m128i e[8];  // e[m]: elements 16m..16m+15, one per byte
    for (int q = 0; q < 4; ++q) {
        const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src64 + 16 * q));
        const __m128i even = _mm_and_si128(s, lowMask), odd = _mm_and_si128(_mm_srli_epi16(s, 4), lowMask);
        e[2 * q] = _mm_unpacklo_epi8(even, odd);
        e[2 * q + 1] = _mm_unpackhi_epi8(even, odd);
    }
    for (int m = 0; m < 4; ++m) {  // codes < 16: the 16-bit shift never carries into the next byte
        _mm_storeu_si128(reinterpret_cast<__m128i*>(nib + 16 * m), _mm_or_si128(e[m], _mm_slli_epi16(e[m + 4], 4)));
    }
    std::memcpy(nib + 64, scales8, 8);
}
#else
void repackChunkFull(const uint8_t* src64, const uint8_t* scales8, uint8_t* nib) {
    for (int j = 0; j < 64; ++j) {
        const int k0 = j, k1 = j + 64;
        const uint8_t lo = (k0 % 2 == 0) ? (src64[k0 / 2] & 0x0f) : (src64[k0 / 2] >> 4);
        const uint8_t hi = (k1 % 2 == 0) ? (src64[k1 / 2] & 0x0f) : (src64[k1 / 2] >> 4);
        nib[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
    std::memcpy(nib + 64, scales8, 8);
}
#endif

}  // namespace

void repackNvfp4(const LinearSource& src, int kPad, uint8_t* out) {
    if (src.cols % 16 != 0) throw std::runtime_error("NVFP4 weight: cols must be a multiple of 16");
    const int chunks = kPad / kNvfp4Chunk, fullChunks = src.cols / kNvfp4Chunk;
    const size_t rowBytes = static_cast<size_t>(chunks) * kNvfp4ChunkBytes;
    const int scalesPerRow = src.cols / 16;
    for (int r = 0; r < src.rows; ++r) {
        const uint8_t* codes = src.data + static_cast<size_t>(r) * (src.cols / 2);  // element c: byte c/2, low first
        const uint8_t* scales = src.blockScales + static_cast<size_t>(r) * scalesPerRow;
        uint8_t* dst = out + static_cast<size_t>(r) * rowBytes;
        for (int c = 0; c < fullChunks; ++c) {
            repackChunkFull(codes + static_cast<size_t>(c) * 64, scales + static_cast<size_t>(c) * 8,
                            dst + static_cast<size_t>(c) * kNvfp4ChunkBytes);
        }
        for (int c = fullChunks; c < chunks; ++c) {
            repackChunkScalar(codes, scales, src.cols, c, dst + static_cast<size_t>(c) * kNvfp4ChunkBytes);
        }
    }
}

void decodeRow(const CpuLinear& w, int r, float* out) {
    const uint8_t* row = w.row(r);
    switch (w.format) {
        case WeightFormat::BF16: {
            const uint16_t* v = reinterpret_cast<const uint16_t*>(row);
            for (int k = 0; k < w.kPad; ++k) out[k] = bf16ToFloat(v[k]);
            return;
        }
        case WeightFormat::FP8:
            for (int k = 0; k < w.kPad; ++k) out[k] = w.table[row[k]];
            return;
        case WeightFormat::NVFP4: {
            for (int c = 0; c < w.kPad / kNvfp4Chunk; ++c) {
                const uint8_t* nib = row + static_cast<size_t>(c) * kNvfp4ChunkBytes;
                float* o = out + c * kNvfp4Chunk;
                for (int j = 0; j < 64; ++j) {
                    o[j] = e2m1ToFloat(nib[j] & 0x0f) * w.table[nib[64 + j / 16]];
                    o[j + 64] = e2m1ToFloat(nib[j] >> 4) * w.table[nib[68 + j / 16]];
                }
            }
            return;
        }
    }
}

void decodeRowExact(const CpuLinear& w, int r, float* out) {
    decodeRow(w, r, out);
    if (w.rowScale.empty()) return;
    const float s = w.rowScale[r];
    for (int k = 0; k < w.kPad; ++k) out[k] *= s;
}

}  // namespace ms4::cpu
