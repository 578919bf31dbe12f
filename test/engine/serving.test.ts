/**
 * Serving behaviour of the engine on the fake model: prefix cache, preemption of the newest sequence,
 * backpressure of slow stream consumers, abort at random points, ignoreEos and stats. The fake rebuilds
 * every logit row's history from its own KV slots through the block tables, so a wrong cache hit, a block
 * shared by mistake or a stale slot changes the tokens.
 */
import { describe, expect, it } from "vitest";
import { BlockManager } from "../../lib/engine/block-manager";
import type { EngineEvent, EngineOptions, RequestHandle } from "../../lib/engine/engine";
import { Scheduler } from "../../lib/engine/scheduler";
import { Sequence } from "../../lib/engine/sequence";
import { collect, finishOf, greedy, range, setup, tokensOf, VOCAB } from "./engine-fixture";
import { fakeLogit, hashNext, scripted } from "./fake-model";

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

function expected(prompt: number[], n: number): number[] {
  const history = [...prompt];
  for (let i = 0; i < n; i++) history.push(hashNext(history));
  return history.slice(prompt.length);
}

async function collectLogits(handle: RequestHandle): Promise<Float32Array> {
  for await (const e of handle) if (e.type === "logits") return e.logits;
  throw new Error("no logits");
}

describe("prefix cache", () => {
  it("reuses the full blocks of a shared prefix, computes the rest, and counts the hit", async () => {
    const { engine, fake } = setup({ blockSize: 4 });
    const system = range(1000, 10);
    const a = engine.addRequest({ promptTokens: [...system, 1100], maxTokens: 5, sampling: greedy });
    expect(tokensOf(await collect(a))).toEqual(expected([...system, 1100], 5));
    expect(a.cachedPromptTokens).toBe(0);

    const before = fake.calls.length;
    const prompt = [...system, 1200, 1201];
    const b = engine.addRequest({ promptTokens: prompt, maxTokens: 5, sampling: greedy });
    expect(tokensOf(await collect(b))).toEqual(expected(prompt, 5));
    // Blocks 0 and 1 (entries 0-7) came from the cache: the first step ran entries 8-11 only.
    expect(b.cachedPromptTokens).toBe(8);
    expect([...fake.calls[before]!.positions]).toEqual([8, 9, 10, 11]);
    expect(engine.stats()).toMatchObject({ prefixCacheHitTokens: 8, freeBlocks: 32, usedBlocks: 0 });
    expect(engine.stats().cachedBlocks).toBeGreaterThanOrEqual(2);
  });

  it("always computes the last prompt token, also for a block-aligned prompt seen before", async () => {
    const { engine, fake } = setup({ blockSize: 4 });
    const prompt = range(1000, 8);
    await collect(engine.addRequest({ promptTokens: prompt, maxTokens: 3, sampling: greedy }));
    const before = fake.calls.length;
    const again = engine.addRequest({ promptTokens: prompt, maxTokens: 3, sampling: greedy });
    expect(tokensOf(await collect(again))).toEqual(expected(prompt, 3));
    expect(again.cachedPromptTokens).toBe(4);
    expect([...fake.calls[before]!.positions]).toEqual([4, 5, 6, 7]);
  });

  it("shares generated tokens' blocks too (a later turn repeats an earlier answer)", async () => {
    const { engine } = setup({ blockSize: 4 });
    const prompt = range(1000, 5);
    const first = tokensOf(
      await collect(engine.addRequest({ promptTokens: prompt, maxTokens: 9, sampling: greedy })),
    );
    const turn2 = [...prompt, ...first, 1234];
    const h = engine.addRequest({ promptTokens: turn2, maxTokens: 4, sampling: greedy });
    expect(tokensOf(await collect(h))).toEqual(expected(turn2, 4));
    // 5 + 9 tokens: the KV of 13 entries was computed (the last sampled token never runs) = 3 full blocks.
    expect(h.cachedPromptTokens).toBe(12);
  });

  it("never serves evaluate logits or other start positions from the wrong cache", async () => {
    const { engine } = setup({ blockSize: 4, maxTokensPerStep: 6 });
    const tokens = range(1000, 10);
    await collect(engine.addRequest({ promptTokens: tokens, maxTokens: 2, sampling: greedy }));
    const hits = engine.stats().prefixCacheHitTokens;
    // All positions: every row must be computed, so no hit; the values are right either way.
    const all = await collectLogits(engine.addEvaluate({ tokens, allPositions: true }));
    for (const t of [0, 4, 9])
      expect(all[t * VOCAB + 3]).toBeCloseTo(fakeLogit(tokens.slice(0, t + 1), t, 3), 5);
    expect(engine.stats().prefixCacheHitTokens).toBe(hits);
    // Another RoPE start position: no hit.
    const far = await collectLogits(engine.addEvaluate({ tokens, startPosition: 500 }));
    expect(far[3]).toBeCloseTo(fakeLogit(tokens, 509, 3), 5);
    expect(engine.stats().prefixCacheHitTokens).toBe(hits);
    // The same start position: the last-position logits come out the same with a hit.
    const last = await collectLogits(engine.addEvaluate({ tokens }));
    expect(engine.stats().prefixCacheHitTokens).toBe(hits + 8);
    expect(last[3]).toBeCloseTo(fakeLogit(tokens, 9, 3), 5);
    const farAgain = await collectLogits(engine.addEvaluate({ tokens, startPosition: 500 }));
    expect([...farAgain]).toEqual([...far]);
    expect(engine.stats().prefixCacheHitTokens).toBe(hits + 16);
  });

  it("can be turned off", async () => {
    const { engine } = setup({ prefixCaching: false });
    const prompt = range(1000, 12);
    await collect(engine.addRequest({ promptTokens: prompt, maxTokens: 2, sampling: greedy }));
    const h = engine.addRequest({ promptTokens: prompt, maxTokens: 2, sampling: greedy });
    expect(tokensOf(await collect(h))).toEqual(expected(prompt, 2));
    expect(h.cachedPromptTokens).toBe(0);
    expect(engine.stats()).toMatchObject({ prefixCacheHitTokens: 0, cachedBlocks: 0 });
  });

  it("gives the same tokens with a shared prefix under preemption, chunking and eviction", async () => {
    const system = range(1000, 9);
    const prompts = Array.from({ length: 10 }, (_, i) => [...system, ...range(1100 + 10 * i, 1 + (i % 4))]);
    const want = prompts.map((p) => expected(p, 10));
    for (const config of [
      { numBlocks: 64, maxBatchSize: 8, maxTokensPerStep: 64 },
      { numBlocks: 14, blockSize: 2, maxBatchSize: 6, maxTokensPerStep: 5 },
      { numBlocks: 9, blockSize: 3, maxBatchSize: 4, maxTokensPerStep: 16 },
    ] satisfies Partial<EngineOptions>[]) {
      const { engine } = setup(config);
      const handles = prompts.map((p) =>
        engine.addRequest({ promptTokens: p, maxTokens: 10, sampling: greedy }),
      );
      expect((await Promise.all(handles.map(collect))).map(tokensOf)).toEqual(want);
      await engine.idle();
      expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, usedBlocks: 0 });
      expect(engine.stats().prefixCacheHitTokens).toBeGreaterThan(0);
    }
  });
});

