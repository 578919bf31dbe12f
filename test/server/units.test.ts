/** The server's pure parts: id mapping, field names in errors, output mapping, admission, metrics text. */
import { describe, expect, test } from "vitest";
import { ChatFormatError, DisposedError, InvalidArgumentError } from "../../lib/errors";
import type { GenerateResult } from "../../lib/generation/types";
import { Admission } from "../../lib/server/admission";
import { COMMON_PARAM_NAMES, HttpError, openAIParam, toHttpError } from "../../lib/server/errors";
import { Counter, Gauge, Histogram } from "../../lib/server/metrics/prometheus";
import { assistantMessage, DeltaMapper } from "../../lib/server/openai/assistant-output";
import { toModelToolCallId } from "../../lib/server/openai/tool-call-ids";
import { usageOf } from "../../lib/server/openai/usage";

describe("tool-call ids", () => {
  test("the model's 9-character ids are kept; others map to 9 alphanumerics, the same every time", () => {
    expect(toModelToolCallId("bbc5b7ede")).toBe("bbc5b7ede");
    for (const foreign of ["call_abc123", "chatcmpl-tool-9f8e7d6c5b4a", "1", "x".repeat(200), "abc-def-g"]) {
      const mapped = toModelToolCallId(foreign);
      expect(mapped).toMatch(/^[a-zA-Z0-9]{9}$/);
      expect(toModelToolCallId(foreign)).toBe(mapped);
    }
    expect(toModelToolCallId("call_1")).not.toBe(toModelToolCallId("call_2"));
  });
});

describe("library errors in OpenAI terms", () => {
  test("argument paths become OpenAI field paths", () => {
    expect(openAIParam("topP")).toBe("top_p");
    expect(openAIParam("toolChoice.function.name")).toBe("tool_choice.function.name");
    expect(openAIParam("request.messages[2].content[0].image_url")).toBe("messages[2].content[0].image_url");
    expect(openAIParam("responseFormat.json_schema.schema at #/properties/a")).toBe(
      "response_format.json_schema.schema at #/properties/a",
    );
    expect(openAIParam("stop[3]")).toBe("stop[3]");
    expect(openAIParam("maxTokens", { ...COMMON_PARAM_NAMES, maxTokens: "max_completion_tokens" })).toBe(
      "max_completion_tokens",
    );
  });

  test("bad input is a 400 whose message uses the OpenAI name; a disposed model a 503; the rest a 500", () => {
    const bad = toHttpError(new InvalidArgumentError("topP", "a number in (0, 1]", 2));
    expect(bad).toMatchObject({ status: 400, param: "top_p", type: "invalid_request_error" });
    expect(bad.message).toBe("Expected a number in (0, 1] for top_p but received 2");
    const chat = toHttpError(new ChatFormatError("messages[1]: tool_call_id was x but must be 9 characters"));
    expect(chat).toMatchObject({ status: 400, param: "messages[1]" });
    expect(toHttpError(new DisposedError()).status).toBe(503);
    const internal = toHttpError(new TypeError("x is undefined"));
    expect(internal).toMatchObject({ status: 500, code: "internal_error" });
    expect(internal.message).not.toMatch(/undefined/);
    const http = new HttpError(429, "rate_limit_error", "busy");
    expect(toHttpError(http)).toBe(http);
  });
});

function result(overrides: Partial<GenerateResult>): GenerateResult {
  return {
    text: "",
    reasoning: "",
    toolCalls: [],
    invalidToolCalls: [],
    finishReason: "stop",
    usage: { promptTokens: 10, completionTokens: 5, cachedPromptTokens: 0 },
    tokens: [],
    ...overrides,
  };
}

