/**
 * Engine: the step loop. While any request has work it schedules one step, runs it (the one native call,
 * awaited, so the event loop keeps turning), and postprocesses the result: sampled tokens are appended
 * and checked for EOS, a stop condition (the request's `onToken` hook), the token limit and abort; each
 * request gets its events; finished sequences give their blocks back. One step runs at a time; the loop
 * sleeps when there is no work and wakes on the next request. Evaluate requests (logits, no sampling)
 * share the same queue and steps.
 */

import { DisposedError, InvalidArgumentError } from "../errors.js";
import type { NativeStepResult } from "../native.js";
import { BlockManager } from "./block-manager.js";
import { EventQueue } from "./event-queue.js";
import { type PreparedStep, Runner, type RunStep } from "./runner.js";
import type { SamplingParams } from "./sampling-params.js";
import { type ScheduledStep, Scheduler } from "./scheduler.js";
import { Sequence, type SequenceFinishReason, type SequenceInit, type TokenConstraint } from "./sequence.js";

export interface EngineOptions {
  /** The native step (NativeModel.step in production, a fake in tests). */
  readonly runStep: RunStep;
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly vocabSize: number;
  readonly eosId: number;
  /** Most tokens (prompt + output) per sequence. */
  readonly maxContext: number;
  /** Most sequences running at once (default 8). */
  readonly maxBatchSize?: number;
  /** Token budget of one step, decode tokens and prefill chunks together (default 2048). */
  readonly maxTokensPerStep?: number;
  readonly attention?: "auto" | "absorbed" | "expanded";
}

export interface EngineGenerateRequest {
  readonly promptTokens: ArrayLike<number>;
  /** Most tokens to sample (>= 1). */
  readonly maxTokens: number;
  /** Validated sampling parameters; their topLogprobs sets the alternatives reported with each token. */
  readonly sampling: SamplingParams;
  /**
   * Called synchronously with each sampled token other than EOS, in order, before the engine decides
   * whether to go on; returning true ends the request with reason "stop" (stop strings).
   */
  readonly onToken?: (id: number) => boolean;
  readonly signal?: AbortSignal | undefined;
  /** Restricts what may be sampled (structured output, forced tool calls, reasoning budgets). */
  readonly constraint?: TokenConstraint | undefined;
}

export interface EngineEvaluateRequest {
  readonly tokens: ArrayLike<number>;
  /** Logits of every position ([T × vocab]) instead of only the last ([vocab]). */
  readonly allPositions?: boolean;
  /** RoPE position of the first token (default 0). */
  readonly startPosition?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface TokenAlternative {
  readonly id: number;
  readonly logprob: number;
}

export type EngineEvent =
  | {
      readonly type: "token";
      readonly id: number;
      /** NaN when the step returned no log-probabilities. */
      readonly logprob: number;
      readonly top: readonly TokenAlternative[];
    }
  | { readonly type: "logits"; readonly logits: Float32Array }
  | { readonly type: "finish"; readonly reason: "stop" | "length" | "abort" };

/** A request's event stream; leaving a for-await loop over it early aborts the request. */
export interface RequestHandle extends AsyncIterable<EngineEvent> {
  readonly id: number;
  abort(): void;
}

export interface EngineStats {
  readonly waiting: number;
  readonly running: number;
  readonly freeBlocks: number;
  readonly numBlocks: number;
  readonly steps: number;
  readonly preemptions: number;
}

interface Active {
  readonly seq: Sequence;
  readonly events: EventQueue<EngineEvent>;
  readonly onToken: ((id: number) => boolean) | undefined;
  /** Evaluate requests: the logits gathered so far. */
  readonly logits: Float32Array | undefined;
  detach: () => void;
}

export class Engine {
  readonly blockManager: BlockManager;
  readonly scheduler: Scheduler;
  readonly runner: Runner;
  readonly maxContext: number;
  readonly vocabSize: number;
  readonly eosId: number;
  private readonly active = new Map<number, Active>();
  private nextId = 0;
  private steps = 0;
  /** True from wake() until the loop finds no work (cleared synchronously, so no request is ever stranded). */
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: EngineOptions) {
    if (typeof options.runStep !== "function")
      throw new InvalidArgumentError("runStep", "a function", options.runStep);
    this.blockManager = new BlockManager(options.numBlocks, options.blockSize);
    this.scheduler = new Scheduler(this.blockManager, {
      maxBatchSize: options.maxBatchSize ?? 8,
      maxTokensPerStep: options.maxTokensPerStep ?? 2048,
      maxContext: options.maxContext,
    });
    this.runner = new Runner({
      blockSize: options.blockSize,
      vocabSize: options.vocabSize,
      runStep: options.runStep,
      attention: options.attention ?? "auto",
    });
    this.maxContext = options.maxContext;
    this.vocabSize = options.vocabSize;
    this.eosId = options.eosId;
  }

