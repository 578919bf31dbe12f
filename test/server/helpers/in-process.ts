/** The server in the test's own process, on the built-in tiny model, so tests can read `model.stats()`. */
import { Model } from "../../../lib/model/model";
import { createServer, type Ms4Server, type ServerOptions } from "../../../lib/server";

export interface TestServer {
  readonly url: string;
  readonly server: Ms4Server;
  close(): Promise<void>;
}

export async function loadTinyModel(): Promise<Model> {
  return Model.load(undefined, { maxBatchSize: 16 });
}

export async function startTestServer(model: Model, options: ServerOptions = {}): Promise<TestServer> {
  const server = createServer(model, { port: 0, servedModelNames: ["tiny"], ...options });
  const { url } = await server.listen();
  return { url, server, close: () => server.close({ graceMs: 1000 }) };
}

/** POSTs JSON; resolves with the status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any shape, read by the tests
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Waits until `check` holds, polling every 20 ms, failing after `ms`. */
export async function waitFor(check: () => boolean, ms = 10_000, what = "the condition"): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
