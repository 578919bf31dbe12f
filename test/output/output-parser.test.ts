import { describe, expect, it } from "vitest";
import { OutputParser, parseOutput, randomToolCallId } from "../../lib/output/index";
import { tokenizeGolden } from "../helpers/byte-tokenizer";
import { countingIds, feed, splits, tokenizer } from "./streams";

interface Case {
  readonly name: string;
  readonly output: string;
  readonly text: string;
  readonly reasoning: string;
  readonly calls: readonly { name: string; arguments: string }[];
}

const CASES: readonly Case[] = [
  {
    name: "plain text with multi-byte characters",
    output: "Hello 😀 wörld",
    text: "Hello 😀 wörld",
    reasoning: "",
    calls: [],
  },
  {
    name: "reasoning then content",
    output: "[THINK]Let me think, é…[/THINK]Answer: 4",
    text: "Answer: 4",
    reasoning: "Let me think, é…",
    calls: [],
  },
  {
    name: "an unclosed think block (all reasoning)",
    output: "[THINK]still thinking",
    text: "",
    reasoning: "still thinking",
    calls: [],
  },
  { name: "a stray [/THINK] (dropped)", output: "a[/THINK]b", text: "ab", reasoning: "", calls: [] },
  {
    name: "a second think block (its tokens dropped, text kept as content)",
    output: "x[THINK]r[/THINK]c[THINK]d[/THINK]e",
    text: "xcde",
    reasoning: "r",
    calls: [],
  },
  {
    name: "content then two tool calls",
    output: 'Sure.[TOOL_CALLS]get_weather[ARGS]{"city": "Zürich"}[TOOL_CALLS]add[ARGS]{"a": 1, "b": 2}',
    text: "Sure.",
    reasoning: "",
    calls: [
      { name: "get_weather", arguments: '{"city": "Zürich"}' },
      { name: "add", arguments: '{"a": 1, "b": 2}' },
    ],
  },
  {
    name: "a tool call without [ARGS] (name ends at the first brace)",
    output: '[TOOL_CALLS]get_weather{"city": "Paris"}',
    text: "",
    reasoning: "",
    calls: [{ name: "get_weather", arguments: '{"city": "Paris"}' }],
  },
  {
    name: "malformed arguments (kept raw)",
    output: '[TOOL_CALLS]f[ARGS]{"a": tru',
    text: "",
    reasoning: "",
    calls: [{ name: "f", arguments: '{"a": tru' }],
  },
  {
    name: "a tool call inside reasoning (not a call)",
    output: "[THINK]maybe [TOOL_CALLS]f[ARGS]{}[/THINK]ok",
    text: "ok",
    reasoning: "maybe f{}",
    calls: [],
  },
  {
    name: "reasoning then a tool call",
    output: '[THINK]need the weather[/THINK][TOOL_CALLS]w[ARGS]{"q": "東京"}</s>',
    text: "",
    reasoning: "need the weather",
    calls: [{ name: "w", arguments: '{"q": "東京"}' }],
  },
  {
    name: "a tool name that never ends (no call, as vLLM)",
    output: "Hi[TOOL_CALLS]oops",
    text: "Hi",
    reasoning: "",
    calls: [],
  },
  {
    name: "end of sequence and other specials (dropped)",
    output: "Hi[IMG]!</s>",
    text: "Hi!",
    reasoning: "",
    calls: [],
  },
];

describe("OutputParser on canned streams", () => {
  for (const c of CASES) {
    it(`parses ${c.name} identically however the tokens are split`, () => {
      const ids = tokenizeGolden(c.output);
      const whole = feed(ids, []);
      expect(whole.text).toBe(c.text);
      expect(whole.reasoning).toBe(c.reasoning);
      expect(whole.calls.map(({ name, arguments: a, ended }) => ({ name, arguments: a, ended }))).toEqual(
        c.calls.map((call) => ({ ...call, ended: true })),
      );
      expect(whole.result).toEqual({
        text: c.text,
        reasoning: c.reasoning,
        toolCalls: whole.calls.map(({ id, name, arguments: a }) => ({ id, name, arguments: a })),
        invalidToolCalls: [],
      });
      for (const chunks of splits(ids.length)) expect(feed(ids, chunks)).toEqual(whole);
    });
  }
});

