/** Parameter counts, weight bytes and KV-cache bytes derived from a ModelConfig (no files needed). */
import { buildModuleTable, type ModuleGroup } from "../checkpoint/module-table";
import { plannedWeightFormat } from "../checkpoint/weight-format";
import type { ModelConfig } from "../config/model-config";
import type { WeightFormat } from "../config/quantization";

export interface ParameterCounts {
  total: number;
  /** Text model only (no vision tower / projector). */
  text: number;
  vision: number;
  /** Parameters touched per text token: everything but the (E - K) unrouted experts, vision excluded. */
  active: number;
  /** `active` without the input embedding matrix (only one row of it is read per token). */
  activeWithoutEmbedding: number;
  byGroup: Record<ModuleGroup, number>;
  byFormat: Record<WeightFormat, number>;
}

/** Bytes per parameter of each storage format (NVFP4: 4-bit value + one FP8 scale per 16). */
export const BYTES_PER_PARAM: Record<WeightFormat, number> = { bf16: 2, fp8: 1, nvfp4: 0.5 + 1 / 16 };

export function countParameters(c: ModelConfig): ParameterCounts {
  const byGroup: Record<ModuleGroup, number> = {
    embedding: 0,
    lm_head: 0,
    norm: 0,
    attention: 0,
    router: 0,
    expert: 0,
    shared_expert: 0,
    vision: 0,
    projector: 0,
  };
  const byFormat: Record<WeightFormat, number> = { bf16: 0, fp8: 0, nvfp4: 0 };
  for (const m of buildModuleTable(c)) {
    const n = m.shape.reduce((a, b) => a * b, 1) + (m.hasBias ? (m.shape[0] ?? 0) : 0);
    byGroup[m.group] += n;
    const format = plannedWeightFormat(c.quantization, m);
    byFormat[format] += n;
  }
  const vision = byGroup.vision + byGroup.projector;
  const total = Object.values(byGroup).reduce((a, b) => a + b, 0);
  const text = total - vision;
  const unrouted = (byGroup.expert * (c.moe.numExperts - c.moe.numExpertsPerToken)) / c.moe.numExperts;
  const active = text - unrouted;
  return {
    total,
    text,
    vision,
    active,
    activeWithoutEmbedding: active - byGroup.embedding,
    byGroup,
    byFormat,
  };
}

/** Weight bytes if every module is stored in its configured format. */
export function estimatedWeightBytes(counts: ParameterCounts): number {
  return (Object.keys(counts.byFormat) as WeightFormat[]).reduce(
    (a, f) => a + counts.byFormat[f] * BYTES_PER_PARAM[f],
    0,
  );
}

/** KV-cache bytes per token over all layers: the MLA latent plus the roped key, BF16. */
export function kvBytesPerToken(c: ModelConfig, bytesPerValue = 2): number {
  return (c.kvLoraRank + c.qkRopeHeadDim) * c.numLayers * bytesPerValue;
}
