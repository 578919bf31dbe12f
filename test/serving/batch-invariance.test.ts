/**
 * Batch invariance on the tiny model: a request gives exactly the same tokens (and log-probabilities)
 * alone and in a batch of 16 with prompts of other lengths, greedy and with a seed, whatever the chunking
 * of its prompt. The CPU kernels compute each row the same way whatever else is in the step.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { GenerateRequest, GenerateResult } from "../../lib/generation/types";
import type { Model } from "../../lib/model/model";
import { promptOf, ServingFixture } from "./serving-helpers";

let fixture: ServingFixture;
let model: Model;
beforeAll(async () => {
  fixture = await ServingFixture.create();
  model = await fixture.load({ maxBatchSize: 16 });
});
afterAll(() => fixture.cleanup());

const pick = (r: GenerateResult) => ({ tokens: r.tokens, logprobs: r.logprobs?.map((l) => l.logprob) });

/** 15 other requests of prompt lengths 2..72 and 5..40 tokens, sampled with their own seeds. */
function others(): GenerateRequest[] {
  return Array.from({ length: 15 }, (_, k) => ({
    tokens: promptOf(model, 2 + ((k * 29) % 71), 100 + k),
    maxTokens: 5 + ((k * 13) % 36),
    temperature: 0.9,
    topP: 0.95,
    seed: 1000 + k,
  }));
}

describe("batch invariance", () => {
  const cases: [string, Omit<GenerateRequest, "tokens">][] = [
    ["greedy", { maxTokens: 32, temperature: 0, logprobs: true }],
    ["seeded sampling", { maxTokens: 32, temperature: 1, topK: 50, seed: 1234, logprobs: true }],
  ];
  for (const [name, params] of cases) {
    test(`${name}: the same tokens alone and alongside 15 others`, async () => {
      const request = { ...params, tokens: promptOf(model, 23, 1) };
      const alone = pick(await model.generate(request));
      expect(alone.tokens).toHaveLength(32);

      // The target first, in the middle and last of the arrival order.
      for (const position of [0, 7, 15]) {
        const batch = others();
        batch.splice(position, 0, request);
        const results = await Promise.all(batch.map((r) => model.generate(r)));
        expect(pick(results[position]!)).toEqual(alone);
      }
      // The others are themselves batch-invariant.
      const batch = others();
      const together = await Promise.all(batch.map((r) => model.generate(r)));
      for (const k of [0, 5, 14])
        expect((await model.generate(batch[k]!)).tokens).toEqual(together[k]!.tokens);
    });
  }

  test("the same tokens whatever the prefill chunking and with the prefix cache off", async () => {
    const request = {
      tokens: promptOf(model, 61, 2),
      maxTokens: 16,
      temperature: 0.8,
      seed: 5,
      logprobs: true,
    };
    const want = pick(await model.generate(request));
    for (const options of [{ maxTokensPerStep: 7 }, { maxTokensPerStep: 16, prefixCaching: false }]) {
      const chunked = await fixture.load({ maxBatchSize: 16, ...options });
      const results = await Promise.all([request, ...others()].map((r) => chunked.generate(r)));
      expect(pick(results[0]!)).toEqual(want);
    }
  });
});
