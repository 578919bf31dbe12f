/**
 * Find the safetensors files of a checkpoint directory. A directory may hold two layouts side by side
 * (Mistral Small 4 ships both): "native" files named `consolidated…` and "hf" files named `model…`.
 * For each layout, with P = "consolidated" or "model", the first rule that matches wins:
 *
 * 1. `P.safetensors` exists → that single file (transformers also prefers the single file to an index);
 * 2. `P.safetensors.index.json` exists → the shards its weight_map names (all must exist);
 * 3. files `P-NNNNN-of-MMMMM.safetensors` exist → they must agree on MMMMM and number 1..MMMMM with none
 *    missing or extra.
 *
 * Other files are ignored. A directory with neither layout is a CheckpointError.
 */

import { readdir } from "node:fs/promises";
import { CheckpointError } from "../../errors";
import { fileAccessError } from "./read";
import { readShardIndex } from "./shard-index";

export type CheckpointLayout = "native" | "hf";

export interface CheckpointFileSet {
  layout: CheckpointLayout;
  /** How the files were found: a single file, an index, or numbered shard names alone. */
  kind: "single" | "indexed" | "numbered";
  /** The index file name when kind is "indexed". */
  indexFile?: string;
  /** Safetensors file names inside the directory, sorted. */
  files: string[];
}

export interface CheckpointFiles {
  native?: CheckpointFileSet;
  hf?: CheckpointFileSet;
}

const LAYOUT_PREFIXES: Record<CheckpointLayout, string> = { native: "consolidated", hf: "model" };

function numberedShards(dir: string, prefix: string, names: readonly string[]): string[] {
  const pattern = new RegExp(`^${prefix}-(\\d{5})-of-(\\d{5})\\.safetensors$`);
  const matches = names.flatMap((name) => {
    const match = pattern.exec(name);
    return match ? [{ name, part: Number(match[1]), total: Number(match[2]) }] : [];
  });
  if (matches.length === 0) return [];
  const total = matches[0]!.total;
  const mismatched = matches.find((shard) => shard.total !== total);
  if (mismatched) {
    throw new CheckpointError(
      `shard names disagree on the shard count (${matches[0]!.name} vs ${mismatched.name})`,
      {
        file: dir,
      },
    );
  }
  const parts = new Set(matches.map((shard) => shard.part));
  for (let part = 1; part <= total; part++) {
    if (!parts.has(part)) {
      const missing = `${prefix}-${String(part).padStart(5, "0")}-of-${String(total).padStart(5, "0")}.safetensors`;
      throw new CheckpointError(`shard ${missing} is missing`, { file: dir });
    }
  }
  const extra = matches.find((shard) => shard.part < 1 || shard.part > total);
  if (extra) throw new CheckpointError(`shard ${extra.name} is outside 1..${total}`, { file: dir });
  return matches.map((shard) => shard.name).sort();
}

async function findLayout(
  dir: string,
  layout: CheckpointLayout,
  names: ReadonlySet<string>,
): Promise<CheckpointFileSet | undefined> {
  const prefix = LAYOUT_PREFIXES[layout];
  const single = `${prefix}.safetensors`;
  if (names.has(single)) return { layout, kind: "single", files: [single] };
  const indexFile = `${prefix}.safetensors.index.json`;
  if (names.has(indexFile)) {
    const index = await readShardIndex(dir, indexFile);
    return { layout, kind: "indexed", indexFile, files: index.shards };
  }
  const numbered = numberedShards(dir, prefix, [...names]);
  return numbered.length > 0 ? { layout, kind: "numbered", files: numbered } : undefined;
}

export async function findCheckpointFiles(dir: string): Promise<CheckpointFiles> {
  let names: Set<string>;
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = new Set(
      entries.filter((entry) => entry.isFile() || entry.isSymbolicLink()).map((entry) => entry.name),
    );
  } catch (cause) {
    throw fileAccessError(dir, cause);
  }
  const found: CheckpointFiles = {};
  const native = await findLayout(dir, "native", names);
  if (native) found.native = native;
  const hf = await findLayout(dir, "hf", names);
  if (hf) found.hf = hf;
  if (!native && !hf) {
    throw new CheckpointError(
      "no safetensors checkpoint found: expected consolidated.safetensors, consolidated.safetensors.index.json, " +
        "consolidated-00001-of-0000N.safetensors or the same with model instead of consolidated",
      { file: dir },
    );
  }
  return found;
}