describe("continuous batching", () => {
  it("prefills a long prompt in chunks beside the running decodes, which never miss a step", async () => {
    const { engine, fake } = setup({ numBlocks: 64, maxTokensPerStep: 16, maxBatchSize: 4 });
    const a = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 20, sampling: greedy });
    const iter = a[Symbol.asyncIterator]();
    await iter.next(); // a is decoding
    const first = fake.calls.length;
    const b = engine.addRequest({ promptTokens: range(1100, 100), maxTokens: 2, sampling: greedy });
    const [ea, eb] = await Promise.all([
      (async () => {
        const events: EngineEvent[] = [];
        for (let r = await iter.next(); !r.done; r = await iter.next()) events.push(r.value);
        return events;
      })(),
      collect(b),
    ]);
    expect(tokensOf(ea)).toEqual(expected(range(1000, 3), 20).slice(1));
    expect(tokensOf(eb)).toEqual(expected(range(1100, 100), 2));
    // While b's 100 prompt tokens went through (7 steps of at most 15), a decoded one token in every step.
    const prefillSteps = fake.calls.slice(first).filter((c) => c.tokens.length > 2);
    expect(prefillSteps.length).toBe(7);
    for (const c of prefillSteps) {
      expect(c.tokens.length).toBeLessThanOrEqual(16);
      expect(c.seqStarts[1]).toBe(1); // a's decode token comes first
    }
  });
});

