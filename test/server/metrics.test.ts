/** `GET /metrics` and `/health`, `/version`: what a monitoring system scrapes. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Model } from "../../lib/model/model";
import { loadTinyModel, postJson, startTestServer, type TestServer } from "./helpers/in-process";

let model: Model;
let server: TestServer;
beforeAll(async () => {
  model = await loadTinyModel();
  server = await startTestServer(model);
});
afterAll(async () => {
  await server?.close();
  await model?.dispose();
});

function sample(text: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[{}"[\]+.]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  if (!match) throw new Error(`no sample ${name} in\n${text}`);
  return Number(match[1]);
}

describe("metrics", () => {
  test("requests, tokens, latency histograms and engine state move with the traffic", async () => {
    const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
    const before = await scrape();
    expect(before).toMatch(/^# TYPE ms4_time_to_first_token_seconds histogram$/m);
    const whole = await postJson(`${server.url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 6,
    });
    const stream = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], max_tokens: 6, stream: true }),
    });
    await stream.text();
    await postJson(`${server.url}/v1/chat/completions`, { messages: [] });
    const after = await scrape();

    const ok = 'ms4_requests_total{endpoint="/v1/chat/completions",status="200"}';
    expect(sample(after, ok)).toBe(2);
    expect(sample(after, 'ms4_requests_total{endpoint="/v1/chat/completions",status="400"}')).toBe(1);
    expect(sample(after, "ms4_prompt_tokens_total")).toBe(2 * whole.body.usage.prompt_tokens);
    expect(sample(after, "ms4_generation_tokens_total")).toBeGreaterThanOrEqual(
      whole.body.usage.completion_tokens,
    );
    expect(sample(after, "ms4_time_to_first_token_seconds_count")).toBe(2);
    expect(sample(after, 'ms4_time_to_first_token_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(sample(after, "ms4_inter_token_latency_seconds_count")).toBeGreaterThan(0);
    expect(sample(after, "ms4_request_duration_seconds_count")).toBe(2);
    expect(sample(after, 'ms4_kv_cache_blocks{state="used"}')).toBe(0);
    expect(sample(after, 'ms4_kv_cache_blocks{state="free"}')).toBe(model.stats().freeBlocks);
    // The second identical prompt found the first one's blocks.
    expect(sample(after, "ms4_prefix_cache_hits_total")).toBeGreaterThan(0);
    expect(sample(after, 'ms4_engine_sequences{state="running"}')).toBe(0);
  });

  test("/health is ok and /version is the package's", async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: "ok" });
    const { version } = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
      version: string;
    };
    expect(await (await fetch(`${server.url}/version`)).json()).toEqual({ version });
  });
});
