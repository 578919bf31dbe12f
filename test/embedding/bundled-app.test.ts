import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleApp } from "../helpers/bundle";
import { builtAddonPath, envWithoutAddonPath, runNode } from "../helpers/run-node";
import { makeTempDir } from "../helpers/temp-dir";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

const app = fileURLToPath(new URL("./apps/generate-app.ts", import.meta.url));
const tmp = makeTempDir("ms4-bundle-");
let checkpoints: TinyCheckpoints;
let dir: string;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-bundle-tiny-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 4 });
  await bundleApp(app, join(tmp.dir, "app.mjs"));
  await bundleApp(app, join(tmp.dir, "app.cjs"), { format: "cjs" });
});
afterAll(async () => {
  tmp.cleanup();
  await checkpoints.cleanup();
});

describe("an application bundled with esbuild (the library inlined, far from its package folder)", () => {
  test("cannot find the addon by itself, and the NativeAddonError names all three ways to point at it", async () => {
    const run = await runNode(join(tmp.dir, "app.mjs"), [dir], envWithoutAddonPath());
    expect(run.code).toBe(1);
    const error = run.result?.error as { name: string; code: string; message: string };
    expect(error.name).toBe("NativeAddonError");
    expect(error.code).toBe("ERR_NATIVE_ADDON");
    expect(error.message).toMatch(/No native addon for /);
    expect(error.message).toContain("setNativeAddonPath(path)");
    expect(error.message).toContain("the Model.load option addonPath");
    expect(error.message).toContain("MS4_ADDON_PATH");
  });

  test.each(["app.mjs", "app.cjs"])(
    "%s finds the addon through the Model.load option addonPath and generates",
    async (file) => {
      const run = await runNode(join(tmp.dir, file), [dir, builtAddonPath()], envWithoutAddonPath());
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.result?.tokens).toBeGreaterThan(0);
      expect(run.result?.addon).toEqual({ path: builtAddonPath(), source: "options.addonPath" });
    },
  );

  test("finds the addon through setNativeAddonPath() and generates", async () => {
    const run = await runNode(
      join(tmp.dir, "app.mjs"),
      [dir, builtAddonPath(), "--setter"],
      envWithoutAddonPath(),
    );
    expect(run.code).toBe(0);
    expect(run.result?.addon).toEqual({ path: builtAddonPath(), source: "setNativeAddonPath()" });
  });

  test("finds the addon through MS4_ADDON_PATH and generates", async () => {
    const run = await runNode(join(tmp.dir, "app.mjs"), [dir], {
      ...envWithoutAddonPath(),
      MS4_ADDON_PATH: builtAddonPath(),
    });
    expect(run.code).toBe(0);
    expect(run.result?.addon).toEqual({ path: builtAddonPath(), source: "MS4_ADDON_PATH" });
  });

  test("an addonPath to a missing file is a NativeAddonError that names the file and the ways to point at one", async () => {
    const missing = join(tmp.dir, "nowhere", "mistral4.node");
    const run = await runNode(join(tmp.dir, "app.mjs"), [dir, missing], envWithoutAddonPath());
    expect(run.code).toBe(1);
    const error = run.result?.error as { name: string; message: string };
    expect(error.name).toBe("NativeAddonError");
    expect(error.message).toContain(`not found at ${missing} (given by options.addonPath)`);
    expect(error.message).toContain("setNativeAddonPath(path)");
    expect(error.message).toContain("MS4_ADDON_PATH");
  });
});
