/** What the native addon sees of this machine: CPU features (ISA paths) and CUDA devices. */
import { loadNative, type SystemInfo } from "./native";

export type { SystemInfo };

export function systemInfo(): SystemInfo {
  return loadNative().systemInfo();
}
