/**
 * examples/electron under plain Node.js: node-check.mjs starts model-host.mjs exactly as the example's main
 * process does (a forked child process stands in for Electron's utility process) and drives load, a streamed
 * answer, an abort and dispose through the same messages. Electron itself is not needed.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleApp } from "../helpers/bundle";
import { builtAddonPath, runNode } from "../helpers/run-node";
import { makeTempDir } from "../helpers/temp-dir";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

const example = fileURLToPath(new URL("../../examples/electron/", import.meta.url));
const tmp = makeTempDir("ms4-electron-example-");
let checkpoints: TinyCheckpoints;
let dir: string;
let host: string;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-electron-tiny-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 4 });
  // The example imports "mistral4-runtime"; here that is the library's sources, bundled in.
  host = join(tmp.dir, "model-host.mjs");
  await bundleApp(join(example, "model-host.mjs"), host);
});
afterAll(async () => {
  tmp.cleanup();
  await checkpoints.cleanup();
});

describe("the Electron example's model host", () => {
  test("loads, streams an answer, stops a second one on abort and disposes", async () => {
    const run = await runNode(join(example, "node-check.mjs"), [host, dir], {
      ...process.env,
      MS4_ADDON_PATH: builtAddonPath(),
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = run.result as {
      addon: { source: string };
      answered: { completionTokens: number };
      events: number;
      aborted: { finishReason: string };
    };
    expect(result.addon.source).toBe("MS4_ADDON_PATH");
    expect(result.answered.completionTokens).toBeGreaterThan(0);
    expect(result.events).toBeGreaterThan(0);
    expect(result.aborted.finishReason).toBe("abort");
  });
});
