/**
 * `ms4 inspect DIR`: what a checkpoint folder holds — architecture, parameter counts, bytes per dtype,
 * which modules are quantized and which are ignored, and the memory needed for weights and KV cache.
 * Works on a folder with only a config (counts and estimates) or with weights (exact bytes, validated plan).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hasCheckpointFiles, readCheckpointFiles } from "../checkpoint/checkpoint-files";
import { buildLoadPlan, type LoadPlan } from "../checkpoint/load-plan";
import { detectLayout } from "../checkpoint/open-checkpoint";
import type { ModelConfig } from "../config/model-config";
import type { WeightFormat } from "../config/quantization";
import { readModelConfig } from "../config/read-model-config";
import { countParameters, estimatedWeightBytes, kvBytesPerToken, type ParameterCounts } from "./model-sizes";

export interface InspectReport {
  dir: string;
  layout: "native" | "hf";
  config: ModelConfig;
  parameters: ParameterCounts;
  /** Weight bytes: exact (from files) when weights are present, else estimated from the config. */
  weightBytes: number;
  weightBytesExact: boolean;
  bytesByDtype: Record<string, number> | null;
  files: { path: string; size: number }[];
  /** Module counts by stored format and group, e.g. { nvfp4: { expert: 128 } }. */
  modulesByFormat: Record<WeightFormat, Record<string, number>>;
  kvBytesPerToken: number;
  ignoredTensors: string[];
  fusedExperts: boolean | null;
  generated: Record<string, unknown> | null;
}

