/**
 * Quantization config: compressed-tensors (NVFP4 `nvfp4-pack-quantized`, FP8 `float-quantized` with
 * per-tensor or per-channel weight scales) or Mistral's own FP8 forms (params.json `qformat_weight`, HF
 * `quant_method: "fp8"`), plus the rule deciding each module's weight format from `targets`/`ignore`
 * (docs/model.md#which-modules-are-quantized, docs/fp8-checkpoints.md): the file decides, never a guess.
 */
import { UnsupportedQuantizationError } from "../errors";
import { isObject, type JsonFields } from "./json-fields";

/** How a module's weight is stored. */
export type WeightFormat = "bf16" | "fp8" | "nvfp4";

export interface QuantArgs {
  readonly numBits: number;
  readonly type: "float" | "int";
  readonly strategy: string;
  readonly groupSize: number | null;
  readonly symmetric: boolean;
  readonly dynamic: boolean | "local";
}

/** How many weight scales an FP8 matrix has: one, or one per output row (channel). */
export type Fp8Scales = "tensor" | "channel";

export interface QuantGroup {
  readonly name: string;
  readonly targets: readonly string[];
  readonly format: Exclude<WeightFormat, "bf16">;
  /** FP8 groups: the weight-scale granularity (null for NVFP4). */
  readonly fp8Scales: Fp8Scales | null;
  readonly weights: QuantArgs;
  readonly inputActivations: QuantArgs | null;
}

export interface QuantizationConfig {
  readonly method: "none" | "compressed-tensors" | "fp8";
  /** compressed-tensors top-level format, e.g. "nvfp4-pack-quantized". */
  readonly format: string | null;
  readonly groups: readonly QuantGroup[];
  /** Module names / "re:" patterns left unquantized. */
  readonly ignore: readonly string[];
  /** FP8: whether activation scales are static (stored) or dynamic. */
  readonly activationScheme: "static" | "dynamic" | null;
}

export const NO_QUANTIZATION: QuantizationConfig = {
  method: "none",
  format: null,
  groups: [],
  ignore: [],
  activationScheme: null,
};

function parseArgs(f: JsonFields): QuantArgs {
  const type = f.string("type", "int");
  if (type !== "float" && type !== "int")
    f.fail("type", `expected "float" or "int", found ${JSON.stringify(type)}`);
  const dynamicRaw = f.obj["dynamic"];
  const dynamic = dynamicRaw === "local" ? "local" : dynamicRaw === true;
  return {
    numBits: f.int("num_bits", { min: 1, max: 32 }),
    type,
    strategy: f.string("strategy", "tensor"),
    groupSize: f.has("group_size") ? f.int("group_size", { min: 1 }) : null,
    symmetric: f.bool("symmetric", true),
    dynamic,
  };
}

function groupFormat(name: string, w: QuantArgs, file: string): Pick<QuantGroup, "format" | "fp8Scales"> {
  if (w.type === "float" && w.numBits === 4 && w.strategy === "tensor_group" && w.groupSize === 16)
    return { format: "nvfp4", fp8Scales: null };
  if (w.type === "float" && w.numBits === 8 && (w.strategy === "tensor" || w.strategy === "channel"))
    return { format: "fp8", fp8Scales: w.strategy };
  throw new UnsupportedQuantizationError(
    `${file}: quantization group ${name} uses ${w.numBits}-bit ${w.type} weights with strategy ${w.strategy}` +
      `${w.groupSize ? ` (group ${w.groupSize})` : ""}; supported: NVFP4 (4-bit float, tensor_group, group 16) ` +
      "and FP8-E4M3 per-tensor or per-channel",
  );
}

function parseCompressedTensors(f: JsonFields): QuantizationConfig {
  const groupsField = f.object("config_groups");
  const groups: QuantGroup[] = [];
  for (const name of Object.keys(groupsField.obj)) {
    const g = groupsField.object(name);
    const weights = parseArgs(g.object("weights"));
    const ia = g.obj["input_activations"];
    const inputActivations = isObject(ia) ? parseArgs(g.object("input_activations")) : null;
    groups.push({
      name,
      targets: g.stringArray("targets"),
      ...groupFormat(name, weights, f.file),
      weights,
      inputActivations,
    });
  }
  if (groups.length === 0) f.fail("config_groups", "expected at least one quantization group");
  const status = f.string("quantization_status", "compressed");
  if (status !== "compressed" && status !== "frozen") {
    throw new UnsupportedQuantizationError(
      `${f.file}: quantization_status ${JSON.stringify(status)} is not supported (expected "compressed")`,
    );
  }
  return {
    method: "compressed-tensors",
    format: f.has("format") ? f.string("format") : null,
    groups,
    ignore: f.stringArray("ignore", []),
    activationScheme: null,
  };
}

