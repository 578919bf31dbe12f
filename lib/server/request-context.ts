/**
 * One HTTP request's life: its abort signal fires when the client disconnects, when the per-request timeout
 * passes, or when the server shuts down and stops waiting for it; `abortCause` says which, so the handler
 * can answer a timeout with a 504, a shutdown with a 503, and a vanished client with nothing.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./errors";
import { SseStream } from "./http/sse";

export type AbortCause = "client" | "timeout" | "shutdown";

export class RequestContext {
  readonly startedAt = performance.now();
  readonly url: URL;
  private readonly controller = new AbortController();
  private cause: AbortCause | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set once the response became an event stream. */
  stream: SseStream | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    timeoutMs: number,
  ) {
    this.url = requestUrl(req.url);
    res.once("close", () => {
      if (!res.writableFinished) this.abort("client");
    });
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => this.abort("timeout"), timeoutMs);
      this.timer.unref();
    }
  }

  /** Turns the response into an event stream (status 200 and SSE headers go out with the first event). */
  startStream(): SseStream {
    this.stream ??= new SseStream(this.res);
    return this.stream;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get abortCause(): AbortCause | undefined {
    return this.cause;
  }

  abort(cause: AbortCause): void {
    if (this.cause !== undefined) return;
    this.cause = cause;
    this.controller.abort(abortError(cause));
  }

  /** Stops the timer and cancels whatever the request still has running. */
  finish(): void {
    clearTimeout(this.timer);
    if (!this.controller.signal.aborted) this.controller.abort(new Error("request finished"));
  }

  /** The error to answer an aborted request with (undefined when the client is gone). */
  abortedError(): HttpError | undefined {
    return this.cause === undefined || this.cause === "client" ? undefined : abortError(this.cause);
  }
}

/** The request's URL; one that does not parse (an absolute-form target such as `http://[::1`) matches no route. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch {
    return new URL("http://localhost/.invalid-request-target");
  }
}

function abortError(cause: AbortCause): HttpError {
  switch (cause) {
    case "timeout":
      return new HttpError(
        504,
        "timeout_error",
        "The request took longer than the server's time limit",
        null,
        "request_timeout",
      );
    case "shutdown":
      return new HttpError(503, "server_error", "The server is shutting down", null, "shutting_down", {
        "Retry-After": "5",
      });
    case "client":
      return new HttpError(
        499,
        "invalid_request_error",
        "The client closed the connection",
        null,
        "client_closed",
      );
  }
}
