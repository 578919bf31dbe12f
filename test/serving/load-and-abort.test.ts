/**
 * Load, abort and streaming on the tiny model: random aborts leave the KV pool fully free, 1000
 * sequential requests leave memory flat, 64 concurrent requests all complete, a slow stream consumer is
 * paused instead of buffered, and logprobs match evaluate().
 */
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { GenerateResult, StreamEvent } from "../../lib/generation/types";
import type { Model } from "../../lib/model/model";
import { poolIsFree, promptOf, ServingFixture } from "./serving-helpers";

let fixture: ServingFixture;
let model: Model;
beforeAll(async () => {
  fixture = await ServingFixture.create();
  model = await fixture.load({ maxBatchSize: 16, maxTokensPerStep: 64 });
});
afterAll(() => fixture.cleanup());

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

async function drain(stream: AsyncIterable<StreamEvent>): Promise<GenerateResult> {
  let result: GenerateResult | undefined;
  for await (const ev of stream) if (ev.type === "done") result = ev.result;
  if (!result) throw new Error("no result");
  return result;
}

describe("abort", () => {
  test("aborts at random points (queued, prefilling, decoding, paused stream, break) leave the pool free", async () => {
    const rand = lcg(7);
    const runs: Promise<GenerateResult | "broke">[] = [];
    const aborted: Promise<GenerateResult>[] = [];
    for (let i = 0; i < 48; i++) {
      const controller = new AbortController();
      const request = {
        tokens: promptOf(model, 2 + rand(120), i),
        maxTokens: 1 + rand(60),
        temperature: 0.8,
        seed: i,
        signal: controller.signal,
      };
      const mode = rand(5);
      if (mode === 0)
        controller.abort(); // before it starts
      else if (mode === 1) setTimeout(() => controller.abort(), rand(20));
      if (mode === 2) {
        runs.push(
          (async () => {
            let n = 0;
            for await (const _ of model.stream(request)) if (++n > rand(6)) break;
            return "broke" as const;
          })(),
        );
      } else if (mode === 3) {
        // A stream read slowly, aborted while its consumer is behind.
        const p = (async () => {
          const events: StreamEvent[] = [];
          for await (const ev of model.stream(request)) {
            events.push(ev);
            if (events.length === 2) setTimeout(() => controller.abort(), rand(10));
            await sleep(1);
          }
          return (events.at(-1) as Extract<StreamEvent, { type: "done" }>).result;
        })();
        runs.push(p);
        aborted.push(p);
      } else {
        const p = model.generate(request);
        runs.push(p);
        if (mode <= 1) aborted.push(p);
      }
      if (rand(4) === 0) await sleep(rand(3));
    }
    const results = await Promise.all(runs);
    for (const r of await Promise.all(aborted)) expect(["abort", "length", "stop"]).toContain(r.finishReason);
    expect(results.some((r) => r !== "broke" && r.finishReason === "abort")).toBe(true);
    await model.engine.idle();
    expect(poolIsFree(model)).toBe(true);
    expect(model.stats().paused).toBe(0);
  });

  test("1000 sequential short requests leave memory flat", async () => {
    const run = async (i: number) => {
      const r = await model.generate({
        tokens: promptOf(model, 6, i % 50),
        maxTokens: 3,
        temperature: 0.5,
        seed: i,
      });
      expect(r.tokens.length).toBeGreaterThan(0);
    };
    // RSS also moves when V8 resizes its heap (the young generation grows with the allocation rate), which
    // is not a leak: memory is measured as the JS heap in use after a full GC, and the resident memory
    // outside V8's heap spaces (native allocations, KV pool, buffers).
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const measure = () => {
      gc();
      const m = process.memoryUsage();
      const v8Resident = v8.getHeapSpaceStatistics().reduce((a, space) => a + space.physical_space_size, 0);
      return { rss: m.rss, heapUsed: m.heapUsed, outsideHeap: m.rss - v8Resident };
    };
    for (let i = 0; i < 300; i++) await run(i); // warm-up: JIT, allocator pools
    const before = measure();
    for (let i = 0; i < 1000; i++) await run(i);
    const after = measure();
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
    console.info(
      `1000 sequential requests: RSS ${mib(after.rss - before.rss)}, JS heap in use ${mib(after.heapUsed - before.heapUsed)}, ` +
        `RSS outside the JS heap ${mib(after.outsideHeap - before.outsideHeap)}`,
    );
    expect(after.heapUsed - before.heapUsed).toBeLessThan(2 * 2 ** 20);
    // Allocator noise (malloc arenas of the step threads) moves this by up to ~5 MiB between runs, so the
    // bound catches leaks of about 8 KiB per request (one logits row of this model) and more.
    expect(after.outsideHeap - before.outsideHeap).toBeLessThan(8 * 2 ** 20);
    expect(poolIsFree(model)).toBe(true);
  });

  test("64 concurrent requests all complete, 16 at a time", async () => {
    let maxRunning = 0;
    let sawWaiting = false;
    const timer = setInterval(() => {
      const s = model.stats();
      maxRunning = Math.max(maxRunning, s.running);
      sawWaiting ||= s.waiting > 0;
    }, 1);
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => {
        const request = {
          tokens: promptOf(model, 4 + ((i * 11) % 50), i),
          maxTokens: 8 + (i % 9),
          temperature: 0.7,
          seed: i,
        };
        return i % 2 === 0 ? model.generate(request) : drain(model.stream(request));
      }),
    );
    clearInterval(timer);
    for (const r of results) expect(["length", "stop"]).toContain(r.finishReason);
    expect(maxRunning).toBeLessThanOrEqual(16);
    expect(sawWaiting).toBe(true);
    await model.engine.idle();
    expect(poolIsFree(model)).toBe(true);
  });
});

