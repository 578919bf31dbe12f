import { describe, expect, it } from "vitest";
import type { ChatMessage, ChatRequest } from "../../lib/chat/types";
import { ChatFormatError, InvalidArgumentError } from "../../lib/errors";
import { ByteTokenizer, REASONING_EFFORT_SETTING } from "../helpers/byte-tokenizer";
import { render } from "./golden";

const CALL = (id: string, name = "f") => ({
  id,
  type: "function" as const,
  function: { name, arguments: "{}" },
});
const USER: ChatMessage = { role: "user", content: "u" };

function rejects(request: ChatRequest, message: RegExp, tokenizer?: ByteTokenizer): void {
  expect(() => render(request, {}, tokenizer)).toThrow(ChatFormatError);
  expect(() => render(request, {}, tokenizer)).toThrow(message);
}

describe("requests mistral-common refuses are ChatFormatError", () => {
  it("refuses an empty conversation", () => {
    rejects({ messages: [] }, /at least one message/);
  });

  it("refuses a conversation of one assistant message", () => {
    rejects(
      { messages: [{ role: "assistant", content: "a" }], continueFinalMessage: true },
      /user or system/,
    );
  });

  it("refuses a conversation ending on an assistant turn without continueFinalMessage", () => {
    rejects({ messages: [USER, { role: "assistant", content: "a" }] }, /continueFinalMessage/);
  });

  it("refuses continueFinalMessage when the last message is not an assistant message", () => {
    rejects({ messages: [USER], continueFinalMessage: true }, /final assistant message/);
    rejects(
      { messages: [USER, { role: "assistant", content: "a" }, USER], continueFinalMessage: true },
      /not user/,
    );
  });

  it("refuses a tool result after a user message or first in the conversation", () => {
    rejects(
      { messages: [USER, { role: "tool", tool_call_id: "123456789", content: "r" }] },
      /'tool' after role 'user'/,
    );
    rejects(
      { messages: [{ role: "tool", tool_call_id: "123456789", content: "r" }, USER] },
      /must follow an assistant message/,
    );
  });

  it("refuses a tool result whose id matches no call of the preceding assistant message", () => {
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [CALL("123456789")] },
          { role: "tool", tool_call_id: "987654321", content: "r" },
        ],
      },
      /987654321 does not answer a tool call/,
    );
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", content: "no calls" },
          { role: "tool", tool_call_id: "123456789", content: "r" },
        ],
      },
      /does not answer a tool call/,
    );
  });

  it("refuses a tool message without tool_call_id", () => {
    const tool = { role: "tool", content: "r" } as unknown as ChatMessage;
    rejects(
      { messages: [USER, { role: "assistant", tool_calls: [CALL("123456789")] }, tool] },
      /needs a tool_call_id/,
    );
  });

  it("refuses duplicate results and duplicate call ids", () => {
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [CALL("123456789")] },
          { role: "tool", tool_call_id: "123456789", content: "r" },
          { role: "tool", tool_call_id: "123456789", content: "r" },
        ],
      },
      /duplicate tool call id 123456789 in tool results/,
    );
    rejects(
      { messages: [USER, { role: "assistant", tool_calls: [CALL("123456789"), CALL("123456789")] }, USER] },
      /duplicate tool call id 123456789 in assistant message/,
    );
  });

  it("refuses an assistant message that comes before all results of the previous calls", () => {
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [CALL("123456789"), CALL("223456789")] },
          { role: "tool", tool_call_id: "123456789", content: "r" },
          { role: "assistant", content: "early" },
          USER,
        ],
      },
      /made 2 tool call\(s\) but 1 result/,
    );
  });

  it("refuses tool call ids that are missing or not 9 alphanumeric characters", () => {
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [CALL("call_1")] },
          { role: "tool", tool_call_id: "call_1", content: "r" },
        ],
      },
      /must be 9 characters/,
    );
    const noId = { type: "function", function: { name: "f", arguments: "{}" } } as unknown as ReturnType<
      typeof CALL
    >;
    rejects(
      { messages: [USER, { role: "assistant", tool_calls: [noId] }, USER] },
      /tool call id is required/,
    );
  });

  it("refuses an assistant message with neither content nor tool calls", () => {
    rejects(
      { messages: [USER, { role: "assistant", content: "" }, USER] },
      /needs content, reasoning or tool calls/,
    );
    rejects(
      { messages: [USER, { role: "assistant", content: null, tool_calls: [] }, USER] },
      /needs content/,
    );
    rejects(
      { messages: [USER, { role: "assistant", content: [{ type: "text", text: "" }] }, USER] },
      /needs content/,
    );
  });

  it("refuses system messages after assistant or tool turns", () => {
    rejects(
      { messages: [USER, { role: "assistant", content: "a" }, { role: "system", content: "s" }, USER] },
      /'system' after role 'assistant'/,
    );
  });

  it("refuses thinking in a system message and content parts a role cannot hold", () => {
    rejects(
      { messages: [{ role: "system", content: [{ type: "thinking", thinking: "t" }] }, USER] },
      /thinking parts are not allowed in system/,
    );
    rejects(
      { messages: [{ role: "user", content: [{ type: "thinking", thinking: "t" }] }] },
      /not allowed in user/,
    );
    rejects(
      { messages: [{ role: "system", content: [{ type: "image", width: 28, height: 28 }] }, USER] },
      /image parts are not allowed in system/,
    );
    rejects(
      { messages: [USER, { role: "assistant", content: [{ type: "image", width: 28, height: 28 }] }, USER] },
      /image parts are not allowed in assistant/,
    );
  });

  it("refuses different reasoning and reasoning_content, or reasoning next to thinking parts", () => {
    rejects(
      { messages: [USER, { role: "assistant", reasoning: "a", reasoning_content: "b", content: "c" }, USER] },
      /must be equal/,
    );
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", reasoning: "a", content: [{ type: "thinking", thinking: "b" }] },
          USER,
        ],
      },
      /both thinking parts/,
    );
  });

  it("refuses invalid function names in tools, calls and tool messages", () => {
    rejects(
      { messages: [USER], tools: [{ type: "function", function: { name: "bad name" } }] },
      /function name was "bad name"/,
    );
    rejects(
      { messages: [USER], tools: [{ type: "function", function: { name: "x".repeat(65) } }] },
      /at most|1 to 64/,
    );
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [CALL("123456789", "f.g")] },
          { role: "tool", tool_call_id: "123456789", content: "r" },
        ],
      },
      /"f.g"/,
    );
    rejects(
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [CALL("123456789")] },
          { role: "tool", tool_call_id: "123456789", content: "r", name: "no spaces allowed" },
        ],
      },
      /"no spaces allowed"/,
    );
  });

  it("refuses tool parameters that are not a JSON Schema", () => {
    rejects(
      {
        messages: [USER],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "objekt" } } }],
      },
      /invalid tool schema/,
    );
    rejects(
      {
        messages: [USER],
        tools: [{ type: "function", function: { name: "f", parameters: { required: "a" } } }],
      },
      /invalid tool schema/,
    );
  });

  it("refuses a reasoning effort the tokenizer does not allow, or a missing one it requires", () => {
    const onlyNone = new ByteTokenizer({
      modelSettings: { reasoning_effort: { ...REASONING_EFFORT_SETTING, values: ["none"] } },
    });
    rejects({ messages: [USER], reasoningEffort: "high" }, /must be one of \["none"\]/, onlyNone);
    const unsupported = new ByteTokenizer({
      modelSettings: { reasoning_effort: { ...REASONING_EFFORT_SETTING, values: [], default: null } },
    });
    rejects({ messages: [USER], reasoningEffort: "none" }, /not supported/, unsupported);
    const required = new ByteTokenizer({
      modelSettings: { reasoning_effort: { ...REASONING_EFFORT_SETTING, acceptsNone: false, default: null } },
    });
    rejects({ messages: [USER] }, /must be set/, required);
  });

  it("refuses images when the tokenizer has no image configuration", () => {
    const textOnly = new ByteTokenizer({ image: undefined });
    rejects(
      { messages: [{ role: "user", content: [{ type: "image", width: 28, height: 28 }] }] },
      /no image configuration/,
      textOnly,
    );
  });

  it("refuses tokenizers older than v13", () => {
    rejects({ messages: [USER] }, /v13 and later, not v11/, new ByteTokenizer({ version: "v11" }));
  });
});

