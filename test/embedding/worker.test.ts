import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleApp } from "../helpers/bundle";
import { builtAddonPath, runNode } from "../helpers/run-node";
import { makeTempDir } from "../helpers/temp-dir";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

const apps = fileURLToPath(new URL("./apps/", import.meta.url));
const tmp = makeTempDir("ms4-worker-");
let checkpoints: TinyCheckpoints;
let dir: string;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-worker-tiny-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 4 });
  await bundleApp(join(apps, "worker-host.ts"), join(tmp.dir, "worker-host.mjs"));
  await bundleApp(join(apps, "worker-generate.ts"), join(tmp.dir, "worker-generate.mjs"));
});
afterAll(async () => {
  tmp.cleanup();
  await checkpoints.cleanup();
});

describe("the model inside worker_threads (run in a child process, so a crash is seen, not suffered)", () => {
  test("a worker generates to the end; a worker terminated mid-generation leaves the process running", async () => {
    const run = await runNode(join(tmp.dir, "worker-host.mjs"), [dir, builtAddonPath()]);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
      code: 0,
      signal: null,
      stderr: "",
    });
    expect(run.result?.completedTokens).toBeGreaterThan(0);
    expect(run.result?.terminatedAfterTokens).toBe(3);
    // Worker.terminate() ends the thread with exit code 1.
    expect(run.result?.exitCode).toBe(1);
  });
});
