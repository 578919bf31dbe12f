/**
 * Fetching an image a chat request names by http(s) URL, with limits: the host must be allowed (every
 * redirect hop is checked again), at most `maxRedirects` redirects, `maxBytes` of body (a larger
 * Content-Length is refused before reading, a body that grows past it is cut off), and `timeoutMs` for the
 * whole fetch. Every failure is a 400 naming the message part, since the URL came from the client.
 */
import { badRequest } from "../errors";

export interface MediaLimits {
  /** Fetch http(s) URLs at all (false: only data: URLs are accepted). */
  readonly remote: boolean;
  /** Hostnames that may be fetched (exact, case-insensitive); empty: any host. */
  readonly allowedDomains: readonly string[];
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  /** Image parts one request may have (data: URLs included). */
  readonly maxImages: number;
}

export interface FetchedImage {
  /** The response's media type, e.g. "image/png". */
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export async function fetchImage(
  url: URL,
  limits: MediaLimits,
  param: string,
  signal: AbortSignal,
): Promise<FetchedImage> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      checkAllowed(current, limits, param);
      const response = await fetch(current, { redirect: "manual", signal: both });
      if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
        await response.body?.cancel();
        if (hop >= limits.maxRedirects) {
          throw badRequest(
            `Fetching the image at ${url.href} took more than ${limits.maxRedirects} redirects`,
            param,
            "media_fetch_failed",
          );
        }
        current = new URL(response.headers.get("location")!, current);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw badRequest(
          `Fetching the image at ${current.href} failed with HTTP ${response.status}`,
          param,
          "media_fetch_failed",
        );
      }
      const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (!mediaType.startsWith("image/")) {
        await response.body?.cancel();
        throw badRequest(
          `The URL ${current.href} did not return an image (Content-Type ${JSON.stringify(mediaType || "none")})`,
          param,
          "media_fetch_failed",
        );
      }
      return { mediaType, bytes: await readLimited(response, limits.maxBytes, current, param) };
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw badRequest(
        `Fetching the image at ${url.href} took longer than ${limits.timeoutMs} ms`,
        param,
        "media_fetch_failed",
      );
    }
    if (error instanceof Error && error.name === "HttpError") throw error;
    const reason = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw badRequest(`Fetching the image at ${url.href} failed: ${reason}`, param, "media_fetch_failed");
  }
}

function checkAllowed(url: URL, limits: MediaLimits, param: string): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw badRequest(
      `Image URLs must be data:, http: or https: URLs, not ${url.protocol}`,
      param,
      "invalid_media_url",
    );
  }
  if (!limits.remote) {
    throw badRequest(
      "This server does not fetch remote images (--no-remote-media); send the image as a data: URL",
      param,
      "remote_media_disabled",
    );
  }
  const host = url.hostname.toLowerCase();
  if (limits.allowedDomains.length > 0 && !limits.allowedDomains.some((d) => d.toLowerCase() === host)) {
    throw badRequest(
      `This server fetches images only from ${limits.allowedDomains.join(", ")}; ${host} is not allowed`,
      param,
      "media_domain_not_allowed",
    );
  }
}

async function readLimited(response: Response, maxBytes: number, url: URL, param: string): Promise<Buffer> {
  const tooLarge = () =>
    badRequest(
      `The image at ${url.href} is larger than the server's limit of ${maxBytes} bytes`,
      param,
      "media_too_large",
    );
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body !== null) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks, size);
}
