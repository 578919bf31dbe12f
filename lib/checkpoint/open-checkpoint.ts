/** Reads a checkpoint folder's config and headers and builds the validated load plan (no weight bytes read). */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readModelConfig } from "../config/read-model-config";
import { CheckpointError } from "../errors";
import { type CheckpointLayout, hasCheckpointFiles, readCheckpointFiles } from "./checkpoint-files";
import { buildLoadPlan, type LoadPlan } from "./load-plan";

/** Picks the layout: the caller's choice, else the one whose config and weight files are both present. */
export async function detectLayout(dir: string, prefer?: CheckpointLayout): Promise<CheckpointLayout> {
  if (prefer) return prefer;
  if (!existsSync(dir)) throw new CheckpointError("checkpoint folder not found", { file: dir });
  const native = existsSync(join(dir, "params.json"));
  const hf = existsSync(join(dir, "config.json"));
  if (native && (!hf || (await hasCheckpointFiles(dir, "native")))) return "native";
  if (hf) return "hf";
  throw new CheckpointError("not a checkpoint folder: no params.json or config.json", { file: dir });
}

export async function openCheckpoint(
  dir: string,
  options: { layout?: CheckpointLayout | undefined } = {},
): Promise<LoadPlan> {
  const layout = await detectLayout(dir, options.layout);
  const config = readModelConfig(dir, layout);
  const files = await readCheckpointFiles(dir, layout);
  return buildLoadPlan(config, files);
}
