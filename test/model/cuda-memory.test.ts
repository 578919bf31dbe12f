// What a model takes on a CUDA device besides its KV pool (lib/model/cuda-memory.ts), and the KV sizing against the
// device's free memory (kv-budget.ts), for the real model's published config.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { LoadPlan } from "../../lib/checkpoint/load-plan";
import { buildModuleTable, moduleClass } from "../../lib/checkpoint/module-table";
import { configuredWeightFormat } from "../../lib/config/quantization";
import { parseModelConfig } from "../../lib/config/read-model-config";
import { OutOfMemoryError } from "../../lib/errors";
import { BYTES_PER_PARAM } from "../../lib/inspect/model-sizes";
import { CUDA_RESERVE_BYTES, planCudaMemory } from "../../lib/model/cuda-memory";
import { cudaMemoryTarget, planKvCache } from "../../lib/model/kv-budget";

const real = parseModelConfig(
  JSON.parse(
    readFileSync(join(__dirname, "..", "fixtures", "config", "mistral-small-4.params.json"), "utf8"),
  ),
  "native",
  "params.json",
);
const GiB = 2 ** 30;

/** The real model's modules in their configured formats, as a load plan lists them. */
const plan: Pick<LoadPlan, "config" | "modules"> = {
  config: real,
  modules: buildModuleTable(real).map((spec) => ({
    spec,
    format:
      spec.kind === "linear"
        ? configuredWeightFormat(real.quantization, spec.aliases, moduleClass(spec))
        : "bf16",
    tensors: {},
  })),
};

describe("device memory of the real NVFP4 model", () => {
  const need = planCudaMemory(plan, { maxTokensPerStep: 2048, logitRowsPerChunk: 64, maxContext: 32768 });

  test("weights: the checkpoint's text weights, plus wkv_b widened to float32 and norms as float32", () => {
    // Every real dimension is a multiple of the layout's 16 rows and 64 columns: no padding.
    let expected = 0;
    for (const m of plan.modules) {
      if (m.spec.group === "vision" || m.spec.group === "projector") continue;
      const n = m.spec.shape.reduce((a, b) => a * b, 1);
      if (m.spec.kind === "norm" || m.spec.name.endsWith(".wkv_b")) expected += n * 4;
      else expected += n * BYTES_PER_PARAM[m.format];
    }
    expect(need.weightBytes).toBe(expected);
    expect(need.weightBytes / GiB).toBeGreaterThan(60);
    expect(need.weightBytes / GiB).toBeLessThan(66);
  });

  test("the arena, workspace and reserve of a 2048-token step stay a few GiB", () => {
    expect(need.arenaBytes).toBeGreaterThan(2048 * 4096 * 3 * 4);
    expect(need.arenaBytes).toBeLessThan(GiB);
    expect(need.workspaceBytes).toBeLessThan(2 * GiB);
    expect(need.reserveBytes).toBe(CUDA_RESERVE_BYTES);
    expect(need.totalBytes).toBe(
      need.weightBytes + need.arenaBytes + need.workspaceBytes + need.reserveBytes,
    );
  });

  test('on an H200 (about 140 GiB free) "auto" gets the KV pool it asks for', () => {
    const kv = planKvCache(real, {}, need.totalBytes, 140 * GiB, cudaMemoryTarget(0, "NVIDIA H200"));
    expect(kv.numBlocks * kv.blockSize).toBe(Math.ceil(32768 / 16) * 16 * 8);
  });

  test("a device too small for the weights is an OutOfMemoryError naming it, before anything is allocated", () => {
    const run = () => planKvCache(real, {}, need.totalBytes, 48 * GiB, cudaMemoryTarget(1, "NVIDIA L40S"));
    expect(run).toThrow(OutOfMemoryError);
    expect(run).toThrow(
      /weights, activations and CUDA context need .* GiB but CUDA device 1 \(NVIDIA L40S\) has 48\.00 GiB free/,
    );
    expect(() =>
      planKvCache(
        real,
        { kvCacheMemory: 80 * GiB },
        need.totalBytes,
        140 * GiB,
        cudaMemoryTarget(0, "NVIDIA H200"),
      ),
    ).toThrow(
      /a KV pool of 80\.00 GiB beside .* does not fit: CUDA device 0 \(NVIDIA H200\) has 140\.00 GiB free/,
    );
  });

  test("a long context caps the attention's partial results instead of growing them with the step", () => {
    const long = planCudaMemory(plan, { maxTokensPerStep: 2048, logitRowsPerChunk: 64, maxContext: 262144 });
    expect(long.workspaceBytes).toBe(need.workspaceBytes);
  });
});
