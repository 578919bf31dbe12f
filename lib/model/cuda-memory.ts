/**
 * What a model takes on a CUDA device besides its KV pool, computed before anything is allocated so that the memory
 * checks of kv-budget.ts run against the device's free memory (docs/cuda-backend.md#steps-and-memory):
 * - weights in the CUDA backend's layouts (cuda/layout/linear_layout.h): rows padded to 16, columns to 64, NVFP4 at
 *   4.5 bits per weight, FP8 1 byte, BF16 2 bytes; wkv_b as float32; norms as float32;
 * - the scratch arena of the largest step (native/model/mistral4.cc allocateArena);
 * - the op workspace at that step: split activations, the MoE rows, the attention's partial results;
 * - a fixed reserve for the CUDA context and the transfer buffers.
 */
import type { LoadPlan } from "../checkpoint/load-plan";
import type { ModelConfig } from "../config/model-config";

/** The CUDA context, the step pool, staging buffers and allocator slack. */
export const CUDA_RESERVE_BYTES = 1024 * 2 ** 20;
/** The absorbed attention holds at most this many bytes of partial results at once (cuda/mla_attention.cu). */
export const CUDA_ATTENTION_PARTIAL_BYTES = 256 * 2 ** 20;
const ROW_TILE = 16;
const CHUNK = 64;
const PARTITION = 256;

export interface CudaMemoryPlan {
  readonly weightBytes: number;
  readonly arenaBytes: number;
  readonly workspaceBytes: number;
  readonly reserveBytes: number;
  /** Everything above: what the device must hold besides the KV pool. */
  readonly totalBytes: number;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

function linearBytes(format: string, rows: number, cols: number): number {
  const values = roundUp(rows, ROW_TILE) * roundUp(cols, CHUNK);
  return format === "nvfp4" ? values * (0.5 + 1 / 16) : format === "fp8" ? values : values * 2;
}

export function planCudaMemory(
  plan: Pick<LoadPlan, "config" | "modules">,
  runtime: { maxTokensPerStep: number; logitRowsPerChunk: number; maxContext: number },
): CudaMemoryPlan {
  const c: ModelConfig = plan.config;
  let weightBytes = 0;
  for (const m of plan.modules) {
    if (m.spec.group === "vision" || m.spec.group === "projector") continue;
    const [rows = 0, cols = 1] = m.spec.shape;
    if (m.spec.kind === "norm") weightBytes += rows * 4;
    else if (m.spec.name.endsWith(".attention.wkv_b")) weightBytes += rows * cols * 4;
    else weightBytes += linearBytes(m.format, rows, cols);
  }
  const t = runtime.maxTokensPerStep;
  const D = c.hiddenSize;
  const H = c.numHeads;
  const L = c.kvLoraRank;
  const R = c.qkRopeHeadDim;
  const qk = c.qkNopeHeadDim + R;
  const arenaFloats =
    t * (3 * D + c.qLoraRank + H * qk + L + R + 2 * H * L + H * c.vHeadDim) +
    runtime.logitRowsPerChunk * (D + c.vocabSize);
  const arenaBytes = arenaFloats * 4;
  // Split activations take 4 bytes per value (two halves; BF16 weights: 8, four bf16 terms).
  const splitBytesPerValue = 8;
  const linearWorkspace = t * roundUp(Math.max(D, H * c.vHeadDim, c.qLoraRank), CHUNK) * splitBytesPerValue;
  const K = c.moe.numExpertsPerToken;
  const E = c.moe.numExperts;
  const I = c.moe.expertHiddenSize;
  const moeRows = t * K + t + (E + 1) * 7;
  const moeWorkspace =
    moeRows * (roundUp(I, CHUNK) + D) * 4 +
    moeRows * (roundUp(D, CHUNK) + roundUp(I, CHUNK)) * splitBytesPerValue +
    t * (E + 4 * K) * 4;
  const partials = Math.min(
    CUDA_ATTENTION_PARTIAL_BYTES,
    t * Math.ceil(runtime.maxContext / PARTITION) * (2 * H + H * L) * 4,
  );
  const workspaceBytes = Math.max(linearWorkspace, moeWorkspace, partials) + 64 * 2 ** 20;
  const reserveBytes = CUDA_RESERVE_BYTES;
  return {
    weightBytes,
    arenaBytes,
    workspaceBytes,
    reserveBytes,
    totalBytes: weightBytes + arenaBytes + workspaceBytes + reserveBytes,
  };
}
