/** Hand-made PNG files for hostile-input tests: a real IHDR with any size, and whatever follows. */
import { crc32, deflateSync } from "node:zlib";

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG whose IHDR says width × height (8-bit, `colorType`), with `rows` of raw scanlines (filter byte 0 each). */
export function pngFile(
  width: number,
  height: number,
  colorType: number,
  rows?: Uint8Array,
  bitDepth = 8,
): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const parts = [SIGNATURE, chunk("IHDR", ihdr)];
  if (rows !== undefined) parts.push(chunk("IDAT", deflateSync(rows)));
  parts.push(chunk("IEND", new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Scanlines for pngFile: `pixel(x, y)` returns the bytes of one pixel. */
export function scanlines(
  width: number,
  height: number,
  pixel: (x: number, y: number) => number[],
): Uint8Array {
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    out.push(0);
    for (let x = 0; x < width; x++) out.push(...pixel(x, y));
  }
  return Uint8Array.from(out);
}
