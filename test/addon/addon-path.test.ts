import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  InvalidArgumentError,
  Model,
  NativeAddonError,
  setNativeAddonPath,
  systemInfo,
} from "../../lib/index";
import { resetNativeForTests } from "../../lib/native";
import { builtAddonPath } from "../helpers/run-node";
import { makeTempDir } from "../helpers/temp-dir";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

const savedEnv = process.env.MS4_ADDON_PATH;
const addon = builtAddonPath();
const tmp = makeTempDir("ms4-addon-path-");
let checkpoints: TinyCheckpoints;
let dir: string;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-addon-path-tiny-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 4 });
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env.MS4_ADDON_PATH;
  else process.env.MS4_ADDON_PATH = savedEnv;
  resetNativeForTests();
});
afterAll(async () => {
  tmp.cleanup();
  await checkpoints.cleanup();
});

describe("pointing the library at its addon (public API)", () => {
  test("setNativeAddonPath(built addon) is used and reported by systemInfo().addon", () => {
    setNativeAddonPath(addon);
    expect(systemInfo().addon).toEqual({ path: addon, source: "setNativeAddonPath()" });
  });

  test("Model.load({ addonPath }) loads the built addon and generates", async () => {
    const model = await Model.load(dir, { addonPath: addon, kvCacheMemory: 4 << 20 });
    try {
      const r = await model.generate({ prompt: "Bonjour", maxTokens: 4, temperature: 0 });
      expect(r.tokens.length).toBeGreaterThan(0);
      expect(systemInfo().addon.source).toBe("options.addonPath");
    } finally {
      await model.dispose();
    }
  });

  test("the addonPath option wins over setNativeAddonPath() and MS4_ADDON_PATH", async () => {
    process.env.MS4_ADDON_PATH = join(tmp.dir, "env.node");
    setNativeAddonPath(join(tmp.dir, "setter.node"));
    const model = await Model.load(dir, { addonPath: addon, kvCacheMemory: 4 << 20 });
    await model.dispose();
    expect(systemInfo().addon.source).toBe("options.addonPath");
  });

  test("setNativeAddonPath(missing file) is a NativeAddonError naming the file and all three ways", () => {
    const missing = join(tmp.dir, "missing", "mistral4.node");
    setNativeAddonPath(missing);
    expect(() => systemInfo()).toThrow(NativeAddonError);
    expect(() => systemInfo()).toThrow(
      `The native addon was not found at ${missing} (given by setNativeAddonPath()). Point the library at a built ` +
        "mistral4.node with setNativeAddonPath(path), the Model.load option addonPath, or the MS4_ADDON_PATH " +
        "environment variable.",
    );
  });

  test("Model.load({ addonPath: missing file }) rejects with that NativeAddonError", async () => {
    const missing = join(tmp.dir, "missing.node");
    await expect(Model.load(dir, { addonPath: missing })).rejects.toThrow(
      new RegExp(`not found at ${missing} \\(given by options\\.addonPath\\)`),
    );
  });

  test("a second, different path once an addon is loaded is a NativeAddonError: one addon per process", async () => {
    setNativeAddonPath(addon);
    systemInfo();
    const other = join(tmp.dir, "other.node");
    expect(() => setNativeAddonPath(other)).toThrow(
      /already loaded .*set the path before the first Model\.load/,
    );
    await expect(Model.load(dir, { addonPath: other })).rejects.toThrow(NativeAddonError);
    setNativeAddonPath(addon); // the same path again is fine
  });

  test("bad paths are InvalidArgumentErrors", async () => {
    expect(() => setNativeAddonPath("")).toThrow(InvalidArgumentError);
    expect(() => setNativeAddonPath(42 as never)).toThrow(InvalidArgumentError);
    await expect(Model.load(dir, { addonPath: "" })).rejects.toThrow(/options\.addonPath/);
    await expect(Model.load(dir, { addonPath: 7 as never })).rejects.toThrow(InvalidArgumentError);
  });
});
