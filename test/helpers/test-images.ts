/** Deterministic test images: smooth gradients with texture (so resizing matters), encoded with sharp. */
import sharp from "sharp";

export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  /** [height, width, channels], 8 bits. */
  readonly pixels: Uint8Array;
}

/** A width × height image; with 4 channels the alpha runs from transparent to opaque with holes. */
export function testImage(width: number, height: number, channels: 3 | 4, seed = 1): RawImage {
  const pixels = new Uint8Array(width * height * channels);
  let s = seed * 2654435761;
  const noise = () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return ((s >>> 16) & 0xff) / 255;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const u = x / Math.max(1, width - 1);
      const v = y / Math.max(1, height - 1);
      pixels[o] = Math.round(255 * (0.5 + 0.4 * Math.sin(6 * u + seed) * v) * 0.8 + 40 * noise());
      pixels[o + 1] = Math.round(200 * u * (1 - v) + 50 * noise());
      pixels[o + 2] = Math.round(128 + 100 * Math.cos(9 * v + 3 * u) * 0.9 + 20 * noise());
      if (channels === 4) pixels[o + 3] = (x + y) % 7 === 0 ? 0 : Math.round(255 * Math.min(1, 0.2 + u));
    }
  }
  return { width, height, channels, pixels };
}

export type EncodedFormat = "png" | "jpeg" | "webp" | "gif";

/** The image's file bytes in `format` (PNG and lossless WebP keep the pixels exactly). */
export async function encodeImage(image: RawImage, format: EncodedFormat = "png"): Promise<Buffer> {
  const s = sharp(Buffer.from(image.pixels), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  switch (format) {
    case "png":
      return s.png().toBuffer();
    case "jpeg":
      return s.jpeg({ quality: 90 }).toBuffer();
    case "webp":
      return s.webp({ lossless: true }).toBuffer();
    case "gif":
      return s.gif().toBuffer();
  }
}

/** A data: URL of the bytes. */
export function dataUrl(bytes: Uint8Array, mime = "image/png"): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString("base64")}`;
}
