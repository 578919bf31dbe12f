/**
 * SIGTERM in the middle of a stream: `ms4 serve` stops accepting connections, lets the stream finish within
 * --shutdown-timeout (or, past it, ends the stream with an error event), disposes the model and exits 0.
 */
import { describe, expect, test } from "vitest";
import { startServe } from "./helpers/serve-process";

const longStream = JSON.stringify({
  messages: [{ role: "user", content: "Count" }],
  stream: true,
  max_tokens: 1600,
  response_format: {
    type: "json_schema",
    json_schema: { name: "numbers", schema: { type: "array", items: { type: "integer" }, minItems: 400 } },
  },
});

/** Starts a stream and resolves once its first bytes arrived; `rest` resolves with the whole text. */
async function openStream(url: string): Promise<{ rest: Promise<string> }> {
  const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: longStream });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const rest = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { rest };
}

describe("ms4 serve shutdown", () => {
  test("SIGTERM mid-stream: the stream finishes, new connections are refused, the process exits 0", async () => {
    const serve = await startServe(["--shutdown-timeout", "30"]);
    const { rest } = await openStream(serve.url);
    serve.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    const late = await fetch(`${serve.url}/health`).then(
      (r) => r.status,
      () => "refused",
    );
    expect([503, "refused"]).toContain(late);
    const text = await rest;
    expect(text).toMatch(/"finish_reason":"(stop|length)"/);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(await serve.exited).toBe(0);
    expect(serve.stderr()).toMatch(/SIGTERM: shutting down \(1 request\(s\) in flight/);
    expect(serve.stderr()).toMatch(/ms4 serve: stopped/);
  });

  test("past --shutdown-timeout the stream ends with a shutting_down error event; the process still exits 0", async () => {
    const serve = await startServe(["--shutdown-timeout", "0"]);
    const { rest } = await openStream(serve.url);
    serve.child.kill("SIGTERM");
    const text = await rest;
    expect(text).toMatch(
      /data: \{"error":\{"message":"The server is shutting down","type":"server_error","param":null,"code":"shutting_down"\}\}/,
    );
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(await serve.exited).toBe(0);
  });
});
