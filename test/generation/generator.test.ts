import { describe, expect, it } from "vitest";
import { renderChat } from "../../lib/chat/index";
import type { ChatMessage, ChatRequest, FunctionTool } from "../../lib/chat/types";
import { Engine, type EngineOptions } from "../../lib/engine/engine";
import {
  AbortError,
  ChatFormatError,
  DisposedError,
  InvalidArgumentError,
  OutOfMemoryError,
  UnsupportedFeatureError,
} from "../../lib/errors";
import { Generator } from "../../lib/generation/generator";
import type { GenerateRequest, GenerateResult, StreamEvent } from "../../lib/generation/types";
import type { NativeStepBatch } from "../../lib/native";
import { barScript, FakeModel, type FakeModelOptions, fakeLogit } from "../engine/fake-model";
import { ByteTokenizer } from "../helpers/byte-tokenizer";

const tokenizer = new ByteTokenizer();
const VOCAB = tokenizer.vocabSize;
const bytes = (s: string) => tokenizer.encode(s);
const [THINK, END_THINK, TOOL_CALLS, ARGS, EOS] = [35, 36, 9, 32, 2];

function setup(
  engine: Partial<Omit<EngineOptions, "runStep">> = {},
  fake: Partial<FakeModelOptions> = {},
): { generator: Generator; engine: Engine; fake: FakeModel } {
  const numBlocks = engine.numBlocks ?? 64;
  const blockSize = engine.blockSize ?? 4;
  const model = new FakeModel({ vocab: VOCAB, numBlocks, blockSize, next: barScript, ...fake });
  const e = new Engine({
    runStep: model.runStep,
    numBlocks,
    blockSize,
    vocabSize: VOCAB,
    eosId: tokenizer.eosId,
    maxContext: 200,
    maxTokensPerStep: 16,
    ...engine,
  });
  const generator = new Generator({ tokenizer, engine: e, renderChat: (req) => renderChat(tokenizer, req) });
  return { generator, engine: e, fake: model };
}

/** A model that writes `script` after any prompt of `promptLength` tokens. */
const scriptAfter =
  (promptLength: number, script: readonly number[]) =>
  (history: readonly number[]): number =>
    script[history.length - promptLength] ?? EOS;

async function streamAll(
  g: Generator,
  req: GenerateRequest,
): Promise<{ events: StreamEvent[]; result: GenerateResult }> {
  const events: StreamEvent[] = [];
  for await (const ev of g.stream(req)) events.push(ev);
  const done = events.at(-1);
  if (done?.type !== "done") throw new Error("no done event");
  return { events, result: done.result };
}

const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === "text" ? e.delta : "")).join("");

const USER_HI: ChatMessage[] = [{ role: "user", content: "hi" }];
const tool = (name: string): FunctionTool => ({
  type: "function",
  function: { name, parameters: { type: "object" } },
});
const promptLength = (chat: ChatRequest) => renderChat(tokenizer, chat).tokens.length;
/** Whether the mask of sampling row `row` in a step allows token `id` (no mask: everything allowed). */
const allows = (batch: NativeStepBatch, row: number, id: number): boolean => {
  const masks = batch.sampling?.masks;
  if (!masks) return true;
  const words = Math.ceil(VOCAB / 32);
  return ((masks[row * words + (id >>> 5)]! >>> (id & 31)) & 1) === 1;
};

