/**
 * `ms4 bench`: prefill and decode speed of one sequence on the native forward (no engine in the loop), with
 * the bytes a decode step reads so the result can be compared with memory bandwidth, and peak memory.
 */
import type { Model } from "../model/model";
import { loadNative, type NativeStepBatch } from "../native";

export interface BenchOptions {
  promptTokens: number;
  generateTokens: number;
  /** The CUDA device the model runs on ("cuda" / "cuda:N"), whose copy bandwidth is then the bound. */
  cudaDevice?: string;
}

export interface BenchResult {
  model: string;
  kernelPath: string;
  nvfp4Activations: string;
  threads: number;
  promptTokens: number;
  generateTokens: number;
  prefillSeconds: number;
  prefillTokensPerSecond: number;
  decodeSeconds: number;
  decodeTokensPerSecond: number;
  /** Weight bytes one decode token reads: everything but the unrouted experts (expected value for top-k). */
  decodeWeightBytesPerToken: number;
  /** KV bytes the last decode step read (the whole context). */
  decodeKvBytesPerToken: number;
  decodeGigabytesPerSecond: number;
  /**
   * Memory read bandwidth with the same threads (STREAM-like read of 512 MiB, best of 5), or on a CUDA device its
   * copy bandwidth (bytes read plus written, 4 GiB), measured right before and right after the decode; the higher of
   * the two is the bound (shared machines drift between runs).
   */
  memoryBandwidthGBps: number;
  memoryBandwidthBeforeAfterGBps: [number, number];
  /** decode GB/s ÷ memoryBandwidthGBps: the fraction of the memory-bound decode speed reached, from this one run. */
  decodeFractionOfBound: number;
  weightBytes: number;
  peakRssBytes: number;
}

/** Expected weight bytes read per decoded token: all non-expert weights plus top-k of the routed experts. */
export function decodeWeightBytes(model: Model): number {
  const c = model.config;
  let bytes = 0;
  for (const m of model.plan.modules) {
    const size = Object.values(m.tensors).reduce((a, t) => a + (t?.length ?? 0), 0);
    if (m.spec.group === "embedding")
      bytes += size / c.vocabSize; // one row
    else if (m.spec.group === "expert") bytes += (size * c.moe.numExpertsPerToken) / c.moe.numExperts;
    else if (m.spec.group !== "vision" && m.spec.group !== "projector") bytes += size;
  }
  return bytes;
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

export async function runBench(model: Model, options: BenchOptions, threads: number): Promise<BenchResult> {
  const native = model.live();
  const { kvBlockSize: blockSize, kvBlocks } = model.memory();
  const total = options.promptTokens + options.generateTokens;
  const blocksNeeded = Math.ceil(total / blockSize);
  if (blocksNeeded > kvBlocks) {
    throw new RangeError(`the KV pool holds ${kvBlocks * blockSize} tokens; the bench needs ${total}`);
  }
  const blocks = Int32Array.from({ length: blocksNeeded }, (_, i) => i);
  const firstNormal = model.tokenizer.numSpecialTokens;
  const vocab = model.tokenizer.vocabSize;
  const prompt = Array.from(
    { length: options.promptTokens },
    (_, i) => firstNormal + ((i * 7919) % (vocab - firstNormal)),
  );
  const step = (tokens: number[], start: number): NativeStepBatch => ({
    tokens: Int32Array.from(tokens),
    positions: Int32Array.from(tokens, (_, k) => start + k),
    seqStarts: Int32Array.of(0, tokens.length),
    contextLens: Int32Array.of(start + tokens.length),
    blockTables: blocks,
    maxBlocksPerSeq: blocks.length,
    slotMapping: Int32Array.from(
      tokens,
      (_, k) => blocks[Math.floor((start + k) / blockSize)]! * blockSize + ((start + k) % blockSize),
    ),
    logitRows: Int32Array.of(tokens.length - 1),
    returnLogits: true,
    sampling: null,
  });
  const measureBandwidth = () =>
    Number(
      loadNative().kernelBench(
        "bandwidth",
        options.cudaDevice !== undefined
          ? { device: options.cudaDevice, bytes: 4 * 2 ** 30, passes: 5 }
          : { threads, bytes: 512 * 2 ** 20, passes: 5 },
      ).bestGbps,
    );
  const bandwidthBefore = measureBandwidth();
  const t0 = performance.now();
  let logits = (await native.step(step(prompt, 0))).logits!;
  const t1 = performance.now();
  let next = argmax(logits);
  for (let i = 0; i < options.generateTokens; i++) {
    logits = (await native.step(step([next], options.promptTokens + i))).logits!;
    next = argmax(logits);
  }
  const t2 = performance.now();
  const prefillSeconds = (t1 - t0) / 1000;
  const decodeSeconds = (t2 - t1) / 1000;
  const decodeTokensPerSecond = options.generateTokens / decodeSeconds;
  const weightBytesPerToken = decodeWeightBytes(model);
  const kvPerToken = total * model.kv.bytesPerToken;
  const decodeGBps = ((weightBytesPerToken + kvPerToken) * decodeTokensPerSecond) / 1e9;
  const bandwidthAfter = measureBandwidth();
  const bandwidth = Math.max(bandwidthBefore, bandwidthAfter);
  return {
    model: model.dir,
    kernelPath: model.kernelPath,
    nvfp4Activations: model.nvfp4Activations,
    threads,
    promptTokens: options.promptTokens,
    generateTokens: options.generateTokens,
    prefillSeconds,
    prefillTokensPerSecond: options.promptTokens / prefillSeconds,
    decodeSeconds,
    decodeTokensPerSecond,
    decodeWeightBytesPerToken: Math.round(weightBytesPerToken),
    decodeKvBytesPerToken: kvPerToken,
    decodeGigabytesPerSecond: decodeGBps,
    memoryBandwidthGBps: bandwidth,
    memoryBandwidthBeforeAfterGBps: [bandwidthBefore, bandwidthAfter],
    decodeFractionOfBound: decodeGBps / bandwidth,
    weightBytes: model.memory().weightBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
