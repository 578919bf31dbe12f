/**
 * Checks of a GenerateRequest that do not need the prompt rendered (sampling values are checked by
 * validateSamplingParams). Every message names the field and what was expected.
 */

import {
  checkResponseFormat,
  checkToolChoice,
  checkTools,
  type ResolvedResponseFormat,
  type ResolvedToolChoice,
} from "../constrain/request";
import { InvalidArgumentError } from "../errors";
import type { GenerateRequest } from "./types";

/** Longest accepted list of stop strings. */
export const MAX_STOP_STRINGS = 64;

export interface CheckedRequest {
  readonly source: "messages" | "prompt" | "tokens";
  readonly maxTokens: number | undefined;
  readonly stop: readonly string[];
  readonly toolChoice: ResolvedToolChoice;
  readonly responseFormat: ResolvedResponseFormat;
  /** The tools' names and parameter schemas (schemas are compiled later). */
  readonly tools: { name: string; parameters: unknown }[];
  readonly maxReasoningTokens: number | undefined;
  readonly signal: AbortSignal | undefined;
}

export function checkGenerateRequest(req: GenerateRequest): CheckedRequest {
  if (req === null || typeof req !== "object" || Array.isArray(req))
    throw new InvalidArgumentError("request", "an object", req);
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
  }

  const responseFormat = checkResponseFormat(req.responseFormat);
  const toolChoice = checkToolChoice(req.toolChoice);
  const tools = checkTools(req.tools);
  if ((toolChoice.type === "required" || toolChoice.type === "function") && tools.length === 0) {
    throw new InvalidArgumentError(
      "toolChoice",
      `"auto" or "none" when no tools are given (a forced call needs tools)`,
      req.toolChoice,
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
    responseFormat,
    tools,
    maxReasoningTokens,
    signal: req.signal,
  };
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
