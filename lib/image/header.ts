/**
 * The format and pixel size of an image from its first bytes, without decoding it: PNG (IHDR), JPEG (the first
 * start-of-frame marker), GIF (the logical screen) and WebP (VP8 / VP8L / VP8X). This is what lets the prompt be laid
 * out synchronously and lets oversized images be refused before any pixel is allocated.
 */
import { ImageError, type ImageLocation } from "../errors";

export type ImageFormat = "png" | "jpeg" | "gif" | "webp";

export interface ImageHeader {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** Reads the header of `bytes`; throws ImageError ("unsupported", "truncated" or "corrupt") naming `where`. */
export function readImageHeader(bytes: Uint8Array, where: ImageLocation = {}): ImageHeader {
  const fail = (reason: "unsupported" | "truncated" | "corrupt", message: string): never => {
    throw new ImageError(reason, message, where);
  };
  if (bytes.length === 0) return fail("truncated", "the image has no bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number, what: string) => {
    if (bytes.length < n) fail("truncated", `the ${what} header is cut short (${bytes.length} bytes)`);
  };
  if (startsWith(bytes, PNG_SIGNATURE)) {
    need(24, "PNG");
    if (ascii(bytes, 12, 4) !== "IHDR") fail("corrupt", "a PNG whose first chunk is not IHDR");
    return { format: "png", width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegHeader(bytes, view, fail);
  if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") {
    need(10, "GIF");
    return { format: "gif", width: view.getUint16(6, true), height: view.getUint16(8, true) };
  }
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return webpHeader(bytes, view, fail);
  return fail("unsupported", "not a PNG, JPEG, WebP or GIF image (unknown leading bytes)");
}

type Fail = (reason: "unsupported" | "truncated" | "corrupt", message: string) => never;

/** Walks the marker segments up to the first start-of-frame (SOF0–SOF15 except DHT, JPG and DAC). */
function jpegHeader(bytes: Uint8Array, view: DataView, fail: Fail): ImageHeader {
  let at = 2;
  for (;;) {
    while (at < bytes.length && bytes[at] === 0xff) at++; // fill bytes before a marker
    if (at >= bytes.length) return fail("truncated", "a JPEG that ends before its frame header");
    const marker = bytes[at]!;
    at++;
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // no length
    if (marker === 0xd9 || marker === 0xda)
      return fail("corrupt", "a JPEG without a frame header before its data");
    if (at + 2 > bytes.length) return fail("truncated", "a JPEG that ends inside a marker segment");
    const length = view.getUint16(at);
    if (length < 2) return fail("corrupt", "a JPEG marker segment with a bad length");
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (at + 7 > bytes.length) return fail("truncated", "a JPEG that ends inside its frame header");
      return { format: "jpeg", height: view.getUint16(at + 3), width: view.getUint16(at + 5) };
    }
    at += length;
  }
}

function webpHeader(bytes: Uint8Array, view: DataView, fail: Fail): ImageHeader {
  if (bytes.length < 16) return fail("truncated", "the WebP header is cut short");
  const chunk = ascii(bytes, 12, 4);
  if (chunk === "VP8 ") {
    if (bytes.length < 30) return fail("truncated", "the WebP (VP8) frame header is cut short");
    if (!(bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a))
      return fail("corrupt", "a WebP (VP8) frame without its start code");
    return {
      format: "webp",
      width: view.getUint16(26, true) & 0x3fff,
      height: view.getUint16(28, true) & 0x3fff,
    };
  }
  if (chunk === "VP8L") {
    if (bytes.length < 25) return fail("truncated", "the WebP (VP8L) header is cut short");
    if (bytes[20] !== 0x2f) return fail("corrupt", "a WebP (VP8L) stream without its signature");
    const bits = view.getUint32(21, true);
    return { format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    if (bytes.length < 30) return fail("truncated", "the WebP (VP8X) header is cut short");
    const u24 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
    return { format: "webp", width: u24(24) + 1, height: u24(27) + 1 };
  }
  return fail("unsupported", `a WebP file with an unknown first chunk "${chunk}"`);
}