describe("streaming", () => {
  test("a slow consumer pauses its request instead of buffering, and gets every token", async () => {
    const request = { tokens: promptOf(model, 12, 5), maxTokens: 400, temperature: 0.9, seed: 8 };
    const want = await model.generate(request);
    const start = model.stats().steps;
    const iter = model.stream(request)[Symbol.asyncIterator]();
    await iter.next();
    // Wait (however slow the machine) until the engine pauses the request.
    for (let waited = 0; model.stats().paused === 0 && waited < 10_000; waited += 5) await sleep(5);
    const { steps, paused } = model.stats();
    expect(paused).toBe(1);
    await sleep(50);
    expect(model.stats().steps).toBe(steps); // asleep, not buffering
    // 64 unread engine events at most (plus what the stream had taken before it stopped reading).
    expect(steps - start).toBeLessThan(80);
    let result: GenerateResult | undefined;
    for (let r = await iter.next(); !r.done; r = await iter.next())
      if (r.value.type === "done") result = r.value.result;
    expect(result?.tokens).toEqual(want.tokens);
    expect(model.stats().paused).toBe(0);
  });

  test("logprobs and topLogprobs agree with evaluate()", async () => {
    const prompt = promptOf(model, 15, 6);
    const r = await model.generate({
      tokens: prompt,
      maxTokens: 6,
      temperature: 0,
      logprobs: true,
      topLogprobs: 5,
    });
    expect(r.logprobs).toHaveLength(r.tokens.length);
    const context = [...prompt];
    for (const [i, entry] of r.logprobs!.entries()) {
      const logits = await model.evaluate(context);
      let max = -Infinity;
      for (const x of logits) max = Math.max(max, x);
      let sum = 0;
      for (const x of logits) sum += Math.exp(x - max);
      const lse = max + Math.log(sum);
      expect(entry.id).toBe(r.tokens[i]);
      expect(entry.logprob).toBeCloseTo(logits[entry.id]! - lse, 4);
      expect(entry.top).toHaveLength(5);
      expect(entry.top[0]!.id).toBe(entry.id); // greedy: the best alternative is the token
      for (const alt of entry.top) expect(alt.logprob).toBeCloseTo(logits[alt.id]! - lse, 4);
      for (let k = 1; k < 5; k++)
        expect(entry.top[k]!.logprob).toBeLessThanOrEqual(entry.top[k - 1]!.logprob);
      context.push(r.tokens[i]!);
    }
  });
});
