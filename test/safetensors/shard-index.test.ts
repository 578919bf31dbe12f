import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadShardedIndex, writeSafetensors } from "../../lib/checkpoint/safetensors/index";
import { InvalidArgumentError } from "../../lib/errors";
import { expectCheckpointErrorAsync, withTempDir } from "./helpers";

const SHARD_1 = "model-00001-of-00002.safetensors";
const SHARD_2 = "model-00002-of-00002.safetensors";
const INDEX = "model.safetensors.index.json";

function u8(name: string) {
  return { name, dtype: "U8" as const, shape: [2], data: new Uint8Array([1, 2]) };
}

async function writeShards(dir: string, shard1: string[], shard2: string[]): Promise<void> {
  await writeSafetensors(join(dir, SHARD_1), shard1.map(u8));
  await writeSafetensors(join(dir, SHARD_2), shard2.map(u8));
}

async function writeIndex(dir: string, index: unknown): Promise<void> {
  await writeFile(join(dir, INDEX), typeof index === "string" ? index : JSON.stringify(index));
}

const goodMap = { a: SHARD_1, b: SHARD_1, c: SHARD_2 };

describe("loadShardedIndex", () => {
  it("returns the shards, weight map and shard headers of a consistent checkpoint", async () => {
    await withTempDir(async (dir) => {
      await writeShards(dir, ["a", "b"], ["c"]);
      await writeIndex(dir, { metadata: { total_size: 6 }, weight_map: goodMap });
      const index = await loadShardedIndex(dir, INDEX);
      expect(index.shards).toEqual([SHARD_1, SHARD_2]);
      expect(Object.fromEntries(index.weightMap)).toEqual(goodMap);
      expect(index.metadata).toEqual({ total_size: 6 });
      expect(index.headers.get(SHARD_2)?.tensors.map((t) => t.name)).toEqual(["c"]);
    });
  });

  it("rejects an index that is not JSON, not an object, or lacks a string→string weight_map", async () => {
    await withTempDir(async (dir) => {
      await writeShards(dir, ["a", "b"], ["c"]);
      const indexPath = join(dir, INDEX);
      const cases: [unknown, RegExp][] = [
        ["{oops", /not valid JSON/],
        ["[1]", /must be a JSON object/],
        [{ metadata: {} }, /"weight_map" must be an object/],
        [{ weight_map: [] }, /"weight_map" must be an object/],
        [{ metadata: 3, weight_map: goodMap }, /"metadata" must be an object/],
        [{ weight_map: { "": SHARD_1 } }, /empty tensor name/],
      ];
      for (const [index, message] of cases) {
        await writeIndex(dir, index);
        await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), { file: indexPath, message });
      }
      await writeIndex(dir, { weight_map: { a: 5 } });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), { file: indexPath, tensor: "a" });
      await writeIndex(dir, `{"weight_map":{"a":"${SHARD_1}","a":"${SHARD_2}"}}`);
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: indexPath,
        tensor: "a",
        message: /"weight_map.a" appears twice/,
      });
    });
  });

  it("rejects shard names that leave the directory or are not safetensors files", async () => {
    await withTempDir(async (dir) => {
      const indexPath = join(dir, INDEX);
      for (const shard of [
        "../x.safetensors",
        "/etc/x.safetensors",
        "sub/x.safetensors",
        "..\\x.safetensors",
        "C:x.safetensors",
        "x.bin",
        "..",
      ]) {
        await writeIndex(dir, { weight_map: { w: shard } });
        await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
          file: indexPath,
          tensor: "w",
          message: /inside the checkpoint directory/,
        });
      }
      await expect(loadShardedIndex(dir, "../model.safetensors.index.json")).rejects.toThrow(
        InvalidArgumentError,
      );
    });
  });

  it("reports a missing index and a missing shard", async () => {
    await withTempDir(async (dir) => {
      const indexPath = join(dir, INDEX);
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: indexPath,
        message: /file not found/,
      });
      await writeSafetensors(join(dir, SHARD_1), ["a", "b"].map(u8));
      await writeIndex(dir, { weight_map: goodMap });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: indexPath,
        message: new RegExp(`shard ${SHARD_2} listed in the index is missing`),
      });
    });
  });

  it("rejects a weight_map and shards that disagree, naming the shard and tensor", async () => {
    await withTempDir(async (dir) => {
      const shard1 = join(dir, SHARD_1);
      const shard2 = join(dir, SHARD_2);

      await writeShards(dir, ["a", "b"], ["c"]);
      await writeIndex(dir, { weight_map: { a: SHARD_1, b: SHARD_2, c: SHARD_2 } });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: shard1,
        tensor: "b",
        message: new RegExp(`maps it to ${SHARD_2}`),
      });

      await writeIndex(dir, { weight_map: { a: SHARD_1, c: SHARD_2 } });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: shard1,
        tensor: "b",
        message: /missing from the weight_map/,
      });

      await writeIndex(dir, { weight_map: { ...goodMap, d: SHARD_2 } });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: shard2,
        tensor: "d",
        message: /the shard does not contain it/,
      });

      await writeShards(dir, ["a", "b"], ["c", "a"]);
      await writeIndex(dir, { weight_map: goodMap });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: shard2,
        tensor: "a",
        message: new RegExp(`stored in two shards, ${SHARD_1} and ${SHARD_2}`),
      });
    });
  });

  it("passes on shard header errors as CheckpointErrors naming the shard", async () => {
    await withTempDir(async (dir) => {
      await writeShards(dir, ["a", "b"], ["c"]);
      await writeFile(join(dir, SHARD_2), new Uint8Array(4));
      await writeIndex(dir, { weight_map: goodMap });
      await expectCheckpointErrorAsync(() => loadShardedIndex(dir, INDEX), {
        file: join(dir, SHARD_2),
        message: /4 bytes long/,
      });
    });
  });
});
