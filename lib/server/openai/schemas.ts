/**
 * The request bodies the server reads, as zod schemas: what each field may hold and, through `z.infer`, the
 * types the handlers work with. Only types are checked here; values (ranges, names, JSON schemas) are checked
 * by the library, whose errors are mapped back to these field names (errors.ts). Keys not listed are dropped,
 * so unknown fields are ignored as the OpenAI API ignores them; fields listed under "cannot be honoured" are
 * read only to refuse them (chat-request.ts).
 *
 * zod/mini is used because it is tree-shaken into the build (about 20 KB), so it costs users of the package
 * no dependency.
 */
import * as z from "zod/mini";

const nullableNumber = z.nullish(z.number());
const nullableInt = z.nullish(z.int());
const nullableBoolean = z.nullish(z.boolean());
const nullableString = z.nullish(z.string());
const jsonObject = z.record(z.string(), z.unknown());

const stop = z.nullish(
  z.union([z.string(), z.array(z.string())], { error: "a string or an array of strings" }),
);

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const imageUrlPart = z.object({
  type: z.literal("image_url"),
  image_url: z.union([z.string(), z.object({ url: z.string(), detail: nullableString })], {
    error: "a URL string or { url }",
  }),
});
const thinkingPart = z.object({ type: z.literal("thinking"), thinking: z.string(), closed: nullableBoolean });
const contentPart = z.discriminatedUnion("type", [textPart, imageUrlPart, thinkingPart], {
  error: 'a content part of type "text", "image_url" or "thinking"',
});
const content = z.union([z.string(), z.array(contentPart)], {
  error: "a string or an array of content parts",
});

const toolCall = z.object({
  id: z.string(),
  type: z.nullish(z.literal("function")),
  function: z.object({
    name: z.string(),
    arguments: z.nullish(z.union([z.string(), jsonObject], { error: "a JSON string" })),
  }),
});

const message = z.discriminatedUnion(
  "role",
  [
    z.object({ role: z.literal("system"), content, name: nullableString }),
    z.object({ role: z.literal("developer"), content, name: nullableString }),
    z.object({ role: z.literal("user"), content, name: nullableString }),
    z.object({
      role: z.literal("assistant"),
      content: z.nullish(content),
      reasoning_content: nullableString,
      reasoning: nullableString,
      tool_calls: z.nullish(z.array(toolCall)),
      name: nullableString,
    }),
    z.object({ role: z.literal("tool"), content, tool_call_id: z.string(), name: nullableString }),
  ],
  { error: 'a message with role "system", "developer", "user", "assistant" or "tool"' },
);

const tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string(),
    description: nullableString,
    parameters: z.nullish(jsonObject),
    strict: nullableBoolean,
  }),
});

const toolChoice = z.nullish(
  z.union(
    [
      z.enum(["auto", "none", "required"]),
      z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
    ],
    { error: '"auto", "none", "required" or { type: "function", function: { name } }' },
  ),
);

const responseFormat = z.nullish(
  z.discriminatedUnion(
    "type",
    [
      z.object({ type: z.literal("text") }),
      z.object({ type: z.literal("json_object") }),
      z.object({
        type: z.literal("json_schema"),
        json_schema: z.object({
          name: z.string(),
          description: nullableString,
          schema: z.nullish(jsonObject),
          strict: nullableBoolean,
        }),
      }),
    ],
    { error: 'a response format of type "text", "json_object" or "json_schema"' },
  ),
);

const streamOptions = z.nullish(z.object({ include_usage: nullableBoolean }));

/** Sampling and stopping fields shared by chat and text completions (vLLM's top_k / min_p / repetition_penalty too). */
const samplingFields = {
  model: nullableString,
  stream: nullableBoolean,
  stream_options: streamOptions,
  n: nullableInt,
  temperature: nullableNumber,
  top_p: nullableNumber,
  top_k: nullableInt,
  min_p: nullableNumber,
  repetition_penalty: nullableNumber,
  presence_penalty: nullableNumber,
  frequency_penalty: nullableNumber,
  seed: nullableInt,
  stop,
  max_tokens: nullableInt,
  logit_bias: z.nullish(z.record(z.string(), z.number())),
  user: nullableString,
};

export const chatCompletionBody = z.object({
  ...samplingFields,
  messages: z.array(message).check(z.minLength(1, { error: "at least one message" })),
  max_completion_tokens: nullableInt,
  logprobs: nullableBoolean,
  top_logprobs: nullableInt,
  tools: z.nullish(z.array(tool)),
  tool_choice: toolChoice,
  parallel_tool_calls: nullableBoolean,
  response_format: responseFormat,
  reasoning_effort: nullableString,
  // Cannot be honoured: refused when present (chat-request.ts).
  modalities: z.nullish(z.array(z.string())),
  audio: z.optional(z.unknown()),
  prediction: z.optional(z.unknown()),
  functions: z.optional(z.unknown()),
  function_call: z.optional(z.unknown()),
  web_search_options: z.optional(z.unknown()),
});

const tokenIds = z.array(z.int());

export const completionBody = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()), tokenIds, z.array(tokenIds)], {
    error: "a string, an array of strings, an array of token ids or an array of such arrays",
  }),
  logprobs: nullableInt,
  echo: nullableBoolean,
  best_of: nullableInt,
  suffix: nullableString,
});

export const tokenizeBody = z.object({
  model: nullableString,
  prompt: nullableString,
  messages: z.nullish(z.array(message)),
  tools: z.nullish(z.array(tool)),
  reasoning_effort: nullableString,
  add_special_tokens: nullableBoolean,
  return_token_strs: nullableBoolean,
});

export const detokenizeBody = z.object({ model: nullableString, tokens: tokenIds });

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;
export type CompletionBody = z.infer<typeof completionBody>;
export type TokenizeBody = z.infer<typeof tokenizeBody>;
export type DetokenizeBody = z.infer<typeof detokenizeBody>;
export type OpenAIMessage = z.infer<typeof message>;
export type OpenAIContent = z.infer<typeof content>;
export type OpenAITool = z.infer<typeof tool>;
