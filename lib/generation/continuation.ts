/**
 * What a continued assistant message (continueFinalMessage, or a final message with `prefix`) ends in, read
 * from the rendered prompt: its content text, an open `[THINK]` block, or a tool call's arguments. The final
 * message begins after the last token that closes another part of the prompt (`[/INST]`, `[/TOOL_RESULTS]`,
 * `[/SYSTEM_PROMPT]`, `</s>` …); inside it, specials only come from thinking parts and tool calls, since text
 * is encoded without special tokens (lib/chat/v15-encoder.ts). So the last of those specials decides.
 */

import type { Tokenizer } from "../tokenizer/types";

export type ContinuedPart = "content" | "reasoning" | "tool_call";

const MESSAGE_BOUNDARIES = [
  "</s>",
  "[/INST]",
  "[/TOOL_RESULTS]",
  "[/SYSTEM_PROMPT]",
  "[/AVAILABLE_TOOLS]",
  "[/MODEL_SETTINGS]",
];

export function continuedPart(prompt: readonly number[], tokenizer: Tokenizer): ContinuedPart {
  const think = tokenizer.findSpecialId("[THINK]");
  const endThink = tokenizer.findSpecialId("[/THINK]");
  const toolCallMarks = new Set(
    ["[TOOL_CALLS]", "[ARGS]"].map((s) => tokenizer.findSpecialId(s)).filter((id) => id !== undefined),
  );
  const boundaries = new Set(
    MESSAGE_BOUNDARIES.map((s) => tokenizer.findSpecialId(s)).filter((id) => id !== undefined),
  );
  for (let i = prompt.length - 1; i >= 0; i--) {
    const id = prompt[i]!;
    if (id === think) return "reasoning";
    if (toolCallMarks.has(id)) return "tool_call";
    if (id === endThink || boundaries.has(id)) return "content";
  }
  return "content";
}
