/**
 * The server under abuse keeps its promises: 200 concurrent streams with clients vanishing at random leave
 * every KV block free and the server answering; a client that never reads is held back by backpressure
 * (the engine pauses its sequence, the server buffers one socket's worth); a full queue is a 429 with
 * Retry-After; a request over its time limit is a 504 (or an error event in a stream); a client that leaves
 * stops its generation.
 */
import { createServer as createHttpServer, request } from "node:http";
import { Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Model } from "../../lib/model/model";
import { createOpenAIHandler } from "../../lib/server";
import { loadTinyModel, postJson, startTestServer, type TestServer, waitFor } from "./helpers/in-process";

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

/** A request whose output cannot end early: the grammar needs at least `items` integers. */
function longChat(items: number, extra: Record<string, unknown> = {}) {
  return {
    model: "tiny",
    messages: [{ role: "user", content: "Count" }],
    max_tokens: items * 4,
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "numbers",
        schema: { type: "array", items: { type: "integer" }, minItems: items },
      },
    },
    ...extra,
  };
}

function engineIdle(): boolean {
  const s = model.stats();
  return s.running === 0 && s.waiting === 0 && s.paused === 0 && s.usedBlocks === 0;
}

/** Mulberry32: the test's disconnect pattern is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("many clients", () => {
  test("200 concurrent streams, about half dropped mid-stream: the rest finish, every KV block is free, the server answers", async () => {
    const rand = random(14);
    const body = (i: number) =>
      JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: `Story number ${i}` }],
        max_tokens: 12,
        stream: true,
      });
    type Outcome = { kind: "done"; status: number; text: string } | { kind: "dropped" };
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const dropAfter = rand() < 0.5 ? Math.floor(rand() * 4) : Number.POSITIVE_INFINITY;
        const beforeAnswer = dropAfter === 0 && rand() < 0.3;
        return new Promise<Outcome>((resolve) => {
          const req = request(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
          });
          const drop = () => {
            req.destroy();
            resolve({ kind: "dropped" });
          };
          req.on("response", (res) => {
            let text = "";
            res.on("data", (d: Buffer) => {
              text += d;
              if (text.split("\n\n").length - 1 > dropAfter) drop();
            });
            res.on("end", () => resolve({ kind: "done", status: res.statusCode!, text }));
            res.on("error", () => resolve({ kind: "dropped" }));
          });
          req.on("error", () => resolve({ kind: "dropped" }));
          // Some leave before the first byte of the answer.
          req.end(body(i), beforeAnswer ? () => setTimeout(drop, rand() * 20) : undefined);
        });
      }),
    );
    for (const o of outcomes) {
      if (o.kind !== "done") continue;
      expect(o.status).toBe(200);
      expect(o.text.endsWith("data: [DONE]\n\n")).toBe(true);
    }
    const dropped = outcomes.filter((o) => o.kind === "dropped").length;
    expect(dropped).toBeGreaterThan(60);
    expect(dropped).toBeLessThan(140);
    await waitFor(engineIdle, 10_000, "the engine to free every sequence");
    expect(model.stats().usedBlocks).toBe(0);
    await waitFor(
      () => server.server.handler.activeRequests === 0,
      5000,
      "the handler to finish every request",
    );
    const after = await postJson(`${server.url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "Still there?" }],
      max_tokens: 4,
    });
    expect(after.status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/ms4_kv_cache_blocks\{state="used"\} 0\n/);
    expect(metrics).toMatch(/ms4_server_requests\{state="running"\} 0\n/);
  });

  test("a client that leaves stops its generation and frees its blocks", async () => {
    const controller = new AbortController();
    const pending = fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(longChat(3000)),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await waitFor(() => model.stats().running === 1, 5000, "the generation to start");
    controller.abort();
    await pending;
    await waitFor(engineIdle, 5000, "the generation to stop");
    const decoded = model.stats().decodeTokens;
    await new Promise((r) => setTimeout(r, 100));
    expect(model.stats().decodeTokens).toBe(decoded);
  });
});

/**
 * A connection handed straight to the HTTP server whose reader never reads: its first write never
 * completes, so everything else the server writes stays in its buffer (a real socket would first fill the
 * kernel's buffers, a few MB on loopback, then behave the same).
 */
