/**
 * bfloat16 <-> float32, bit for bit as torch does it on CPU (c10 `round_to_nearest_even`):
 * round to nearest, ties to even; overflow rounds to ±infinity; every NaN becomes the canonical
 * quiet NaN 0x7FC0 (so NaN stays NaN, but its sign and payload are not kept).
 */

import { float32Bits, float32FromBits } from "./float-bits";

export const BF16_CANONICAL_NAN = 0x7fc0;

function roundBitsToBf16(bits: number): number {
  const isNaNPattern = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
  if (isNaNPattern) return BF16_CANONICAL_NAN;
  const roundingBias = ((bits >>> 16) & 1) + 0x7fff;
  // bits + bias < 2^33: keep it in double arithmetic rather than 32-bit integer ops.
  return Math.floor((bits + roundingBias) / 0x10000) & 0xffff;
}

/** The bf16 bit pattern nearest to `value` (after rounding `value` to float32). */
export function f32ToBf16Bits(value: number): number {
  return roundBitsToBf16(float32Bits(value));
}

export function bf16BitsToF32(bits: number): number {
  return float32FromBits((bits & 0xffff) << 16);
}

/** `value` rounded to the nearest bf16 and returned as a number (like `x.to(bfloat16).float()`). */
export function roundToBf16(value: number): number {
  return bf16BitsToF32(f32ToBf16Bits(value));
}

export function f32ArrayToBf16(values: Float32Array | ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  if (values instanceof Float32Array) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) out[i] = roundBitsToBf16(bits[i]!);
  } else {
    for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]!);
  }
  return out;
}

export function bf16ArrayToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}
