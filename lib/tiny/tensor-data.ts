/**
 * Deterministic weights for generated checkpoints. Every tensor's bytes depend only on (seed, canonical
 * module name, part), so the native and HF layouts (per-expert or fused) of one seed hold identical weights.
 */

import type { ModuleSpec } from "../checkpoint/module-table";
import type { WeightFormat } from "../config/quantization";
import { f32ArrayToBf16 } from "../quant/bf16";
import { encodeFp8E4m3 } from "../quant/fp8-e4m3";
import { quantizeNvfp4 } from "../quant/nvfp4";
import { Rng, seedFor } from "./random";

export interface TensorBytes {
  /** Canonical part: weight | weight_packed | weight_scale | weight_global_scale | input_global_scale | input_scale | bias. */
  part: string;
  dtype: "BF16" | "F32" | "U8" | "F8_E4M3";
  shape: number[];
  data: () => Uint8Array;
}

/**
 * Above this many weights, NVFP4 tensors are synthesised directly (random E2M1 codes and block scales sized
 * like a quantised uniform matrix) instead of generating floats and quantising them: the real-size presets
 * would otherwise spend minutes in the quantiser. The result is an equally valid NVFP4 tensor.
 */
const SYNTHESISE_NVFP4_ABOVE = 1 << 22;

function synthesisedNvfp4(seed: number, spec: ModuleSpec, rows: number, cols: number) {
  const rng = new Rng(seedFor(seed, spec.name));
  const amp = Math.sqrt(3 / cols);
  const globalScale = Math.fround((448 * 6) / amp);
  const packed = new Uint8Array((rows * cols) / 2);
  rng.fillBytes(packed);
  const blockScales = new Uint8Array((rows * cols) / 16);
  for (let i = 0; i < blockScales.length; i++) {
    blockScales[i] = encodeFp8E4m3(((globalScale * amp) / 6) * (0.5 + 0.25 * (rng.nextSigned() + 1)), {
      saturate: true,
    });
  }
  return { packed, blockScales, globalScale };
}

/** Activation magnitude assumed for the calibrated static input scales (FP8 input_scale, NVFP4 input_global_scale). */
const ASSUMED_ACTIVATION_AMAX = 4;

function floatWeights(seed: number, spec: ModuleSpec): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seedFor(seed, spec.name));
  const out = new Float32Array(n);
  if (spec.kind === "norm") {
    for (let i = 0; i < n; i++) out[i] = 1 + 0.1 * rng.nextSigned();
    return out;
  }
  // Linear / conv: uniform with variance 1/fan_in keeps the residual stream of a random model in range.
  const fanIn = spec.kind === "embedding" ? 1 : spec.shape.slice(1).reduce((a, b) => a * b, 1);
  const amp = Math.sqrt(3 / fanIn);
  for (let i = 0; i < n; i++) out[i] = amp * rng.nextSigned();
  return out;
}

function bytesOf(a: Uint16Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function f32Scalar(v: number): Uint8Array {
  return bytesOf(Float32Array.of(v));
}

/** FP8 options of generated checkpoints. */
export interface Fp8Layout {
  /** One weight scale per matrix, or one per output row. */
  readonly scales: "tensor" | "channel";
  /** Write calibrated per-tensor activation scales (static activation quantization). */
  readonly staticActivations: boolean;
}

const FP8_DEFAULT: Fp8Layout = { scales: "tensor", staticActivations: true };

/**
 * FP8-E4M3 codes of a row-major matrix split into `groups` equal row groups, each with the scale
 * amax / 448 (so its largest magnitude maps to E4M3's largest finite value).
 */
export function quantizeFp8(
  w: Float32Array,
  groups: number,
  amaxOverride?: readonly number[],
): {
  bytes: Uint8Array;
  scales: Float32Array;
} {
  const per = w.length / groups;
  const bytes = new Uint8Array(w.length);
  const scales = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    let amax = amaxOverride?.[g] ?? 0;
    if (amaxOverride === undefined)
      for (let i = g * per; i < (g + 1) * per; i++) amax = Math.max(amax, Math.abs(w[i]!));
    const scale = Math.fround(amax / 448 || 1);
    scales[g] = scale;
    for (let i = g * per; i < (g + 1) * per; i++) bytes[i] = encodeFp8E4m3(w[i]! / scale, { saturate: true });
  }
  return { bytes, scales };
}