describe("Generator.generate", () => {
  it("continues a raw prompt after BOS and stops at EOS", async () => {
    const { generator, fake } = setup();
    const r = await generator.generate({ prompt: "say |hello world|", temperature: 0 });
    expect(r).toEqual({
      text: "hello world",
      reasoning: "",
      toolCalls: [],
      invalidToolCalls: [],
      finishReason: "stop",
      usage: { promptTokens: 18, completionTokens: 12, cachedPromptTokens: 0 },
      tokens: [...bytes("hello world"), EOS],
    });
    const sent = fake.calls.flatMap((c) => [...c.tokens]);
    expect(sent.slice(0, 18)).toEqual([tokenizer.bosId, ...bytes("say |hello world|")]);
  });

  it("renders messages with the chat template and takes token ids as they are", async () => {
    const messages = [{ role: "user" as const, content: "hi" }];
    const rendered = renderChat(tokenizer, { messages });
    const { generator, fake } = setup({}, { next: scriptAfter(rendered.tokens.length, bytes("hello")) });
    const r = await generator.generate({ messages });
    expect(r.text).toBe("hello");
    expect(r.usage.promptTokens).toBe(rendered.tokens.length);
    expect(fake.calls.flatMap((c) => [...c.tokens]).slice(0, rendered.tokens.length)).toEqual(
      rendered.tokens,
    );
    const withTools = await generator.generate({
      messages,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      reasoningEffort: "high",
    });
    expect(withTools.usage.promptTokens).toBeGreaterThan(rendered.tokens.length);

    const before = fake.calls.length;
    const t = await generator.generate({ tokens: bytes("|ok|"), maxTokens: 1 });
    expect(t.usage.promptTokens).toBe(4);
    expect([...fake.calls[before]!.tokens]).toEqual(bytes("|ok|"));
  });

  it("ends with finishReason length at maxTokens, and defaults maxTokens to the room left", async () => {
    const { generator } = setup();
    const r = await generator.generate({ prompt: "|hello world|", maxTokens: 3 });
    expect(r).toMatchObject({ text: "hel", finishReason: "length", tokens: bytes("hel") });
    // No bars: the fake never writes EOS, so the default limit (200 - 190 context left) ends it.
    const long = await generator.generate({ tokens: new Array(190).fill(1065) });
    expect(long.finishReason).toBe("length");
    expect(long.usage.completionTokens).toBe(10);
  });

  it("splits reasoning and reports tool calls with finishReason tool_calls", async () => {
    const script = [THINK, ...bytes("plan"), END_THINK, ...bytes("ok"), TOOL_CALLS, ...bytes("get"), ARGS];
    script.push(...bytes('{"a":1}'), EOS);
    const chat = { messages: USER_HI, tools: [tool("get")] };
    const { generator } = setup({}, { next: scriptAfter(promptLength(chat), script) });
    const { events, result: r } = await streamAll(generator, { ...chat, topLogprobs: 2, logprobs: true });
    expect(events.map((e) => e.type)).toEqual([
      ...new Array(4).fill("reasoning"),
      "text",
      "text",
      "tool_call_start",
      ...new Array(7).fill("tool_call_delta"),
      "tool_call_end",
      "done",
    ]);
    expect(r.reasoning).toBe("plan");
    expect(r.text).toBe("ok");
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]).toMatchObject({ name: "get", arguments: '{"a":1}' });
    expect(r.toolCalls[0]!.id).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(r.finishReason).toBe("tool_calls");
    expect(r.logprobs).toHaveLength(r.tokens.length);
    expect(r.logprobs![0]).toMatchObject({ token: "[THINK]", id: THINK });
    expect(r.logprobs![1]!.top.map((t) => t.token)).toHaveLength(2);
    expect(r.logprobs![1]!.top[0]).toMatchObject({ token: "p", id: bytes("p")[0] });

    const none = await generator.generate({ ...chat, toolChoice: "none" });
    expect(none.toolCalls).toEqual([]);
    expect(none.text).toBe('okget{"a":1}');
    expect(none.finishReason).toBe("stop");
    expect(none.logprobs).toBeUndefined();
  });
});

