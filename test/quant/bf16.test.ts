import { describe, expect, it } from "vitest";
import {
  BF16_CANONICAL_NAN,
  bf16ArrayToF32,
  bf16BitsToF32,
  f32ArrayToBf16,
  f32ToBf16Bits,
  roundToBf16,
} from "../../lib/quant/bf16";

function float32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

describe("bf16", () => {
  it("converts exactly representable values both ways", () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(Object.is(bf16BitsToF32(0x8000), -0)).toBe(true);
    expect(bf16BitsToF32(0x4049)).toBe(3.140625);
  });

  it("round-trips every non-NaN bf16 bit pattern", () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const isNaNPattern = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
      if (!isNaNPattern && f32ToBf16Bits(bf16BitsToF32(bits)) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it("rounds to nearest with ties to even", () => {
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie, 0x3f80 is even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, 0x3f82 is even
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16Bits(1 + 2 ** -8 - 2 ** -20)).toBe(0x3f80);
    expect(f32ToBf16Bits(-(1 + 3 * 2 ** -8))).toBe(0xbf82);
    expect(roundToBf16(537.6)).toBe(536);
  });

  it("overflows to infinity and keeps infinities", () => {
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80);
    expect(f32ToBf16Bits(Number.POSITIVE_INFINITY)).toBe(0x7f80);
    expect(f32ToBf16Bits(Number.NEGATIVE_INFINITY)).toBe(0xff80);
  });

  it("maps every NaN to the canonical quiet NaN like torch", () => {
    expect(f32ToBf16Bits(Number.NaN)).toBe(BF16_CANONICAL_NAN);
    const negativeSignallingNaN = float32FromBits(0xff800001);
    expect(f32ArrayToBf16(new Float32Array([negativeSignallingNaN]))[0]).toBe(BF16_CANONICAL_NAN);
    expect(bf16BitsToF32(BF16_CANONICAL_NAN)).toBeNaN();
  });

  it("keeps float32 subnormals on the bf16 grid", () => {
    const subnormal = float32FromBits(0x00010000);
    expect(f32ToBf16Bits(subnormal)).toBe(0x0001);
    expect(bf16BitsToF32(0x0001)).toBe(subnormal);
  });

  it("converts arrays (including offset views) the same way as single values", () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const backing = new Float32Array(1001);
    for (let i = 0; i < backing.length; i++)
      backing[i] = (random() - 0.5) * 10 ** Math.floor(random() * 20 - 10);
    const view = backing.subarray(1);
    const fromTyped = f32ArrayToBf16(view);
    const fromPlain = f32ArrayToBf16(Array.from(view));
    expect(fromTyped).toEqual(fromPlain);
    for (let i = 0; i < view.length; i++) expect(fromTyped[i]).toBe(f32ToBf16Bits(view[i]!));
    const back = bf16ArrayToF32(fromTyped);
    for (let i = 0; i < view.length; i++) expect(back[i]).toBe(bf16BitsToF32(fromTyped[i]!));
  });
});
