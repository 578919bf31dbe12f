/**
 * Bad requests get the right status and an OpenAI-shaped error naming the field, never a 500: a missing or
 * wrong API key, a body over the limit, JSON that does not parse, a wrong type in any field, a value the
 * model cannot take, an unknown model or route. Unknown fields are ignored.
 */
import { createServer, request } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Model } from "../../lib/model/model";
import { createOpenAIHandler } from "../../lib/server";
import { loadTinyModel, postJson, startTestServer, type TestServer } from "./helpers/in-process";

let model: Model;
let open: TestServer;
let keyed: TestServer;

beforeAll(async () => {
  model = await loadTinyModel();
  [open, keyed] = await Promise.all([
    startTestServer(model),
    startTestServer(model, { apiKey: "s3cret-key" }),
  ]);
});

afterAll(async () => {
  await Promise.all([open?.close(), keyed?.close()]);
  await model?.dispose();
});

const chat = (extra: Record<string, unknown> = {}) => ({
  model: "tiny",
  messages: [{ role: "user", content: "Hi" }],
  max_tokens: 4,
  ...extra,
});

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape
function expectOpenAIError(body: any, status: number, type: string): void {
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.type).toBe(type);
  expect(typeof body.error.message).toBe("string");
  expect(status).not.toBe(500);
}

describe("API key", () => {
  test("no key and a wrong key are 401 with WWW-Authenticate; the right key passes", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: "Bearer wrong" },
      { Authorization: "Bearer s3cret-key-but-longer" },
      { Authorization: "s3cret-key" },
    ];
    for (const headers of attempts) {
      const r = await fetch(`${keyed.url}/v1/models`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe("Bearer");
      expectOpenAIError(await r.json(), 401, "authentication_error");
    }
    const denied = await postJson(`${keyed.url}/v1/chat/completions`, chat(), {
      Authorization: "Bearer nope",
    });
    expect(denied.status).toBe(401);
    const ok = await postJson(`${keyed.url}/v1/chat/completions`, chat(), {
      Authorization: "Bearer s3cret-key",
    });
    expect(ok.status).toBe(200);
  });

  test("/health and /version answer without a key; /metrics needs it", async () => {
    expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
    expect((await fetch(`${keyed.url}/version`)).status).toBe(200);
    expect((await fetch(`${keyed.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${keyed.url}/metrics`, { headers: { Authorization: "Bearer s3cret-key" } })).status,
    ).toBe(200);
  });
});

