/**
 * Bicubic resize with OpenCV's INTER_CUBIC semantics on float32 images (what mistral-common calls,
 * docs/model.md#image-preprocessing): the cubic convolution kernel with a = −0.75, pixel centres at half-integers
 * (source x = (dx + 0.5) · in/out − 0.5), the four taps' indices clamped to the image (replicated borders),
 * horizontal pass then vertical pass, every product and sum rounded to float32 in OpenCV's scalar order, no
 * antialiasing. Written here because the decoders' own resamplers use other kernels.
 */

const A = -0.75;
const f = Math.fround;

export interface CubicTaps {
  /** [outSize × 4] source indices (clamped). */
  readonly index: Int32Array;
  /** [outSize × 4] weights. */
  readonly weight: Float32Array;
}

/** OpenCV's interpolateCubic(x) for x in [0, 1): the weights of taps −1, 0, 1, 2, in float32. */
export function cubicWeights(x: number): [number, number, number, number] {
  const x1 = f(x + 1);
  const w0 = f(f(f(f(f(f(A * x1) - f(5 * A)) * x1) + f(8 * A)) * x1) - f(4 * A));
  const w1 = f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x) + 1);
  const y = f(1 - x);
  const w2 = f(f(f(f(f((A + 2) * y) - (A + 3)) * y) * y) + 1);
  const w3 = f(f(f(1 - w0) - w1) - w2);
  return [w0, w1, w2, w3];
}

/** The taps of each output position of a resize from `inSize` to `outSize` samples. */
export function cubicTaps(inSize: number, outSize: number): CubicTaps {
  const scale = 1 / (outSize / inSize); // OpenCV: 1 / inv_scale, in double
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let d = 0; d < outSize; d++) {
    const pos = f((d + 0.5) * scale - 0.5);
    const s = Math.floor(pos);
    const w = cubicWeights(f(pos - s));
    for (let k = 0; k < 4; k++) {
      index[4 * d + k] = Math.min(Math.max(s - 1 + k, 0), inSize - 1);
      weight[4 * d + k] = w[k]!;
    }
  }
  return { index, weight };
}

/** Resizes an interleaved [height, width, channels] image (any numeric array) to [outHeight, outWidth, channels]. */
export function resizeCubic(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const xt = cubicTaps(width, outWidth);
  const yt = cubicTaps(height, outHeight);
  const rowLength = outWidth * channels;
  // Horizontal pass over every source row: tmp [height, outWidth, channels].
  const tmp = new Float32Array(height * rowLength);
  for (let y = 0; y < height; y++) {
    const srcRow = y * width * channels;
    const dstRow = y * rowLength;
    for (let x = 0; x < outWidth; x++) {
      const i0 = srcRow + xt.index[4 * x]! * channels;
      const i1 = srcRow + xt.index[4 * x + 1]! * channels;
      const i2 = srcRow + xt.index[4 * x + 2]! * channels;
      const i3 = srcRow + xt.index[4 * x + 3]! * channels;
      const a0 = xt.weight[4 * x]!;
      const a1 = xt.weight[4 * x + 1]!;
      const a2 = xt.weight[4 * x + 2]!;
      const a3 = xt.weight[4 * x + 3]!;
      for (let c = 0; c < channels; c++) {
        tmp[dstRow + x * channels + c] = f(
          f(f(f(src[i0 + c]! * a0) + f(src[i1 + c]! * a1)) + f(src[i2 + c]! * a2)) + f(src[i3 + c]! * a3),
        );
      }
    }
  }
  // Vertical pass.
  const out = new Float32Array(outHeight * rowLength);
  for (let y = 0; y < outHeight; y++) {
    const r0 = yt.index[4 * y]! * rowLength;
    const r1 = yt.index[4 * y + 1]! * rowLength;
    const r2 = yt.index[4 * y + 2]! * rowLength;
    const r3 = yt.index[4 * y + 3]! * rowLength;
    const b0 = yt.weight[4 * y]!;
    const b1 = yt.weight[4 * y + 1]!;
    const b2 = yt.weight[4 * y + 2]!;
    const b3 = yt.weight[4 * y + 3]!;
    const o = y * rowLength;
    for (let i = 0; i < rowLength; i++) {
      out[o + i] = f(
        f(f(f(tmp[r0 + i]! * b0) + f(tmp[r1 + i]! * b1)) + f(tmp[r2 + i]! * b2)) + f(tmp[r3 + i]! * b3),
      );
    }
  }
  return out;
}
