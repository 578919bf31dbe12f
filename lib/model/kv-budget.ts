/**
 * Sizing of the paged KV pool and the memory checks made before anything is allocated: the weights and the
 * pool must fit in the memory they go to (this machine's, or a CUDA device's free memory), and the pool must hold
 * at least one block.
 */
import { totalmem } from "node:os";
import type { ModelConfig } from "../config/model-config";
import { InvalidArgumentError, OutOfMemoryError } from "../errors";
import { kvBytesPerToken } from "../inspect/model-sizes";
import { describeHostMemory, type HostMemory } from "./host-memory";

export const DEFAULT_BLOCK_SIZE = 16;
export const DEFAULT_MAX_CONTEXT = 32768;
export const DEFAULT_MAX_BATCH_SIZE = 8;
/** Prompt tokens prefilled per engine step at most (chunked prefill keeps decodes flowing). */
export const DEFAULT_MAX_TOKENS_PER_STEP = 2048;

export interface KvPlan {
  blockSize: number;
  numBlocks: number;
  dtype: "bf16" | "f32";
  bytes: number;
  bytesPerToken: number;
  maxContext: number;
  maxBatchSize: number;
  maxTokensPerStep: number;
}

function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(2)} GiB`;
}

/** The context a sequence may reach when maxContext is not given. */
export function defaultMaxContext(c: ModelConfig): number {
  return Math.min(DEFAULT_MAX_CONTEXT, c.maxPositionEmbeddings);
}

/** Where the weights and the pool go. */
export interface MemoryTarget {
  /** What the fixed bytes are, e.g. "the weights". */
  readonly fixedLabel: string;
  /** Says how much memory there is, e.g. "this machine has 24.00 GiB of memory". */
  readonly describe: (bytes: number) => string;
  /** The share of what the weights leave that an "auto" pool may take at most. */
  readonly spareShare: number;
  /** How a caller may load anyway, said in the error (host memory: the allowMemoryOvercommit option). */
  readonly overrideHint?: string;
}

/** Host memory: an "auto" pool leaves at least half of what the weights do not use to the process and the system. */
export const HOST_MEMORY: MemoryTarget = {
  fixedLabel: "the weights",
  describe: (bytes) => `this machine has ${gib(bytes)} of memory`,
  spareShare: 0.5,
};

/**
 * Host memory as this process can have it now (host-memory.ts): what is available on the machine within the
 * cgroup's limit, against the weights, the step and vision scratch and a reserve (cpu-memory.ts).
 */
export function hostMemoryTarget(host: HostMemory): MemoryTarget {
  return {
    fixedLabel: "the weights, the step and vision scratch and a reserve",
    describe: (bytes) => `this process can have ${gib(bytes)} now (${describeHostMemory(host)})`,
    spareShare: 0.5,
    overrideHint: "the load option allowMemoryOvercommit: true loads anyway",
  };
}

/** A CUDA device's free memory: nothing else lives there, so an "auto" pool may take 90 % of what is left. */
export function cudaMemoryTarget(index: number, name: string): MemoryTarget {
  return {
    fixedLabel: "the weights, activations and CUDA context",
    describe: (bytes) => `CUDA device ${index} (${name}) has ${gib(bytes)} free`,
    spareShare: 0.9,
  };
}

export function planKvCache(
  c: ModelConfig,
  options: {
    kvCacheMemory?: number | "auto";
    maxContext?: number;
    maxBatchSize?: number;
    kvCacheDtype?: "bf16" | "f32";
    blockSize?: number;
  },
  weightBytes: number,
  machineBytes = totalmem(),
  target: MemoryTarget = HOST_MEMORY,
  /** Skip the refusals (the caller opted in): the pool is still sized, within machineBytes. */
  overcommit = false,
): KvPlan {
  const dtype = options.kvCacheDtype ?? "bf16";
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const maxContext = options.maxContext ?? defaultMaxContext(c);
  if (maxContext > c.maxPositionEmbeddings) {
    throw new InvalidArgumentError(
      "options.maxContext",
      `at most the model's ${c.maxPositionEmbeddings} positions`,
      maxContext,
    );
  }
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const bytesPerToken = kvBytesPerToken(c, dtype === "f32" ? 4 : 2);
  const bytesPerBlock = bytesPerToken * blockSize;
  const hint = target.overrideHint ? `; ${target.overrideHint}` : "";
  if (weightBytes > machineBytes && !overcommit) {
    throw new OutOfMemoryError(
      `${target.fixedLabel} need ${gib(weightBytes)} but ${target.describe(machineBytes)}; nothing was allocated${hint}`,
      { required: weightBytes, available: machineBytes },
    );
  }
  let budget: number;
  if (options.kvCacheMemory === undefined || options.kvCacheMemory === "auto") {
    // Whole blocks: every sequence may need a partly filled last block.
    const wanted = Math.ceil(maxContext / blockSize) * maxBatchSize * bytesPerBlock;
    // Leave part of what the weights do not use to the rest of the process and the system.
    const affordable = Math.max(bytesPerBlock, (machineBytes - weightBytes) * target.spareShare);
    budget = Math.min(wanted, affordable);
  } else {
    budget = options.kvCacheMemory;
    if (budget < bytesPerBlock) {
      throw new InvalidArgumentError(
        "options.kvCacheMemory",
        `at least one KV block (${bytesPerBlock} bytes = ${blockSize} tokens × ${bytesPerToken} bytes)`,
        budget,
      );
    }
    if (budget + weightBytes > machineBytes && !overcommit) {
      throw new OutOfMemoryError(
        `a KV pool of ${gib(budget)} beside ${gib(weightBytes)} of ${target.fixedLabel.replace(/^the /, "")} does not fit: ${target.describe(machineBytes)}; ` +
          `lower kvCacheMemory; nothing was allocated${hint}`,
        { required: budget + weightBytes, available: machineBytes },
      );
    }
  }
  const numBlocks = Math.max(1, Math.floor(budget / bytesPerBlock));
  return {
    blockSize,
    numBlocks,
    dtype,
    bytes: numBlocks * bytesPerBlock,
    bytesPerToken,
    maxContext,
    maxBatchSize,
    maxTokensPerStep: DEFAULT_MAX_TOKENS_PER_STEP,
  };
}
