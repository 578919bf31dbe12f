/**
 * Images (lib/image: loadImage's data: URL and byte checks, the header reader, decoding through sharp, preprocessing):
 * small PNG, JPEG, WebP and GIF files made by sharp, their bytes mutated (truncated, bits flipped, size fields
 * rewritten, bytes spliced in), given as bytes or as a data: URL whose prefix and base64 may be mangled too. An
 * accepted image decodes to the size its header announced, within the pixel limit, and preprocesses to the token grid
 * its size implies with finite pixels only. Anything else must be an ImageError — never a crash of libvips, a hang on a
 * decompression bomb or another exception.
 */
import fc from "fast-check";
import { decodeImage } from "../../../lib/image/decode";
import { preprocessImage } from "../../../lib/image/preprocess";
import { type ImageLimits, type ImageRef, loadImage } from "../../../lib/image/sources";
import type { TokenizerImageConfig } from "../../../lib/tokenizer/types";
import { pngFile } from "../../helpers/png-bytes";
import { type EncodedFormat, encodeImage, testImage } from "../../helpers/test-images";
import type { FuzzTarget } from "../harness";
import { mutatedBytes } from "../mutate";

/** The tiny model's vision settings (lib/tiny): 14-pixel patches merged 2 × 2, images up to 224 pixels a side. */
const VISION: TokenizerImageConfig = { imagePatchSize: 14, maxImageSize: 224, spatialMergeSize: 2 };
/** Tight limits, so a header claiming a huge image is refused before anything is allocated. */
const LIMITS: ImageLimits = { maxBytes: 1 << 20, maxPixels: 1 << 18 };

const FORMATS: readonly EncodedFormat[] = ["png", "jpeg", "webp", "gif"];
const MIME: Record<EncodedFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
};

interface Base {
  readonly format: EncodedFormat;
  readonly bytes: Uint8Array;
}

const bases: Base[] = [];
for (const [i, format] of FORMATS.entries()) {
  for (const [w, h, channels] of [
    [9, 7, 3],
    [30, 17, 4],
    [1, 40, 3],
  ] as const) {
    bases.push({
      format,
      bytes: new Uint8Array(await encodeImage(testImage(w, h, channels, i + 1), format)),
    });
  }
}
// A PNG that promises far more pixels than the limit, and one whose pixel data is missing.
bases.push({ format: "png", bytes: new Uint8Array(pngFile(60_000, 60_000, 2)) });
bases.push({ format: "png", bytes: new Uint8Array(pngFile(16, 16, 6)) });

type Input =
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "url"; readonly url: string };

const mutated: fc.Arbitrary<{ format: EncodedFormat; bytes: Uint8Array }> = fc
  .constantFrom(...bases)
  .chain((b) =>
    fc
      .oneof({ weight: 1, arbitrary: fc.constant(b.bytes) }, { weight: 5, arbitrary: mutatedBytes(b.bytes) })
      .map((bytes) => ({ format: b.format, bytes })),
  );

const dataUrlPrefix = (format: EncodedFormat) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(`data:${MIME[format]};base64,`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "data:image/png;base64",
        "data:image/png,",
        "data:;base64,",
        "DATA:IMAGE/PNG;BASE64,",
        "data:text/plain;base64,",
        "data:image/png;charset=utf-8;base64,",
        "data:image/png;base64,,",
        "data:",
      ),
    },
  );

const base64Edit = fc.oneof(
  { weight: 4, arbitrary: fc.constant((s: string) => s) },
  { weight: 1, arbitrary: fc.nat().map((n) => (s: string) => s.slice(0, n % (s.length + 1))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom("=", "!", " ", "\n", "%", "-", "_", "==")).map(
      ([n, c]) =>
        (s: string) =>
          s.slice(0, n % (s.length + 1)) + c + s.slice(n % (s.length + 1)),
    ),
  },
);

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 3, arbitrary: mutated.map(({ bytes }) => ({ kind: "bytes" as const, bytes })) },
  {
    weight: 2,
    arbitrary: mutated.chain(({ format, bytes }) =>
      fc.tuple(dataUrlPrefix(format), base64Edit).map(([prefix, edit]) => ({
        kind: "url" as const,
        url: prefix + edit(Buffer.from(bytes).toString("base64")),
      })),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 48 }).map((bytes) => ({ kind: "bytes" as const, bytes })),
  },
);

interface Accepted {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly columns: number;
  readonly rows: number;
  readonly pixels: Float32Array;
}

export const imageTarget: FuzzTarget<Input, Accepted> = {
  name: "image",
  reads: "image bytes and data: URLs (PNG, JPEG, WebP, GIF): header, limits, decoding, preprocessing",
  input,
  parse: async (ref) => {
    const where = { messageIndex: 0, partIndex: 0 };
    const loaded = loadImage(ref as ImageRef, where, { limits: LIMITS });
    const decoded = await decodeImage(loaded.bytes, loaded, LIMITS.maxPixels, where);
    const pre = preprocessImage(decoded, VISION, where);
    return { format: loaded.format, width: decoded.width, height: decoded.height, rgb: decoded.rgb, ...pre };
  },
  check: (_ref, image) => {
    if (image.width * image.height > LIMITS.maxPixels)
      throw new Error(`${image.width}x${image.height} passed a limit of ${LIMITS.maxPixels} pixels`);
    if (image.rgb.length !== image.width * image.height * 3)
      throw new Error(`${image.rgb.length} RGB bytes for ${image.width}x${image.height}`);
    const cell = VISION.imagePatchSize * VISION.spatialMergeSize;
    const most = VISION.maxImageSize / cell;
    if (!(image.columns >= 1 && image.rows >= 1 && image.columns <= most && image.rows <= most))
      throw new Error(`a ${image.columns} × ${image.rows} token grid`);
    if (image.pixels.length !== 3 * image.columns * cell * image.rows * cell)
      throw new Error(`${image.pixels.length} pixels for a ${image.columns} × ${image.rows} grid`);
    for (const v of image.pixels) if (!Number.isFinite(v)) throw new Error(`a preprocessed pixel is ${v}`);
  },
};
