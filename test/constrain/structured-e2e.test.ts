/**
 * Structured output, forced tool calls and reasoning budgets on the tiny model. Its weights are random, so
 * only the grammar makes the output valid: every result must parse and validate.
 */
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ChatMessage, FunctionTool } from "../../lib/chat/types";
import { buildGrammar, checkResponseFormat, checkToolChoice } from "../../lib/constrain/request";
import { tokenTableFor } from "../../lib/constrain/token-table";
import { Generator } from "../../lib/generation/generator";
import type { GenerateRequest, GenerateResult, StreamEvent } from "../../lib/generation/types";
import { Model } from "../../lib/model/model";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { CORPUS, REGEX_PATTERNS } from "./corpus";
import { SCHEMAS } from "./schemas";
import { validatorFor } from "./validator";

let checkpoints: TinyCheckpoints;
let model: Model;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-constrain-");
  const dir = await checkpoints.get({ layout: "native", quant: "bf16", seed: 21 });
  model = await Model.load(dir, { kvCacheMemory: 16 << 20, maxContext: 1024 });
});
afterAll(async () => {
  await model?.dispose();
  await checkpoints?.cleanup();
});

const ajv = new Ajv({ strict: false });
const user = (content: string): ChatMessage[] => [{ role: "user", content }];

function minTokens(schema: unknown): number {
  const g = buildGrammar(tokenTableFor(model.tokenizer), {
    responseFormat: checkResponseFormat({ type: "json_schema", schema }),
    tools: [],
    toolChoice: checkToolChoice("auto"),
  });
  return g!.minTokens;
}

describe("json_schema: every output parses and validates", () => {
  for (const [name, schema] of Object.entries(CORPUS)) {
    test(name, async () => {
      const validate = validatorFor(schema);
      const responseFormat = { type: "json_schema" as const, schema };
      const base = { messages: user(`Answer as JSON: ${name}`), responseFormat };
      const small = minTokens(schema) + 2;
      const large = Math.max(96, small + 40);
      const requests: GenerateRequest[] = [
        { ...base, maxTokens: large, seed: 1, temperature: 1 },
        { ...base, maxTokens: large, seed: 2, temperature: 1.5, topP: 0.9 },
        { ...base, maxTokens: large, seed: 5, temperature: 0.7 },
        { ...base, maxTokens: Math.max(64, small), temperature: 0 },
        { ...base, maxTokens: small, seed: 3, temperature: 1 },
      ];
      const results = await Promise.all(requests.map((r) => model.generate(r)));
      results.forEach((r, i) => {
        const where = `${name} #${i}: ${JSON.stringify(r.text)}`;
        expect(r.finishReason, where).toBe("stop");
        expect(r.tokens.length).toBeLessThanOrEqual(requests[i]!.maxTokens!);
        const value = JSON.parse(r.text);
        expect(validate(value), `${where} ${JSON.stringify(validate.errors)}`).toBe(true);
        expect(r.toolCalls).toEqual([]);
      });
    });
  }

  test("the OpenAI json_schema wrapper is accepted", async () => {
    const schema = SCHEMAS["flat object"]!;
    const r = await model.generate({
      messages: user("x"),
      responseFormat: { type: "json_schema", json_schema: { name: "flat", schema, strict: true } },
      maxTokens: 80,
      seed: 4,
    });
    expect(ajv.validate(schema as object, JSON.parse(r.text))).toBe(true);
  });

  test("a budget below the shortest document is rejected up front", async () => {
    const schema = SCHEMAS["nested objects"]!;
    await expect(
      model.generate({ messages: user("x"), responseFormat: { type: "json_schema", schema }, maxTokens: 10 }),
    ).rejects.toThrow(/at least \d+ .* for maxTokens but received 10/);
  });
});

describe("json_object", () => {
  test("always a JSON object, large and small budgets", async () => {
    const runs = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((seed) =>
        model.generate({
          prompt: "Some JSON:",
          responseFormat: { type: "json_object" },
          maxTokens: seed % 2 === 0 ? 4 : 120,
          seed,
          temperature: seed === 5 ? 0 : 1,
        }),
      ),
    );
    for (const r of runs) {
      const v = JSON.parse(r.text);
      expect(v !== null && typeof v === "object" && !Array.isArray(v), r.text).toBe(true);
      expect(r.finishReason).toBe("stop");
    }
  });
});

