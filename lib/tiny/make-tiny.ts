/**
 * Writes a deterministic generated checkpoint with the real Mistral Small 4 architecture (docs/model.md)
 * at a chosen size: config (params.json or config.json), safetensors weights (single file or sharded with an
 * index), a small real tekken.json, and ms4-generated.json saying what it is. Random weights: the text it
 * produces is meaningless; it exists to exercise the whole pipeline.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildModuleTable, type ModuleSpec } from "../checkpoint/module-table";
import type { SafetensorsDtype } from "../checkpoint/safetensors/dtypes";
import { SafetensorsWriter } from "../checkpoint/safetensors/write";
import { plannedWeightFormat } from "../checkpoint/weight-format";
import type { ModelConfig } from "../config/model-config";
import { parseModelConfig } from "../config/read-model-config";
import { InvalidArgumentError } from "../errors";
import { GENERATED_QUANTS, type GeneratedQuant, makeHfConfigJson, makeParamsJson } from "./config-files";
import { PRESET_NAMES, PRESETS, type PresetName } from "./presets";
import {
  amaxOf,
  type Fp8Layout,
  hfVisionQkRows,
  moduleFloats,
  moduleTensors,
  quantizeFp8,
  type TensorBytes,
} from "./tensor-data";
import { makeTinyTekken } from "./tiny-tokenizer";

export interface MakeTinyOptions {
  layout?: "native" | "hf";
  quant?: GeneratedQuant;
  seed?: number;
  preset?: PresetName;
  /** Number of safetensors shards (default: 1 for native, 2 for hf); > 1 writes an index file. */
  shards?: number;
  /** HF layout only: store routed experts as fused 3-D tensors (default: true for bf16, false otherwise). */
  fusedExperts?: boolean;
  /** Write the vision tower and projector (default true); false gives a text-only checkpoint. */
  vision?: boolean;
  /** Give the projector's two linears biases (adapter_bias / multimodal_projector_bias; default false). */
  projectorBias?: boolean;
  onProgress?: (ev: { phase: string; done: number; total: number }) => void;
}

export interface MakeTinyResult {
  dir: string;
  config: ModelConfig;
  files: string[];
  bytes: number;
}

interface FileTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: number;
  chunks: (() => Uint8Array)[];
}

// FP8 scale names: Mistral-native files use qscale_*; Mistral's HF FP8 form (quant_method "fp8") uses
// weight_scale_inv / activation_scale; compressed-tensors HF files keep weight_scale / input_scale.
const NATIVE_PART = { weight_scale: "qscale_weight", input_scale: "qscale_act" } as Record<string, string>;
const HF_FP8_PART = { weight_scale: "weight_scale_inv", input_scale: "activation_scale" } as Record<
  string,
  string
>;

