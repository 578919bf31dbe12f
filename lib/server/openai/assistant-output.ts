/**
 * What the model produced → the OpenAI assistant message and stream deltas: content, `reasoning_content`
 * (the text inside `[THINK]…[/THINK]`, as vLLM's Mistral reasoning parser returns it) and `tool_calls` with
 * the model's 9-character ids. This is the one place that decides which of the library's parsed tool calls
 * reach the client (all of them, or only the first when parallel_tool_calls is false).
 */
import type { GenerateResult } from "../../generation/types";
import type { OutputEvent } from "../../output/types";

export interface OpenAIToolCall {
  readonly id: string;
  readonly type: "function";
  readonly function: { readonly name: string; readonly arguments: string };
}

export interface OpenAIAssistantMessage {
  readonly role: "assistant";
  readonly content: string | null;
  readonly reasoning_content: string | null;
  readonly tool_calls?: readonly OpenAIToolCall[];
}

export type ChatFinishReason = "stop" | "length" | "tool_calls";

export interface ChatDelta {
  role?: "assistant";
  content?: string;
  reasoning_content?: string;
  tool_calls?: {
    index: number;
    id?: string;
    type?: "function";
    function: { name?: string; arguments: string };
  }[];
}

export function assistantMessage(result: GenerateResult, parallelToolCalls: boolean): OpenAIAssistantMessage {
  const calls = (parallelToolCalls ? result.toolCalls : result.toolCalls.slice(0, 1)).map(
    (c): OpenAIToolCall => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments },
    }),
  );
  return {
    role: "assistant",
    content: result.text === "" && calls.length > 0 ? null : result.text,
    reasoning_content: result.reasoning === "" ? null : result.reasoning,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
}

/** The OpenAI finish reason; "abort" never reaches a response (the request was cancelled or timed out). */
export function chatFinishReason(result: GenerateResult): ChatFinishReason {
  return result.finishReason === "abort" ? "stop" : result.finishReason;
}

/** One choice's stream events → deltas (undefined when an event adds nothing the client sees). */
export class DeltaMapper {
  constructor(private readonly parallelToolCalls: boolean) {}

  delta(event: OutputEvent): ChatDelta | undefined {
    switch (event.type) {
      case "text":
        return { content: event.delta };
      case "reasoning":
        return { reasoning_content: event.delta };
      case "tool_call_start":
        if (!this.keeps(event.index)) return undefined;
        return {
          tool_calls: [
            {
              index: event.index,
              id: event.id,
              type: "function",
              function: { name: event.name, arguments: "" },
            },
          ],
        };
      case "tool_call_delta":
        if (!this.keeps(event.index)) return undefined;
        return { tool_calls: [{ index: event.index, function: { arguments: event.argumentsDelta } }] };
      case "tool_call_end":
        return undefined;
      case "invalid_tool_call":
        // A call naming a tool the request did not declare never reaches the client as a tool call (OpenAI
        // clients would dispatch it); the result's finish reason is then "stop", not "tool_calls".
        return undefined;
    }
  }

  private keeps(index: number): boolean {
    return this.parallelToolCalls || index === 0;
  }
}
