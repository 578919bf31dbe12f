/**
 * The image URL of an `image_url` part, made ready for the library: data: URLs pass through untouched,
 * http(s) URLs are fetched (fetch-image.ts) and become data: URLs, anything else (file paths, file:, ftp:)
 * is refused, so a client can never make the server read its own files. The bytes are not decoded here: the
 * library decides what it accepts.
 */
import { badRequest } from "../errors";
import { fetchImage, type MediaLimits } from "./fetch-image";

export async function imageUrlForLibrary(
  url: string,
  limits: MediaLimits,
  param: string,
  signal: AbortSignal,
): Promise<string> {
  if (/^data:/i.test(url)) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest(
      `Expected a data:, http: or https: URL for ${param} but received ${JSON.stringify(url.slice(0, 80))}`,
      param,
      "invalid_media_url",
    );
  }
  const image = await fetchImage(parsed, limits, param, signal);
  return `data:${image.mediaType};base64,${image.bytes.toString("base64")}`;
}
