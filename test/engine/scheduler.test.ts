import { describe, expect, it } from "vitest";
import { BlockManager } from "../../lib/engine/block-manager";
import { validateSamplingParams } from "../../lib/engine/sampling-params";
import type { ScheduledStep } from "../../lib/engine/scheduler";
import { Scheduler } from "../../lib/engine/scheduler";
import { Sequence } from "../../lib/engine/sequence";
import { InvalidArgumentError, OutOfMemoryError } from "../../lib/errors";

const greedy = validateSamplingParams({ temperature: 0, seed: 1 });
let nextId = 0;

function seq(promptLength: number, maxTokens: number): Sequence {
  return new Sequence({
    id: nextId++,
    promptTokens: Array.from({ length: promptLength }, (_, i) => 1000 + i),
    maxTokens,
    sampling: greedy,
    logits: "none",
    startPosition: 0,
  });
}

/** Plays the step as the engine would: caches the tokens, samples when caught up, finishes at maxTokens. */
function complete(s: Scheduler, step: ScheduledStep): Sequence[] {
  const done: Sequence[] = [];
  for (const { seq, numNew } of step.items) {
    seq.numCached += numNew;
    if (seq.numCached === seq.numTokens) seq.outputTokens.push(1065);
    if (seq.outputTokens.length >= seq.maxTokens) {
      seq.status = "finished";
      s.remove(seq);
      done.push(seq);
    }
  }
  return done;
}

const shape = (step: ScheduledStep | null) => step?.items.map((it) => [it.seq.id, it.numNew]);

describe("Scheduler", () => {
  it("chunks prefill under the token budget and caps the batch size", () => {
    const bm = new BlockManager(64, 4);
    const s = new Scheduler(bm, { maxBatchSize: 2, maxTokensPerStep: 8, maxContext: 100 });
    const [a, b, c] = [seq(20, 4), seq(5, 2), seq(3, 1)];
    for (const x of [a, b, c]) s.add(x);
    const ids = (x: Sequence) => x.id;
    const steps: (number[][] | undefined)[] = [];
    for (let i = 0; i < 20 && s.hasWork(); i++) {
      const step = s.schedule();
      expect(step).not.toBeNull();
      expect(step!.numTokens).toBeLessThanOrEqual(8);
      expect(s.numRunning).toBeLessThanOrEqual(2);
      steps.push(shape(step));
      complete(s, step!);
    }
    const [A, B, C] = [a, b, c].map(ids) as [number, number, number];
    expect(steps).toEqual([
      [[A, 8]],
      [[A, 8]],
      [
        [A, 4],
        [B, 4],
      ],
      // Decodes first (B's last prompt token counts as one), then nothing is left to admit into a full batch.
      [
        [A, 1],
        [B, 1],
      ],
      [
        [A, 1],
        [B, 1],
      ],
      // B finished with 2 tokens, so C comes in beside A's last decode.
      [
        [A, 1],
        [C, 3],
      ],
    ]);
    expect(s.hasWork()).toBe(false);
    expect(bm.numFreeBlocks).toBe(64);
  });

  it("admits in arrival order only when the next chunk's blocks are free", () => {
    const bm = new BlockManager(4, 4); // 16 entries
    const s = new Scheduler(bm, { maxBatchSize: 8, maxTokensPerStep: 64, maxContext: 100 });
    const a = seq(12, 1);
    const b = seq(8, 1);
    const c = seq(2, 1);
    s.add(a);
    s.add(b);
    s.add(c);
    // a takes 3 blocks; b needs 2 and there is 1, so b waits, and c (which would fit) waits behind it.
    expect(shape(s.schedule())).toEqual([[a.id, 12]]);
    expect(s.numWaiting).toBe(2);
    complete(s, { items: [{ seq: a, numNew: 12 }], numTokens: 12 });
    expect(bm.numFreeBlocks).toBe(4);
    expect(shape(s.schedule())).toEqual([
      [b.id, 8],
      [c.id, 2],
    ]);
  });

  it("refuses requests the context or the pool can never hold", () => {
    const bm = new BlockManager(4, 4);
    const s = new Scheduler(bm, { maxBatchSize: 8, maxTokensPerStep: 64, maxContext: 20 });
    expect(() => s.add(seq(10, 11))).toThrow(InvalidArgumentError);
    expect(() => s.add(seq(10, 11))).toThrow(/within the context of 20 tokens \(the prompt has 10 tokens\)/);
    const big = new Scheduler(bm, { maxBatchSize: 8, maxTokensPerStep: 64, maxContext: 100 });
    expect(() => big.add(seq(10, 8))).toThrow(OutOfMemoryError);
    expect(() => big.add(seq(10, 8))).toThrow(/KV cache holds 16 tokens but this request needs 17/);
    big.add(seq(10, 7)); // 16 entries: the last sampled token never needs one
    expect(big.numWaiting).toBe(1);
  });

  it("preempts the newest sequence when decoding runs out of blocks, and recomputes it later", () => {
    const bm = new BlockManager(4, 2); // 8 entries
    const s = new Scheduler(bm, { maxBatchSize: 4, maxTokensPerStep: 16, maxContext: 100 });
    const a = seq(3, 4);
    const b = seq(3, 4);
    s.add(a);
    s.add(b);
    let preemptedB = false;
    for (let i = 0; i < 40 && s.hasWork(); i++) {
      const step = s.schedule()!;
      expect(step).not.toBeNull();
      if (b.numPreemptions > 0 && b.status === "waiting") preemptedB = true;
      const used = [a, b].flatMap((x) => x.blockTable);
      expect(new Set(used).size).toBe(used.length);
      complete(s, step);
    }
    expect(preemptedB).toBe(true);
    expect(a.numPreemptions).toBe(0);
    expect(a.outputTokens.length).toBe(4);
    expect(b.outputTokens.length).toBe(4);
    expect(s.hasWork()).toBe(false);
    expect(bm.numFreeBlocks).toBe(4);
  });
});
