/** Streaming events and the final parse of generated tokens (`stream` / `generate`, README.md#api). */

export type OutputEvent =
  | { readonly type: "text"; readonly delta: string }
  | { readonly type: "reasoning"; readonly delta: string }
  | { readonly type: "tool_call_start"; readonly index: number; readonly id: string; readonly name: string }
  | { readonly type: "tool_call_delta"; readonly index: number; readonly argumentsDelta: string }
  | { readonly type: "tool_call_end"; readonly index: number }
  /** A whole call that is not valid, sent once it ends; `index` counts invalid calls. */
  | { readonly type: "invalid_tool_call"; readonly index: number; readonly call: InvalidToolCall };

export interface ParsedToolCall {
  readonly id: string;
  readonly name: string;
  /** The raw arguments text the model wrote (normally JSON; kept as is when it is not). */
  readonly arguments: string;
}

/** Why a call is invalid: "unknown_tool" = it names a tool the request did not declare. */
export type InvalidToolCallReason = "unknown_tool";

/** A call the model wrote that must not be run, with the reason and a sentence for people. */
export interface InvalidToolCall extends ParsedToolCall {
  readonly reason: InvalidToolCallReason;
  readonly message: string;
}

export interface ParsedOutput {
  readonly text: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ParsedToolCall[];
  readonly invalidToolCalls: readonly InvalidToolCall[];
}

/** Decoded output: a run of text, or one special token (by id). */
export type OutputPiece =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "special"; readonly id: number };
