import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Model } from "../../lib/model/model";
import { loadNative } from "../../lib/native";
import { GENERATED_QUANTS } from "../../lib/tiny/config-files";
import { compareLogits, runSequence } from "../helpers/native-steps";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { ReferenceModel } from "../reference/reference-model";

// The exact path: NVFP4 weights with fp32 activations (the vector paths default to int16 activations, whose
// bound vs the reference is stated in quantized-activations.test.ts). The CPU backend reads the variable when a
// model is loaded; vitest runs each test file in its own process (pool "forks").
const savedActs = process.env.MS4_NVFP4_ACTIVATIONS;
let checkpoints: TinyCheckpoints;
beforeAll(async () => {
  process.env.MS4_NVFP4_ACTIVATIONS = "f32";
  checkpoints = await TinyCheckpoints.create("ms4-forward-");
});
afterAll(() => {
  if (savedActs === undefined) delete process.env.MS4_NVFP4_ACTIVATIONS;
  else process.env.MS4_NVFP4_ACTIVATIONS = savedActs;
  checkpoints.cleanup();
});

const prompt = (n: number, seed = 1) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + seed * 104729) % 1000));
const report: string[] = [];
afterAll(() => console.log(`native forward vs float64 reference:\n${report.join("\n")}`));

// Bounds: the native path keeps activations in float32 (reference: float64); with an f32 KV cache the
// difference is float32 rounding through 2 layers (~1e-5 relative); a BF16 cache adds the latent's
// 8-bit mantissa rounding (~4e-3 relative per entry).
const BOUND = { f32: 1e-4, bf16: 2e-2 } as const;

describe("the native forward matches the independent float64 reference", () => {
  // Every generated weight form: NVFP4, BF16, and FP8 as Mistral ships it (its own form, fused HF experts
  // by default and per-expert too; compressed-tensors per-tensor and per-channel; docs/fp8-checkpoints.md).
  const forms = [
    ...GENERATED_QUANTS.map((quant) => ({ quant, fused: undefined, name: quant })),
    { quant: "fp8" as const, fused: false, name: "fp8 per-expert" },
  ];
  for (const layout of ["native", "hf"] as const) {
    for (const { quant, fused, name } of forms) {
      if (fused !== undefined && layout === "native") continue;
      for (const kvCacheDtype of ["f32", "bf16"] as const) {
        test(`${layout} layout, ${name} weights, ${kvCacheDtype} KV cache`, async () => {
          const dir = await checkpoints.get({
            layout,
            quant,
            seed: 5,
            ...(fused === undefined ? {} : { fusedExperts: fused }),
          });
          const reference = await ReferenceModel.open(dir, layout);
          await using model = await Model.load(dir, { kvCacheDtype, kvCacheMemory: 4 << 20 });
          const tokens = prompt(40);
          const expected = reference.forward(tokens);
          const got = await runSequence(model, { tokens });
          const { relError, top1 } = compareLogits(got, expected, model.config.vocabSize);
          report.push(
            `  ${layout}/${name}/kv-${kvCacheDtype}: max rel error ${relError.toExponential(2)}, top-1 ${(top1 * 100).toFixed(1)}%`,
          );
          expect(relError).toBeLessThan(BOUND[kvCacheDtype]);
          if (kvCacheDtype === "f32") expect(top1).toBe(1);
          else expect(top1).toBeGreaterThanOrEqual(0.95);
        });
      }
    }
  }
});

describe("per-channel FP8 on every kernel path", () => {
  for (const cpuPath of ["portable", "avx2", "avx512", "avx512-emulated"] as const) {
    test(`${cpuPath}: per-row weight scales match the reference (GEMV and GEMM token counts)`, async (ctx) => {
      if (!loadNative().systemInfo().cpu.kernelPaths.includes(cpuPath)) {
        console.log(`[per-channel FP8] skipping the ${cpuPath} path: this CPU or build cannot run it`);
        ctx.skip();
        return;
      }
      const dir = await checkpoints.get({ layout: "native", quant: "fp8-ct-channel", seed: 5 });
      const reference = await ReferenceModel.open(dir);
      await using model = await Model.load(dir, { kvCacheDtype: "f32", kvCacheMemory: 4 << 20, cpuPath });
      const tokens = prompt(24, 6);
      const expected = reference.forward(tokens);
      // A 20-token chunk goes through the GEMM; single tokens through the GEMV.
      const got = await runSequence(model, { tokens, chunks: [20, 1, 1, 1, 1] });
      const { relError, top1 } = compareLogits(got, expected, model.config.vocabSize);
      expect(relError).toBeLessThan(BOUND.f32);
      expect(top1).toBe(1);
    });
  }
});

describe("KV cache and attention forms", () => {
  test("decoding one token at a time after a prefill gives the logits of one-shot prefill", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
    await using model = await Model.load(dir, { kvCacheDtype: "f32", kvCacheMemory: 4 << 20 });
    const tokens = prompt(50, 3);
    const oneShot = await runSequence(model, { tokens });
    const incremental = await runSequence(model, { tokens, chunks: [20, ...Array(30).fill(1)] });
    const { relError } = compareLogits(incremental, oneShot, model.config.vocabSize);
    expect(relError).toBeLessThan(1e-5);
  });

  test("absorbed and expanded attention give the same logits, and both match the reference", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "bf16", seed: 5 });
    const reference = await ReferenceModel.open(dir);
    await using model = await Model.load(dir, { kvCacheDtype: "f32", kvCacheMemory: 4 << 20 });
    const tokens = prompt(33, 4);
    const expected = reference.forward(tokens);
    for (const attention of ["absorbed", "expanded"] as const) {
      const got = await runSequence(model, { tokens, attention, chunks: [17, 16] });
      expect(compareLogits(got, expected, model.config.vocabSize).relError, attention).toBeLessThan(1e-4);
    }
  });

  test("a prompt spanning many KV blocks, stored in scrambled blocks, matches the reference", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
    const reference = await ReferenceModel.open(dir);
    await using model = await Model.load(dir, {
      kvCacheDtype: "f32",
      kvBlockSize: 4,
      kvCacheMemory: 1 << 20,
    });
    const tokens = prompt(70, 6);
    const blocks = Array.from({ length: 18 }, (_, i) => (i * 7 + 3) % 18); // a permutation of 0..17
    const got = await runSequence(model, { tokens, blocks, chunks: [30, 25, 15] });
    expect(compareLogits(got, reference.forward(tokens), model.config.vocabSize).relError).toBeLessThan(1e-4);
  });

  test("positions beyond 8192 (llama-4 scaling and YaRN) match the reference", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
    const reference = await ReferenceModel.open(dir);
    await using model = await Model.load(dir, { kvCacheDtype: "f32", kvCacheMemory: 4 << 20 });
    const tokens = prompt(24, 8);
    for (const start of [8180, 70000, 300000, 1000000]) {
      const positions = tokens.map((_, i) => start + i);
      const got = await runSequence(model, { tokens, positions, chunks: [12, 1, 1, 10] });
      const { relError, top1 } = compareLogits(
        got,
        reference.forward(tokens, positions),
        model.config.vocabSize,
      );
      report.push(
        `  positions from ${start}: max rel error ${relError.toExponential(2)}, top-1 ${(top1 * 100).toFixed(1)}%`,
      );
      expect(relError, `start ${start}`).toBeLessThan(1e-4);
    }
  });
});
