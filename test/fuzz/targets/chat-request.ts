/**
 * Chat requests (lib/chat: parseChatRequest, validation, the v15 encoder): OpenAI-style requests generated from their
 * parts — roles, text holding special-token strings and odd Unicode, content parts (text, image_url with data:, http
 * and file: URLs, image bytes, thinking), tool calls with any arguments, tool definitions, settings — then mutated as
 * values. An accepted request renders to ids inside the vocabulary whose decoding is exactly the prompt text shown,
 * special tokens included, and every image's span lies inside the prompt.
 */
import fc from "fast-check";
import { renderChat } from "../../../lib/chat/index";
import type { RenderedChat } from "../../../lib/chat/types";
import { ByteTokenizer } from "../../helpers/byte-tokenizer";
import { pngFile, scanlines } from "../../helpers/png-bytes";
import type { FuzzTarget } from "../harness";
import { hostileJson, mutatedJson } from "../mutate";

const tokenizer = new ByteTokenizer();
const png = pngFile(
  20,
  12,
  2,
  scanlines(20, 12, (x, y) => [x * 10, y * 20, 99]),
);
const pngUrl = `data:image/png;base64,${png.toString("base64")}`;

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 10, unit: "grapheme" }),
  fc.constantFrom(
    "[INST]",
    "</s>",
    "<s>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "[THINK]",
    "[IMG]",
    "\u0000",
    "\ud800",
    "",
    " ",
  ),
  fc
    .array(fc.constantFrom("Hi", "[/INST]", "[SYSTEM_PROMPT]", "é", "{", "\n"), { maxLength: 5 })
    .map((a) => a.join("")),
);
const url = fc.oneof(
  { weight: 4, arbitrary: fc.constant(pngUrl) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "data:image/png;base64,AAAA",
      "data:image/png;base64,",
      "data:text/plain,hi",
      "http://127.0.0.1:1/x.png",
      "file:///etc/passwd",
      "data:image/png;base64,!!!",
      "",
    ),
  },
);
const part = fc.oneof(
  fc.record({ type: fc.constant("text"), text }),
  fc.record({ type: fc.constant("image_url"), image_url: fc.oneof(fc.record({ url }), url) }),
  fc.record({
    type: fc.constant("image"),
    image: fc.oneof(fc.constant(new Uint8Array(png)), fc.uint8Array({ maxLength: 40 })),
  }),
  fc.record({ type: fc.constant("thinking"), thinking: text }),
);
const toolCall = fc.record({
  id: fc.oneof(fc.constantFrom("abcDEF123", "call_1", ""), fc.string({ maxLength: 12 })),
  type: fc.constant("function"),
  function: fc.record({
    name: fc.oneof(fc.constantFrom("get_weather", "f", ""), fc.string({ maxLength: 8 })),
    arguments: fc.oneof(
      fc.constantFrom("{}", '{"city": "Paris"}', "[1,2]", "not json", ""),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    ),
  }),
});
const message = fc.record(
  {
    role: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom("user", "assistant", "system", "tool") },
      { weight: 1, arbitrary: fc.constantFrom("developer", "bot", "") },
    ),
    content: fc.oneof(text, fc.array(part, { maxLength: 3 }), fc.constant(null)),
    tool_calls: fc.array(toolCall, { maxLength: 2 }),
    tool_call_id: fc.constantFrom("abcDEF123", "call_1"),
    name: fc.string({ maxLength: 6 }),
    prefix: fc.boolean(),
  },
  { requiredKeys: ["role"] },
);
const tool = fc.record({
  type: fc.constant("function"),
  function: fc.record(
    {
      name: fc.oneof(fc.constantFrom("get_weather", "f"), fc.string({ maxLength: 8 })),
      description: text,
      parameters: fc.oneof(
        fc.constant({ type: "object", properties: { city: { type: "string" } } }),
        hostileJson,
      ),
    },
    { requiredKeys: ["name"] },
  ),
});
const request = fc.record(
  {
    messages: fc.array(message, { minLength: 1, maxLength: 5 }),
    tools: fc.array(tool, { maxLength: 2 }),
    reasoningEffort: fc.constantFrom("none", "high", "low", null),
    continueFinalMessage: fc.boolean(),
  },
  { requiredKeys: ["messages"] },
);

