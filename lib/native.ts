/**
 * The typed shape of the native addon. Everything native goes through `loadNative()` (lib/addon/load.ts), which
 * returns this binding or throws a single NativeAddonError saying what is missing and how to get it.
 */
export {
  EXPECTED_ABI_VERSION,
  loadedAddon,
  loadNative,
  packageRoot,
  resetNativeForTests,
} from "./addon/load";

export interface NativeProgressEvent {
  phase: string;
  done: number;
  total: number;
}

/**
 * Which file, and which version of it, as the header was read from (decimal strings: device and inode numbers and
 * nanosecond times may exceed a double's exact integers). The addon refuses a file whose identity differs.
 */
export interface NativeFileIdentity {
  dev: string;
  ino: string;
  mtimeNs: string;
}

export interface NativeLoadPlan {
  files: { path: string; size: number; identity?: NativeFileIdentity }[];
  tensors: { name: string; file: number; offset: number; length: number }[];
  /** Page every tensor in during load (reports "read" progress). */
  prefetch: boolean;
}

export interface NativeWeights {
  load(plan: NativeLoadPlan, onProgress?: (ev: NativeProgressEvent) => void): Promise<void>;
  readTensor(index: number, offset?: number, length?: number): Buffer;
  abort(): void;
  dispose(): void;
  stats(): { mappedBytes: number; tensorCount: number; disposed: boolean };
}

/**
 * CPU kernel paths: "portable" (plain C++), "avx2" (AVX2+FMA+F16C), "avx512" (the avx2 kernels plus AVX-512 VNNI
 * quantized-activation NVFP4 kernels) and "avx512-emulated" (a test path: the avx512 kernels on SIMDe's portable
 * AVX-512, present only when the addon was built with SIMDe's headers; never chosen automatically).
 */
export type CpuKernelPath = "portable" | "avx2" | "avx512" | "avx512-emulated";

export interface CpuFeatures {
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  avxVnni: boolean;
  amxTile: boolean;
  amxBf16: boolean;
  amxInt8: boolean;
  logicalCores: number;
  /** The kernel paths this CPU and build can run, best last. */
  kernelPaths: CpuKernelPath[];
}

export interface CudaDevice {
  index: number;
  name: string;
  totalMemory: number;
  freeMemory: number;
  computeCapability: string;
  multiprocessors: number;
  /** The CUDA backend runs on it: compute capability 8.0 or later and GPU code in this build it can run. */
  usable: boolean;
  /** Why not, when `usable` is false. */
  unusableReason: string;
}

export interface SystemInfo {
  cpu: CpuFeatures;
  cuda: {
    compiled: boolean;
    runtimeVersion: number;
    driverVersion: number;
    error: string;
    /** The GPU code this build carries, e.g. "sm_90a,sm_100a,sm_120a,compute_80" ("" without CUDA). */
    architectures: string;
    devices: CudaDevice[];
  };
}

/** A linear weight's tensors in the NativeWeights store (indices into the load plan's tensor list). */
export interface NativeLinearSpec {
  /** 0 = BF16, 1 = FP8 per-tensor, 2 = NVFP4. */
  format: 0 | 1 | 2;
  rows: number;
  cols: number;
  /** BF16/F16/F32 or FP8 weight, or NVFP4 weight_packed. */
  weight: number;
  weightDtype: string;
  /** NVFP4 block scales (FP8), or -1. */
  blockScales: number;
  /** FP8 weight_scale or NVFP4 weight_global_scale (a one-element tensor), or -1. */
  scale: number;
  scaleDtype: string;
}

export interface NativeNormSpec {
  weight: number;
  dtype: string;
  size: number;
}

export interface NativeExpertSpec {
  w1: NativeLinearSpec;
  w2: NativeLinearSpec;
  w3: NativeLinearSpec;
}

export interface NativeLayerSpec {
  attentionNorm: NativeNormSpec;
  wqA: NativeLinearSpec;
  qANorm: NativeNormSpec;
  wqB: NativeLinearSpec;
  wkvA: NativeLinearSpec;
  kvANorm: NativeNormSpec;
  wkvB: NativeLinearSpec;
  wo: NativeLinearSpec;
  ffnNorm: NativeNormSpec;
  router: NativeLinearSpec;
  shared: NativeExpertSpec | null;
  experts: NativeExpertSpec[];
}

export interface NativeVisionLayerSpec {
  attentionNorm: NativeNormSpec;
  ffnNorm: NativeNormSpec;
  wq: NativeLinearSpec;
  wk: NativeLinearSpec;
  wv: NativeLinearSpec;
  wo: NativeLinearSpec;
  w1: NativeLinearSpec;
  w2: NativeLinearSpec;
  w3: NativeLinearSpec;
}

