import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseModelConfig } from "../../lib/config/read-model-config";
import { ConfigError, UnsupportedQuantizationError } from "../../lib/errors";

const fixtures = join(__dirname, "..", "fixtures", "config");
const realParams = () => JSON.parse(readFileSync(join(fixtures, "mistral-small-4.params.json"), "utf8"));
const realHf = () => JSON.parse(readFileSync(join(fixtures, "mistral-small-4.config.json"), "utf8"));

describe("ModelConfig from the real model's published numbers", () => {
  const native = parseModelConfig(realParams(), "native", "params.json");
  const hf = parseModelConfig(realHf(), "hf", "config.json");

  test("params.json gives every field of docs/model.md#dimensions", () => {
    expect(native).toMatchObject({
      format: "native",
      hiddenSize: 4096,
      numLayers: 36,
      vocabSize: 131072,
      numHeads: 32,
      numKvHeads: 32,
      qLoraRank: 1024,
      kvLoraRank: 256,
      qkNopeHeadDim: 64,
      qkRopeHeadDim: 64,
      vHeadDim: 128,
      qkHeadDim: 128,
      firstKDenseReplace: 0,
      rmsNormEps: 1e-6,
      maxPositionEmbeddings: 1048576,
      tieWordEmbeddings: false,
      bosTokenId: 1,
      eosTokenId: 2,
      padTokenId: 11,
      moe: {
        numExperts: 128,
        numExpertsPerToken: 4,
        numSharedExperts: 1,
        expertHiddenSize: 2048,
        routedScalingFactor: 1,
      },
      rope: {
        type: "yarn",
        theta: 10000,
        factor: 128,
        originalMaxPositionEmbeddings: 8192,
        betaFast: 32,
        betaSlow: 1,
        interleaved: true,
      },
      llama4Scaling: { beta: 0.1, originalMaxPositionEmbeddings: 8192 },
    });
    expect(native.vision).toMatchObject({
      hiddenSize: 1024,
      numLayers: 24,
      numHeads: 16,
      headDim: 64,
      patchSize: 14,
      imageSize: 1540,
      spatialMergeSize: 2,
    });
    expect(native.quantization).toMatchObject({
      method: "compressed-tensors",
      format: "nvfp4-pack-quantized",
    });
    expect(native.quantization.groups[0]).toMatchObject({ format: "nvfp4", targets: ["Linear"] });
  });

  test("the softmax scale is 128^-0.5 · m² = 0.1949695 when YaRN scaling applies", () => {
    expect(native.softmaxScale).toBeCloseTo(0.1949695, 6);
    expect(hf.softmaxScale).toBeCloseTo(0.1949695, 6);
    expect(native.rope.attentionFactor).toBe(1);
    expect(hf.rope.attentionFactor).toBe(1);
  });

  test("yarn.apply_scale false keeps the plain 128^-0.5 = 0.0883883 scale", () => {
    const params = realParams();
    params.yarn.apply_scale = false;
    const c = parseModelConfig(params, "native", "params.json");
    expect(c.softmaxScale).toBeCloseTo(0.0883883, 6);
    expect(c.rope.applyScale).toBe(false);
  });

  test("HF config.json (mistral3 wrapper) and params.json describe the same text model", () => {
    for (const key of [
      "hiddenSize",
      "numLayers",
      "vocabSize",
      "qLoraRank",
      "kvLoraRank",
      "qkHeadDim",
      "vHeadDim",
      "rmsNormEps",
    ] as const) {
      expect(hf[key]).toBe(native[key]);
    }
    expect(hf.moe).toEqual(native.moe);
    expect(hf.llama4Scaling).toEqual(native.llama4Scaling);
    expect(hf.vision?.hiddenSize).toBe(1024);
  });

  test("a bare mistral4 config.json parses too", () => {
    const bare = { ...realHf().text_config };
    const c = parseModelConfig(bare, "hf", "config.json");
    expect(c.vision).toBeNull();
    expect(c.numLayers).toBe(36);
  });

  test("the config is deeply frozen", () => {
    expect(Object.isFrozen(native)).toBe(true);
    expect(Object.isFrozen(native.moe)).toBe(true);
    expect(Object.isFrozen(native.quantization.ignore)).toBe(true);
  });
});

