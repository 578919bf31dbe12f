/**
 * The fields a chat request's messages, content parts, tool calls and tool definitions may carry: the
 * OpenAI chat-completions fields, plus Mistral's (`prefix`) and the reasoning fields vLLM and SGLang use.
 * Anything else is an InvalidArgumentError naming the field (lib/options/known-keys.ts).
 */
import { checkKnownKeys } from "../options/known-keys";

/** Per role. `name` is OpenAI's participant name: accepted, and (as in mistral-common) not rendered. */
export const MESSAGE_FIELDS = {
  system: ["role", "content", "name"],
  user: ["role", "content", "name"],
  // refusal / annotations / audio / function_call: what an OpenAI response message carries, so a reply can be
  // sent back as it came (parse-request.ts accepts them empty only).
  assistant: [
    "role",
    "content",
    "name",
    "tool_calls",
    "reasoning",
    "reasoning_content",
    "prefix",
    "refusal",
    "annotations",
    "audio",
    "function_call",
  ],
  tool: ["role", "content", "tool_call_id", "name"],
} as const;

/** Per content-part type. */
export const PART_FIELDS = {
  text: ["type", "text"],
  image_url: ["type", "image_url"],
  image: ["type", "image", "path", "width", "height"],
  thinking: ["type", "thinking", "closed"],
} as const;

export const IMAGE_URL_FIELDS = ["url", "detail"] as const;
export const TOOL_CALL_FIELDS = ["id", "type", "function"] as const;
export const TOOL_CALL_FUNCTION_FIELDS = ["name", "arguments"] as const;
export const TOOL_FIELDS = ["type", "function"] as const;
export const TOOL_FUNCTION_FIELDS = ["name", "description", "parameters", "strict"] as const;

/** Checks the keys of each tool definition and of its `function` (shapes are checked elsewhere). */
export function checkToolDefinitionKeys(tools: unknown, path: string): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: unknown, i) => {
    if (!isRecord(tool)) return;
    checkKnownKeys(tool, TOOL_FIELDS, { path: `${path}[${i}]`, noun: "field" });
    if (isRecord(tool["function"]))
      checkKnownKeys(tool["function"], TOOL_FUNCTION_FIELDS, {
        path: `${path}[${i}].function`,
        noun: "field",
      });
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