describe("malformed requests are InvalidArgumentError", () => {
  it.each<[string, unknown]>([
    ["a missing messages array", {}],
    ["an unknown role", { messages: [{ role: "developer", content: "x" }] }],
    ["non-string content", { messages: [{ role: "user", content: 5 }] }],
    ["an unknown part type", { messages: [{ role: "user", content: [{ type: "input_audio" }] }] }],
    ["a reasoning effort outside none/high", { messages: [USER], reasoningEffort: "low" }],
    [
      "an image without a size",
      { messages: [{ role: "user", content: [{ type: "image", width: 0, height: 2 }] }] },
    ],
    [
      "tool arguments of the wrong type",
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [{ id: "123456789", function: { name: "f", arguments: 3 } }] },
          USER,
        ],
      },
    ],
    ["a non-boolean prefix", { messages: [USER, { role: "assistant", content: "a", prefix: "yes" }] }],
    ["a name that is not a string", { messages: [{ role: "user", content: "x", name: 3 }] }],
    ["a refusal with text", { messages: [USER, { role: "assistant", content: "a", refusal: "no" }, USER] }],
  ])("refuses %s", (_, request) => {
    expect(() => render(request as ChatRequest)).toThrow(InvalidArgumentError);
  });
});

describe("fields a chat request may carry", () => {
  it.each<[string, unknown, RegExp]>([
    [
      "a misspelt message field",
      { messages: [{ role: "user", contents: "x" }] },
      /^unknown field "contents" in request.messages\[0\] \(did you mean "content"\?\)$/,
    ],
    [
      "an OpenAI assistant field on a user message",
      { messages: [{ role: "user", content: "x", tool_calls: [] }] },
      /unknown field "tool_calls" in request.messages\[0\] \(expected one of: role, content, name\)/,
    ],
    [
      "tool_call_id on an assistant message",
      { messages: [USER, { role: "assistant", content: "a", toolCallId: "x" }, USER] },
      /unknown field "toolCallId" in request.messages\[1\]/,
    ],
    [
      "a misspelt content-part field",
      { messages: [{ role: "user", content: [{ type: "text", txt: "x" }] }] },
      /unknown field "txt" in request.messages\[0\].content\[0\] \(did you mean "text"\?\)/,
    ],
    [
      "a misspelt image_url field",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { ulr: "x" } }] }] },
      /unknown field "ulr" in request.messages\[0\].content\[0\].image_url \(did you mean "url"\?\)/,
    ],
    [
      "a misspelt tool-call field",
      {
        messages: [
          USER,
          { role: "assistant", tool_calls: [{ id: "123456789", function: { name: "f", argument: "{}" } }] },
          { role: "tool", tool_call_id: "123456789", content: "r" },
        ],
      },
      /unknown field "argument" in request.messages\[1\].tool_calls\[0\].function \(did you mean "arguments"\?\)/,
    ],
    [
      "a misspelt tool definition field",
      { messages: [USER], tools: [{ type: "function", function: { name: "f", descripton: "d" } }] },
      /unknown field "descripton" in request.tools\[0\].function \(did you mean "description"\?\)/,
    ],
  ])("refuses %s, naming it", (_, request, message) => {
    expect(() => render(request as ChatRequest)).toThrow(InvalidArgumentError);
    expect(() => render(request as ChatRequest)).toThrow(message);
  });

  it("accepts what OpenAI messages carry: names, and a response message's empty fields", () => {
    const plain = render({
      messages: [USER, { role: "assistant", content: "a" }, USER],
    });
    const carried = render({
      messages: [
        { role: "user", content: "u", name: "alice" },
        {
          role: "assistant",
          content: "a",
          name: "bot",
          refusal: null,
          annotations: [],
          audio: null,
          function_call: null,
        },
        { role: "user", content: "u", name: "alice" },
      ],
    });
    expect(carried.tokens).toEqual(plain.tokens);
  });
});

describe("Mistral's prefix on the final assistant message", () => {
  const prefixed: ChatMessage = { role: "assistant", content: "Hello, ", prefix: true };

  it("renders it without </s>, exactly as continueFinalMessage does", () => {
    const viaPrefix = render({ messages: [USER, prefixed] });
    expect(viaPrefix.text.endsWith("[/INST]Hello,")).toBe(true);
    expect(viaPrefix.tokens).toEqual(
      render({ messages: [USER, { role: "assistant", content: "Hello, " }], continueFinalMessage: true })
        .tokens,
    );
  });

  it("refuses prefix before the last message, and prefix together with continueFinalMessage", () => {
    rejects({ messages: [USER, prefixed, USER] }, /only the last message can have prefix/);
    rejects({ messages: [USER, prefixed], continueFinalMessage: true }, /set only one/);
  });
});
