/**
 * params.json (Mistral-native) and config.json (Hugging Face `mistral3` wrapper) for a generated checkpoint,
 * with the real model's YaRN, llama-4 scaling, routing and quantization structure.
 */
import type { Architecture } from "./presets";

/**
 * Weight formats of generated checkpoints: NVFP4 (compressed-tensors), BF16, and FP8 in each form Mistral
 * ships (docs/fp8-checkpoints.md): "fp8" is Mistral's own (params.json `qformat_weight`, HF
 * `quant_method: "fp8"`, static per-tensor activation scales); "fp8-ct" compressed-tensors `float-quantized`
 * with per-tensor weight and static activation scales; "fp8-ct-channel" per-channel weight scales with
 * dynamic per-token activations.
 */
export type GeneratedQuant = "nvfp4" | "fp8" | "fp8-ct" | "fp8-ct-channel" | "bf16";

export const GENERATED_QUANTS: readonly GeneratedQuant[] = [
  "nvfp4",
  "fp8",
  "fp8-ct",
  "fp8-ct-channel",
  "bf16",
];

/** compressed-tensors FP8 ignore list, in vLLM's module names (as Mistral's FP8 configs write it). */
const FP8_IGNORE = [
  "lm_head",
  "model.embed_tokens",
  "re:.*\\.gate$",
  "re:vision_encoder.*",
  "re:vision_language_adapter.*",
  "re:patch_merger.*",
  "re:.*vision_tower.*",
  "re:.*multi_modal_projector.*",
];

function fp8CompressedTensorsConfig(channel: boolean): Record<string, unknown> {
  const weights = {
    num_bits: 8,
    type: "float",
    strategy: channel ? "channel" : "tensor",
    symmetric: true,
    dynamic: false,
    group_size: null,
    observer: "minmax",
  };
  const inputActivations = {
    num_bits: 8,
    type: "float",
    strategy: channel ? "token" : "tensor",
    symmetric: true,
    dynamic: channel,
    group_size: null,
    observer: channel ? null : "minmax",
  };
  return {
    quant_method: "compressed-tensors",
    format: "float-quantized",
    quantization_status: "compressed",
    config_groups: {
      group_0: {
        targets: ["Linear"],
        weights,
        input_activations: inputActivations,
        output_activations: null,
      },
    },
    ignore: FP8_IGNORE,
  };
}

/** The compressed-tensors ignore list: experts (routed + shared) NVFP4; attention, router, lm_head, vision BF16. */
export const NVFP4_IGNORE = [
  "lm_head",
  "re:.*self_attn.*",
  "re:.*mlp\\.gate$",
  "re:.*vision_tower.*",
  "re:.*multi_modal_projector.*",
];

const YARN = { factor: 128, originalMax: 8192, betaFast: 32, betaSlow: 1 };
const MAX_POSITIONS = 8192 * 128;

function nvfp4QuantizationConfig(): Record<string, unknown> {
  const args = (dynamic: boolean | "local") => ({
    num_bits: 4,
    type: "float",
    strategy: "tensor_group",
    group_size: 16,
    symmetric: true,
    dynamic,
    observer: dynamic === "local" ? "static_minmax" : "static_minmax",
  });
  return {
    quant_method: "compressed-tensors",
    format: "nvfp4-pack-quantized",
    quantization_status: "compressed",
    config_groups: {
      group_0: {
        targets: ["Linear"],
        format: "nvfp4-pack-quantized",
        weights: args(false),
        input_activations: args("local"),
      },
    },
    ignore: NVFP4_IGNORE,
  };
}

