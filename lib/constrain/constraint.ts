/**
 * The engine's TokenConstraint for one request: an optional thinking block (`[THINK]` free text
 * `[/THINK]`, with a token budget), then the answer grammar (structured output or a forced tool call),
 * or, without a grammar, only the reasoning budget and "no tool calls".
 *
 * Termination: with a grammar, every mask keeps "tokens left ≥ tokens needed to finish", so the output is
 * complete before maxTokens runs out, whatever the model samples.
 */

import type { TokenConstraint } from "../engine/sequence";
import { InvalidArgumentError } from "../errors";
import type { Grammar } from "./grammar";
import { setBit } from "./grammar";
import type { Stack } from "./matcher";
import type { TokenTable } from "./token-table";

/** With a grammar: whether a thinking block may (or must) come before the answer. */
export type ThinkingMode = "forbidden" | "optional" | "required";

export interface DecodingConstraintOptions {
  readonly table: TokenTable;
  /** The answer's grammar, or null for free text. */
  readonly grammar: Grammar | null;
  /** The request's token limit (the budget the grammar must finish within). */
  readonly maxTokens: number;
  readonly thinking: ThinkingMode;
  /** Reasoning tokens allowed inside `[THINK]…[/THINK]` before `[/THINK]` is forced. */
  readonly maxReasoningTokens?: number | undefined;
  /** Mask out `[TOOL_CALLS]` (toolChoice "none"). */
  readonly forbidToolCalls?: boolean;
}

type Phase = "start" | "thinking" | "answer" | "free" | "done";

export class DecodingConstraint implements TokenConstraint {
  private readonly o: DecodingConstraintOptions;
  private readonly t: TokenTable;
  private phase: Phase;
  private stacks: readonly Stack[];
  private produced = 0;
  private thought = 0;
  private thinkSeen = false;
  private readonly answerMin: number;
  private readonly noToolCalls: Uint32Array | undefined;
  /** Seconds spent computing masks (for stats and benchmarks). */
  maskMs = 0;
  masks = 0;

  constructor(options: DecodingConstraintOptions) {
    this.o = options;
    this.t = options.table;
    this.phase = options.grammar === null ? "free" : "start";
    this.stacks = options.grammar?.initial ?? [];
    this.answerMin = options.grammar?.minTokens ?? 0;
    const needed = minimumTokens(options);
    if (needed > options.maxTokens) {
      throw new InvalidArgumentError(
        "maxTokens",
        `at least ${needed} (the shortest output the response format / tool call allows takes ${needed} tokens)`,
        options.maxTokens,
      );
    }
    if (options.thinking !== "forbidden" && options.grammar !== null && this.t.thinkId === undefined)
      throw new InvalidArgumentError("reasoningEffort", "a tokenizer with [THINK] tokens", "none");
    const tc = this.t.toolCallsId;
    if (options.forbidToolCalls && tc !== undefined) {
      this.noToolCalls = new Uint32Array(this.t.words).fill(0xffffffff);
      this.noToolCalls[tc >>> 5]! &= ~(1 << (tc & 31));
    }
  }

  nextMask(): Uint32Array | null {
    const started = performance.now();
    const mask = this.computeMask();
    this.maskMs += performance.now() - started;
    this.masks++;
    return mask;
  }

  private computeMask(): Uint32Array | null {
    const { grammar } = this.o;
    const t = this.t;
    const remaining = this.o.maxTokens - this.produced;
    const reasoningLeft = this.o.maxReasoningTokens === undefined || this.thought < this.o.maxReasoningTokens;
    if (grammar === null) {
      if (this.phase === "thinking" && !reasoningLeft && t.endThinkId !== undefined)
        return only(t, t.endThinkId);
      return this.noToolCalls ?? null;
    }
    const mask = new Uint32Array(t.words);
    switch (this.phase) {
      case "start":
        if (this.o.thinking !== "required") grammar.fillMask(this.stacks, remaining, mask);
        if (this.o.thinking !== "forbidden" && remaining - 1 >= 1 + this.answerMin) setBit(mask, t.thinkId!);
        return mask;
      case "thinking":
        if (reasoningLeft && remaining - 1 >= 1 + this.answerMin) mask.set(t.textMask);
        setBit(mask, t.endThinkId!);
        return mask;
      case "answer":
        grammar.fillMask(this.stacks, remaining, mask);
        return mask;
      default:
        setBit(mask, t.eosId);
        return mask;
    }
  }

  accept(token: number): void {
    this.produced++;
    const t = this.t;
    const { grammar } = this.o;
    if (grammar === null) {
      if (this.phase === "free" && token === t.thinkId && !this.thinkSeen) {
        this.thinkSeen = true;
        this.phase = "thinking";
      } else if (this.phase === "thinking") {
        if (token === t.endThinkId) this.phase = "free";
        else this.thought++;
      }
      return;
    }
    switch (this.phase) {
      case "start":
        if (token === t.thinkId && this.o.thinking !== "forbidden") {
          this.phase = "thinking";
          return;
        }
        this.phase = "answer";
        this.acceptAnswer(grammar, token);
        return;
      case "thinking":
        if (token === t.endThinkId) this.phase = "answer";
        else this.thought++;
        return;
      case "answer":
        this.acceptAnswer(grammar, token);
        return;
      default:
        return;
    }
  }

  private acceptAnswer(grammar: Grammar, token: number): void {
    if (token === this.t.eosId) {
      this.phase = "done";
      return;
    }
    this.stacks = grammar.advanceToken(this.stacks, token);
  }

  isComplete(): boolean {
    return this.phase === "done" || (this.phase === "answer" && this.o.grammar!.isComplete(this.stacks));
  }

  /** Reasoning tokens accepted so far. */
  get reasoningTokens(): number {
    return this.thought;
  }
}

/** Fewest tokens a request with these options can produce (0 without a grammar). */
export function minimumTokens(options: DecodingConstraintOptions): number {
  if (options.grammar === null) return 0;
  return options.grammar.minTokens + (options.thinking === "required" ? 2 : 0);
}

function only(t: TokenTable, id: number): Uint32Array {
  const mask = new Uint32Array(t.words);
  setBit(mask, id);
  return mask;
}