export async function inspectCheckpoint(
  dir: string,
  options: { layout?: "native" | "hf" } = {},
): Promise<InspectReport> {
  const layout = await detectLayout(dir, options.layout);
  const config = readModelConfig(dir, layout);
  const parameters = countParameters(config);
  let plan: LoadPlan | null = null;
  if (await hasCheckpointFiles(dir, layout))
    plan = buildLoadPlan(config, await readCheckpointFiles(dir, layout));
  const modulesByFormat: InspectReport["modulesByFormat"] = { bf16: {}, fp8: {}, nvfp4: {} };
  let bytesByDtype: Record<string, number> | null = null;
  if (plan) {
    bytesByDtype = {};
    for (const t of plan.tensors) bytesByDtype[t.dtype] = (bytesByDtype[t.dtype] ?? 0) + t.length;
    for (const m of plan.modules) {
      if (m.spec.kind !== "linear") continue;
      const bucket = modulesByFormat[m.format];
      bucket[m.spec.group] = (bucket[m.spec.group] ?? 0) + 1;
    }
  }
  let generated: Record<string, unknown> | null = null;
  const marker = join(dir, "ms4-generated.json");
  if (existsSync(marker)) {
    const { readFileSync } = await import("node:fs");
    generated = JSON.parse(readFileSync(marker, "utf8")) as Record<string, unknown>;
  }
  return {
    dir,
    layout,
    config,
    parameters,
    weightBytes: plan ? plan.tensors.reduce((a, t) => a + t.length, 0) : estimatedWeightBytes(parameters),
    weightBytesExact: plan !== null,
    bytesByDtype,
    files: plan ? [...plan.files] : [],
    modulesByFormat,
    kvBytesPerToken: kvBytesPerToken(config),
    ignoredTensors: plan ? [...plan.ignoredTensors] : [],
    fusedExperts: plan ? plan.fusedExperts : null,
    generated,
  };
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatInspectReport(r: InspectReport): string {
  const c = r.config;
  const p = r.parameters;
  const lines: string[] = [];
  lines.push(
    `checkpoint  ${r.dir}  (${r.layout === "native" ? "Mistral-native params.json" : "Hugging Face config.json"})`,
  );
  if (r.generated)
    lines.push(
      `generated   ${String(r.generated.warning ?? "")} (preset ${String(r.generated.preset)}, seed ${String(r.generated.seed)})`,
    );
  lines.push("");
  lines.push("architecture");
  lines.push(`  layers ${c.numLayers}, hidden ${c.hiddenSize}, heads ${c.numHeads}, vocab ${c.vocabSize}`);
  lines.push(
    `  MLA: q_lora ${c.qLoraRank}, kv_lora ${c.kvLoraRank}, nope ${c.qkNopeHeadDim} + rope ${c.qkRopeHeadDim}, v ${c.vHeadDim}; softmax scale ${c.softmaxScale.toFixed(7)}`,
  );
  lines.push(
    `  MoE: ${c.moe.numExperts} experts × ${c.moe.expertHiddenSize}, top-${c.moe.numExpertsPerToken}, ${c.moe.numSharedExperts} shared, routed scale ${c.moe.routedScalingFactor}`,
  );
  const rope = c.rope;
  lines.push(
    rope.type === "yarn"
      ? `  RoPE: YaRN θ ${rope.theta}, factor ${rope.factor} over ${rope.originalMaxPositionEmbeddings}, β ${rope.betaFast}/${rope.betaSlow}, apply_scale ${rope.applyScale}; max positions ${c.maxPositionEmbeddings}`
      : `  RoPE: θ ${rope.theta}; max positions ${c.maxPositionEmbeddings}`,
  );
  if (c.llama4Scaling)
    lines.push(
      `  llama-4 query scaling: β ${c.llama4Scaling.beta} per ${c.llama4Scaling.originalMaxPositionEmbeddings} positions`,
    );
  if (c.vision) {
    const v = c.vision;
    lines.push(
      `  vision: ${v.numLayers} layers, hidden ${v.hiddenSize}, ${v.numHeads} heads, patch ${v.patchSize}, merge ${v.spatialMergeSize}`,
    );
  }
  const q = c.quantization;
  lines.push(
    `  quantization: ${q.method}${q.format ? ` (${q.format})` : ""}${q.groups.length ? `; groups ${q.groups.map((g) => `${g.name}=${g.format}→[${g.targets.join(", ")}]`).join(", ")}` : ""}`,
  );
  if (q.ignore.length) lines.push(`  ignore: ${q.ignore.join(", ")}`);
  lines.push("");
  lines.push("parameters");
  lines.push(`  total ${human(p.total)} (text ${human(p.text)}, vision + projector ${human(p.vision)})`);
  lines.push(
    `  active per token ${human(p.active)} (${human(p.activeWithoutEmbedding)} without the input embedding)`,
  );
  lines.push(
    `  by part: ${Object.entries(p.byGroup)
      .filter(([, n]) => n > 0)
      .map(([g, n]) => `${g} ${human(n)}`)
      .join(", ")}`,
  );
  lines.push("");
  lines.push("memory");
  lines.push(
    `  weights ${bytes(r.weightBytes)}${r.weightBytesExact ? "" : " (estimated from the config: no weight files here)"}`,
  );
  if (r.bytesByDtype) {
    lines.push(
      `  by dtype: ${Object.entries(r.bytesByDtype)
        .map(([d, n]) => `${d} ${bytes(n)}`)
        .join(", ")}`,
    );
  }
  lines.push(
    `  KV cache ${bytes(r.kvBytesPerToken)} per token (BF16 latent ${c.kvLoraRank} + rope ${c.qkRopeHeadDim} per layer)`,
  );
  lines.push(
    `    4k tokens ${bytes(r.kvBytesPerToken * 4096)}, 32k ${bytes(r.kvBytesPerToken * 32768)}, 256k ${bytes(r.kvBytesPerToken * 262144)}`,
  );
  if (r.weightBytesExact) {
    lines.push("");
    lines.push("linear modules by stored format");
    for (const [format, groups] of Object.entries(r.modulesByFormat)) {
      const entries = Object.entries(groups);
      if (entries.length === 0) continue;
      lines.push(
        `  ${format.toUpperCase()}${format === "bf16" ? " (ignored / not targeted)" : " (quantized)"}: ${entries.map(([g, n]) => `${g} ${n}`).join(", ")}`,
      );
    }
    lines.push(
      `  files: ${r.files.length}${r.fusedExperts ? "; routed experts stored fused (3-D)" : ""}${r.ignoredTensors.length ? `; ${r.ignoredTensors.length} buffer tensors ignored` : ""}`,
    );
  }
  return lines.join("\n");
}
