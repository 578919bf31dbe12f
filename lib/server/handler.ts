/**
 * createOpenAIHandler: a loaded Model as a Node `(req, res)` request handler speaking the OpenAI API the way
 * vLLM serves this model. Mount it in `node:http`, Express or Fastify's raw routes; createServer (server.ts)
 * adds listening and graceful shutdown on top.
 *
 * Routes: GET /v1/models[/{id}], POST /v1/chat/completions, POST /v1/completions, POST /tokenize,
 * POST /detokenize, GET /health, GET /version, GET /metrics. With an API key every route but /health and
 * /version needs `Authorization: Bearer <key>`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Model } from "../model/model";
import { Admission } from "./admission";
import type { ServerDeps } from "./deps";
import { HttpError, toHttpError } from "./errors";
import { apiKeyChecker } from "./http/auth";
import { corsPolicy } from "./http/cors";
import { sendError } from "./http/respond";
import { ClientGoneError } from "./http/sse";
import { ServerMetrics } from "./metrics/server-metrics";
import { type OpenAIHandlerOptions, resolveOptions } from "./options";
import { RequestContext } from "./request-context";
import { chatCompletions } from "./routes/chat-completions";
import { completions } from "./routes/completions";
import type { Route } from "./routes/generation-route";
import { health, listModels, metrics, retrieveModel, versionRoute } from "./routes/info";
import { detokenize, tokenize } from "./routes/tokenize";

export interface OpenAIHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Requests being answered now. */
  readonly activeRequests: number;
  /** The Prometheus text `GET /metrics` returns. */
  metricsText(): string;
  /**
   * Stops taking requests (new ones get a 503), waits up to `graceMs` for those in flight to finish, then
   * aborts the rest (a stream ends with an error event) and waits for them to wind up. The model is not
   * disposed: it belongs to the caller.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

interface RouteEntry {
  readonly method: "GET" | "POST";
  readonly route: Route;
  /** Answered without an API key (probes). */
  readonly open?: boolean;
  /** Still answered while shutting down. */
  readonly duringShutdown?: boolean;
}

const ROUTES: Readonly<Record<string, RouteEntry>> = {
  "/v1/chat/completions": { method: "POST", route: chatCompletions },
  "/v1/completions": { method: "POST", route: completions },
  "/v1/models": { method: "GET", route: listModels },
  "/tokenize": { method: "POST", route: tokenize },
  "/detokenize": { method: "POST", route: detokenize },
  "/health": { method: "GET", route: health, open: true },
  "/version": { method: "GET", route: versionRoute, open: true, duringShutdown: true },
  "/metrics": { method: "GET", route: metrics, duringShutdown: true },
};

interface FoundRoute {
  /** The route's name in metrics. */
  readonly name: string;
  readonly entry: RouteEntry;
}

function findRoute(path: string): FoundRoute | undefined {
  const entry = ROUTES[path];
  if (entry !== undefined) return { name: path, entry };
  if (path.startsWith("/v1/models/") && path.length > "/v1/models/".length)
    return { name: "/v1/models/{model}", entry: { method: "GET", route: retrieveModel } };
  return undefined;
}

