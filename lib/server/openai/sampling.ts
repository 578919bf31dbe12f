/** Sampling and stopping fields common to chat and text completions, mapped to the library's names. */
import type { SamplingOptions } from "../../generation/types";
import { badRequest } from "../errors";
import type { ChatCompletionBody, CompletionBody } from "./schemas";

export interface Sampling {
  /** Library fields for every choice (the seed is set per choice, see seedFor). */
  readonly fields: Omit<SamplingOptions, "seed"> & { readonly stop?: string | string[] };
  /** Choices per prompt. */
  readonly n: number;
  readonly seed: number | undefined;
}

export function commonSampling(body: ChatCompletionBody | CompletionBody, maxChoices: number): Sampling {
  const n = body.n ?? 1;
  if (n < 1 || n > maxChoices)
    throw badRequest(`Expected an integer from 1 to ${maxChoices} for n but received ${n}`, "n");
  const fields: Sampling["fields"] = {
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { topP: body.top_p } : {}),
    ...(body.top_k != null ? { topK: body.top_k } : {}),
    ...(body.min_p != null ? { minP: body.min_p } : {}),
    ...(body.repetition_penalty != null ? { repetitionPenalty: body.repetition_penalty } : {}),
    ...(body.presence_penalty != null ? { presencePenalty: body.presence_penalty } : {}),
    ...(body.frequency_penalty != null ? { frequencyPenalty: body.frequency_penalty } : {}),
    ...(body.stop != null ? { stop: body.stop } : {}),
  };
  return { fields, n, seed: body.seed ?? undefined };
}

/**
 * The seed of choice `i`: with a request seed, seed + i (so n choices differ yet the request repeats);
 * without one, the library draws a random seed per choice.
 */
export function seedFor(sampling: Sampling, i: number): { seed?: number } {
  return sampling.seed === undefined ? {} : { seed: sampling.seed + i };
}

export function refuseLogitBias(bias: Record<string, number> | null | undefined): void {
  if (bias != null && Object.keys(bias).length > 0)
    throw badRequest("logit_bias is not supported by this server", "logit_bias", "unsupported_parameter");
}