describe("config errors name the file and the field", () => {
  // biome-ignore lint/suspicious/noExplicitAny: the JSON fixture is edited freely
  type Json = Record<string, any>;
  const cases: [string, (p: Json) => void, RegExp][] = [
    ["missing dim", (p) => delete p.dim, /params\.json \(dim\): missing required field/],
    ["wrong type", (p) => (p.n_layers = "36"), /params\.json \(n_layers\): expected a number/],
    ["fractional count", (p) => (p.n_heads = 3.5), /params\.json \(n_heads\): expected an integer/],
    [
      "zero experts",
      (p) => (p.moe.num_experts = 0),
      /params\.json \(moe\.num_experts\): expected a number >= 1/,
    ],
    ["top-k above experts", (p) => (p.moe.num_experts_per_tok = 200), /num_experts_per_tok/],
    ["kv heads differ", (p) => (p.n_kv_heads = 8), /n_kv_heads/],
    ["odd rope dims", (p) => (p.qk_rope_head_dim = 63), /qk_rope_head_dim/],
    ["dense layers", (p) => (p.moe.first_k_dense_replace = 3), /first_k_dense_replace/],
    ["yarn without factor", (p) => delete p.yarn.factor, /params\.json \(yarn\.factor\): missing/],
    ["non-object yarn", (p) => (p.yarn = 3), /params\.json \(yarn\): expected an object/],
    ["load-balancing bias", (p) => (p.moe.use_load_balancing_bias = true), /use_load_balancing_bias/],
  ];
  for (const [name, mutate, message] of cases) {
    test(`${name} is a ConfigError`, () => {
      const p = realParams();
      mutate(p);
      const run = () => parseModelConfig(p, "native", "params.json");
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(message);
    });
  }

  test("an HF config with another model_type is refused by name", () => {
    const c = realHf();
    c.text_config.model_type = "llama";
    expect(() => parseModelConfig(c, "hf", "config.json")).toThrow(
      /config\.json \(text_config\.model_type\): expected "mistral4"/,
    );
  });

  test("unsupported quantization is its own error type", () => {
    const p = realParams();
    p.quantization.config_groups.group_0.weights.num_bits = 3;
    expect(() => parseModelConfig(p, "native", "params.json")).toThrow(UnsupportedQuantizationError);
    const q = realParams();
    q.quantization = { qformat_weight: "int4" };
    expect(() => parseModelConfig(q, "native", "params.json")).toThrow(
      /qformat_weight "int4" is not supported/,
    );
  });

  test("FP8 per-tensor configs parse in both layouts", () => {
    const p = realParams();
    p.quantization = { qformat_weight: "fp8_e4m3", qscheme_act: "TENSOR" };
    expect(parseModelConfig(p, "native", "params.json").quantization).toMatchObject({
      method: "fp8",
      activationScheme: "static",
    });
    const h = realHf();
    h.quantization_config = {
      quant_method: "fp8",
      activation_scheme: "static",
      modules_to_not_convert: ["lm_head"],
    };
    expect(parseModelConfig(h, "hf", "config.json").quantization).toMatchObject({
      method: "fp8",
      ignore: ["lm_head"],
    });
  });

  test("FP8 in every form Mistral ships parses (docs/fp8-checkpoints.md); block-wise FP8 is refused", () => {
    const native = (quantization: unknown) => {
      const p = realParams();
      p.quantization = quantization;
      return parseModelConfig(p, "native", "params.json").quantization;
    };
    const hf = (quantizationConfig: unknown) => {
      const h = realHf();
      h.quantization_config = quantizationConfig;
      return parseModelConfig(h, "hf", "config.json").quantization;
    };
    expect(native({ qformat_weight: "fp8_e4m3", qscheme_act: "NO_SCALES" }).activationScheme).toBe("dynamic");
    expect(native({ qformat_weight: "fp8_e4m3", activation_scheme: "dynamic" }).activationScheme).toBe(
      "dynamic",
    );
    // The HF converter's block for the FP8 release.
    expect(
      hf({
        activation_scheme: "static",
        modules_to_not_convert: ["model.vision_tower", "model.multi_modal_projector", "lm_head"],
        quant_method: "fp8",
        weight_block_size: null,
      }).groups[0],
    ).toMatchObject({ format: "fp8", fp8Scales: "tensor" });
    const ct = (strategy: string, dynamic: boolean) => ({
      quant_method: "compressed-tensors",
      format: "float-quantized",
      quantization_status: "compressed",
      config_groups: {
        group_0: {
          targets: ["Linear"],
          weights: { num_bits: 8, type: "float", strategy, symmetric: true, dynamic: false },
          input_activations: { num_bits: 8, type: "float", strategy: dynamic ? "token" : "tensor", dynamic },
        },
      },
      ignore: ["lm_head", "re:.*\\.gate$"],
    });
    for (const parse of [native, hf]) {
      expect(parse(ct("tensor", false)).groups[0]).toMatchObject({ format: "fp8", fp8Scales: "tensor" });
      expect(parse(ct("channel", true)).groups[0]).toMatchObject({ format: "fp8", fp8Scales: "channel" });
      expect(() => parse(ct("block", true))).toThrow(UnsupportedQuantizationError);
    }
    expect(() => hf({ quant_method: "fp8", weight_block_size: [128, 128] })).toThrow(
      /block-wise FP8 \(weight_block_size\) is not supported/,
    );
  });
});

describe("derived values stay finite (found by fuzzing: test/fuzz/targets/model-config.ts)", () => {
  test("a YaRN mscale_all_dim that overflows the softmax scale is a ConfigError, not an infinite scale", () => {
    const hf = realHf();
    hf.text_config.rope_parameters.mscale_all_dim = 9.294729844154858e154;
    expect(() => parseModelConfig(hf, "hf", "config.json")).toThrow(ConfigError);
    expect(() => parseModelConfig(hf, "hf", "config.json")).toThrow(
      /mscale_all_dim.*gives a softmax scale of Infinity.*must be a positive finite number/,
    );
  });

  test("a number that overflows JSON (1e400 reads as Infinity) is a ConfigError naming the field", () => {
    const text = readFileSync(join(fixtures, "mistral-small-4.params.json"), "utf8").replace(
      /"norm_eps":\s*[^,}]+/,
      '"norm_eps": 1e400',
    );
    expect(() => parseModelConfig(JSON.parse(text), "native", "params.json")).toThrow(ConfigError);
  });
});
