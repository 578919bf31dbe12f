// NVFP4 weights with quantized activations (Model.load's nvfp4Activations: "int16" is the avx2 default, "int8"
// opt-in; docs/cpu-backend.md#accuracy) against the float64 reference. Integer products are exact; the only
// approximation is the per-16-block rounding of activations: at most absmax/65534 per value for int16, absmax/254
// for int8.
//   int16: measured max-relative logit error 3.4e-5..3.8e-5 with identical top-1 everywhere; bound 1e-3 (the bound
//          for a BF16-activation path) and identical top-1.
//   int8:  on the tiny model (hidden 128, 8 experts top-4, random weights) the L2-relative logit error is ~1e-2,
//          but the worst single logit differs by up to ~9e-2 of the largest logit: the perturbation can flip a
//          near-tie in top-4 routing for some token, a discrete jump no per-kernel bound covers; and one position
//          of one prompt (a near-tie in the random model's logits) changes its top-1 token. Bounds: L2-relative
//          <= 3e-2, max-relative <= 0.15, top-1 agreement >= 95 %. The target (1e-2 max-relative,
//          identical top-1) is NOT met on this tiny model, so int8 is not a default; see bench/README.md.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Model } from "../../lib/model/model";
import { type CpuKernelPath, loadNative } from "../../lib/native";
import { l2RelativeError } from "../helpers/l2-error";
import { compareLogits, runSequence } from "../helpers/native-steps";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { ReferenceModel } from "../reference/reference-model";

const BOUNDS = {
  int16: { l2: 1e-3, max: 1e-3, top1: 1 },
  int8: { l2: 3e-2, max: 0.15, top1: 0.95 },
} as const;

let checkpoints: TinyCheckpoints;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-qact-");
});
afterAll(() => checkpoints.cleanup());

const prompt = (n: number, seed = 1) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + seed * 104729) % 1000));
const report: string[] = [];
afterAll(() => console.log(`quantized-activation forward vs float64 reference:\n${report.join("\n")}`));

function canRun(path: CpuKernelPath): boolean {
  return loadNative().systemInfo().cpu.kernelPaths.includes(path);
}

for (const acts of ["int16", "int8"] as const) {
  describe(`NVFP4 with ${acts} activations stays within its bound of the float64 reference`, () => {
    for (const layout of ["native", "hf"] as const) {
      for (const cpuPath of ["portable", "avx2", "avx512", "avx512-emulated"] as const) {
        test(`${layout} layout, ${cpuPath} path, f32 KV cache`, async (ctx) => {
          if (!canRun(cpuPath)) {
            console.log(
              `[quantized activations] skipping the ${cpuPath} path: this CPU or build cannot run it`,
            );
            ctx.skip();
            return;
          }
          const dir = await checkpoints.get({ layout, quant: "nvfp4", seed: 5 });
          const reference = await ReferenceModel.open(dir, layout);
          await using model = await Model.load(dir, {
            kvCacheDtype: "f32",
            kvCacheMemory: 4 << 20,
            cpuPath,
            nvfp4Activations: acts,
          });
          expect(model.nvfp4Activations).toBe(acts);
          const bound = BOUNDS[acts];
          for (const seed of [1, 2, 3]) {
            const tokens = prompt(40, seed);
            const expected = reference.forward(tokens);
            const got = await runSequence(model, { tokens, chunks: [32, 1, 1, 1, 1, 1, 1, 1, 1] });
            const { relError, top1 } = compareLogits(got, expected, model.config.vocabSize);
            const l2 = l2RelativeError(got, expected);
            report.push(
              `  ${acts} ${layout}/${cpuPath}/prompt ${seed}: L2 rel error ${l2.toExponential(2)}, max rel error ${relError.toExponential(2)}, top-1 ${(top1 * 100).toFixed(1)}%`,
            );
            expect(l2).toBeLessThan(bound.l2);
            expect(relError).toBeLessThan(bound.max);
            expect(top1).toBeGreaterThanOrEqual(bound.top1);
          }
        });
      }
    }
  });
}

test("the vector paths default to int16 activations and the portable path to the exact f32 path", async () => {
  const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
  const saved = process.env.MS4_NVFP4_ACTIVATIONS;
  delete process.env.MS4_NVFP4_ACTIVATIONS;
  try {
    await using portable = await Model.load(dir, { kvCacheMemory: 1 << 20, cpuPath: "portable" });
    expect(portable.nvfp4Activations).toBe("f32");
    for (const cpuPath of ["avx2", "avx512", "avx512-emulated"] as const) {
      if (!canRun(cpuPath)) continue;
      await using model = await Model.load(dir, { kvCacheMemory: 1 << 20, cpuPath });
      expect(model.kernelPath).toBe(`cpu-${cpuPath}`);
      expect(model.nvfp4Activations).toBe("int16");
    }
  } finally {
    if (saved !== undefined) process.env.MS4_NVFP4_ACTIVATIONS = saved;
  }
});
