/**
 * What a model takes in host memory besides its KV pool, computed from the load plan before anything is allocated, so
 * that kv-budget.ts can check it against what the machine and the process's cgroup can still give (host-memory.ts):
 * - weights in the CPU backend's layouts (native/cpu/linear.cc prepareLinear): BF16 rows padded to 32 columns,
 *   FP8 rows to 64 (plus a float per row for per-channel scales), NVFP4 in chunks of 128 weights taking 72 bytes;
 *   wkv_b expanded to float32 (prepareMlaUp); norms and biases as float32; the vision tower's too;
 * - the scratch arena of the largest step (native/model/mistral4.cc allocateArena);
 * - the vision encoder's scratch for its largest pass (native/model/pixtral.cc PixtralEncoder::scratchFloats);
 * - a fixed reserve for the kernels' per-thread buffers and the process's own growth.
 * tests/model/cpu-memory.test.ts holds the weight count to what the addon reports for every generated form.
 */
import type { LoadPlan } from "../checkpoint/load-plan";
import type { ModelConfig } from "../config/model-config";
import { PASS_PATCH_BUDGET } from "../vision/vision-encoder";

/** Per-thread kernel buffers, the allocator's slack and the JavaScript heap's growth while serving. */
export const CPU_RESERVE_BYTES = 256 * 2 ** 20;
const NVFP4_CHUNK = 128;
const NVFP4_CHUNK_BYTES = 72;
const VISION_FFN_CHUNK = 1024;

export interface CpuMemoryPlan {
  readonly weightBytes: number;
  readonly arenaBytes: number;
  readonly visionScratchBytes: number;
  readonly reserveBytes: number;
  /** Everything above: what host memory must hold besides the KV pool. */
  readonly totalBytes: number;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

function linearBytes(format: string, rows: number, cols: number, perChannel: boolean): number {
  if (format === "nvfp4") return rows * (roundUp(cols, NVFP4_CHUNK) / NVFP4_CHUNK) * NVFP4_CHUNK_BYTES;
  if (format === "fp8") return rows * roundUp(cols, 64) + (perChannel ? rows * 4 : 0);
  return rows * roundUp(cols, 32) * 2;
}

/** Bytes of the weights once repacked for the CPU kernels. */
export function cpuWeightBytes(plan: Pick<LoadPlan, "modules">): number {
  let bytes = 0;
  for (const m of plan.modules) {
    const shape = m.spec.shape;
    const rows = shape[0] ?? 0;
    const cols = shape.slice(1).reduce((a, b) => a * b, 1);
    if (m.spec.kind === "norm") bytes += rows * 4;
    else if (m.spec.name.endsWith(".attention.wkv_b")) bytes += rows * cols * 4;
    else {
      const scale = m.tensors.weight_scale;
      const perChannel =
        m.format === "fp8" && scale !== undefined && tensorValues(scale.shape) === rows && rows > 1;
      bytes += linearBytes(m.format, rows, cols, perChannel);
    }
    if (m.spec.hasBias) bytes += rows * 4;
  }
  return bytes;
}

function tensorValues(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Floats of the step arena (native/model/mistral4.cc allocateArena). */
function arenaFloats(c: ModelConfig, tokens: number, logitRows: number): number {
  const H = c.numHeads;
  const L = c.kvLoraRank;
  const R = c.qkRopeHeadDim;
  const qk = c.qkNopeHeadDim + R;
  return (
    tokens * (3 * c.hiddenSize + c.qLoraRank + H * qk + L + R + 2 * H * L + H * c.vHeadDim) +
    logitRows * (c.hiddenSize + c.vocabSize)
  );
}

/** Floats of the vision encoder's largest pass (PixtralEncoder::scratchFloats), plus its pixels and features. */
function visionFloats(c: ModelConfig): number {
  const v = c.vision;
  if (!v) return 0;
  const patchesPerSide = Math.ceil(v.imageSize / v.patchSize);
  const patches = Math.max(PASS_PATCH_BUDGET, patchesPerSide * patchesPerSide);
  const m2 = v.spatialMergeSize * v.spatialMergeSize;
  const tokens = Math.ceil(patches / m2);
  const D = v.hiddenSize;
  const patchWidth = v.numChannels * v.patchSize * v.patchSize;
  const ffn = Math.min(patches, VISION_FFN_CHUNK) * 2 * v.intermediateSize;
  const projector = tokens * (D * m2 + D + 2 * c.hiddenSize);
  // The pass's pixels (copied out of JavaScript) and its features (returned to it) live beside the scratch.
  const io = patches * patchWidth + tokens * c.hiddenSize;
  return patches * (2 * patchWidth + 6 * D) + ffn + projector + io;
}

export function planCpuMemory(
  plan: Pick<LoadPlan, "config" | "modules">,
  runtime: { maxTokensPerStep: number; logitRowsPerChunk: number },
): CpuMemoryPlan {
  const weightBytes = cpuWeightBytes(plan);
  const arenaBytes = arenaFloats(plan.config, runtime.maxTokensPerStep, runtime.logitRowsPerChunk) * 4;
  const visionScratchBytes = visionFloats(plan.config) * 4;
  const reserveBytes = CPU_RESERVE_BYTES;
  return {
    weightBytes,
    arenaBytes,
    visionScratchBytes,
    reserveBytes,
    totalBytes: weightBytes + arenaBytes + visionScratchBytes + reserveBytes,
  };
}
