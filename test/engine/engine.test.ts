import { describe, expect, it } from "vitest";
import type { EngineEvent, EngineOptions, RequestHandle } from "../../lib/engine/engine";
import { validateSamplingParams } from "../../lib/engine/sampling-params";
import { DisposedError } from "../../lib/errors";
import { collect, finishOf, greedy, range, setup, tokensOf, VOCAB } from "./engine-fixture";
import { fakeLogit, hashNext, scripted } from "./fake-model";

/** What the fake writes after `prompt`, token by token, when nothing stops it. */
function expected(prompt: number[], n: number): number[] {
  const history = [...prompt];
  for (let i = 0; i < n; i++) history.push(hashNext(history));
  return history.slice(prompt.length);
}

describe("Runner packing", () => {
  it("packs a prefill step and a mixed decode + prefill step exactly", async () => {
    const { engine, fake } = setup({ blockSize: 4, numBlocks: 16, maxTokensPerStep: 8, maxBatchSize: 4 });
    const a = engine.addRequest({ promptTokens: range(1010, 6), maxTokens: 2, sampling: greedy });
    const b = engine.addRequest({ promptTokens: range(1020, 5), maxTokens: 1, sampling: greedy });
    const [ea, eb] = await Promise.all([collect(a), collect(b)]);
    const [s1, s2, s3] = fake.calls;
    const arrays = (x: typeof s1) => ({
      tokens: [...x!.tokens],
      positions: [...x!.positions],
      seqStarts: [...x!.seqStarts],
      contextLens: [...x!.contextLens],
      maxBlocksPerSeq: x!.maxBlocksPerSeq,
      blockTables: [...x!.blockTables],
      slotMapping: [...x!.slotMapping],
      logitRows: [...x!.logitRows],
      returnLogits: x!.returnLogits,
      samplingRows: x!.sampling?.temperature.length ?? 0,
    });
    // Step 1: a's whole prompt (6 tokens, blocks 0-1) and the first 2 of b's (block 2); a samples.
    expect(arrays(s1)).toEqual({
      tokens: [1010, 1011, 1012, 1013, 1014, 1015, 1020, 1021],
      positions: [0, 1, 2, 3, 4, 5, 0, 1],
      seqStarts: [0, 6, 8],
      contextLens: [6, 2],
      maxBlocksPerSeq: 2,
      blockTables: [0, 1, 2, 0],
      slotMapping: [0, 1, 2, 3, 4, 5, 8, 9],
      logitRows: [5],
      returnLogits: false,
      samplingRows: 1,
    });
    const a1 = expected(range(1010, 6), 1)[0]!;
    // Step 2: a decodes its first token (entry 6, block 1); b finishes its prompt (entries 2-4, blocks 2-3).
    expect(arrays(s2)).toEqual({
      tokens: [a1, 1022, 1023, 1024],
      positions: [6, 2, 3, 4],
      seqStarts: [0, 1, 4],
      contextLens: [7, 5],
      maxBlocksPerSeq: 2,
      blockTables: [0, 1, 2, 3],
      slotMapping: [6, 10, 11, 12],
      logitRows: [0, 3],
      returnLogits: false,
      samplingRows: 2,
    });
    expect(s3).toBeUndefined();
    expect(tokensOf(ea)).toEqual(expected(range(1010, 6), 2));
    expect(finishOf(ea)).toEqual({ type: "finish", reason: "length" });
    expect(tokensOf(eb)).toEqual(expected(range(1020, 5), 1));
    await engine.idle();
    expect(engine.stats().freeBlocks).toBe(16);
  });

  it("gives the same tokens alone, batched, chunked and after preemption", async () => {
    const prompts = [range(1040, 13), range(1100, 3), range(1150, 9), range(1200, 1)];
    const want = prompts.map((p) => expected(p, 12));
    const configs: Partial<EngineOptions>[] = [
      { maxBatchSize: 1 },
      { maxBatchSize: 4, maxTokensPerStep: 5 },
      { maxBatchSize: 4, maxTokensPerStep: 64 },
      // 12 blocks of 2 = 24 entries: four sequences of up to 24 entries cannot all stay resident.
      { maxBatchSize: 4, maxTokensPerStep: 7, numBlocks: 12, blockSize: 2 },
    ];
    for (const config of configs) {
      const { engine } = setup(config);
      const handles = prompts.map((p) =>
        engine.addRequest({ promptTokens: p, maxTokens: 12, sampling: greedy }),
      );
      const results = await Promise.all(handles.map(collect));
      expect(results.map(tokensOf)).toEqual(want);
      await engine.idle();
      expect(engine.stats()).toMatchObject({ waiting: 0, running: 0, freeBlocks: config.numBlocks ?? 32 });
      if (config.numBlocks === 12) expect(engine.stats().preemptions).toBeGreaterThan(0);
    }
  });

  it("preempts under memory pressure and still finishes every request", async () => {
    const { engine } = setup({ numBlocks: 6, blockSize: 2, maxBatchSize: 3, maxTokensPerStep: 16 });
    const sched = engine.scheduler;
    const prompts = [range(1000, 4), range(1010, 4), range(1020, 4)];
    const handles = prompts.map((p) =>
      engine.addRequest({ promptTokens: p, maxTokens: 8, sampling: greedy }),
    );
    const results = await Promise.all(handles.map(collect));
    expect(results.map(tokensOf)).toEqual(prompts.map((p) => expected(p, 8)));
    expect(sched.hasWork()).toBe(false);
    expect(engine.stats().preemptions).toBeGreaterThan(0);
    expect(engine.stats().freeBlocks).toBe(6);
  });
});