/** The vision tower and projector (native/model/model_spec.h VisionSpec). */
export interface NativeVisionSpec {
  dims: {
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    headDim: number;
    intermediateSize: number;
    numChannels: number;
    patchSize: number;
    spatialMergeSize: number;
    /** The projector's output size: the text model's hidden size. */
    textHiddenSize: number;
    ropeTheta: number;
    rmsNormEps: number;
    preMmNorm: boolean;
    projectorBias: boolean;
    /** wq / wk rows are in the Hugging Face order and are un-permuted at load (docs/model.md#vision-qk-row-permutation). */
    qkRowsPermuted: boolean;
  };
  /** The patch convolution's kernels as a [hidden, channels · patch²] matrix. */
  patchConv: NativeLinearSpec;
  lnPre: NativeNormSpec;
  layers: NativeVisionLayerSpec[];
  preMmNorm: NativeNormSpec | null;
  merging: NativeLinearSpec | null;
  wIn: NativeLinearSpec;
  wOut: NativeLinearSpec;
  wInBias: NativeNormSpec | null;
  wOutBias: NativeNormSpec | null;
}

/** Everything native code needs to build the model: dimensions, derived constants and where each weight is. */
export interface NativeModelSpec {
  dims: {
    hiddenSize: number;
    numLayers: number;
    vocabSize: number;
    numHeads: number;
    qLoraRank: number;
    kvLoraRank: number;
    qkNopeHeadDim: number;
    qkRopeHeadDim: number;
    vHeadDim: number;
    numExperts: number;
    numExpertsPerToken: number;
    normTopkProb: boolean;
    routedScalingFactor: number;
    rmsNormEps: number;
    softmaxScale: number;
    /** YaRN inverse frequencies for the rope dims (qkRopeHeadDim / 2 values). */
    invFreq: Float64Array;
    ropeAttentionFactor: number;
    /** Llama-4 query scaling; beta 0 disables it. */
    queryScaleBeta: number;
    queryScaleOriginalMax: number;
  };
  embedding: NativeLinearSpec;
  finalNorm: NativeNormSpec;
  lmHead: NativeLinearSpec;
  layers: NativeLayerSpec[];
  kvCache: { numBlocks: number; blockSize: number; dtype: "bf16" | "f32" };
  /**
   * The scratch arena is sized at load for the largest step (tokens; the engine's maxTokensPerStep) and for
   * `logitRowsPerChunk` rows of logits (steps with more logit rows run the lm_head in chunks).
   */
  scratch: { maxStepTokens: number; logitRowsPerChunk: number };
  /** The vision tower, when the checkpoint has one. */
  vision: NativeVisionSpec | null;
}

/**
 * Where the model runs, fully resolved in TypeScript (lib/model/resolve-backend.ts): native code reads no
 * environment variable for these choices.
 */
export interface NativeBackendOptions {
  device: "cpu" | "cuda";
  deviceIndex: number;
  cpu: {
    threads: number;
    /** A concrete CpuKernelPath. */
    path: string;
    /** "f32" | "int16" | "int8". */
    nvfp4Activations: string;
    /** Advise transparent huge pages for the weights and the KV pool. */
    hugePages: boolean;
  };
}

/** Sampling parameters, one entry per logit row. Penalty token lists are ragged: row r owns [starts[r], starts[r+1]). */
export interface NativeSamplingBatch {
  temperature: Float32Array;
  topK: Int32Array;
  topP: Float32Array;
  minP: Float32Array;
  repetitionPenalty: Float32Array;
  presencePenalty: Float32Array;
  frequencyPenalty: Float32Array;
  /** Per row: low and high 32 bits of the request's seed. */
  seeds: Uint32Array;
  /** Per row: how many tokens this request has sampled before (the RNG counter). */
  draws: Uint32Array;
  /** Prompt + output tokens seen by the repetition penalty. */
  contextTokens: Int32Array;
  contextStarts: Int32Array;
  /** Output tokens counted by the presence/frequency penalties. */
  outputTokens: Int32Array;
  outputStarts: Int32Array;
  /** Optional allowed-token bitmask, ceil(vocab / 32) words per row, bit set = allowed. */
  masks: Uint32Array | null;
  /** How many top alternatives to return per row (0 = none). */
  topLogprobs: number;
}

export interface NativeSampleResult {
  tokens: Int32Array;
  /** Log-probability of each sampled token (after penalties and mask, before temperature and truncation). */
  logprobs: Float32Array;
  /** [rows, topLogprobs] alternatives, best first. */
  topIds: Int32Array;
  topLogprobs: Float32Array;
}

