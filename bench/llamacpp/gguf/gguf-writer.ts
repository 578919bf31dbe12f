/** Writes a GGUF v3 file (gguf-format.ts): metadata and tensor infos first, then the tensors streamed in order. */
import { type FileHandle, open } from "node:fs/promises";
import {
  alignUp,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  type GgmlTypeId,
  type GgufValue,
  GgufValueType,
  ggmlTensorBytes,
} from "./gguf-format";

export interface GgufTensorSpec {
  readonly name: string;
  /** Sizes with ne[0] contiguous. */
  readonly ne: readonly number[];
  readonly type: GgmlTypeId;
  /** The tensor's bytes in order, in chunks of any size; their total must be ggmlTensorBytes(type, ne). */
  readonly data: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** A growable little-endian byte buffer for the header. */
class ByteBuilder {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const utf8 = Buffer.from(s, "utf8");
    this.u64(utf8.length);
    this.bytes(utf8);
  }
  padTo(alignment: number): void {
    const target = alignUp(this.length, alignment);
    this.reserve(target - this.length);
    this.buffer.fill(0, this.length, target);
    this.length = target;
  }
  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(out: ByteBuilder, value: GgufValue): void {
  switch (value.type) {
    case "u32":
      out.u32(GgufValueType.UINT32);
      out.u32(value.value);
      return;
    case "i32":
      out.u32(GgufValueType.INT32);
      out.i32(value.value);
      return;
    case "f32":
      out.u32(GgufValueType.FLOAT32);
      out.f32(value.value);
      return;
    case "bool":
      out.u32(GgufValueType.BOOL);
      out.u8(value.value ? 1 : 0);
      return;
    case "string":
      out.u32(GgufValueType.STRING);
      out.string(value.value);
      return;
    case "string[]":
      out.u32(GgufValueType.ARRAY);
      out.u32(GgufValueType.STRING);
      out.u64(value.value.length);
      for (const s of value.value) out.string(s);
      return;
    case "i32[]":
      out.u32(GgufValueType.ARRAY);
      out.u32(GgufValueType.INT32);
      out.u64(value.value.length);
      for (let i = 0; i < value.value.length; i++) out.i32(value.value[i]!);
      return;
    case "f32[]":
      out.u32(GgufValueType.ARRAY);
      out.u32(GgufValueType.FLOAT32);
      out.u64(value.value.length);
      for (let i = 0; i < value.value.length; i++) out.f32(value.value[i]!);
      return;
  }
}

/** The header (everything before the data section) and each tensor's offset in the data section. */
export function encodeGgufHeader(
  metadata: readonly (readonly [string, GgufValue])[],
  tensors: readonly Omit<GgufTensorSpec, "data">[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`GGUF tensor ${t.name} is written twice`);
    names.add(t.name);
  }
  const keys = new Set<string>();
  for (const [key] of metadata) {
    if (keys.has(key)) throw new Error(`GGUF metadata key ${key} is written twice`);
    keys.add(key);
  }
  const out = new ByteBuilder();
  out.bytes(Buffer.from(GGUF_MAGIC, "ascii"));
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.ne.length);
    for (const n of t.ne) out.u64(n);
    out.u32(t.type);
    out.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + ggmlTensorBytes(t.type, t.ne), alignment);
  }
  out.padTo(alignment);
  return { header: out.result(), offsets, dataBytes: offset };
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes `path`: the header, then each tensor's chunks at its aligned offset. Returns the file size.
 * `general.alignment`, when given in `metadata`, must equal `alignment`.
 */
export async function writeGguf(
  path: string,
  metadata: readonly (readonly [string, GgufValue])[],
  tensors: readonly GgufTensorSpec[],
  options: { alignment?: number; onTensor?: (name: string, index: number) => void } = {},
): Promise<number> {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const { header, offsets, dataBytes } = encodeGgufHeader(metadata, tensors, alignment);
  const handle = await open(path, "w");
  try {
    await writeAll(handle, header, 0);
    for (const [i, t] of tensors.entries()) {
      options.onTensor?.(t.name, i);
      const start = header.length + offsets[i]!;
      const expected = ggmlTensorBytes(t.type, t.ne);
      let written = 0;
      for await (const chunk of t.data()) {
        if (written + chunk.length > expected) {
          throw new Error(`GGUF tensor ${t.name}: more than the ${expected} bytes its shape and type hold`);
        }
        await writeAll(handle, chunk, start + written);
        written += chunk.length;
      }
      if (written !== expected) {
        throw new Error(
          `GGUF tensor ${t.name}: ${written} bytes written, its shape and type hold ${expected}`,
        );
      }
    }
    const size = header.length + dataBytes;
    await handle.truncate(size);
    return size;
  } finally {
    await handle.close();
  }
}
