/**
 * Checks of a GenerateRequest that do not need the prompt rendered (sampling values are checked by
 * validateSamplingParams). Every message names the field and what was expected.
 */

import { checkToolDefinitionKeys } from "../chat/known-fields";
import {
  checkResponseFormat,
  checkToolChoice,
  checkTools,
  type ResolvedResponseFormat,
  type ResolvedToolChoice,
} from "../constrain/request";
import { InvalidArgumentError } from "../errors";
import { checkKnownKeys } from "../options/known-keys";
import type { EvaluateOptions, GenerateRequest } from "./types";

/** Longest accepted list of stop strings. */
export const MAX_STOP_STRINGS = 64;

/** Every field a generate / stream request may have (the compiler keeps this list equal to GenerateRequest). */
export const GENERATE_REQUEST_KEYS: readonly string[] = Object.keys({
  messages: true,
  prompt: true,
  tokens: true,
  tools: true,
  toolChoice: true,
  reasoningEffort: true,
  continueFinalMessage: true,
  responseFormat: true,
  maxReasoningTokens: true,
  maxTokens: true,
  stop: true,
  logprobs: true,
  topLogprobs: true,
  signal: true,
  temperature: true,
  topP: true,
  topK: true,
  minP: true,
  repetitionPenalty: true,
  presencePenalty: true,
  frequencyPenalty: true,
  seed: true,
} satisfies Record<keyof GenerateRequest, true>);

/** Every field of evaluate()'s options. */
export const EVALUATE_OPTION_KEYS: readonly string[] = Object.keys({
  allPositions: true,
  startPosition: true,
  signal: true,
} satisfies Record<keyof EvaluateOptions, true>);

export interface CheckedRequest {
  readonly source: "messages" | "prompt" | "tokens";
  readonly maxTokens: number | undefined;
  readonly stop: readonly string[];
  /** The effective choice: "none" whenever no tools are declared. */
  readonly toolChoice: ResolvedToolChoice;
  /**
   * Mask `[TOOL_CALLS]` out: toolChoice "none" for a chat, or asked for explicitly. A raw prompt or token
   * request without tools is continued as the model writes it (its `[TOOL_CALLS]` is not parsed).
   */
  readonly forbidToolCalls: boolean;
  /** The request continues its final assistant message (continueFinalMessage, or that message's prefix). */
  readonly continuesMessage: boolean;
  readonly responseFormat: ResolvedResponseFormat;
  /** The tools' names and parameter schemas (schemas are compiled later). */
  readonly tools: { name: string; parameters: unknown }[];
  readonly maxReasoningTokens: number | undefined;
  readonly signal: AbortSignal | undefined;
}

