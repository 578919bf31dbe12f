/**
 * Where an image part's bytes come from, and the checks made before any decoding: a data: URL (base64), a file path,
 * bytes given directly, or an http(s) URL whose bytes were fetched beforehand under the caller's policy (fetch.ts).
 * URLs (image_url parts, what a server passes through from clients) never read local files: paths come only from
 * `{ type: "image", path }`, a form for programs. Byte counts are checked before reading or base64-decoding, and the header's pixel
 * count before decoding (limits.ts), so an oversized input allocates nothing.
 */
import { readFileSync, statSync } from "node:fs";
import { ImageError, type ImageLocation } from "../errors";
import { type ImageFormat, readImageHeader } from "./header";

/** Limits checked before an image is decoded. */
export interface ImageLimits {
  /** Largest encoded image, in bytes. */
  readonly maxBytes: number;
  /** Largest width × height, read from the header before decoding. */
  readonly maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze({
  maxBytes: 50 * 1024 * 1024,
  // 8192 × 6144 (a 50-megapixel photo): libvips refuses anything larger before decoding too.
  maxPixels: 8192 * 6144,
});

/** An image as a request refers to it. */
export type ImageRef =
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "path"; readonly path: string };

/** An image whose header has been read and checked: ready to be laid out in the prompt and decoded. */
export interface LoadedImage {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  readonly bytes: Uint8Array;
}

export interface LoadImageOptions {
  readonly limits?: ImageLimits | undefined;
  /** Bytes of http(s) URLs fetched beforehand (by URL). An http(s) URL not in the map is an ImageError. */
  readonly fetched?: ReadonlyMap<string, Uint8Array> | undefined;
}

/** Reads and checks an image synchronously (http(s) only from `options.fetched`). Throws ImageError. */
export function loadImage(
  ref: ImageRef,
  where: ImageLocation = {},
  options: LoadImageOptions = {},
): LoadedImage {
  const limits = options.limits ?? DEFAULT_IMAGE_LIMITS;
  const bytes = imageBytes(ref, where, limits, options.fetched);
  if (bytes.length > limits.maxBytes) throw tooManyBytes(bytes.length, limits, where);
  const header = readImageHeader(bytes, where);
  if (header.width < 1 || header.height < 1)
    throw new ImageError("empty", `the image is ${header.width}x${header.height} pixels`, where);
  if (header.width * header.height > limits.maxPixels) {
    throw new ImageError(
      "too_large",
      `the ${header.format.toUpperCase()} image is ${header.width}x${header.height} pixels, more than the limit of ` +
        `${limits.maxPixels} (the maxImagePixels load option)`,
      where,
    );
  }
  return { ...header, bytes };
}

/** Whether an image_url holds an http(s) URL (fetched under the imageFetch policy). */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

function imageBytes(
  ref: ImageRef,
  where: ImageLocation,
  limits: ImageLimits,
  fetched: ReadonlyMap<string, Uint8Array> | undefined,
): Uint8Array {
  if (ref.kind === "bytes") {
    if (!(ref.bytes instanceof Uint8Array))
      throw new ImageError("unsupported", "image bytes must be a Uint8Array or a Buffer", where);
    return ref.bytes;
  }
  if (ref.kind === "path") return readImageFile(ref.path, where, limits);
  const url = ref.url;
  if (/^data:/i.test(url)) return dataUrlBytes(url, where, limits);
  if (/^file:/i.test(url)) {
    // image_url is the OpenAI wire form a server passes through from its clients: it never reads local files.
    throw new ImageError(
      "not_allowed",
      'image_url parts do not read local files; give a file as { type: "image", path } (or its bytes)',
      where,
    );
  }
  if (isHttpUrl(url)) {
    const bytes = fetched?.get(url);
    if (bytes === undefined) {
      throw new ImageError(
        "not_allowed",
        "http(s) image URLs are fetched only by generate() / stream() / evaluate() / embedImages() on a model " +
          "loaded with the imageFetch option (fetching is off by default); pass the image's bytes or a data: URL",
        where,
      );
    }
    return bytes;
  }
  throw new ImageError(
    "not_allowed",
    `unsupported image URL scheme in ${JSON.stringify(url.slice(0, 40))}`,
    where,
  );
}

function dataUrlBytes(url: string, where: ImageLocation, limits: ImageLimits): Uint8Array {
  const comma = url.indexOf(",");
  const meta = comma < 0 ? "" : url.slice(5, comma).toLowerCase();
  if (comma < 0 || !meta.split(";").includes("base64")) {
    throw new ImageError("unsupported", "a data: URL must be base64 (data:image/png;base64,…)", where);
  }
  if (!meta.startsWith("image/")) {
    throw new ImageError("unsupported", `a data: URL of type "${meta.split(";")[0]}" is not an image`, where);
  }
  const payload = url.length - comma - 1;
  if (Math.floor((payload * 3) / 4) > limits.maxBytes + 2)
    throw tooManyBytes(Math.floor((payload * 3) / 4), limits, where);
  return Buffer.from(url.slice(comma + 1), "base64");
}

function readImageFile(path: string, where: ImageLocation, limits: ImageLimits): Uint8Array {
  try {
    const size = statSync(path).size;
    if (size > limits.maxBytes) throw tooManyBytes(size, limits, where);
    return readFileSync(path);
  } catch (cause) {
    if (cause instanceof ImageError) throw cause;
    throw new ImageError("unreadable", `cannot read ${path}: ${(cause as Error).message}`, where, { cause });
  }
}

function tooManyBytes(n: number, limits: ImageLimits, where: ImageLocation): ImageError {
  return new ImageError(
    "too_large",
    `the image has ${n} bytes, more than the limit of ${limits.maxBytes} (the maxImageBytes load option)`,
    where,
  );
}
