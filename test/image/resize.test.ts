/**
 * The bicubic resize against hand-checked values: the cubic kernel's weights (a = −0.75), identity at equal size,
 * border replication, half-pixel centres, and the preprocessing's normalisation.
 */
import { describe, expect, it } from "vitest";
import { IMAGE_MEAN, IMAGE_STD, preprocessImage } from "../../lib/image/preprocess";
import { cubicTaps, cubicWeights, resizeCubic } from "../../lib/image/resize";

describe("cubic kernel", () => {
  it("has weights 0, 1, 0, 0 at a sample and the a = −0.75 values halfway", () => {
    expect(cubicWeights(0)).toEqual([0, 1, 0, 0]);
    // x = 0.5: w(1.5) = a(1.5³ − 5·1.5² + 8·1.5 − 4) = −0.75 · 0.125; w(0.5) = (a + 2)/8 − (a + 3)/4 + 1
    expect(cubicWeights(0.5)).toEqual([-0.09375, 0.59375, 0.59375, -0.09375]);
    // x = 0.25: w(1.25) = −0.75·(1.953125 − 7.8125 + 10 − 4) = −0.10546875; w(0.25) = 1.25/64 − 2.25/16 + 1
    const w = cubicWeights(0.25);
    expect(w[0]).toBeCloseTo(-0.10546875, 7);
    expect(w[1]).toBeCloseTo(0.87890625, 7);
    expect(w[2]).toBeCloseTo(0.26171875, 7);
    expect(w[3]).toBeCloseTo(-0.03515625, 7);
  });

  it("sums to one at every offset", () => {
    for (let x = 0; x < 1; x += 0.0625) expect(cubicWeights(x).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
});

describe("taps", () => {
  it("place output centres at half pixels and clamp indices at the borders", () => {
    // 4 → 8: output d samples source position (d + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, …
    const t = cubicTaps(4, 8);
    expect(Array.from(t.index.subarray(0, 4))).toEqual([0, 0, 0, 1]); // floor(−0.25) = −1: taps −2..1 clamped
    expect(Array.from(t.weight.subarray(0, 4))).toEqual(cubicWeights(0.75));
    expect(Array.from(t.index.subarray(28, 32))).toEqual([2, 3, 3, 3]); // last: 3.25 → taps 2..5 clamped
    expect(Array.from(t.weight.subarray(28, 32))).toEqual(cubicWeights(0.25));
  });
});

describe("resizeCubic", () => {
  it("is the identity at equal size", () => {
    const src = Float32Array.from({ length: 5 * 3 * 2 }, (_, i) => (i * 37) % 255);
    expect(resizeCubic(src, 5, 3, 2, 5, 3)).toEqual(src);
  });

  it("keeps a constant image constant (to float32 rounding of the weights' sum) and replicates borders", () => {
    const src = new Float32Array(3 * 2).fill(7);
    for (const v of resizeCubic(src, 3, 2, 1, 7, 5)) expect(v).toBeCloseTo(7, 5);
  });

  it("upscales a step by hand-computed values", () => {
    // [0, 0, 100, 100] → 8 samples; sample 3 is at 1.25 (taps 0..3 with x = 0.25), sample 4 at 1.75
    const out = resizeCubic(Float32Array.of(0, 0, 100, 100), 4, 1, 1, 8, 1);
    const w25 = cubicWeights(0.25);
    const w75 = cubicWeights(0.75);
    expect(out[3]).toBeCloseTo(100 * (w25[2]! + w25[3]!), 4);
    expect(out[4]).toBeCloseTo(100 * (w75[2]! + w75[3]!), 4);
    expect(out[0]).toBe(0); // −0.25: taps clamped to 0, 0, 0, 0(source 1)
    expect(out[7]).toBe(100);
    expect(out[3]).toBeCloseTo(22.65625, 4); // 100 · (0.26171875 − 0.03515625)
    expect(out[5]).toBeCloseTo(100 * (1 - w25[0]!), 4); // 2.25: taps 0, 100, 100, 100 overshoot 100
  });

  it("downscales 2:1 with taps centred between source pixels", () => {
    // 8 → 4: output d at 2d + 0.5 → taps 2d − 1 .. 2d + 2 with x = 0.5
    const src = Float32Array.from({ length: 8 }, (_, i) => i * 10);
    const out = resizeCubic(src, 8, 1, 1, 4, 1);
    const w = cubicWeights(0.5);
    expect(out[1]).toBeCloseTo(10 * w[0]! + 20 * w[1]! + 30 * w[2]! + 40 * w[3]!, 4); // = 25 on a ramp
    expect(out[1]).toBeCloseTo(25, 4);
    expect(out[0]).toBeCloseTo(0 * (w[0]! + w[1]!) + 10 * w[2]! + 20 * w[3]!, 4); // left border replicated
  });
});

describe("preprocessImage", () => {
  it("stretches to whole cells and normalises per channel with CLIP's statistics", () => {
    const rgb = new Uint8Array(30 * 20 * 3);
    for (let i = 0; i < 30 * 20; i++) rgb.set([255, 0, 128], 3 * i);
    const p = preprocessImage(
      { width: 30, height: 20, rgb },
      { imagePatchSize: 14, maxImageSize: 1540, spatialMergeSize: 2 },
    );
    expect([p.columns, p.rows, p.patchColumns, p.patchRows]).toEqual([2, 1, 4, 2]);
    expect(p.pixels.length).toBe(3 * 28 * 56);
    const plane = 28 * 56;
    expect(p.pixels[0]).toBeCloseTo((1 - IMAGE_MEAN[0]) / IMAGE_STD[0], 6);
    expect(p.pixels[plane + 17]).toBeCloseTo((0 - IMAGE_MEAN[1]) / IMAGE_STD[1], 6);
    expect(p.pixels[2 * plane + plane - 1]).toBeCloseTo(
      (Math.fround(128 / 255) - IMAGE_MEAN[2]) / IMAGE_STD[2],
      6,
    );
  });
});