/** HF `quantization_config` (compressed-tensors or fp8). */
export function parseHfQuantization(f: JsonFields | undefined): QuantizationConfig {
  if (!f) return NO_QUANTIZATION;
  const method = f.string("quant_method").toLowerCase().replace(/_/g, "-");
  if (method === "compressed-tensors") return parseCompressedTensors(f);
  if (method === "fp8") {
    if (f.has("weight_block_size")) {
      throw new UnsupportedQuantizationError(
        `${f.file}: block-wise FP8 (weight_block_size) is not supported`,
      );
    }
    const scheme = f.string("activation_scheme", "static");
    if (scheme !== "static" && scheme !== "dynamic")
      return f.fail("activation_scheme", `unknown scheme ${scheme}`);
    return {
      method: "fp8",
      format: null,
      groups: [fp8TensorGroup()],
      ignore: f.stringArray("modules_to_not_convert", []),
      activationScheme: scheme,
    };
  }
  throw new UnsupportedQuantizationError(
    `${f.file}: quant_method ${JSON.stringify(method)} is not supported`,
  );
}

/** Mistral-native params.json `quantization` (FP8 qformat) or a compressed-tensors block. */
export function parseNativeQuantization(f: JsonFields | undefined): QuantizationConfig {
  if (!f) return NO_QUANTIZATION;
  if (f.has("quant_method")) return parseHfQuantization(f);
  const qformat = f.string("qformat_weight");
  if (qformat !== "fp8_e4m3") {
    throw new UnsupportedQuantizationError(
      `${f.file}: quantization.qformat_weight ${JSON.stringify(qformat)} is not supported`,
    );
  }
  // qscheme_act: TENSOR (static per-tensor activation scales, qscale_act tensors) or NO_SCALES (dynamic);
  // some converters write activation_scheme ("static" / "dynamic") instead.
  const scheme = f.has("activation_scheme") ? f.string("activation_scheme") : undefined;
  if (scheme !== undefined && scheme !== "static" && scheme !== "dynamic")
    f.fail("activation_scheme", `expected "static" or "dynamic", found ${scheme}`);
  const qscheme = f.has("qscheme_act")
    ? f.string("qscheme_act")
    : scheme === "dynamic"
      ? "NO_SCALES"
      : "TENSOR";
  if (qscheme !== "TENSOR" && qscheme !== "NO_SCALES")
    f.fail("qscheme_act", `expected TENSOR or NO_SCALES, found ${qscheme}`);
  return {
    method: "fp8",
    format: null,
    groups: [fp8TensorGroup()],
    // The HF convert script leaves these in BF16 for this scheme (docs/model.md#which-modules-are-quantized).
    ignore: [
      "model.vision_tower",
      "model.multi_modal_projector",
      "lm_head",
      "re:^vision_encoder\\.",
      "re:^vision_language_adapter\\.",
      "re:^patch_merger\\.",
    ],
    activationScheme: qscheme === "NO_SCALES" ? "dynamic" : "static",
  };
}

function fp8TensorGroup(): QuantGroup {
  const args: QuantArgs = {
    numBits: 8,
    type: "float",
    strategy: "tensor",
    groupSize: null,
    symmetric: true,
    dynamic: false,
  };
  return {
    name: "fp8",
    targets: ["Linear"],
    format: "fp8",
    fp8Scales: "tensor",
    weights: args,
    inputActivations: null,
  };
}

/** Python-`re.match`-style test of one target/ignore entry against a module name. */
function entryMatches(entry: string, name: string): boolean {
  if (entry.startsWith("re:")) {
    try {
      return new RegExp(`^(?:${entry.slice(3)})`).test(name);
    } catch {
      return false;
    }
  }
  return entry === name || name.startsWith(`${entry}.`);
}

/**
 * The quantization group that applies to a module known by several names (native, HF, vLLM), or null when
 * it stays BF16. `moduleClass` is "Linear" for linear layers ("Embedding", "RMSNorm", … for the rest).
 */
export function configuredQuantGroup(
  q: QuantizationConfig,
  aliases: readonly string[],
  moduleClass: string,
): QuantGroup | null {
  if (q.method === "none") return null;
  if (q.ignore.some((entry) => aliases.some((a) => entryMatches(entry, a)))) return null;
  for (const group of q.groups) {
    const targeted = group.targets.some((t) => t === moduleClass || aliases.some((a) => entryMatches(t, a)));
    if (targeted) return group;
  }
  return null;
}

/** The weight format the config asks for (see configuredQuantGroup). */
export function configuredWeightFormat(
  q: QuantizationConfig,
  aliases: readonly string[],
  moduleClass: string,
): WeightFormat {
  return configuredQuantGroup(q, aliases, moduleClass)?.format ?? "bf16";
}
