/**
 * Scheduler: decides which sequences run in the next step and how many of their tokens (FCFS).
 *
 * Each step, within a budget of `maxTokensPerStep` tokens:
 *   1. every running sequence that is decoding (one uncached token) gets that token;
 *   2. running sequences still in their prompt get their next chunk (chunked prefill);
 *   3. waiting sequences are admitted in arrival order while there is room in the batch
 *      (`maxBatchSize`), budget left and free blocks for their first chunk; the first one that
 *      does not fit stops admission, so nobody overtakes it. An admitted sequence first takes the
 *      cached blocks of its longest cached prefix (prefix cache): those tokens are not computed again.
 *      At least one token is always left to compute, so the step yields the logits it needs.
 * A running sequence whose next tokens need blocks the pool does not have preempts the newest running
 * sequence (taking it out of this step if it was already in it): its blocks are freed and it goes back to
 * the front of the queue, to be recomputed (its full blocks usually stay cached). When the newest is the
 * sequence itself, it is the one preempted. The oldest running sequence can therefore always progress.
 * Paused sequences (a slow stream consumer) are skipped; when nothing else can run they are preempted to
 * let waiting ones in. A request the pool or the context can never hold is refused when it is added.
 */

import { InvalidArgumentError, OutOfMemoryError } from "../errors";
import type { BlockManager } from "./block-manager";
import type { Sequence } from "./sequence";

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
  /** Tokens of admitted sequences (each admission, recomputation included) and how many came from the cache. */
  prefixQueryTokens = 0;
  prefixHitTokens = 0;

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
    const plan: StepPlan = { budget: this.options.maxTokensPerStep, items: new Map() };

    for (const decoding of [true, false]) {
      for (const seq of [...this.running]) {
        if (plan.budget === 0) break;
        if (seq.paused || plan.items.has(seq) || !this.running.includes(seq)) continue;
        if ((seq.numUncached === 1) !== decoding) continue;
        const numNew = Math.min(seq.numUncached, plan.budget);
        if (!this.makeRoom(seq, seq.numCached + numNew, plan)) continue;
        this.blocks.grow(seq.blockTable, seq.numCached + numNew);
        plan.items.set(seq, numNew);
        plan.budget -= numNew;
      }
    }

    this.admit(plan);
    if (plan.items.size === 0 && this.waiting.some((s) => !s.paused)) {
      // Only paused sequences hold the room the queue needs: preempt them, newest first, so a consumer that
      // reads its streams one after another cannot deadlock the engine.
      for (let victim = this.newestPaused(); victim && plan.items.size === 0; victim = this.newestPaused()) {
        this.preempt(victim);
        this.admit(plan);
      }
    }

    if (plan.items.size === 0) return null;
    const items = [...plan.items].map(([seq, numNew]) => ({ seq, numNew }));
    return { items, numTokens: this.options.maxTokensPerStep - plan.budget };
  }

  /** True when some unfinished sequence is paused (then an empty schedule is not a bug). */
  hasPaused(): boolean {
    return this.running.some((s) => s.paused) || this.waiting.some((s) => s.paused);
  }

  /**
   * After a step ran: its tokens are cached now; newly full blocks are registered in the prefix cache.
   */
  commit(step: ScheduledStep): void {
    const bs = this.blocks.blockSize;
    for (const { seq, numNew } of step.items) {
      seq.numCached += numNew;
      seq.numSteps++;
      const full = Math.min(Math.floor(seq.numCached / bs), seq.blockTable.length);
      for (let b = seq.numRegisteredBlocks; b < full; b++) this.blocks.register(seq.blockTable[b]!, seq, b);
      seq.numRegisteredBlocks = Math.max(seq.numRegisteredBlocks, full);
    }
  }

  /** Admits waiting sequences in arrival order (paused ones are passed over) while they fit. */
  private admit(plan: StepPlan): void {
    for (let i = 0; i < this.waiting.length; ) {
      if (plan.budget === 0 || this.running.length >= this.options.maxBatchSize) return;
      const seq = this.waiting[i]!;
      if (seq.paused) {
        i++;
        continue;
      }
      // Cache hits: full blocks only, and never the block of the last token (its logits must be computed).
      const maxHits = seq.usesPrefixCache ? Math.floor((seq.numTokens - 1) / this.blocks.blockSize) : 0;
      const hits = this.blocks.findCached(seq, maxHits);
      const hitTokens = hits.length * this.blocks.blockSize;
      const numNew = Math.min(seq.numTokens - hitTokens, plan.budget);
      const need = this.blocks.blocksFor(hitTokens + numNew) - hits.length;
      if (need > this.blocks.numFreeBlocks - this.blocks.numFreeAmong(hits)) return;
      this.waiting.splice(i, 1);
      this.blocks.acquire(seq.blockTable, hits);
      seq.numCached = hitTokens;
      seq.numRegisteredBlocks = hits.length;
      this.blocks.grow(seq.blockTable, hitTokens + numNew);
      if (this.blocks.prefixCaching && seq.usesPrefixCache) this.prefixQueryTokens += seq.numTokens;
      this.prefixHitTokens += hitTokens;
      if (!seq.admitted) {
        seq.admitted = true;
        seq.numCachedPromptTokens = Math.min(hitTokens, seq.promptLength);
      }
      seq.status = "running";
      this.running.push(seq);
      plan.items.set(seq, numNew);
      plan.budget -= numNew;
    }
  }

  /**
   * Frees blocks until `seq` can hold `entries` entries by preempting the newest running sequences (taking
   * them out of this step's plan if they were in it); preempts `seq` itself (returning false) when it is
   * the newest one left.
   */
  private makeRoom(seq: Sequence, entries: number, plan: StepPlan): boolean {
    while (!this.blocks.canGrow(seq.blockTable, entries)) {
      const victim = this.running.at(-1);
      if (victim === undefined || victim === seq) {
        this.preempt(seq);
        return false;
      }
      const planned = plan.items.get(victim);
      if (planned !== undefined) {
        plan.items.delete(victim);
        plan.budget += planned;
      }
      this.preempt(victim);
    }
    return true;
  }

  private newestPaused(): Sequence | undefined {
    for (let i = this.running.length - 1; i >= 0; i--) if (this.running[i]!.paused) return this.running[i];
    return undefined;
  }

  private preempt(seq: Sequence): void {
    removeFrom(this.running, seq);
    this.blocks.release(seq.blockTable);
    seq.numCached = 0;
    seq.numRegisteredBlocks = 0;
    seq.numPreemptions++;
    this.numPreemptions++;
    seq.status = "waiting";
    this.waiting.unshift(seq);
  }
}

interface StepPlan {
  budget: number;
  /** Sequence → tokens it runs, in scheduling order. */
  readonly items: Map<Sequence, number>;
}

function removeFrom(list: Sequence[], seq: Sequence): void {
  const i = list.indexOf(seq);
  if (i >= 0) list.splice(i, 1);
}
