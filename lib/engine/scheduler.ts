/**
 * Scheduler: decides which sequences run in the next step and how many of their tokens (FCFS).
 *
 * Each step, within a budget of `maxTokensPerStep` tokens:
 *   1. every running sequence that is decoding (one uncached token) gets that token;
 *   2. running sequences still in their prompt get their next chunk (chunked prefill);
 *   3. waiting sequences are admitted in arrival order while there is room in the batch
 *      (`maxBatchSize`), budget left and free blocks for their first chunk; the first one that
 *      does not fit stops admission, so nobody overtakes it.
 * A running sequence whose next tokens need blocks the pool does not have preempts the newest running
 * sequence not yet scheduled in this step (its blocks are freed and it goes back to the front of the
 * queue, to be recomputed), or, when there is none, itself. A request the pool or the context can never
 * hold is refused when it is added.
 */

import { InvalidArgumentError, OutOfMemoryError } from "../errors.js";
import type { BlockManager } from "./block-manager.js";
import type { Sequence } from "./sequence.js";

export interface SchedulerOptions {
  readonly maxBatchSize: number;
  readonly maxTokensPerStep: number;
  /** Most tokens (prompt + output) one sequence may hold. */
  readonly maxContext: number;
}

/** One sequence's share of a step: its tokens [seq.numCached, seq.numCached + numNew) run. */
export interface ScheduledSequence {
  readonly seq: Sequence;
  readonly numNew: number;
}

export interface ScheduledStep {
  readonly items: readonly ScheduledSequence[];
  readonly numTokens: number;
}

export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];
  /** Preemptions so far (for stats and tests). */
  numPreemptions = 0;

  constructor(
    private readonly blocks: BlockManager,
    private readonly options: SchedulerOptions,
  ) {
    for (const key of ["maxBatchSize", "maxTokensPerStep", "maxContext"] as const) {
      const v = options[key];
      if (!Number.isSafeInteger(v) || v < 1)
        throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  /** Queues a sequence, or throws when it could never run: too long for the context or for the KV pool. */
  add(seq: Sequence): void {
    const total = seq.promptLength + seq.maxTokens;
    if (total > this.options.maxContext) {
      throw new InvalidArgumentError(
        "maxTokens",
        `prompt + maxTokens within the context of ${this.options.maxContext} tokens ` +
          `(the prompt has ${seq.promptLength} tokens)`,
        seq.maxTokens,
      );
    }
    if (seq.maxEntries > this.blocks.capacity) {
      throw new OutOfMemoryError(
        `the KV cache holds ${this.blocks.capacity} tokens but this request needs ${seq.maxEntries} ` +
          `(${seq.promptLength} prompt tokens + maxTokens ${seq.maxTokens}); lower maxTokens or load the model ` +
          "with a larger kvCacheMemory",
      );
    }
    seq.status = "waiting";
    this.waiting.push(seq);
  }

  /** Takes a sequence out of the queues and frees its blocks (finish or abort). Not while it is in flight. */
  remove(seq: Sequence): void {
    if (seq.inFlight) throw new Error(`Scheduler.remove: sequence ${seq.id} is in flight`);
    removeFrom(this.waiting, seq);
    removeFrom(this.running, seq);
    this.blocks.release(seq.blockTable);
  }

  /** The next step's work, with the blocks it needs allocated; null when there is nothing to run. */
  schedule(): ScheduledStep | null {
    let budget = this.options.maxTokensPerStep;
    const items: ScheduledSequence[] = [];
    const scheduled = new Set<Sequence>();

    const runPass = (decoding: boolean): void => {
      for (const seq of [...this.running]) {
        if (budget === 0) return;
        if (scheduled.has(seq) || !this.running.includes(seq)) continue;
        if ((seq.numUncached === 1) !== decoding) continue;
        const numNew = Math.min(seq.numUncached, budget);
        if (!this.makeRoom(seq, seq.numCached + numNew, scheduled)) continue;
        this.blocks.grow(seq.blockTable, seq.numCached + numNew);
        items.push({ seq, numNew });
        scheduled.add(seq);
        budget -= numNew;
      }
    };
    runPass(true);
    runPass(false);

    while (budget > 0 && this.running.length < this.options.maxBatchSize) {
      const seq = this.waiting[0];
      if (seq === undefined) break;
      const numNew = Math.min(seq.numUncached, budget);
      if (!this.blocks.canGrow(seq.blockTable, seq.numCached + numNew)) break;
      this.waiting.shift();
      this.blocks.grow(seq.blockTable, seq.numCached + numNew);
      seq.status = "running";
      this.running.push(seq);
      items.push({ seq, numNew });
      scheduled.add(seq);
      budget -= numNew;
    }

    if (items.length === 0) return null;
    return { items, numTokens: this.options.maxTokensPerStep - budget };
  }

  /**
   * Frees blocks until `seq` can hold `entries` entries, preempting the newest running sequences not
   * scheduled in this step; preempts `seq` itself (returning false) when that is not enough.
   */
  private makeRoom(seq: Sequence, entries: number, scheduled: ReadonlySet<Sequence>): boolean {
    while (!this.blocks.canGrow(seq.blockTable, entries)) {
      const victim = [...this.running].reverse().find((s) => s !== seq && !scheduled.has(s));
      if (victim === undefined) {
        this.preempt(seq);
        return false;
      }
      this.preempt(victim);
    }
    return true;
  }

  private preempt(seq: Sequence): void {
    removeFrom(this.running, seq);
    this.blocks.release(seq.blockTable);
    seq.numCached = 0;
    seq.numPreemptions++;
    this.numPreemptions++;
    seq.status = "waiting";
    this.waiting.unshift(seq);
  }
}

function removeFrom(list: Sequence[], seq: Sequence): void {
  const i = list.indexOf(seq);
  if (i >= 0) list.splice(i, 1);
}