describe("stop strings", () => {
  it("ends before the first stop string, across token boundaries", async () => {
    const { generator } = setup();
    const r = await generator.generate({ prompt: "|hello world|", stop: "lo w" });
    expect(r).toMatchObject({ text: "hel", finishReason: "stop", tokens: bytes("hello w") });
    const first = await generator.generate({ prompt: "|hello world|", stop: ["wor", "o w", "zzz"] });
    expect(first.text).toBe("hell");
    const within = await generator.generate({ prompt: "|hello world|", stop: "ll" });
    expect(within.text).toBe("he");
  });

  it("never streams text that may still become a stop string", async () => {
    const { generator } = setup();
    const cases: [string, string[], string][] = [
      ["|hello world|", ["lo w"], "hel"],
      ["|hello world|", ["lo x", "d!"], "hello world"],
      ["|aaab|", ["aab"], "a"],
      ["|héllo|", ["é"], "h"],
      ["|日本語テキスト|", ["語テ"], "日本"],
    ];
    for (const [prompt, stop, want] of cases) {
      const deltas: string[] = [];
      let result: GenerateResult | undefined;
      for await (const ev of generator.stream({ prompt, stop })) {
        if (ev.type === "text") {
          deltas.push(ev.delta);
          const sofar = deltas.join("");
          expect(want.startsWith(sofar)).toBe(true);
          expect(sofar).not.toContain("\uFFFD");
        } else if (ev.type === "done") result = ev.result;
      }
      expect(deltas.join("")).toBe(want);
      expect(result?.text).toBe(want);
    }
  });

  it("holds a partial stop string only until it is ruled out", async () => {
    const { generator } = setup();
    const seen: string[] = [];
    for await (const ev of generator.stream({ prompt: "|abcabd|", stop: ["abd!"] })) {
      if (ev.type === "text") seen.push(ev.delta);
    }
    // "ab" is held twice ("abc" rules the first out); the final "abd" is released at the end.
    expect(seen).toEqual(["abc", "abd"]);
  });

  it("applies to content, not to reasoning", async () => {
    const script = [THINK, ...bytes("x STOP y"), END_THINK, ...bytes("a STOP b"), EOS];
    const { generator } = setup({}, { next: scriptAfter(2, script) });
    const r = await generator.generate({ tokens: [1, 1065], stop: "STOP" });
    expect(r).toMatchObject({ reasoning: "x STOP y", text: "a ", finishReason: "stop" });
  });
});

describe("abort", () => {
  it("settles with finishReason abort while queued, prefilling and decoding, and frees every block", async () => {
    let abortPrefill: (() => void) | undefined;
    const { generator, engine } = setup(
      { maxBatchSize: 1, maxTokensPerStep: 8 },
      { onStep: (b) => b.tokens.length === 8 && b.tokens[1] === bytes("P")[0] && abortPrefill?.() },
    );
    const busy = generator.generate({ prompt: "|a long answer here|" });

    const queued = new AbortController();
    const q = generator.generate({ prompt: "|never|", signal: queued.signal });
    setTimeout(() => queued.abort(), 0);

    const prefill = new AbortController();
    abortPrefill = () => prefill.abort();
    const p = generator.generate({ prompt: `P${"x".repeat(40)}|never|`, signal: prefill.signal });

    const decode = new AbortController();
    let n = 0;
    const d: StreamEvent[] = [];
    for await (const ev of generator.stream({ prompt: "|decoding for a while|", signal: decode.signal })) {
      d.push(ev);
      if (ev.type === "text" && ++n === 3) decode.abort();
    }
    const [qr, pr, br] = await Promise.all([q, p, busy]);
    expect(qr).toMatchObject({ finishReason: "abort", text: "", tokens: [] });
    expect(pr).toMatchObject({ finishReason: "abort", text: "", tokens: [] });
    const dr = d.at(-1)?.type === "done" ? (d.at(-1) as { result: GenerateResult }).result : undefined;
    expect(dr?.finishReason).toBe("abort");
    expect(dr?.text).toBe(textOf(d));
    expect(dr!.text.length).toBeGreaterThanOrEqual(3);
    expect("decoding for a while".startsWith(dr!.text)).toBe(true);
    expect(br).toMatchObject({ finishReason: "stop", text: "a long answer here" });
    await engine.idle();
    expect(engine.stats()).toMatchObject({ waiting: 0, running: 0, freeBlocks: 64 });
  });

  it("resolves at once for an already-aborted signal", async () => {
    const { generator, fake } = setup();
    const r = await generator.generate({ prompt: "|x|", signal: AbortSignal.abort() });
    expect(r).toMatchObject({
      finishReason: "abort",
      tokens: [],
      usage: { promptTokens: 4, completionTokens: 0 },
    });
    expect(fake.calls).toHaveLength(0);
  });

  it("aborts when the caller breaks out of the stream", async () => {
    const { generator, engine, fake } = setup();
    for await (const ev of generator.stream({ prompt: "no script here", maxTokens: 150 })) {
      if (ev.type === "text") break;
    }
    await engine.idle();
    expect(fake.calls.length).toBeLessThan(10);
    expect(engine.stats()).toMatchObject({ waiting: 0, running: 0, freeBlocks: 64 });
  });
});

