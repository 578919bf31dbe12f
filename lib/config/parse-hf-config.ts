/**
 * Hugging Face config.json → ModelConfig: the `mistral3` wrapper (text_config of model_type mistral4 plus
 * vision_config) or a bare `mistral4` config. Key names follow transformers' Mistral4Config.
 */
import type { JsonFields } from "./json-fields";
import {
  computeSoftmaxScale,
  type ModelConfig,
  plainRope,
  type RopeConfig,
  type VisionConfig,
  yarnMscale,
} from "./model-config";
import { parseHfQuantization } from "./quantization";
import { validateModelConfig } from "./validate";
import { parseVisionTower } from "./vision-tower";

export function parseHfConfig(root: JsonFields): ModelConfig {
  const modelType = root.string("model_type");
  let text: JsonFields;
  let vision: VisionConfig | null = null;
  if (modelType === "mistral3") {
    text = root.object("text_config");
    const tt = text.string("model_type", "mistral4");
    if (tt !== "mistral4") text.fail("model_type", `expected "mistral4", found ${JSON.stringify(tt)}`);
    const vc = root.optionalObject("vision_config");
    if (vc) vision = parseHfVision(vc, root);
  } else if (modelType === "mistral4") {
    text = root;
  } else {
    root.fail(
      "model_type",
      `expected "mistral3" (with a mistral4 text_config) or "mistral4", found ${JSON.stringify(modelType)}`,
    );
  }
  const numHeads = text.count("num_attention_heads");
  const qkNope = text.count("qk_nope_head_dim");
  const qkRope = text.count("qk_rope_head_dim");
  const rope = parseHfRope(text);
  const ropeParams = text.optionalObject("rope_parameters") ?? text.optionalObject("rope_scaling");
  const llamaBeta = ropeParams?.has("llama_4_scaling_beta")
    ? ropeParams.number("llama_4_scaling_beta", { min: 0 })
    : null;
  const quant = root.optionalObject("quantization_config") ?? text.optionalObject("quantization_config");
  if (text.has("n_group") && text.int("n_group", { min: 1 }) !== 1)
    text.fail("n_group", "only 1 expert group is supported");
  const topkMethod = text.has("topk_method") ? text.string("topk_method") : "greedy";
  if (topkMethod === "noaux_tc")
    text.fail("topk_method", "noaux_tc routing (score correction bias) is not supported");
  const scoring = text.string("scoring_func", "softmax");
  if (scoring !== "softmax") text.fail("scoring_func", `only softmax routing is supported, found ${scoring}`);
  const config: ModelConfig = {
    format: "hf",
    sourceFile: root.file,
    hiddenSize: text.count("hidden_size"),
    numLayers: text.count("num_hidden_layers"),
    vocabSize: text.count("vocab_size"),
    numHeads,
    numKvHeads: text.count("num_key_value_heads", numHeads),
    qLoraRank: text.count("q_lora_rank"),
    kvLoraRank: text.count("kv_lora_rank"),
    qkNopeHeadDim: qkNope,
    qkRopeHeadDim: qkRope,
    vHeadDim: text.count("v_head_dim"),
    qkHeadDim: qkNope + qkRope,
    intermediateSize: text.count("intermediate_size", 1),
    firstKDenseReplace: text.int("first_k_dense_replace", { min: 0 }, 0),
    moe: {
      numExperts: text.count("n_routed_experts"),
      numExpertsPerToken: text.count("num_experts_per_tok"),
      numSharedExperts: text.int("n_shared_experts", { min: 0 }, 0),
      expertHiddenSize: text.count("moe_intermediate_size"),
      routedScalingFactor: text.number("routed_scaling_factor", { above: 0 }, 1),
      numExpertGroups: text.count("n_group", 1),
      numExpertGroupsPerToken: text.count("topk_group", 1),
      normTopkProb: text.bool("norm_topk_prob", true),
      scoringFunc: "softmax",
    },
    rmsNormEps: text.number("rms_norm_eps", { above: 0 }),
    maxPositionEmbeddings: text.count("max_position_embeddings"),
    rope,
    llama4Scaling:
      llamaBeta !== null && rope.type === "yarn"
        ? { beta: llamaBeta, originalMaxPositionEmbeddings: rope.originalMaxPositionEmbeddings }
        : null,
    softmaxScale: computeSoftmaxScale(qkNope + qkRope, rope),
    tieWordEmbeddings: text.bool(
      "tie_word_embeddings",
      root.has("tie_word_embeddings") ? root.bool("tie_word_embeddings") : false,
    ),
    bosTokenId: text.int("bos_token_id", { min: 0 }, 1),
    eosTokenId: eosId(text),
    padTokenId: text.int("pad_token_id", { min: 0 }, 11),
    vision,
    quantization: parseHfQuantization(quant),
  };
  return validateModelConfig(config);
}

function eosId(text: JsonFields): number {
  const raw = text.obj["eos_token_id"];
  if (Array.isArray(raw) && typeof raw[0] === "number") return raw[0];
  return text.int("eos_token_id", { min: 0 }, 2);
}

function parseHfRope(text: JsonFields): RopeConfig {
  // transformers ≥ 4.5x: rope_parameters {rope_type|type, rope_theta, factor, …}; older: rope_theta + rope_scaling.
  const p = text.optionalObject("rope_parameters") ?? text.optionalObject("rope_scaling");
  const theta = p?.has("rope_theta")
    ? p.number("rope_theta", { above: 0 })
    : text.number("rope_theta", { above: 0 }, 10000);
  const type = p ? (p.has("rope_type") ? p.string("rope_type") : p.string("type", "default")) : "default";
  const interleaved = text.bool("rope_interleave", true);
  if (!p || type === "default") {
    return plainRope(theta, interleaved);
  }
  if (type !== "yarn" && type !== "deepseek_yarn")
    p.fail("rope_type", `only yarn RoPE scaling is supported, found ${type}`);
  const factor = p.number("factor", { above: 0 });
  const mscale = p.number("mscale", { min: 0 }, 1);
  const mscaleAllDim = p.number("mscale_all_dim", { min: 0 }, 0);
  const applyScale = p.bool("apply_yarn_scaling", true);
  const attentionFactor = p.has("attention_factor")
    ? p.number("attention_factor", { above: 0 })
    : yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
  return {
    type: "yarn",
    theta,
    factor,
    originalMaxPositionEmbeddings: p.count("original_max_position_embeddings"),
    betaFast: p.number("beta_fast", { above: 0 }, 32),
    betaSlow: p.number("beta_slow", { above: 0 }, 1),
    mscale,
    mscaleAllDim,
    applyScale,
    attentionFactor,
    interleaved,
  };
}

function parseHfVision(v: JsonFields, root: JsonFields): VisionConfig {
  const ropeParams = v.optionalObject("rope_parameters");
  return {
    ...parseVisionTower(v),
    ropeTheta: ropeParams?.has("rope_theta")
      ? ropeParams.number("rope_theta", { above: 0 })
      : v.number("rope_theta", { above: 0 }, 10000),
    spatialMergeSize: root.count("spatial_merge_size", 1),
    imageTokenId: root.int(
      "image_token_index",
      { min: 0 },
      root.has("image_token_id") ? root.int("image_token_id", { min: 0 }) : 10,
    ),
    imageBreakTokenId: 12,
    imageEndTokenId: 13,
    addPreMmProjectorLayerNorm: true,
    projectorBias: root.bool("multimodal_projector_bias", false),
    projectorHiddenAct: root.string("projector_hidden_act", "gelu"),
    rmsNormEps: 1e-5,
  };
}
