/**
 * What chat and text completions share around the generation itself: a slot from admission (429 when the
 * queue is full), library errors turned into 400s with the endpoint's field names, an aborted request turned
 * into its error (504 timeout, 503 shutdown, nothing for a client that left), and token / duration metrics.
 */
import type { GenerateResult } from "../../generation/types";
import type { ServerDeps } from "../deps";
import { HttpError, type ParamNames, toHttpError } from "../errors";
import { ClientGoneError } from "../http/sse";
import { usageOf } from "../openai/usage";
import type { RequestContext } from "../request-context";

export type Route = (ctx: RequestContext, deps: ServerDeps) => Promise<void>;

export async function withGenerationSlot(
  ctx: RequestContext,
  deps: ServerDeps,
  params: ParamNames,
  choicesPerPrompt: number,
  generate: () => Promise<GenerateResult[]>,
): Promise<void> {
  const release = await deps.admission.acquire(ctx.signal);
  try {
    const results = await generate();
    if (ctx.signal.aborted) throw ctx.abortedError() ?? new ClientGoneError();
    const usage = usageOf(results, choicesPerPrompt);
    deps.metrics.promptTokens.inc({}, usage.prompt_tokens);
    deps.metrics.generationTokens.inc({}, usage.completion_tokens);
    deps.metrics.requestDuration.observe((performance.now() - ctx.startedAt) / 1000);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.abortedError() ?? new ClientGoneError();
    throw error instanceof HttpError || error instanceof ClientGoneError ? error : toHttpError(error, params);
  } finally {
    release();
  }
}
