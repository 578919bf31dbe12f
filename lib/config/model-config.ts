/**
 * ModelConfig: one validated, frozen description of a Mistral Small 4 checkpoint, whichever file it came
 * from (Mistral-native params.json or Hugging Face config.json). Each field says what it means.
 */
import type { QuantizationConfig } from "./quantization";

export interface MoeConfig {
  readonly numExperts: number; // n_routed_experts (128)
  readonly numExpertsPerToken: number; // top-k (4)
  readonly numSharedExperts: number; // always-on shared experts (1)
  readonly expertHiddenSize: number; // moe_intermediate_size (2048)
  readonly routedScalingFactor: number; // multiplies the renormalised top-k weights (1.0)
  readonly numExpertGroups: number; // n_group (1: grouped routing is degenerate)
  readonly numExpertGroupsPerToken: number; // topk_group (1)
  readonly normTopkProb: boolean; // renormalise the top-k probabilities to sum 1
  readonly scoringFunc: "softmax";
}

export interface RopeConfig {
  readonly type: "yarn" | "default";
  readonly theta: number;
  readonly factor: number;
  readonly originalMaxPositionEmbeddings: number;
  readonly betaFast: number;
  readonly betaSlow: number;
  readonly mscale: number;
  readonly mscaleAllDim: number;
  /** YaRN magnitude correction on the softmax scale (params.json yarn.apply_scale; true when absent). */
  readonly applyScale: boolean;
  /** Factor multiplied into cos/sin: mscale(factor, mscale) / mscale(factor, mscaleAllDim); 1.0 for MS4. */
  readonly attentionFactor: number;
  /** Rotate interleaved pairs (x0,x1),(x2,x3)… (GPT-J style); MS4 is true. */
  readonly interleaved: boolean;
}

export interface Llama4Scaling {
  readonly beta: number;
  readonly originalMaxPositionEmbeddings: number;
}

export interface VisionConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly numChannels: number;
  readonly patchSize: number;
  readonly imageSize: number;
  readonly ropeTheta: number;
  readonly spatialMergeSize: number;
  readonly imageTokenId: number;
  readonly imageBreakTokenId: number | null;
  readonly imageEndTokenId: number | null;
  readonly addPreMmProjectorLayerNorm: boolean;
  readonly projectorBias: boolean;
  readonly projectorHiddenAct: string;
  readonly rmsNormEps: number;
}

export interface ModelConfig {
  /** Which file described the model. */
  readonly format: "native" | "hf";
  readonly sourceFile: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly vocabSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly qLoraRank: number;
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  readonly qkRopeHeadDim: number;
  readonly vHeadDim: number;
  /** qkNopeHeadDim + qkRopeHeadDim (128). */
  readonly qkHeadDim: number;
  /** Dense FFN width (unused: every layer is MoE when firstKDenseReplace is 0). */
  readonly intermediateSize: number;
  readonly firstKDenseReplace: number;
  readonly moe: MoeConfig;
  readonly rmsNormEps: number;
  readonly maxPositionEmbeddings: number;
  readonly rope: RopeConfig;
  readonly llama4Scaling: Llama4Scaling | null;
  /** Attention softmax scale: qkHeadDim^-0.5, times m² when YaRN scaling applies (computeSoftmaxScale). */
  readonly softmaxScale: number;
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly vision: VisionConfig | null;
  readonly quantization: QuantizationConfig;
}

/** RoPE without YaRN scaling. */
export function plainRope(theta: number, interleaved: boolean): RopeConfig {
  return {
    type: "default",
    theta,
    factor: 1,
    originalMaxPositionEmbeddings: 0,
    betaFast: 0,
    betaSlow: 0,
    mscale: 1,
    mscaleAllDim: 0,
    applyScale: false,
    attentionFactor: 1,
    interleaved,
  };
}

/** YaRN magnitude factor: 0.1·m·ln(s) + 1 for s > 1, else 1 (HF/vLLM `yarn_get_mscale`). */
export function yarnMscale(factor: number, mscale: number): number {
  if (factor <= 1) return 1;
  return 0.1 * mscale * Math.log(factor) + 1;
}

/** The softmax scale: qkHeadDim^-0.5, times yarnMscale² when YaRN applies its scale (`applyScale`, `mscaleAllDim`). */
export function computeSoftmaxScale(qkHeadDim: number, rope: RopeConfig): number {
  const base = qkHeadDim ** -0.5;
  if (rope.type !== "yarn" || !rope.applyScale || !rope.mscaleAllDim) return base;
  const m = yarnMscale(rope.factor, rope.mscaleAllDim);
  return base * m * m;
}

/** Deep-freezes a plain object tree (arrays and objects). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
