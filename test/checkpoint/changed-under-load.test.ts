/**
 * A checkpoint that changes under a load never takes the process down: a shard truncated while it is mapped (reads
 * past its new end raise SIGBUS, guarded by native/io/fault_guard.cc), rewritten in place, or replaced after its
 * header was read fails the load with an error naming the file, and the process goes on (the next load works).
 */
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  truncateSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../../lib/checkpoint/open-checkpoint";
import { CheckpointError } from "../../lib/errors";
import { Model } from "../../lib/model/model";
import { buildNativeSpec, nativeLoadPlan } from "../../lib/model/native-spec";
import { loadNative, type NativeBackendOptions } from "../../lib/native";
import { makeTiny } from "../../lib/tiny/make-tiny";
import { makeTempDir } from "../helpers/temp-dir";

const tmp = makeTempDir();
let source: string;
beforeAll(async () => {
  source = join(tmp.dir, "source");
  await makeTiny(source, { layout: "native", quant: "bf16", preset: "tiny", seed: 3 });
});
afterAll(() => tmp.cleanup());

let copies = 0;
/** A fresh copy of the checkpoint whose files carry a modification time a minute in the past. */
function freshCopy(): { dir: string; shard: string } {
  const dir = join(tmp.dir, `copy-${copies++}`);
  const files = readdirSync(source);
  mkdirSync(dir);
  const past = new Date(Date.now() - 60_000);
  for (const f of files) {
    copyFileSync(join(source, f), join(dir, f));
    utimesSync(join(dir, f), past, past);
  }
  const shard = files.find((f) => f.endsWith(".safetensors"));
  if (!shard) throw new Error("the tiny checkpoint has no shard");
  return { dir, shard: join(dir, shard) };
}

const backend: NativeBackendOptions = {
  device: "cpu",
  deviceIndex: 0,
  cpu: { threads: 1, path: "portable", nvfp4Activations: "f32", hugePages: false },
};

/** Maps the checkpoint, calls `between` once the files are mapped, then repacks: the load's native half. */
async function loadWith(dir: string, between: () => void): Promise<void> {
  const plan = await openCheckpoint(dir);
  const binding = loadNative();
  const weights = new binding.NativeWeights();
  const native = new binding.NativeModel();
  try {
    await weights.load(nativeLoadPlan(plan));
    between();
    const spec = buildNativeSpec(plan, {
      kvCache: { numBlocks: 4, blockSize: 16, dtype: "bf16" },
      scratch: { maxStepTokens: 16, logitRowsPerChunk: 16 },
    });
    await native.load(weights, spec, backend);
  } finally {
    native.dispose();
    weights.dispose();
  }
}

describe("a checkpoint that changes under a load", () => {
  test("a shard truncated while mapped: the reads past its end fault, are caught, and the load fails", async () => {
    const { dir, shard } = freshCopy();
    const size = statSync(shard).size;
    await expect(loadWith(dir, () => truncateSync(shard, Math.floor(size / 3)))).rejects.toThrow(
      /the file was truncated while it was being loaded \(a read of its mapping went past its end\)/,
    );
  });

  test("a shard rewritten in place while mapped (same size, new bytes) fails the load", async () => {
    const { dir, shard } = freshCopy();
    const rewrite = () => {
      const fd = openSync(shard, "r+");
      writeSync(fd, Buffer.alloc(4096, 0x7f), 0, 4096, statSync(shard).size - 4096);
      closeSync(fd);
    };
    await expect(loadWith(dir, rewrite)).rejects.toThrow(/the file was modified while it was being loaded/);
  });

  test("a shard replaced after its header was read is refused before it is mapped", async () => {
    const { dir, shard } = freshCopy();
    const plan = await openCheckpoint(dir);
    copyFileSync(shard, `${shard}.new`);
    renameSync(`${shard}.new`, shard);
    const weights = new (loadNative().NativeWeights)();
    try {
      await expect(weights.load(nativeLoadPlan(plan))).rejects.toThrow(
        /the file was replaced after its header was read/,
      );
    } finally {
      weights.dispose();
    }
  });

  test("readTensor of a truncated shard is an error, not zeros", async () => {
    const { dir, shard } = freshCopy();
    const plan = await openCheckpoint(dir);
    const weights = new (loadNative().NativeWeights)();
    try {
      await weights.load(nativeLoadPlan(plan));
      const last = plan.tensors.reduce((a, t, i) => (t.offset > plan.tensors[a]!.offset ? i : a), 0);
      truncateSync(shard, 0);
      expect(() => weights.readTensor(last)).toThrow(/truncated while it was being loaded/);
    } finally {
      weights.dispose();
    }
  });

  test("through Model.load it is a CheckpointError, and a later load of an intact copy works", async () => {
    const { dir, shard } = freshCopy();
    const size = statSync(shard).size;
    let truncated = false;
    const load = Model.load(dir, {
      threads: 1,
      kvCacheMemory: 1 << 20,
      onProgress: (ev) => {
        if (ev.phase === "map" && !truncated) {
          truncated = true;
          truncateSync(shard, Math.floor(size / 2));
        }
      },
    });
    const error = await load.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(
      /truncated while it was being loaded|changed size while it was being loaded/,
    );
    await using model = await Model.load(freshCopy().dir, { threads: 1, kvCacheMemory: 1 << 20 });
    const r = await model.generate({ prompt: "hi", maxTokens: 2, temperature: 0 });
    expect(r.usage.completionTokens).toBeGreaterThan(0);
  });
});