describe("assistant output", () => {
  const calls = [
    { id: "aaaaaaaa1", name: "f", arguments: '{"a":1}' },
    { id: "aaaaaaaa2", name: "g", arguments: "{}" },
  ];

  test("content, reasoning_content and tool_calls; content is null when only calls came", () => {
    expect(assistantMessage(result({ text: "Hi", reasoning: "think" }), true)).toEqual({
      role: "assistant",
      content: "Hi",
      reasoning_content: "think",
    });
    const message = assistantMessage(result({ toolCalls: calls, finishReason: "tool_calls" }), true);
    expect(message.content).toBeNull();
    expect(message.reasoning_content).toBeNull();
    expect(message.tool_calls).toEqual([
      { id: "aaaaaaaa1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
      { id: "aaaaaaaa2", type: "function", function: { name: "g", arguments: "{}" } },
    ]);
  });

  test("parallel_tool_calls: false keeps only the first call, whole or streamed", () => {
    expect(assistantMessage(result({ toolCalls: calls }), false).tool_calls).toHaveLength(1);
    const mapper = new DeltaMapper(false);
    expect(mapper.delta({ type: "tool_call_start", index: 0, id: "aaaaaaaa1", name: "f" })).toEqual({
      tool_calls: [{ index: 0, id: "aaaaaaaa1", type: "function", function: { name: "f", arguments: "" } }],
    });
    expect(mapper.delta({ type: "tool_call_delta", index: 0, argumentsDelta: '{"a"' })).toEqual({
      tool_calls: [{ index: 0, function: { arguments: '{"a"' } }],
    });
    expect(mapper.delta({ type: "tool_call_start", index: 1, id: "aaaaaaaa2", name: "g" })).toBeUndefined();
    expect(mapper.delta({ type: "tool_call_delta", index: 1, argumentsDelta: "{}" })).toBeUndefined();
    expect(mapper.delta({ type: "reasoning", delta: "hmm" })).toEqual({ reasoning_content: "hmm" });
    expect(mapper.delta({ type: "text", delta: "ok" })).toEqual({ content: "ok" });
  });

  test("usage counts each prompt once and every choice's completion", () => {
    const r = (p: number, c: number, cached: number) =>
      result({ usage: { promptTokens: p, completionTokens: c, cachedPromptTokens: cached } });
    expect(usageOf([r(10, 3, 0), r(10, 4, 8), r(7, 2, 0), r(7, 5, 4)], 2)).toEqual({
      prompt_tokens: 17,
      completion_tokens: 14,
      total_tokens: 31,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });
});

describe("admission", () => {
  test("runs up to the limit, queues in order, refuses past the queue with Retry-After, drops waiters that leave", async () => {
    const admission = new Admission({ maxConcurrent: 1, maxQueued: 2, retryAfterSeconds: 3 });
    const signal = new AbortController().signal;
    const first = await admission.acquire(signal);
    const order: string[] = [];
    const second = admission.acquire(signal).then((release) => {
      order.push("second");
      return release;
    });
    const leaving = new AbortController();
    const third = admission.acquire(leaving.signal).catch((e: unknown) => e);
    await expect(admission.acquire(signal)).rejects.toMatchObject({
      status: 429,
      headers: { "Retry-After": "3" },
    });
    expect([admission.running, admission.queued]).toEqual([1, 2]);
    leaving.abort(new Error("gone"));
    expect(await third).toMatchObject({ message: "gone" });
    expect(admission.queued).toBe(1);
    first();
    first(); // a second release of the same slot changes nothing
    (await second)();
    expect(order).toEqual(["second"]);
    expect([admission.running, admission.queued]).toEqual([0, 0]);
  });
});

describe("Prometheus text", () => {
  test("counters, gauges and histograms in the exposition format", () => {
    const counter = new Counter("ms4_x_total", "Things.");
    counter.inc({ endpoint: "/v1/models", status: "200" });
    counter.inc({ endpoint: "/v1/models", status: "200" }, 2);
    counter.inc({ endpoint: 'a"b\\c', status: "500" });
    expect(counter.render()).toBe(
      '# HELP ms4_x_total Things.\n# TYPE ms4_x_total counter\nms4_x_total{endpoint="/v1/models",status="200"} 3\nms4_x_total{endpoint="a\\"b\\\\c",status="500"} 1\n',
    );
    expect(new Counter("ms4_y_total", "None yet.").render()).toMatch(/\nms4_y_total 0\n$/);
    expect(new Gauge("ms4_g", "G.", () => [[{ state: "used" }, 4]]).render()).toBe(
      '# HELP ms4_g G.\n# TYPE ms4_g gauge\nms4_g{state="used"} 4\n',
    );
    const h = new Histogram("ms4_h_seconds", "H.", [0.1, 1]);
    for (const v of [0.05, 0.5, 2]) h.observe(v);
    expect(h.render()).toBe(
      '# HELP ms4_h_seconds H.\n# TYPE ms4_h_seconds histogram\nms4_h_seconds_bucket{le="0.1"} 1\nms4_h_seconds_bucket{le="1"} 2\nms4_h_seconds_bucket{le="+Inf"} 3\nms4_h_seconds_sum 2.55\nms4_h_seconds_count 3\n',
    );
  });
});
