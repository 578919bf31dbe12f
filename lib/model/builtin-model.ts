/**
 * The built-in tiny model: a generated checkpoint (random weights, meaningless text) written
 * deterministically into a cache folder on first use, so `ms4 chat` and friends run with no download.
 */
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { makeTiny } from "../tiny/make-tiny";

/** Bump when the generator's output changes, so stale caches are not reused. */
export const BUILTIN_MODEL_VERSION = 2;
const BUILTIN_SEED = 2603;

export function cacheRoot(): string {
  if (process.env.MS4_CACHE_DIR) return process.env.MS4_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "mistral4-runtime");
}

export function builtinModelDir(): string {
  return join(cacheRoot(), `tiny-v${BUILTIN_MODEL_VERSION}`);
}

/** Returns the built-in model's folder, generating it (atomically) if it is not there yet. */
export async function ensureBuiltinModel(): Promise<string> {
  const dir = builtinModelDir();
  if (existsSync(join(dir, "ms4-generated.json"))) return dir;
  await mkdir(cacheRoot(), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await makeTiny(tmp, { layout: "native", quant: "nvfp4", seed: BUILTIN_SEED, preset: "tiny" });
    await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished first: use its copy.
      if (!existsSync(join(dir, "ms4-generated.json"))) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
