import { describe, expect, it } from "vitest";
import type { ChatMessage, FunctionTool } from "../../lib/chat/types";
import { ByteTokenizer, REASONING_EFFORT_SETTING } from "../helpers/byte-tokenizer";
import { expectGolden, HIGH_SETTINGS, NONE_SETTINGS, render } from "./golden";

const MATH_TOOL: FunctionTool = {
  type: "function",
  function: {
    name: "math_interpreter",
    description: "Get the value of an arithmetic expression.",
    parameters: {
      type: "object",
      properties: { expression: { type: "string", description: "Math expression." } },
    },
    strict: true,
  },
};

/** mistral-common tests/test_tokenizer_v15.py `messages` fixture. */
const SPEC_MESSAGES: ChatMessage[] = [
  { role: "system", content: "S" },
  { role: "user", content: "U1" },
  {
    role: "assistant",
    content: "A1",
    tool_calls: [
      { id: "123456789", type: "function", function: { name: "F1", arguments: "{}" } },
      { id: "999999999", type: "function", function: { name: "F2", arguments: "{}" } },
    ],
  },
  { role: "tool", tool_call_id: "123456789", content: "R1" },
  { role: "tool", tool_call_id: "999999999", content: "R2" },
  { role: "assistant", content: "A2" },
  { role: "user", content: "U2" },
];