export function createOpenAIHandler(model: Model, options: OpenAIHandlerOptions = {}): OpenAIHandler {
  const resolved = resolveOptions(model, options);
  const admission = new Admission({
    maxConcurrent: resolved.maxConcurrentRequests,
    maxQueued: resolved.maxQueuedRequests,
    retryAfterSeconds: 1,
  });
  const deps: ServerDeps = {
    model,
    options: resolved,
    admission,
    metrics: new ServerMetrics(model, admission),
  };
  const checkKey = resolved.apiKey === undefined ? undefined : apiKeyChecker(resolved.apiKey);
  const cors = resolved.allowedOrigins.length > 0 ? corsPolicy(resolved.allowedOrigins) : undefined;
  const active = new Set<RequestContext>();
  let closing = false;

  const idleWaiters: (() => void)[] = [];
  const allDone = () =>
    active.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => void idleWaiters.push(resolve));

  async function serve(ctx: RequestContext, found: FoundRoute | undefined): Promise<void> {
    if (cors !== undefined && found !== undefined && ctx.req.method === "OPTIONS") {
      cors.preflight(ctx.req, ctx.res, found.entry.method);
      return;
    }
    cors?.decorate(ctx.req, ctx.res);
    if (found === undefined)
      throw new HttpError(
        404,
        "not_found_error",
        `No route ${ctx.req.method} ${ctx.url.pathname}`,
        null,
        "unknown_route",
      );
    const { name, entry } = found;
    if (ctx.req.method !== entry.method) {
      throw new HttpError(
        405,
        "invalid_request_error",
        `${name} takes ${entry.method}, not ${ctx.req.method}`,
        null,
        "method_not_allowed",
        {
          Allow: entry.method,
        },
      );
    }
    if (!entry.open) checkKey?.(ctx.req);
    if (closing && !entry.duringShutdown) throw ctx.abortedError() ?? shuttingDown();
    await entry.route(ctx, deps);
  }

  async function answerError(ctx: RequestContext, error: unknown): Promise<void> {
    if (error instanceof ClientGoneError || ctx.abortCause === "client") return;
    const http = ctx.abortedError() ?? toHttpError(error);
    if (http.code === "internal_error") {
      const fault = http.cause ?? error;
      resolved.log(
        `ms4 serve: ${ctx.req.method} ${ctx.url.pathname} failed: ${(fault as Error)?.stack ?? String(fault)}`,
      );
    }
    if (ctx.stream !== undefined && ctx.res.headersSent) {
      // A client that stopped reading gets a few seconds to take the error event, then the connection is cut.
      const sent = ctx.stream.fail(http.body()).then(
        () => true,
        () => true,
      );
      if (!(await Promise.race([sent, delay(FAIL_EVENT_MS, false)]))) ctx.res.destroy();
    } else sendError(ctx.res, http);
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    const ctx = new RequestContext(req, res, resolved.requestTimeoutMs);
    if (closing) ctx.abort("shutdown");
    active.add(ctx);
    const found = findRoute(ctx.url.pathname.replace(/\/+$/, "") || "/");
    serve(ctx, found)
      .catch((error: unknown) => answerError(ctx, error))
      .finally(() => {
        const status = ctx.abortCause === "client" ? 499 : res.statusCode;
        ctx.finish();
        active.delete(ctx);
        deps.metrics.requests.inc({ endpoint: found?.name ?? "unknown", status: String(status) });
        if (active.size === 0) for (const wake of idleWaiters.splice(0)) wake();
      });
  }) as OpenAIHandler;

  Object.defineProperty(handler, "activeRequests", { get: () => active.size });
  handler.metricsText = () => deps.metrics.render();
  handler.close = async ({ graceMs = 30_000 } = {}) => {
    closing = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([allDone(), grace]);
    clearTimeout(timer);
    for (const ctx of active) ctx.abort("shutdown");
    await Promise.race([allDone(), delay(FAIL_EVENT_MS + 1000, undefined)]);
    for (const ctx of active) ctx.res.destroy();
    // Every route settles once its response is destroyed; should one not (a defect), close still returns.
    await Promise.race([allDone(), delay(STUCK_REQUEST_MS, undefined)]);
    if (active.size > 0)
      resolved.log(`ms4 serve: ${active.size} request(s) did not settle after their connections were cut`);
  };
  return handler;
}

/** How long a failing stream's client gets to read the error event. */
const FAIL_EVENT_MS = 5000;

/** How long close() waits for requests whose connections it cut. */
const STUCK_REQUEST_MS = 2000;

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

function shuttingDown(): HttpError {
  return new HttpError(503, "server_error", "The server is shutting down", null, "shutting_down", {
    "Retry-After": "5",
  });
}
