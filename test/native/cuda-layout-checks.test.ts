// The CUDA backend's host-side code on the CPU (cuda/layout/host_checks.cc): runs on every machine, GPU or not.
import { describe, expect, test } from "vitest";
import { loadNative } from "../../lib/native";

/** One case per family: the layouts rebuilt into tensor-core products, conversions, splitting, the plans. */
const EXPECTED = [
  "cudaLinearFragments",
  "cudaElementDecode",
  "cudaHalfConversion",
  "cudaDecodeExactness",
  "cudaSplitTerms",
  "cudaLinearPlan",
  "cudaMoePlan",
  "cudaAttentionPlan",
];

describe("CUDA layouts and launch plans, checked on the CPU", () => {
  test("NVFP4 / FP8 / BF16 weights in fragment order, times split activations, give the reference linear", () => {
    const checks = loadNative().cudaLayoutChecks();
    const ops = new Set(checks.map((c) => c.op));
    for (const op of EXPECTED) expect(ops.has(op), `no ${op} case`).toBe(true);
    for (const c of checks) {
      expect(c.ok, `${c.params}: error ${c.error} (max abs ${c.maxAbsError}) exceeds bound ${c.bound}`).toBe(
        true,
      );
    }
    const fragments = checks.filter((c) => c.op === "cudaLinearFragments");
    expect(fragments.map((c) => c.params)).toContain(
      "cudaLinearFragments(format=nvfp4,T=5,rows=33,cols=1040)",
    );
  });

  test("the filter selects cases", () => {
    const some = loadNative().cudaLayoutChecks("cudaMoePlan(");
    expect(some.length).toBeGreaterThan(0);
    expect(some.every((c) => c.op === "cudaMoePlan")).toBe(true);
  });
});
