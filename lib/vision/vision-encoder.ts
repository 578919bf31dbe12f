/**
 * The vision path from image files to projected features (docs/model.md#vision-tower): decode (sharp), preprocess
 * exactly as mistral-common (lib/image/preprocess.ts), then the native Pixtral encoder + projector, several images
 * per pass up to a patch budget (attention never crosses images, and each image's features are the same bits
 * whatever else shares its pass).
 */
import { AbortError, ImageError, type ImageLocation } from "../errors";
import { decodeImage } from "../image/decode";
import { checkedTokenGrid, type PreprocessedImage, preprocessImage } from "../image/preprocess";
import type { ImageLimits, LoadedImage } from "../image/sources";
import type { NativeVisionPass } from "../native";
import type { TokenizerImageConfig } from "../tokenizer/types";

/** Patches one native pass takes at most (a pass over more images is split; one image always fits). */
export const PASS_PATCH_BUDGET = 16_384;

export interface ImageFeatures {
  /** Token grid. */
  readonly columns: number;
  readonly rows: number;
  /** [rows · columns, hiddenSize] projected features, row-major over the grid. */
  readonly embeddings: Float32Array;
}

export interface VisionEncoderOptions {
  /** One native encoder pass (NativeModel.encodeImages, serialised with the model's steps). */
  readonly encode: (pass: NativeVisionPass) => Promise<Float32Array>;
  readonly imageConfig: TokenizerImageConfig;
  readonly hiddenSize: number;
  readonly limits: ImageLimits;
}

export interface ImageToEncode {
  readonly file: LoadedImage;
  readonly where: ImageLocation;
}

export class VisionEncoder {
  constructor(private readonly options: VisionEncoderOptions) {}

  get imageConfig(): TokenizerImageConfig {
    return this.options.imageConfig;
  }

  /**
   * Features of each image, in order. Throws ImageError for an image that does not decode, AbortError when `signal`
   * aborts (checked between images and between passes).
   */
  async encode(images: readonly ImageToEncode[], signal?: AbortSignal): Promise<ImageFeatures[]> {
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortError("image encoding was aborted");
    };
    const prepared: PreprocessedImage[] = [];
    // An image without a grid (a side that scaling leaves with no pixel) is refused before anything is decoded.
    for (const image of images)
      checkedTokenGrid(image.file.width, image.file.height, this.options.imageConfig, image.where);
    for (const image of images) {
      checkAbort();
      const decoded = await decodeImage(
        image.file.bytes,
        image.file,
        this.options.limits.maxPixels,
        image.where,
      );
      prepared.push(preprocessImage(decoded, this.options.imageConfig, image.where));
    }
    const out: ImageFeatures[] = [];
    for (const pass of passes(prepared)) {
      checkAbort();
      const features = await this.options.encode(passInput(pass));
      let row = 0;
      for (const p of pass) {
        const count = p.columns * p.rows;
        const width = this.options.hiddenSize;
        if (features.length < (row + count) * width)
          throw new ImageError("corrupt", "the vision encoder returned fewer features than the images need");
        out.push({
          columns: p.columns,
          rows: p.rows,
          embeddings: features.slice(row * width, (row + count) * width),
        });
        row += count;
      }
    }
    return out;
  }
}

/** Consecutive images grouped so each group stays within the patch budget. */
function passes(images: readonly PreprocessedImage[]): PreprocessedImage[][] {
  const out: PreprocessedImage[][] = [];
  let current: PreprocessedImage[] = [];
  let patches = 0;
  for (const image of images) {
    const n = image.patchRows * image.patchColumns;
    if (current.length > 0 && patches + n > PASS_PATCH_BUDGET) {
      out.push(current);
      current = [];
      patches = 0;
    }
    current.push(image);
    patches += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function passInput(images: readonly PreprocessedImage[]): NativeVisionPass {
  const total = images.reduce((a, p) => a + p.pixels.length, 0);
  const pixels = new Float32Array(total);
  let at = 0;
  for (const p of images) {
    pixels.set(p.pixels, at);
    at += p.pixels.length;
  }
  return {
    patchRows: Int32Array.from(images, (p) => p.patchRows),
    patchCols: Int32Array.from(images, (p) => p.patchColumns),
    pixels,
  };
}