export function checkGenerateRequest(req: GenerateRequest): CheckedRequest {
  if (req === null || typeof req !== "object" || Array.isArray(req))
    throw new InvalidArgumentError("request", "an object", req);
  checkKnownKeys(req, GENERATE_REQUEST_KEYS);
  checkNestedKeys(req);
  const given = (["messages", "prompt", "tokens"] as const).filter(
    (k) => req[k] !== undefined && req[k] !== null,
  );
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      given.length === 0 ? "messages" : given.join(" and "),
      "exactly one of messages, prompt or tokens",
      given.length === 0 ? undefined : `${given.join(" and ")} together`,
    );
  }
  const source = given[0]!;
  if (source === "messages" && !Array.isArray(req.messages))
    throw new InvalidArgumentError("messages", "an array of chat messages", req.messages);
  if (source === "prompt" && typeof req.prompt !== "string")
    throw new InvalidArgumentError("prompt", "a string", req.prompt);
  if (source === "tokens" && !isArrayLike(req.tokens))
    throw new InvalidArgumentError("tokens", "an array of token ids", req.tokens);
  if (source !== "messages") {
    if (req.tools !== undefined && req.tools !== null)
      throw new InvalidArgumentError("tools", "no tools unless the request uses messages", req.tools);
    if (req.reasoningEffort !== undefined && req.reasoningEffort !== null) {
      throw new InvalidArgumentError(
        "reasoningEffort",
        "no reasoningEffort unless the request uses messages",
        req.reasoningEffort,
      );
    }
    if (req.continueFinalMessage !== undefined)
      throw new InvalidArgumentError(
        "continueFinalMessage",
        "no continueFinalMessage unless the request uses messages",
        req.continueFinalMessage,
      );
  }
  if (req.continueFinalMessage !== undefined && typeof req.continueFinalMessage !== "boolean")
    throw new InvalidArgumentError("continueFinalMessage", "a boolean", req.continueFinalMessage);

  const responseFormat = checkResponseFormat(req.responseFormat);
  const askedToolChoice = checkToolChoice(req.toolChoice);
  const tools = checkTools(req.tools);
  const forced = askedToolChoice.type === "required" || askedToolChoice.type === "function";
  if (forced && tools.length === 0) {
    throw new InvalidArgumentError(
      "toolChoice",
      `"auto" or "none" when no tools are given (a forced call needs tools)`,
      req.toolChoice,
    );
  }
  // OpenAI's default: "auto" with tools, "none" without (a call could only name a tool that does not exist).
  const toolChoice: ResolvedToolChoice = tools.length === 0 ? { type: "none" } : askedToolChoice;
  const forbidToolCalls =
    toolChoice.type === "none" && (source === "messages" || askedToolChoice.type === "none");
  const continuesMessage = source === "messages" && continuesFinalMessage(req);
  if (continuesMessage && (responseFormat.type !== "text" || forced)) {
    throw new InvalidArgumentError(
      "continueFinalMessage",
      "no responseFormat or forced tool call with a continued message (they shape a whole answer, which the continued message has already begun)",
      true,
    );
  }
  const maxReasoningTokens = req.maxReasoningTokens ?? undefined;
  if (
    maxReasoningTokens !== undefined &&
    !(Number.isSafeInteger(maxReasoningTokens) && maxReasoningTokens >= 0)
  )
    throw new InvalidArgumentError("maxReasoningTokens", "a non-negative integer", maxReasoningTokens);

  if (req.maxTokens !== undefined && !(Number.isSafeInteger(req.maxTokens) && req.maxTokens >= 1))
    throw new InvalidArgumentError("maxTokens", "a positive integer", req.maxTokens);

  const stop =
    req.stop === undefined || req.stop === null ? [] : typeof req.stop === "string" ? [req.stop] : req.stop;
  if (!Array.isArray(stop) || stop.length > MAX_STOP_STRINGS)
    throw new InvalidArgumentError(
      "stop",
      `a string or an array of at most ${MAX_STOP_STRINGS} strings`,
      req.stop,
    );
  stop.forEach((s: unknown, i) => {
    if (typeof s !== "string" || s.length === 0)
      throw new InvalidArgumentError(
        typeof req.stop === "string" ? "stop" : `stop[${i}]`,
        "a non-empty string",
        s,
      );
  });

  if (req.signal !== undefined && !(req.signal instanceof AbortSignal))
    throw new InvalidArgumentError("signal", "an AbortSignal", req.signal);

  return {
    source,
    maxTokens: req.maxTokens,
    stop: [...stop],
    toolChoice,
    forbidToolCalls,
    continuesMessage,
    responseFormat,
    tools,
    maxReasoningTokens,
    signal: req.signal,
  };
}

/** Checks the keys of evaluate()'s options (values are checked by the evaluator). */
export function checkEvaluateOptionKeys(options: object): void {
  checkKnownKeys(options, EVALUATE_OPTION_KEYS, { path: "options" });
}

/** Unknown keys in responseFormat, toolChoice and tool definitions (their values are checked later). */
function checkNestedKeys(req: GenerateRequest): void {
  const rf: unknown = req.responseFormat;
  if (isRecord(rf)) {
    if (rf["type"] === "json_schema") {
      checkKnownKeys(rf, ["type", "schema", "json_schema"], { path: "responseFormat" });
      if (rf["schema"] !== undefined && rf["json_schema"] !== undefined)
        throw new InvalidArgumentError("responseFormat", "schema or json_schema, not both", rf);
      if (isRecord(rf["json_schema"]))
        checkKnownKeys(rf["json_schema"], ["name", "description", "schema", "strict"], {
          path: "responseFormat.json_schema",
        });
    } else if (rf["type"] === "regex") checkKnownKeys(rf, ["type", "pattern"], { path: "responseFormat" });
    else if (rf["type"] === "choice") checkKnownKeys(rf, ["type", "choices"], { path: "responseFormat" });
    else checkKnownKeys(rf, ["type"], { path: "responseFormat" });
  }
  const choice: unknown = req.toolChoice;
  if (isRecord(choice)) {
    checkKnownKeys(choice, ["type", "function", "name"], { path: "toolChoice" });
    if (isRecord(choice["function"]))
      checkKnownKeys(choice["function"], ["name"], { path: "toolChoice.function" });
  }
  checkToolDefinitionKeys(req.tools, "tools");
}

/** continueFinalMessage, or Mistral's `prefix: true` on the final message. */
function continuesFinalMessage(req: GenerateRequest): boolean {
  if (req.continueFinalMessage === true) return true;
  const last: unknown = Array.isArray(req.messages) ? req.messages[req.messages.length - 1] : undefined;
  return isRecord(last) && last["role"] === "assistant" && last["prefix"] === true;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Checks prompt token ids: a non-empty array of integers in [0, vocabSize). */
export function checkTokenIds(argument: string, ids: ArrayLike<number>, vocabSize: number): number[] {
  if (!isArrayLike(ids)) throw new InvalidArgumentError(argument, "an array of token ids", ids);
  if (ids.length === 0) throw new InvalidArgumentError(argument, "at least one token id", ids);
  const out = Array.from(ids);
  out.forEach((id, i) => {
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new InvalidArgumentError(`${argument}[${i}]`, `a token id in [0, ${vocabSize})`, id);
  });
  return out;
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}
