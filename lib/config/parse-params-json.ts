/**
 * Mistral-native params.json → ModelConfig. Key names follow mistral-inference / vLLM's Mistral adapter:
 * dim, n_layers, n_heads, … with `moe`, `yarn`, `llama_4_scaling`, `vision_encoder` and `quantization` blocks.
 */
import { ConfigError } from "../errors";
import { isObject, type JsonFields, type JsonObject } from "./json-fields";
import {
  computeSoftmaxScale,
  type ModelConfig,
  plainRope,
  type RopeConfig,
  type VisionConfig,
  yarnMscale,
} from "./model-config";
import { parseNativeQuantization } from "./quantization";
import { validateModelConfig } from "./validate";
import { parseVisionTower } from "./vision-tower";

export function parseParamsJson(f: JsonFields): ModelConfig {
  const numHeads = f.count("n_heads");
  const qkNope = f.count("qk_nope_head_dim");
  const qkRope = f.count("qk_rope_head_dim");
  const moe = f.object("moe");
  const rope = parseNativeRope(f);
  const llama4 = f.optionalObject("llama_4_scaling");
  const visionBlock =
    f.optionalObject("vision_encoder") ??
    f.optionalObject("multimodal")?.optionalObject("vision_encoder_args");
  const quantBlock = f.optionalObject("quantization") ?? f.optionalObject("quantization_config");
  const config: ModelConfig = {
    format: "native",
    sourceFile: f.file,
    hiddenSize: f.count("dim"),
    numLayers: f.count("n_layers"),
    vocabSize: f.count("vocab_size"),
    numHeads,
    numKvHeads: f.count("n_kv_heads", numHeads),
    qLoraRank: f.count("q_lora_rank"),
    kvLoraRank: f.count("kv_lora_rank"),
    qkNopeHeadDim: qkNope,
    qkRopeHeadDim: qkRope,
    vHeadDim: f.count("v_head_dim"),
    qkHeadDim: qkNope + qkRope,
    intermediateSize: f.count("hidden_dim"),
    firstKDenseReplace: moe.int("first_k_dense_replace", { min: 0 }, 0),
    moe: {
      numExperts: moe.count("num_experts"),
      numExpertsPerToken: moe.count("num_experts_per_tok"),
      numSharedExperts: moe.int("num_shared_experts", { min: 0 }, 0),
      expertHiddenSize: moe.count("expert_hidden_dim"),
      routedScalingFactor: moe.number("routed_scale", { above: 0 }, 1),
      numExpertGroups: moe.count("num_expert_groups", 1),
      numExpertGroupsPerToken: moe.count("num_expert_groups_per_tok", 1),
      normTopkProb: true,
      scoringFunc: "softmax",
    },
    rmsNormEps: f.number("norm_eps", { above: 0 }),
    maxPositionEmbeddings: f.count(
      "max_position_embeddings",
      f.has("max_seq_len") ? f.count("max_seq_len") : 128_000,
    ),
    rope,
    llama4Scaling: llama4
      ? {
          beta: llama4.number("beta", { min: 0 }),
          originalMaxPositionEmbeddings: llama4.count("original_max_position_embeddings"),
        }
      : null,
    softmaxScale: computeSoftmaxScale(qkNope + qkRope, rope),
    tieWordEmbeddings: f.bool("tied_embeddings", false),
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: 11,
    vision: visionBlock ? parseNativeVision(visionBlock) : null,
    quantization: parseNativeQuantization(quantBlock),
  };
  const moeRouting = moe.has("route_every_n") ? moe.int("route_every_n", { min: 1 }) : 1;
  if (moeRouting !== 1)
    moe.fail("route_every_n", `only 1 (every layer is MoE) is supported, found ${moeRouting}`);
  checkKnownKeys(f, moe.obj);
  return validateModelConfig(config);
}

function parseNativeRope(f: JsonFields): RopeConfig {
  const theta = f.number("rope_theta", { above: 0 }, 10000);
  const yarn = f.optionalObject("yarn");
  if (!yarn) {
    return plainRope(theta, true);
  }
  const factor = yarn.number("factor", { above: 0 });
  const applyScale = yarn.bool("apply_scale", true);
  // vLLM's adapter hard-codes mscale_all_dim = 1 for Mistral yarn and leaves mscale at its default of 1.
  const mscale = 1;
  const mscaleAllDim = 1;
  return {
    type: "yarn",
    theta,
    factor,
    originalMaxPositionEmbeddings: yarn.count("original_max_position_embeddings"),
    betaFast: yarn.number("beta", { above: 0 }),
    betaSlow: yarn.number("alpha", { above: 0 }),
    mscale,
    mscaleAllDim,
    applyScale,
    attentionFactor: applyScale ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim) : 1,
    interleaved: true,
  };
}

function parseNativeVision(v: JsonFields): VisionConfig {
  return {
    ...parseVisionTower(v),
    ropeTheta: v.number("rope_theta", { above: 0 }, 10000),
    spatialMergeSize: v.count("spatial_merge_size", 1),
    imageTokenId: v.int("image_token_id", { min: 0 }),
    imageBreakTokenId: v.has("image_break_token_id") ? v.int("image_break_token_id", { min: 0 }) : null,
    imageEndTokenId: v.has("image_end_token_id") ? v.int("image_end_token_id", { min: 0 }) : null,
    addPreMmProjectorLayerNorm: v.bool("add_pre_mm_projector_layer_norm", false),
    projectorBias: v.bool("adapter_bias", false),
    projectorHiddenAct: "gelu",
    rmsNormEps: 1e-5,
  };
}

/** Rejects the params that would change the math in ways this runtime does not implement. */
function checkKnownKeys(f: JsonFields, moe: JsonObject): void {
  if (isObject(moe) && moe["use_load_balancing_bias"] === true) {
    throw new ConfigError(
      f.file,
      "moe.use_load_balancing_bias",
      "expert score correction bias is not supported (MS4 has none)",
    );
  }
  if (f.has("sliding_window"))
    throw new ConfigError(f.file, "sliding_window", "sliding-window attention is not supported");
}
