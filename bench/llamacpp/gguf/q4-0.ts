/**
 * ggml's Q4_0 format: a row is cut into blocks of 32 values; a block stores an fp16 scale d and 16 bytes of
 * 4-bit codes q (value j in the low nibble of byte j, value j + 16 in the high nibble), decoding to (q − 8)·d.
 * The scale is the block's largest-magnitude value divided by −8, so that value is code 0 exactly and the
 * others round to the nearest step: |error| ≤ |d| / 2 = max|x| / 16, except on the side opposite the extreme,
 * where codes reach only 7 steps and a value beyond 7.5 steps is off by up to one step.
 */
import { Q4_0_BLOCK_BYTES, Q4_0_BLOCK_VALUES } from "./gguf-format";

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half-precision bits of `value`, rounded to nearest even (overflow → ±Inf, NaN stays NaN). */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 112; // rebias 127 → 15
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half: units of 2^-24.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is correct rounding
  return sign | half;
}

/** The value of IEEE half-precision bits. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Q4_0 blocks of `values` (row-major rows whose length is a multiple of 32, so blocks never straddle rows),
 * written into `out` at `outOffset` (`values.length / 32 · 18` bytes).
 */
export function quantizeQ4_0(
  values: Float32Array,
  out: Uint8Array = new Uint8Array((values.length / Q4_0_BLOCK_VALUES) * Q4_0_BLOCK_BYTES),
  outOffset = 0,
): Uint8Array {
  if (values.length % Q4_0_BLOCK_VALUES !== 0) {
    throw new RangeError(`Q4_0 needs a multiple of ${Q4_0_BLOCK_VALUES} values, got ${values.length}`);
  }
  const half = Q4_0_BLOCK_VALUES / 2;
  let o = outOffset;
  for (let begin = 0; begin < values.length; begin += Q4_0_BLOCK_VALUES) {
    let extreme = 0;
    let magnitude = 0;
    for (let j = 0; j < Q4_0_BLOCK_VALUES; j++) {
      const v = values[begin + j]!;
      const a = Math.abs(v);
      if (a > magnitude) {
        magnitude = a;
        extreme = v;
      }
    }
    const scaleBits = f32ToF16Bits(extreme / -8);
    const scale = f16BitsToF32(scaleBits);
    const inverse = scale === 0 ? 0 : 1 / scale;
    out[o] = scaleBits & 0xff;
    out[o + 1] = scaleBits >>> 8;
    for (let j = 0; j < half; j++) {
      const low = Math.min(15, Math.max(0, Math.trunc(values[begin + j]! * inverse + 8.5)));
      const high = Math.min(15, Math.max(0, Math.trunc(values[begin + half + j]! * inverse + 8.5)));
      out[o + 2 + j] = low | (high << 4);
    }
    o += Q4_0_BLOCK_BYTES;
  }
  return out;
}

/** The values of Q4_0 blocks: `count` values from `bytes` at `offset`. */
export function dequantizeQ4_0(bytes: Uint8Array, count: number, offset = 0): Float32Array {
  if (count % Q4_0_BLOCK_VALUES !== 0) {
    throw new RangeError(`Q4_0 holds multiples of ${Q4_0_BLOCK_VALUES} values, asked for ${count}`);
  }
  const out = new Float32Array(count);
  const half = Q4_0_BLOCK_VALUES / 2;
  let o = offset;
  for (let begin = 0; begin < count; begin += Q4_0_BLOCK_VALUES) {
    const scale = f16BitsToF32(bytes[o]! | (bytes[o + 1]! << 8));
    for (let j = 0; j < half; j++) {
      const byte = bytes[o + 2 + j]!;
      out[begin + j] = ((byte & 0x0f) - 8) * scale;
      out[begin + half + j] = ((byte >>> 4) - 8) * scale;
    }
    o += Q4_0_BLOCK_BYTES;
  }
  return out;
}
