/**
 * An OpenAI (legacy) completions body → one GenerateRequest per prompt: raw text (BOS first, as the library's
 * `prompt` does) or token ids, continued as a document. `logprobs: k` asks for k alternatives per token.
 */
import type { GenerateRequest } from "../../generation/types";
import { badRequest, COMMON_PARAM_NAMES, type ParamNames } from "../errors";
import { commonSampling, refuseLogitBias, type Sampling } from "./sampling";
import type { CompletionBody } from "./schemas";

/** max_tokens when the request has none (the OpenAI default for completions). */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

export type CompletionPrompt = { readonly prompt: string } | { readonly tokens: readonly number[] };

export interface CompletionPlan {
  readonly prompts: readonly CompletionPrompt[];
  /** Everything but the prompt and the seed. */
  readonly request: Omit<GenerateRequest, "messages" | "prompt" | "tokens">;
  readonly sampling: Sampling;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly echo: boolean;
  readonly logprobs: boolean;
  readonly params: ParamNames;
}

export function planCompletion(body: CompletionBody, maxChoices: number): CompletionPlan {
  refuseLogitBias(body.logit_bias);
  if (body.suffix != null && body.suffix !== "")
    throw badRequest("suffix is not supported by this server", "suffix", "unsupported_parameter");
  const sampling = commonSampling(body, maxChoices);
  if (body.best_of != null && body.best_of !== sampling.n)
    throw badRequest(
      "best_of is not supported by this server (it must equal n when given)",
      "best_of",
      "unsupported_parameter",
    );
  if (body.stream_options != null && body.stream !== true)
    throw badRequest("stream_options is only allowed when stream is true", "stream_options");
  const echo = body.echo === true;
  const topLogprobs = body.logprobs ?? undefined;
  if (echo && topLogprobs !== undefined)
    throw badRequest(
      "echo with logprobs is not supported (prompt log-probabilities are not computed)",
      "echo",
      "unsupported_parameter",
    );
  const prompts = toPrompts(body.prompt);
  if (prompts.length === 0)
    throw badRequest("Expected at least one prompt for prompt but received an empty array", "prompt");
  if (prompts.length * sampling.n > maxChoices) {
    throw badRequest(
      `${prompts.length} prompts × n = ${sampling.n} is more than the server's limit of ${maxChoices} choices per request`,
      "n",
    );
  }
  return {
    prompts,
    request: {
      ...sampling.fields,
      maxTokens: body.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS,
      ...(topLogprobs !== undefined ? { logprobs: true, topLogprobs } : {}),
    },
    sampling,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    echo,
    logprobs: topLogprobs !== undefined,
    params: { ...COMMON_PARAM_NAMES, topLogprobs: "logprobs", tokens: "prompt" },
  };
}

function toPrompts(prompt: CompletionBody["prompt"]): CompletionPrompt[] {
  if (typeof prompt === "string") return [{ prompt }];
  if (prompt.length === 0) return [];
  if (prompt.every((p) => typeof p === "string")) return (prompt as string[]).map((p) => ({ prompt: p }));
  if (prompt.every((p) => typeof p === "number")) return [{ tokens: prompt as number[] }];
  return (prompt as number[][]).map((tokens) => ({ tokens }));
}
