/**
 * Server-sent events for streamed completions: `data: <json>\n\n` per event and `data: [DONE]\n\n` at the
 * end, as the OpenAI API frames them. The framing is one line of code; what matters is written here rather
 * than taken from an SSE library:
 *
 * - Backpressure. Once the socket stops taking bytes (Node's `write` returns false), `send` returns a promise
 *   that resolves on `drain`, so a reader that stops reading stops the writer, the writer stops pulling events
 *   from `model.stream()`, and the engine pauses that sequence. Nothing is buffered beyond the socket's
 *   high-water mark and what one flush gathers.
 * - Few writes. Events are gathered and written together at most every FLUSH_INTERVAL_MS (the first ones at
 *   the end of the current event-loop turn, so the first token is not delayed). Each socket write costs a
 *   system call; a model faster than a token per millisecond would otherwise pay one per token. A model
 *   slower than that gets each token written as it comes.
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

/** Shortest time between two writes to the socket. */
export const FLUSH_INTERVAL_MS = 1;

export class SseStream {
  private drained: Promise<void> | undefined;
  private started = false;
  private pending = "";
  private flushScheduled = false;
  private lastFlush = Number.NEGATIVE_INFINITY;

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
   * Queues one event. Returns undefined (nothing to wait for) while the socket takes the bytes; once it is
   * full, a promise that resolves when it has drained. Throws ClientGoneError once the client is gone.
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

  /** `data: [DONE]`, everything still gathered, and the end of the response. */
  async end(): Promise<void> {
    while (this.drained !== undefined) await this.drained;
    if (this.closed) throw new ClientGoneError();
    this.start();
    const rest = `${this.pending}data: [DONE]\n\n`;
    this.pending = "";
    // `end`'s callback never runs when the socket died before the response's own 'close' event (a client
    // that vanished during this turn), so the close settles it too.
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("close", done);
        resolve();
      };
      this.res.once("close", done);
      this.res.end(rest, done);
    });
  }

  private write(text: string): Promise<void> | undefined {
    if (this.drained !== undefined) return this.drained.then(() => this.write(text));
    this.start();
    if (this.closed) throw new ClientGoneError();
    this.pending += text;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      const wait = this.lastFlush + FLUSH_INTERVAL_MS - performance.now();
      if (wait > 0) setTimeout(this.flush, wait);
      else setImmediate(this.flush);
    }
    return undefined;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.lastFlush = performance.now();
    const text = this.pending;
    this.pending = "";
    if (text === "" || this.closed || this.res.write(text)) return;
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
  };
}
