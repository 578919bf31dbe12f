/**
 * The parsed headers of a checkpoint's safetensors files for one layout. Which files belong to a layout is
 * decided by safetensors/find-files.ts; with an index, the index and the shard headers must agree exactly.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError } from "../errors";
import { type CheckpointLayout, findCheckpointFiles } from "./safetensors/find-files";
import { readSafetensorsHeader, type SafetensorsFileHeader } from "./safetensors/read";
import { loadShardedIndex } from "./safetensors/shard-index";

export type { CheckpointLayout };

export interface CheckpointFiles {
  readonly layout: CheckpointLayout;
  readonly dir: string;
  readonly indexPath: string | null;
  /** Parsed headers, one per file, in load order. */
  readonly headers: readonly SafetensorsFileHeader[];
}

/** True when `dir` has files named like `layout`'s weights or index (without validating them). */
export async function hasCheckpointFiles(dir: string, layout: CheckpointLayout): Promise<boolean> {
  const prefix = layout === "native" ? "consolidated" : "model";
  const pattern = new RegExp(`^${prefix}(-\\d+-of-\\d+)?\\.safetensors(\\.index\\.json)?$`);
  try {
    return (await readdir(dir)).some((name) => pattern.test(name));
  } catch {
    return false;
  }
}

export async function readCheckpointFiles(dir: string, layout: CheckpointLayout): Promise<CheckpointFiles> {
  const set = (await findCheckpointFiles(dir))[layout];
  if (!set) {
    const what = layout === "native" ? "consolidated*.safetensors" : "model*.safetensors";
    throw new CheckpointError(`no ${what} weight files for the ${layout} layout in this folder`, {
      file: dir,
    });
  }
  if (set.kind === "indexed" && set.indexFile) {
    const index = await loadShardedIndex(dir, set.indexFile);
    return {
      layout,
      dir,
      indexPath: index.indexPath,
      headers: index.shards.map((s) => index.headers.get(s)!),
    };
  }
  const headers: SafetensorsFileHeader[] = [];
  for (const name of set.files) headers.push(await readSafetensorsHeader(join(dir, name)));
  return { layout, dir, indexPath: null, headers };
}
