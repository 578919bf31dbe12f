/**
 * Cross-origin access: off by default (a preflight is a 405, no CORS headers); with allowedOrigins, an allowed
 * origin's preflight is answered without the API key and its requests carry Access-Control-Allow-Origin, while
 * other origins get no CORS headers (the browser refuses the response).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import type { Model } from "../../lib/model/model";
import { createOpenAIHandler } from "../../lib/server";
import { loadTinyModel, startTestServer, type TestServer } from "./helpers/in-process";

let model: Model;
let plain: TestServer;
let withCors: TestServer;
const APP = "https://chat.example.com";

beforeAll(async () => {
  model = await loadTinyModel();
  plain = await startTestServer(model);
  withCors = await startTestServer(model, {
    apiKey: "secret",
    allowedOrigins: [APP, "http://localhost:5173"],
  });
});

afterAll(async () => {
  await plain?.close();
  await withCors?.close();
  await model?.dispose();
});

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
    },
  });
}

describe("CORS", () => {
  test("without allowedOrigins a preflight is a 405 and responses carry no CORS headers", async () => {
    const pre = await preflight(plain.url, APP);
    expect(pre.status).toBe(405);
    const models = await fetch(`${plain.url}/v1/models`, { headers: { Origin: APP } });
    expect(models.status).toBe(200);
    expect(models.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("an allowed origin's preflight is a 204 naming the route's method and the asked headers, without the key", async () => {
    const pre = await preflight(withCors.url, APP);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-methods")).toBe("POST, OPTIONS");
    expect(pre.headers.get("access-control-allow-headers")).toBe(
      "authorization, content-type, x-stainless-os",
    );
    expect(pre.headers.get("access-control-max-age")).toBe("600");
    expect(pre.headers.get("access-control-allow-origin")).toBe(APP);
  });

  test("an allowed origin's requests and errors carry Access-Control-Allow-Origin; others get none", async () => {
    const ok = await fetch(`${withCors.url}/v1/chat/completions`, {
      method: "POST",
      headers: { Origin: APP, Authorization: "Bearer secret", "Content-Type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 }),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP);
    expect(ok.headers.get("vary")).toMatch(/Origin/);
    const unauthorized = await fetch(`${withCors.url}/v1/models`, { headers: { Origin: APP } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("access-control-allow-origin")).toBe(APP);
    const other = await preflight(withCors.url, "https://evil.example.net");
    expect(other.status).toBe(204);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const missing = await fetch(`${withCors.url}/v1/nothing`, { headers: { Origin: APP } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe(APP);
    const otherGet = await fetch(`${withCors.url}/health`, {
      headers: { Origin: "https://evil.example.net" },
    });
    expect(otherGet.headers.get("access-control-allow-origin")).toBeNull();
  });

  test('"*" allows any origin; a malformed origin is an InvalidArgumentError', async () => {
    const any = await startTestServer(model, { allowedOrigins: ["*"] });
    try {
      const pre = await preflight(any.url, "https://anything.example");
      expect(pre.headers.get("access-control-allow-origin")).toBe("https://anything.example");
    } finally {
      await any.close();
    }
    for (const bad of [["https://a.example/path"], ["not a url"], [""], "https://a.example"]) {
      expect(() => createOpenAIHandler(model, { allowedOrigins: bad as string[] })).toThrow(
        InvalidArgumentError,
      );
    }
  });
});
