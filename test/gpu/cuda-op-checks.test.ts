// Every CUDA op against the reference ops with the CPU's bounds (native/checks over the CUDA backend), the device
// repack, and whole synthetic models CPU (exact path) vs CUDA.
import { describe, expect, test } from "vitest";
import { loadNative, type OpCheck } from "../../lib/native";
import { announceSkip, TEST_DEVICE } from "./gpu-device";

const reason = announceSkip("cuda-op-checks");

/** The ops of the Backend interface (native/backend/backend.h), plus the CUDA repack check. */
const EXPECTED_OPS = [
  "cudaDeviceRepack",
  "linear",
  "linearBatchInvariance",
  "linearNonFinite",
  "embedTokens",
  "gatherLogitRows",
  "rmsNorm",
  "ropeInterleaved",
  "queryScale",
  "kvWrite",
  "mlaAbsorbQuery",
  "mlaAttentionAbsorbed",
  "mlaAttentionBatchInvariance",
  "mlaAbsorbOutput",
  "mlaAttentionExpanded",
  "moe",
  "addInPlace",
];

function failures(checks: OpCheck[]): string[] {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.params}: error ${c.error} (max abs ${c.maxAbsError}) > ${c.bound}`);
}

describe.skipIf(reason !== "")(`CUDA backend on ${TEST_DEVICE}`, () => {
  test("every op matches its reference op within the CPU's bounds", () => {
    const checks = loadNative().opChecks(undefined, undefined, TEST_DEVICE);
    const ops = new Set(checks.map((c) => c.op));
    for (const op of EXPECTED_OPS) expect(ops.has(op), `no check for ${op}`).toBe(true);
    expect(failures(checks)).toEqual([]);
  });

  test("synthetic models: CPU and CUDA logits agree, greedy tokens are identical, batches are invariant", () => {
    const checks = loadNative().modelChecks("cpu", TEST_DEVICE, "", 64);
    expect(checks.length).toBe(18);
    expect(failures(checks)).toEqual([]);
  });
});
