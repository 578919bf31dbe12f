// The CUDA backend's layouts of prepared linear weights and of split activations, in the order of the tensor-core
// fragments of `mma.sync.m16n8k16` (docs/cuda-backend.md#weight-layouts). Shared by the repack kernels, the GEMM
// kernels and the host tests, which rebuild the matrices from these layouts by the PTX fragment rules and compare
// with the reference ops.
//
// A weight W [rows, cols] is cut into row tiles of 16 (the MMA's M) and k-chunks of 64 (four MMA k-steps of 16; one
// k-step is exactly one NVFP4 block). For each (row tile, chunk) each of the warp's 32 lanes owns one record holding,
// for the chunk's four k-steps, the 8 weights its A fragment needs per step: rows g and g + 8 (g = lane / 4) by
// columns 2t, 2t + 1, 2t + 8, 2t + 9 (t = lane % 4) of the step. So a warp streams a weight tile with one 16-byte (or
// wider) coalesced load per lane, and the data is already in registers where the MMA wants it.
//   NVFP4: 16 bytes per lane record (one 32-bit word per k-step, 8 E2M1 codes), plus a separate scale array of 64
//          bytes per (row tile, chunk): for g = 0..7, 8 FP8 bytes (rows g, g + 8 of block 0, then of blocks 1, 2, 3);
//   FP8:   32 bytes per lane record (8 codes per k-step, two per register);
//   BF16:  64 bytes per lane record (four bf16x2 registers per k-step).
// Rows are padded to 16 and columns to 64 with zeros.
#pragma once
#include <cstddef>
#include <cstdint>

#include "backend/weights.h"
#include "bits.h"
#include "hd.h"

