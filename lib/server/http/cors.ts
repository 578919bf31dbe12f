/**
 * Cross-origin access for browser clients (a web chat UI on another origin). Off unless `allowedOrigins` is
 * set: then a request whose `Origin` is in the list (or the list holds "*") gets
 * `Access-Control-Allow-Origin` naming that origin, and a preflight `OPTIONS` on a known route is answered
 * 204 with the route's method and the headers the browser asked for, before any API key check (browsers never
 * send credentials on a preflight). An origin not in the list gets no CORS headers, so the browser refuses
 * the response; same-origin and non-browser clients are unaffected.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Headers a client script may read beyond the CORS-safelisted ones. */
const EXPOSED_HEADERS = "Retry-After";
/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE_S = 600;
/** Request headers allowed when the preflight names none (what the OpenAI clients send). */
const DEFAULT_ALLOWED_HEADERS = "Authorization, Content-Type";

export interface CorsPolicy {
  /** Adds the CORS response headers when the request's origin is allowed; true when it was. */
  decorate(req: IncomingMessage, res: ServerResponse): boolean;
  /** Answers a preflight for a route taking `method`. */
  preflight(req: IncomingMessage, res: ServerResponse, method: string): void;
}

export function corsPolicy(allowedOrigins: readonly string[]): CorsPolicy {
  const anyOrigin = allowedOrigins.includes("*");
  const origins = new Set(allowedOrigins.map(normalizeOrigin));
  const allowed = (origin: string) => anyOrigin || origins.has(normalizeOrigin(origin));
  const decorate = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    res.setHeader("Vary", "Origin");
    if (origin === undefined || !allowed(origin)) return false;
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    return true;
  };
  return {
    decorate,
    preflight(req, res, method) {
      if (decorate(req, res)) {
        const asked = req.headers["access-control-request-headers"];
        res.setHeader("Access-Control-Allow-Methods", `${method}, OPTIONS`);
        res.setHeader("Access-Control-Allow-Headers", asked?.trim() ? asked : DEFAULT_ALLOWED_HEADERS);
        res.setHeader("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_S));
      }
      res.writeHead(204, { "Content-Length": "0" });
      res.end();
    },
  };
}

/** Origins compare case-insensitively and without a trailing slash ("https://A.example/" = "https://a.example"). */
function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, "").toLowerCase();
}
