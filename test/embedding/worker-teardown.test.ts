/**
 * Ending a JavaScript environment (worker.terminate(), process.exit() in a worker or in the main thread, the
 * garbage collector taking the last reference) while native work is in flight must never take the process
 * down: no "terminate called after throwing", no abort (exit 134) or segfault (139), the exit code asked for.
 * Each case runs fixtures/teardown-child.ts in its own `node` process (bundled from the current sources).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadedAddon, loadNative } from "../../lib/native";
import { makeTempDir } from "../helpers/temp-dir";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import {
  type GcReport,
  REQUESTED_EXIT_CODE,
  type StopTiming,
  type TeardownScenarioName,
  type WorkerCyclesReport,
} from "./fixtures/teardown-protocol";

/** worker.terminate() makes the worker's 'exit' event report 1. */
const TERMINATED_WORKER_EXIT_CODE = 1;

const tmp = makeTempDir("ms4-teardown-");
let checkpoints: TinyCheckpoints;
let checkpoint: string;
let childScript: string;
let addonPath: string;

beforeAll(async () => {
  loadNative(); // the addon this process uses (throws, saying what to build, when there is none)
  const addon = loadedAddon();
  if (!addon || !existsSync(addon.path)) throw new Error("the native addon is not loaded");
  addonPath = addon.path;
  childScript = join(tmp.dir, "teardown-child.mjs");
  await build({
    entryPoints: [join(__dirname, "fixtures", "teardown-child.ts")],
    outfile: childScript,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
  checkpoints = await TinyCheckpoints.create("ms4-teardown-model-");
  checkpoint = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
});
afterAll(async () => {
  await checkpoints?.cleanup();
  tmp.cleanup();
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(scenario: TeardownScenarioName, options: { cycles?: number; nodeFlags?: string[] } = {}) {
  const args = [...(options.nodeFlags ?? []), childScript, scenario, checkpoint, String(options.cycles ?? 1)];
  return new Promise<ChildRun>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, MS4_ADDON_PATH: addonPath },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The process ended as asked: exit code `code`, no signal, nothing fatal on stderr. */
function expectCleanExit(run: ChildRun, code: number): void {
  expect(run.stderr).not.toMatch(/terminate called|FATAL ERROR|Aborted|Segmentation fault/);
  expect({ code: run.code, signal: run.signal }).toEqual({ code, signal: null });
}

function lastLine<T>(run: ChildRun): T {
  const lines = run.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "") as T;
}

/** Every worker ended with `code` while its native work was in flight, before its generation could finish. */
function expectWorkersEndedInFlight(run: ChildRun, code: number, cycles = 1): void {
  expectCleanExit(run, 0);
  const report = lastLine<WorkerCyclesReport>(run);
  expect(report.cycles).toHaveLength(cycles);
  for (const cycle of report.cycles) {
    expect(cycle.workerExitCode).toBe(code);
    expect(cycle.messages).not.toContain("finished");
    expect(cycle.messages.some((m) => m.startsWith("failed"))).toBe(false);
  }
}

describe("an environment ending while native work is in flight", () => {
  test("worker.terminate() during a generation step leaves the process running", async () => {
    const run = await runChild("worker-terminate-during-step");
    expectWorkersEndedInFlight(run, TERMINATED_WORKER_EXIT_CODE);
    expect(lastLine<WorkerCyclesReport>(run).cycles[0]?.messages).toEqual(["queued:2"]);
  });

  test("process.exit() inside a worker during a generation step ends only the worker, with its code", async () => {
    expectWorkersEndedInFlight(await runChild("worker-exit-during-step"), REQUESTED_EXIT_CODE);
  });

  test("worker.terminate() during the native model load (repack) leaves the process running", async () => {
    expectWorkersEndedInFlight(
      await runChild("worker-terminate-during-model-load"),
      TERMINATED_WORKER_EXIT_CODE,
    );
  });

  test("process.exit() inside a worker during the native model load ends only the worker", async () => {
    expectWorkersEndedInFlight(await runChild("worker-exit-during-model-load"), REQUESTED_EXIT_CODE);
  });

  test("worker.terminate() during the weights load (map) leaves the process running", async () => {
    expectWorkersEndedInFlight(
      await runChild("worker-terminate-during-weights-load"),
      TERMINATED_WORKER_EXIT_CODE,
    );
  });

  test("process.exit() inside a worker during the weights load ends only the worker", async () => {
    expectWorkersEndedInFlight(await runChild("worker-exit-during-weights-load"), REQUESTED_EXIT_CODE);
  });

  test("worker.terminate() during a synchronous binding call (kernelBench) leaves the process running", async () => {
    const run = await runChild("worker-terminate-during-sync-call");
    expectWorkersEndedInFlight(run, TERMINATED_WORKER_EXIT_CODE);
    expect(lastLine<WorkerCyclesReport>(run).cycles[0]?.messages).toEqual(["queued:1"]);
  });

  test("20 workers in a row, each terminated during a step, all end cleanly", async () => {
    expectWorkersEndedInFlight(
      await runChild("worker-terminate-during-step", { cycles: 20 }),
      TERMINATED_WORKER_EXIT_CODE,
      20,
    );
  });

  test("20 workers terminated at varying points of a running generation all end cleanly", async () => {
    const run = await runChild("worker-terminate-racing-generation", { cycles: 20 });
    expectWorkersEndedInFlight(run, TERMINATED_WORKER_EXIT_CODE, 20);
  });

  test("process.exit(code) in the main thread during a generation step exits with that code", async () => {
    expectCleanExit(await runChild("main-exit-during-step"), REQUESTED_EXIT_CODE);
  });

  test("process.exit(code) in the main thread during the native model load exits with that code", async () => {
    expectCleanExit(await runChild("main-exit-during-model-load"), REQUESTED_EXIT_CODE);
  });

  test("a NativeModel collected while its step runs: the step still resolves with its logits", async () => {
    const run = await runChild("main-gc-during-step", { nodeFlags: ["--expose-gc"] });
    expectCleanExit(run, 0);
    expect(lastLine<GcReport>(run)).toEqual({
      logitsLength: 1,
      finiteLogits: true,
      collectedWhileInFlight: true,
    } satisfies GcReport);
  });
});

describe("a long step stops early when its environment ends", () => {
  // The step is polled before each layer's attention and MoE (2 layers in the tiny model); an uninterrupted
  // run of the same step in the same process is the yardstick.
  function stopDelay(
    timing: StopTiming | undefined,
    exitedAt: number,
  ): { delayMs: number; baselineMs: number } {
    if (!timing) throw new Error("the child reported no timing");
    return { delayMs: exitedAt - timing.endRequestedAt, baselineMs: timing.baselineMs };
  }

  test("worker.terminate(): the ping finds the environment gone and the step stops at the next poll", async () => {
    const run = await runChild("worker-terminate-during-long-step");
    expectWorkersEndedInFlight(run, TERMINATED_WORKER_EXIT_CODE);
    const timing = lastLine<WorkerCyclesReport>(run).cycles[0]?.timing;
    const { delayMs, baselineMs } = stopDelay(timing, timing?.exitedAt ?? Number.NaN);
    // The first ping goes out at the second poll (after layer 0's attention), so the step stops at the third,
    // about halfway through.
    expect(delayMs).toBeLessThan(0.9 * baselineMs);
  });

  test("process.exit() in a worker: the 'exit' listener stops the step at once", async () => {
    const run = await runChild("worker-exit-during-long-step");
    expectWorkersEndedInFlight(run, REQUESTED_EXIT_CODE);
    const timing = lastLine<WorkerCyclesReport>(run).cycles[0]?.timing;
    const { delayMs, baselineMs } = stopDelay(timing, timing?.exitedAt ?? Number.NaN);
    // Waiting for the step would take about the whole baseline; 0.75 leaves room for a loaded machine.
    expect(delayMs).toBeLessThan(0.75 * baselineMs);
  });

  test("process.exit() in the main thread exits with its code without waiting for the step", async () => {
    const run = await runChild("main-exit-during-long-step");
    const exitedAt = Date.now();
    expectCleanExit(run, REQUESTED_EXIT_CODE);
    const { delayMs, baselineMs } = stopDelay(lastLine<StopTiming>(run), exitedAt);
    // Includes the child's own process teardown: waiting for the step would take about the whole baseline.
    expect(delayMs).toBeLessThan(0.75 * baselineMs);
  });
});
