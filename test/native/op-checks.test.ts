// Every CPU backend op against its reference op (native/checks/), for each kernel path this CPU runs.
import { describe, expect, test } from "vitest";
import { type CpuKernelPath, loadNative } from "../../lib/native";

interface OpCheck {
  op: string;
  params: string;
  error: number;
  maxAbsError: number;
  bound: number;
  ok: boolean;
}

// Cast locally so the test does not depend on the binding type declaring opChecks.
type OpChecksFn = (filter?: string, path?: CpuKernelPath) => OpCheck[];
const opChecks = (): OpChecksFn => {
  const native = loadNative() as unknown as { opChecks: OpChecksFn };
  return native.opChecks.bind(native);
};

/** The ops of the Backend interface (native/backend/backend.h), plus the NVFP4 repack layout check. */
const EXPECTED_OPS = [
  "linear",
  "nvfp4Repack",
  "embedTokens",
  "gatherLogitRows",
  "rmsNorm",
  "ropeInterleaved",
  "queryScale",
  "kvWrite",
  "mlaAbsorbQuery",
  "mlaAttentionAbsorbed",
  "mlaAbsorbOutput",
  "mlaAttentionExpanded",
  "moe",
  "addInPlace",
  "patchRows",
  "rope2d",
  "visionAttention",
  "siluMul",
  "gelu",
  "mergePatches",
  "addBias",
];

function paths(): CpuKernelPath[] {
  return loadNative().systemInfo().cpu.kernelPaths;
}

function table(path: string, checks: OpCheck[]): string {
  // One line per (op, bound): cases, worst relative error and its max abs error.
  const groups = new Map<string, { op: string; n: number; worst: OpCheck; failed: number }>();
  for (const c of checks) {
    const key = `${c.op}\u0000${c.bound}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { op: c.op, n: 1, worst: c, failed: c.ok ? 0 : 1 });
    else {
      g.n += 1;
      if (!(c.error <= g.worst.error)) g.worst = c;
      if (!c.ok) g.failed += 1;
    }
  }
  const lines = [`op checks, path ${path}: ${checks.length} cases`];
  for (const { op, n, worst, failed } of groups.values()) {
    lines.push(
      `  ${op.padEnd(22)} ${String(n).padStart(3)} cases  bound ${worst.bound.toExponential(1)}  worst ${worst.error.toExponential(2)} (max abs ${worst.maxAbsError.toExponential(2)})${failed ? `  FAILED ${failed}` : ""}`,
    );
  }
  return lines.join("\n");
}

describe("CPU backend op checks", () => {
  // avx512-emulated (the avx512 path's own kernels, on SIMDe) differs from avx2 only in the NVFP4 kernels for
  // quantized activations, so only those cases run there; avx512 runs everything where the CPU has it.
  for (const path of ["portable", "avx2", "avx512", "avx512-emulated"] as const) {
    test(`every op matches its reference op (${path} path)`, (ctx) => {
      if (!paths().includes(path)) {
        console.log(`[op checks] skipping the ${path} path: this CPU or build cannot run it`);
        ctx.skip();
        return;
      }
      const checks = opChecks()(path === "avx512-emulated" ? ",act=" : undefined, path);
      console.log(table(path, checks));
      expect(checks.length).toBeGreaterThan(0);
      for (const c of checks) {
        expect(
          c.ok,
          `${path}: ${c.params} error ${c.error} (max abs ${c.maxAbsError}) exceeds bound ${c.bound}`,
        ).toBe(true);
      }
    });
  }

  test("at least one case per op, and the filter selects cases", () => {
    const checks = opChecks()();
    const ops = new Set(checks.map((c) => c.op));
    for (const op of EXPECTED_OPS) expect(ops.has(op), `no check for ${op}`).toBe(true);
    for (const c of checks) {
      expect(c.params.startsWith(`${c.op}(`), c.params).toBe(true);
      expect(typeof c.error).toBe("number");
      expect(typeof c.bound).toBe("number");
    }
    const some = opChecks()("rmsNorm(");
    expect(some.length).toBeGreaterThan(0);
    expect(some.every((c) => c.op === "rmsNorm")).toBe(true);
  });

  test("an unknown kernel path is a clear error", () => {
    expect(() => opChecks()(undefined, "avx1024" as never)).toThrow(/unknown CPU kernel path/);
  });
});

describe("op checks on another device", () => {
  test("a device that is not cpu / cuda / cuda:N is a TypeError; cuda without a usable device says why", () => {
    const native = loadNative() as unknown as {
      opChecks: (filter?: string, path?: string, device?: string) => OpCheck[];
    };
    expect(() => native.opChecks(undefined, undefined, "tpu")).toThrow(
      /device must be "cpu", "cuda" or "cuda:N"/,
    );
    expect(() => native.opChecks(undefined, "avx2", "cuda")).toThrow(/applies to device "cpu" only/);
    const { cuda } = loadNative().systemInfo();
    if (!cuda.devices.some((d) => d.usable)) {
      expect(() => native.opChecks("rmsNorm(", undefined, "cuda")).toThrow(/opChecks: /);
    }
  });
});
