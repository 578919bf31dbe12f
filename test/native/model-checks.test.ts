// Whole-model checks over any two backends (native/checks/model_checks.cc), run here between two CPU kernel paths so
// the harness the GPU check program relies on is itself exercised on every machine.
import { describe, expect, test } from "vitest";
import { loadNative } from "../../lib/native";

describe("synthetic-model checks between two backends", () => {
  test("the portable and the best CPU path agree on prefill logits, greedy tokens and batch invariance", () => {
    const native = loadNative();
    const paths = native.systemInfo().cpu.kernelPaths.filter((p) => p !== "avx512-emulated");
    const best = paths[paths.length - 1] ?? "portable";
    const checks = native.modelChecks("cpu:portable", `cpu:${best}`, "", 32);
    const ops = new Set(checks.map((c) => c.op));
    for (const op of ["modelPrefill", "modelGreedy", "modelBatchInvariance"]) expect(ops.has(op)).toBe(true);
    for (const format of ["nvfp4", "fp8", "bf16"]) {
      expect(checks.some((c) => c.params.includes(`format=${format}`))).toBe(true);
    }
    for (const c of checks) {
      expect(c.ok, `${c.params}: error ${c.error} exceeds bound ${c.bound}`).toBe(true);
    }
  });

  test("an unknown backend is a TypeError naming the accepted ones", () => {
    expect(() => loadNative().modelChecks("cpu", "tpu")).toThrow(/"cpu", "cpu:<path>", "cuda" or "cuda:N"/);
  });

  test("the model benchmark reports decode and prefill speeds per batch size", () => {
    const r = loadNative().kernelBench("model", {
      real: 0,
      batches: "1,4",
      ctx: 64,
      prompt: 32,
      steps: 2,
    });
    for (const key of ["decodeTokensPerSecond_b1", "decodeTokensPerSecond_b4", "prefillTokensPerSecond"]) {
      expect(Number(r[key]), key).toBeGreaterThan(0);
    }
    expect(String(r["kernelPath"])).toMatch(/^cpu-/);
  });
});
