// NVFP4 weights with int8 activations (MS4_NVFP4_ACTIVATIONS=int8, opt-in; KERNEL-NOTES §3.1)
// against the independent float64 reference. The integer products are exact; the only approximation is the
// per-16-block int8 rounding of activations (at most absmax/254 per value), which stays far below the NVFP4
// weight quantization itself. Measured on the tiny model (hidden 128, 8 experts top-4, random weights): the
// L2-relative logit error is ~1e-2, but the worst single logit differs by up to ~9e-2 of the largest logit:
// the perturbation can flip a near-tie in top-4 routing for some token, a discrete jump no per-kernel bound
// covers; and one position of one prompt (a near-tie in the random model's logits) changes its top-1 token.
// Bounds: L2-relative <= 3e-2, max-relative <= 0.15, top-1 agreement >= 95 %. The target (1e-2
// max-relative, identical top-1) is NOT met on this tiny model, so int8 is not the default; see bench/README.md.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Model } from "../../lib/model/model";
import { compareLogits, runSequence } from "../helpers/native-steps";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { ReferenceModel } from "../reference/reference-model";

const INT8_L2_BOUND = 3e-2;
const INT8_MAX_BOUND = 0.15;

function l2Rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    r += b[i]! ** 2;
  }
  return Math.sqrt(d / r);
}
const savedActs = process.env.MS4_NVFP4_ACTIVATIONS;
let checkpoints: TinyCheckpoints;
beforeAll(async () => {
  process.env.MS4_NVFP4_ACTIVATIONS = "int8"; // read by the CPU backend at Model.load (own process per file)
  checkpoints = await TinyCheckpoints.create("ms4-int8-");
});
afterAll(() => {
  if (savedActs === undefined) delete process.env.MS4_NVFP4_ACTIVATIONS;
  else process.env.MS4_NVFP4_ACTIVATIONS = savedActs;
  checkpoints.cleanup();
});

const prompt = (n: number, seed = 1) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + seed * 104729) % 1000));
const report: string[] = [];
afterAll(() => console.log(`int8-activation forward vs float64 reference:\n${report.join("\n")}`));

describe("NVFP4 with int8 activations stays within its bound of the float64 reference", () => {
  for (const layout of ["native", "hf"] as const) {
    for (const cpuPath of ["portable", "avx2"] as const) {
      test(`${layout} layout, ${cpuPath} path, f32 KV cache`, async (ctx) => {
        if (cpuPath === "avx2") {
          const { loadNative } = await import("../../lib/native");
          const cpu = loadNative().systemInfo().cpu;
          if (!(cpu.avx2 && cpu.fma && cpu.f16c)) {
            ctx.skip();
            return;
          }
        }
        const dir = await checkpoints.get({ layout, quant: "nvfp4", seed: 5 });
        const reference = await ReferenceModel.open(dir, layout);
        await using model = await Model.load(dir, { kvCacheDtype: "f32", kvCacheMemory: 4 << 20, cpuPath });
        for (const seed of [1, 2, 3]) {
          const tokens = prompt(40, seed);
          const expected = reference.forward(tokens);
          const got = await runSequence(model, { tokens, chunks: [32, 1, 1, 1, 1, 1, 1, 1, 1] });
          const { relError, top1 } = compareLogits(got, expected, model.config.vocabSize);
          const l2 = l2Rel(got, expected);
          report.push(
            `  ${layout}/${cpuPath}/prompt ${seed}: L2 rel error ${l2.toExponential(2)}, max rel error ${relError.toExponential(2)}, top-1 ${(top1 * 100).toFixed(1)}%`,
          );
          expect(l2).toBeLessThan(INT8_L2_BOUND);
          expect(relError).toBeLessThan(INT8_MAX_BOUND);
          expect(top1).toBeGreaterThanOrEqual(0.95);
        }
      });
    }
  }
});
