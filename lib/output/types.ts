/** Streaming events and the final result of parsing generated tokens (`Model.stream` / `Model.generate`). */

export type OutputEvent =
  | { readonly type: "text"; readonly delta: string }
  | { readonly type: "reasoning"; readonly delta: string }
  | { readonly type: "tool_call_start"; readonly index: number; readonly id: string; readonly name: string }
  | { readonly type: "tool_call_delta"; readonly index: number; readonly argumentsDelta: string }
  | { readonly type: "tool_call_end"; readonly index: number };

export interface ParsedToolCall {
  readonly id: string;
  readonly name: string;
  /** The raw arguments text the model wrote (normally JSON; kept as is when it is not). */
  readonly arguments: string;
}

export interface ParsedOutput {
  readonly text: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ParsedToolCall[];
}

/** Decoded output: a run of text, or one special token (by id). */
export type OutputPiece =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "special"; readonly id: number };
