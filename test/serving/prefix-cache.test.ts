/**
 * Prefix cache on the tiny model: logits and tokens with a cache hit are exactly those without one (the
 * cached KV entries are the ones the same tokens compute), hits are counted per request and in stats,
 * and a shared system prompt is computed once.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { validateSamplingParams } from "../../lib/engine/sampling-params";
import type { Model } from "../../lib/model/model";
import { poolIsFree, promptOf, ServingFixture } from "./serving-helpers";

let fixture: ServingFixture;
let cached: Model;
let uncached: Model;
beforeAll(async () => {
  fixture = await ServingFixture.create();
  cached = await fixture.load({ maxBatchSize: 8 });
  uncached = await fixture.load({ maxBatchSize: 8, prefixCaching: false });
});
afterAll(() => fixture.cleanup());

const SYSTEM = "You are a lighthouse keeper. Answer in short sentences, and always mention the sea. ".repeat(
  3,
);
const USERS = ["Bonjour", "What is the weather like?", "Tell me about the waves tonight, please.", "Hi"];
const chat = (user: string) => ({
  messages: [
    { role: "system" as const, content: SYSTEM },
    { role: "user" as const, content: user },
  ],
});

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

describe("prefix cache", () => {
  test("evaluate: the same logits with and without a cache hit", async () => {
    const tokens = promptOf(cached, 70, 3);
    const before = cached.stats().prefixCacheHitTokens;
    const first = await cached.evaluate(tokens);
    const second = await cached.evaluate(tokens);
    // 70 tokens in blocks of 16: 4 full blocks (64 tokens) come from the cache, the last 6 are computed.
    expect(cached.stats().prefixCacheHitTokens - before).toBe(64);
    expect([...second]).toEqual([...first]);
    expect([...(await uncached.evaluate(tokens))]).toEqual([...first]);
    // A longer request over the same prefix, and every position's logits (no hit: every row is computed).
    const longer = [...tokens, ...promptOf(cached, 20, 4).slice(1)];
    expect([...(await cached.evaluate(longer))]).toEqual([...(await uncached.evaluate(longer))]);
    const all = await cached.evaluate(longer, { allPositions: true });
    expect([...all]).toEqual([...(await uncached.evaluate(longer, { allPositions: true }))]);
    // The same tokens at another RoPE position never hit the position-0 blocks.
    const hits = cached.stats().prefixCacheHitTokens;
    const far = await cached.evaluate(tokens, { startPosition: 300 });
    expect(cached.stats().prefixCacheHitTokens).toBe(hits);
    expect([...far]).toEqual([...(await uncached.evaluate(tokens, { startPosition: 300 }))]);
    expect([...far]).not.toEqual([...first]);
  });

  test("a shared system prompt is computed once; every answer is the one without the cache", async () => {
    const prompts = USERS.map((u) => cached.renderChat(chat(u)).tokens);
    const shared = Math.min(...prompts.slice(1).map((p) => commonPrefix(prompts[0]!, p)));
    expect(shared).toBeGreaterThan(40);
    const request = (u: string, k: number) => ({
      ...chat(u),
      maxTokens: 12,
      temperature: 0.7,
      seed: k,
      logprobs: true,
    });
    const want = await Promise.all(USERS.map((u, k) => uncached.generate(request(u, k))));

    const before = cached.stats().prefixCacheHitTokens;
    const first = await cached.generate(request(USERS[0]!, 0));
    expect(first.tokens).toEqual(want[0]!.tokens);
    expect(first.logprobs).toEqual(want[0]!.logprobs);
    const rest = await Promise.all(USERS.slice(1).map((u, k) => cached.generate(request(u, k + 1))));
    rest.forEach((r, k) => {
      expect(r.tokens).toEqual(want[k + 1]!.tokens);
      expect(r.logprobs).toEqual(want[k + 1]!.logprobs);
    });
    // Each later request reused the full blocks of the shared prefix.
    const perRequest = Math.floor(shared / 16) * 16;
    expect(cached.stats().prefixCacheHitTokens - before).toBeGreaterThanOrEqual(3 * perRequest);
    expect(poolIsFree(cached)).toBe(true);
    expect(cached.stats().cachedBlocks).toBeGreaterThan(0);
  });

  test("the engine reports each request's cached prompt tokens (usage.cachedPromptTokens)", async () => {
    const sampling = validateSamplingParams({ temperature: 0 });
    const prompt = (u: string) => cached.renderChat(chat(u)).tokens;
    const warm = cached.engine.addRequest({ promptTokens: prompt("warm up"), maxTokens: 2, sampling });
    for await (const _ of warm);
    const p = prompt("another question");
    const h = cached.engine.addRequest({ promptTokens: p, maxTokens: 2, sampling });
    for await (const _ of h);
    expect(h.cachedPromptTokens).toBe(Math.floor(commonPrefix(prompt("warm up"), p) / 16) * 16);
    expect(h.cachedPromptTokens).toBeGreaterThan(0);
  });

  test("generate() reports the hit in usage.cachedPromptTokens", async () => {
    await cached.generate({ ...chat("one"), maxTokens: 2 });
    const r = await cached.generate({ ...chat("two"), maxTokens: 2 });
    expect(r.usage.cachedPromptTokens).toBeGreaterThan(0);
    expect(r.usage.cachedPromptTokens % 16).toBe(0);
  });
});