  /** KV entries the pool holds. */
  get kvCapacity(): number {
    return this.blockManager.capacity;
  }

  stats(): EngineStats {
    return {
      waiting: this.scheduler.numWaiting,
      running: this.scheduler.numRunning,
      freeBlocks: this.blockManager.numFreeBlocks,
      numBlocks: this.blockManager.numBlocks,
      steps: this.steps,
      preemptions: this.scheduler.numPreemptions,
    };
  }

  /** Queues a generation; throws when it can never run (context or KV pool too small). */
  addRequest(req: EngineGenerateRequest): RequestHandle {
    if (!(Number.isSafeInteger(req.maxTokens) && req.maxTokens >= 1))
      throw new InvalidArgumentError("maxTokens", "a positive integer", req.maxTokens);
    return this.enqueue(
      {
        promptTokens: req.promptTokens,
        maxTokens: req.maxTokens,
        sampling: req.sampling,
        logits: "none",
        startPosition: 0,
        constraint: req.constraint,
      },
      req.onToken,
      req.signal,
    );
  }

  /** Queues an evaluate request: its stream carries one "logits" event, then "finish". */
  addEvaluate(req: EngineEvaluateRequest): RequestHandle {
    return this.enqueue(
      {
        promptTokens: req.tokens,
        maxTokens: 0,
        sampling: null,
        logits: req.allPositions ? "all" : "last",
        startPosition: req.startPosition ?? 0,
      },
      undefined,
      req.signal,
    );
  }

  /** Aborts every request, refuses new ones, and resolves once no step is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const a of [...this.active.values()]) this.finish(a, "abort");
    await this.idle();
  }

  /** Resolves when the loop has no work left (or at once when it is asleep). */
  async idle(): Promise<void> {
    while (this.looping) await this.loopDone;
  }

