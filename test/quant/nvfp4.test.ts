import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import { decodeFp8E4m3, encodeFp8E4m3 } from "../../lib/quant/fp8-e4m3";
import {
  dequantizeNvfp4,
  E2M1_MAGNITUDES,
  e2m1Decode,
  e2m1Encode,
  NVFP4_GROUP_SIZE,
  quantizeNvfp4,
} from "../../lib/quant/nvfp4";

const FP8_448 = 0x7e;
const FP8_ONE_EIGHTH = 0x20;

function codesOf(packed: Uint8Array): number[] {
  return Array.from(packed).flatMap((byte) => [byte & 0x0f, byte >> 4]);
}

describe("E2M1 codes", () => {
  it("decodes the 16 codes, bit 3 being the sign and code 8 negative zero", () => {
    const expected = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
    for (let code = 0; code < 16; code++) expect(Object.is(e2m1Decode(code), expected[code])).toBe(true);
    expect(E2M1_MAGNITUDES).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
  });

  it("encodes grid values to their own code", () => {
    for (let code = 0; code < 16; code++) {
      if (code === 8) continue;
      expect(e2m1Encode(e2m1Decode(code))).toBe(code);
    }
  });

  it("sends every tie to the even code, as compressed-tensors' cast_to_fp4 thresholds do", () => {
    const ties: [number, number][] = [
      [0.25, 0],
      [0.75, 2],
      [1.25, 2],
      [1.75, 4],
      [2.5, 4],
      [3.5, 6],
      [5, 6],
    ];
    for (const [value, code] of ties) {
      expect(e2m1Encode(value), `${value}`).toBe(code);
      expect(e2m1Encode(-value), `${-value}`).toBe(code | 8);
    }
    expect(e2m1Encode(0.2500001)).toBe(1);
    expect(e2m1Encode(5.0000001)).toBe(7);
  });

  it("clamps beyond ±6 and marks small negatives as negative zero but -0 as +0", () => {
    expect(e2m1Encode(100)).toBe(7);
    expect(e2m1Encode(-100)).toBe(15);
    expect(e2m1Encode(-0.1)).toBe(8);
    expect(e2m1Encode(-0)).toBe(0);
    expect(() => e2m1Encode(Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe("quantizeNvfp4", () => {
  it("quantises a hand-computed block with amax 6 (global scale 448, block scale 448, divisor 1)", () => {
    const row = [6, -6, 1, 0.5, 0, 3, -1.5, 4, 2, -0.25, 0.25, -3, 1.25, 5, -5, 0.75];
    const q = quantizeNvfp4(new Float32Array(row), 1, 16);
    expect(q.globalScale).toBe(448);
    expect(Array.from(q.blockScales)).toEqual([FP8_448]);
    expect(codesOf(q.packed)).toEqual([7, 15, 2, 1, 0, 5, 11, 6, 4, 8, 0, 13, 2, 6, 14, 2]);
    expect(Array.from(q.packed)).toEqual([0xf7, 0x12, 0x50, 0x6b, 0x84, 0xd0, 0x62, 0x2e]);
    const w = dequantizeNvfp4(q.packed, q.blockScales, q.globalScale, 1, 16);
    expect(Array.from(w)).toEqual([6, -6, 1, 0.5, 0, 3, -1.5, 4, 2, -0, 0, -3, 1, 4, -4, 1]);
    expect(Object.is(w[9], -0)).toBe(true);
  });

  it("packs the even column in the low nibble and the odd column in the high nibble", () => {
    const row = new Float32Array(16);
    row[0] = 1; // code 2
    row[1] = 6; // code 7
    const q = quantizeNvfp4(row, 1, 16);
    expect(q.packed[0]).toBe(0x72);
  });

  it("gives a block with half the tensor's amax the FP8 scale 224 and divisor 0.5", () => {
    const w = new Float32Array(32);
    w[0] = 6;
    w.set([3, 1.5, -0.75, 0.2], 16);
    const q = quantizeNvfp4(w, 1, 32);
    expect(q.globalScale).toBe(448);
    expect(Array.from(q.blockScales)).toEqual([FP8_448, 0x76]);
    expect(decodeFp8E4m3(0x76)).toBe(224);
    expect(codesOf(q.packed).slice(16, 20)).toEqual([7, 5, 11, 1]);
  });

  it("replaces the scale of an all-zero block by 0.125 (fp8 0x20)", () => {
    const w = new Float32Array(32);
    w[3] = -2;
    const q = quantizeNvfp4(w, 2, 16);
    expect(Array.from(q.blockScales)).toEqual([FP8_448, FP8_ONE_EIGHTH]);
    expect(codesOf(q.packed).slice(16)).toEqual(new Array(16).fill(0));
    expect(Array.from(dequantizeNvfp4(q.packed, q.blockScales, q.globalScale, 2, 16)).slice(16)).toEqual(
      new Array(16).fill(0),
    );
  });

  it("quantises an all-zero tensor with global scale 1 and zero codes", () => {
    const q = quantizeNvfp4(new Float32Array(32), 2, 16);
    expect(q.globalScale).toBe(1);
    expect(Array.from(q.blockScales)).toEqual([FP8_ONE_EIGHTH, FP8_ONE_EIGHTH]);
    expect(q.packed.every((byte) => byte === 0)).toBe(true);
  });

  it("clamps a block max to ±6 when the FP8 block scale rounded down", () => {
    // global 448; block amax 1 → 448·fround(1/6) = 74.67 → fp8 72, divisor 72/448, 1/divisor = 6.22 → clamps to 6.
    const w = new Float32Array(32);
    w[0] = 6;
    w[16] = 1;
    w[17] = -1;
    const q = quantizeNvfp4(w, 1, 32);
    expect(q.blockScales[1]).toBe(encodeFp8E4m3(72));
    expect(codesOf(q.packed).slice(16, 18)).toEqual([7, 15]);
    const out = dequantizeNvfp4(q.packed, q.blockScales, q.globalScale, 1, 32);
    expect(out[16]).toBe(Math.fround(6 * Math.fround(72 / 448)));
    expect(out[16]).toBe(0.9642857313156128);
  });

  it("uses a given global scale (rounded to float32) instead of 2688/amax", () => {
    const w = new Float32Array(16).fill(1);
    const q = quantizeNvfp4(w, 1, 16, { globalScale: 100 });
    expect(q.globalScale).toBe(100);
    // 100 · fround(1/6) = 16.67 → fp8 16; divisor 0.16; 1/0.16 = 6.25 → 6.
    expect(decodeFp8E4m3(q.blockScales[0]!)).toBe(16);
    expect(codesOf(q.packed)).toEqual(new Array(16).fill(7));
  });

  it("reproduces torch's bf16 rounding of 2688/amax when the weights are bfloat16", () => {
    const w = new Float32Array(16);
    w[0] = 5;
    expect(quantizeNvfp4(w, 1, 16).globalScale).toBe(Math.fround(2688 / 5));
    expect(quantizeNvfp4(w, 1, 16, { weightDtype: "bfloat16" }).globalScale).toBe(536);
  });

  it("rounds the weights to bf16 first when they are bfloat16", () => {
    const exact = new Float32Array(16).fill(0.2);
    const bf16Rounded = new Float32Array(16).fill(0.2001953125);
    exact[0] = 6;
    bf16Rounded[0] = 6;
    expect(quantizeNvfp4(exact, 1, 16, { weightDtype: "bfloat16" })).toEqual(
      quantizeNvfp4(bf16Rounded, 1, 16, { weightDtype: "bfloat16" }),
    );
  });

  it("rejects bad shapes, lengths, non-finite weights and global scales", () => {
    expect(() => quantizeNvfp4(new Float32Array(8), 1, 8)).toThrow(InvalidArgumentError);
    expect(() => quantizeNvfp4(new Float32Array(16), 2, 16)).toThrow(InvalidArgumentError);
    const withNaN = new Float32Array(16);
    withNaN[5] = Number.NaN;
    expect(() => quantizeNvfp4(withNaN, 1, 16)).toThrow(/w\[5\]/);
    expect(() => quantizeNvfp4(new Float32Array(16), 1, 16, { globalScale: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => quantizeNvfp4(new Float32Array(16), 1, 16, { globalScale: Number.NaN })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("dequantizeNvfp4", () => {
  it("divides the block scale by the global scale before multiplying, in float32", () => {
    const packed = new Uint8Array(8).fill(0x55); // every element code 5 = 3
    const out = dequantizeNvfp4(packed, new Uint8Array([0x38]), 7, 1, 16);
    // fround(3 · fround(1/7)) differs from fround(3/7) in the last bit.
    expect(out[0]).toBe(0.4285714626312256);
    expect(out[0]).not.toBe(Math.fround(3 / 7));
  });

  it("rejects mismatched buffer sizes and column counts", () => {
    expect(() => dequantizeNvfp4(new Uint8Array(7), new Uint8Array(1), 1, 1, 16)).toThrow(
      InvalidArgumentError,
    );
    expect(() => dequantizeNvfp4(new Uint8Array(8), new Uint8Array(2), 1, 1, 16)).toThrow(
      InvalidArgumentError,
    );
    expect(() => dequantizeNvfp4(new Uint8Array(4), new Uint8Array(1), 1, 1, 8)).toThrow(/multiple of 16/);
    expect(() => dequantizeNvfp4(new Uint8Array(8), new Uint8Array(1), 0, 1, 16)).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("NVFP4 round trip (property)", () => {
  function mulberry32(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it("dequantises every weight to the nearest point of its block's scaled E2M1 grid (up to the clamp at 6)", () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 40; trial++) {
      const rows = 1 + Math.floor(random() * 6);
      const cols = NVFP4_GROUP_SIZE * (1 + Math.floor(random() * 4));
      const magnitude = 10 ** (random() * 8 - 4);
      const w = new Float32Array(rows * cols);
      for (let i = 0; i < w.length; i++) {
        const blockSpread = 10 ** (random() * 3 - 3) * (Math.floor(i / 16) % 3 === 0 ? 1 : 0.01);
        w[i] = (random() - 0.5) * 2 * magnitude * blockSpread;
      }
      const q = quantizeNvfp4(w, rows, cols);
      const out = dequantizeNvfp4(q.packed, q.blockScales, q.globalScale, rows, cols);
      for (let i = 0; i < w.length; i++) {
        const divisor = Math.fround(decodeFp8E4m3(q.blockScales[Math.floor(i / 16)]!) / q.globalScale);
        const x = w[i]! / divisor;
        const clampedX = Math.max(-6, Math.min(6, x));
        const bestGridError = Math.min(
          ...E2M1_MAGNITUDES.map((m) => Math.min(Math.abs(clampedX - m), Math.abs(clampedX + m))),
        );
        const error = Math.abs(out[i]! / divisor - clampedX);
        expect(error, `trial ${trial} element ${i}`).toBeLessThanOrEqual(
          bestGridError + 1e-5 * Math.max(1, Math.abs(x)),
        );
      }
    }
  });

  it("chooses block scales so the block max lands near ±6 on the grid", () => {
    const random = mulberry32(99);
    const w = new Float32Array(64 * 64);
    for (let i = 0; i < w.length; i++) w[i] = (random() - 0.5) * 0.02;
    const q = quantizeNvfp4(w, 64, 64);
    for (let block = 0; block < q.blockScales.length; block++) {
      let amax = 0;
      for (let i = block * 16; i < block * 16 + 16; i++) amax = Math.max(amax, Math.abs(w[i]!));
      const divisor = decodeFp8E4m3(q.blockScales[block]!) / q.globalScale;
      expect(amax / divisor).toBeGreaterThanOrEqual(6 / (1 + 2 ** -4 + 1e-6));
      expect(amax / divisor).toBeLessThanOrEqual(6 * (1 + 2 ** -4 + 1e-6));
    }
  });
});