describe("preemption", () => {
  it("preempts the newest running sequence, never an older one", () => {
    const greedySeq = (id: number, n: number, max: number) =>
      new Sequence({
        id,
        promptTokens: range(1000 + 10 * id, n),
        maxTokens: max,
        sampling: greedy,
        logits: "none",
        startPosition: 0,
      });
    const bm = new BlockManager(5, 2, { prefixCaching: false });
    const s = new Scheduler(bm, { maxBatchSize: 4, maxTokensPerStep: 16, maxContext: 64 });
    const old = greedySeq(0, 6, 2);
    const young = greedySeq(1, 1, 8);
    s.add(old);
    s.add(young);
    const play = () => {
      const step = s.schedule();
      for (const { seq, numNew } of step?.items ?? []) {
        seq.numCached += numNew;
        if (seq.numCached === seq.numTokens) seq.outputTokens.push(1065);
      }
      return step;
    };
    const first = play()!;
    expect(first.items.map((it) => [it.seq.id, it.numNew])).toEqual([
      [0, 6],
      [1, 1],
    ]);
    // 5 blocks: old holds 3 (6 entries), young 1. old decodes into a 4th block, the last free one; when
    // young (the newest) then needs a 2nd block, it is the one preempted, never old.
    for (let i = 0; i < 2; i++) play();
    expect(old.numPreemptions).toBe(0);
    expect(young.numPreemptions).toBeGreaterThan(0);
    expect(s.numPreemptions).toBe(young.numPreemptions);
  });

  it("refuses a request that could never fit and keeps serving the others", async () => {
    const { engine } = setup({ numBlocks: 4, blockSize: 4 });
    expect(() =>
      engine.addRequest({ promptTokens: range(1000, 10), maxTokens: 8, sampling: greedy }),
    ).toThrow(/KV cache holds 16 tokens/);
    const ok = await collect(
      engine.addRequest({ promptTokens: range(1000, 10), maxTokens: 7, sampling: greedy }),
    );
    expect(tokensOf(ok)).toEqual(expected(range(1000, 10), 7));
  });
});