describe("Generator.evaluate", () => {
  it("returns [vocab] for the last position or [T × vocab] for all", async () => {
    const { generator } = setup();
    const tokens = bytes("abcdefghij");
    const last = await generator.evaluate(tokens);
    expect(last).toBeInstanceOf(Float32Array);
    expect(last).toHaveLength(VOCAB);
    expect(last[100]).toBeCloseTo(fakeLogit(tokens, 9, 100), 5);
    const all = await generator.evaluate(tokens, { allPositions: true, startPosition: 10000 });
    expect(all).toHaveLength(10 * VOCAB);
    expect(all[3 * VOCAB + 7]).toBeCloseTo(fakeLogit(tokens.slice(0, 4), 10003, 7), 5);
  });

  it("rejects bad input and aborts with AbortError", async () => {
    const { generator } = setup();
    await expect(generator.evaluate([])).rejects.toThrow(InvalidArgumentError);
    await expect(generator.evaluate([1, VOCAB])).rejects.toThrow(/tokens\[1\]/);
    await expect(generator.evaluate(new Array(201).fill(1000))).rejects.toThrow(/at most 200 tokens/);
    await expect(generator.evaluate([1], { startPosition: -1 })).rejects.toThrow(/options.startPosition/);
    await expect(generator.evaluate([1], { signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    const c = new AbortController();
    const p = generator.evaluate(new Array(100).fill(1000), { signal: c.signal });
    c.abort();
    await expect(p).rejects.toThrow(AbortError);
  });
});

describe("request validation", () => {
  const bad: [string, GenerateRequest | unknown, RegExp][] = [
    ["no prompt", {}, /exactly one of messages, prompt or tokens/],
    ["two prompts", { prompt: "a", tokens: [1] }, /for prompt and tokens/],
    ["empty tokens", { tokens: [] }, /at least one token id for tokens/],
    ["out-of-range id", { tokens: [1, 5000] }, /a token id in \[0, 1256\) for tokens\[1\] but received 5000/],
    ["fractional id", { tokens: [1.5] }, /tokens\[0\]/],
    ["maxTokens 0", { prompt: "a", maxTokens: 0 }, /a positive integer for maxTokens/],
    ["maxTokens too big", { prompt: "a", maxTokens: 199 }, /at most 198 .* for maxTokens but received 199/],
    [
      "prompt too long",
      { tokens: new Array(200).fill(1000) },
      /a prompt shorter than the context of 200 tokens .* for tokens but received "200 prompt tokens"/,
    ],
    [
      "toolChoice required without tools",
      { messages: [{ role: "user", content: "x" }], toolChoice: "required" },
      /a forced call needs tools.*for toolChoice/,
    ],
    [
      "named tool that is not declared",
      {
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function", function: { name: "g", parameters: { type: "object" } } }],
        toolChoice: { type: "function", function: { name: "f" } },
      },
      /the name of a declared tool \(g\) for toolChoice.function.name but received "f"/,
    ],
    ["bad toolChoice", { prompt: "a", toolChoice: "sometimes" }, /for toolChoice/],
    ["responseFormat type", { prompt: "a", responseFormat: { type: "yaml" } }, /for responseFormat.type/],
    [
      "unsupported schema keyword",
      { prompt: "a", responseFormat: { type: "json_schema", schema: { type: "array", contains: {} } } },
      /contains is not supported.* for responseFormat.schema at #\/contains/,
    ],
    [
      "invalid tool schema",
      {
        messages: [{ role: "user", content: "x" }],
        tools: [
          {
            type: "function",
            function: {
              name: "f",
              parameters: { type: "object", properties: { n: { contains: {} } } },
            },
          },
        ],
        toolChoice: "required",
      },
      /contains is not supported.* for tools\[0\].function.parameters at #\/properties\/n\/contains/,
    ],
    [
      "maxTokens below the shortest document",
      {
        prompt: "a",
        maxTokens: 5,
        responseFormat: {
          type: "json_schema",
          schema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        },
      },
      /at least 12 .* for maxTokens but received 5/,
    ],
    [
      "maxReasoningTokens",
      { prompt: "a", maxReasoningTokens: -1 },
      /a non-negative integer for maxReasoningTokens/,
    ],
    ["tools without messages", { prompt: "a", tools: [] }, /for tools/],
    ["empty stop", { prompt: "a", stop: ["x", ""] }, /a non-empty string for stop\[1\]/],
    ["temperature", { prompt: "a", temperature: -1 }, /for temperature/],
    ["topLogprobs without logprobs", { prompt: "a", topLogprobs: 2 }, /for topLogprobs/],
    ["signal", { prompt: "a", signal: "now" }, /an AbortSignal for signal/],
    ["bad messages", { messages: "hi" }, /an array of chat messages for messages/],
  ];
  for (const [name, req, message] of bad) {
    it(`rejects ${name}`, async () => {
      const { generator, fake } = setup();
      const err = await generator.generate(req as GenerateRequest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(message);
      expect(fake.calls).toHaveLength(0);
    });
  }

  it("says when the KV pool can never hold the request", async () => {
    const { generator } = setup({ numBlocks: 4, blockSize: 4 });
    await expect(generator.generate({ prompt: "|hi|", maxTokens: 20 })).rejects.toThrow(OutOfMemoryError);
    // The default maxTokens fits what the pool holds: 16 entries - 5 prompt tokens + 1.
    const r = await generator.generate({ tokens: [1000, 1001, 1002, 1003, 1004] });
    expect(r).toMatchObject({ finishReason: "length", usage: { completionTokens: 12 } });
  });

  it("throws DisposedError once the engine is closed", async () => {
    const { generator, engine } = setup();
    await engine.close();
    await expect(generator.generate({ prompt: "a" })).rejects.toThrow(DisposedError);
    await expect(generator.evaluate([1])).rejects.toThrow(DisposedError);
  });
});

describe("tool calls", () => {
  const call = (name: string, args = "{}") => [TOOL_CALLS, ...bytes(name), ARGS, ...bytes(args)];

  it("without tools, a chat masks [TOOL_CALLS] out and nothing parses as a call", async () => {
    const chat = { messages: USER_HI };
    const script = [...bytes("ok"), ...call("get", '{"a":1}'), EOS];
    // The fake model ignores masks, so it writes the call anyway: the parser must not take it as one.
    const { generator, fake } = setup({}, { next: scriptAfter(promptLength(chat), script) });
    const r = await generator.generate(chat);
    expect(r.toolCalls).toEqual([]);
    expect(r.invalidToolCalls).toEqual([]);
    expect(r.finishReason).toBe("stop");
    expect(r.text).toBe('okget{"a":1}');
    const sampled = fake.calls.filter((b) => b.sampling !== null);
    expect(sampled.length).toBeGreaterThan(0);
    for (const b of sampled) {
      expect(allows(b, 0, TOOL_CALLS)).toBe(false);
      expect(allows(b, 0, bytes("o")[0]!)).toBe(true);
    }
    // An explicit "auto" without tools is the same: there is nothing to call.
    const auto = await generator.generate({ ...chat, toolChoice: "auto" });
    expect(auto).toMatchObject({ toolCalls: [], finishReason: "stop" });
  });

  it("a raw prompt is continued as the model writes it: no mask, no tool call parsed", async () => {
    const script = [...bytes("ok"), ...call("get"), EOS];
    const { generator, fake } = setup({}, { next: scriptAfter(3, script) });
    const r = await generator.generate({ tokens: [1, 1065, 1066] });
    expect(r).toMatchObject({ text: "okget{}", toolCalls: [], invalidToolCalls: [], finishReason: "stop" });
    expect(fake.calls.every((b) => (b.sampling?.masks ?? null) === null)).toBe(true);
  });

  it("a call naming an undeclared tool is reported in invalidToolCalls, never as a valid call", async () => {
    const chat = { messages: USER_HI, tools: [tool("get"), tool("put")] };
    const { generator } = setup(
      { maxContext: 400, numBlocks: 128 },
      { next: scriptAfter(promptLength(chat), [...call("delete_all"), EOS]) },
    );
    const { events, result } = await streamAll(generator, chat);
    expect(result.toolCalls).toEqual([]);
    expect(result.finishReason).toBe("stop");
    expect(result.invalidToolCalls).toEqual([
      {
        id: expect.stringMatching(/^[A-Za-z0-9]{9}$/),
        name: "delete_all",
        arguments: "{}",
        reason: "unknown_tool",
        message: 'the model called "delete_all", which is not a declared tool (declared: get, put)',
      },
    ]);
    expect(events.map((e) => e.type)).toEqual(["invalid_tool_call", "done"]);
  });

  it("keeps valid calls beside invalid ones, numbered among themselves, and ends with tool_calls", async () => {
    const chat = { messages: USER_HI, tools: [tool("get")] };
    const script = [...call("nope", '{"x":1}'), ...call("get", '{"a":2}'), EOS];
    const { generator } = setup({}, { next: scriptAfter(promptLength(chat), script) });
    const { events, result } = await streamAll(generator, chat);
    expect(result.toolCalls).toEqual([{ id: expect.any(String), name: "get", arguments: '{"a":2}' }]);
    expect(result.invalidToolCalls).toMatchObject([{ name: "nope", arguments: '{"x":1}' }]);
    expect(result.finishReason).toBe("tool_calls");
    const starts = events.filter((e) => e.type === "tool_call_start");
    expect(starts).toEqual([{ type: "tool_call_start", index: 0, id: result.toolCalls[0]!.id, name: "get" }]);
  });
});

describe("unknown options", () => {
  const cases: [string, unknown, RegExp][] = [
    [
      "a snake_case field",
      { prompt: "a", max_tokens: 4 },
      /^unknown option "max_tokens" \(did you mean "maxTokens"\?\)$/,
    ],
    [
      "a misspelt field",
      { prompt: "a", temprature: 0 },
      /unknown option "temprature" \(did you mean "temperature"\?\)/,
    ],
    [
      "a field with no near match",
      { prompt: "a", beamWidth: 4 },
      /unknown option "beamWidth" \(expected one of: messages, prompt/,
    ],
    [
      "a responseFormat field",
      { prompt: "a", responseFormat: { type: "json_schema", json_schema: { nmae: "x", schema: {} } } },
      /unknown option "nmae" in responseFormat.json_schema \(did you mean "name"\?\)/,
    ],
    [
      "a responseFormat wrapper field",
      { prompt: "a", responseFormat: { type: "json_schema", jsonSchema: { schema: {} } } },
      /unknown option "jsonSchema" in responseFormat \(did you mean "json_schema"\?\)/,
    ],
    [
      "a toolChoice field",
      { messages: USER_HI, tools: [tool("f")], toolChoice: { type: "function", function: { nmae: "f" } } },
      /unknown option "nmae" in toolChoice.function \(did you mean "name"\?\)/,
    ],
    [
      "a tool definition field",
      { messages: USER_HI, tools: [{ type: "function", function: { name: "f", paramters: {} } }] },
      /unknown field "paramters" in tools\[0\].function \(did you mean "parameters"\?\)/,
    ],
    [
      "a message field",
      { messages: [{ role: "user", content: "x", contnet: "y" }] },
      /unknown field "contnet" in request.messages\[0\] \(did you mean "content"\?\)/,
    ],
  ];
  for (const [name, req, message] of cases) {
    it(`rejects ${name}, naming it and the closest known one`, async () => {
      const { generator, fake } = setup();
      const err = await generator.generate(req as GenerateRequest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(message);
      expect(fake.calls).toHaveLength(0);
    });
  }

  it("rejects unknown evaluate options", async () => {
    const { generator } = setup();
    await expect(generator.evaluate([1, 2], { allPosition: true } as never)).rejects.toThrow(
      /unknown option "allPosition" in options \(did you mean "allPositions"\?\)/,
    );
  });
});

describe("continueFinalMessage", () => {
  const messages: ChatMessage[] = [
    { role: "user", content: "Say hello" },
    { role: "assistant", content: "Hello," },
  ];

  it("renders the final assistant message without </s> and returns only what follows it", async () => {
    const rendered = renderChat(tokenizer, { messages, continueFinalMessage: true });
    expect(rendered.text.endsWith("[/INST]Hello,")).toBe(true);
    const { generator, fake } = setup({}, { next: scriptAfter(rendered.tokens.length, bytes(" world")) });
    const r = await generator.generate({ messages, continueFinalMessage: true });
    expect(r).toMatchObject({
      text: " world",
      finishReason: "stop",
      usage: { promptTokens: rendered.tokens.length },
    });
    const sent = fake.calls.flatMap((c) => [...c.tokens]).slice(0, rendered.tokens.length);
    expect(sent).toEqual(rendered.tokens);
    expect(sent.at(-1)).not.toBe(EOS);
  });

  it("treats Mistral's prefix on the final message the same way", async () => {
    const prefixed: ChatMessage[] = [messages[0]!, { role: "assistant", content: "Hello,", prefix: true }];
    const rendered = renderChat(tokenizer, { messages: prefixed });
    expect(rendered.tokens).toEqual(renderChat(tokenizer, { messages, continueFinalMessage: true }).tokens);
    const { generator } = setup({}, { next: scriptAfter(rendered.tokens.length, bytes(" world")) });
    expect((await generator.generate({ messages: prefixed })).text).toBe(" world");
  });

  it("continues an open thinking part as reasoning", async () => {
    const thinking: ChatMessage[] = [
      messages[0]!,
      { role: "assistant", content: [{ type: "thinking", thinking: "Let me", closed: false }] },
    ];
    const rendered = renderChat(tokenizer, { messages: thinking, continueFinalMessage: true });
    expect(rendered.text.endsWith("[THINK]Let me")).toBe(true);
    const script = [...bytes(" think"), END_THINK, ...bytes("Hi"), EOS];
    const { generator } = setup({}, { next: scriptAfter(rendered.tokens.length, script) });
    const r = await generator.generate({ messages: thinking, continueFinalMessage: true });
    expect(r).toMatchObject({ reasoning: " think", text: "Hi" });
    await expect(
      generator.generate({ messages: thinking, continueFinalMessage: true, maxReasoningTokens: 4 }),
    ).rejects.toThrow(/maxReasoningTokens/);
  });

  it("refuses what a continuation cannot honour", async () => {
    const { generator, fake } = setup();
    const schema = { type: "json_schema", schema: { type: "object" } } as const;
    await expect(
      generator.generate({ messages, continueFinalMessage: true, responseFormat: schema }),
    ).rejects.toThrow(/no responseFormat or forced tool call with a continued message/);
    const withCall: ChatMessage[] = [
      messages[0]!,
      { role: "assistant", tool_calls: [{ id: "abcdefghi", function: { name: "f", arguments: "{}" } }] },
    ];
    await expect(generator.generate({ messages: withCall, continueFinalMessage: true })).rejects.toThrow(
      /does not end in a tool call/,
    );
    await expect(generator.generate({ prompt: "x", continueFinalMessage: true })).rejects.toThrow(
      /unless the request uses messages/,
    );
    await expect(generator.generate({ messages })).rejects.toThrow(ChatFormatError);
    expect(fake.calls).toHaveLength(0);
  });
});

describe("images", () => {
  const withImage: ChatMessage[] = [
    {
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        { type: "image", width: 28, height: 28 },
      ],
    },
  ];

  it("without a vision tower a request with an image part is an UnsupportedFeatureError, not a text-only run", async () => {
    const { generator, fake } = setup();
    // Rendering still lays the image out (renderChat counts its tokens).
    expect(renderChat(tokenizer, { messages: withImage }).images).toHaveLength(1);
    const err = await generator.generate({ messages: withImage }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect(err).toMatchObject({ code: "ERR_UNSUPPORTED_FEATURE", feature: "vision" });
    expect((err as Error).message).toMatch(/1 image\(s\), but this checkpoint has no vision tower/);
    const streamed = (async () => {
      for await (const _ of generator.stream({ messages: withImage })) {
        // never reached
      }
    })();
    await expect(streamed).rejects.toThrow(UnsupportedFeatureError);
    expect(fake.calls).toHaveLength(0);
  });

  it("image tokens in a token prompt or in evaluate() are invalid: features come only with image parts", async () => {
    const { generator, fake } = setup();
    const IMG = tokenizer.specialId("[IMG]");
    await expect(generator.generate({ tokens: [1, IMG, 1065] })).rejects.toThrow(
      /no image token ids .* for tokens\[1\] but received "\[IMG\]"/,
    );
    await expect(generator.evaluate([1, 1065, tokenizer.specialId("[IMG_END]")])).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(fake.calls).toHaveLength(0);
  });
});
