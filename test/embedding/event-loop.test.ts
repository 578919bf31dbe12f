import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Model } from "../../lib/index";
import { loadNative } from "../../lib/native";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

let checkpoints: TinyCheckpoints;
let dir: string;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-lag-tiny-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 4 });
  loadNative(); // loading the shared library itself is synchronous and happens once per process
});
afterAll(() => checkpoints.cleanup());

/** Runs `work` while sampling the event loop's delay every 5 ms; returns the worst delay and the wall time. */
async function measureLag(
  work: () => Promise<void>,
): Promise<{ maxLagMs: number; wallMs: number; ticks: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
  }, 5);
  histogram.enable();
  const start = performance.now();
  try {
    await work();
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
  return { maxLagMs: histogram.max / 1e6, wallMs: performance.now() - start, ticks };
}

describe("the event loop stays responsive", () => {
  test("while a model loads and generates, timers keep firing (worst delay far below the work's duration)", async () => {
    let generated = 0;
    const lag = await measureLag(async () => {
      const model = await Model.load(dir, { maxContext: 4096 });
      try {
        // Four concurrent requests keep the engine busy for a while.
        const results = await Promise.all(
          [0, 1, 2, 3].map((seed) =>
            model.generate({ prompt: `Bonjour ${seed}`, maxTokens: 400, temperature: 1, seed }),
          ),
        );
        generated = results.reduce((n, r) => n + r.tokens.length, 0);
      } finally {
        await model.dispose();
      }
    });
    expect(generated).toBeGreaterThan(40);
    // The native work runs off the main thread: the loop is never blocked for long. A blocking load or
    // generation would show a delay as long as the work itself.
    expect(lag.maxLagMs).toBeLessThan(Math.max(100, lag.wallMs / 4));
    expect(lag.ticks).toBeGreaterThan(lag.wallMs / 5 / 4);
    console.log(
      `event loop during load + ${generated} tokens: worst delay ${lag.maxLagMs.toFixed(1)} ms over ${lag.wallMs.toFixed(0)} ms, ${lag.ticks} ticks of 5 ms`,
    );
  });
});
