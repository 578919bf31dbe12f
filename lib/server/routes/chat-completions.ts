/** `POST /v1/chat/completions`: one response, or a stream of chunks over SSE. */
import { randomUUID } from "node:crypto";
import type { GenerateResult } from "../../generation/types";
import { ChoiceStream, runChoices } from "../choices";
import { recordFirstTokens, type ServerDeps, servedName } from "../deps";
import { readJsonObject } from "../http/body";
import { sendJson } from "../http/respond";
import { assistantMessage, chatFinishReason, DeltaMapper } from "../openai/assistant-output";
import { type ChatPlan, planChatCompletion } from "../openai/chat-request";
import { ChunkEnvelope } from "../openai/chunk-envelope";
import { chatLogprobs } from "../openai/logprobs";
import { toLibraryMessages } from "../openai/messages";
import { parseBody } from "../openai/parse-body";
import { seedFor } from "../openai/sampling";
import { chatCompletionBody } from "../openai/schemas";
import { usageOf } from "../openai/usage";
import type { RequestContext } from "../request-context";
import { type Route, withGenerationSlot } from "./generation-route";

interface Head {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

export const chatCompletions: Route = async (ctx, deps) => {
  const body = parseBody(chatCompletionBody, await readJsonObject(ctx.req, deps.options.maxBodyBytes));
  const model = servedName(deps, body.model);
  const plan = planChatCompletion(body, deps.options.maxChoices);
  const messages = await toLibraryMessages(body.messages, deps.options.media, ctx.signal);
  await withGenerationSlot(ctx, deps, plan.params, plan.sampling.n, async () => {
    const requests = Array.from({ length: plan.sampling.n }, (_, i) => ({
      ...plan.request,
      messages,
      ...seedFor(plan.sampling, i),
      signal: ctx.signal,
    }));
    const choices = await ChoiceStream.start(deps.model, requests);
    recordFirstTokens(deps, ctx, choices);
    const head: Head = { id: `chatcmpl-${randomUUID().replaceAll("-", "")}`, created: nowSeconds(), model };
    return plan.stream
      ? streamChat(ctx, deps, plan, choices, head)
      : completeChat(ctx, deps, plan, choices, head);
  });
};

async function completeChat(
  ctx: RequestContext,
  deps: ServerDeps,
  plan: ChatPlan,
  choices: ChoiceStream[],
  head: Head,
): Promise<GenerateResult[]> {
  const results = await runChoices(choices, () => {});
  if (ctx.signal.aborted) return results;
  sendJson(ctx.res, 200, {
    ...head,
    object: "chat.completion",
    choices: results.map((r, index) => ({
      index,
      message: assistantMessage(r, plan.parallelToolCalls),
      logprobs: logprobsOf(deps, plan, r),
      finish_reason: chatFinishReason(r),
    })),
    usage: usageOf(results, plan.sampling.n),
  });
  return results;
}

async function streamChat(
  ctx: RequestContext,
  deps: ServerDeps,
  plan: ChatPlan,
  choices: ChoiceStream[],
  head: Head,
): Promise<GenerateResult[]> {
  const sse = ctx.startStream();
  const envelope = new ChunkEnvelope({ ...head, object: "chat.completion.chunk" }, plan.includeUsage);
  const send = (choice: object) => sse.sendJson(envelope.withChoice(choice));
  const mappers = choices.map(() => new DeltaMapper(plan.parallelToolCalls));
  const lastDeltaAt = choices.map((c) => c.firstEventAt);
  for (const c of choices) {
    await send({
      index: c.index,
      delta: { role: "assistant", content: "" },
      logprobs: null,
      finish_reason: null,
    });
  }
  const results = await runChoices(choices, (choice, event) => {
    const delta = mappers[choice.index]!.delta(event);
    if (delta === undefined) return;
    const now = performance.now();
    deps.metrics.interTokenLatency.observe(Math.max(0, now - lastDeltaAt[choice.index]!) / 1000);
    lastDeltaAt[choice.index] = now;
    return send({ index: choice.index, delta, logprobs: null, finish_reason: null });
  });
  if (ctx.signal.aborted) return results;
  for (const [index, r] of results.entries()) {
    // Log-probabilities come with the last chunk of their choice: stream events do not say which tokens a
    // delta holds (a delta can hold back text that might still become a stop string).
    await send({ index, delta: {}, logprobs: logprobsOf(deps, plan, r), finish_reason: chatFinishReason(r) });
  }
  if (plan.includeUsage) {
    await sse.send({
      ...head,
      object: "chat.completion.chunk",
      choices: [],
      usage: usageOf(results, plan.sampling.n),
    });
  }
  await sse.end();
  return results;
}

function logprobsOf(deps: ServerDeps, plan: ChatPlan, result: GenerateResult) {
  return plan.logprobs && result.logprobs ? chatLogprobs(result.logprobs, deps.model.tokenizer) : null;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
