/**
 * mistral-common's image preprocessing (docs/model.md#image-preprocessing): the token grid from the largest image
 * side and patch × merge cells, a bicubic stretch to exactly columns · cell × rows · cell pixels, then x / 255
 * (float32) normalised per channel with CLIP's mean and standard deviation, channels first.
 */
import { imageTokenGrid } from "../chat/image-tokens";
import { ImageError, type ImageLocation } from "../errors";
import type { TokenizerImageConfig } from "../tokenizer/types";
import type { DecodedImage } from "./decode";
import { resizeCubic } from "./resize";

/** CLIP's per-channel statistics (R, G, B). */
export const IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const IMAGE_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface PreprocessedImage {
  /** Token grid: `[IMG]` columns per row and rows. */
  readonly columns: number;
  readonly rows: number;
  /** Patch grid the encoder sees (columns · merge × rows · merge). */
  readonly patchColumns: number;
  readonly patchRows: number;
  /** [3, rows · cell, columns · cell] normalised pixels. */
  readonly pixels: Float32Array;
}

/** The grid of an image of this size, or an ImageError ("empty") when a side has no pixels left. */
export function checkedTokenGrid(
  width: number,
  height: number,
  config: TokenizerImageConfig,
  where: ImageLocation = {},
): { columns: number; rows: number } {
  if (width < 1 || height < 1) throw new ImageError("empty", `the image is ${width}x${height} pixels`, where);
  const grid = imageTokenGrid(width, height, config);
  if (grid.columns < 1 || grid.rows < 1) {
    throw new ImageError(
      "empty",
      `the ${width}x${height} image has no pixels left on one side once scaled to fit ${config.maxImageSize}`,
      where,
    );
  }
  return grid;
}

export function preprocessImage(
  image: DecodedImage,
  config: TokenizerImageConfig,
  where: ImageLocation = {},
): PreprocessedImage {
  const { columns, rows } = checkedTokenGrid(image.width, image.height, config, where);
  const cell = config.imagePatchSize * config.spatialMergeSize;
  const outW = columns * cell;
  const outH = rows * cell;
  const resized = resizeCubic(image.rgb, image.width, image.height, 3, outW, outH);
  const plane = outW * outH;
  const pixels = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = IMAGE_MEAN[c]!;
    const std = IMAGE_STD[c]!;
    for (let i = 0; i < plane; i++)
      pixels[c * plane + i] = (Math.fround(resized[3 * i + c]! / 255) - mean) / std;
  }
  return {
    columns,
    rows,
    patchColumns: columns * config.spatialMergeSize,
    patchRows: rows * config.spatialMergeSize,
    pixels,
  };
}
