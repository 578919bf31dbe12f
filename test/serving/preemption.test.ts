/**
 * Preemption on the tiny model: with a KV pool far too small for the requests running together, the newest
 * sequences are preempted and recomputed, and every request still completes with exactly the tokens it
 * gets with a large pool.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { GenerateRequest } from "../../lib/generation/types";
import type { Model } from "../../lib/model/model";
import { poolIsFree, promptOf, ServingFixture } from "./serving-helpers";

let fixture: ServingFixture;
let large: Model;
beforeAll(async () => {
  fixture = await ServingFixture.create();
  large = await fixture.load({ maxBatchSize: 8 });
});
afterAll(() => fixture.cleanup());

test("every request completes with the same tokens under heavy preemption", async () => {
  const requests: GenerateRequest[] = Array.from({ length: 12 }, (_, k) => ({
    tokens: promptOf(large, 6 + ((k * 17) % 40), k),
    maxTokens: 20 + ((k * 7) % 30),
    temperature: k % 3 === 0 ? 0 : 0.8,
    seed: 77 + k,
    logprobs: true,
  }));
  const want = await Promise.all(requests.map((r) => large.generate(r)));

  // 12 blocks of 8 = 96 entries; 8 sequences of up to ~90 entries each run at once.
  const bytesPerBlock = large.kv.bytesPerToken * 8;
  for (const prefixCaching of [true, false]) {
    const small = await fixture.load({
      maxBatchSize: 8,
      kvBlockSize: 8,
      kvCacheMemory: 12 * bytesPerBlock,
      maxTokensPerStep: 32,
      prefixCaching,
    });
    expect(small.memory().kvBlocks).toBe(12);
    const got = await Promise.all(requests.map((r) => small.generate(r)));
    got.forEach((r, k) => {
      expect(r.tokens).toEqual(want[k]!.tokens);
      expect(r.logprobs).toEqual(want[k]!.logprobs);
    });
    expect(small.stats().preemptions).toBeGreaterThan(4);
    expect(poolIsFree(small)).toBe(true);
  }
});

test("a request the pool can never hold is a typed error; the others keep running", async () => {
  const bytesPerBlock = large.kv.bytesPerToken * 16;
  const small = await fixture.load({ kvCacheMemory: 4 * bytesPerBlock });
  const running = small.generate({ tokens: promptOf(small, 10, 1), maxTokens: 30, temperature: 0 });
  await expect(small.generate({ tokens: promptOf(small, 40, 2), maxTokens: 30 })).rejects.toThrow(
    /KV cache holds 64 tokens but this request needs 69/,
  );
  expect((await running).tokens).toHaveLength(30);
});
