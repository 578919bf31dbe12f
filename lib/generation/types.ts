/** Requests, results and stream events of generate / stream / evaluate (README.md#api). */

import type { ChatMessage, FunctionTool, ReasoningEffort } from "../chat/types";
import type { InvalidToolCall, OutputEvent } from "../output/types";

export type { InvalidToolCall, InvalidToolCallReason } from "../output/types";

/**
 * OpenAI's tool_choice. "auto": the model decides; "none": no tool call can be made (`[TOOL_CALLS]` is
 * masked out); "required": exactly one call to one of the tools, forced by a grammar; a named function
 * (OpenAI shape, or `{ name }`): one call to that tool. The default is "auto" when tools are declared and
 * "none" when none are, as in OpenAI's API.
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
    }
  /** The whole answer matches the pattern (an ECMAScript regex subset, docs/structured-output.md). */
  | { readonly type: "regex"; readonly pattern: string }
  /** The answer is exactly one of the strings. */
  | { readonly type: "choice"; readonly choices: readonly string[] };

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
  /**
   * Tools the model may call (messages only; rendered into the v15 prompt). Without tools no output is
   * parsed as a tool call; with them, a call naming an undeclared tool goes to `invalidToolCalls`.
   */
  readonly tools?: readonly FunctionTool[] | null;
  readonly toolChoice?: ToolChoice | null;
  readonly reasoningEffort?: ReasoningEffort | null;
  /**
   * Continue the final assistant message (messages only): it is rendered without `</s>` and the answer is
   * what the model writes after it (inside its reasoning when it ends in an open thinking part). Not with
   * responseFormat or a forced tool call, which shape a whole answer.
   */
  readonly continueFinalMessage?: boolean;
  /**
   * Constrains the answer: JSON (a schema, or any object; the output always parses and validates), a
   * regex the whole answer matches, or one of a list of strings.
   */
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
  /** Calls naming a declared tool (finishReason "tool_calls" when there is at least one). */
  readonly toolCalls: readonly ToolCall[];
  /** Calls the model wrote that are not valid (e.g. naming a tool that was not declared); never run them. */
  readonly invalidToolCalls: readonly InvalidToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  /** Every generated token id (EOS included when the model ended with it). */
  readonly tokens: readonly number[];
  /** Present when logprobs or topLogprobs was asked for: one entry per token of `tokens`. */
  readonly logprobs?: readonly TokenLogprob[];
}

export type StreamEvent = OutputEvent | { readonly type: "done"; readonly result: GenerateResult };

/** A chat to evaluate (evaluate() takes it in place of token ids): rendered as generate() renders messages. */
export interface EvaluateChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly FunctionTool[] | null;
  readonly reasoningEffort?: ReasoningEffort | null;
  readonly continueFinalMessage?: boolean;
}

export interface EvaluateOptions {
  /** Logits of every position ([T × vocab], row-major) instead of only the last ([vocab]). */
  readonly allPositions?: boolean;
  /** RoPE position of the first token (default 0). */
  readonly startPosition?: number;
  readonly signal?: AbortSignal;
}
