/**
 * The bounded fuzz run of every parser that reads outside input (test/fuzz/targets; the long run is `npm run fuzz`,
 * docs/reliability.md#fuzzing). Each target runs a few thousand generated cases — sized so the whole file takes
 * seconds — from a fixed seed, so a failure here replays; MS4_FUZZ_SEED picks another seed.
 */
import { describe, expect, test } from "vitest";
import { formatReport, fuzz } from "./harness";
import { FUZZ_TARGETS } from "./targets/index";

/** Cases per target: the slower targets (a decode walk per schema, an image decode per case) get fewer. */
const RUNS: Record<string, number> = {
  "safetensors-header": 3000,
  "shard-index": 3000,
  "model-config": 2000,
  "tekken-json": 1500,
  "chat-request": 3000,
  "response-format": 800,
  "sampling-options": 3000,
  image: 1500,
};
const seed = process.env.MS4_FUZZ_SEED === undefined ? 20261203 : Number(process.env.MS4_FUZZ_SEED);

describe("every parser of outside input accepts a valid value or throws a typed Ms4Error, never anything else", () => {
  test("every target has a bounded run here", () => {
    expect(FUZZ_TARGETS.map((t) => t.name).sort()).toEqual(Object.keys(RUNS).sort());
  });

  for (const target of FUZZ_TARGETS) {
    test(`${target.name}: ${target.reads}`, async () => {
      const report = await fuzz(target, { numRuns: RUNS[target.name] ?? 1000, seed });
      expect(report.failure, formatReport(report)).toBeUndefined();
      expect(report.runs).toBe(RUNS[target.name]);
      // Both sides of the property are exercised: some inputs are accepted and some refused.
      expect(report.accepted).toBeGreaterThan(0);
      expect(report.runs - report.accepted).toBeGreaterThan(0);
    }, 120_000);
  }
});