/** One engine step: the new tokens of several sequences and where their KV goes. */
export interface NativeStepBatch {
  tokens: Int32Array;
  positions: Int32Array;
  seqStarts: Int32Array;
  contextLens: Int32Array;
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  slotMapping: Int32Array;
  /** Token rows whose logits are computed. */
  logitRows: Int32Array;
  /** Copy the logits of logitRows back ([rows, vocab]). */
  returnLogits: boolean;
  sampling: NativeSamplingBatch | null;
  /**
   * Tests only: force an MLA attention form. Production leaves it unset and native code runs the absorbed form,
   * the batch-invariant one (native/model/mistral4.h kProductionAttention).
   */
  attention?: "absorbed" | "expanded";
  /** Rows of the step whose first-layer input is given here instead of their token's embedding. */
  inputRows?: Int32Array;
  /** [inputRows.length × hiddenSize] embeddings for those rows. */
  inputEmbeddings?: Float32Array;
}

/** One vision-encoder pass: patch grids and each image's normalised [channels, patch·rows, patch·cols] planes. */
export interface NativeVisionPass {
  patchRows: Int32Array;
  patchCols: Int32Array;
  pixels: Float32Array;
}

export interface NativeStepResult extends Partial<NativeSampleResult> {
  logits: Float32Array | null;
}

export interface NativeModel {
  load(
    weights: NativeWeights,
    spec: NativeModelSpec,
    backend: NativeBackendOptions,
    onProgress?: (ev: NativeProgressEvent) => void,
  ): Promise<void>;
  step(batch: NativeStepBatch): Promise<NativeStepResult>;
  /** Stops a running load at its next weight (it then rejects); no effect otherwise. */
  abort(): void;
  /**
   * Runs the vision encoder and projector over the pass's images: [tokens × hiddenSize] features, each image's merged
   * tokens in row-major order, images in order. One native call (step or encode) runs at a time.
   */
  encodeImages(pass: NativeVisionPass): Promise<Float32Array>;
  info(): {
    kernelPath: string;
    nvfp4Activations: string;
    weightBytes: number;
    /** The scratch arena: activations of the largest step and one chunk of logits. */
    scratchBytes: number;
    kvBytes: number;
    numBlocks: number;
    blockSize: number;
    hasVision: boolean;
  };
  dispose(): void;
}

export interface NativeBinding {
  abiVersion: number;
  NativeWeights: new () => NativeWeights;
  NativeModel: new () => NativeModel;
  systemInfo(): SystemInfo;
  /** Samples one token per row of logits [rows, vocab] (the same sampler step() uses). */
  sample(logits: Float32Array, vocab: number, sampling: NativeSamplingBatch): NativeSampleResult;
  /**
   * Every op of a backend against its reference op (native/checks/op_checks.h): the CPU's kernel path `path`, or
   * with `device` "cuda" / "cuda:N" the CUDA backend on that device (cuda_bridge.h).
   */
  opChecks(filter?: string, path?: string, device?: string): OpCheck[];
  /** The CUDA backend's layouts and launch plans checked on the CPU (cuda/layout/host_checks.cc); no GPU needed. */
  cudaLayoutChecks(filter?: string): OpCheck[];
  /**
   * Whole synthetic models (native/checks/model_checks.h) on two backends, "cpu", "cpu:<path>" (exact f32
   * activations), "cuda" or "cuda:N": prefill logits, greedy continuations and the candidate's batch invariance.
   */
  modelChecks(reference: string, candidate: string, filter?: string, continuation?: number): OpCheck[];
  /** Kernel micro-benchmarks: see native/checks/kernel_bench.cc and bench/kernels/. */
  kernelBench(name: string, params?: Record<string, number | string>): Record<string, number | string>;
  /**
   * The checks of a step without a model (tests; native/napi/step_checks_binding.h): the binding's whole check and
   * the backend's own, each one's error or null.
   */
  stepChecks(
    step: StepCheckInput,
    limits: StepCheckLimits,
  ): { binding: string | null; backend: string | null };
}

/** A step's arrays for stepChecks; the counts come from the array lengths. */
export interface StepCheckInput {
  tokens: Int32Array;
  positions: Int32Array;
  slotMapping: Int32Array;
  seqStarts: Int32Array;
  contextLens: Int32Array;
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  logitRows?: Int32Array;
  inputRows?: Int32Array;
  embeddingWidth?: number;
}

export interface StepCheckLimits {
  numBlocks: number;
  blockSize: number;
  vocab: number;
  hidden: number;
  maxStepTokens: number;
}

export interface OpCheck {
  op: string;
  params: string;
  error: number;
  maxAbsError: number;
  bound: number;
  ok: boolean;
}
