// GPU checks (`npm run test:gpu`). They run where the addon was built with the CUDA backend and a usable CUDA device
// is present; elsewhere they are skipped and say why.
import { describe, expect, test } from "vitest";
import { loadNative } from "../../lib/native";
import { announceSkip } from "./gpu-device";

const cuda = loadNative().systemInfo().cuda;
const reason = announceSkip("cuda-device");

describe.skipIf(reason !== "")("CUDA devices", () => {
  test("enumerates devices with their memory, compute capability and whether the backend runs on them", () => {
    for (const d of cuda.devices) {
      expect(d.name.length).toBeGreaterThan(0);
      expect(d.totalMemory).toBeGreaterThan(0);
      expect(d.freeMemory).toBeLessThanOrEqual(d.totalMemory);
      expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
      if (!d.usable) expect(d.unusableReason.length).toBeGreaterThan(0);
    }
    expect(cuda.architectures).toMatch(/^(sm|compute)_\d+/);
  });
});

test("the CUDA status is reported either way", () => {
  expect(typeof cuda.compiled).toBe("boolean");
  if (!cuda.compiled || cuda.devices.length === 0) expect(cuda.error.length).toBeGreaterThan(0);
  if (cuda.compiled) expect(cuda.architectures.length).toBeGreaterThan(0);
});
