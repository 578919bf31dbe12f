/**
 * A bundled application: loads a checkpoint and generates. Arguments: CHECKPOINT_DIR [ADDON_PATH] [--setter].
 * With ADDON_PATH it passes the Model.load option addonPath, or calls setNativeAddonPath() with --setter.
 */
import { Model, setNativeAddonPath, systemInfo } from "mistral4-runtime";
import { printError, printResult } from "./app-output";

async function main(): Promise<void> {
  const [dir, addonPath, how] = process.argv.slice(2);
  if (!dir) throw new Error("usage: generate-app CHECKPOINT_DIR [ADDON_PATH] [--setter]");
  if (addonPath !== undefined && how === "--setter") setNativeAddonPath(addonPath);
  const useOption = addonPath !== undefined && how !== "--setter";
  const model = await Model.load(dir, { kvCacheMemory: 4 << 20, ...(useOption ? { addonPath } : {}) });
  try {
    const r = await model.generate({ prompt: "Bonjour", maxTokens: 8, temperature: 0 });
    printResult({ tokens: r.tokens.length, finishReason: r.finishReason, addon: systemInfo().addon });
  } finally {
    await model.dispose();
  }
}

main().catch(printError);