describe("bodies", () => {
  test("a 10 MB body is a 413, declared or chunked, and the client reads the answer", async () => {
    const big = JSON.stringify(chat({ messages: [{ role: "user", content: "x".repeat(10 * 2 ** 20) }] }));
    const declared = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${open.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(big) },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on("error", reject);
      req.end(big);
    });
    expect(declared.status).toBe(413);
    expectOpenAIError(JSON.parse(declared.body), 413, "invalid_request_error");

    const chunked = await fetch(`${open.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++)
            controller.enqueue(
              new TextEncoder().encode(big.slice(i * 2 ** 20, (i + 1) * 2 ** 20 + (i === 9 ? 1000 : 0))),
            );
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
    // The server goes on answering.
    expect((await postJson(`${open.url}/v1/chat/completions`, chat())).status).toBe(200);
  });

  test("a body nested deeper than 64 levels is a 400, not a stack overflow", async () => {
    const depth = 20_000;
    const schema = '{"type":"array","items":'.repeat(depth) + '{"type":"string"}' + "}".repeat(depth);
    const body = `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schema}}}}`;
    const r = await postJson(`${open.url}/v1/chat/completions`, body);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/nested deeper than 64 levels/);
  });

  test("a request target that is not a URL is a 404 and the server lives on", async () => {
    const { port } = new URL(open.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write("GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      socket.once("data", (d) => {
        socket.destroy();
        resolve(d.toString());
      });
      socket.once("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect((await fetch(`${open.url}/health`)).status).toBe(200);
  });

  test("malformed JSON, a JSON array and an empty body are 400s", async () => {
    for (const body of ['{"model": "tiny", "messages": [', "[1, 2]", "", "null"]) {
      const r = await postJson(`${open.url}/v1/chat/completions`, body);
      expect(r.status).toBe(400);
      expectOpenAIError(r.body, 400, "invalid_request_error");
    }
  });
});

describe("wrong types in every field are 400s naming the field", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["model", { model: 1 }],
    ["messages", { messages: "hello" }],
    ["messages", { messages: [] }],
    ["messages[0]", { messages: [5] }],
    ["messages[0].role", { messages: [{ role: "wizard", content: "x" }] }],
    ["messages[0].content", { messages: [{ role: "user", content: 5 }] }],
    ["messages[0].content", { messages: [{ role: "user" }] }],
    ["messages[0].content[0].type", { messages: [{ role: "user", content: [{ type: "input_audio" }] }] }],
    ["messages[0].content[0].text", { messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] }],
    [
      "messages[0].content[0].image_url",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: 5 }] }] },
    ],
    [
      "messages[0].content[0].image_url.url",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: 5 } }] }] },
    ],
    ["messages[0].tool_calls", { messages: [{ role: "assistant", tool_calls: {} }] }],
    [
      "messages[0].tool_calls[0].id",
      {
        messages: [
          {
            role: "assistant",
            tool_calls: [{ id: 5, type: "function", function: { name: "f", arguments: "{}" } }],
          },
        ],
      },
    ],
    [
      "messages[0].tool_calls[0].function.name",
      { messages: [{ role: "assistant", tool_calls: [{ id: "abcdefghi", function: { name: 5 } }] }] },
    ],
    ["messages[0].tool_call_id", { messages: [{ role: "tool", content: "x", tool_call_id: 5 }] }],
    [
      "messages[0].reasoning_content",
      { messages: [{ role: "assistant", content: "x", reasoning_content: 5 }] },
    ],
    ["stream", { stream: "yes" }],
    ["stream_options", { stream: true, stream_options: 1 }],
    ["stream_options.include_usage", { stream: true, stream_options: { include_usage: "yes" } }],
    ["n", { n: "2" }],
    ["temperature", { temperature: "hot" }],
    ["top_p", { top_p: [] }],
    ["top_k", { top_k: 1.5 }],
    ["min_p", { min_p: {} }],
    ["repetition_penalty", { repetition_penalty: "x" }],
    ["presence_penalty", { presence_penalty: true }],
    ["frequency_penalty", { frequency_penalty: "0" }],
    ["seed", { seed: 1.5 }],
    ["stop", { stop: 5 }],
    ["stop[1]", { stop: ["a", 5] }],
    ["max_tokens", { max_tokens: "10" }],
    ["max_completion_tokens", { max_completion_tokens: 2.5 }],
    ["logit_bias", { logit_bias: [] }],
    ["user", { user: 5 }],
    ["logprobs", { logprobs: "yes" }],
    ["top_logprobs", { logprobs: true, top_logprobs: "3" }],
    ["tools", { tools: {} }],
    ["tools[0].type", { tools: [{ type: "code_interpreter" }] }],
    ["tools[0].function.name", { tools: [{ type: "function", function: { name: 5 } }] }],
    [
      "tools[0].function.parameters",
      { tools: [{ type: "function", function: { name: "f", parameters: "{}" } }] },
    ],
    ["tool_choice", { tool_choice: 5 }],
    ["tool_choice.function.name", { tool_choice: { type: "function", function: { name: 5 } } }],
    ["parallel_tool_calls", { parallel_tool_calls: "no" }],
    ["response_format", { response_format: "json" }],
    ["response_format.type", { response_format: { type: "xml" } }],
    ["response_format.json_schema", { response_format: { type: "json_schema" } }],
    [
      "response_format.json_schema.schema",
      { response_format: { type: "json_schema", json_schema: { name: "x", schema: [] } } },
    ],
    ["reasoning_effort", { reasoning_effort: 3 }],
    ["modalities", { modalities: "text" }],
  ];
  test.each(cases)("%s", async (param, extra) => {
    const r = await postJson(`${open.url}/v1/chat/completions`, chat(extra));
    expect(r.status).toBe(400);
    expectOpenAIError(r.body, 400, "invalid_request_error");
    expect(r.body.error.param).toBe(param);
    expect(r.body.error.message).toContain(param);
  });

  const completionCases: [string, Record<string, unknown>][] = [
    ["prompt", { prompt: 5 }],
    ["prompt[0]", { prompt: [1, "a"] }],
    ["logprobs", { logprobs: true }],
    ["echo", { echo: "yes" }],
    ["best_of", { best_of: "2" }],
    ["suffix", { suffix: 3 }],
  ];
  test.each(completionCases)("completions: %s", async (param, extra) => {
    const r = await postJson(`${open.url}/v1/completions`, {
      model: "tiny",
      prompt: "Hi",
      max_tokens: 2,
      ...extra,
    });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe(param);
  });
});

describe("values the model cannot take are 400s naming the OpenAI field", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["temperature", { temperature: -1 }],
    ["top_p", { top_p: 0 }],
    ["top_k", { top_k: -3 }],
    ["min_p", { min_p: 2 }],
    ["presence_penalty", { presence_penalty: 3 }],
    ["seed", { seed: -1 }],
    ["max_tokens", { max_tokens: 0 }],
    ["max_completion_tokens", { max_tokens: undefined, max_completion_tokens: 10_000_000 }],
    ["n", { n: 0 }],
    ["n", { n: 1000 }],
    ["top_logprobs", { logprobs: true, top_logprobs: 30 }],
    ["top_logprobs", { top_logprobs: 2 }],
    ["reasoning_effort", { reasoning_effort: "medium" }],
    ["logit_bias", { logit_bias: { "100": 5 } }],
    ["tool_choice", { tool_choice: "required" }],
    ["stop", { stop: Array.from({ length: 65 }, (_, i) => `s${i}`) }],
    ["stop[0]", { stop: [""] }],
    ["audio", { audio: { voice: "alloy", format: "mp3" } }],
    ["modalities", { modalities: ["text", "audio"] }],
    ["functions", { functions: [{ name: "f" }] }],
    ["stream_options", { stream_options: { include_usage: true } }],
    ["tools[0].function.name", { tools: [{ type: "function", function: { name: "bad name!" } }] }],
    [
      "messages[0].content[0].image_url",
      {
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] },
        ],
      },
    ],
    [
      "messages[0].content[0].image_url",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "/etc/passwd" } }] }] },
    ],
  ];
  test.each(cases)("%s", async (param, extra) => {
    const r = await postJson(`${open.url}/v1/chat/completions`, chat(extra));
    expect(r.status).toBe(400);
    expectOpenAIError(r.body, 400, "invalid_request_error");
    expect(r.body.error.param).toBe(param);
  });

  test("a forced tool that is not declared, a bad JSON schema and a malformed conversation are 400s", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
    const named = await postJson(
      `${open.url}/v1/chat/completions`,
      chat({ tools, tool_choice: { type: "function", function: { name: "nope" } } }),
    );
    expect(named.status).toBe(400);
    expect(named.body.error.param).toMatch(/^tool_choice/);
    const schema = await postJson(
      `${open.url}/v1/chat/completions`,
      chat({
        response_format: {
          type: "json_schema",
          // a back-reference: outside the supported regex subset (docs/structured-output.md)
          json_schema: {
            name: "x",
            schema: { type: "object", properties: { a: { type: "string", pattern: "(a)\\1" } } },
          },
        },
      }),
    );
    expect(schema.status).toBe(400);
    expect(schema.body.error.param).toMatch(/^response_format/);
    const orphan = await postJson(
      `${open.url}/v1/chat/completions`,
      chat({
        messages: [
          { role: "user", content: "x" },
          { role: "tool", tool_call_id: "abcdefghi", content: "r" },
        ],
      }),
    );
    expect(orphan.status).toBe(400);
    expectOpenAIError(orphan.body, 400, "invalid_request_error");
  });

  test("a prompt longer than the context is a 400 on messages", async () => {
    const words = "lighthouse keeper ".repeat(40_000);
    const r = await postJson(
      `${open.url}/v1/chat/completions`,
      chat({ messages: [{ role: "user", content: words }], max_tokens: undefined }),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe("messages");
    expect(r.body.error.message).toMatch(/context/);
  });
});

describe("what is not an error", () => {
  test("mounted behind a body parser (as with express.json()), the handler uses the parsed req.body", async () => {
    const handler = createOpenAIHandler(model, { servedModelNames: ["tiny"] });
    const http = createServer((req, res) => {
      let text = "";
      req.on("data", (d) => {
        text += d;
      });
      req.on("end", () => {
        (req as typeof req & { body: unknown }).body = JSON.parse(text);
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const r = await postJson(`http://127.0.0.1:${port}/v1/chat/completions`, chat());
      expect(r.status).toBe(200);
      expect(r.body.choices).toHaveLength(1);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  test("unknown fields are ignored, as the OpenAI API does", async () => {
    const r = await postJson(
      `${open.url}/v1/chat/completions`,
      chat({
        store: true,
        metadata: { a: "b" },
        service_tier: "auto",
        frobnicate: [1, 2],
        messages: [{ role: "user", content: "Hi", extra: 1 }],
      }),
    );
    expect(r.status).toBe(200);
    expect(r.body.object).toBe("chat.completion");
  });

  test("a request without `model` uses the served model; /v1/models/{id} knows it, other names are 404", async () => {
    const r = await postJson(`${open.url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 2,
    });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe("tiny");
    expect((await fetch(`${open.url}/v1/models/tiny`)).status).toBe(200);
    expect((await fetch(`${open.url}/v1/models/%E0%A4%A`)).status).toBe(404);
    const missing = await fetch(`${open.url}/v1/models/gpt-4`);
    expect(missing.status).toBe(404);
    expectOpenAIError(await missing.json(), 404, "not_found_error");
  });

  test("unknown routes are 404, wrong methods 405, both in the OpenAI shape", async () => {
    const route = await fetch(`${open.url}/v1/embeddings`, { method: "POST", body: "{}" });
    expect(route.status).toBe(404);
    expectOpenAIError(await route.json(), 404, "not_found_error");
    const method = await fetch(`${open.url}/v1/chat/completions`);
    expect(method.status).toBe(405);
    expect(method.headers.get("allow")).toBe("POST");
  });

  test("/tokenize and /detokenize round-trip text; /tokenize renders a chat as chat completions do", async () => {
    const t = await postJson(`${open.url}/tokenize`, {
      model: "tiny",
      prompt: "Bonjour le monde",
      return_token_strs: true,
    });
    expect(t.status).toBe(200);
    expect(t.body.tokens[0]).toBe(model.tokenizer.bosId);
    expect(t.body.count).toBe(t.body.tokens.length);
    expect(t.body.token_strs).toHaveLength(t.body.count);
    expect(t.body.max_model_len).toBe(model.kv.maxContext);
    const d = await postJson(`${open.url}/detokenize`, { model: "tiny", tokens: t.body.tokens });
    expect(d.body.prompt).toBe("Bonjour le monde");
    const messages = [{ role: "user", content: "Bonjour" }];
    const c = await postJson(`${open.url}/tokenize`, { messages, reasoning_effort: "high" });
    expect(c.body.tokens).toEqual(
      model.renderChat({ messages: [{ role: "user", content: "Bonjour" }], reasoningEffort: "high" }).tokens,
    );
    const bad = await postJson(`${open.url}/detokenize`, { tokens: [1, 10_000_000] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("tokens[1]");
  });
});
