/**
 * An OpenAI chat-completions body → the library's GenerateRequest plus what the server itself handles
 * (n, streaming, usage in the stream, parallel_tool_calls). Every library field is set explicitly from the
 * OpenAI field it comes from; fields this server cannot honour are refused here with a 400.
 */
import type { FunctionTool } from "../../chat/types";
import type { GenerateRequest, ResponseFormat, ToolChoice } from "../../generation/types";
import { badRequest, COMMON_PARAM_NAMES, type ParamNames } from "../errors";
import { commonSampling, refuseLogitBias, type Sampling } from "./sampling";
import type { ChatCompletionBody, OpenAITool } from "./schemas";

export interface ChatPlan {
  /** The request without its messages (they come from toLibraryMessages) and seed (see seedFor). */
  readonly request: Omit<GenerateRequest, "messages">;
  readonly sampling: Sampling;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** false: only the first tool call of each choice is returned. */
  readonly parallelToolCalls: boolean;
  readonly logprobs: boolean;
  /** How library argument names read in this request (for 400s). */
  readonly params: ParamNames;
}

/** Checks everything that needs no fetch, so a bad request is refused before any image is fetched. */
export function planChatCompletion(body: ChatCompletionBody, maxChoices: number): ChatPlan {
  refuseUnsupported(body);
  const sampling = commonSampling(body, maxChoices);
  if (body.top_logprobs != null && body.logprobs !== true)
    throw badRequest("top_logprobs needs logprobs: true", "top_logprobs");
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const request: Omit<GenerateRequest, "messages"> = {
    ...sampling.fields,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(body.tools != null ? { tools: body.tools.map(toLibraryTool) } : {}),
    ...(body.tool_choice != null ? { toolChoice: toLibraryToolChoice(body.tool_choice) } : {}),
    ...(body.response_format != null
      ? { responseFormat: toLibraryResponseFormat(body.response_format) }
      : {}),
    ...(body.reasoning_effort != null ? { reasoningEffort: reasoningEffort(body.reasoning_effort) } : {}),
    ...(body.logprobs === true ? { logprobs: true, topLogprobs: body.top_logprobs ?? 0 } : {}),
  };
  return {
    request,
    sampling,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    parallelToolCalls: body.parallel_tool_calls !== false,
    logprobs: body.logprobs === true,
    params: {
      ...COMMON_PARAM_NAMES,
      maxTokens: body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens",
    },
  };
}

function refuseUnsupported(body: ChatCompletionBody): void {
  refuseLogitBias(body.logit_bias);
  if (body.modalities?.some((m) => m !== "text"))
    throw badRequest(
      'This model produces text only; modalities must be ["text"]',
      "modalities",
      "unsupported_value",
    );
  for (const field of ["audio", "prediction", "web_search_options"] as const) {
    if (body[field] != null)
      throw badRequest(`${field} is not supported by this server`, field, "unsupported_parameter");
  }
  for (const field of ["functions", "function_call"] as const) {
    if (body[field] != null)
      throw badRequest(
        `${field} is deprecated and not supported; use tools and tool_choice`,
        field,
        "unsupported_parameter",
      );
  }
  if (body.stream_options != null && body.stream !== true)
    throw badRequest("stream_options is only allowed when stream is true", "stream_options");
}

export function toLibraryTool(tool: OpenAITool): FunctionTool {
  const fn = tool.function;
  return {
    type: "function",
    function: {
      name: fn.name,
      ...(fn.description != null ? { description: fn.description } : {}),
      ...(fn.parameters != null ? { parameters: fn.parameters } : {}),
      ...(fn.strict != null ? { strict: fn.strict } : {}),
    },
  };
}

function toLibraryToolChoice(choice: NonNullable<ChatCompletionBody["tool_choice"]>): ToolChoice {
  if (typeof choice === "string") return choice;
  return { type: "function", function: { name: choice.function.name } };
}

function toLibraryResponseFormat(format: NonNullable<ChatCompletionBody["response_format"]>): ResponseFormat {
  if (format.type !== "json_schema") return { type: format.type };
  const { name, schema, strict } = format.json_schema;
  return {
    type: "json_schema",
    json_schema: { name, schema: schema ?? {}, ...(strict != null ? { strict } : {}) },
  };
}

/** Mistral Small 4 has two reasoning modes; other OpenAI efforts cannot be honoured. */
export function reasoningEffort(effort: string): "none" | "high" {
  if (effort === "none" || effort === "high") return effort;
  throw badRequest(
    `Expected "none" or "high" (the reasoning efforts this model has) for reasoning_effort but received ${JSON.stringify(effort)}`,
    "reasoning_effort",
    "unsupported_value",
  );
}
