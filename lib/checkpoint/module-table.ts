/**
 * Every module (weight-bearing layer) of the model as the config describes it, under one canonical name
 * (the Mistral-native name, e.g. `layers.3.attention.wq_a`), with the other names checkpoints and
 * quantization configs use for it (HF on-disk, HF/vLLM in-memory) and its logical weight shape.
 */
import type { ModelConfig } from "../config/model-config";

export type ModuleKind = "linear" | "norm" | "embedding" | "conv";
export type ModuleGroup =
  | "embedding"
  | "lm_head"
  | "norm"
  | "attention"
  | "router"
  | "expert"
  | "shared_expert"
  | "vision"
  | "projector";

export interface ModuleSpec {
  readonly name: string;
  readonly kind: ModuleKind;
  readonly group: ModuleGroup;
  /** Logical weight shape: [out, in] for linear layers, [n] for norms, [vocab, dim] for embeddings. */
  readonly shape: readonly number[];
  /** Other names of this module: HF in-memory (v4 and v5), HF on-disk, vLLM. Used to match `ignore` lists. */
  readonly aliases: readonly string[];
  readonly layer?: number;
  readonly expert?: number;
  /** Has a bias vector beside the weight (vision projector with adapter_bias). */
  readonly hasBias?: boolean;
}

function textAliases(hfSuffix: string): string[] {
  // HF v4 in-memory / vLLM: model.X ; v5 in-memory: model.language_model.X ; on-disk: language_model.model.X
  return [`model.${hfSuffix}`, `model.language_model.${hfSuffix}`, `language_model.model.${hfSuffix}`];
}

