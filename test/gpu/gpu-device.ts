/**
 * The CUDA device the GPU tests run on (MS4_TEST_DEVICE, default "cuda"), or why they skip: printed once per file, so
 * a machine without a usable device shows the skip and its reason instead of passing silently.
 */
import { loadNative } from "../../lib/native";

export const TEST_DEVICE = (process.env.MS4_TEST_DEVICE ?? "cuda") as "cuda" | `cuda:${number}`;

export function gpuSkipReason(): string {
  const { cuda } = loadNative().systemInfo();
  const index = TEST_DEVICE === "cuda" ? 0 : Number(TEST_DEVICE.slice(5));
  const device = cuda.devices.find((d) => d.index === index);
  const reason = !cuda.compiled
    ? "the addon was built without the CUDA backend (no nvcc at install time)"
    : cuda.devices.length === 0
      ? `no usable CUDA device: ${cuda.error}`
      : !device
        ? `no CUDA device ${index}`
        : !device.usable
          ? `CUDA device ${index} (${device.name}) cannot run the CUDA backend: ${device.unusableReason}`
          : "";
  return reason;
}

/** The skip reason, printed once by the calling test file. */
export function announceSkip(file: string): string {
  const reason = gpuSkipReason();
  if (reason) console.warn(`[test:gpu] skipping ${file}: ${reason}`);
  return reason;
}
