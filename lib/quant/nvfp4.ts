/**
 * NVFP4 as compressed-tensors stores it (format `nvfp4-pack-quantized`, docs/model.md#nvfp4):
 * - `weight_packed` uint8 [rows, cols/2]: E2M1 codes, two per byte, the even column in the low nibble;
 * - `weight_scale` float8_e4m3fn [rows, cols/16]: one block scale per 16 consecutive columns;
 * - `weight_global_scale` float32: a divisor, W = e2m1 × fp8(scale) / global_scale.
 *
 * Quantisation follows compressed-tensors 0.14 (the release current when the Mistral Small 4 NVFP4
 * checkpoint was made): `generate_gparam`, `calculate_qparams`, `_quantize` and `cast_to_fp4`, with
 * the float32 rounding of each torch operation reproduced through Math.fround.
 */

import { InvalidArgumentError } from "../errors";
import { roundToBf16 } from "./bf16";
import { encodeFp8E4m3, FP8_E4M3_DECODE, FP8_E4M3_MAX } from "./fp8-e4m3";

export const NVFP4_GROUP_SIZE = 16;
export const E2M1_MAX = 6;
/** Magnitudes of E2M1 codes 0..7; bit 3 of a code is the sign. */
export const E2M1_MAGNITUDES: readonly number[] = Object.freeze([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
/** compressed-tensors replaces a block scale that is 0 after the FP8 cast by this value (`_get_dtype_eps`). */
export const NVFP4_ZERO_BLOCK_SCALE = 0.125;

const E2M1_DECODE = new Float32Array(16);
for (let code = 0; code < 16; code++) {
  const magnitude = E2M1_MAGNITUDES[code & 7]!;
  E2M1_DECODE[code] = code & 8 ? -magnitude : magnitude;
}

/** The value of a 4-bit E2M1 code (code 8 is -0). */
export function e2m1Decode(code: number): number {
  return E2M1_DECODE[code & 0x0f]!;
}

/**
 * The E2M1 code for `value` as compressed-tensors rounds it: clamp to ±6, then round to the nearest
 * grid value with the thresholds of `cast_to_fp4` (0.25→0, 0.75→1, 1.25→1, 1.75→2, 2.5→2, 3.5→4, 5→4:
 * every tie goes to the even code). The sign bit is set exactly when `value < 0`, so a small negative
 * value encodes as -0 (code 8) while -0 itself encodes as code 0 (compressed-tensors adds its zero
 * point, +0, before rounding, which turns -0 into +0).
 */
export function e2m1Encode(value: number): number {
  if (Number.isNaN(value)) throw new InvalidArgumentError("value", "a number that is not NaN", value);
  const sign = value < 0 ? 8 : 0;
  const x = Math.min(Math.abs(value), E2M1_MAX);
  let index: number;
  if (x <= 0.25) index = 0;
  else if (x < 0.75) index = 1;
  else if (x <= 1.25) index = 2;
  else if (x < 1.75) index = 3;
  else if (x <= 2.5) index = 4;
  else if (x < 3.5) index = 5;
  else if (x <= 5) index = 6;
  else index = 7;
  return sign | index;
}

export interface Nvfp4Tensor {
  /** [rows, cols/2] E2M1 codes, element 2j in the low nibble of byte j and 2j+1 in the high nibble. */
  packed: Uint8Array;
  /** [rows, cols/16] FP8 E4M3FN bytes. */
  blockScales: Uint8Array;
  /** The divisor stored as `weight_global_scale` (a float32 value). */
  globalScale: number;
}

export interface QuantizeNvfp4Options {
  /**
   * Use this global scale instead of 448·6/amax(w), e.g. one shared by fused projections (llm-compressor
   * ties w1/w3 and wq_a/wkv_a). Must be a positive finite number; it is rounded to float32.
   */
  globalScale?: number;
  /**
   * The dtype the weights had in torch. "bfloat16" (the real checkpoint's case) rounds the weights to bf16
   * and reproduces the bf16 rounding of `448*6/amax` and `amax_block/6` that torch applies to bf16 tensors.
   * Default "float32".
   */
  weightDtype?: "float32" | "bfloat16";
}

function checkShape(rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || rows < 0) {
    throw new InvalidArgumentError("rows", "a non-negative integer", rows);
  }
  if (!Number.isSafeInteger(cols) || cols < 0 || cols % NVFP4_GROUP_SIZE !== 0) {
    throw new InvalidArgumentError("cols", `a non-negative multiple of ${NVFP4_GROUP_SIZE}`, cols);
  }
}

function absMax(values: Float32Array, begin: number, end: number): number {
  let max = 0;
  for (let i = begin; i < end; i++) {
    const magnitude = Math.abs(values[i]!);
    if (magnitude > max) max = magnitude;
  }
  return max;
}

function resolveGlobalScale(weights: Float32Array, options: QuantizeNvfp4Options | undefined): number {
  const toDtype = options?.weightDtype === "bfloat16" ? roundToBf16 : Math.fround;
  if (options?.globalScale !== undefined) {
    const given = Math.fround(options.globalScale);
    if (!Number.isFinite(given) || given <= 0) {
      throw new InvalidArgumentError("options.globalScale", "a positive finite float32", options.globalScale);
    }
    return given;
  }
  const amax = absMax(weights, 0, weights.length);
  // compressed-tensors divides by zero here and produces NaN scales; an all-zero tensor gets 1 instead.
  if (amax === 0) return 1;
  const globalScale = Math.fround(toDtype((FP8_E4M3_MAX * E2M1_MAX) / amax));
  if (!Number.isFinite(globalScale)) {
    throw new InvalidArgumentError(
      "w",
      "weights whose largest magnitude is at least 2688 / FLT_MAX (or options.globalScale)",
      amax,
    );
  }
  return globalScale;
}

/** Quantise a row-major float32 matrix [rows, cols] to NVFP4 exactly as compressed-tensors does. */
export function quantizeNvfp4(
  w: Float32Array,
  rows: number,
  cols: number,
  options?: QuantizeNvfp4Options,
): Nvfp4Tensor {
  checkShape(rows, cols);
  if (w.length !== rows * cols) {
    throw new InvalidArgumentError("w", `a Float32Array of rows*cols = ${rows * cols} values`, w);
  }
  const bf16 = options?.weightDtype === "bfloat16";
  const weights = bf16 ? w.map(roundToBf16) : w;
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!)) {
      throw new InvalidArgumentError(`w[${i}]`, "a finite number", weights[i]);
    }
  }
  const toDtype = bf16 ? roundToBf16 : Math.fround;
  const globalScale = resolveGlobalScale(weights, options);
  const blockCount = (rows * cols) / NVFP4_GROUP_SIZE;
  const packed = new Uint8Array((rows * cols) / 2);
  const blockScales = new Uint8Array(blockCount);

  for (let block = 0; block < blockCount; block++) {
    const begin = block * NVFP4_GROUP_SIZE;
    const amax = absMax(weights, begin, begin + NVFP4_GROUP_SIZE);
    const unclamped = Math.fround(globalScale * toDtype(amax / E2M1_MAX));
    const clamped = Math.min(Math.max(unclamped, -FP8_E4M3_MAX), FP8_E4M3_MAX);
    let scaleByte = encodeFp8E4m3(clamped);
    if (FP8_E4M3_DECODE[scaleByte] === 0) scaleByte = encodeFp8E4m3(NVFP4_ZERO_BLOCK_SCALE);
    blockScales[block] = scaleByte;

    const divisor = Math.fround(FP8_E4M3_DECODE[scaleByte]! / globalScale);
    for (let i = begin; i < begin + NVFP4_GROUP_SIZE; i += 2) {
      const low = e2m1Encode(Math.fround(weights[i]! / divisor));
      const high = e2m1Encode(Math.fround(weights[i + 1]! / divisor));
      packed[i >> 1] = low | (high << 4);
    }
  }
  return { packed, blockScales, globalScale };
}

