/**
 * Decoding through sharp (libvips): a well-kept decoder with prebuilt binaries for every platform Node and Electron
 * run on, limits against decompression bombs, and PNG, JPEG, WebP and GIF (first frame) among its formats. It is
 * loaded on the first image only, so text-only use never loads it; a missing install is an ImageError saying how
 * to add it. The decoded pixels are turned into RGB the way mistral-common does (docs/model.md#image-preprocessing):
 * transparency composited onto white with Pillow's rounding, grey replicated to three channels.
 */
import type { Sharp, SharpOptions } from "sharp";
import { ImageError, type ImageLocation } from "../errors";
import type { ImageHeader } from "./header";

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** [height, width, 3] RGB, 8 bits per channel. */
  readonly rgb: Uint8Array;
}

type SharpFactory = (input: Uint8Array, options?: SharpOptions) => Sharp;

const SHARP_PACKAGE = "sharp";
const SHARP_VERSION = "0.35.6";
let sharpLoading: Promise<SharpFactory> | undefined;

/**
 * The sharp module, imported on first use. `specifier` exists for tests (a package that is not installed); a failed
 * import is retried on the next call.
 */
export function loadSharp(specifier = SHARP_PACKAGE): Promise<SharpFactory> {
  const load = async (): Promise<SharpFactory> => {
    try {
      const mod = (await import(specifier)) as { default?: SharpFactory } & SharpFactory;
      return mod.default ?? mod;
    } catch (cause) {
      throw new ImageError(
        "decoder_missing",
        `decoding images needs the "${SHARP_PACKAGE}" package (libvips, prebuilt for this platform), which could not ` +
          `be loaded: ${(cause as Error).message}. Install it with \`npm install ${SHARP_PACKAGE}@${SHARP_VERSION}\` ` +
          "(it is a dependency of mistral4-runtime; an install with --omit=optional or for another platform leaves its " +
          "binaries out).",
        {},
        { cause },
      );
    }
  };
  if (specifier !== SHARP_PACKAGE) return load();
  sharpLoading ??= load().catch((error: unknown) => {
    sharpLoading = undefined;
    throw error;
  });
  return sharpLoading;
}

/** Pillow's rounded division by 255 of a value in [0, 255²] (its DIV255 macro): exact round-half-up. */
function div255(v: number): number {
  const t = v + 128;
  return ((t >> 8) + t) >> 8;
}

/**
 * Decodes `bytes` (whose header was read and checked against the limits) to RGB. Pixels beyond `maxPixels` are
 * refused by libvips before decoding as well. Throws ImageError: "corrupt" / "truncated" for bytes that do not
 * decode, "decoder_missing" without sharp.
 */
export async function decodeImage(
  bytes: Uint8Array,
  header: ImageHeader,
  maxPixels: number,
  where: ImageLocation = {},
): Promise<DecodedImage> {
  const sharp = await loadSharp();
  let data: Buffer;
  let info: { width: number; height: number; channels: number };
  try {
    // pages: 1 → the first frame of an animation; no auto-orientation (mistral-common ignores EXIF orientation);
    // failOn "error": truncated or broken data is refused, decoder warnings (stray bytes) are not, as Pillow.
    const out = await sharp(bytes, { limitInputPixels: maxPixels, pages: 1, page: 0, failOn: "error" })
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    data = out.data;
    info = out.info;
  } catch (cause) {
    const text = (cause as Error).message;
    if (/pixel limit/i.test(text)) {
      throw new ImageError("too_large", `the image has more than ${maxPixels} pixels`, where, { cause });
    }
    const truncated = /premature end|truncat|unexpected end|read error|not enough data/i.test(text);
    throw new ImageError(
      truncated ? "truncated" : "corrupt",
      `the ${header.format.toUpperCase()} image does not decode: ${text.split("\n")[0]}`,
      where,
      { cause },
    );
  }
  if (info.width !== header.width || info.height !== header.height) {
    throw new ImageError(
      "corrupt",
      `the ${header.format.toUpperCase()} header says ${header.width}x${header.height} but the image decodes to ` +
        `${info.width}x${info.height}`,
      where,
    );
  }
  return {
    width: info.width,
    height: info.height,
    rgb: toRgb(data, info.width * info.height, info.channels, where),
  };
}

/** 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels → RGB, alpha composited onto white as Pillow pastes. */
function toRgb(data: Uint8Array, pixels: number, channels: number, where: ImageLocation): Uint8Array {
  if (channels === 3) return data;
  const rgb = new Uint8Array(pixels * 3);
  const onWhite = (value: number, alpha: number) => div255(255 * (255 - alpha) + value * alpha);
  for (let i = 0; i < pixels; i++) {
    const o = 3 * i;
    if (channels === 1) {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = data[i]!;
    } else if (channels === 2) {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = onWhite(data[2 * i]!, data[2 * i + 1]!);
    } else if (channels === 4) {
      const a = data[4 * i + 3]!;
      rgb[o] = onWhite(data[4 * i]!, a);
      rgb[o + 1] = onWhite(data[4 * i + 1]!, a);
      rgb[o + 2] = onWhite(data[4 * i + 2]!, a);
    } else {
      throw new ImageError("unsupported", `an image with ${channels} channels after decoding`, where);
    }
  }
  return rgb;
}