function fp8Layout(quant: GeneratedQuant): Fp8Layout {
  return quant === "fp8-ct-channel"
    ? { scales: "channel", staticActivations: false }
    : { scales: "tensor", staticActivations: true };
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dtypeBytes(dtype: TensorBytes["dtype"]): number {
  return dtype === "BF16" ? 2 : dtype === "F32" ? 4 : 1;
}

export async function makeTiny(dir: string, options: MakeTinyOptions = {}): Promise<MakeTinyResult> {
  const layout = options.layout ?? "native";
  const quant = options.quant ?? "nvfp4";
  const seed = options.seed ?? 0;
  const preset = options.preset ?? "tiny";
  if (layout !== "native" && layout !== "hf")
    throw new InvalidArgumentError("layout", '"native" or "hf"', layout);
  if (!GENERATED_QUANTS.includes(quant))
    throw new InvalidArgumentError("quant", GENERATED_QUANTS.join(" | "), quant);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new InvalidArgumentError("seed", "an integer in [0, 2^32)", seed);
  if (!PRESET_NAMES.includes(preset))
    throw new InvalidArgumentError("preset", PRESET_NAMES.join(" | "), preset);
  if (options.vision !== undefined && typeof options.vision !== "boolean")
    throw new InvalidArgumentError("vision", "a boolean", options.vision);
  const arch = options.vision === false ? { ...PRESETS[preset], vision: null } : PRESETS[preset];
  // Fused 3-D experts: the HF layout of BF16 and of Mistral's FP8 release (one scale per expert for gate+up).
  const fused = layout === "hf" && (options.fusedExperts ?? (quant === "bf16" || quant === "fp8"));
  if (fused && quant !== "bf16" && quant !== "fp8")
    throw new InvalidArgumentError("fusedExperts", "only with --quant bf16 or fp8", true);
  const numShards = options.shards ?? (layout === "hf" ? 2 : 1);
  if (!Number.isSafeInteger(numShards) || numShards < 1)
    throw new InvalidArgumentError("shards", "a positive integer", numShards);

  await mkdir(dir, { recursive: true });
  await removeCheckpointFiles(dir);
  const configFile = layout === "native" ? "params.json" : "config.json";
  const bias = options.projectorBias === true;
  const configObj =
    layout === "native" ? makeParamsJson(arch, quant, bias) : makeHfConfigJson(arch, quant, bias);
  // A folder holds one layout at a time: remove the other layout's config so detection is unambiguous.
  await rm(join(dir, layout === "native" ? "config.json" : "params.json"), { force: true });
  await writeFile(join(dir, configFile), `${JSON.stringify(configObj, null, 2)}\n`);
  const config = parseModelConfig(configObj, layout, join(dir, configFile));

  const tensors = planFileTensors(config, layout, seed, fused, quant);
  const files = await writeShards(dir, layout, tensors, numShards, options.onProgress);
  // The prompt's image grid follows the tower's largest image side, as the real model's tokenizer does.
  const tekken = makeTinyTekken(
    config.vocabSize,
    config.vision === null
      ? undefined
      : {
          image_patch_size: config.vision.patchSize,
          max_image_size: config.vision.imageSize,
          spatial_merge_size: config.vision.spatialMergeSize,
        },
  );
  await writeFile(join(dir, "tekken.json"), JSON.stringify(tekken));
  await writeFile(
    join(dir, "ms4-generated.json"),
    `${JSON.stringify(
      {
        generator: "mistral4-runtime make-tiny",
        warning: "random weights: this model produces meaningless text; it exists to test the runtime",
        preset,
        layout,
        quant,
        seed,
        fusedExperts: fused,
        vision: config.vision !== null,
        projectorBias: bias,
      },
      null,
      2,
    )}\n`,
  );
  return { dir, config, files, bytes: tensors.reduce((a, t) => a + t.bytes, 0) };
}

/** Removes weight files and indexes of either layout left by an earlier run, so the folder holds one checkpoint. */
async function removeCheckpointFiles(dir: string): Promise<void> {
  const stale = (await readdir(dir)).filter((f) =>
    /^(consolidated|model)([-.].*)?\.safetensors(\.index\.json)?$/.test(f),
  );
  await Promise.all(stale.map((f) => rm(join(dir, f), { force: true })));
}

function onDiskHfName(aliases: readonly string[], name: string): string {
  const alias = aliases.find(
    (a) =>
      a.startsWith("language_model.") ||
      a.startsWith("vision_tower.") ||
      a.startsWith("multi_modal_projector."),
  );
  if (!alias) throw new Error(`no HF on-disk name for module ${name}`);
  return alias;
}

function planFileTensors(
  config: ModelConfig,
  layout: "native" | "hf",
  seed: number,
  fused: boolean,
  quant: GeneratedQuant,
): FileTensor[] {
  const out: FileTensor[] = [];
  const fusedByLayer = new Map<number, { w1: ModuleSpec[]; w2: ModuleSpec[]; w3: ModuleSpec[] }>();
  const fp8 = fp8Layout(quant);
  const renames = layout === "native" ? NATIVE_PART : quant === "fp8" ? HF_FP8_PART : {};
  for (const spec of buildModuleTable(config)) {
    const format = plannedWeightFormat(config.quantization, spec);
    const parts = moduleTensors(seed, spec, format, fp8);
    if (layout === "hf" && /^vision_encoder\.transformer\.layers\.\d+\.attention\.w[qk]$/.test(spec.name)) {
      // HF files store the vision q / k rows permuted (as transformers' conversion writes them).
      const v = config.vision!;
      const weight = parts[0]!;
      if (format !== "bf16" || weight.part !== "weight")
        throw new InvalidArgumentError("quant", "plain BF16 vision weights in HF files", format);
      const rowBytes = 2 * v.hiddenSize;
      const plain = weight.data;
      parts[0] = { ...weight, data: () => hfVisionQkRows(plain(), v.numHeads, v.headDim, rowBytes) };
    }
    if (fused && spec.group === "expert" && spec.layer !== undefined) {
      const group = fusedByLayer.get(spec.layer) ?? { w1: [], w2: [], w3: [] };
      fusedByLayer.set(spec.layer, group);
      const which = spec.name.slice(spec.name.lastIndexOf(".") + 1) as "w1" | "w2" | "w3";
      group[which].push(spec);
      continue;
    }
    for (const t of parts) {
      // FP8 scales have layout-specific names; NVFP4 companions are named the same in both layouts.
      const partName = format === "fp8" ? (renames[t.part] ?? t.part) : t.part;
      const moduleName = layout === "native" ? spec.name : onDiskHfName(spec.aliases, spec.name);
      out.push({
        name: `${moduleName}.${partName}`,
        dtype: t.dtype,
        shape: t.shape,
        bytes: numel(t.shape) * dtypeBytes(t.dtype),
        chunks: [t.data],
      });
    }
  }
  for (const [layer, g] of fusedByLayer) {
    const prefix = `language_model.model.layers.${layer}.mlp.experts`;
    out.push(
      ...(quant === "fp8" ? fusedFp8Experts(seed, prefix, g) : fusedBf16Experts(config, seed, prefix, g)),
    );
  }
  return out;
}

function fusedBf16Experts(
  config: ModelConfig,
  seed: number,
  prefix: string,
  g: { w1: ModuleSpec[]; w2: ModuleSpec[]; w3: ModuleSpec[] },
): FileTensor[] {
  const E = g.w1.length;
  const I = config.moe.expertHiddenSize;
  const D = config.hiddenSize;
  const data = (s: ModuleSpec) => moduleTensors(seed, s, "bf16")[0]!.data;
  return [
    {
      name: `${prefix}.gate_up_proj`,
      dtype: "BF16",
      shape: [E, 2 * I, D],
      bytes: E * 2 * I * D * 2,
      chunks: g.w1.flatMap((w1, e) => [data(w1), data(g.w3[e]!)]),
    },
    {
      name: `${prefix}.down_proj`,
      dtype: "BF16",
      shape: [E, D, I],
      bytes: E * D * I * 2,
      chunks: g.w2.map(data),
    },
  ];
}

/**
 * Mistral's HF FP8 experts: gate and up of each expert share one scale (the larger of their own, as the
 * HF converter rescales them), down keeps its own; activation scales per expert.
 */
function fusedFp8Experts(
  seed: number,
  prefix: string,
  g: { w1: ModuleSpec[]; w2: ModuleSpec[]; w3: ModuleSpec[] },
): FileTensor[] {
  const E = g.w1.length;
  const [I = 0, D = 0] = g.w1[0]!.shape;
  const gateUp = g.w1.map((w1, e) => {
    const a = moduleFloats(seed, w1);
    const b = moduleFloats(seed, g.w3[e]!);
    const amax = Math.max(amaxOf(a), amaxOf(b));
    return { gate: quantizeFp8(a, 1, [amax]), up: quantizeFp8(b, 1, [amax]) };
  });
  const down = g.w2.map((w2) => quantizeFp8(moduleFloats(seed, w2), 1));
  const scalars = (xs: number[]) => () => new Uint8Array(Float32Array.from(xs).buffer);
  const activation = scalars(Array.from({ length: E }, () => 4 / 448));
  return [
    {
      name: `${prefix}.gate_up_proj`,
      dtype: "F8_E4M3",
      shape: [E, 2 * I, D],
      bytes: E * 2 * I * D,
      chunks: gateUp.flatMap((q) => [() => q.gate.bytes, () => q.up.bytes]),
    },
    {
      name: `${prefix}.gate_up_proj_scale_inv`,
      dtype: "F32",
      shape: [E, 1, 1],
      bytes: E * 4,
      chunks: [scalars(gateUp.map((q) => q.gate.scales[0]!))],
    },
    {
      name: `${prefix}.gate_up_proj_activation_scale`,
      dtype: "F32",
      shape: [E],
      bytes: E * 4,
      chunks: [activation],
    },
    {
      name: `${prefix}.down_proj`,
      dtype: "F8_E4M3",
      shape: [E, D, I],
      bytes: E * D * I,
      chunks: down.map((q) => () => q.bytes),
    },
    {
      name: `${prefix}.down_proj_scale_inv`,
      dtype: "F32",
      shape: [E, 1, 1],
      bytes: E * 4,
      chunks: [scalars(down.map((q) => q.scales[0]!))],
    },
    {
      name: `${prefix}.down_proj_activation_scale`,
      dtype: "F32",
      shape: [E],
      bytes: E * 4,
      chunks: [activation],
    },
  ];
}

async function writeShards(
  dir: string,
  layout: "native" | "hf",
  tensors: FileTensor[],
  numShards: number,
  onProgress: MakeTinyOptions["onProgress"],
): Promise<string[]> {
  const total = tensors.reduce((a, t) => a + t.bytes, 0);
  const target = total / numShards;
  const shards: FileTensor[][] = [[]];
  let acc = 0;
  for (const t of tensors) {
    const current = shards[shards.length - 1]!;
    if (current.length > 0 && acc >= target && shards.length < numShards) {
      shards.push([t]);
      acc = t.bytes;
    } else {
      current.push(t);
      acc += t.bytes;
    }
  }
  const base = layout === "native" ? "consolidated" : "model";
  const names =
    shards.length === 1
      ? [`${base}.safetensors`]
      : shards.map(
          (_, i) =>
            `${base}-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`,
        );
  let done = 0;
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards.length; s++) {
    const shard = shards[s]!;
    const name = names[s]!;
    const writer = await SafetensorsWriter.create(join(dir, name), shard, { format: "pt" });
    try {
      for (const t of shard) {
        for (const chunk of t.chunks) await writer.writeChunk(t.name, chunk());
        weightMap[t.name] = name;
        done += t.bytes;
        onProgress?.({ phase: "write", done, total });
      }
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }
  const indexName = `${base}.safetensors.index.json`;
  await rm(join(dir, indexName), { force: true });
  if (shards.length > 1) {
    await writeFile(
      join(dir, indexName),
      `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
    );
  }
  return names;
}
