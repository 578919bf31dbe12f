import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DisposedError, InvalidArgumentError } from "../../lib/errors";
import { Model } from "../../lib/model/model";
import { compareLogits } from "../helpers/native-steps";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { ReferenceModel } from "../reference/reference-model";

let checkpoints: TinyCheckpoints;
let dir: string;
let model: Model;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-e2e-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 9 });
  model = await Model.load(dir, { kvCacheMemory: 8 << 20, maxContext: 4096 });
});
afterAll(async () => {
  await model.dispose();
  await checkpoints.cleanup();
});

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

describe("generate() end to end on the tiny model", () => {
  test("a chat request runs: text, usage and finish reason", async () => {
    const r = await model.generate({
      messages: [{ role: "user", content: "Bonjour" }],
      maxTokens: 12,
      temperature: 0,
    });
    const prompt = model.renderChat({ messages: [{ role: "user", content: "Bonjour" }] });
    expect(r.usage.promptTokens).toBe(prompt.tokens.length);
    expect(r.usage.completionTokens).toBe(r.tokens.length);
    expect(r.usage.completionTokens).toBeLessThanOrEqual(12);
    expect(["length", "stop", "tool_calls"]).toContain(r.finishReason);
    expect(typeof r.text).toBe("string");
  });

  test("greedy generation follows the argmax of evaluate() token by token", async () => {
    const tokens = model.tokenizer.encode("The little lighthouse");
    const prompt = [model.tokenizer.bosId, ...tokens];
    const r = await model.generate({ tokens: prompt, maxTokens: 6, temperature: 0 });
    const context = [...prompt];
    for (const t of r.tokens) {
      if (t === model.tokenizer.eosId) break;
      expect(t).toBe(argmax(await model.evaluate(context)));
      context.push(t);
    }
  });

  test("the same seed gives the same tokens; another seed gives others", async () => {
    const req = { prompt: "Once upon a time", maxTokens: 16, temperature: 1.0, topP: 0.95 };
    const a = await model.generate({ ...req, seed: 42 });
    const b = await model.generate({ ...req, seed: 42 });
    const c = await model.generate({ ...req, seed: 43 });
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  test("stream() yields deltas whose concatenation is the final text", async () => {
    let text = "";
    let done: unknown;
    for await (const ev of model.stream({ prompt: "Hello", maxTokens: 10, temperature: 0.8, seed: 1 })) {
      if (ev.type === "text") text += ev.delta;
      if (ev.type === "done") done = ev.result;
    }
    expect(done).toBeDefined();
    expect(text).toBe((done as { text: string }).text);
  });

  test("an aborted request settles with finishReason abort", async () => {
    const controller = new AbortController();
    const pending = model.generate({
      prompt: "abc",
      maxTokens: 400,
      temperature: 1,
      seed: 3,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 5);
    const r = await pending;
    expect(r.finishReason).toBe("abort");
  });

  test("the event loop stays responsive while the model computes", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    await model.generate({ prompt: "tick tock", maxTokens: 64, temperature: 1, seed: 5 });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A blocked loop would fire the timer about once; a free one fires it every few milliseconds.
    expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 10));
  });

  test("evaluate() returns logits matching the float64 reference, for all positions and from an explicit start", async () => {
    const reference = await ReferenceModel.open(dir);
    const tokens = [1, ...model.tokenizer.encode("Une phrase en français.")];
    const all = await model.evaluate(tokens, { allPositions: true });
    expect(all.length).toBe(tokens.length * model.config.vocabSize);
    // BF16 KV cache (the default) bounds the error at ~1e-2 relative.
    expect(compareLogits(all, reference.forward(tokens), model.config.vocabSize).relError).toBeLessThan(2e-2);
    const positions = tokens.map((_, i) => 10000 + i);
    const far = await model.evaluate(tokens, { allPositions: true, startPosition: 10000 });
    expect(
      compareLogits(far, reference.forward(tokens, positions), model.config.vocabSize).relError,
    ).toBeLessThan(2e-2);
  });

  test("continueFinalMessage continues the assistant text: the first greedy token follows it, no </s> between", async () => {
    const messages = [
      { role: "user" as const, content: "Say hello" },
      { role: "assistant" as const, content: "Hello" },
    ];
    const rendered = model.renderChat({ messages, continueFinalMessage: true });
    expect(rendered.tokens.at(-1)).not.toBe(model.tokenizer.eosId);
    expect(rendered.text.endsWith("[/INST]Hello")).toBe(true);
    const r = await model.generate({ messages, continueFinalMessage: true, maxTokens: 1, temperature: 0 });
    expect(r.usage.promptTokens).toBe(rendered.tokens.length);
    expect(r.tokens[0]).toBe(argmax(await model.evaluate(rendered.tokens)));
  });

  test("unknown request options and image parts are typed errors, not silently ignored", async () => {
    const messages = [{ role: "user" as const, content: "Bonjour" }];
    await expect(model.generate({ messages, max_tokens: 4 } as never)).rejects.toThrow(
      'unknown option "max_tokens" (did you mean "maxTokens"?)',
    );
    expect(() => model.renderChat({ messages, continue_final_message: true } as never)).toThrow(
      /did you mean "continueFinalMessage"\?/,
    );
    // A whole generate request may be rendered (to count its prompt).
    expect(model.renderChat({ messages, temperature: 0, maxTokens: 3 } as never).tokens).toEqual(
      model.renderChat({ messages }).tokens,
    );
    const image = [
      {
        role: "user" as const,
        content: [
          { type: "text" as const, text: "What is this?" },
          { type: "image" as const, width: 28, height: 28 },
        ],
      },
    ];
    expect(model.renderChat({ messages: image }).images).toHaveLength(1);
    // A size alone lays the image out; generating needs its pixels.
    await expect(model.generate({ messages: image, maxTokens: 1 })).rejects.toMatchObject({
      code: "ERR_IMAGE",
      reason: "no_pixels",
    });
  });

  test("invalid requests are typed errors naming the field", async () => {
    await expect(model.generate({ prompt: "x", temperature: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(model.generate({ tokens: [1, 999999] })).rejects.toThrow(/tokens/);
    const long = Array.from({ length: 5000 }, () => 1100);
    await expect(model.generate({ tokens: long, maxTokens: 1 })).rejects.toThrow(/context|maxContext|prompt/);
  });
});

test("generate after dispose is a DisposedError", async () => {
  const m = await Model.load(dir, { kvCacheMemory: 1 << 20 });
  await m.dispose();
  await expect(m.generate({ prompt: "x" })).rejects.toBeInstanceOf(DisposedError);
  await expect(m.evaluate([1, 2])).rejects.toBeInstanceOf(DisposedError);
});
