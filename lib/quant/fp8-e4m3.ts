/**
 * FP8 E4M3FN (`torch.float8_e4m3fn`, safetensors `F8_E4M3`): 1 sign bit, 4 exponent bits (bias 7),
 * 3 mantissa bits, no infinities; 0x7F and 0xFF are NaN; the largest finite value is 448 and the
 * smallest subnormal 2^-9.
 *
 * Encoding reproduces torch's float32 -> float8_e4m3fn cast (c10 `fp8e4m3fn_from_fp32_value`):
 * round to nearest, ties to even, and **no saturation**: magnitudes of 480 and above (and
 * infinities) become NaN, and so do magnitudes in (464, 480) because they round up into the NaN
 * encoding; 464 itself is a tie and rounds to 448. Pass `{ saturate: true }` to clamp out-of-range
 * values to ±448 instead (what `__nv_cvt_float_to_fp8(..., __NV_SATFINITE, ...)` does).
 */

import { float32Bits, roundHalfToEven } from "./float-bits";

export const FP8_E4M3_MAX = 448;
/** The canonical NaN byte this module produces (0xFF is NaN too). */
export const FP8_E4M3_NAN = 0x7f;
const LARGEST_FINITE_BYTE = 0x7e;
/** 2^-6: the smallest normal magnitude. */
const SMALLEST_NORMAL = 2 ** -6;
/** Magnitudes at or above this are NaN without saturation (the value 0x7F would have). */
const FIRST_UNREPRESENTABLE = 480;

function decodeByte(byte: number): number {
  const negative = (byte & 0x80) !== 0;
  const exponentField = (byte >> 3) & 0x0f;
  const mantissaField = byte & 0x07;
  if (exponentField === 0x0f && mantissaField === 0x07) return Number.NaN;
  const magnitude =
    exponentField === 0 ? mantissaField * 2 ** -9 : (8 + mantissaField) * 2 ** (exponentField - 10);
  return negative ? -magnitude : magnitude;
}

/** FP8_E4M3_DECODE[byte] is the value of that FP8 byte (NaN for 0x7F/0xFF, -0 for 0x80). */
export const FP8_E4M3_DECODE: Float32Array = (() => {
  const table = new Float32Array(256);
  for (let byte = 0; byte < 256; byte++) table[byte] = decodeByte(byte);
  return table;
})();

export function decodeFp8E4m3(byte: number): number {
  return FP8_E4M3_DECODE[byte & 0xff]!;
}

export interface Fp8EncodeOptions {
  /** Clamp finite overflow and infinities to ±448 instead of producing NaN (default false, like torch). */
  saturate?: boolean;
}

/**
 * Encode `value` (first rounded to float32, as a torch float32 tensor would hold it) to an FP8 E4M3FN byte.
 * NaN encodes as 0x7F (a JS NaN has no observable sign).
 */
export function encodeFp8E4m3(value: number, options?: Fp8EncodeOptions): number {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return FP8_E4M3_NAN;
  const sign = f < 0 || Object.is(f, -0) ? 0x80 : 0;
  const magnitude = Math.abs(f);
  const overflowByte = options?.saturate ? LARGEST_FINITE_BYTE : FP8_E4M3_NAN;
  if (magnitude >= FIRST_UNREPRESENTABLE) return sign | overflowByte;
  if (magnitude < SMALLEST_NORMAL) {
    // Subnormal range: multiples of 2^-9; a result of 8 is the smallest normal 0x08, which fits the layout.
    return sign | roundHalfToEven(magnitude * 512);
  }
  let exponent = ((float32Bits(magnitude) >>> 23) & 0xff) - 127;
  let significand = roundHalfToEven(magnitude * 2 ** (3 - exponent)); // in [8, 16]
  if (significand === 16) {
    exponent += 1;
    significand = 8;
  }
  const byte = ((exponent + 7) << 3) | (significand - 8);
  return sign | (byte > LARGEST_FINITE_BYTE ? overflowByte : byte);
}

export function decodeFp8E4m3Array(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = FP8_E4M3_DECODE[bytes[i]!]!;
  return out;
}

export function encodeFp8E4m3Array(values: ArrayLike<number>, options?: Fp8EncodeOptions): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encodeFp8E4m3(values[i]!, options);
  return out;
}