  private enqueue(
    init: Omit<SequenceInit, "id">,
    onToken: ((id: number) => boolean) | undefined,
    signal: AbortSignal | undefined,
  ): RequestHandle {
    if (this.closed) throw new DisposedError("Model");
    if (init.promptTokens.length === 0)
      throw new InvalidArgumentError("tokens", "at least one prompt token", init.promptTokens);
    const seq = new Sequence({ ...init, id: this.nextId++ });
    this.scheduler.add(seq);
    const events = new EventQueue<EngineEvent>(() => this.abortSeq(seq.id));
    const active: Active = {
      seq,
      events,
      onToken,
      logits:
        init.logits === "all"
          ? new Float32Array(seq.promptLength * this.vocabSize)
          : init.logits === "last"
            ? new Float32Array(this.vocabSize)
            : undefined,
      detach: () => {},
    };
    this.active.set(seq.id, active);
    if (signal) {
      const onAbort = () => this.abortSeq(seq.id);
      signal.addEventListener("abort", onAbort, { once: true });
      active.detach = () => signal.removeEventListener("abort", onAbort);
      if (signal.aborted) this.abortSeq(seq.id);
    }
    if (!seq.isFinished) this.wake();
    return {
      id: seq.id,
      abort: () => this.abortSeq(seq.id),
      [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
    };
  }

  private abortSeq(id: number): void {
    const a = this.active.get(id);
    if (a) this.finish(a, "abort");
  }

  private wake(): void {
    if (this.looping) return;
    this.looping = true;
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.scheduler.hasWork()) {
        // Let timers, I/O and abort signals in between steps, even when the step itself resolves at once.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.step();
      }
    } catch (error) {
      // Only an engine bug gets here; fail every request rather than leave one hanging.
      this.failAll(error);
    } finally {
      this.looping = false;
    }
  }

  /** One step: schedule → run → postprocess. A step that fails fails only its own requests. */
  private async step(): Promise<void> {
    const step = this.scheduler.schedule();
    if (step === null) {
      if (this.scheduler.hasWork())
        throw new Error("Engine: the scheduler found work but could schedule nothing");
      return;
    }
    for (const { seq } of step.items) seq.inFlight = true;
    try {
      const prepared = this.runner.prepare(step);
      const result = await this.runner.run(prepared);
      this.steps++;
      this.postprocess(step, prepared, result);
    } catch (error) {
      this.failStep(step, error);
    }
  }

  private postprocess(step: ScheduledStep, prepared: PreparedStep, result: NativeStepResult): void {
    for (const { seq, numNew } of step.items) {
      seq.inFlight = false;
      seq.numCached += numNew;
      seq.numSteps++;
    }
    const vocab = this.vocabSize;
    const k = prepared.batch.sampling?.topLogprobs ?? 0;
    prepared.rows.forEach((row, r) => {
      const a = this.active.get(row.seq.id);
      if (a === undefined || row.seq.isFinished) return;
      if (!row.sample) {
        if (!result.logits) throw new Error("Engine: the step returned no logits for an evaluate request");
        const dest = row.seq.logits === "all" ? row.entry * vocab : 0;
        a.logits!.set(result.logits.subarray(r * vocab, (r + 1) * vocab), dest);
        return;
      }
      const id = result.tokens?.[r];
      if (id === undefined) throw new Error("Engine: the step returned no token for a sampled row");
      this.accept(a, id, result.logprobs?.[r] ?? Number.NaN, topOf(result, r, k, row.seq.topLogprobs));
    });
    for (const { seq } of step.items) {
      const a = this.active.get(seq.id);
      if (seq.isFinished || a === undefined) {
        this.scheduler.remove(seq);
        continue;
      }
      if (seq.isEvaluate && seq.numCached === seq.promptLength) {
        a.events.push({ type: "logits", logits: a.logits! });
        this.finish(a, "stop");
      }
    }
  }

  /** Appends a sampled token and decides whether the sequence goes on. */
  private accept(a: Active, id: number, logprob: number, top: TokenAlternative[]): void {
    const { seq } = a;
    seq.outputTokens.push(id);
    a.events.push({ type: "token", id, logprob, top });
    let reason: "stop" | "length" | undefined;
    try {
      seq.constraint?.accept(id);
      if (id === this.eosId || seq.constraint?.isComplete()) reason = "stop";
      else if (a.onToken?.(id)) reason = "stop";
    } catch (error) {
      this.finish(a, "error", error);
      return;
    }
    if (reason === undefined && seq.outputTokens.length >= seq.maxTokens) reason = "length";
    if (reason !== undefined) this.finish(a, reason);
  }

  private finish(a: Active, reason: SequenceFinishReason, error?: unknown): void {
    const { seq } = a;
    if (seq.isFinished) return;
    seq.status = "finished";
    seq.finishReason = reason;
    this.active.delete(seq.id);
    a.detach();
    if (reason === "error") a.events.fail(error);
    else {
      a.events.push({ type: "finish", reason });
      a.events.close();
    }
    // A sequence in the step now running keeps its blocks until the step is back.
    if (!seq.inFlight) this.scheduler.remove(seq);
  }

  private failStep(step: ScheduledStep, error: unknown): void {
    for (const { seq } of step.items) seq.inFlight = false;
    for (const { seq } of step.items) {
      const a = this.active.get(seq.id);
      if (a) this.finish(a, "error", error);
      else this.scheduler.remove(seq);
    }
  }

  private failAll(error: unknown): void {
    for (const a of [...this.active.values()]) this.finish(a, "error", error);
  }
}

function topOf(result: NativeStepResult, row: number, k: number, want: number): TokenAlternative[] {
  const n = Math.min(k, want);
  if (n === 0 || !result.topIds || !result.topLogprobs) return [];
  const top: TokenAlternative[] = [];
  for (let i = 0; i < n; i++) {
    const id = result.topIds[row * k + i];
    const logprob = result.topLogprobs[row * k + i];
    if (id === undefined || logprob === undefined) break;
    top.push({ id, logprob });
  }
  return top;
}
