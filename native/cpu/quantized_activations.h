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

// ---- lane layouts of the AVX-512 VNNI kernels (nvfp4_vnni_impl.h) ----
// The kernels' integer dot products leave each 128-element chunk in 16 32-bit lanes of 8 elements of one block:
// lane d = 4L + 2m (even) sums elements 16L + 8m .. 16L + 8m + 7 (block L), lane d = 4L + 1 + 2m (odd) elements
// 64 + 16L + 8m .. + 7 (block 4 + L). The activations of a chunk are stored in the order the kernels' weight vectors
// hold the elements: q{8,16}LaneElement(p) is the chunk element at position p.
inline constexpr int vnniLaneBlock(int d) { return (d & 1) ? 4 + d / 4 : d / 4; }
// int8, "q8 lanes" (q8LaneRowBytes(kPad) bytes), per chunk c:
//   int8    q[128]       at 128·c: two vectors of 64 bytes; byte 4d + i of vector 0 is element 4d + i (even d) or
//                        64 + 4d + i (odd d) — the low or high nibbles of the weight bytes 4d..4d+3 — and of
//                        vector 1 element 4(d + 1) + i (even d) or 64 + 4(d − 1) + i (odd d), the neighbouring
//                        dword's
//   float   s[16]        at kPad + 64·c bytes: lane d's block scale
//   int32   negBias[16]  after all scales: lane d: −12 · Σ q over its 8 elements (the start of the lane's vpdpbusd
//                        sum, which removes the +12 bias of the u8 weight codes)
inline constexpr int q8LaneElement(int p) {
    return (p & 64) == 0 ? (((p >> 2) & 1) ? 64 + (p & 63) : (p & 63))
                         : (((p >> 2) & 1) ? 64 + (p & 63) - 4 : (p & 63) + 4);
}
inline size_t q8LaneRowBytes(int kPad) { return static_cast<size_t>(kPad) * 2; }
inline const float* q8LaneScales(const uint8_t* row, int kPad) { return reinterpret_cast<const float*>(row + kPad); }
inline const int32_t* q8LaneNegBias(const uint8_t* row, int kPad) {
    return reinterpret_cast<const int32_t*>(row + kPad + static_cast<size_t>(kPad / 8) * 4);
}
void quantizeQ8LaneRow(const float* x, int kPad, uint8_t* out);
// int16, "q16 lanes" (q16LaneRowBytes(kPad) bytes), per chunk c:
//   int16   q[128]       at 128·c: four vectors j of 32 words; word k (in dword d = k / 2) holds element
//                        2k' + (j & 1) (even d) or 64 + 2k' + (j & 1) (odd d), with k' = k for j < 2 and k' = k of
//                        the neighbouring dword (k ^ 2) for j >= 2 — the nibbles of the weight words the kernel
//                        expands with per-word shifts
//   float   s[16]        at 2·kPad + 64·c bytes: lane d's block scale
inline constexpr int q16LaneElement(int p) {
    return (((p >> 1) & 1) ? 64 : 0) + 2 * ((p & 31) ^ ((p & 64) ? 2 : 0)) + ((p >> 5) & 1);
}
inline size_t q16LaneRowBytes(int kPad) { return static_cast<size_t>(kPad) * 2 + static_cast<size_t>(kPad / 8) * 4; }
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
