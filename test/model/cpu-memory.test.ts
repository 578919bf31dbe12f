/**
 * The host memory a model needs besides its KV pool (lib/model/cpu-memory.ts) is what the addon then takes: the weight
 * bytes computed from the load plan equal the addon's count for every generated weight form, vision tower included,
 * and the arena estimate covers the arena the addon allocates. A load that cannot fit is refused with the numbers.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutOfMemoryError } from "../../lib/errors";
import { planCpuMemory } from "../../lib/model/cpu-memory";
import { readHostMemory, usableBytes } from "../../lib/model/host-memory";
import { Model } from "../../lib/model/model";
import { GENERATED_QUANTS } from "../../lib/tiny/config-files";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

let checkpoints: TinyCheckpoints;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-cpu-memory-");
});
afterAll(() => checkpoints.cleanup());

describe("host memory planned from the load plan", () => {
  for (const layout of ["native", "hf"] as const) {
    for (const quant of GENERATED_QUANTS) {
      test(`${layout} ${quant}: the weight bytes are the addon's, the arena estimate covers its arena`, async () => {
        const dir = await checkpoints.get({ layout, quant });
        await using model = await Model.load(dir, {
          threads: 1,
          kvCacheMemory: 1 << 20,
          maxTokensPerStep: 64,
        });
        const plan = planCpuMemory(model.plan, { maxTokensPerStep: 64, logitRowsPerChunk: 64 });
        const info = model.live().info();
        if (quant === "fp8-ct-channel") {
          // Per-channel FP8 keeps a float scale per row beside the codes, which the addon's count leaves out.
          expect(plan.weightBytes).toBeGreaterThan(info.weightBytes);
          expect(plan.weightBytes).toBeLessThan(info.weightBytes * 1.02);
        } else {
          expect(plan.weightBytes).toBe(info.weightBytes);
        }
        expect(plan.arenaBytes).toBeLessThanOrEqual(info.scratchBytes);
        expect(plan.arenaBytes).toBeGreaterThan(info.scratchBytes * 0.95);
        expect(model.hasVision ? plan.visionScratchBytes : 0).toBeGreaterThanOrEqual(0);
      });
    }
  }
});

describe("memory refusal before the OOM killer", () => {
  test("a KV pool beyond what the process can have is an OutOfMemoryError with the numbers, before anything is allocated", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "bf16" });
    const usable = usableBytes(readHostMemory());
    const huge = Math.ceil(usable + 64 * 2 ** 30);
    const error = await Model.load(dir, { threads: 1, kvCacheMemory: huge }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutOfMemoryError);
    const oom = error as OutOfMemoryError;
    expect(oom.message).toMatch(
      /a KV pool of [\d.]+ GiB beside [\d.]+ GiB of weights, the step and vision scratch/,
    );
    expect(oom.message).toMatch(
      /this process can have [\d.]+ GiB now \([\d.]+ GiB available of [\d.]+ GiB on this machine/,
    );
    expect(oom.message).toMatch(/allowMemoryOvercommit: true loads anyway/);
    expect(oom.requiredBytes).toBeGreaterThan(huge);
    expect(oom.availableBytes).toBeGreaterThan(0);
    expect(oom.availableBytes).toBeLessThan(oom.requiredBytes!);
  });

  test("allowMemoryOvercommit must be a boolean", async () => {
    await expect(Model.load(undefined, { allowMemoryOvercommit: "yes" as never })).rejects.toThrow(
      /options\.allowMemoryOvercommit/,
    );
  });
});