describe("backpressure", () => {
  it("pauses a request whose consumer lags, runs the others, and resumes when drained", async () => {
    const { engine, fake } = setup({ maxBufferedEvents: 6 });
    const slow = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 40, sampling: greedy });
    const iter = slow[Symbol.asyncIterator]();
    await engine.idle();
    // Six unread tokens, then the engine went to sleep instead of buffering 40.
    expect(fake.calls.length).toBe(6);
    expect(engine.stats()).toMatchObject({ running: 1, paused: 1 });
    const fast = await collect(
      engine.addRequest({ promptTokens: range(1100, 3), maxTokens: 10, sampling: greedy }),
    );
    expect(tokensOf(fast)).toEqual(expected(range(1100, 3), 10));
    const got: EngineEvent[] = [];
    for (let r = await iter.next(); !r.done; r = await iter.next()) {
      got.push(r.value);
      expect(engine.stats().paused + tokensOf(got).length).toBeGreaterThan(0);
      if (got.length % 3 === 0) await tick(); // a slow consumer
    }
    expect(tokensOf(got)).toEqual(expected(range(1000, 3), 40));
    expect(finishOf(got)).toEqual({ type: "finish", reason: "length" });
    await engine.idle();
    expect(engine.stats()).toMatchObject({ running: 0, paused: 0, usedBlocks: 0 });
  });

  it("never deadlocks when paused streams hold the room a queued one needs", async () => {
    // Room for one sequence at a time; the consumer reads b to the end before it looks at a.
    const { engine } = setup({ numBlocks: 4, blockSize: 4, maxBufferedEvents: 4 });
    const a = engine.addRequest({ promptTokens: range(1000, 4), maxTokens: 12, sampling: greedy });
    const b = engine.addRequest({ promptTokens: range(1100, 4), maxTokens: 12, sampling: greedy });
    const eb = await collect(b);
    const ea = await collect(a);
    expect(tokensOf(eb)).toEqual(expected(range(1100, 4), 12));
    expect(tokensOf(ea)).toEqual(expected(range(1000, 4), 12));
    expect(engine.stats().preemptions).toBeGreaterThan(0);
  });

  it("breaking out of a paused stream aborts it and frees its blocks", async () => {
    const { engine } = setup({ maxBufferedEvents: 4 });
    const h = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 50, sampling: greedy });
    await engine.idle();
    expect(engine.stats().paused).toBe(1);
    for await (const _ of h) break;
    await engine.idle();
    expect(engine.stats()).toMatchObject({ running: 0, paused: 0, usedBlocks: 0, freeBlocks: 32 });
  });
});

describe("abort and load", () => {
  it("aborts at random moments (queued, prefilling, decoding, paused) and frees the whole pool", async () => {
    let seed = 99;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const { engine } = setup({
      numBlocks: 24,
      blockSize: 4,
      maxBatchSize: 6,
      maxTokensPerStep: 12,
      maxBufferedEvents: 5,
    });
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const controller = new AbortController();
      const prompt = range(1000 + i, 1 + rand(20));
      const h = engine.addRequest({
        promptTokens: prompt,
        maxTokens: 1 + rand(30),
        sampling: greedy,
        signal: controller.signal,
      });
      const when = rand(4);
      if (when === 0) controller.abort();
      else if (when === 1) setTimeout(() => controller.abort(), rand(5));
      runs.push(
        (async () => {
          const events: EngineEvent[] = [];
          for await (const e of h) {
            events.push(e);
            if (when === 2 && rand(5) === 0) break;
            if (rand(3) === 0) await tick();
          }
          const toks = tokensOf(events);
          // Whatever came out before the abort is a prefix of the true output.
          expect(toks).toEqual(expected(prompt, toks.length));
        })(),
      );
      if (rand(3) === 0) await tick();
    }
    await Promise.all(runs);
    await engine.idle();
    expect(engine.stats()).toMatchObject({
      waiting: 0,
      running: 0,
      paused: 0,
      usedBlocks: 0,
      freeBlocks: 24,
    });
  });

  it("ignoreEos runs to maxTokens; stats count prefill and decode tokens and their rates", async () => {
    const prompt = range(1000, 4);
    const { engine } = setup({}, { next: scripted(4, [1065, 2, 1066]) });
    const h = engine.addRequest({ promptTokens: prompt, maxTokens: 5, sampling: greedy, ignoreEos: true });
    const events = await collect(h);
    expect(tokensOf(events)).toEqual([1065, 2, 1066, 2, 2]);
    expect(finishOf(events)).toEqual({ type: "finish", reason: "length" });
    const stats = engine.stats();
    expect(stats).toMatchObject({ prefillTokens: 4, decodeTokens: 5, steps: 5 });
    expect(stats.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(stats.prefillTokensPerSecond).toBeGreaterThan(0);
  });
});
