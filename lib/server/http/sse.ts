/**
 * Server-sent events for streamed completions: `data: <json>\n\n` per event and `data: [DONE]\n\n` at the
 * end, as the OpenAI API frames them. The framing is one line of code; what matters is backpressure, so it is
 * written here rather than taken from an SSE library: `send` resolves only once the socket has taken the
 * bytes (Node's `drain`), so a reader that stops reading stops the writer, the writer stops pulling events from
 * `model.stream()`, and the engine pauses that sequence. Nothing is buffered beyond the socket's high-water
 * mark and one event.
 */
import type { ServerResponse } from "node:http";
import type { OpenAIErrorBody } from "../errors";

/** Thrown by `send` when the client has gone away; the caller stops generating. */
export class ClientGoneError extends Error {
  constructor() {
    super("the client closed the connection");
    this.name = "ClientGoneError";
  }
}

export class SseStream {
  private drained: Promise<void> | undefined;
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  /** True once the client has closed the connection (or the response has ended). */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Sends the 200 and the SSE headers (done by the first `send` otherwise). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    this.res.flushHeaders();
  }

  /**
   * Writes one event. Resolves at once (undefined, no promise to wait on) while the socket takes the bytes;
   * otherwise returns a promise that resolves once it has drained. Throws ClientGoneError once the client is
   * gone.
   */
  send(data: unknown): Promise<void> | undefined {
    return this.sendJson(JSON.stringify(data));
  }

  /** `send` for an event already serialized to JSON. */
  sendJson(json: string): Promise<void> | undefined {
    return this.write(`data: ${json}\n\n`);
  }

  /** An error after the stream started: the OpenAI error object as an event (clients raise it), then [DONE]. */
  async fail(error: OpenAIErrorBody): Promise<void> {
    await this.send(error);
    await this.end();
  }

  async end(): Promise<void> {
    await this.write("data: [DONE]\n\n");
    this.res.end();
  }

  private write(text: string): Promise<void> | undefined {
    if (this.drained !== undefined) return this.drained.then(() => this.write(text));
    this.start();
    if (this.closed) throw new ClientGoneError();
    if (this.res.write(text)) return undefined;
    this.drained = new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        this.drained = undefined;
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
    return this.drained;
  }
}
