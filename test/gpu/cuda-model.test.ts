// Models on the CUDA device through the public API: the forward against the independent float64 reference on
// generated checkpoints (both layouts, all three weight formats, both KV dtypes) with the CPU forward tests' bounds,
// CPU and CUDA greedy continuations token for token, batch invariance through the engine, the device's memory report,
// and out-of-memory refusals before anything is allocated.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutOfMemoryError } from "../../lib/errors";
import { Model } from "../../lib/model/model";
import { loadNative } from "../../lib/native";
import { compareLogits, runSequence } from "../helpers/native-steps";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { ReferenceModel } from "../reference/reference-model";
import { announceSkip, TEST_DEVICE } from "./gpu-device";

const reason = announceSkip("cuda-model");
let checkpoints: TinyCheckpoints;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-gpu-");
});
afterAll(() => checkpoints.cleanup());

const prompt = (n: number, seed = 1) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + seed * 104729) % 1000));
// The CPU forward tests' bounds (test/forward/forward-vs-reference.test.ts): float32 through 2 layers with an f32
// cache, plus BF16 latent rounding with a BF16 cache.
const BOUND = { f32: 1e-4, bf16: 2e-2 } as const;

describe.skipIf(reason !== "")(`the CUDA forward on ${TEST_DEVICE} matches the float64 reference`, () => {
  for (const layout of ["native", "hf"] as const) {
    for (const quant of ["nvfp4", "bf16", "fp8"] as const) {
      for (const kvCacheDtype of ["f32", "bf16"] as const) {
        test(`${layout} layout, ${quant} weights, ${kvCacheDtype} KV cache`, async () => {
          const dir = await checkpoints.get({ layout, quant, seed: 5 });
          const reference = await ReferenceModel.open(dir, layout);
          await using model = await Model.load(dir, {
            device: TEST_DEVICE,
            kvCacheDtype,
            kvCacheMemory: 4 << 20,
          });
          expect(model.device).toBe("cuda");
          expect(model.kernelPath).toMatch(/^cuda-sm_\d+$/);
          const tokens = prompt(40);
          const got = await runSequence(model, { tokens, chunks: [17, 1, 22] });
          const { relError, top1 } = compareLogits(got, reference.forward(tokens), model.config.vocabSize);
          expect(relError).toBeLessThan(BOUND[kvCacheDtype]);
          if (kvCacheDtype === "f32") expect(top1).toBe(1);
          else expect(top1).toBeGreaterThanOrEqual(0.95);
        });
      }
    }
  }

  test("absorbed and expanded attention agree with the reference; long positions take llama-4 scaling", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
    const reference = await ReferenceModel.open(dir);
    await using model = await Model.load(dir, {
      device: TEST_DEVICE,
      kvCacheDtype: "f32",
      kvCacheMemory: 4 << 20,
    });
    const tokens = prompt(33, 4);
    for (const attention of ["absorbed", "expanded"] as const) {
      const got = await runSequence(model, { tokens, attention, chunks: [17, 16] });
      expect(
        compareLogits(got, reference.forward(tokens), model.config.vocabSize).relError,
        attention,
      ).toBeLessThan(1e-4);
    }
    const positions = tokens.map((_, i) => 300000 + i);
    const got = await runSequence(model, { tokens, positions, chunks: [12, 1, 20] });
    expect(
      compareLogits(got, reference.forward(tokens, positions), model.config.vocabSize).relError,
    ).toBeLessThan(1e-4);
  });
});

describe.skipIf(reason !== "")(`generation on ${TEST_DEVICE}`, () => {
  test("CPU (exact path) and CUDA give the same 64 greedy tokens", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 11 });
    await using cpu = await Model.load(dir, {
      device: "cpu",
      nvfp4Activations: "f32",
      kvCacheMemory: 8 << 20,
    });
    await using gpu = await Model.load(dir, { device: TEST_DEVICE, kvCacheMemory: 8 << 20 });
    for (const seed of [1, 2, 3]) {
      const tokens = prompt(24, seed);
      const request = { tokens, maxTokens: 64, temperature: 0 };
      const [a, b] = [await cpu.generate(request), await gpu.generate(request)];
      const i = a.tokens.findIndex((t, k) => t !== b.tokens[k]);
      if (i >= 0) {
        // Both are float32 arithmetic: they may part only where the CPU's two best logits are within rounding.
        const logits = await cpu.evaluate([...tokens, ...a.tokens.slice(0, i)]);
        const sorted = Array.from(logits).sort((x, y) => y - x);
        const scale = Math.max(...Array.from(logits, Math.abs));
        expect(sorted[0]! - sorted[1]!, `prompt ${seed}: token ${i} differs without a tie`).toBeLessThan(
          1e-4 * scale,
        );
      } else {
        expect(b.tokens, `prompt ${seed}`).toEqual(a.tokens);
      }
    }
  });

  test("a request decodes the same tokens alone and among 15 others (batch invariance)", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 12 });
    await using model = await Model.load(dir, {
      device: TEST_DEVICE,
      kvCacheMemory: 16 << 20,
      maxBatchSize: 16,
    });
    const requests = Array.from({ length: 16 }, (_, i) => ({
      tokens: prompt(5 + i, i + 1),
      maxTokens: 24,
      temperature: 0,
    }));
    const together = await Promise.all(requests.map((r) => model.generate(r)));
    for (let i = 0; i < requests.length; i++) {
      const alone = await model.generate(requests[i]!);
      expect(together[i]!.tokens, `request ${i}`).toEqual(alone.tokens);
    }
  });

  test("memory() reports device bytes; a KV pool larger than the device is refused before allocation", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
    await using model = await Model.load(dir, { device: TEST_DEVICE, kvCacheMemory: 4 << 20 });
    const memory = model.memory();
    expect(memory.device).toBe("cuda");
    expect(memory.weightBytes).toBeGreaterThan(0);
    expect(memory.kvCacheBytes).toBeLessThanOrEqual(4 << 20);
    const index = TEST_DEVICE === "cuda" ? 0 : Number(TEST_DEVICE.slice(5));
    const total =
      loadNative()
        .systemInfo()
        .cuda.devices.find((d) => d.index === index)?.totalMemory ?? 0;
    const err = await Model.load(dir, { device: TEST_DEVICE, kvCacheMemory: 2 * total }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as Error).message).toMatch(/does not fit: CUDA device \d+ .* free; lower kvCacheMemory/);
  });
});
