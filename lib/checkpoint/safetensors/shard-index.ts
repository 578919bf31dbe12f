/**
 * Sharded checkpoints: `model.safetensors.index.json` / `consolidated.safetensors.index.json`, shaped
 * `{"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}`.
 */

import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CheckpointError, describe, InvalidArgumentError } from "../../errors";
import type { SafetensorsHeader } from "./header";
import { findDuplicateJsonKey } from "./json-keys";
import { fileAccessError, readSafetensorsHeader, type SafetensorsFileHeader } from "./read";

export interface ShardIndex {
  /** Path of the index file. */
  indexPath: string;
  /** The index's "metadata" object ({} when absent). */
  metadata: Record<string, unknown>;
  /** Tensor name → shard file name (a plain name inside the checkpoint directory). */
  weightMap: Map<string, string>;
  /** Distinct shard file names, sorted. */
  shards: string[];
}

export interface LoadedShardIndex extends ShardIndex {
  /** Shard file name → its parsed header. */
  headers: Map<string, SafetensorsFileHeader>;
}

/** True for a file name with no directory part that cannot climb out of its directory. */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name !== "." &&
    name !== ".." &&
    !name.includes("/") &&
    !name.includes("\\") &&
    !name.includes("\0") &&
    !/^[A-Za-z]:/.test(name)
  );
}

/** Parses and checks the text of an index file: its metadata and its tensor name → shard file map. */
export function parseShardIndexJson(
  indexPath: string,
  text: string,
): { metadata: Record<string, unknown>; weightMap: Map<string, string> } {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    throw new CheckpointError(`index is not valid JSON${detail}`, { file: indexPath }, { cause });
  }
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    throw new CheckpointError(`index must be a JSON object but is ${describe(root)}`, { file: indexPath });
  }
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate) {
    const where = [...duplicate.path, duplicate.key].join(".");
    throw new CheckpointError(`key ${JSON.stringify(where)} appears twice`, {
      file: indexPath,
      tensor: duplicate.path[0] === "weight_map" ? duplicate.key : undefined,
    });
  }
  const { metadata = {}, weight_map: weightMapJson } = root as Record<string, unknown>;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new CheckpointError(`"metadata" must be an object but is ${describe(metadata)}`, {
      file: indexPath,
    });
  }
  if (typeof weightMapJson !== "object" || weightMapJson === null || Array.isArray(weightMapJson)) {
    throw new CheckpointError(
      `"weight_map" must be an object of tensor name → shard file but is ${describe(weightMapJson)}`,
      {
        file: indexPath,
      },
    );
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMapJson)) {
    if (tensor === "") throw new CheckpointError("weight_map has an empty tensor name", { file: indexPath });
    if (typeof shard !== "string" || !isPlainFileName(shard) || !shard.endsWith(".safetensors")) {
      throw new CheckpointError(
        `weight_map must name a *.safetensors file inside the checkpoint directory (no path) but has ${describe(shard)}`,
        { file: indexPath, tensor },
      );
    }
    weightMap.set(tensor, shard);
  }
  return { metadata: metadata as Record<string, unknown>, weightMap };
}

/** Read and validate `dir/indexFileName` and check every shard it names exists. Reads no shard. */
export async function readShardIndex(dir: string, indexFileName: string): Promise<ShardIndex> {
  if (!isPlainFileName(indexFileName)) {
    throw new InvalidArgumentError("indexFileName", "a file name without a directory part", indexFileName);
  }
  const indexPath = join(dir, indexFileName);
  let text: string;
  try {
    text = await readFile(indexPath, "utf8");
  } catch (cause) {
    throw fileAccessError(indexPath, cause);
  }
  const { metadata, weightMap } = parseShardIndexJson(indexPath, text);
  const shards = [...new Set(weightMap.values())].sort();
  for (const shard of shards) {
    const shardPath = join(dir, shard);
    const info = await stat(shardPath).catch(() => undefined);
    if (!info?.isFile()) {
      throw new CheckpointError(`shard ${shard} listed in the index is missing (${shardPath})`, {
        file: indexPath,
      });
    }
  }
  return { indexPath, metadata, weightMap, shards };
}

/**
 * Check that the index and the shard headers agree exactly: every mapped tensor is in its shard, every
 * tensor of a shard is mapped to that shard, and no tensor is in two shards.
 */
export function checkShardIndexMatchesHeaders(
  index: ShardIndex,
  headers: ReadonlyMap<string, SafetensorsHeader>,
): void {
  const indexName = basename(index.indexPath);
  const shardPath = (shard: string) => join(dirname(index.indexPath), shard);
  const foundIn = new Map<string, string>();
  for (const shard of index.shards) {
    const header = headers.get(shard);
    if (!header)
      throw new InvalidArgumentError("headers", `a header for every shard (missing ${shard})`, headers);
    for (const tensor of header.tensors) {
      const other = foundIn.get(tensor.name);
      if (other !== undefined) {
        throw new CheckpointError(`is stored in two shards, ${other} and ${shard}`, {
          file: shardPath(shard),
          tensor: tensor.name,
        });
      }
      foundIn.set(tensor.name, shard);
      const mapped = index.weightMap.get(tensor.name);
      if (mapped === undefined) {
        throw new CheckpointError(`is in this shard but missing from the weight_map of ${indexName}`, {
          file: shardPath(shard),
          tensor: tensor.name,
        });
      }
      if (mapped !== shard) {
        throw new CheckpointError(`is in this shard but ${indexName} maps it to ${mapped}`, {
          file: shardPath(shard),
          tensor: tensor.name,
        });
      }
    }
  }
  for (const [tensor, shard] of index.weightMap) {
    if (!headers.get(shard)?.byName.has(tensor)) {
      throw new CheckpointError(`is mapped to this shard by ${indexName} but the shard does not contain it`, {
        file: shardPath(shard),
        tensor,
      });
    }
  }
}

/** Read the index, read every shard's header, and check they agree (see checkShardIndexMatchesHeaders). */
export async function loadShardedIndex(dir: string, indexFileName: string): Promise<LoadedShardIndex> {
  const index = await readShardIndex(dir, indexFileName);
  const headers = new Map<string, SafetensorsFileHeader>();
  for (const shard of index.shards) headers.set(shard, await readSafetensorsHeader(join(dir, shard)));
  checkShardIndexMatchesHeaders(index, headers);
  return { ...index, headers };
}
