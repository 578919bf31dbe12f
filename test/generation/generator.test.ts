import { describe, expect, it } from "vitest";
import { renderChat } from "../../lib/chat/index";
import { Engine, type EngineOptions } from "../../lib/engine/engine";
import { AbortError, DisposedError, InvalidArgumentError, OutOfMemoryError } from "../../lib/errors";
import { Generator } from "../../lib/generation/generator";
import type { GenerateRequest, GenerateResult, StreamEvent } from "../../lib/generation/types";
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

describe("Generator.generate", () => {
  it("continues a raw prompt after BOS and stops at EOS", async () => {
    const { generator, fake } = setup();
    const r = await generator.generate({ prompt: "say |hello world|", temperature: 0 });
    expect(r).toEqual({
      text: "hello world",
      reasoning: "",
      toolCalls: [],
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
    const { generator } = setup({}, { next: scriptAfter(3, script) });
    const { events, result: r } = await streamAll(generator, {
      tokens: [1, 1065, 1066],
      topLogprobs: 2,
      logprobs: true,
    });
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

    const none = await generator.generate({ tokens: [1, 1065, 1066], toolChoice: "none" });
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
      { prompt: "a", responseFormat: { type: "json_schema", schema: { type: "string", pattern: "^a" } } },
      /"pattern" is not supported.* for responseFormat.schema at #\/pattern/,
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
              parameters: { type: "object", properties: { n: { type: "integer", minimum: 1 } } },
            },
          },
        ],
        toolChoice: "required",
      },
      /"minimum" is not supported.* for tools\[0\].function.parameters at #\/properties\/n\/minimum/,
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

  it("throws DisposedError after close", async () => {
    const { generator } = setup();
    await generator.close();
    await expect(generator.generate({ prompt: "a" })).rejects.toThrow(DisposedError);
    await expect(generator.evaluate([1])).rejects.toThrow(DisposedError);
  });
});