export function buildModuleTable(c: ModelConfig): ModuleSpec[] {
  const m: ModuleSpec[] = [];
  const D = c.hiddenSize;
  const H = c.numHeads;
  const add = (
    name: string,
    kind: ModuleKind,
    group: ModuleGroup,
    shape: number[],
    aliases: string[],
    extra: Partial<ModuleSpec> = {},
  ) => m.push({ name, kind, group, shape, aliases: [name, ...aliases], ...extra });

  add("tok_embeddings", "embedding", "embedding", [c.vocabSize, D], textAliases("embed_tokens"));
  for (let l = 0; l < c.numLayers; l++) {
    const p = `layers.${l}`;
    const hp = `layers.${l}`;
    const L = { layer: l };
    add(`${p}.attention_norm`, "norm", "norm", [D], textAliases(`${hp}.input_layernorm`), L);
    add(
      `${p}.attention.wq_a`,
      "linear",
      "attention",
      [c.qLoraRank, D],
      textAliases(`${hp}.self_attn.q_a_proj`),
      L,
    );
    add(
      `${p}.attention.q_a_norm`,
      "norm",
      "norm",
      [c.qLoraRank],
      textAliases(`${hp}.self_attn.q_a_layernorm`),
      L,
    );
    add(
      `${p}.attention.wq_b`,
      "linear",
      "attention",
      [H * c.qkHeadDim, c.qLoraRank],
      textAliases(`${hp}.self_attn.q_b_proj`),
      L,
    );
    add(
      `${p}.attention.wkv_a_with_mqa`,
      "linear",
      "attention",
      [c.kvLoraRank + c.qkRopeHeadDim, D],
      textAliases(`${hp}.self_attn.kv_a_proj_with_mqa`),
      L,
    );
    add(
      `${p}.attention.kv_a_norm`,
      "norm",
      "norm",
      [c.kvLoraRank],
      textAliases(`${hp}.self_attn.kv_a_layernorm`),
      L,
    );
    add(
      `${p}.attention.wkv_b`,
      "linear",
      "attention",
      [H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank],
      textAliases(`${hp}.self_attn.kv_b_proj`),
      L,
    );
    add(
      `${p}.attention.wo`,
      "linear",
      "attention",
      [D, H * c.vHeadDim],
      textAliases(`${hp}.self_attn.o_proj`),
      L,
    );
    add(`${p}.ffn_norm`, "norm", "norm", [D], textAliases(`${hp}.post_attention_layernorm`), L);
    add(`${p}.gate`, "linear", "router", [c.moe.numExperts, D], textAliases(`${hp}.mlp.gate`), L);
    const I = c.moe.expertHiddenSize;
    const hfNames = { w1: "gate_proj", w2: "down_proj", w3: "up_proj" } as const;
    if (c.moe.numSharedExperts > 0) {
      const S = I * c.moe.numSharedExperts;
      for (const w of ["w1", "w2", "w3"] as const) {
        const shape = w === "w2" ? [D, S] : [S, D];
        add(
          `${p}.shared_experts.${w}`,
          "linear",
          "shared_expert",
          shape,
          textAliases(`${hp}.mlp.shared_experts.${hfNames[w]}`),
          L,
        );
      }
    }
    for (let e = 0; e < c.moe.numExperts; e++) {
      for (const w of ["w1", "w2", "w3"] as const) {
        const shape = w === "w2" ? [D, I] : [I, D];
        add(
          `${p}.experts.${e}.${w}`,
          "linear",
          "expert",
          shape,
          textAliases(`${hp}.mlp.experts.${e}.${hfNames[w]}`),
          {
            layer: l,
            expert: e,
          },
        );
      }
    }
  }
  add("norm", "norm", "norm", [D], textAliases("norm"));
  add(
    "output",
    "linear",
    "lm_head",
    [c.vocabSize, D],
    ["lm_head", "language_model.lm_head", "model.lm_head"],
  );

  const v = c.vision;
  if (v) {
    const vt = (s: string) => [`vision_tower.${s}`, `model.vision_tower.${s}`];
    const Dv = v.hiddenSize;
    add(
      "vision_encoder.patch_conv",
      "conv",
      "vision",
      [Dv, v.numChannels, v.patchSize, v.patchSize],
      vt("patch_conv"),
    );
    add("vision_encoder.ln_pre", "norm", "vision", [Dv], vt("ln_pre"));
    for (let j = 0; j < v.numLayers; j++) {
      const p = `vision_encoder.transformer.layers.${j}`;
      const hp = `transformer.layers.${j}`;
      for (const [w, hf] of [
        ["wq", "q_proj"],
        ["wk", "k_proj"],
        ["wv", "v_proj"],
        ["wo", "o_proj"],
      ] as const) {
        add(`${p}.attention.${w}`, "linear", "vision", [Dv, Dv], vt(`${hp}.attention.${hf}`), { layer: j });
      }
      add(`${p}.attention_norm`, "norm", "vision", [Dv], vt(`${hp}.attention_norm`), { layer: j });
      add(`${p}.ffn_norm`, "norm", "vision", [Dv], vt(`${hp}.ffn_norm`), { layer: j });
      add(
        `${p}.feed_forward.w1`,
        "linear",
        "vision",
        [v.intermediateSize, Dv],
        vt(`${hp}.feed_forward.gate_proj`),
        { layer: j },
      );
      add(
        `${p}.feed_forward.w2`,
        "linear",
        "vision",
        [Dv, v.intermediateSize],
        vt(`${hp}.feed_forward.down_proj`),
        { layer: j },
      );
      add(
        `${p}.feed_forward.w3`,
        "linear",
        "vision",
        [v.intermediateSize, Dv],
        vt(`${hp}.feed_forward.up_proj`),
        { layer: j },
      );
    }
    const mp = (s: string) => [`multi_modal_projector.${s}`, `model.multi_modal_projector.${s}`];
    if (v.addPreMmProjectorLayerNorm) add("pre_mm_projector_norm", "norm", "projector", [Dv], mp("norm"));
    const merge = v.spatialMergeSize;
    if (merge > 1) {
      add(
        "patch_merger.merging_layer",
        "linear",
        "projector",
        [Dv, Dv * merge * merge],
        mp("patch_merger.merging_layer"),
      );
    }
    const bias = { hasBias: v.projectorBias };
    add("vision_language_adapter.w_in", "linear", "projector", [D, Dv], mp("linear_1"), bias);
    add("vision_language_adapter.w_out", "linear", "projector", [D, D], mp("linear_2"), bias);
  }
  return m;
}

/** PyTorch class name of a module, as compressed-tensors `targets` name them. */
export function moduleClass(spec: ModuleSpec): string {
  switch (spec.kind) {
    case "linear":
      return "Linear";
    case "embedding":
      return "Embedding";
    case "conv":
      return "Conv2d";
    default:
      return "RMSNorm";
  }
}
