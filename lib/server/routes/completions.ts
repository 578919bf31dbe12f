/** `POST /v1/completions`: text continued from raw text or token ids, whole or streamed over SSE. */
import { randomUUID } from "node:crypto";
import type { GenerateRequest, GenerateResult } from "../../generation/types";
import type { OutputEvent } from "../../output/types";
import { ChoiceStream, runChoices } from "../choices";
import { recordFirstTokens, type ServerDeps, servedName } from "../deps";
import { readJsonObject } from "../http/body";
import { sendJson } from "../http/respond";
import { ChunkEnvelope } from "../openai/chunk-envelope";
import { type CompletionPlan, type CompletionPrompt, planCompletion } from "../openai/completion-request";
import { completionLogprobs } from "../openai/logprobs";
import { parseBody } from "../openai/parse-body";
import { seedFor } from "../openai/sampling";
import { completionBody } from "../openai/schemas";
import { usageOf } from "../openai/usage";
import type { RequestContext } from "../request-context";
import { type Route, withGenerationSlot } from "./generation-route";

interface Head {
  readonly id: string;
  readonly object: "text_completion";
  readonly created: number;
  readonly model: string;
}

export const completions: Route = async (ctx, deps) => {
  const body = parseBody(completionBody, await readJsonObject(ctx.req, deps.options.maxBodyBytes));
  const model = servedName(deps, body.model);
  const plan = planCompletion(body, deps.options.maxChoices);
  await withGenerationSlot(ctx, deps, plan.params, plan.sampling.n, async () => {
    const requests: GenerateRequest[] = plan.prompts.flatMap((prompt) =>
      Array.from({ length: plan.sampling.n }, (_, i) => ({
        ...plan.request,
        ...prompt,
        ...seedFor(plan.sampling, i),
        signal: ctx.signal,
      })),
    );
    const choices = await ChoiceStream.start(deps.model, requests);
    recordFirstTokens(deps, ctx, choices);
    const head: Head = {
      id: `cmpl-${randomUUID().replaceAll("-", "")}`,
      object: "text_completion",
      created: Math.floor(Date.now() / 1000),
      model,
    };
    const echoes = choices.map((c) =>
      plan.echo ? promptText(deps, plan.prompts[Math.floor(c.index / plan.sampling.n)]!) : "",
    );
    return plan.stream
      ? streamCompletion(ctx, deps, plan, choices, head, echoes)
      : complete(ctx, deps, plan, choices, head, echoes);
  });
};

/** A completion's text: everything the model wrote, in order (reasoning and tool-call text included, specials not). */
function eventText(event: OutputEvent): string {
  switch (event.type) {
    case "text":
    case "reasoning":
      return event.delta;
    case "tool_call_start":
      return event.name;
    case "tool_call_delta":
      return event.argumentsDelta;
    case "tool_call_end":
    case "invalid_tool_call":
      return "";
  }
}

async function complete(
  ctx: RequestContext,
  deps: ServerDeps,
  plan: CompletionPlan,
  choices: ChoiceStream[],
  head: Head,
  echoes: string[],
): Promise<GenerateResult[]> {
  const texts = choices.map((_, i) => echoes[i]!);
  const results = await runChoices(choices, (choice, event) => {
    texts[choice.index] += eventText(event);
  });
  if (ctx.signal.aborted) return results;
  sendJson(ctx.res, 200, {
    ...head,
    choices: results.map((r, index) => ({
      index,
      text: texts[index],
      logprobs: logprobsOf(deps, plan, r, echoes[index]!.length),
      finish_reason: finishReason(r),
    })),
    usage: usageOf(results, plan.sampling.n),
  });
  return results;
}

async function streamCompletion(
  ctx: RequestContext,
  deps: ServerDeps,
  plan: CompletionPlan,
  choices: ChoiceStream[],
  head: Head,
  echoes: string[],
): Promise<GenerateResult[]> {
  const sse = ctx.startStream();
  const envelope = new ChunkEnvelope({ ...head }, plan.includeUsage);
  const send = (index: number, text: string, logprobs: unknown, finish_reason: string | null) =>
    sse.sendJson(envelope.withChoice({ index, text, logprobs, finish_reason }));
  const lastAt = choices.map((c) => c.firstEventAt);
  for (const c of choices) {
    if (echoes[c.index] !== "") await send(c.index, echoes[c.index]!, null, null);
  }
  const results = await runChoices(choices, (choice, event) => {
    const text = eventText(event);
    if (text === "") return;
    const now = performance.now();
    deps.metrics.interTokenLatency.observe(Math.max(0, now - lastAt[choice.index]!) / 1000);
    lastAt[choice.index] = now;
    return send(choice.index, text, null, null);
  });
  if (ctx.signal.aborted) return results;
  for (const [index, r] of results.entries()) {
    await send(index, "", logprobsOf(deps, plan, r, echoes[index]!.length), finishReason(r));
  }
  if (plan.includeUsage) await sse.send({ ...head, choices: [], usage: usageOf(results, plan.sampling.n) });
  await sse.end();
  return results;
}

function promptText(deps: ServerDeps, prompt: CompletionPrompt): string {
  return "prompt" in prompt ? prompt.prompt : deps.model.tokenizer.decode(prompt.tokens);
}

function finishReason(result: GenerateResult): "stop" | "length" {
  return result.finishReason === "length" ? "length" : "stop";
}

function logprobsOf(deps: ServerDeps, plan: CompletionPlan, result: GenerateResult, offset: number) {
  return plan.logprobs && result.logprobs
    ? completionLogprobs(result.logprobs, deps.model.tokenizer, offset)
    : null;
}