describe("regex and choice response formats", () => {
  test.each(REGEX_PATTERNS.map((p) => [p]))("the whole answer matches %s", async (pattern) => {
    const full = new RegExp(`^(?:${pattern})$`, "u");
    const requests: GenerateRequest[] = [1, 2, 3].map((seed) => ({
      prompt: "Answer:",
      responseFormat: { type: "regex", pattern },
      maxTokens: seed === 3 ? 24 : 64,
      seed,
      temperature: seed === 2 ? 1.5 : 1,
    }));
    const results = await Promise.all(requests.map((r) => model.generate(r)));
    for (const r of results) {
      expect(full.test(r.text), JSON.stringify(r.text)).toBe(true);
      expect(["stop"]).toContain(r.finishReason);
    }
  });

  test("choice: exactly one of the strings, also when one is a prefix of another", async () => {
    const choices = ["yes", "yesterday", "no", "peut-être", "🙂"];
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((seed) =>
        model.generate({ prompt: "Pick:", responseFormat: { type: "choice", choices }, maxTokens: 16, seed }),
      ),
    );
    for (const r of results) expect(choices).toContain(r.text);
  });

  test("bad patterns and choices are InvalidArgumentErrors naming the field", async () => {
    await expect(
      model.generate({ prompt: "x", responseFormat: { type: "regex", pattern: "(?=a)b" } }),
    ).rejects.toThrow(/look-ahead .* for responseFormat.pattern/);
    await expect(
      model.generate({ prompt: "x", responseFormat: { type: "choice", choices: [] } }),
    ).rejects.toThrow(/for responseFormat.choices/);
    await expect(
      model.generate({ prompt: "x", responseFormat: { type: "regex", pattern: "a", flags: "i" } as never }),
    ).rejects.toThrow(/unknown option "flags" in responseFormat/);
  });
});

const calculator: FunctionTool = {
  type: "function",
  function: {
    name: "calculator",
    description: "Evaluate an arithmetic expression.",
    parameters: {
      type: "object",
      properties: { expression: { type: "string", description: "e.g. 2 + 2", maxLength: 30 } },
      required: ["expression"],
      additionalProperties: false,
    },
  },
};
const weather: FunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", minLength: 1, maxLength: 20 },
        unit: { enum: ["celsius", "fahrenheit"] },
        days: { type: "integer" },
      },
      required: ["city", "unit"],
      additionalProperties: false,
    },
  },
};
const tools = [calculator, weather];
const paramsOf = (name: string) => tools.find((t) => t.function.name === name)!.function.parameters as object;

describe("function calling", () => {
  test('"required" and a named tool force one valid call; finishReason tool_calls', async () => {
    const choices = [
      "required",
      "required",
      { name: "get_weather" },
      { type: "function", function: { name: "calculator" } },
    ] as const;
    const results = await Promise.all(
      choices.flatMap((toolChoice, i) =>
        [1.0, 0.0].map((temperature) =>
          model.generate({
            messages: user("What is the weather in Paris, and what is 2+2?"),
            tools,
            toolChoice,
            temperature,
            seed: 10 + i,
            maxTokens: i === 0 ? 96 : 48,
          }),
        ),
      ),
    );
    results.forEach((r, k) => {
      const choice = choices[Math.floor(k / 2)]!;
      expect(r.finishReason).toBe("tool_calls");
      expect(r.toolCalls).toHaveLength(1);
      const call = r.toolCalls[0]!;
      expect(call.id).toMatch(/^[A-Za-z0-9]{9}$/);
      if (typeof choice === "object")
        expect(call.name).toBe("name" in choice ? choice.name : choice.function.name);
      else expect(["calculator", "get_weather"]).toContain(call.name);
      expect(ajv.validate(paramsOf(call.name), JSON.parse(call.arguments)), call.arguments).toBe(true);
      expect(r.text).toBe("");
    });
  });

  test("stream() reports the forced call as tool-call events", async () => {
    const events: StreamEvent[] = [];
    for await (const ev of model.stream({
      messages: user("Weather?"),
      tools,
      toolChoice: { name: "get_weather" },
      maxTokens: 60,
      seed: 3,
    }))
      events.push(ev);
    const start = events.find((e) => e.type === "tool_call_start");
    expect(start).toMatchObject({ name: "get_weather" });
    const args = events.map((e) => (e.type === "tool_call_delta" ? e.argumentsDelta : "")).join("");
    const done = events.at(-1) as Extract<StreamEvent, { type: "done" }>;
    expect(done.result.toolCalls[0]!.arguments).toBe(args);
    expect(done.result.finishReason).toBe("tool_calls");
  });

  test('"none" never produces a call', async () => {
    const { toolCallsId } = tokenTableFor(model.tokenizer);
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        model.generate({
          messages: user("Use a tool"),
          tools,
          toolChoice: "none",
          maxTokens: 40,
          seed,
          temperature: 1.5,
        }),
      ),
    );
    for (const r of results) {
      expect(r.toolCalls).toEqual([]);
      expect(r.tokens).not.toContain(toolCallsId);
      expect(r.finishReason).not.toBe("tool_calls");
    }
  });

  test('"auto" with a responseFormat: either the JSON document or a valid call', async () => {
    const schema = SCHEMAS["integer vs number"]!;
    const results = await Promise.all(
      [1, 2, 3].map((seed) =>
        model.generate({
          messages: user("x"),
          tools,
          responseFormat: { type: "json_schema", schema },
          maxTokens: 80,
          seed,
        }),
      ),
    );
    for (const r of results) {
      if (r.toolCalls.length > 0) {
        expect(r.finishReason).toBe("tool_calls");
        expect(ajv.validate(paramsOf(r.toolCalls[0]!.name), JSON.parse(r.toolCalls[0]!.arguments))).toBe(
          true,
        );
      } else expect(ajv.validate(schema as object, JSON.parse(r.text))).toBe(true);
    }
  });

  test("calculator round trip: forced call, tool result, second turn", async () => {
    const messages: ChatMessage[] = user("What is 2 + 2? Use the calculator.");
    const first = await model.generate({
      messages,
      tools: [calculator],
      toolChoice: "required",
      maxTokens: 60,
      seed: 7,
    });
    expect(first.finishReason).toBe("tool_calls");
    const call = first.toolCalls[0]!;
    const { expression } = JSON.parse(call.arguments) as { expression: string };
    expect(typeof expression).toBe("string");
    const followUp: ChatMessage[] = [
      ...messages,
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } },
        ],
      },
      { role: "tool", tool_call_id: call.id, content: "4" },
    ];
    const rendered = model.renderChat({ messages: followUp, tools: [calculator] });
    // The encoder re-dumps the arguments the way mistral-common does (json.dumps separators).
    expect(rendered.text).toMatch(
      /\[TOOL_CALLS\]calculator\[ARGS\]\{"expression": ".*"\}<\/s>\[TOOL_RESULTS\]4\[\/TOOL_RESULTS\]$/s,
    );
    const second = await model.generate({
      messages: followUp,
      tools: [calculator],
      maxTokens: 16,
      seed: 8,
      temperature: 0,
    });
    expect(["stop", "length", "tool_calls"]).toContain(second.finishReason);
    expect(second.usage.promptTokens).toBe(rendered.tokens.length);
  });
});