namespace ms4::cuda {

constexpr int kRowTile = 16;       // MMA M: output rows per tile
constexpr int kStepK = 16;         // MMA K: one k-step (and one NVFP4 block)
constexpr int kChunkK = 64;        // k per lane record
constexpr int kStepsPerChunk = 4;  // k-steps per lane record
constexpr int kWarp = 32;

MS4_HD int ceilDiv(int a, int b) { return (a + b - 1) / b; }

// Lane record bytes per (row tile, chunk).
MS4_HD int laneRecordBytes(WeightFormat f) { return f == WeightFormat::NVFP4 ? 16 : f == WeightFormat::FP8 ? 32 : 64; }

struct LinearGeometry {
    int rows = 0, cols = 0;
    int rowTiles = 0;       // ceil(rows / 16)
    int chunks = 0;         // ceil(cols / 64)
    size_t codeBytes = 0;   // the lane records
    size_t scaleBytes = 0;  // NVFP4 block scales (0 otherwise)
    size_t bytes() const { return codeBytes + scaleBytes; }
};

inline LinearGeometry linearGeometry(WeightFormat f, int rows, int cols) {
    LinearGeometry g;
    g.rows = rows;
    g.cols = cols;
    g.rowTiles = ceilDiv(rows, kRowTile);
    g.chunks = ceilDiv(cols, kChunkK);
    const size_t records = static_cast<size_t>(g.rowTiles) * g.chunks;
    g.codeBytes = records * kWarp * laneRecordBytes(f);
    g.scaleBytes = f == WeightFormat::NVFP4 ? records * 64 : 0;
    return g;
}

// Where element (r, k) of W sits in the fragments: row tile, chunk, k-step, lane, A register (0..3) and half.
// From the PTX rules for the A fragment of m16n8k16 (16-bit types): register i holds row g + 8·(i & 1) and columns
// 2t + 8·(i >> 1) (low half) and + 1 (high half).
struct FragmentPos {
    int rowTile, chunk, step, lane, reg, half;
};

MS4_HD FragmentPos fragmentPos(int r, int k) {
    const int ri = r % kRowTile, kk = k % kStepK;
    FragmentPos p;
    p.rowTile = r / kRowTile;
    p.chunk = k / kChunkK;
    p.step = (k % kChunkK) / kStepK;
    p.lane = (ri % 8) * 4 + (kk % 8) / 2;
    p.reg = ri / 8 + 2 * (kk / 8);
    p.half = kk % 2;
    return p;
}

// Index of a lane record: records are ordered row tile major, then chunk, then lane.
MS4_HD size_t laneRecord(int rowTile, int chunk, int lane, int chunks) {
    return (static_cast<size_t>(rowTile) * chunks + chunk) * kWarp + lane;
}

// NVFP4: the nibble of the k-step's 32-bit word (nibble q = bits 4q..4q+3) holding register `reg`'s low (half 0) or
// high (half 1) weight; e2m1PairToHalf2 (bits.h) reads them back.
MS4_HD int nvfp4Nibble(int reg, int half) { return half == 0 ? 3 - reg : 7 - reg; }

// NVFP4: byte offset of the block scale of rows g / g + 8 (rowHi 0 / 1) of k-step `step` in the scale array.
MS4_HD size_t nvfp4ScaleOffset(int rowTile, int chunk, int g, int step, int rowHi, int chunks) {
    return (static_cast<size_t>(rowTile) * chunks + chunk) * 64 + g * 8 + step * 2 + rowHi;
}

// FP8: byte of register `reg`, half `half` of k-step `step` in the lane record.
MS4_HD int fp8RecordByte(int step, int reg, int half) { return step * 8 + reg * 2 + half; }

// BF16: uint16 element of register `reg`, half `half` of k-step `step` in the lane record.
MS4_HD int bf16RecordElement(int step, int reg, int half) { return step * 8 + reg * 2 + half; }

// ---- repacking (the kernels run one thread per output word; the host tests run the same functions) ----

// NVFP4 checkpoint codes: element c of row r is nibble (c % 2) of byte r·cols/2 + c/2 (low nibble first).
MS4_HD uint32_t nvfp4SourceCode(const uint8_t* codes, int rows, int cols, int r, int c) {
    if (r >= rows || c >= cols) return 0;
    const uint8_t b = codes[static_cast<size_t>(r) * (cols / 2) + c / 2];
    return (c % 2 == 0) ? (b & 0x0fu) : (b >> 4);
}

// The 32-bit word of k-step `step` of lane record (rowTile, chunk, lane).
MS4_HD uint32_t packNvfp4Word(const uint8_t* codes, int rows, int cols, int rowTile, int chunk, int lane, int step) {
    const int g = lane / 4, t = lane % 4;
    uint32_t word = 0;
    for (int reg = 0; reg < 4; ++reg) {
        const int r = rowTile * kRowTile + g + 8 * (reg & 1);
        for (int half = 0; half < 2; ++half) {
            const int k = chunk * kChunkK + step * kStepK + 2 * t + 8 * (reg >> 1) + half;
            word |= nvfp4SourceCode(codes, rows, cols, r, k) << (4 * nvfp4Nibble(reg, half));
        }
    }
    return word;
}

// Byte `i` (0..63) of the scale block of (rowTile, chunk): g = i / 8, step = (i % 8) / 2, rowHi = i % 2.
MS4_HD uint8_t packNvfp4ScaleByte(const uint8_t* scales, int rows, int cols, int rowTile, int chunk, int i) {
    const int g = i / 8, step = (i % 8) / 2, rowHi = i % 2;
    const int r = rowTile * kRowTile + g + 8 * rowHi, block = chunk * kStepsPerChunk + step;
    if (r >= rows || block >= cols / 16) return 0;
    return scales[static_cast<size_t>(r) * (cols / 16) + block];
}

// FP8 lane record byte `i` (0..31) of (rowTile, chunk, lane).
MS4_HD uint8_t packFp8Byte(const uint8_t* codes, int rows, int cols, int rowTile, int chunk, int lane, int i) {
    const int step = i / 8, reg = (i % 8) / 2, half = i % 2, g = lane / 4, t = lane % 4;
    const int r = rowTile * kRowTile + g + 8 * (reg & 1);
    const int k = chunk * kChunkK + step * kStepK + 2 * t + 8 * (reg >> 1) + half;
    if (r >= rows || k >= cols) return 0;
    return codes[static_cast<size_t>(r) * cols + k];
}

// BF16 lane record element `i` (0..31) of (rowTile, chunk, lane).
MS4_HD uint16_t packBf16Element(const uint16_t* values, int rows, int cols, int rowTile, int chunk, int lane, int i) {
    const int step = i / 8, reg = (i % 8) / 2, half = i % 2, g = lane / 4, t = lane % 4;
    const int r = rowTile * kRowTile + g + 8 * (reg & 1);
    const int k = chunk * kChunkK + step * kStepK + 2 * t + 8 * (reg >> 1) + half;
    if (r >= rows || k >= cols) return 0;
    return values[static_cast<size_t>(r) * cols + k];
}

// ---- single elements (embedding rows, wkv_b): the reference's arithmetic, exactly ----

// E2M1 code (bit 3 = sign) and FP8-E4M3 byte as exact floats, through the half bit moves above.
MS4_HD float e2m1Value(uint32_t code) {
    return halfToFloatExact(static_cast<uint16_t>(e2m1PairToHalf2(code << 12, 0))) * 16384.0f;
}
MS4_HD float fp8Value(uint32_t byte) { return halfToFloatExact(static_cast<uint16_t>(fp8PairToHalf2(byte))) * 256.0f; }

// Element (r, k) of a prepared NVFP4 weight: e2m1 · (fp8(scale) / globalScale), in that order (docs/model.md#nvfp4).
MS4_HD float nvfp4Element(const uint32_t* codeWords, const uint8_t* scales, int chunks, float globalScale, int r,
                          int k) {
    const FragmentPos p = fragmentPos(r, k);
    const uint32_t word = codeWords[laneRecord(p.rowTile, p.chunk, p.lane, chunks) * 4 + p.step];
    const uint32_t code = (word >> (4 * nvfp4Nibble(p.reg, p.half))) & 0xfu;
    const uint8_t scale =
        scales[nvfp4ScaleOffset(p.rowTile, p.chunk, (r % kRowTile) % 8, p.step, (r % kRowTile) / 8, chunks)];
    return e2m1Value(code) * (fp8Value(scale) / globalScale);
}

// Element (r, k) of a prepared FP8 weight: fp8 · scale.
MS4_HD float fp8Element(const uint8_t* records, int chunks, float scale, int r, int k) {
    const FragmentPos p = fragmentPos(r, k);
    return fp8Value(
               records[laneRecord(p.rowTile, p.chunk, p.lane, chunks) * 32 + fp8RecordByte(p.step, p.reg, p.half)]) *
           scale;
}

// Element (r, k) of a prepared BF16 weight.
MS4_HD float bf16Element(const uint16_t* records, int chunks, int r, int k) {
    const FragmentPos p = fragmentPos(r, k);
    return bf16ToFloatExact(
        records[laneRecord(p.rowTile, p.chunk, p.lane, chunks) * 32 + bf16RecordElement(p.step, p.reg, p.half)]);
}

// ---- split activations (the B operand) ----
//
// The tensor cores multiply 16-bit numbers; activations are float32. Each activation is written as a sum of 16-bit
// terms that together carry (nearly) all of its bits, and the terms become separate columns of B, so one MMA
// multiplies the weights by every term of several tokens at once and a token's result is the sum of its columns:
//   F16x2  (NVFP4 and FP8 weights, decoded to exact halves): x · 2^e = hi + lo, two halves, with a per-token power of
//          two 2^e that brings the row's largest magnitude into [2^14, 2^15); ≈ 22 bits of each activation kept;
//   BF16x3 (BF16 weights): x = hi + mid + lo, three bf16 (and a zero fourth column); ≈ 24 bits kept.
// Column n of an n8 tile is term n % terms of token n / terms of the tile. In memory, for each tile of tokens and
// chunk, lane l owns 8 words: for each of the four k-steps its two B registers (k = 2t, 2t + 1 and 2t + 8, 2t + 9 of
// the step, column g, with g = l / 4, t = l % 4, lower k in the low half).
enum class ActSplit : int { F16x2 = 0, BF16x3 = 1 };

MS4_HD ActSplit splitFor(WeightFormat f) { return f == WeightFormat::BF16 ? ActSplit::BF16x3 : ActSplit::F16x2; }
MS4_HD int splitColumns(ActSplit s) { return s == ActSplit::F16x2 ? 2 : 4; }   // columns per token
MS4_HD int tokensPerTile(ActSplit s) { return s == ActSplit::F16x2 ? 4 : 2; }  // tokens per n8 tile

// Word index of B register `reg` of k-step `step` of lane `lane` in (token tile, chunk).
MS4_HD size_t splitWord(int tile, int chunk, int lane, int step, int reg, int chunks) {
    return ((static_cast<size_t>(tile) * chunks + chunk) * kWarp + lane) * 8 + step * 2 + reg;
}

// Where activation k of term `term` of token row `row` goes: its word and its half (the low half holds even k).
struct SplitPos {
    size_t word;
    int half;
};

MS4_HD SplitPos splitPos(ActSplit s, int row, int k, int term, int chunks) {
    const int tpt = tokensPerTile(s), column = splitColumns(s) * (row % tpt) + term, kk = k % kStepK;
    SplitPos p;
    p.word = splitWord(row / tpt, k / kChunkK, column * 4 + (kk % 8) / 2, (k % kChunkK) / kStepK, kk / 8, chunks);
    p.half = kk % 2;
    return p;
}

// The epilogue: which token of a block's n8 tile `tile` lane `lane`'s accumulators belong to (the MMA's C fragment has
// c0, c1 at row g, columns 2t, 2t + 1 and c2, c3 at row g + 8, same columns).
//   F16x2:  c0 = hi, c1 = lo of token 4·tile + t (row g; c2, c3 row g + 8);
//   BF16x3: c0, c1 = terms 2(t % 2), 2(t % 2) + 1 of token 2·tile + t / 2: lanes t and t ^ 1 hold one token, the even
//           lane hi and mid, the odd lane lo and the zero term; the token's value is (even's c0 + c1) + (odd's c0 +
//           c1).
MS4_HD int epilogueToken(ActSplit s, int tile, int lane) {
    return s == ActSplit::F16x2 ? 4 * tile + lane % 4 : 2 * tile + (lane % 4) / 2;
}

// F16x2 output value from a lane's hi and lo sums: (hi + lo) · 2^-e of the token · the weight's scale.
MS4_HD float epilogueF16(float hi, float lo, float tokenScale, float weightScale) {
    return (hi + lo) * tokenScale * weightScale;
}
// BF16x3 output value from the even lane's c0 + c1 and the odd lane's c0 + c1.
MS4_HD float epilogueBf16(float evenSum, float oddSum, float weightScale) { return (evenSum + oddSum) * weightScale; }

// The factor a prepared weight's decoded values are multiplied by in the epilogue: NVFP4 decodes to
// e2m1 · fp8 · 2^-7 (so 2^7 / globalScale), FP8 to fp8 · 2^-8 (so 2^8 · scale), BF16 exactly (1).
inline float weightScaleOf(WeightFormat f, float sourceScale) {
    return f == WeightFormat::NVFP4 ? 128.0f / sourceScale : f == WeightFormat::FP8 ? 256.0f * sourceScale : 1.0f;
}

// Bytes of a split buffer for `rows` token rows over `chunks` chunks.
inline size_t splitBytes(ActSplit s, int rows, int chunks) {
    return static_cast<size_t>(ceilDiv(rows, tokensPerTile(s))) * chunks * kWarp * 8 * 4;
}

// 2^e as a float, for e in [-126, 127].
MS4_HD float pow2f(int e) { return bitsFloat(static_cast<uint32_t>(e + 127) << 23); }

// F16x2: the per-token exponent e (x is multiplied by 2^e) for a row whose largest magnitude is `absmax` (finite):
// brings it into [2^14, 2^15), clamped to [-126, 126] so 2^e and 2^-e are normal floats. 0 for an all-zero row.
MS4_HD int f16ScaleExponent(float absmax) {
    if (absmax == 0.0f) return 0;
    const int exponent = static_cast<int>((floatBits(absmax) >> 23) & 0xffu) - 127;  // floor(log2), -127 if subnormal
    const int e = 14 - exponent;
    return e < -126 ? -126 : (e > 126 ? 126 : e);
}

// F16x2 terms of one activation already multiplied by its token's 2^e: hi = half(xs), lo = half(xs - hi); xs - hi is
// exact in float, so hi + lo is xs to within half an ulp of lo (2^-22 of xs, or 2^-25 of the row's largest value).
struct F16Terms {
    uint16_t hi, lo;
};
MS4_HD F16Terms splitF16(float xs) {
    F16Terms t;
    t.hi = floatToHalfRne(xs);
    t.lo = floatToHalfRne(xs - halfToFloatExact(t.hi));
    return t;
}

// BF16x3 terms of one activation: hi = bf16(x), mid = bf16(x - hi), lo = bf16(x - hi - mid), each difference exact.
struct Bf16Terms {
    uint16_t hi, mid, lo;
};
MS4_HD Bf16Terms splitBf16(float x) {
    Bf16Terms t;
    t.hi = floatToBf16Rne(x);
    const float r1 = x - bf16ToFloatExact(t.hi);
    t.mid = floatToBf16Rne(r1);
    t.lo = floatToBf16Rne(r1 - bf16ToFloatExact(t.mid));
    return t;
}

}  // namespace ms4::cuda
