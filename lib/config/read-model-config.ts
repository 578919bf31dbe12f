/** Finds and parses a checkpoint folder's config: params.json (Mistral-native) or config.json (Hugging Face). */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors";
import { JsonFields, readJsonObject } from "./json-fields";
import type { ModelConfig } from "./model-config";
import { parseHfConfig } from "./parse-hf-config";
import { parseParamsJson } from "./parse-params-json";

export type CheckpointLayout = "native" | "hf";

/** Parses `params.json` or `config.json` in `dir`. With both present, `prefer` picks (default native). */
export function readModelConfig(dir: string, prefer?: CheckpointLayout): ModelConfig {
  const params = join(dir, "params.json");
  const hf = join(dir, "config.json");
  const hasParams = existsSync(params);
  const hasHf = existsSync(hf);
  if (!hasParams && !hasHf) {
    throw new ConfigError(
      dir,
      undefined,
      "no params.json (Mistral-native) or config.json (Hugging Face) in this folder",
    );
  }
  const useNative = hasParams && (prefer !== "hf" || !hasHf);
  if (prefer === "hf" && !hasHf) throw new ConfigError(hf, undefined, "file not found");
  if (prefer === "native" && !hasParams) throw new ConfigError(params, undefined, "file not found");
  return useNative
    ? parseParamsJson(new JsonFields(params, readJsonObject(params)))
    : parseHfConfig(new JsonFields(hf, readJsonObject(hf)));
}

/** Parses a config object directly (for tests and generated checkpoints). */
export function parseModelConfig(
  obj: Record<string, unknown>,
  layout: CheckpointLayout,
  file: string,
): ModelConfig {
  const fields = new JsonFields(file, obj);
  return layout === "native" ? parseParamsJson(fields) : parseHfConfig(fields);
}
