/**
 * Errors in the OpenAI wire shape (`{ error: { message, type, param, code } }`) with their HTTP status, and
 * the one place that decides which status a library error becomes: bad input (InvalidArgumentError,
 * ChatFormatError) is a 400 naming the OpenAI field, a disposed model is a 503, anything else is a 500.
 */
import { InvalidArgumentError, Ms4Error } from "../errors";

export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "timeout_error";

export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: OpenAIErrorType;
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** An error the handler answers with `status` and an OpenAI error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HttpError";
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function badRequest(message: string, param: string | null = null, code = "invalid_value"): HttpError {
  return new HttpError(400, "invalid_request_error", message, param, code);
}

/**
 * How the library's argument names read in one OpenAI request: `topP` is `top_p`, `maxTokens` is whichever
 * of max_tokens / max_completion_tokens the client sent, `tokens` is the completions `prompt`, and so on.
 */
export type ParamNames = Readonly<Record<string, string>>;

/** Library GenerateRequest fields → OpenAI body fields, the same for every endpoint. */
export const COMMON_PARAM_NAMES: ParamNames = {
  topP: "top_p",
  topK: "top_k",
  minP: "min_p",
  repetitionPenalty: "repetition_penalty",
  presencePenalty: "presence_penalty",
  frequencyPenalty: "frequency_penalty",
  topLogprobs: "top_logprobs",
  maxTokens: "max_tokens",
  toolChoice: "tool_choice",
  responseFormat: "response_format",
  reasoningEffort: "reasoning_effort",
  tokens: "prompt",
};

/**
 * The OpenAI name of a library argument path: its first segment through `names` ("toolChoice.function.name"
 * → "tool_choice.function.name"); the chat parser's "request." prefix is dropped ("request.messages[0].content"
 * → "messages[0].content").
 */
export function openAIParam(argument: string, names: ParamNames = COMMON_PARAM_NAMES): string {
  const path = argument.startsWith("request.") ? argument.slice("request.".length) : argument;
  const match = /^[A-Za-z_]+/.exec(path);
  if (match === null) return path;
  const head = match[0];
  const mapped = names[head] ?? COMMON_PARAM_NAMES[head] ?? head;
  return mapped + path.slice(head.length);
}

/**
 * The HTTP error for anything a request handler threw. Library errors about the request are 400s whose
 * `param` and message use the OpenAI field names.
 */
export function toHttpError(error: unknown, names: ParamNames = COMMON_PARAM_NAMES): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof InvalidArgumentError) {
    const param = openAIParam(error.argument, names);
    const message = error.message.replace(` for ${error.argument} but `, ` for ${param} but `);
    return badRequest(message, param, "invalid_value");
  }
  if (error instanceof Ms4Error) {
    if (isRequestErrorCode(error.code)) {
      const param = /\bmessages\[\d+\]/.exec(error.message)?.[0] ?? null;
      return badRequest(
        error.message,
        param,
        error.code === "ERR_CHAT_FORMAT" ? "invalid_messages" : "invalid_value",
      );
    }
    if (error.code === "ERR_DISPOSED")
      return new HttpError(503, "server_error", "The model is shutting down", null, "shutting_down");
  }
  return new HttpError(
    500,
    "server_error",
    "The server failed while handling the request",
    null,
    "internal_error",
  );
}

/**
 * Library error codes that describe a request the model cannot take (400), as opposed to a failure of the
 * server. Codes the library adds for unsupported request content (such as an image before vision is built)
 * belong here.
 */
function isRequestErrorCode(code: string): boolean {
  return code === "ERR_INVALID_ARGUMENT" || code === "ERR_CHAT_FORMAT" || code.startsWith("ERR_UNSUPPORTED");
}