/**
 * W[r, c] = e2m1(code) × (fp8(blockScale) / globalScale), in float32 in torch's order: the scale is divided
 * by the global scale first, then multiplied by the E2M1 value (compressed-tensors `_dequantize`).
 * compressed-tensors' decompressor then casts the result to bf16; apply roundToBf16 to match that too.
 */
export function dequantizeNvfp4(
  packed: Uint8Array,
  blockScales: Uint8Array,
  globalScale: number,
  rows: number,
  cols: number,
): Float32Array {
  checkShape(rows, cols);
  if (packed.length !== (rows * cols) / 2) {
    throw new InvalidArgumentError("packed", `${(rows * cols) / 2} bytes for [${rows}, ${cols}]`, packed);
  }
  const blockCount = (rows * cols) / NVFP4_GROUP_SIZE;
  if (blockScales.length !== blockCount) {
    throw new InvalidArgumentError("blockScales", `${blockCount} bytes for [${rows}, ${cols}]`, blockScales);
  }
  const global = Math.fround(globalScale);
  if (!Number.isFinite(global) || global === 0) {
    throw new InvalidArgumentError("globalScale", "a finite non-zero number", globalScale);
  }
  const out = new Float32Array(rows * cols);
  for (let block = 0; block < blockCount; block++) {
    const scale = Math.fround(FP8_E4M3_DECODE[blockScales[block]!]! / global);
    const begin = block * NVFP4_GROUP_SIZE;
    for (let i = begin; i < begin + NVFP4_GROUP_SIZE; i += 2) {
      const byte = packed[i >> 1]!;
      out[i] = E2M1_DECODE[byte & 0x0f]! * scale;
      out[i + 1] = E2M1_DECODE[byte >> 4]! * scale;
    }
  }
  return out;
}
