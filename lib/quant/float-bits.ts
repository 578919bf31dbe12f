/** Bit-level helpers shared by the float codecs in this folder. */

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** The IEEE-754 binary32 bit pattern of `value` after rounding it to float32. */
export function float32Bits(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0]!;
}

/** The float32 whose bit pattern is `bits` (an unsigned 32-bit integer). */
export function float32FromBits(bits: number): number {
  scratchBits[0] = bits >>> 0;
  return scratchFloat[0]!;
}

/** Round to the nearest integer, ties to the even neighbour (IEEE roundTiesToEven). */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
