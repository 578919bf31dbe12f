// NVFP4 repacking (checkpoint → 128-weight chunks, KERNEL-NOTES §3.1) and exact row dequantization of every
// prepared format.
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cpu/cpu_backend.h"
#include "cpu/formats.h"

namespace ms4::cpu {

void repackNvfp4(const LinearSource& src, int kPad, uint8_t* out) {
    if (src.cols % 16 != 0) throw std::runtime_error("NVFP4 weight: cols must be a multiple of 16");
    const int chunks = kPad / kNvfp4Chunk;
    const size_t rowBytes = static_cast<size_t>(chunks) * kNvfp4ChunkBytes;
    const int scalesPerRow = src.cols / 16;
    for (int r = 0; r < src.rows; ++r) {
        const uint8_t* codes = src.data + static_cast<size_t>(r) * (src.cols / 2);  // element c: byte c/2, low first
        const uint8_t* scales = src.blockScales + static_cast<size_t>(r) * scalesPerRow;
        uint8_t* dst = out + static_cast<size_t>(r) * rowBytes;
        std::memset(dst, 0, rowBytes);
        for (int c = 0; c < chunks; ++c) {
            uint8_t* nib = dst + static_cast<size_t>(c) * kNvfp4ChunkBytes;
            const int base = c * kNvfp4Chunk;
            for (int j = 0; j < 64; ++j) {
                uint8_t byte = 0;
                for (int half = 0; half < 2; ++half) {
                    const int k = base + j + 64 * half;
                    if (k >= src.cols) continue;
                    const uint8_t code = (k % 2 == 0) ? (codes[k / 2] & 0x0f) : (codes[k / 2] >> 4);
                    byte |= static_cast<uint8_t>(code << (4 * half));
                }
                nib[j] = byte;
            }
            for (int b = 0; b < 8; ++b) {
                const int block = base / 16 + b;
                nib[64 + b] = block < scalesPerRow ? scales[block] : 0;
            }
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

}  // namespace ms4::cpu
