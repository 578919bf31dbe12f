/** Builds the NativeModelSpec (lib/native.ts) from a validated load plan: dimensions and tensor indices. */
import type { LoadPlan, PlannedModule } from "../checkpoint/load-plan";
import { CheckpointError } from "../errors";
import type {
  NativeExpertSpec,
  NativeLinearSpec,
  NativeLoadPlan,
  NativeModelSpec,
  NativeNormSpec,
  NativeVisionSpec,
} from "../native";
import { ropeInverseFrequencies } from "./yarn";

const FORMAT_CODE = { bf16: 0, fp8: 1, nvfp4: 2 } as const;

/** How the engine will drive the model: the KV pool and the scratch arena's sizes. */
export interface NativeRuntimeOptions {
  kvCache: NativeModelSpec["kvCache"];
  scratch: NativeModelSpec["scratch"];
}

export function buildNativeSpec(plan: LoadPlan, runtime: NativeRuntimeOptions): NativeModelSpec {
  const c = plan.config;
  const index = new Map<string, number>(plan.tensors.map((t, i) => [t.name, i]));
  const modules = new Map<string, PlannedModule>(plan.modules.map((m) => [m.spec.name, m]));
  const module = (name: string) => {
    const m = modules.get(name);
    if (!m) throw new CheckpointError(`module ${name} is missing from the load plan`);
    return m;
  };
  const tensor = (m: PlannedModule, part: keyof PlannedModule["tensors"]) => {
    const t = m.tensors[part];
    return t ? { index: index.get(t.name)!, dtype: t.dtype } : { index: -1, dtype: "F32" };
  };
  const linear = (name: string): NativeLinearSpec => {
    const m = module(name);
    // A convolution's [out, channels, kh, kw] kernels are the rows of an [out, channels · kh · kw] matrix.
    const [rows = 0, ...inner] = m.spec.shape;
    const cols = inner.reduce((a, b) => a * b, 1);
    const weight = tensor(m, m.format === "nvfp4" ? "weight_packed" : "weight");
    const scale = tensor(m, m.format === "nvfp4" ? "weight_global_scale" : "weight_scale");
    return {
      format: FORMAT_CODE[m.format],
      rows,
      cols,
      weight: weight.index,
      weightDtype: weight.dtype,
      blockScales: m.format === "nvfp4" ? tensor(m, "weight_scale").index : -1,
      scale: m.format === "bf16" ? -1 : scale.index,
      scaleDtype: scale.dtype,
    };
  };
  const norm = (name: string): NativeNormSpec => {
    const m = module(name);
    const w = tensor(m, "weight");
    return { weight: w.index, dtype: w.dtype, size: m.spec.shape[0] ?? 0 };
  };
  const bias = (name: string): NativeNormSpec => {
    const m = module(name);
    const b = tensor(m, "bias");
    return { weight: b.index, dtype: b.dtype, size: m.spec.shape[0] ?? 0 };
  };
  const expert = (prefix: string): NativeExpertSpec => ({
    w1: linear(`${prefix}.w1`),
    w2: linear(`${prefix}.w2`),
    w3: linear(`${prefix}.w3`),
  });
  const layers = Array.from({ length: c.numLayers }, (_, l) => {
    const p = `layers.${l}`;
    return {
      attentionNorm: norm(`${p}.attention_norm`),
      wqA: linear(`${p}.attention.wq_a`),
      qANorm: norm(`${p}.attention.q_a_norm`),
      wqB: linear(`${p}.attention.wq_b`),
      wkvA: linear(`${p}.attention.wkv_a_with_mqa`),
      kvANorm: norm(`${p}.attention.kv_a_norm`),
      wkvB: linear(`${p}.attention.wkv_b`),
      wo: linear(`${p}.attention.wo`),
      ffnNorm: norm(`${p}.ffn_norm`),
      router: linear(`${p}.gate`),
      shared: c.moe.numSharedExperts > 0 ? expert(`${p}.shared_experts`) : null,
      experts: Array.from({ length: c.moe.numExperts }, (_, e) => expert(`${p}.experts.${e}`)),
    };
  });
  return {
    dims: {
      hiddenSize: c.hiddenSize,
      numLayers: c.numLayers,
      vocabSize: c.vocabSize,
      numHeads: c.numHeads,
      qLoraRank: c.qLoraRank,
      kvLoraRank: c.kvLoraRank,
      qkNopeHeadDim: c.qkNopeHeadDim,
      qkRopeHeadDim: c.qkRopeHeadDim,
      vHeadDim: c.vHeadDim,
      numExperts: c.moe.numExperts,
      numExpertsPerToken: c.moe.numExpertsPerToken,
      normTopkProb: c.moe.normTopkProb,
      routedScalingFactor: c.moe.routedScalingFactor,
      rmsNormEps: c.rmsNormEps,
      softmaxScale: c.softmaxScale,
      invFreq: ropeInverseFrequencies(c),
      ropeAttentionFactor: c.rope.attentionFactor,
      queryScaleBeta: c.llama4Scaling?.beta ?? 0,
      queryScaleOriginalMax: c.llama4Scaling?.originalMaxPositionEmbeddings ?? 1,
    },
    embedding: linear("tok_embeddings"),
    finalNorm: norm("norm"),
    lmHead: linear("output"),
    layers,
    kvCache: runtime.kvCache,
    scratch: runtime.scratch,
    vision: c.vision === null ? null : visionSpec(plan, linear, norm, bias),
  };
}