/** A conversation as the v15 format takes it: system, user turns, assistant answers with tool calls and results. */
const callId = fc.stringMatching(/^[a-zA-Z0-9]{9}$/);
const userContent = fc.oneof(
  text,
  fc.array(
    fc.oneof(
      fc.record({ type: fc.constant("text"), text }),
      fc.record({ type: fc.constant("image_url"), image_url: fc.record({ url: fc.constant(pngUrl) }) }),
    ),
    { minLength: 1, maxLength: 3 },
  ),
);
const turn = fc.record({
  user: userContent,
  answer: text,
  calls: fc.array(
    fc.record({
      id: callId,
      name: fc.constantFrom("get_weather", "f"),
      args: fc.jsonValue({ maxDepth: 2 }),
      result: text,
    }),
    { maxLength: 2 },
  ),
});
const conversation = fc
  .record({
    system: fc.option(text),
    turns: fc.array(turn, { minLength: 1, maxLength: 3 }),
    tools: fc.array(tool, { maxLength: 2 }),
    reasoningEffort: fc.constantFrom("none", "high", null),
    endWithAnswer: fc.boolean(),
  })
  .map(({ system, turns, tools, reasoningEffort, endWithAnswer }) => {
    const messages: unknown[] = system === null ? [] : [{ role: "system", content: system }];
    turns.forEach((t, i) => {
      messages.push({ role: "user", content: t.user });
      const last = i === turns.length - 1;
      if (t.calls.length > 0) {
        messages.push({
          role: "assistant",
          content: null,
          tool_calls: t.calls.map((c) => ({
            id: c.id,
            type: "function",
            function: { name: c.name, arguments: JSON.stringify(c.args) },
          })),
        });
        for (const c of t.calls) messages.push({ role: "tool", tool_call_id: c.id, content: c.result });
      }
      if (!last || endWithAnswer) messages.push({ role: "assistant", content: t.answer });
    });
    return { messages, tools, reasoningEffort, continueFinalMessage: endWithAnswer };
  });

const input: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: conversation },
  { weight: 3, arbitrary: conversation.chain((r) => mutatedJson(r, 2)) },
  { weight: 2, arbitrary: request },
  { weight: 1, arbitrary: hostileJson },
);

export const chatRequestTarget: FuzzTarget<unknown, RenderedChat> = {
  name: "chat-request",
  reads: "chat requests: messages, content parts, tool calls, tool definitions and settings",
  input,
  parse: (req) => renderChat(tokenizer, req as never),
  check: (_req, rendered) => {
    for (const id of rendered.tokens) {
      if (!(Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize))
        throw new Error(`id ${id} is outside the vocabulary`);
    }
    const decoded = tokenizer.decode(rendered.tokens, { specialTokens: "keep" });
    const shown = Buffer.from(rendered.text, "utf8").toString("utf8");
    if (decoded !== shown)
      throw new Error(`the ids decode to ${JSON.stringify(decoded)}, the text is ${JSON.stringify(shown)}`);
    for (const image of rendered.images) {
      const { tokenOffset: start, tokenCount: count, columns, rows } = image;
      if (!(start >= 0 && count > 0 && start + count <= rendered.tokens.length))
        throw new Error(`an image spans [${start}, ${start + count}) of ${rendered.tokens.length} tokens`);
      // The grid: rows of [IMG] × columns, each row ended by [IMG_BREAK] and the last by [IMG_END].
      if (count !== rows * (columns + 1)) throw new Error(`${count} tokens for a ${columns} × ${rows} grid`);
    }
  },
};