/** Max |w| of a matrix. */
export function amaxOf(w: Float32Array): number {
  let amax = 0;
  for (const v of w) amax = Math.max(amax, Math.abs(v));
  return amax;
}

/** The float weights of a module (before any quantization). */
export function moduleFloats(seed: number, spec: ModuleSpec): Float32Array {
  return floatWeights(seed, spec);
}

/** The tensors of one module in the given weight format, with lazily computed bytes. */
export function moduleTensors(
  seed: number,
  spec: ModuleSpec,
  format: WeightFormat,
  fp8: Fp8Layout = FP8_DEFAULT,
): TensorBytes[] {
  const shape = [...spec.shape];
  const out: TensorBytes[] = [];
  if (format === "bf16") {
    out.push({
      part: "weight",
      dtype: "BF16",
      shape,
      data: () => bytesOf(f32ArrayToBf16(floatWeights(seed, spec))),
    });
  } else if (format === "fp8") {
    const [rows = 0] = shape;
    const channel = fp8.scales === "channel";
    let cached: { bytes: Uint8Array; scales: Float32Array } | undefined;
    const quantized = () => {
      cached ??= quantizeFp8(floatWeights(seed, spec), channel ? rows : 1);
      return cached;
    };
    out.push(
      { part: "weight", dtype: "F8_E4M3", shape, data: () => quantized().bytes },
      {
        part: "weight_scale",
        dtype: "F32",
        shape: channel ? [rows, 1] : [],
        data: () => bytesOf(quantized().scales),
      },
    );
    if (fp8.staticActivations)
      out.push({
        part: "input_scale",
        dtype: "F32",
        shape: [],
        data: () => f32Scalar(ASSUMED_ACTIVATION_AMAX / 448),
      });
  } else {
    const [rows = 0, cols = 0] = shape;
    let cached: ReturnType<typeof quantizeNvfp4> | undefined;
    const quantized = () => {
      cached ??=
        rows * cols > SYNTHESISE_NVFP4_ABOVE
          ? synthesisedNvfp4(seed, spec, rows, cols)
          : quantizeNvfp4(floatWeights(seed, spec), rows, cols);
      return cached;
    };
    // Byte order matters: the packed data is produced first, so release the cache after the last reader.
    out.push(
      { part: "weight_packed", dtype: "U8", shape: [rows, cols / 2], data: () => quantized().packed },
      {
        part: "weight_scale",
        dtype: "F8_E4M3",
        shape: [rows, cols / 16],
        data: () => quantized().blockScales,
      },
      {
        part: "weight_global_scale",
        dtype: "F32",
        shape: [1],
        data: () => {
          const g = quantized().globalScale;
          cached = undefined;
          return f32Scalar(g);
        },
      },
      {
        part: "input_global_scale",
        dtype: "F32",
        shape: [1],
        data: () => f32Scalar((448 * 6) / ASSUMED_ACTIVATION_AMAX),
      },
    );
  }
  if (spec.hasBias) {
    const rows = shape[0] ?? 0;
    out.push({
      part: "bias",
      dtype: "BF16",
      shape: [rows],
      data: () => {
        const rng = new Rng(seedFor(seed, `${spec.name}.bias`));
        return bytesOf(f32ArrayToBf16(Float32Array.from({ length: rows }, () => 0.05 * rng.nextSigned())));
      },
    });
  }
  return out;
}

/**
 * The Hugging Face order of a vision wq / wk weight's rows (docs/model.md#vision-qk-row-permutation): HF row
 * h·hd + i holds row h·hd + 2i, HF row h·hd + hd/2 + i holds row h·hd + 2i + 1. `bytes` holds rows of
 * `rowBytes` bytes each.
 */
export function hfVisionQkRows(
  bytes: Uint8Array,
  heads: number,
  headDim: number,
  rowBytes: number,
): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      for (const half of [0, 1]) {
        const from = (h * headDim + 2 * i + half) * rowBytes;
        out.set(bytes.subarray(from, from + rowBytes), (h * headDim + half * (headDim / 2) + i) * rowBytes);
      }
    }
  }
  return out;
}
