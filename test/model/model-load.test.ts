import { copyFileSync, cpSync, readFileSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../../lib/checkpoint/open-checkpoint";
import {
  AbortError,
  CheckpointError,
  DisposedError,
  InvalidArgumentError,
  TokenizerError,
} from "../../lib/errors";
import { Model } from "../../lib/model/model";
import { buildNativeSpec } from "../../lib/model/native-spec";
import { automaticCpuPath, runnableUserPaths } from "../../lib/model/resolve-backend";
import { loadNative } from "../../lib/native";
import { makeTiny } from "../../lib/tiny/make-tiny";
import { makeTempDir } from "../helpers/temp-dir";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());
const native = join(tmp.dir, "native");
const hf = join(tmp.dir, "hf");

beforeAll(async () => {
  await makeTiny(native, { layout: "native", quant: "nvfp4", seed: 1 });
  await makeTiny(hf, { layout: "hf", quant: "bf16", seed: 1 });
});

describe("Model.load", () => {
  test("maps and validates every weight of the tiny checkpoint in both layouts, then dispose releases them", async () => {
    for (const dir of [native, hf]) {
      const phases = new Set<string>();
      const model = await Model.load(dir, { onProgress: (p) => phases.add(p.phase) });
      expect(model.config.numLayers).toBe(2);
      expect(model.tokenizer.vocabSize).toBe(model.config.vocabSize);
      expect(model.memory().weightBytes).toBeGreaterThan(1_000_000);
      expect(model.memory().kvCacheBytes).toBeGreaterThan(0);
      expect(model.kernelPath).toMatch(/^cpu-/);
      expect([...phases]).toEqual(expect.arrayContaining(["plan", "map", "repack"]));
      await model.dispose();
      expect(model.disposed).toBe(true);
      expect(() => model.memory()).toThrow(DisposedError);
      await model.dispose(); // twice is fine
    }
  });

  test("native code reads exactly the bytes the plan names", async () => {
    const plan = await openCheckpoint(native);
    const weights = new (loadNative().NativeWeights)();
    await weights.load({
      files: plan.files.map((f) => ({ path: f.path, size: f.size })),
      tensors: plan.tensors.map((t) => ({
        name: t.name,
        file: t.fileIndex,
        offset: t.offset,
        length: t.length,
      })),
      prefetch: true,
    });
    const file = readFileSync(join(native, "consolidated.safetensors"));
    for (const i of [0, 5, plan.tensors.length - 1]) {
      const t = plan.tensors[i]!;
      expect(weights.readTensor(i).equals(file.subarray(t.offset, t.offset + t.length)), t.name).toBe(true);
    }
    expect(() => weights.readTensor(plan.tensors.length)).toThrow(/out of range/);
    weights.dispose();
  });

  test("await using disposes the model", async () => {
    let outer: Model | undefined;
    {
      await using model = await Model.load(native);
      outer = model;
    }
    expect(outer?.disposed).toBe(true);
  });

  test("an already-aborted signal rejects with AbortError before loading", async () => {
    await expect(Model.load(native, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  test("aborting during the load rejects with AbortError", async () => {
    const controller = new AbortController();
    const run = Model.load(native, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "map") controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
  });

  test("NativeModel.abort() stops a running repack at its next weight", async () => {
    const binding = loadNative();
    const plan = await openCheckpoint(native);
    const weights = new binding.NativeWeights();
    await weights.load({
      files: plan.files.map((f) => ({ path: f.path, size: f.size })),
      tensors: plan.tensors.map((t) => ({
        name: t.name,
        file: t.fileIndex,
        offset: t.offset,
        length: t.length,
      })),
      prefetch: false,
    });
    const model = new binding.NativeModel();
    const spec = buildNativeSpec(plan, {
      kvCache: { numBlocks: 4, blockSize: 16, dtype: "bf16" },
      scratch: { maxStepTokens: 16, logitRowsPerChunk: 4 },
    });
    const backend = {
      device: "cpu",
      deviceIndex: 0,
      cpu: { threads: 1, path: "portable", nvfp4Activations: "f32", hugePages: false },
    } as const;
    let last = 0;
    let total = 0;
    const run = model.load(weights, spec, backend, (ev) => {
      if (ev.phase !== "repack") return;
      last = ev.done;
      total = ev.total;
      if (ev.done === 1) model.abort();
    });
    await expect(run).rejects.toThrow(/aborted/);
    expect(total).toBeGreaterThan(10);
    expect(last).toBeLessThan(total);
    model.dispose();
    weights.dispose();
  });

  test("bad options are InvalidArgumentErrors naming the option", async () => {
    await expect(Model.load(native, { threads: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(Model.load(native, { device: "tpu" as never })).rejects.toThrow(/options\.device/);
    await expect(Model.load(native, { kvCacheMemory: -5 })).rejects.toThrow(/options\.kvCacheMemory/);
    await expect(Model.load(native, { nvfp4Activations: "int4" as never })).rejects.toThrow(
      /options\.nvfp4Activations/,
    );
    await expect(Model.load(native, { cpuPath: "avx1024" as never })).rejects.toThrow(/options\.cpuPath/);
    const savedActs = process.env.MS4_NVFP4_ACTIVATIONS;
    process.env.MS4_NVFP4_ACTIVATIONS = "int4";
    try {
      await expect(Model.load(native)).rejects.toThrow(/MS4_NVFP4_ACTIVATIONS/);
    } finally {
      if (savedActs === undefined) delete process.env.MS4_NVFP4_ACTIVATIONS;
      else process.env.MS4_NVFP4_ACTIVATIONS = savedActs;
    }
    await expect(Model.load("", {})).rejects.toThrow(/dir/);
  });

  test("an unknown load option is an InvalidArgumentError naming it and the closest known one", async () => {
    const err = await Model.load(native, { maxContxt: 10 } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe('unknown option "maxContxt" in options (did you mean "maxContext"?)');
    await expect(Model.load(native, { kv_cache_memory: 1 << 20 } as never)).rejects.toThrow(
      /did you mean "kvCacheMemory"\?/,
    );
    await expect(Model.load(native, { addonPath: 5 } as never)).rejects.toThrow(/options\.addonPath/);
  });

  test('device "cuda" is an InvalidArgumentError saying why, where the addon cannot use a CUDA device', async (ctx) => {
    const { cuda } = loadNative().systemInfo();
    if (cuda.devices.some((d) => d.usable)) {
      console.log("[model-load] a usable CUDA device is present: test/gpu/ loads models on it");
      ctx.skip();
      return;
    }
    for (const device of ["cuda", "cuda:0"] as const) {
      const err = await Model.load(native, { device }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      const message = (err as Error).message;
      expect(message).toMatch(new RegExp(`^device "${device}" is unavailable: `));
      if (!cuda.compiled) expect(message).toContain(cuda.error);
      else if (cuda.devices.length === 0) expect(message).toContain("no usable CUDA device");
      else expect(message).toContain("cannot run the CUDA backend");
    }
  });

  test("the kernel path and activations chosen in TypeScript are the ones the model runs", async () => {
    const saved = [process.env.MS4_CPU_PATH, process.env.MS4_NVFP4_ACTIVATIONS];
    delete process.env.MS4_NVFP4_ACTIVATIONS;
    try {
      delete process.env.MS4_CPU_PATH;
      const auto = await Model.load(native, { kvCacheMemory: 1 << 20 });
      expect(auto.kernelPath).toBe(`cpu-${automaticCpuPath(loadNative().systemInfo())}`);
      expect(auto.nvfp4Activations).toBe(auto.kernelPath === "cpu-portable" ? "f32" : "int16");
      await auto.dispose();
      process.env.MS4_CPU_PATH = "portable";
      const portable = await Model.load(native, { kvCacheMemory: 1 << 20 });
      expect([portable.kernelPath, portable.nvfp4Activations]).toEqual(["cpu-portable", "f32"]);
      await portable.dispose();
    } finally {
      if (saved[0] === undefined) delete process.env.MS4_CPU_PATH;
      else process.env.MS4_CPU_PATH = saved[0];
      if (saved[1] !== undefined) process.env.MS4_NVFP4_ACTIVATIONS = saved[1];
    }
  });

  test("a kernel path this CPU cannot run is an InvalidArgumentError listing the ones it can", async (ctx) => {
    const runnable = loadNative().systemInfo().cpu.kernelPaths;
    const missing = (["avx512", "avx2"] as const).find((p) => !runnable.includes(p));
    if (missing === undefined) {
      console.log("[model load] skipping: this CPU runs every kernel path");
      ctx.skip();
      return;
    }
    const err = await Model.load(native, { cpuPath: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    // The emulated test path is never offered to users.
    expect(String(err)).toContain(
      `this CPU and build run: ${runnableUserPaths(loadNative().systemInfo()).join(", ")}`,
    );
    expect(String(err)).not.toContain("emulated");
  });

  test("a missing folder, a missing tekken.json and a corrupt tekken.json are clear errors", async () => {
    await expect(Model.load(join(tmp.dir, "nope"))).rejects.toThrow(/checkpoint folder not found/);
    const noTok = join(tmp.dir, "no-tokenizer");
    cpSync(native, noTok, { recursive: true });
    rmSync(join(noTok, "tekken.json"));
    await expect(Model.load(noTok)).rejects.toThrow(/tekken\.json not found/);
    copyFileSync(join(noTok, "params.json"), join(noTok, "tekken.json"));
    await expect(Model.load(noTok)).rejects.toBeInstanceOf(TokenizerError);
  });

  test("a weight file truncated after its header was read is a CheckpointError, not a crash", async () => {
    const cut = join(tmp.dir, "truncated");
    cpSync(native, cut, { recursive: true });
    const file = join(cut, "consolidated.safetensors");
    truncateSync(file, 1000);
    await expect(Model.load(cut)).rejects.toBeInstanceOf(CheckpointError);
  });
});