class NeverReadingConnection extends Duplex {
  readonly received: Buffer[] = [];
  private held: (() => void)[] = [];
  private blocked = true;
  private pending: Buffer | undefined;

  constructor(request: Buffer) {
    super();
    this.pending = request;
  }

  override _read(): void {
    if (this.pending) {
      this.push(this.pending);
      this.pending = undefined;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.received.push(chunk);
    if (this.blocked) this.held.push(done);
    else done();
  }

  /** Starts reading: everything held back flows. */
  release(): void {
    this.blocked = false;
    for (const done of this.held.splice(0)) done();
  }

  text(): string {
    return Buffer.concat(this.received).toString();
  }

  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

describe("slow clients", () => {
  test("a stream nobody reads is paused by backpressure; nothing piles up; reading resumes it to the end", async () => {
    const handler = createOpenAIHandler(model, { servedModelNames: ["tiny"] });
    const http = createHttpServer(handler);
    const body = JSON.stringify(longChat(600, { stream: true }));
    const connection = new NeverReadingConnection(
      Buffer.from(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      ),
    );
    http.emit("connection", connection);
    await waitFor(() => model.stats().paused === 1, 10_000, "the engine to pause the unread stream");
    const decoded = model.stats().decodeTokens;
    await new Promise((r) => setTimeout(r, 300));
    expect(model.stats().decodeTokens).toBe(decoded);
    expect(model.stats().paused).toBe(1);
    // What the server holds for this client: the socket's buffer up to its high-water mark and one event.
    expect(connection.writableLength).toBeLessThan(64 * 1024);
    // Meanwhile everyone else is served.
    const other = await postJson(`${server.url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 4,
    });
    expect(other.status).toBe(200);

    connection.release();
    await waitFor(() => connection.text().includes("data: [DONE]"), 20_000, "the stream to finish");
    expect(connection.text()).toMatch(/"finish_reason":"stop"/);
    await waitFor(engineIdle, 5000, "the engine to be idle");
    await handler.close({ graceMs: 0 });
  });
});

describe("limits", () => {
  test("with every slot and queue place taken, a request is a 429 with Retry-After; queued ones run later", async () => {
    const small = await startTestServer(model, { maxConcurrentRequests: 1, maxQueuedRequests: 1 });
    try {
      const controller = new AbortController();
      const running = fetch(`${small.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify(longChat(1500)),
        signal: controller.signal,
      }).catch((e: unknown) => e);
      await waitFor(() => model.stats().running === 1, 5000, "the first request to run");
      const queued = postJson(`${small.url}/v1/chat/completions`, {
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 2,
      });
      await new Promise((r) => setTimeout(r, 50));
      const refused = await postJson(`${small.url}/v1/chat/completions`, {
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 2,
      });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(refused.body.error.type).toBe("rate_limit_error");
      controller.abort();
      await running;
      expect((await queued).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  test("a request over the time limit is a 504; a stream over it ends with an error event and [DONE]", async () => {
    const hasty = await startTestServer(model, { requestTimeoutMs: 500 });
    try {
      const whole = await postJson(`${hasty.url}/v1/chat/completions`, longChat(4000));
      expect(whole.status).toBe(504);
      expect(whole.body.error.type).toBe("timeout_error");
      const stream = await fetch(`${hasty.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify(longChat(4000, { stream: true })),
      });
      expect(stream.status).toBe(200);
      const text = await stream.text();
      expect(text).toMatch(
        /data: \{"error":\{"message":"The request took longer than the server's time limit"/,
      );
      expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
      await waitFor(engineIdle, 5000, "the timed-out generations to stop");
    } finally {
      await hasty.close();
    }
  });
});
