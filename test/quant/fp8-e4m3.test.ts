import { describe, expect, it } from "vitest";
import {
  decodeFp8E4m3,
  decodeFp8E4m3Array,
  encodeFp8E4m3,
  encodeFp8E4m3Array,
  FP8_E4M3_DECODE,
  FP8_E4M3_MAX,
} from "../../lib/quant/fp8-e4m3";

/** Reference decode built from float32 bit patterns (normals) and the subnormal step 2^-9. */
function referenceDecode(byte: number): number {
  const sign = byte >> 7;
  const exponent = (byte >> 3) & 15;
  const mantissa = byte & 7;
  if (exponent === 15 && mantissa === 7) return Number.NaN;
  const view = new DataView(new ArrayBuffer(4));
  if (exponent === 0) {
    view.setFloat32(0, mantissa / 512);
    view.setUint32(0, view.getUint32(0) | (sign << 31));
  } else {
    view.setUint32(0, ((sign << 31) | ((exponent - 7 + 127) << 23) | (mantissa << 20)) >>> 0);
  }
  return view.getFloat32(0);
}

function nextFloat32Up(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  view.setUint32(0, view.getUint32(0) + 1);
  return view.getFloat32(0);
}

function nextFloat32Down(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  view.setUint32(0, view.getUint32(0) - 1);
  return view.getFloat32(0);
}

const nonNaNBytes = Array.from({ length: 256 }, (_, byte) => byte).filter((byte) => (byte & 0x7f) !== 0x7f);

describe("FP8 E4M3FN decode", () => {
  it("decodes every byte to the value its bit fields define", () => {
    for (let byte = 0; byte < 256; byte++) {
      expect(Object.is(FP8_E4M3_DECODE[byte], referenceDecode(byte)), `byte 0x${byte.toString(16)}`).toBe(
        true,
      );
      expect(Object.is(decodeFp8E4m3(byte), referenceDecode(byte))).toBe(true);
    }
  });

  it("has the landmark values of the format", () => {
    expect(decodeFp8E4m3(0x00)).toBe(0);
    expect(Object.is(decodeFp8E4m3(0x80), -0)).toBe(true);
    expect(decodeFp8E4m3(0x01)).toBe(2 ** -9);
    expect(decodeFp8E4m3(0x07)).toBe(7 * 2 ** -9);
    expect(decodeFp8E4m3(0x08)).toBe(2 ** -6);
    expect(decodeFp8E4m3(0x38)).toBe(1);
    expect(decodeFp8E4m3(0x20)).toBe(0.125);
    expect(decodeFp8E4m3(0x7e)).toBe(448);
    expect(decodeFp8E4m3(0xfe)).toBe(-448);
    expect(decodeFp8E4m3(0x7f)).toBeNaN();
    expect(decodeFp8E4m3(0xff)).toBeNaN();
    expect(FP8_E4M3_MAX).toBe(448);
  });

  it("decodes arrays through the table", () => {
    expect(Array.from(decodeFp8E4m3Array(new Uint8Array([0x38, 0xc0, 0x7e])))).toEqual([1, -2, 448]);
  });
});

describe("FP8 E4M3FN encode (torch float32 -> float8_e4m3fn)", () => {
  it("round-trips every non-NaN byte", () => {
    for (const byte of nonNaNBytes) expect(encodeFp8E4m3(decodeFp8E4m3(byte))).toBe(byte);
  });

  it("rounds every exact midpoint between neighbours to the even byte, and off-midpoints to the nearer one", () => {
    for (let byte = 0; byte < 0x7e; byte++) {
      const low = decodeFp8E4m3(byte);
      const high = decodeFp8E4m3(byte + 1);
      const midpoint = (low + high) / 2;
      expect(Math.fround(midpoint)).toBe(midpoint);
      const even = byte % 2 === 0 ? byte : byte + 1;
      expect(encodeFp8E4m3(midpoint), `midpoint after 0x${byte.toString(16)}`).toBe(even);
      expect(encodeFp8E4m3(-midpoint)).toBe(even | 0x80);
      expect(encodeFp8E4m3(nextFloat32Up(midpoint))).toBe(byte + 1);
      expect(encodeFp8E4m3(nextFloat32Down(midpoint))).toBe(byte);
    }
  });

  it("does not saturate: 464 ties down to 448, anything above 464 becomes NaN", () => {
    expect(encodeFp8E4m3(448)).toBe(0x7e);
    expect(encodeFp8E4m3(464)).toBe(0x7e);
    expect(encodeFp8E4m3(-464)).toBe(0xfe);
    expect(encodeFp8E4m3(nextFloat32Up(464))).toBe(0x7f);
    expect(encodeFp8E4m3(470)).toBe(0x7f);
    expect(encodeFp8E4m3(480)).toBe(0x7f);
    expect(encodeFp8E4m3(1e30)).toBe(0x7f);
    expect(encodeFp8E4m3(-1e30)).toBe(0xff);
    expect(encodeFp8E4m3(Number.POSITIVE_INFINITY)).toBe(0x7f);
    expect(encodeFp8E4m3(Number.NEGATIVE_INFINITY)).toBe(0xff);
    expect(encodeFp8E4m3(Number.NaN)).toBe(0x7f);
  });

  it("clamps to ±448 when asked to saturate", () => {
    expect(encodeFp8E4m3(470, { saturate: true })).toBe(0x7e);
    expect(encodeFp8E4m3(Number.NEGATIVE_INFINITY, { saturate: true })).toBe(0xfe);
    expect(encodeFp8E4m3(Number.NaN, { saturate: true })).toBe(0x7f);
  });

  it("rounds subnormals on the 2^-9 grid and flushes tiny values to signed zero", () => {
    expect(encodeFp8E4m3(2 ** -9)).toBe(0x01);
    expect(encodeFp8E4m3(2 ** -10)).toBe(0x00); // tie between 0 and 2^-9: even is 0
    expect(encodeFp8E4m3(nextFloat32Up(2 ** -10))).toBe(0x01);
    expect(encodeFp8E4m3(3 * 2 ** -10)).toBe(0x02); // tie between 1 and 2 subnormal steps
    expect(encodeFp8E4m3(15 * 2 ** -10)).toBe(0x08); // tie between 7·2^-9 and 2^-6: rounds up into the normals
    expect(encodeFp8E4m3(1e-10)).toBe(0x00);
    expect(encodeFp8E4m3(-1e-10)).toBe(0x80);
    expect(encodeFp8E4m3(0)).toBe(0x00);
    expect(encodeFp8E4m3(-0)).toBe(0x80);
  });

  it("rounds the input to float32 first, as a float32 tensor holds it", () => {
    const justAboveTieInDouble = 2 ** -10 * (1 + 2 ** -40);
    expect(encodeFp8E4m3(justAboveTieInDouble)).toBe(0x00);
  });

  it("encodes arrays element by element", () => {
    expect(Array.from(encodeFp8E4m3Array([1, -2, 448, 1000], { saturate: true }))).toEqual([
      0x38, 0xc0, 0x7e, 0x7e,
    ]);
  });
});
