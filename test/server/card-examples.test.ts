/**
 * The model card's three client examples, rewritten for the official `openai` npm client, run against
 * `ms4 serve` started as a child process on the built-in tiny model; plus streaming, logprobs, n, json_schema
 * and /v1/completions through the same client. The tiny model's weights are random, so the tests check the
 * protocol (shapes, ids, finish reasons, usage), not what the text says. The images are served by a local
 * HTTP server standing in for the card's image hosts.
 */
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ImageServer, startImageServer } from "./helpers/image-server";
import { type ServeProcess, startServe } from "./helpers/serve-process";
import { VISION_AVAILABLE } from "./helpers/vision";

/** The card's constants (MAX_TOK scaled down: random weights write until the limit). */
const TEMP = 0.15;
const MAX_TOK = 24;
const SYSTEM_PROMPT = "You are Mistral Small 4, a Large Language Model (LLM) created by Mistral AI.";

let serve: ServeProcess;
let images: ImageServer;
let client: OpenAI;
let model: string;

beforeAll(async () => {
  [serve, images] = await Promise.all([
    startServe(["--served-model-name", "mistral-small-4"]),
    startImageServer(),
  ]);
  client = new OpenAI({ apiKey: "EMPTY", baseURL: `${serve.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  expect(await serve?.stop()).toBe(0);
  await images?.close();
});

/** A request with an image: succeeds once vision exists, until then a 400 naming the image. */
async function expectImageAnswer<T>(call: () => Promise<T>): Promise<T | undefined> {
  if (VISION_AVAILABLE) return call();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  const apiError = error as InstanceType<typeof OpenAI.BadRequestError>;
  expect(apiError.status).toBe(400);
  expect(apiError.type).toBe("invalid_request_error");
  expect(apiError.message).toMatch(/image/i);
  return undefined;
}

function expectChatShape(response: OpenAI.Chat.Completions.ChatCompletion): void {
  expect(response.object).toBe("chat.completion");
  expect(response.id).toMatch(/^chatcmpl-/);
  expect(response.model).toBe(model);
  expect(response.choices).toHaveLength(1);
  const choice = response.choices[0]!;
  expect(["stop", "length", "tool_calls"]).toContain(choice.finish_reason);
  expect(choice.message.role).toBe("assistant");
  const usage = response.usage!;
  expect(usage.prompt_tokens).toBeGreaterThan(0);
  expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  expect(usage.completion_tokens).toBeLessThanOrEqual(MAX_TOK);
  expect(usage.prompt_tokens_details?.cached_tokens).toBeGreaterThanOrEqual(0);
}

const tools: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_current_population",
      description: "Get the up-to-date population of a given country.",
      parameters: {
        type: "object",
        properties: {
          country: { type: "string", description: "The country to find the population of." },
          unit: {
            type: "string",
            description: "The unit for the population.",
            enum: ["millions", "thousands"],
          },
        },
        required: ["country", "unit"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "rewrite",
      description: "Rewrite a given text for improved clarity",
      parameters: {
        type: "object",
        properties: { text: { type: "string", description: "The input text to rewrite" } },
      },
    },
  },
];

describe("the model card's examples through the openai client", () => {
  test("example 1: models.list, then a chat with a system prompt and reasoning_effort", async () => {
    const models = await client.models.list();
    model = models.data[0]!.id;
    expect(model).toBe("mistral-small-4");

    const messages: ChatCompletionMessageParam[] = [
      { role: "system", content: SYSTEM_PROMPT },
      { role: "user", content: "How many r are there in strawberry? Think about it." },
    ];
    const response = await client.chat.completions.create({
      model,
      messages,
      temperature: 0.7,
      max_tokens: MAX_TOK,
      reasoning_effort: "high",
    });
    expectChatShape(response);
    const message = response.choices[0]!.message as (typeof response.choices)[0]["message"] & {
      reasoning_content?: string | null;
    };
    expect(typeof message.content === "string" || message.tool_calls !== undefined).toBe(true);
    expect(message.reasoning_content === null || typeof message.reasoning_content === "string").toBe(true);

    const none = await client.chat.completions.create({
      model,
      messages,
      temperature: TEMP,
      max_tokens: MAX_TOK,
      reasoning_effort: "none",
    });
    expectChatShape(none);
  });

  test("example 2: tools, an image and a tool round trip", async () => {
    const messages: ChatCompletionMessageParam[] = [
      { role: "system", content: SYSTEM_PROMPT },
      {
        role: "user",
        content:
          "Could you please make the below article more concise?\n\nOpenAI is an artificial intelligence research laboratory consisting of the non-profit OpenAI Incorporated and its for-profit subsidiary corporation OpenAI Limited Partnership.",
      },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          {
            id: "bbc5b7ede",
            type: "function",
            function: {
              name: "rewrite",
              arguments:
                '{"text": "OpenAI is an artificial intelligence research laboratory consisting of the non-profit OpenAI Incorporated and its for-profit subsidiary corporation OpenAI Limited Partnership."}',
            },
          },
        ],
      },
      {
        role: "tool",
        content: '{"action":"rewrite","outcome":"OpenAI is a FOR-profit company."}',
        tool_call_id: "bbc5b7ede",
        // @ts-expect-error the card sends the deprecated `name` on tool messages; the server accepts it
        name: "rewrite",
      },
      { role: "assistant", content: "---\n\nOpenAI is a FOR-profit company." },
      {
        role: "user",
        content: [
          { type: "text", text: "Can you tell me what is the biggest country depicted on the map?" },
          { type: "image_url", image_url: { url: `${images.url}/europe.png` } },
        ],
      },
    ];
    const hitsBefore = images.hits.length;
    const response = await expectImageAnswer(() =>
      client.chat.completions.create({
        model,
        messages,
        temperature: TEMP,
        max_tokens: MAX_TOK,
        tools,
        tool_choice: "auto",
      }),
    );
    // The server fetched the image (then handed it to the library).
    expect(images.hits.slice(hitsBefore)).toContain("/europe.png");
    if (response === undefined) return;
    expectChatShape(response);
    messages.push({ role: "assistant", content: response.choices[0]!.message.content });
    messages.push({
      role: "user",
      content: [
        { type: "text", text: "What is the current population for the country depicted on the map?" },
      ],
    });
    const second = await client.chat.completions.create({
      model,
      messages,
      temperature: TEMP,
      max_tokens: MAX_TOK,
      tools,
      tool_choice: "auto",
    });
    expectChatShape(second);
  });

  test("example 3: an image with temperature 0.7", async () => {
    const response = await expectImageAnswer(() =>
      client.chat.completions.create({
        model,
        messages: [
          { role: "system", content: SYSTEM_PROMPT },
          {
            role: "user",
            content: [
              {
                type: "text",
                text: "What action do you think I should take in this situation? List all the possible actions and explain why you think they are good or bad.",
              },
              {
                type: "image_url",
                image_url: { url: `${images.url}/Battle.png/revision/latest?cb=20220523172438` },
              },
            ],
          },
        ],
        temperature: 0.7,
        max_tokens: MAX_TOK,
      }),
    );
    if (response !== undefined) expectChatShape(response);
  });

  test("an image as a data: URL goes to the library as it is", async () => {
    const url = `data:image/png;base64,${images.png.toString("base64")}`;
    const response = await expectImageAnswer(() =>
      client.chat.completions.create({
        model,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Describe" },
              { type: "image_url", image_url: { url } },
            ],
          },
        ],
        max_tokens: MAX_TOK,
      }),
    );
    if (response !== undefined) expectChatShape(response);
  });
});

describe("tool calls, streaming, logprobs, n, json_schema and completions through the openai client", () => {
  test("a forced tool call round trip: the 9-character id comes back, a foreign id is mapped", async () => {
    const messages: ChatCompletionMessageParam[] = [
      { role: "system", content: SYSTEM_PROMPT },
      { role: "user", content: "What is the population of France, in millions?" },
    ];
    const first = await client.chat.completions.create({
      model,
      messages,
      temperature: TEMP,
      max_tokens: 64,
      tools,
      tool_choice: { type: "function", function: { name: "get_current_population" } },
    });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const calls = choice.message.tool_calls!;
    expect(calls).toHaveLength(1);
    const call = calls[0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_current_population");
    const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
    expect(typeof args.country).toBe("string");
    expect(["millions", "thousands"]).toContain(args.unit);

    messages.push({ role: "assistant", content: null, tool_calls: calls });
    messages.push({ role: "tool", tool_call_id: call.id, content: '{"population": 68.4}' });
    // A call made elsewhere, with an id the model could not read: mapped, not rejected.
    messages.push({ role: "user", content: "And Spain?" });
    messages.push({
      role: "assistant",
      content: null,
      tool_calls: [
        {
          id: "call_0Ab-spain",
          type: "function",
          function: { name: "get_current_population", arguments: '{"country":"Spain","unit":"millions"}' },
        },
      ],
    });
    messages.push({ role: "tool", tool_call_id: "call_0Ab-spain", content: '{"population": 48.6}' });
    const second = await client.chat.completions.create({
      model,
      messages,
      temperature: TEMP,
      max_tokens: MAX_TOK,
      tools,
      tool_choice: "none",
    });
    expectChatShape(second);
    expect(second.choices[0]!.message.tool_calls).toBeUndefined();
  });

  test("streaming: a role chunk, deltas, a finish reason, usage, [DONE]; the chunks add up to the answer", async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Tell me a story" }],
      temperature: 0,
      max_tokens: MAX_TOK,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const finishes: (string | null)[] = [];
    let usage: OpenAI.Completions.CompletionUsage | undefined | null;
    let first = true;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (first) expect(c.delta.role).toBe("assistant");
        first = false;
        text += c.delta.content ?? "";
        if (c.finish_reason) finishes.push(c.finish_reason);
      }
    }
    expect(finishes).toHaveLength(1);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    const whole = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Tell me a story" }],
      temperature: 0,
      max_tokens: MAX_TOK,
    });
    // Greedy decoding: the streamed text is the whole answer's text.
    expect(text).toBe(whole.choices[0]!.message.content ?? "");
  });

  test("streaming a forced tool call: the id and name first, then argument deltas that parse", async () => {
    const stream = client.chat.completions.stream({
      model,
      messages: [{ role: "user", content: "Rewrite this" }],
      max_tokens: 64,
      tools,
      tool_choice: "required",
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]!.message
      .tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(["get_current_population", "rewrite"]).toContain(call.function.name);
    expect(() => JSON.parse(call.function.arguments)).not.toThrow();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  test("logprobs with top_logprobs: one entry per token, each with its alternatives and bytes", async () => {
    const response = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 8,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = response.choices[0]!.logprobs!.content!;
    expect(content.length).toBeGreaterThan(0);
    expect(content.length).toBeLessThanOrEqual(8);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
      expect(Array.isArray(entry.bytes)).toBe(true);
      const best = Math.max(...entry.top_logprobs.map((t) => t.logprob));
      expect(best).toBeGreaterThanOrEqual(entry.logprob - 1e-4);
    }
  });

  test("n: 2 gives two choices with their own index, streamed or not; a seed repeats them", async () => {
    const request = {
      model,
      messages: [{ role: "user" as const, content: "Hi" }],
      max_tokens: 8,
      n: 2,
      seed: 7,
      temperature: 1,
    };
    const a = await client.chat.completions.create(request);
    const b = await client.chat.completions.create(request);
    expect(a.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(b.choices.map((c) => c.message.content)).toEqual(a.choices.map((c) => c.message.content));
    const texts = ["", ""];
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      for (const c of chunk.choices) texts[c.index] += c.delta.content ?? "";
    }
    expect(texts).toEqual(a.choices.map((c) => c.message.content ?? ""));
  });

  test("response_format json_schema: the answer parses and fits the schema", async () => {
    const response = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Give me a city and its population" }],
      max_tokens: 96,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "city",
          strict: true,
          schema: {
            type: "object",
            properties: { city: { type: "string", maxLength: 12 }, population: { type: "integer" } },
            required: ["city", "population"],
            additionalProperties: false,
          },
        },
      },
    });
    const choice = response.choices[0]!;
    expect(choice.finish_reason).toBe("stop");
    const value = JSON.parse(choice.message.content!) as { city: unknown; population: unknown };
    expect(typeof value.city).toBe("string");
    expect(Number.isInteger(value.population)).toBe(true);
  });

  test("/v1/completions: text and token-id prompts, streamed or not, with logprobs and echo", async () => {
    const text = await client.completions.create({
      model,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
      logprobs: 2,
    });
    expect(text.object).toBe("text_completion");
    expect(text.choices).toHaveLength(1);
    expect(text.choices[0]!.logprobs!.tokens!.length).toBeLessThanOrEqual(6);
    expect(text.usage!.completion_tokens).toBeLessThanOrEqual(6);

    const ids = await client.completions.create({
      model,
      prompt: [
        [1, 1500, 1600],
        [1, 1700],
      ],
      max_tokens: 4,
      temperature: 0,
    });
    expect(ids.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(ids.usage!.prompt_tokens).toBe(5);

    let streamed = "";
    for await (const chunk of await client.completions.create({
      model,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
      stream: true,
    })) {
      streamed += chunk.choices[0]?.text ?? "";
    }
    expect(streamed).toBe(text.choices[0]!.text);

    const echo = await client.completions.create({
      model,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
      echo: true,
    });
    expect(echo.choices[0]!.text).toBe(`Once upon a time${text.choices[0]!.text}`);
  });

  test("errors come back as the client's typed errors: unknown model 404, bad value 400 naming the field", async () => {
    await expect(
      client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const error = (await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "x" }], top_p: 3 })
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe("top_p");
    expect(error.message).toMatch(/top_p/);
  });
});