describe("Engine", () => {
  it("stops at EOS, at maxTokens, and when onToken says so", async () => {
    const prompt = range(1000, 4);
    const { engine } = setup({}, { next: scripted(4, [1065, 1066, 2, 1067]) });
    const eos = await collect(engine.addRequest({ promptTokens: prompt, maxTokens: 10, sampling: greedy }));
    expect(tokensOf(eos)).toEqual([1065, 1066, 2]);
    expect(finishOf(eos)).toEqual({ type: "finish", reason: "stop" });

    const length = await collect(engine.addRequest({ promptTokens: prompt, maxTokens: 2, sampling: greedy }));
    expect(tokensOf(length)).toEqual([1065, 1066]);
    expect(finishOf(length)).toEqual({ type: "finish", reason: "length" });

    const seen: number[] = [];
    const hook = await collect(
      engine.addRequest({
        promptTokens: prompt,
        maxTokens: 10,
        sampling: greedy,
        onToken: (id) => {
          seen.push(id);
          return id === 1066;
        },
      }),
    );
    expect(seen).toEqual([1065, 1066]);
    expect(tokensOf(hook)).toEqual([1065, 1066]);
    expect(finishOf(hook)).toEqual({ type: "finish", reason: "stop" });
    await engine.idle();
    expect(engine.stats().freeBlocks).toBe(32);
  });

  it("reports logprobs and top alternatives", async () => {
    const { engine } = setup();
    const sampling = validateSamplingParams({ temperature: 0, seed: 1, logprobs: true, topLogprobs: 3 });
    const plain = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 2, sampling: greedy });
    const events = await collect(engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 2, sampling }));
    for (const e of events) {
      if (e.type !== "token") continue;
      expect(e.top).toHaveLength(3);
      expect(e.top[0]!.id).toBe(e.id);
      expect(e.logprob).toBeCloseTo(e.top[0]!.logprob, 5);
      expect(e.logprob).toBeLessThanOrEqual(0);
    }
    const other = await collect(plain);
    for (const e of other) if (e.type === "token") expect(e.top).toEqual([]);
  });

  it("evaluates logits for the last or every position, chunked, with a start position", async () => {
    const { engine, fake } = setup({ maxTokensPerStep: 4 });
    const tokens = range(1000, 10);
    const all = await collectLogits(engine.addEvaluate({ tokens, allPositions: true }));
    expect(all).toHaveLength(10 * VOCAB);
    for (const t of [0, 3, 9]) {
      const row = all.subarray(t * VOCAB, (t + 1) * VOCAB);
      expect(row[17]).toBeCloseTo(fakeLogit(tokens.slice(0, t + 1), t, 17), 5);
    }
    expect(fake.calls.length).toBe(3); // chunks of 4, 4, 2
    expect(fake.calls.every((c) => c.sampling === null && c.returnLogits)).toBe(true);
    const last = await collectLogits(engine.addEvaluate({ tokens, startPosition: 10000 }));
    expect(last).toHaveLength(VOCAB);
    expect(last[5]).toBeCloseTo(fakeLogit(tokens, 10009, 5), 5);
    expect([...fake.calls.at(-1)!.positions]).toEqual([10008, 10009]);
    expect([...fake.calls.at(-2)!.logitRows]).toEqual([]);
    await engine.idle();
    expect(engine.stats().freeBlocks).toBe(32);
  });

  it("runs evaluate and generate requests in the same step", async () => {
    const { engine, fake } = setup();
    const gen = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 3, sampling: greedy });
    const ev = engine.addEvaluate({ tokens: range(1000, 3), allPositions: true });
    const [g, logits] = await Promise.all([collect(gen), collectLogits(ev)]);
    expect(tokensOf(g)).toEqual(expected(range(1000, 3), 3));
    expect(logits).toHaveLength(3 * VOCAB);
    const first = fake.calls[0]!;
    expect([...first.logitRows]).toEqual([2, 3, 4, 5]);
    expect(first.sampling?.temperature.length).toBe(4);
    expect(first.returnLogits).toBe(true);
  });

  it("aborts a request while queued, prefilling (in flight) and decoding, and frees its blocks", async () => {
    let abortPrefill: (() => void) | undefined;
    const { engine } = setup(
      { maxBatchSize: 1, maxTokensPerStep: 4 },
      {
        onStep: (batch) => {
          if (batch.tokens[0] === 1100 && batch.tokens.length === 4) abortPrefill?.();
        },
      },
    );
    const first = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 6, sampling: greedy });
    const queued = new AbortController();
    const q = engine.addRequest({
      promptTokens: range(1050, 3),
      maxTokens: 6,
      sampling: greedy,
      signal: queued.signal,
    });
    expect(engine.stats().waiting).toBe(2);
    queued.abort();
    expect(engine.stats().waiting).toBe(1);
    const qe = await collect(q);
    expect(qe).toEqual([{ type: "finish", reason: "abort" }]);

    const prefill = engine.addRequest({ promptTokens: range(1100, 12), maxTokens: 6, sampling: greedy });
    abortPrefill = () => prefill.abort();
    const pe = await collect(prefill);
    expect(pe).toEqual([{ type: "finish", reason: "abort" }]);

    const decode = new AbortController();
    const d = engine.addRequest({
      promptTokens: range(1200, 3),
      maxTokens: 50,
      sampling: greedy,
      signal: decode.signal,
    });
    const de: EngineEvent[] = [];
    for await (const e of d) {
      de.push(e);
      if (tokensOf(de).length === 2) decode.abort();
    }
    expect(tokensOf(de)).toHaveLength(2);
    expect(finishOf(de)).toEqual({ type: "finish", reason: "abort" });
    expect(tokensOf(await collect(first))).toEqual(expected(range(1000, 3), 6));
    await engine.idle();
    expect(engine.stats()).toMatchObject({ waiting: 0, running: 0, freeBlocks: 32 });
  });

  it("aborts when the consumer leaves the loop, and with an already-aborted signal", async () => {
    const { engine, fake } = setup();
    const h = engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 100, sampling: greedy });
    let n = 0;
    for await (const e of h) if (e.type === "token" && ++n === 3) break;
    await engine.idle();
    const steps = fake.calls.length;
    expect(steps).toBeLessThan(6);
    expect(engine.stats().freeBlocks).toBe(32);

    const signal = AbortSignal.abort();
    const events = await collect(
      engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 5, sampling: greedy, signal }),
    );
    expect(events).toEqual([{ type: "finish", reason: "abort" }]);
    expect(fake.calls.length).toBe(steps);
  });

  it("fails only the requests of a step that throws, and keeps running", async () => {
    let fail = true;
    const { engine } = setup(
      {},
      {
        onStep: (batch) => {
          if (fail && batch.tokens[0] === 1100) {
            fail = false;
            throw new Error("native step failed");
          }
        },
      },
    );
    const bad = collect(engine.addRequest({ promptTokens: range(1100, 3), maxTokens: 3, sampling: greedy }));
    await expect(bad).rejects.toThrow("native step failed");
    const good = await collect(
      engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 3, sampling: greedy }),
    );
    expect(tokensOf(good)).toHaveLength(3);
    await engine.idle();
    expect(engine.stats().freeBlocks).toBe(32);
  });

  it("refuses requests after close, and close aborts what is running", async () => {
    let release: (() => void) | undefined;
    const { engine } = setup({}, { gate: () => new Promise<void>((r) => (release = r)) });
    const h = collect(engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 5, sampling: greedy }));
    await new Promise((r) => setTimeout(r, 5));
    const closed = engine.close();
    expect(await h).toEqual([{ type: "finish", reason: "abort" }]);
    release?.();
    await closed;
    expect(engine.stats().freeBlocks).toBe(32);
    expect(() => engine.addRequest({ promptTokens: [1000], maxTokens: 1, sampling: greedy })).toThrow(
      DisposedError,
    );
  });

  it("wakes for a request added just as the loop runs out of work", async () => {
    const { engine } = setup();
    for (let i = 0; i < 20; i++) {
      const events = await collect(
        engine.addRequest({ promptTokens: [1000 + i], maxTokens: 1, sampling: greedy }),
      );
      expect(tokensOf(events)).toHaveLength(1);
    }
    const chained = await new Promise<EngineEvent[]>((resolve) => {
      const first = engine.addRequest({ promptTokens: [1000], maxTokens: 1, sampling: greedy });
      void collect(first).then(() =>
        collect(engine.addRequest({ promptTokens: [1001], maxTokens: 1, sampling: greedy })).then(resolve),
      );
    });
    expect(finishOf(chained)).toEqual({ type: "finish", reason: "length" });
  });

  it("keeps the event loop turning while it works", async () => {
    const { engine } = setup();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    await collect(engine.addRequest({ promptTokens: range(1000, 3), maxTokens: 100, sampling: greedy }));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
  });
});

async function collectLogits(handle: RequestHandle): Promise<Float32Array> {
  for await (const e of handle) if (e.type === "logits") return e.logits;
  throw new Error("no logits");
}
