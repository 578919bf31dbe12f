/** Options of createOpenAIHandler / createServer, their defaults and their checks. */
import { basename } from "node:path";
import { InvalidArgumentError } from "../errors";
import type { Model } from "../model/model";
import type { MediaLimits } from "./media/fetch-image";

export interface MediaOptions {
  /** Fetch http(s) image URLs (default true); data: URLs always work. */
  remote?: boolean;
  /** Only these hostnames may be fetched (exact match); default: any. */
  allowedDomains?: readonly string[];
  /** Largest image fetched, in bytes (default 20 MiB). */
  maxBytes?: number;
  /** Time limit of one fetch, redirects included (default 10 s). */
  timeoutMs?: number;
  /** Redirects followed (default 3). */
  maxRedirects?: number;
  /** Image parts one request may have, data: URLs included (default 10). */
  maxImages?: number;
}

export interface OpenAIHandlerOptions {
  /** Names clients may use in `model` (default: the checkpoint folder's name); the first is reported. */
  servedModelNames?: readonly string[];
  /** Require `Authorization: Bearer <apiKey>` on every route but /health and /version. */
  apiKey?: string;
  /** Largest request body in bytes (default 8 MiB; data-URL images count against it). */
  maxBodyBytes?: number;
  /** Generation requests running at once (default 64); the engine batches them. */
  maxConcurrentRequests?: number;
  /** Requests waiting for a slot beyond that (default 256); more get a 429 with Retry-After. */
  maxQueuedRequests?: number;
  /** A request still running after this long is aborted (default 600 000 ms; 0 = no limit). */
  requestTimeoutMs?: number;
  /** Most choices per request (`n`, default 16). */
  maxChoices?: number;
  media?: MediaOptions;
  /**
   * Browser origins allowed to call the API from another origin (exact `scheme://host[:port]`, or "*" for
   * any); default none (no CORS headers, preflights are refused with 405).
   */
  allowedOrigins?: readonly string[];
  /** Receives one line per request failure the server did not expect (default: console.error). */
  log?: (line: string) => void;
}

export interface ResolvedOptions {
  readonly servedModelNames: readonly string[];
  readonly apiKey: string | undefined;
  readonly maxBodyBytes: number;
  readonly maxConcurrentRequests: number;
  readonly maxQueuedRequests: number;
  readonly requestTimeoutMs: number;
  readonly maxChoices: number;
  readonly media: MediaLimits;
  readonly allowedOrigins: readonly string[];
  readonly log: (line: string) => void;
}

export function resolveOptions(model: Model, options: OpenAIHandlerOptions): ResolvedOptions {
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("options", "an object", options);
  const positive = (name: string, value: number | undefined, fallback: number, allowZero = false): number => {
    if (value === undefined) return fallback;
    if (!(Number.isSafeInteger(value) && (value > 0 || (allowZero && value === 0))))
      throw new InvalidArgumentError(
        `options.${name}`,
        allowZero ? "a non-negative integer" : "a positive integer",
        value,
      );
    return value;
  };
  const names = options.servedModelNames ?? [basename(model.dir)];
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== "string" || n === ""))
    throw new InvalidArgumentError(
      "options.servedModelNames",
      "a non-empty array of non-empty strings",
      names,
    );
  if (options.apiKey !== undefined && (typeof options.apiKey !== "string" || options.apiKey === ""))
    throw new InvalidArgumentError("options.apiKey", "a non-empty string", options.apiKey);
  if (options.log !== undefined && typeof options.log !== "function")
    throw new InvalidArgumentError("options.log", "a function", options.log);
  const media = options.media ?? {};
  if (media.remote !== undefined && typeof media.remote !== "boolean")
    throw new InvalidArgumentError("options.media.remote", "a boolean", media.remote);
  const domains = media.allowedDomains ?? [];
  if (!Array.isArray(domains) || domains.some((d) => typeof d !== "string" || d === ""))
    throw new InvalidArgumentError("options.media.allowedDomains", "an array of hostnames", domains);
  const origins = options.allowedOrigins ?? [];
  if (!Array.isArray(origins) || origins.some((o) => typeof o !== "string" || !isOriginPattern(o)))
    throw new InvalidArgumentError(
      "options.allowedOrigins",
      'an array of origins ("https://host[:port]") or "*"',
      origins,
    );
  return {
    servedModelNames: [...names],
    apiKey: options.apiKey,
    maxBodyBytes: positive("maxBodyBytes", options.maxBodyBytes, 8 * 2 ** 20),
    maxConcurrentRequests: positive("maxConcurrentRequests", options.maxConcurrentRequests, 64),
    maxQueuedRequests: positive("maxQueuedRequests", options.maxQueuedRequests, 256, true),
    requestTimeoutMs: positive("requestTimeoutMs", options.requestTimeoutMs, 600_000, true),
    maxChoices: positive("maxChoices", options.maxChoices, 16),
    media: {
      remote: media.remote ?? true,
      allowedDomains: [...domains],
      maxBytes: positive("media.maxBytes", media.maxBytes, 20 * 2 ** 20),
      timeoutMs: positive("media.timeoutMs", media.timeoutMs, 10_000),
      maxRedirects: positive("media.maxRedirects", media.maxRedirects, 3, true),
      maxImages: positive("media.maxImages", media.maxImages, 10, true),
    },
    allowedOrigins: [...origins],
    log: options.log ?? ((line) => console.error(line)),
  };
}

/** "*", or an origin as browsers send it: scheme://host[:port], no path. */
function isOriginPattern(origin: string): boolean {
  if (origin === "*") return true;
  try {
    const url = new URL(origin);
    return (
      url.origin !== "null" && url.origin.toLowerCase() === origin.trim().replace(/\/+$/, "").toLowerCase()
    );
  } catch {
    return false;
  }
}