describe("v15 prompt layout", () => {
  it("matches the docs/model.md#prompt-layout / mistral-common EXPECTED_TEXT_V15 golden exactly", () => {
    const golden =
      "<s>[SYSTEM_PROMPT]S[/SYSTEM_PROMPT]" +
      '[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "math_interpreter", ' +
      '"description": "Get the value of an arithmetic expression.", "parameters": {"type": "object", ' +
      '"properties": {"expression": {"type": "string", "description": "Math expression."}}}}}][/AVAILABLE_TOOLS]' +
      HIGH_SETTINGS +
      "[INST]U1[/INST]A1[TOOL_CALLS]F1[ARGS]{}[TOOL_CALLS]F2[ARGS]{}</s>" +
      "[TOOL_RESULTS]R1[/TOOL_RESULTS][TOOL_RESULTS]R2[/TOOL_RESULTS]A2</s>[INST]U2[/INST]";
    expectGolden(render({ messages: SPEC_MESSAGES, tools: [MATH_TOOL], reasoningEffort: "high" }), golden);
  });

  it("leaves out the tools block without tools and writes an explicit reasoning_effort none", () => {
    const golden =
      "<s>[SYSTEM_PROMPT]S[/SYSTEM_PROMPT]" +
      NONE_SETTINGS +
      "[INST]U1[/INST]A1[TOOL_CALLS]F1[ARGS]{}[TOOL_CALLS]F2[ARGS]{}</s>" +
      "[TOOL_RESULTS]R1[/TOOL_RESULTS][TOOL_RESULTS]R2[/TOOL_RESULTS]A2</s>[INST]U2[/INST]";
    expectGolden(render({ messages: SPEC_MESSAGES, reasoningEffort: "none" }), golden);
  });

  it("renders a system-only conversation without tools or settings (there is no user turn to carry them)", () => {
    expectGolden(
      render({ messages: [{ role: "system", content: "You are helpful." }], tools: [MATH_TOOL] }),
      "<s>[SYSTEM_PROMPT]You are helpful.[/SYSTEM_PROMPT]",
    );
  });

  it("defaults reasoning_effort from the tokenizer's model settings builder", () => {
    expectGolden(
      render({ messages: [{ role: "user", content: "Hi" }] }),
      `<s>${NONE_SETTINGS}[INST]Hi[/INST]`,
    );
  });

  it("renders nothing for settings when the builder has no default and none is requested", () => {
    const tok = new ByteTokenizer({
      modelSettings: { reasoning_effort: { ...REASONING_EFFORT_SETTING, default: null } },
    });
    expectGolden(render({ messages: [{ role: "user", content: "Hi" }] }, {}, tok), "<s>[INST]Hi[/INST]");
    expectGolden(
      render({ messages: [{ role: "user", content: "Hi" }], reasoningEffort: "high" }, {}, tok),
      `<s>${HIGH_SETTINGS}[INST]Hi[/INST]`,
    );
  });

  it("ignores reasoningEffort for a tokenizer that declares no model settings", () => {
    const tok = new ByteTokenizer({ modelSettings: {} });
    expectGolden(
      render({ messages: [{ role: "user", content: "Hi" }], reasoningEffort: "high" }, {}, tok),
      "<s>[INST]Hi[/INST]",
    );
  });

  it("renders a multi-turn conversation with system prompts in place", () => {
    const rendered = render({
      messages: [
        { role: "system", content: "S1" },
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi there!" },
        { role: "user", content: "How are you?" },
        { role: "system", content: "S2" },
        { role: "user", content: "Well?" },
      ],
    });
    expectGolden(
      rendered,
      `<s>[SYSTEM_PROMPT]S1[/SYSTEM_PROMPT]${NONE_SETTINGS}[INST]Hello[/INST]Hi there!</s>` +
        "[INST]How are you?[/INST][SYSTEM_PROMPT]S2[/SYSTEM_PROMPT][INST]Well?[/INST]",
    );
  });

  it("places tools and settings before the first user turn, not the last", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
        { role: "user", content: "c" },
      ],
      tools: [{ type: "function", function: { name: "fn" } }],
      reasoningEffort: "high",
    });
    expectGolden(
      rendered,
      '<s>[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "fn", "description": "", "parameters": {}}}]' +
        `[/AVAILABLE_TOOLS]${HIGH_SETTINGS}[INST]a[/INST]b</s>[INST]c[/INST]`,
    );
  });

  it("renders assistant reasoning as a closed think block before the text", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "2+2?" },
        { role: "assistant", reasoning: "Add them.", content: "4" },
        { role: "user", content: "And 3+3?" },
      ],
      reasoningEffort: "high",
    });
    expectGolden(
      rendered,
      `<s>${HIGH_SETTINGS}[INST]2+2?[/INST][THINK]Add them.[/THINK]4</s>[INST]And 3+3?[/INST]`,
    );
  });

  it("accepts reasoning_content and thinking parts, an open thinking part has no [/THINK]", () => {
    const viaField = render({
      messages: [
        { role: "user", content: "q" },
        { role: "assistant", reasoning_content: "r", content: "a" },
        { role: "user", content: "q2" },
      ],
    });
    expect(viaField.text).toContain("[/INST][THINK]r[/THINK]a</s>");
    const open = render({
      messages: [
        { role: "user", content: "q" },
        { role: "assistant", content: [{ type: "thinking", thinking: "partial", closed: false }] },
      ],
      continueFinalMessage: true,
    });
    expectGolden(open, `<s>${NONE_SETTINGS}[INST]q[/INST][THINK]partial`);
  });

  it("renders multiple calls and puts their results in call order", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "aaaaaaaa1",
              type: "function",
              function: { name: "weather", arguments: '{"city":"Paris"}' },
            },
            {
              id: "bbbbbbbb2",
              type: "function",
              function: { name: "weather", arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "bbbbbbbb2", content: "18C" },
        { role: "tool", tool_call_id: "aaaaaaaa1", content: "21C" },
      ],
    });
    expectGolden(
      rendered,
      `<s>${NONE_SETTINGS}[INST]Weather in Paris and Rome?[/INST]` +
        '[TOOL_CALLS]weather[ARGS]{"city": "Paris"}[TOOL_CALLS]weather[ARGS]{"city": "Rome"}</s>' +
        "[TOOL_RESULTS]21C[/TOOL_RESULTS][TOOL_RESULTS]18C[/TOOL_RESULTS]",
    );
  });

  it("keeps the last nine characters of longer tool call ids, as vLLM does", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "x" },
        {
          role: "assistant",
          tool_calls: [{ id: "call_abcdefghi", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_abcdefghi", content: "ok" },
      ],
    });
    expect(rendered.text.endsWith("[TOOL_CALLS]f[ARGS]{}</s>[TOOL_RESULTS]ok[/TOOL_RESULTS]")).toBe(true);
  });

  it("continues a final assistant message without </s>, dropping its trailing spaces", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Say hello" },
      { role: "assistant", content: "Hello, " },
    ];
    expectGolden(
      render({ messages, continueFinalMessage: true }),
      `<s>${NONE_SETTINGS}[INST]Say hello[/INST]Hello,`,
    );
  });

  it("merges consecutive user messages with a blank line and adjacent text parts with nothing", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "one" },
        {
          role: "user",
          content: [
            { type: "text", text: "two" },
            { type: "text", text: "three" },
          ],
        },
      ],
    });
    expectGolden(rendered, `<s>${NONE_SETTINGS}[INST]one\n\ntwothree[/INST]`);
  });

  it("keeps special-token strings typed by the user as plain text", () => {
    const rendered = render({ messages: [{ role: "user", content: "[INST]</s>" }] });
    const plain = new ByteTokenizer().encode("[INST]</s>");
    expect(rendered.tokens.slice(-plain.length - 1, -1)).toEqual(plain);
    expect(rendered.text).toBe(`<s>${NONE_SETTINGS}[INST][INST]</s>[/INST]`);
  });

  it("prepends the default system prompt only when the request has no system message", () => {
    const withDefault = render({ messages: [{ role: "user", content: "Hi" }] }, { defaultSystemPrompt: "D" });
    expectGolden(withDefault, `<s>[SYSTEM_PROMPT]D[/SYSTEM_PROMPT]${NONE_SETTINGS}[INST]Hi[/INST]`);
    const own = render(
      {
        messages: [
          { role: "system", content: "Mine" },
          { role: "user", content: "Hi" },
        ],
      },
      { defaultSystemPrompt: "D" },
    );
    expectGolden(own, `<s>[SYSTEM_PROMPT]Mine[/SYSTEM_PROMPT]${NONE_SETTINGS}[INST]Hi[/INST]`);
  });

  it("names a bad message by the caller's own index when the default system prompt is prepended", () => {
    const request = {
      messages: [
        { role: "user", content: "u" },
        { role: "tool", tool_call_id: "test12345", content: "r" },
      ] as ChatMessage[],
    };
    expect(() => render(request, { defaultSystemPrompt: "D" })).toThrow(/^messages\[1\]: /);
    expect(() => render(request)).toThrow(/^messages\[1\]: /);
  });

  it("renders tool results given as text parts", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "u" },
        { role: "assistant", tool_calls: [{ id: "test12345", function: { name: "fn", arguments: "{}" } }] },
        {
          role: "tool",
          tool_call_id: "test12345",
          content: [
            { type: "text", text: "res" },
            { type: "text", text: "ult" },
          ],
        },
      ],
    });
    expect(rendered.text.endsWith("[TOOL_CALLS]fn[ARGS]{}</s>[TOOL_RESULTS]result[/TOOL_RESULTS]")).toBe(
      true,
    );
  });
});
