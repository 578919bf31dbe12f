/**
 * Input embeddings on the tiny model, through the engine and the native seam: rows fed as embeddings reach the
 * first layer in place of the token lookup, the prefix cache never lets two sequences with the same tokens but
 * different rows share blocks (and lets the same rows reuse them), and chunked prefill and preemption send the
 * rows again.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EngineEvent, RequestHandle } from "../../lib/engine/engine";
import { type InputEmbeddingSpan, inputEmbeddingSpan } from "../../lib/engine/input-embeddings";
import { validateSamplingParams } from "../../lib/engine/sampling-params";
import type { Model } from "../../lib/model/model";
import { ReferenceModel } from "../reference/reference-model";
import { poolIsFree, promptOf, ServingFixture } from "../serving/serving-helpers";

let fixture: ServingFixture;
let model: Model;
let table: { rows: number; cols: number; data: Float64Array };

beforeAll(async () => {
  fixture = await ServingFixture.create();
  model = await fixture.load({ kvBlockSize: 8 });
  table = ReferenceModel.fromPlan(model.plan).weight("tok_embeddings");
});
afterAll(() => fixture.cleanup());

/** The token-embedding rows of `ids` (BF16 in the checkpoint, so exact in float32). */
function embeddingsOf(ids: readonly number[]): Float32Array {
  const out = new Float32Array(ids.length * table.cols);
  ids.forEach((id, i) => {
    out.set(table.data.subarray(id * table.cols, (id + 1) * table.cols), i * table.cols);
  });
  return out;
}

/** Deterministic rows unlike any token's. */
function otherRows(count: number, salt: number): Float32Array {
  return Float32Array.from({ length: count * table.cols }, (_, i) => Math.sin(i * 0.37 + salt) * 0.05);
}

async function collect(handle: RequestHandle): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const ev of handle) events.push(ev);
  return events;
}

async function logitsOf(
  target: Model,
  tokens: number[],
  inputEmbeddings?: InputEmbeddingSpan[],
  allPositions = true,
): Promise<{ logits: Float32Array; cached: number }> {
  const handle = target.engine.addEvaluate({ tokens, allPositions, inputEmbeddings });
  const events = await collect(handle);
  const ev = events.find((e) => e.type === "logits");
  if (ev?.type !== "logits") throw new Error("no logits event");
  return { logits: ev.logits, cached: handle.cachedPromptTokens };
}

async function greedy(
  target: Model,
  tokens: number[],
  inputEmbeddings?: InputEmbeddingSpan[],
): Promise<number[]> {
  const handle = target.engine.addRequest({
    promptTokens: tokens,
    maxTokens: 12,
    sampling: validateSamplingParams({ temperature: 0 }),
    inputEmbeddings,
  });
  return (await collect(handle)).flatMap((e) => (e.type === "token" ? [e.id] : []));
}

describe("input embeddings reach the first layer", () => {
  test("rows equal to the token embeddings give logits identical to the token path", async () => {
    const tokens = promptOf(model, 21, 1);
    const plain = await logitsOf(model, tokens);
    const span = inputEmbeddingSpan(5, embeddingsOf(tokens.slice(5, 14)), table.cols);
    const fed = await logitsOf(model, tokens, [span]);
    expect(fed.logits).toEqual(plain.logits);
  });

  test("different rows change the logits from their first position on, and not before", async () => {
    const tokens = promptOf(model, 21, 2);
    const vocab = model.config.vocabSize;
    const plain = await logitsOf(model, tokens);
    const fed = await logitsOf(model, tokens, [inputEmbeddingSpan(7, otherRows(4, 1), table.cols)]);
    expect(fed.logits.subarray(0, 7 * vocab)).toEqual(plain.logits.subarray(0, 7 * vocab));
    for (const position of [7, 10, 20]) {
      const at = (l: Float32Array) => l.subarray(position * vocab, (position + 1) * vocab);
      expect(at(fed.logits)).not.toEqual(at(plain.logits));
    }
  });

  test("rows of the wrong width or outside the prompt are typed errors at submission", () => {
    const tokens = promptOf(model, 10, 3);
    expect(() =>
      model.engine.addEvaluate({ tokens, inputEmbeddings: [inputEmbeddingSpan(2, new Float32Array(6), 3)] }),
    ).toThrow(/hidden size/);
    expect(() =>
      model.engine.addEvaluate({
        tokens,
        inputEmbeddings: [inputEmbeddingSpan(8, otherRows(3, 2), table.cols)],
      }),
    ).toThrow(/inside the 10-token prompt/);
  });
});

describe("prefix caching with input embeddings", () => {
  test("same tokens with different rows share no block; the same rows reuse them", async () => {
    const cached = await fixture.load({ kvBlockSize: 8 });
    const tokens = promptOf(cached, 40, 4);
    const rowsA = [inputEmbeddingSpan(3, otherRows(5, 3), table.cols)];
    const rowsB = [inputEmbeddingSpan(3, otherRows(5, 4), table.cols)];
    const first = await logitsOf(cached, tokens, rowsA, false);
    expect(first.cached).toBe(0);
    const other = await logitsOf(cached, tokens, rowsB, false);
    expect(other.cached).toBe(0); // the rows sit in the first block: nothing of A's may be reused
    const again = await logitsOf(cached, tokens, rowsA, false);
    expect(again.cached).toBeGreaterThan(0);
    expect(again.logits).toEqual(first.logits);
    const plainCached = await logitsOf(cached, tokens, undefined, false);
    expect(plainCached.cached).toBe(0); // plain tokens do not match blocks computed from rows
    const fresh = await fixture.load({ kvBlockSize: 8, prefixCaching: false });
    expect((await logitsOf(fresh, tokens, rowsB, false)).logits).toEqual(other.logits);
    expect(poolIsFree(cached)).toBe(true);
  });

  test("a sequence with rows gets the same tokens with chunked prefill and under heavy preemption", async () => {
    const requests = Array.from({ length: 8 }, (_, k) => ({
      tokens: promptOf(model, 20 + ((k * 13) % 30), 10 + k),
      rows: k % 2 === 0 ? [inputEmbeddingSpan(2 + k, otherRows(6, k), table.cols)] : undefined,
    }));
    const want = await Promise.all(requests.map((r) => greedy(model, r.tokens, r.rows)));
    const bytesPerBlock = model.kv.bytesPerToken * 8;
    const small = await fixture.load({
      maxBatchSize: 8,
      kvBlockSize: 8,
      kvCacheMemory: 12 * bytesPerBlock,
      maxTokensPerStep: 16,
    });
    const got = await Promise.all(requests.map((r) => greedy(small, r.tokens, r.rows)));
    expect(got).toEqual(want);
    expect(small.stats().preemptions).toBeGreaterThan(0);
    expect(poolIsFree(small)).toBe(true);
  });
});