export function makeParamsJson(
  a: Architecture,
  quant: GeneratedQuant,
  projectorBias = false,
): Record<string, unknown> {
  const params: Record<string, unknown> = {
    dim: a.hiddenSize,
    n_layers: a.numLayers,
    head_dim: a.qkNopeHeadDim + a.qkRopeHeadDim,
    hidden_dim: a.intermediateSize,
    n_heads: a.numHeads,
    n_kv_heads: a.numHeads,
    rope_theta: 10000.0,
    norm_eps: 1e-6,
    vocab_size: a.vocabSize,
    tied_embeddings: false,
    max_position_embeddings: MAX_POSITIONS,
    max_seq_len: MAX_POSITIONS,
    q_lora_rank: a.qLoraRank,
    kv_lora_rank: a.kvLoraRank,
    qk_nope_head_dim: a.qkNopeHeadDim,
    qk_rope_head_dim: a.qkRopeHeadDim,
    v_head_dim: a.vHeadDim,
    yarn: {
      original_max_position_embeddings: YARN.originalMax,
      factor: YARN.factor,
      apply_scale: true,
      beta: YARN.betaFast,
      alpha: YARN.betaSlow,
    },
    llama_4_scaling: { original_max_position_embeddings: YARN.originalMax, beta: 0.1 },
    moe: {
      expert_parallel: 1,
      expert_model_parallel: 1,
      route_every_n: 1,
      first_k_dense_replace: 0,
      num_experts: a.numExperts,
      num_experts_per_tok: a.numExpertsPerToken,
      num_expert_groups: 1,
      num_expert_groups_per_tok: 1,
      routed_scale: 1.0,
      expert_hidden_dim: a.expertHiddenSize,
      num_shared_experts: a.numSharedExperts,
    },
    vision_encoder:
      a.vision === null
        ? undefined
        : {
            image_token_id: 10,
            image_break_token_id: 12,
            image_end_token_id: 13,
            intermediate_size: a.vision.intermediateSize,
            num_hidden_layers: a.vision.numLayers,
            num_attention_heads: a.vision.numHeads,
            mm_projector_id: "patch_merge",
            spatial_merge_size: 2,
            hidden_size: a.vision.hiddenSize,
            num_channels: 3,
            image_size: a.vision.imageSize,
            max_image_size: a.vision.imageSize,
            patch_size: a.vision.patchSize,
            rope_theta: 10000.0,
            add_pre_mm_projector_layer_norm: true,
            adapter_bias: projectorBias,
          },
  };
  if (quant === "nvfp4") params.quantization = nvfp4QuantizationConfig();
  if (quant === "fp8") params.quantization = { qformat_weight: "fp8_e4m3", qscheme_act: "TENSOR" };
  if (quant === "fp8-ct" || quant === "fp8-ct-channel")
    params.quantization = fp8CompressedTensorsConfig(quant === "fp8-ct-channel");
  return params;
}

export function makeHfConfigJson(
  a: Architecture,
  quant: GeneratedQuant,
  projectorBias = false,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    architectures: ["Mistral3ForConditionalGeneration"],
    model_type: "mistral3",
    image_token_index: 10,
    spatial_merge_size: 2,
    projector_hidden_act: "gelu",
    multimodal_projector_bias: projectorBias,
    vision_feature_layer: -1,
    text_config: {
      model_type: "mistral4",
      vocab_size: a.vocabSize,
      hidden_size: a.hiddenSize,
      intermediate_size: a.intermediateSize,
      moe_intermediate_size: a.expertHiddenSize,
      num_hidden_layers: a.numLayers,
      num_attention_heads: a.numHeads,
      num_key_value_heads: a.numHeads,
      n_shared_experts: a.numSharedExperts,
      n_routed_experts: a.numExperts,
      routed_scaling_factor: 1.0,
      kv_lora_rank: a.kvLoraRank,
      q_lora_rank: a.qLoraRank,
      qk_rope_head_dim: a.qkRopeHeadDim,
      v_head_dim: a.vHeadDim,
      qk_nope_head_dim: a.qkNopeHeadDim,
      n_group: 1,
      topk_group: 1,
      num_experts_per_tok: a.numExpertsPerToken,
      first_k_dense_replace: 0,
      norm_topk_prob: true,
      hidden_act: "silu",
      max_position_embeddings: MAX_POSITIONS,
      rms_norm_eps: 1e-6,
      pad_token_id: 11,
      bos_token_id: 1,
      eos_token_id: 2,
      tie_word_embeddings: false,
      rope_interleave: true,
      attention_bias: false,
      rope_parameters: {
        type: "yarn",
        rope_theta: 10000.0,
        factor: YARN.factor,
        original_max_position_embeddings: YARN.originalMax,
        max_position_embeddings: MAX_POSITIONS,
        beta_fast: YARN.betaFast,
        beta_slow: YARN.betaSlow,
        mscale_all_dim: 1.0,
        mscale: 1.0,
        llama_4_scaling_beta: 0.1,
        partial_rotary_factor: a.qkRopeHeadDim / (a.qkNopeHeadDim + a.qkRopeHeadDim),
      },
    },
    vision_config:
      a.vision === null
        ? undefined
        : {
            model_type: "pixtral",
            hidden_size: a.vision.hiddenSize,
            intermediate_size: a.vision.intermediateSize,
            num_hidden_layers: a.vision.numLayers,
            num_attention_heads: a.vision.numHeads,
            head_dim: a.vision.hiddenSize / a.vision.numHeads,
            num_channels: 3,
            image_size: a.vision.imageSize,
            patch_size: a.vision.patchSize,
            hidden_act: "silu",
            rope_theta: 10000.0,
          },
  };
  if (quant === "nvfp4") config.quantization_config = nvfp4QuantizationConfig();
  if (quant === "fp8") {
    config.quantization_config = {
      quant_method: "fp8",
      activation_scheme: "static",
      modules_to_not_convert: ["model.vision_tower", "model.multi_modal_projector", "lm_head"],
      weight_block_size: null,
    };
  }
  if (quant === "fp8-ct" || quant === "fp8-ct-channel")
    config.quantization_config = fp8CompressedTensorsConfig(quant === "fp8-ct-channel");
  return config;
}
