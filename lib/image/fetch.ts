/**
 * Fetching an image over http(s) under a policy: a byte limit (checked against Content-Length first, then while
 * reading), a time limit for the whole exchange, a redirect limit (each hop is followed by hand and must stay on
 * http(s)), and a content-type check. The library never fetches unless the caller passes a policy (the `imageFetch`
 * load option); the same function serves a server that fetches `image_url`s itself.
 */
import { ImageError, type ImageLocation, InvalidArgumentError } from "../errors";

export interface ImageFetchPolicy {
  /** Largest body accepted, in bytes (default 20 MiB). */
  readonly maxBytes?: number;
  /** Time for the whole fetch, redirects and body included, in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Redirects followed at most (default 3). */
  readonly maxRedirects?: number;
  /**
   * Content types accepted (lower case, without parameters); default the four decodable ones: image/png,
   * image/jpeg, image/webp, image/gif.
   */
  readonly contentTypes?: readonly string[];
  /** Headers sent with each request (e.g. a User-Agent). */
  readonly headers?: Readonly<Record<string, string>>;
}

export const DEFAULT_IMAGE_FETCH_POLICY = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  timeoutMs: 10_000,
  maxRedirects: 3,
  contentTypes: Object.freeze(["image/png", "image/jpeg", "image/webp", "image/gif"]),
  headers: Object.freeze({}),
}) satisfies Required<ImageFetchPolicy>;

const POLICY_KEYS = ["maxBytes", "timeoutMs", "maxRedirects", "contentTypes", "headers"];

/** The policy with defaults filled in; InvalidArgumentError for bad values or unknown keys. */
export function resolveImageFetchPolicy(
  policy: ImageFetchPolicy,
  argument = "imageFetch",
): Required<ImageFetchPolicy> {
  if (policy === null || typeof policy !== "object" || Array.isArray(policy))
    throw new InvalidArgumentError(argument, "an object (an image fetch policy)", policy);
  for (const key of Object.keys(policy)) {
    if (!POLICY_KEYS.includes(key))
      throw new InvalidArgumentError(`${argument}.${key}`, `one of ${POLICY_KEYS.join(", ")}`, key);
  }
  const r = { ...DEFAULT_IMAGE_FETCH_POLICY, ...policy };
  const positive = (name: string, v: number, min: number) => {
    if (!(Number.isSafeInteger(v) && v >= min))
      throw new InvalidArgumentError(`${argument}.${name}`, `an integer >= ${min}`, v);
  };
  positive("maxBytes", r.maxBytes, 1);
  positive("timeoutMs", r.timeoutMs, 1);
  positive("maxRedirects", r.maxRedirects, 0);
  if (!Array.isArray(r.contentTypes) || !r.contentTypes.every((t) => typeof t === "string"))
    throw new InvalidArgumentError(`${argument}.contentTypes`, "an array of content types", r.contentTypes);
  if (r.headers === null || typeof r.headers !== "object")
    throw new InvalidArgumentError(`${argument}.headers`, "an object of header strings", r.headers);
  return r;
}

/**
 * The bytes at `url` (http: or https:) under `policy`. Throws ImageError "fetch" (status, content type, size, time,
 * redirects, network) or "not_allowed" (another scheme, also after a redirect); AbortError-like cancellation through
 * `signal` surfaces as "fetch" too.
 */
export async function fetchImageBytes(
  url: string,
  policy: ImageFetchPolicy = {},
  options: { signal?: AbortSignal | undefined; where?: ImageLocation } = {},
): Promise<Uint8Array> {
  const p = resolveImageFetchPolicy(policy);
  const where = options.where ?? {};
  const fail = (message: string, cause?: unknown): never => {
    throw new ImageError("fetch", `fetching ${shortUrl(url)}: ${message}`, where, { cause });
  };
  const timeout = AbortSignal.timeout(p.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let current = checkedUrl(url, where);
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetch(current, { redirect: "manual", signal, headers: { ...p.headers } });
    } catch (cause) {
      return fail(timeout.aborted ? `no answer within ${p.timeoutMs} ms` : (cause as Error).message, cause);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (location === null) return fail(`redirect ${response.status} without a Location`);
      if (hop >= p.maxRedirects) return fail(`more than ${p.maxRedirects} redirect(s)`);
      current = checkedUrl(new URL(location, current).href, where);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      return fail(`HTTP status ${response.status}`);
    }
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!p.contentTypes.includes(type)) {
      await response.body?.cancel();
      return fail(`content type "${type}" is not one of ${p.contentTypes.join(", ")}`);
    }
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (declared > p.maxBytes) {
      await response.body?.cancel();
      return fail(`${declared} bytes exceed the limit of ${p.maxBytes}`);
    }
    return readLimited(response, p.maxBytes, (m, cause) =>
      fail(timeout.aborted ? `no complete answer within ${p.timeoutMs} ms` : m, cause),
    );
  }
}

async function readLimited(
  response: Response,
  maxBytes: number,
  fail: (message: string, cause?: unknown) => never,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        return fail(`the body exceeds the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (cause) {
    return fail((cause as Error).message, cause);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function checkedUrl(url: string, where: ImageLocation): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ImageError("not_allowed", `not a URL: ${shortUrl(url)}`, where, { cause });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new ImageError("not_allowed", `only http(s) images are fetched, not ${parsed.protocol}`, where);
  return parsed.href;
}

function shortUrl(url: string): string {
  return url.length > 100 ? `${url.slice(0, 97)}...` : url;
}
