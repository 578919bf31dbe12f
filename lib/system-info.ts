/** What the native addon sees of this machine (CPU features, ISA paths, CUDA devices) and which binary it is. */
import { type AddonInfo, loadedAddon, loadNative } from "./addon/load";
import type { SystemInfo as NativeSystemInfo } from "./native";

export type { AddonInfo, AddonSource } from "./addon/load";

export interface SystemInfo extends NativeSystemInfo {
  /** The addon binary this process loaded and where it came from (prebuilt package, local build, a given path). */
  addon: AddonInfo;
}

export function systemInfo(): SystemInfo {
  const native = loadNative().systemInfo();
  return { ...native, addon: loadedAddon() as AddonInfo };
}
