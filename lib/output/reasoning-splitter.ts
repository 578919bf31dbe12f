/**
 * Splits output into reasoning and content at `[THINK]…[/THINK]`, with the semantics of vLLM's
 * `MistralReasoningParser` (`vllm/reasoning/mistral_reasoning_parser.py`):
 * - reasoning is what lies between the first `[THINK]` and the first `[/THINK]` after it;
 * - content is everything before that `[THINK]` and after that `[/THINK]`;
 * - a `[THINK]` never closed makes the rest reasoning; output without `[THINK]` is all content;
 * - other `[THINK]`/`[/THINK]` tokens (a stray `[/THINK]`, a second `[THINK]`) are dropped.
 * Special tokens inside reasoning are dropped too, so tool calls "made" while thinking are not calls.
 */

import type { OutputPiece } from "./types";

export type RoutedPiece =
  | { readonly channel: "reasoning"; readonly text: string }
  | { readonly channel: "content"; readonly piece: OutputPiece };

export interface ThinkTokenIds {
  readonly think: number | undefined;
  readonly endThink: number | undefined;
}

export class ReasoningSplitter {
  private state: "before" | "thinking" | "after";

  /** `startInReasoning`: the output continues a `[THINK]` block the prompt opened (its first `[/THINK]` ends it). */
  constructor(
    private readonly ids: ThinkTokenIds,
    startInReasoning = false,
  ) {
    this.state = startInReasoning ? "thinking" : "before";
  }

  /** True between `[THINK]` and its `[/THINK]`. */
  get inReasoning(): boolean {
    return this.state === "thinking";
  }

  /** Routes one piece; undefined when the piece is dropped. */
  push(piece: OutputPiece): RoutedPiece | undefined {
    if (piece.kind === "special") {
      if (piece.id === this.ids.think) {
        if (this.state === "before") this.state = "thinking";
        return undefined;
      }
      if (piece.id === this.ids.endThink) {
        if (this.state === "thinking") this.state = "after";
        return undefined;
      }
      return this.state === "thinking" ? undefined : { channel: "content", piece };
    }
    return this.state === "thinking"
      ? { channel: "reasoning", text: piece.text }
      : { channel: "content", piece };
  }
}
