/** Requests, results and stream events of generate / stream / evaluate (README.md#api). */

import type { ChatMessage, FunctionTool, ReasoningEffort } from "../chat/types";
import type { OutputEvent } from "../output/types";

/**
 * OpenAI's tool_choice. "auto": the model decides; "none": no tool call can be made; "required": exactly
 * one call to one of the tools, forced by a grammar; a named function (OpenAI shape, or `{ name }`): one
 * call to that tool.
 */
export type ToolChoice =
  | "auto"
  | "none"
  | "required"
  | { readonly type: "function"; readonly function: { readonly name: string } }
  | { readonly name: string };

/**
 * Structured output (docs/structured-output.md). json_schema takes the schema directly or in OpenAI's
 * `json_schema: { name, schema, strict }` wrapper; json_object yields some JSON object.
 */
export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | { readonly type: "json_schema"; readonly schema: unknown }
  | {
      readonly type: "json_schema";
      readonly json_schema: {
        readonly name?: string;
        readonly schema: unknown;
        readonly strict?: boolean | null;
      };
    };

export interface SamplingOptions {
  /** 0 = greedy. */
  readonly temperature?: number;
  readonly topP?: number;
  /** 0 = off. */
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
}

export interface GenerateRequest extends SamplingOptions {
  /** A chat, rendered with the model's chat template. Exactly one of messages / prompt / tokens. */
  readonly messages?: readonly ChatMessage[];
  /** Raw text, continued as a document (BOS is prepended). */
  readonly prompt?: string;
  /** Prompt token ids, used as they are. */
  readonly tokens?: ArrayLike<number>;
  readonly tools?: readonly FunctionTool[] | null;
  readonly toolChoice?: ToolChoice | null;
  readonly reasoningEffort?: ReasoningEffort | null;
  /** Constrains the answer to JSON (a schema, or any object); the output always parses and validates. */
  readonly responseFormat?: ResponseFormat | null;
  /**
   * Most tokens inside `[THINK]…[/THINK]`; when spent, `[/THINK]` is forced. Counts the reasoning text,
   * not the `[THINK]` / `[/THINK]` tokens themselves.
   */
  readonly maxReasoningTokens?: number | null;
  /** Most tokens to generate; defaults to the generator's default, capped by the room left in the context. */
  readonly maxTokens?: number;
  /** Generation stops before the first occurrence of any of these in the content text. */
  readonly stop?: string | readonly string[] | null;
  /** Return the log-probability of each generated token. */
  readonly logprobs?: boolean;
  /** Alternatives per token (0–20; needs logprobs: true). */
  readonly topLogprobs?: number;
  readonly signal?: AbortSignal;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "abort";

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens whose KV came from the prefix cache. */
  readonly cachedPromptTokens: number;
}

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments text the model wrote (normally JSON). */
  readonly arguments: string;
}

export interface TokenLogprobAlternative {
  readonly token: string;
  readonly id: number;
  readonly logprob: number;
}

export interface TokenLogprob extends TokenLogprobAlternative {
  readonly top: readonly TokenLogprobAlternative[];
}

export interface GenerateResult {
  readonly text: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  /** Every generated token id (EOS included when the model ended with it). */
  readonly tokens: readonly number[];
  /** Present when logprobs or topLogprobs was asked for: one entry per token of `tokens`. */
  readonly logprobs?: readonly TokenLogprob[];
}

export type StreamEvent = OutputEvent | { readonly type: "done"; readonly result: GenerateResult };

export interface EvaluateOptions {
  /** Logits of every position ([T × vocab], row-major) instead of only the last ([vocab]). */
  readonly allPositions?: boolean;
  /** RoPE position of the first token (default 0). */
  readonly startPosition?: number;
  readonly signal?: AbortSignal;
}