function visionSpec(
  plan: LoadPlan,
  linear: (name: string) => NativeLinearSpec,
  norm: (name: string) => NativeNormSpec,
  bias: (name: string) => NativeNormSpec,
): NativeVisionSpec {
  const c = plan.config;
  const v = c.vision!;
  const layers = Array.from({ length: v.numLayers }, (_, j) => {
    const p = `vision_encoder.transformer.layers.${j}`;
    return {
      attentionNorm: norm(`${p}.attention_norm`),
      ffnNorm: norm(`${p}.ffn_norm`),
      wq: linear(`${p}.attention.wq`),
      wk: linear(`${p}.attention.wk`),
      wv: linear(`${p}.attention.wv`),
      wo: linear(`${p}.attention.wo`),
      w1: linear(`${p}.feed_forward.w1`),
      w2: linear(`${p}.feed_forward.w2`),
      w3: linear(`${p}.feed_forward.w3`),
    };
  });
  return {
    dims: {
      hiddenSize: v.hiddenSize,
      numLayers: v.numLayers,
      numHeads: v.numHeads,
      headDim: v.headDim,
      intermediateSize: v.intermediateSize,
      numChannels: v.numChannels,
      patchSize: v.patchSize,
      spatialMergeSize: v.spatialMergeSize,
      textHiddenSize: c.hiddenSize,
      ropeTheta: v.ropeTheta,
      rmsNormEps: v.rmsNormEps,
      preMmNorm: v.addPreMmProjectorLayerNorm,
      projectorBias: v.projectorBias,
      qkRowsPermuted: plan.layout === "hf",
    },
    patchConv: linear("vision_encoder.patch_conv"),
    lnPre: norm("vision_encoder.ln_pre"),
    layers,
    preMmNorm: v.addPreMmProjectorLayerNorm ? norm("pre_mm_projector_norm") : null,
    merging: v.spatialMergeSize > 1 ? linear("patch_merger.merging_layer") : null,
    wIn: linear("vision_language_adapter.w_in"),
    wOut: linear("vision_language_adapter.w_out"),
    wInBias: v.projectorBias ? bias("vision_language_adapter.w_in") : null,
    wOutBias: v.projectorBias ? bias("vision_language_adapter.w_out") : null,
  };
}

/** The files and tensor ranges NativeWeights.load maps, from a checkpoint's load plan. */
export function nativeLoadPlan(plan: LoadPlan): NativeLoadPlan {
  return {
    files: plan.files.map((f) => ({
      path: f.path,
      size: f.size,
      ...(f.identity ? { identity: f.identity } : {}),
    })),
    tensors: plan.tensors.map((t) => ({
      name: t.name,
      file: t.fileIndex,
      offset: t.offset,
      length: t.length,
    })),
    prefetch: false,
  };
}
