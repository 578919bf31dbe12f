// GPU checks (`npm run test:gpu`). They run where the addon was built with the CUDA backend and a CUDA
// device is present; elsewhere they are skipped and say why.
import { describe, expect, test } from "vitest";
import { loadNative } from "../../lib/native";

const cuda = loadNative().systemInfo().cuda;
const reason = !cuda.compiled
  ? "the addon was built without the CUDA backend (no nvcc at install time)"
  : cuda.devices.length === 0
    ? `no usable CUDA device: ${cuda.error}`
    : "";
if (reason) console.warn(`[test:gpu] skipping CUDA checks: ${reason}`);

describe.skipIf(reason !== "")("CUDA backend", () => {
  test("enumerates devices with their memory and compute capability", () => {
    for (const d of cuda.devices) {
      expect(d.name.length).toBeGreaterThan(0);
      expect(d.totalMemory).toBeGreaterThan(0);
      expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
    }
  });
});

test("the CUDA status is reported either way", () => {
  expect(typeof cuda.compiled).toBe("boolean");
  if (!cuda.compiled || cuda.devices.length === 0) expect(cuda.error.length).toBeGreaterThan(0);
});