describe("OutputParser details", () => {
  it("never emits half a character when a character's bytes arrive one token at a time", () => {
    const parser = new OutputParser(tokenizer);
    const deltas = tokenizeGolden("é😀").map((id) => parser.push(id));
    expect(deltas.map((events) => events.map((e) => (e.type === "text" ? e.delta : "")).join(""))).toEqual([
      "",
      "é",
      "",
      "",
      "",
      "😀",
    ]);
  });

  it("turns bytes left incomplete by a special token or the end into U+FFFD", () => {
    const [lead] = tokenizeGolden("é");
    expect(parseOutput(tokenizer, [lead!, ...tokenizeGolden("[THINK]r")])).toMatchObject({
      text: "\ufffd",
      reasoning: "r",
    });
    expect(parseOutput(tokenizer, [...tokenizeGolden("ok"), lead!]).text).toBe("ok\ufffd");
  });

  it("ends a tool call when the next one starts and at finish", () => {
    const parser = new OutputParser(tokenizer, { generateToolCallId: countingIds() });
    const first = parser.push(tokenizeGolden("[TOOL_CALLS]a[ARGS]{}"));
    expect(first).toEqual([
      { type: "tool_call_start", index: 0, id: "call00000", name: "a" },
      { type: "tool_call_delta", index: 0, argumentsDelta: "{}" },
    ]);
    expect(parser.push(tokenizeGolden("[TOOL_CALLS]"))).toEqual([{ type: "tool_call_end", index: 0 }]);
    expect(parser.push(tokenizeGolden("b[ARGS]"))).toEqual([
      { type: "tool_call_start", index: 1, id: "call00001", name: "b" },
    ]);
    expect(parser.finish().events).toEqual([{ type: "tool_call_end", index: 1 }]);
  });

  it("leaves tool-call and think tokens out of the text when their parsing is turned off", () => {
    expect(parseOutput(tokenizer, tokenizeGolden("a[TOOL_CALLS]f[ARGS]{}"), { toolCalls: false })).toEqual({
      text: "af{}",
      reasoning: "",
      toolCalls: [],
      invalidToolCalls: [],
    });
    expect(parseOutput(tokenizer, tokenizeGolden("[THINK]x[/THINK]y"), { reasoning: false }).text).toBe("xy");
  });

  it("reports a call naming an undeclared tool as invalid, never as a tool call, however the tokens are split", () => {
    const ids = tokenizeGolden(
      'ok[TOOL_CALLS]get[ARGS]{"a":1}[TOOL_CALLS]rm_rf[ARGS]{"p":"/"}[TOOL_CALLS]put[ARGS]{}',
    );
    const whole = feed(ids, [], { declaredTools: ["get", "put"] });
    // Valid calls stream as start / deltas / end, numbered among valid calls only.
    expect(whole.calls).toEqual([
      { id: "call00000", name: "get", arguments: '{"a":1}', ended: true },
      { id: "call00002", name: "put", arguments: "{}", ended: true },
    ]);
    // The invalid one arrives whole, once it has ended.
    expect(whole.invalid).toEqual([
      {
        id: "call00001",
        name: "rm_rf",
        arguments: '{"p":"/"}',
        reason: "unknown_tool",
        message: 'the model called "rm_rf", which is not a declared tool (declared: get, put)',
      },
    ]);
    expect(whole.result).toEqual({
      text: "ok",
      reasoning: "",
      toolCalls: [
        { id: "call00000", name: "get", arguments: '{"a":1}' },
        { id: "call00002", name: "put", arguments: "{}" },
      ],
      invalidToolCalls: whole.invalid,
    });
    for (const chunks of splits(ids.length)) {
      expect(feed(ids, chunks, { declaredTools: ["get", "put"] })).toEqual(whole);
    }
    // With no tool declared every call is invalid; without declaredTools names are not checked.
    const none = parseOutput(tokenizer, ids, { declaredTools: [] });
    expect(none.toolCalls).toEqual([]);
    expect(none.invalidToolCalls.map((c) => c.message)).toContain(
      'the model called "get", which is not a declared tool (declared: none)',
    );
    expect(parseOutput(tokenizer, ids).toolCalls).toHaveLength(3);
  });

  it("starts in reasoning when the prompt left a [THINK] block open", () => {
    const ids = tokenizeGolden("still thinking[/THINK]answer");
    expect(parseOutput(tokenizer, ids, { startInReasoning: true })).toMatchObject({
      reasoning: "still thinking",
      text: "answer",
    });
    expect(parseOutput(tokenizer, ids)).toMatchObject({ reasoning: "", text: "still thinkinganswer" });
  });

  it("gives tool calls random 9-character alphanumeric ids by default", () => {
    const { toolCalls } = parseOutput(
      tokenizer,
      tokenizeGolden("[TOOL_CALLS]a[ARGS]{}[TOOL_CALLS]b[ARGS]{}"),
    );
    expect(toolCalls.map((c) => c.id)).toEqual([
      expect.stringMatching(/^[a-zA-Z0-9]{9}$/),
      expect.stringMatching(/^[a-zA-Z0-9]{9}$/),
    ]);
    expect(toolCalls[0]!.id).not.toBe(toolCalls[1]!.id);
    expect(randomToolCallId()).toMatch(/^[a-zA-Z0-9]{9}$/);
  });

  it("refuses pushes after finish and returns the same result on a second finish", () => {
    const parser = new OutputParser(tokenizer);
    parser.push(tokenizeGolden("done"));
    const first = parser.finish();
    expect(parser.finish()).toEqual({ events: [], result: first.result });
    expect(() => parser.push(1)).toThrow(/after finish/);
  });
});
