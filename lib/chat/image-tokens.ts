/**
 * The `[IMG]` token grid of one image (docs/model.md#token-grid; mistral-common
 * `tokens/tokenizers/image.py`, `ImageEncoder._image_to_num_tokens` and `__call__`).
 */

import type { TokenizerImageConfig } from "../tokenizer/types";

export interface ImageTokenGrid {
  /** `[IMG]` tokens per row. */
  readonly columns: number;
  readonly rows: number;
}

/**
 * Images larger than `maxImageSize` on either side are scaled down (aspect kept, Python's
 * round-half-to-even), then each side is divided into cells of patch × spatial-merge pixels, rounding up.
 */
export function imageTokenGrid(width: number, height: number, config: TokenizerImageConfig): ImageTokenGrid {
  let w = width;
  let h = height;
  const ratio = Math.max(w / config.maxImageSize, h / config.maxImageSize);
  if (ratio > 1) {
    w = roundHalfEven(w / ratio);
    h = roundHalfEven(h / ratio);
  }
  const cell = config.imagePatchSize * config.spatialMergeSize;
  return { columns: Math.floor((w - 1) / cell) + 1, rows: Math.floor((h - 1) / cell) + 1 };
}

/** `([IMG] * columns + [IMG_BREAK]) * rows` with the very last token replaced by `[IMG_END]`. */
export function imageTokenIds(
  grid: ImageTokenGrid,
  ids: { readonly img: number; readonly imgBreak: number; readonly imgEnd: number },
): number[] {
  const tokens: number[] = [];
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.columns; col++) tokens.push(ids.img);
    tokens.push(ids.imgBreak);
  }
  tokens[tokens.length - 1] = ids.imgEnd;
  return tokens;
}

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
