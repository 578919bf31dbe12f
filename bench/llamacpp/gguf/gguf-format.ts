/**
 * GGUF version 3, the file format llama.cpp loads, as far as this converter writes and reads it:
 *
 * - header: magic "GGUF", u32 version (3), u64 tensor count, u64 metadata count;
 * - metadata: key (u64 length + UTF-8 bytes), u32 value type, value (arrays: u32 element type, u64 count, elements);
 * - tensor infos: name, u32 dimension count, u64 sizes (ne[0] is the contiguous dimension, so a row-major
 *   [out, in] matrix is ne = [in, out]), u32 ggml type, u64 offset into the data section;
 * - the data section, starting at the next multiple of `general.alignment` (32 when absent); every tensor
 *   offset is a multiple of it too. Everything is little-endian.
 */

export const GGUF_MAGIC = "GGUF";
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf_type). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** A metadata value as this writer stores it; arrays hold one element type. */
export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "i32[]"; value: ArrayLike<number> }
  | { type: "f32[]"; value: ArrayLike<number> };

/** The ggml tensor types this converter writes (ggml_type numbers). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, BF16: 30 } as const;
export type GgmlTypeId = (typeof GgmlType)[keyof typeof GgmlType];

/** Q4_0: blocks of 32 values along ne[0], each an fp16 scale and 16 bytes of 4-bit codes. */
export const Q4_0_BLOCK_VALUES = 32;
export const Q4_0_BLOCK_BYTES = 18;

export function ggmlTypeName(type: number): string {
  const entry = Object.entries(GgmlType).find(([, id]) => id === type);
  return entry ? entry[0] : `type ${type}`;
}

/** Bytes of a tensor of `type` with sizes `ne` (ne[0] contiguous). */
export function ggmlTensorBytes(type: GgmlTypeId, ne: readonly number[]): number {
  const count = ne.reduce((a, b) => a * b, 1);
  switch (type) {
    case GgmlType.F32:
      return count * 4;
    case GgmlType.F16:
    case GgmlType.BF16:
      return count * 2;
    case GgmlType.Q4_0: {
      const rowLength = ne[0] ?? 0;
      if (rowLength % Q4_0_BLOCK_VALUES !== 0) {
        throw new RangeError(`Q4_0 needs ne[0] to be a multiple of ${Q4_0_BLOCK_VALUES}, got ${rowLength}`);
      }
      return (count / Q4_0_BLOCK_VALUES) * Q4_0_BLOCK_BYTES;
    }
  }
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
