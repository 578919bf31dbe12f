/**
 * Engine: the step loop. While any request has work it schedules one step, runs it (the one native call,
 * awaited, so the event loop keeps turning), and postprocesses the result: sampled tokens are appended
 * and checked for EOS, a stop condition (the request's `onToken` hook), the token limit and abort; each
 * request gets its events; finished sequences give their blocks back (their full blocks stay in the
 * prefix cache). One step runs at a time; the loop sleeps when nothing can run and wakes on a new
 * request, an abort, or a stream consumer catching up. Evaluate requests (logits, no sampling) share the
 * same queue and steps.
 *
 * Backpressure: a request whose consumer has `maxBufferedEvents` unread events is paused (not scheduled,
 * its blocks kept) until the consumer has read half of them, so a slow stream never makes the engine
 * buffer without bound.
 */

import { DisposedError, InvalidArgumentError } from "../errors";
import type { NativeStepResult } from "../native";
import { BlockManager } from "./block-manager";
import { EventQueue } from "./event-queue";
import { type InputEmbeddingSpan, InputEmbeddings } from "./input-embeddings";
import { type PreparedStep, Runner, type RunStep } from "./runner";
import type { SamplingParams } from "./sampling-params";
import { type ScheduledStep, Scheduler } from "./scheduler";
import { Sequence, type SequenceFinishReason, type SequenceInit, type TokenConstraint } from "./sequence";

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
  /**
   * Tests only: force an MLA attention form. Unset, native code runs the absorbed form for every step — the
   * batch-invariant one this engine's guarantees rest on (native/model/mistral4.h kProductionAttention).
   */
  readonly attention?: "absorbed" | "expanded";
  /** Reuse the KV blocks of prompt prefixes seen before (default true). */
  readonly prefixCaching?: boolean;
  /** Unread events after which a request is paused until its consumer catches up (default 64). */
  readonly maxBufferedEvents?: number;
  /** Window of the tokens-per-second figures in stats(), in milliseconds (default 10 000). */
  readonly statsWindowMs?: number;
  /** The model's hidden size: input-embedding rows must have this many values (checked when a request is added). */
  readonly hiddenSize?: number;
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
  /** Keep going after EOS until maxTokens (benchmarks only: fixed-length outputs). */
  readonly ignoreEos?: boolean;
  /** Prompt entries fed by given embeddings instead of their tokens' (images). */
  readonly inputEmbeddings?: readonly InputEmbeddingSpan[] | undefined;
}

export interface EngineEvaluateRequest {
  readonly tokens: ArrayLike<number>;
  /** Logits of every position ([T × vocab]) instead of only the last ([vocab]). */
  readonly allPositions?: boolean;
  /** RoPE position of the first token (default 0). */
  readonly startPosition?: number;
  readonly signal?: AbortSignal | undefined;
  /** Prompt entries fed by given embeddings instead of their tokens' (images). */
  readonly inputEmbeddings?: readonly InputEmbeddingSpan[] | undefined;
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
  /**
   * Prompt tokens whose KV came from the prefix cache when the request was first scheduled (0 before
   * that): `usage.cachedPromptTokens`. Final once the "finish" event is out.
   */
  readonly cachedPromptTokens: number;
  abort(): void;
}

export interface EngineStats {
  /** Sequences queued (new or preempted) and running (admitted, holding blocks). */
  readonly waiting: number;
  readonly running: number;
  /** Sequences not scheduled because their stream consumer lags (backpressure). */
  readonly paused: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Blocks some sequence holds. */
  readonly usedBlocks: number;
  /** Blocks no sequence holds, the cached ones among them included (they are evicted when reused). */
  readonly freeBlocks: number;
  /** Blocks holding reusable prefix content (in use or free). */
  readonly cachedBlocks: number;
  readonly steps: number;
  readonly preemptions: number;
  /** Prompt tokens (admissions, recomputations included) that were looked up / found in the prefix cache. */
  readonly prefixCacheQueryTokens: number;
  readonly prefixCacheHitTokens: number;
  /** Prompt tokens computed and tokens sampled, since the start. */
  readonly prefillTokens: number;
  readonly decodeTokens: number;
  /** The same over the last `statsWindowMs` of wall time. */
  readonly prefillTokensPerSecond: number;
  readonly decodeTokensPerSecond: number;
}

