import { describe, expect, test } from "vitest";
import {
  configuredWeightFormat,
  NO_QUANTIZATION,
  type QuantizationConfig,
} from "../../lib/config/quantization";

const nvfp4: QuantizationConfig = {
  method: "compressed-tensors",
  format: "nvfp4-pack-quantized",
  groups: [
    {
      name: "group_0",
      targets: ["Linear"],
      format: "nvfp4",
      fp8Scales: null,
      weights: {
        numBits: 4,
        type: "float",
        strategy: "tensor_group",
        groupSize: 16,
        symmetric: true,
        dynamic: false,
      },
      inputActivations: null,
    },
  ],
  ignore: ["lm_head", "re:.*self_attn.*", "re:.*mlp\\.gate$"],
  activationScheme: null,
};

describe("configuredWeightFormat: the quantization config decides each module's format", () => {
  test("Linear targets are quantized unless an ignore entry matches one of the module's names", () => {
    expect(
      configuredWeightFormat(
        nvfp4,
        ["layers.0.experts.3.w1", "model.layers.0.mlp.experts.3.gate_proj"],
        "Linear",
      ),
    ).toBe("nvfp4");
    expect(
      configuredWeightFormat(
        nvfp4,
        ["layers.0.attention.wq_a", "model.layers.0.self_attn.q_a_proj"],
        "Linear",
      ),
    ).toBe("bf16");
    expect(configuredWeightFormat(nvfp4, ["layers.0.gate", "model.layers.0.mlp.gate"], "Linear")).toBe(
      "bf16",
    );
    expect(configuredWeightFormat(nvfp4, ["output", "lm_head"], "Linear")).toBe("bf16");
  });

  test("re: patterns match from the start like Python's re.match, not anywhere", () => {
    const q = { ...nvfp4, ignore: ["re:mlp"] };
    expect(configuredWeightFormat(q, ["model.layers.0.mlp.gate"], "Linear")).toBe("nvfp4");
    const anchored = { ...nvfp4, ignore: ["re:model\\.layers\\.0\\."] };
    expect(configuredWeightFormat(anchored, ["model.layers.0.mlp.gate"], "Linear")).toBe("bf16");
  });

  test("a plain ignore entry covers the module and its children", () => {
    const q = { ...nvfp4, ignore: ["model.vision_tower"] };
    expect(
      configuredWeightFormat(q, ["model.vision_tower.transformer.layers.0.attention.q_proj"], "Linear"),
    ).toBe("bf16");
  });

  test("modules that are not targeted stay BF16; no quantization means BF16 everywhere", () => {
    expect(configuredWeightFormat(nvfp4, ["tok_embeddings"], "Embedding")).toBe("bf16");
    expect(configuredWeightFormat(NO_QUANTIZATION, ["layers.0.experts.0.w1"], "Linear")).toBe("bf16");
  });
});
