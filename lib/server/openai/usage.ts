/** `usage` of a response: prompt tokens counted once per prompt (not per choice), completion tokens summed. */
import type { GenerateResult } from "../../generation/types";

export interface OpenAIUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number };
}

/** `results` holds `choicesPerPrompt` consecutive results per prompt. */
export function usageOf(results: readonly GenerateResult[], choicesPerPrompt: number): OpenAIUsage {
  let prompt = 0;
  let cached = 0;
  let completion = 0;
  results.forEach((r, i) => {
    if (i % choicesPerPrompt === 0) {
      prompt += r.usage.promptTokens;
      cached += r.usage.cachedPromptTokens;
    }
    completion += r.usage.completionTokens;
  });
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}
