/**
 * Sequence: the state of one request inside the engine, and nothing else (no policy). Its tokens are the
 * prompt followed by the sampled output; `numCached` of them already have KV entries in the blocks listed
 * by `blockTable` (the first ones possibly shared with other sequences through the prefix cache). The
 * scheduler moves it between WAITING and RUNNING; the engine marks it FINISHED.
 */

import type { InputEmbeddings } from "./input-embeddings";
import type { SamplingParams } from "./sampling-params";

export type SequenceStatus = "waiting" | "running" | "finished";

/** Why a sequence ended: EOS or a stop string, its token limit, an abort, or an error in its step. */
export type SequenceFinishReason = "stop" | "length" | "abort" | "error";

/** Which logits an evaluate request wants back: none (generate), the last prompt position, or every position. */
export type LogitsMode = "none" | "last" | "all";

/**
 * A per-token restriction on what a sequence may sample next (structured output, forced tool calls,
 * reasoning budgets). The runner asks for the mask before each sampled token; the engine reports each token.
 */
export interface TokenConstraint {
  /** Allowed-token bitmask (ceil(vocab / 32) words, bit set = allowed) for the next token, or null for any. */
  nextMask(): Uint32Array | null;
  /** Advances the constraint past a sampled token. */
  accept(token: number): void;
  /** True once the constrained output is complete: the sequence then stops with reason "stop". */
  isComplete(): boolean;
}

export interface SequenceInit {
  readonly id: number;
  readonly promptTokens: ArrayLike<number>;
  /** Most tokens to sample (0 for evaluate requests, which sample nothing). */
  readonly maxTokens: number;
  /** Null for evaluate requests. */
  readonly sampling: SamplingParams | null;
  readonly logits: LogitsMode;
  /** RoPE position of entry 0 (evaluate may start elsewhere; generate starts at 0). */
  readonly startPosition: number;
  /** Optional restriction of the sampled tokens. */
  readonly constraint?: TokenConstraint | undefined;
  /** Prompt entries whose first-layer input is given instead of their token's embedding. */
  readonly inputEmbeddings?: InputEmbeddings | undefined;
}

export class Sequence {
  readonly id: number;
  readonly promptTokens: Int32Array;
  readonly outputTokens: number[] = [];
  readonly maxTokens: number;
  readonly sampling: SamplingParams | null;
  readonly logits: LogitsMode;
  readonly startPosition: number;
  readonly constraint: TokenConstraint | undefined;
  readonly inputEmbeddings: InputEmbeddings | undefined;

  status: SequenceStatus = "waiting";
  finishReason: SequenceFinishReason | undefined;
  /** Tokens whose KV entries are in the cache (entries 0..numCached-1). */
  numCached = 0;
  /** Block ids in order: entry j lives in blockTable[j / blockSize] at slot j % blockSize. */
  blockTable: number[] = [];
  /** True while the sequence is part of the step the native side is running. */
  inFlight = false;
  /** Times the scheduler took its blocks away to make room (its tokens are recomputed later). */
  numPreemptions = 0;
  /** Steps in which some of its tokens ran. */
  numSteps = 0;
  /** Chain hashes of its first full blocks (content hashes: they survive preemption). */
  readonly blockHashes: number[] = [];
  /** Leading blocks of `blockTable` already registered in (or taken from) the prefix cache. */
  numRegisteredBlocks = 0;
  /** Prompt tokens whose KV came from the prefix cache when it was first scheduled (usage). */
  numCachedPromptTokens = 0;
  /** Set once the scheduler has admitted it for the first time. */
  admitted = false;
  /** True while its consumer has too many unread events: the scheduler leaves it alone until drained. */
  paused = false;

  constructor(init: SequenceInit) {
    this.id = init.id;
    this.promptTokens = Int32Array.from(init.promptTokens);
    this.maxTokens = init.maxTokens;
    this.sampling = init.sampling;
    this.logits = init.logits;
    this.startPosition = init.startPosition;
    this.constraint = init.constraint;
    this.inputEmbeddings = init.inputEmbeddings;
  }

  get promptLength(): number {
    return this.promptTokens.length;
  }

  /** Prompt plus output tokens. */
  get numTokens(): number {
    return this.promptTokens.length + this.outputTokens.length;
  }

  /** Tokens not yet in the KV cache: the rest of the prompt, or the last sampled token while decoding. */
  get numUncached(): number {
    return this.numTokens - this.numCached;
  }

  /** Most KV entries this sequence can ever need: the last sampled token is never run. */
  get maxEntries(): number {
    return this.promptTokens.length + Math.max(0, this.maxTokens - 1);
  }

  /** Alternatives to report with each sampled token (0 = none). */
  get topLogprobs(): number {
    return this.sampling?.topLogprobs ?? 0;
  }

  /** Whether cached prefix blocks may stand in for its first entries (not when every position's logits are wanted). */
  get usesPrefixCache(): boolean {
    return this.logits !== "all";
  }

  get isEvaluate(): boolean {
    return this.sampling === null;
  }

  get isFinished(): boolean {
    return this.status === "finished";
  }

  /** Token `i` of prompt + output. */
  tokenAt(i: number): number {
    const n = this.promptTokens.length;
    return i < n ? this.promptTokens[i]! : this.outputTokens[i - n]!;
  }

  /** Content key of entry `i`'s input embedding (0 when the entry is a plain token): part of its block's hash. */
  inputKeyAt(i: number): number {
    return this.inputEmbeddings === undefined || i >= this.promptTokens.length
      ? 0
      : this.inputEmbeddings.keyAt(i);
  }

  /** Prompt + output tokens as one array (for the repetition penalty). */
  allTokens(): Int32Array {
    const all = new Int32Array(this.numTokens);
    all.set(this.promptTokens);
    all.set(this.outputTokens, this.promptTokens.length);
    return all;
  }
}