interface Active {
  readonly seq: Sequence;
  readonly events: EventQueue<EngineEvent>;
  readonly onToken: ((id: number) => boolean) | undefined;
  /** Evaluate requests: the logits gathered so far. */
  readonly logits: Float32Array | undefined;
  readonly ignoreEos: boolean;
  detach: () => void;
}

/** Tokens one finished step computed, for the rates in stats(). */
interface StepRecord {
  readonly end: number;
  readonly prefill: number;
  readonly decode: number;
}

export class Engine {
  readonly blockManager: BlockManager;
  readonly scheduler: Scheduler;
  readonly runner: Runner;
  readonly maxContext: number;
  private readonly hiddenSize: number | undefined;
  readonly vocabSize: number;
  readonly eosId: number;
  private readonly active = new Map<number, Active>();
  private nextId = 0;
  private steps = 0;
  private readonly maxBufferedEvents: number;
  private readonly statsWindowMs: number;
  private readonly recent: StepRecord[] = [];
  private firstStepStart: number | undefined;
  private prefillTokens = 0;
  private decodeTokens = 0;
  /** True from wake() until the loop finds no work (cleared synchronously, so no request is ever stranded). */
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: EngineOptions) {
    if (typeof options.runStep !== "function")
      throw new InvalidArgumentError("runStep", "a function", options.runStep);
    this.blockManager = new BlockManager(options.numBlocks, options.blockSize, {
      prefixCaching: options.prefixCaching ?? true,
    });
    this.scheduler = new Scheduler(this.blockManager, {
      maxBatchSize: options.maxBatchSize ?? 8,
      maxTokensPerStep: options.maxTokensPerStep ?? 2048,
      maxContext: options.maxContext,
    });
    this.runner = new Runner({
      blockSize: options.blockSize,
      vocabSize: options.vocabSize,
      runStep: options.runStep,
      ...(options.attention ? { attention: options.attention } : {}),
    });
    this.hiddenSize = options.hiddenSize;
    this.maxContext = options.maxContext;
    this.vocabSize = options.vocabSize;
    this.eosId = options.eosId;
    this.maxBufferedEvents = options.maxBufferedEvents ?? 64;
    if (!(Number.isSafeInteger(this.maxBufferedEvents) && this.maxBufferedEvents >= 2))
      throw new InvalidArgumentError("maxBufferedEvents", "an integer >= 2", options.maxBufferedEvents);
    this.statsWindowMs = options.statsWindowMs ?? 10_000;
  }

  /** KV entries the pool holds. */
  get kvCapacity(): number {
    return this.blockManager.capacity;
  }

  stats(): EngineStats {
    const now = performance.now();
    this.trimRecent(now);
    let prefill = 0;
    let decode = 0;
    for (const r of this.recent) {
      prefill += r.prefill;
      decode += r.decode;
    }
    const span = Math.min(this.statsWindowMs, now - (this.firstStepStart ?? now)) / 1000;
    const bm = this.blockManager;
    let paused = 0;
    for (const a of this.active.values()) if (a.seq.paused) paused++;
    return {
      waiting: this.scheduler.numWaiting,
      running: this.scheduler.numRunning,
      paused,
      numBlocks: bm.numBlocks,
      blockSize: bm.blockSize,
      usedBlocks: bm.numUsedBlocks,
      freeBlocks: bm.numFreeBlocks,
      cachedBlocks: bm.numCachedBlocks,
      steps: this.steps,
      preemptions: this.scheduler.numPreemptions,
      prefixCacheQueryTokens: this.scheduler.prefixQueryTokens,
      prefixCacheHitTokens: this.scheduler.prefixHitTokens,
      prefillTokens: this.prefillTokens,
      decodeTokens: this.decodeTokens,
      prefillTokensPerSecond: span > 0 ? prefill / span : 0,
      decodeTokensPerSecond: span > 0 ? decode / span : 0,
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
        inputEmbeddings: this.inputEmbeddings(req.inputEmbeddings, req.promptTokens.length),
      },
      req.onToken,
      req.signal,
      req.ignoreEos === true,
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
        inputEmbeddings: this.inputEmbeddings(req.inputEmbeddings, req.tokens.length),
      },
      undefined,
      req.signal,
      false,
    );
  }

  private inputEmbeddings(
    spans: readonly InputEmbeddingSpan[] | undefined,
    promptLength: number,
  ): InputEmbeddings | undefined {
    if (spans === undefined || spans.length === 0) return undefined;
    return new InputEmbeddings(spans, promptLength, this.hiddenSize);
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
    ignoreEos: boolean,
  ): RequestHandle {
    if (this.closed) throw new DisposedError("Model");
    if (init.promptTokens.length === 0)
      throw new InvalidArgumentError("tokens", "at least one prompt token", init.promptTokens);
    const seq = new Sequence({ ...init, id: this.nextId++ });
    this.scheduler.add(seq);
    const events = new EventQueue<EngineEvent>(
      () => this.abortSeq(seq.id),
      (size) => {
        if (seq.paused && size <= this.maxBufferedEvents / 2) {
          seq.paused = false;
          if (!seq.isFinished) this.wake();
        }
      },
    );
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
      ignoreEos,
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
      get cachedPromptTokens() {
        return seq.numCachedPromptTokens;
      },
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
      for (;;) {
        // Let timers, I/O and abort signals in between steps, even when the step itself resolves at once.
        await new Promise<void>((resolve) => setImmediate(resolve));
        // From here to `break` nothing awaits, so a wake() can never fall between "nothing to run" and
        // `looping = false`.
        const step = this.scheduler.schedule();
        if (step === null) {
          if (this.scheduler.hasWork() && !this.scheduler.hasPaused())
            throw new Error("Engine: the scheduler found work but could schedule nothing");
          break;
        }
        await this.step(step);
      }
    } catch (error) {
      // Only an engine bug gets here; fail every request rather than leave one hanging.
      this.failAll(error);
    } finally {
      this.looping = false;
    }
  }

  /** One step: run → postprocess. A step that fails fails only its own requests. */
  private async step(step: ScheduledStep): Promise<void> {
    for (const { seq } of step.items) seq.inFlight = true;
    const start = performance.now();
    try {
      const prepared = this.runner.prepare(step);
      const result = await this.runner.run(prepared);
      this.steps++;
      this.record(step, prepared, start);
      this.postprocess(step, prepared, result);
    } catch (error) {
      this.failStep(step, error);
    }
  }

  private record(step: ScheduledStep, prepared: PreparedStep, start: number): void {
    let prefill = 0;
    for (const { seq, numNew } of step.items)
      prefill += Math.max(0, Math.min(seq.numCached + numNew, seq.promptLength) - seq.numCached);
    let decode = 0;
    for (const row of prepared.rows) if (row.sample) decode++;
    this.prefillTokens += prefill;
    this.decodeTokens += decode;
    const end = performance.now();
    this.firstStepStart ??= start;
    this.recent.push({ end, prefill, decode });
    this.trimRecent(end);
  }

  private trimRecent(now: number): void {
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.end < now - this.statsWindowMs) drop++;
    if (this.recent.length - drop > 4096) drop = this.recent.length - 4096;
    if (drop > 0) this.recent.splice(0, drop);
  }

  private postprocess(step: ScheduledStep, prepared: PreparedStep, result: NativeStepResult): void {
    for (const { seq } of step.items) seq.inFlight = false;
    this.scheduler.commit(step);
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
    if (a.events.size >= this.maxBufferedEvents) seq.paused = true;
    let reason: "stop" | "length" | undefined;
    try {
      seq.constraint?.accept(id);
      const isEos = id === this.eosId && !a.ignoreEos;
      // onToken sees every token but EOS, the one completing a constraint included (it ends the answer text).
      if (!isEos && a.onToken?.(id)) reason = "stop";
      if (isEos || seq.constraint?.isComplete()) reason = "stop";
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
    seq.paused = false;
    // A sequence in the step now running keeps its blocks until the step is back.
    if (!seq.inFlight) {
      this.scheduler.remove(seq);
      // The blocks it held may let a sleeping loop (paused sequences only) admit others.
      if (this.scheduler.hasWork()) this.wake();
    }
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
