import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findCheckpointFiles, writeSafetensors } from "../../lib/checkpoint/safetensors/index";
import { expectCheckpointErrorAsync, withTempDir } from "./helpers";

async function touch(dir: string, ...names: string[]): Promise<void> {
  for (const name of names) await writeFile(join(dir, name), "");
}

describe("findCheckpointFiles", () => {
  it("finds a single model.safetensors and prefers it over an index, like transformers", async () => {
    await withTempDir(async (dir) => {
      await touch(dir, "model.safetensors", "model.safetensors.index.json", "config.json");
      expect(await findCheckpointFiles(dir)).toEqual({
        hf: { layout: "hf", kind: "single", files: ["model.safetensors"] },
      });
    });
  });

  it("finds native shards through consolidated.safetensors.index.json", async () => {
    await withTempDir(async (dir) => {
      const u8 = (name: string) => ({ name, dtype: "U8" as const, shape: [1], data: new Uint8Array(1) });
      await writeSafetensors(join(dir, "consolidated-00001-of-00002.safetensors"), [u8("a")]);
      await writeSafetensors(join(dir, "consolidated-00002-of-00002.safetensors"), [u8("b")]);
      await writeFile(
        join(dir, "consolidated.safetensors.index.json"),
        JSON.stringify({
          weight_map: {
            a: "consolidated-00001-of-00002.safetensors",
            b: "consolidated-00002-of-00002.safetensors",
          },
        }),
      );
      expect(await findCheckpointFiles(dir)).toEqual({
        native: {
          layout: "native",
          kind: "indexed",
          indexFile: "consolidated.safetensors.index.json",
          files: ["consolidated-00001-of-00002.safetensors", "consolidated-00002-of-00002.safetensors"],
        },
      });
    });
  });

  it("finds numbered shards without an index when the set is complete, and both layouts side by side", async () => {
    await withTempDir(async (dir) => {
      await touch(
        dir,
        "model-00002-of-00002.safetensors",
        "model-00001-of-00002.safetensors",
        "consolidated.safetensors",
      );
      expect(await findCheckpointFiles(dir)).toEqual({
        native: { layout: "native", kind: "single", files: ["consolidated.safetensors"] },
        hf: {
          layout: "hf",
          kind: "numbered",
          files: ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
        },
      });
    });
  });

  it("rejects incomplete or inconsistent numbered shards", async () => {
    await withTempDir(async (dir) => {
      await touch(dir, "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors");
      await expectCheckpointErrorAsync(() => findCheckpointFiles(dir), {
        file: dir,
        message: /shard model-00002-of-00003.safetensors is missing/,
      });
      await touch(dir, "model-00002-of-00003.safetensors", "model-00001-of-00004.safetensors");
      await expectCheckpointErrorAsync(() => findCheckpointFiles(dir), {
        file: dir,
        message: /disagree on the shard count/,
      });
    });
  });

  it("rejects a directory without checkpoint files, and a missing directory", async () => {
    await withTempDir(async (dir) => {
      await touch(dir, "params.json", "weights.bin");
      await mkdir(join(dir, "model.safetensors.d"));
      await expectCheckpointErrorAsync(() => findCheckpointFiles(dir), {
        file: dir,
        message: /no safetensors checkpoint found/,
      });
      const missing = join(dir, "absent");
      await expectCheckpointErrorAsync(() => findCheckpointFiles(missing), {
        file: missing,
        message: /file not found/,
      });
    });
  });
});
