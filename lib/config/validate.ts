/** Cross-field checks on a parsed ModelConfig; returns it deep-frozen. */
import { ConfigError } from "../errors";
import { deepFreeze, type ModelConfig } from "./model-config";

export function validateModelConfig(c: ModelConfig): ModelConfig {
  const fail = (field: string, message: string): never => {
    throw new ConfigError(c.sourceFile, field, message);
  };
  if (c.numKvHeads !== c.numHeads) {
    fail(
      "n_kv_heads",
      `MLA needs as many key/value heads as query heads (${c.numHeads}), found ${c.numKvHeads}`,
    );
  }
  if (c.qkRopeHeadDim % 2 !== 0)
    fail("qk_rope_head_dim", `must be even (RoPE rotates pairs), found ${c.qkRopeHeadDim}`);
  if (c.moe.numExpertsPerToken > c.moe.numExperts) {
    fail(
      "num_experts_per_tok",
      `top-k (${c.moe.numExpertsPerToken}) exceeds the number of experts (${c.moe.numExperts})`,
    );
  }
  if (c.moe.numExpertGroups !== 1 || c.moe.numExpertGroupsPerToken !== 1) {
    fail("num_expert_groups", "grouped expert routing is not supported (Mistral Small 4 uses one group)");
  }
  if (c.firstKDenseReplace !== 0) {
    fail(
      "first_k_dense_replace",
      `dense FFN layers are not supported (Mistral Small 4 has none), found ${c.firstKDenseReplace}`,
    );
  }
  if (c.moe.numSharedExperts > 1)
    fail("num_shared_experts", `at most one shared expert is supported, found ${c.moe.numSharedExperts}`);
  if (c.tieWordEmbeddings)
    fail("tied_embeddings", "tied input/output embeddings are not supported (MS4 is untied)");
  if (c.rope.type === "yarn" && c.rope.factor < 1)
    fail("yarn.factor", `must be >= 1, found ${c.rope.factor}`);
  for (const [field, id] of [
    ["bos_token_id", c.bosTokenId],
    ["eos_token_id", c.eosTokenId],
    ["pad_token_id", c.padTokenId],
  ] as const) {
    if (id >= c.vocabSize) fail(field, `token id ${id} is outside the vocabulary (${c.vocabSize})`);
  }
  // Derived values reach the kernels: a YaRN scale that overflows (a huge factor or mscale_all_dim) must not become
  // an infinite softmax scale (found by fuzzing, test/fuzz/targets/model-config.ts).
  if (!(Number.isFinite(c.softmaxScale) && c.softmaxScale > 0)) {
    fail(
      "mscale_all_dim",
      `gives a softmax scale of ${c.softmaxScale} (YaRN factor ${c.rope.factor}, mscale_all_dim ${c.rope.mscaleAllDim}); ` +
        "it must be a positive finite number",
    );
  }
  if (!(Number.isFinite(c.rope.attentionFactor) && c.rope.attentionFactor > 0)) {
    fail(
      "mscale",
      `gives a RoPE attention factor of ${c.rope.attentionFactor} (YaRN factor ${c.rope.factor}, mscale ${c.rope.mscale}, ` +
        `mscale_all_dim ${c.rope.mscaleAllDim}); it must be a positive finite number`,
    );
  }
  const nonFinite = firstNonFinite(c, "");
  if (nonFinite !== undefined) fail(nonFinite, "is not a finite number");
  const v = c.vision;
  if (v) {
    if (v.hiddenSize !== v.numHeads * v.headDim) {
      fail(
        "vision.head_dim",
        `hidden_size ${v.hiddenSize} != num_attention_heads ${v.numHeads} × head_dim ${v.headDim}`,
      );
    }
    if (v.headDim % 4 !== 0) fail("vision.head_dim", "2D RoPE needs a head_dim divisible by 4");
    if (v.projectorHiddenAct !== "gelu") {
      fail(
        "projector_hidden_act",
        `only "gelu" (the exact erf form, docs/model.md#patch-merger-and-projector) is supported, found "${v.projectorHiddenAct}"`,
      );
    }
    if (v.imageTokenId >= c.vocabSize)
      fail("vision.image_token_id", `outside the vocabulary (${c.vocabSize})`);
  }
  return deepFreeze(c);
}

/** The path of the first number in `value` that is NaN or infinite. */
function firstNonFinite(value: unknown, path: string): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path || "(root)";
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = firstNonFinite(child, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}