describe("reasoning", () => {
  test("a forced [THINK] block is cut by maxReasoningTokens, then the constrained answer follows", async () => {
    const generator = new Generator({
      tokenizer: model.tokenizer,
      engine: model.engine,
      renderChat: (req) => model.renderChat(req),
      grammarThinking: "required",
    });
    const think = model.tokenizer.specialId("[THINK]");
    const endThink = model.tokenizer.specialId("[/THINK]");
    const schema = SCHEMAS["flat object"]!;
    const results: GenerateResult[] = await Promise.all(
      [1, 2, 3].map((seed) =>
        generator.generate({
          messages: user("Think, then answer"),
          reasoningEffort: "high",
          maxReasoningTokens: 6,
          responseFormat: { type: "json_schema", schema },
          maxTokens: 90,
          seed,
        }),
      ),
    );
    for (const r of results) {
      expect(r.tokens[0]).toBe(think);
      const end = r.tokens.indexOf(endThink);
      expect(end).toBeGreaterThan(0);
      expect(end).toBeLessThanOrEqual(7); // at most 6 reasoning tokens, then [/THINK] was forced
      expect(r.reasoning.length).toBeGreaterThan(0);
      expect(ajv.validate(schema as object, JSON.parse(r.text)), r.text).toBe(true);
    }
  });

  test("the thinking block leaves room for the answer when maxTokens is small", async () => {
    const generator = new Generator({
      tokenizer: model.tokenizer,
      engine: model.engine,
      renderChat: (req) => model.renderChat(req),
      grammarThinking: "required",
    });
    const r = await generator.generate({
      messages: user("x"),
      reasoningEffort: "high",
      responseFormat: { type: "json_object" },
      maxTokens: 8,
      seed: 1,
    });
    expect(r.finishReason).toBe("stop");
    expect(typeof JSON.parse(r.text)).toBe("object");
  });

  test('with reasoningEffort "high" the thinking block is optional; with "none" it is not allowed', async () => {
    const think = model.tokenizer.specialId("[THINK]");
    const schema = SCHEMAS.nullable!;
    const [high, none] = await Promise.all(
      (["high", "none"] as const).map((reasoningEffort) =>
        model.generate({
          messages: user("x"),
          reasoningEffort,
          responseFormat: { type: "json_schema", schema },
          maxTokens: 60,
          seed: 2,
        }),
      ),
    );
    expect(ajv.validate(schema as object, JSON.parse(high!.text))).toBe(true);
    expect(ajv.validate(schema as object, JSON.parse(none!.text))).toBe(true);
    expect(none!.tokens).not.toContain(think);
    expect(none!.reasoning).toBe("");
  });
});
