// Quantized activations for NVFP4 weights (docs/cpu-backend.md#nvfp4-activations): each token is quantized once per
// 16-block (the NVFP4 block size), so a dot product with a weight block is an exact integer sum followed by one fp32
// multiply by (weight block scale · activation block scale). A token's quantization depends only on that token,
// never on the batch; the quantized values are the same on every kernel path (scalar code), only their layout
// in memory is the path's own (ActivationLayout). Every row size below is a multiple of 64 bytes (kPad a multiple
// of 128), so rows in one 64-byte aligned buffer stay aligned.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ms4::cpu {

// "f32": fp32 activations × exactly dequantized weights (the exact oracle path).
// "int16": per-16-block int16 (|q| <= 32767; rounding error <= 1.5e-5 of the block's absmax), sums exact in int32.
// "int8": per-16-block int8 (|q| <= 127; error <= 3.9e-3 of the block's absmax), sums exact in int16/int32.
enum class Nvfp4Activations { F32, Int16, Int8 };

const char* nvfp4ActivationsName(Nvfp4Activations a);

// Block b of a 128-element chunk has its scale (and, for int8, its bias) at slot 8·chunk + kQ8Pos[b]: the order in
// which the AVX2 kernels' horizontal adds produce the 8 block sums.
constexpr int kQ8Pos[8] = {0, 4, 1, 5, 2, 6, 3, 7};

// ---- int8 row of a weight with padded width kPad (q8RowBytes(kPad) bytes) ----
//   int8    q[kPad]         q = round(x / s_b), s_b = absmax of the 16-block / 127, |q| <= 127
//   float   s[kPad / 16]    scales, slot order above
//   int32   bias[kPad / 16] same order: 12 · Σ q over the block (removes the +12 bias of the AVX2 kernel's u8 codes)
// A block holding a NaN or infinity gets s = NaN and q = 0, so the outputs it touches become NaN.
inline size_t q8RowBytes(int kPad) { return static_cast<size_t>(kPad) + static_cast<size_t>(kPad / 16) * 8; }
inline const int8_t* q8Values(const uint8_t* row) { return reinterpret_cast<const int8_t*>(row); }
inline const float* q8Scales(const uint8_t* row, int kPad) { return reinterpret_cast<const float*>(row + kPad); }
inline const int32_t* q8Bias(const uint8_t* row, int kPad) {
    return reinterpret_cast<const int32_t*>(row + kPad + static_cast<size_t>(kPad / 16) * 4);
}
void quantizeQ8Row(const float* x, int kPad, uint8_t* out);

// ---- int16 row (q16RowBytes(kPad) bytes) ----
//   int16   q[kPad]         q = round(x / s_b), s_b = absmax of the 16-block / 32767; element e of a chunk is stored
//                           at 128·chunk + q16Pos(e % 128): each 32 elements go as their even elements (e0 e2 … e30),
//                           then their odd ones (e1 e3 … e31) — the 16-bit lanes of 32 weight bytes masked with
//                           0x00ff and shifted right by 8
//   float   s[kPad / 16]    scales, slot order above; NaN / infinity as for int8
//   int32   bias[kPad / 16] same order: 12 · Σ q over the block (removes the +12 bias of the AVX2 kernel's codes)
inline constexpr int q16Pos(int e) { return (e & ~31) | ((e & 1) << 4) | ((e & 16) >> 1) | ((e & 15) >> 1); }
inline size_t q16RowBytes(int kPad) { return static_cast<size_t>(kPad) * 2 + static_cast<size_t>(kPad / 16) * 8; }
inline const int16_t* q16Values(const uint8_t* row) { return reinterpret_cast<const int16_t*>(row); }
inline const float* q16Scales(const uint8_t* row, int kPad) {
    return reinterpret_cast<const float*>(row + static_cast<size_t>(kPad) * 2);
}
inline const int32_t* q16Bias(const uint8_t* row, int kPad) {
    return reinterpret_cast<const int32_t*>(row + static_cast<size_t>(kPad) * 2 + static_cast<size_t>(kPad / 16) * 4);
}
void quantizeQ16Row(const float* x, int kPad, uint8_t* out);

// ---- lane layouts of the AVX-512 VNNI kernels (one 512-bit dot-product instruction per 64 / 32 elements) ----
// int8, "q8 lanes" (q8LaneRowBytes(kPad) bytes):
//   int8    q[kPad]         natural order, quantized as q8 above
//   float   s[kPad / 4]     lane i (elements 4i..4i+3, what one vpdpbusd lane sums) holds its block's scale
//   int32   bias[kPad / 4]  lane i: 12 · Σ q over its 4 elements
inline size_t q8LaneRowBytes(int kPad) { return static_cast<size_t>(kPad) + static_cast<size_t>(kPad / 4) * 8; }
inline const float* q8LaneScales(const uint8_t* row, int kPad) { return reinterpret_cast<const float*>(row + kPad); }
inline const int32_t* q8LaneBias(const uint8_t* row, int kPad) {
    return reinterpret_cast<const int32_t*>(row + kPad + static_cast<size_t>(kPad / 4) * 4);
}
void quantizeQ8LaneRow(const float* x, int kPad, uint8_t* out);
// int16, "q16 lanes" (q16LaneRowBytes(kPad) bytes):
//   int16   q[kPad]         natural order, quantized as q16 above
//   float   s[kPad / 2]     lane i (elements 2i, 2i+1, what one vpdpwssd lane sums) holds its block's scale
inline size_t q16LaneRowBytes(int kPad) { return static_cast<size_t>(kPad) * 4; }
inline const float* q16LaneScales(const uint8_t* row, int kPad) {
    return reinterpret_cast<const float*>(row + static_cast<size_t>(kPad) * 2);
}
void quantizeQ16LaneRow(const float* x, int kPad, uint8_t* out);

// How one kernel path wants a token's activations: row size and quantizer (kPad a multiple of 128; out 4-byte
// aligned). Each path's quantized kernels read exactly one of the layouts above.
struct ActivationLayout {
    size_t (*rowBytes)(int kPad);
    void (*quantize)(const float* x, int kPad, uint8_t* out);
};
extern const ActivationLayout kQ8Layout, kQ16Layout, kQ8LaneLayout, kQ16LaneLayout;

}  // namespace ms4::cpu
