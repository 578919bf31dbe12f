/** Parses a GGUF v3 header (gguf-format.ts): metadata, tensor infos and where the data section starts. */
import { alignUp, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType } from "./gguf-format";

export type GgufReadValue = number | bigint | boolean | string | GgufReadValue[];

export interface GgufTensorInfo {
  readonly name: string;
  readonly ne: readonly number[];
  readonly type: number;
  /** Offset in the data section. */
  readonly offset: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufReadValue>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset of the data section. */
  readonly dataOffset: number;
}

class Cursor {
  private readonly view: DataView;
  position = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): void {
    if (this.position + n > this.bytes.length) {
      throw new RangeError(
        `GGUF header ends at byte ${this.bytes.length}; needed ${n} more at ${this.position}`,
      );
    }
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.position++);
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.position, true);
    this.position += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.position, true);
    this.position += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`GGUF u64 ${v} is too large`);
    return Number(v);
  }
  string(): string {
    const n = this.u64();
    this.need(n);
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.position, n).toString("utf8");
    this.position += n;
    return s;
  }
  value(type: number): GgufReadValue {
    const at = this.position;
    const fixed = (n: number, read: (view: DataView, p: number) => number | bigint) => {
      this.need(n);
      const v = read(this.view, this.position);
      this.position += n;
      return v;
    };
    switch (type) {
      case GgufValueType.UINT8:
        return fixed(1, (v, p) => v.getUint8(p));
      case GgufValueType.INT8:
        return fixed(1, (v, p) => v.getInt8(p));
      case GgufValueType.UINT16:
        return fixed(2, (v, p) => v.getUint16(p, true));
      case GgufValueType.INT16:
        return fixed(2, (v, p) => v.getInt16(p, true));
      case GgufValueType.UINT32:
        return fixed(4, (v, p) => v.getUint32(p, true));
      case GgufValueType.INT32:
        return fixed(4, (v, p) => v.getInt32(p, true));
      case GgufValueType.FLOAT32:
        return fixed(4, (v, p) => v.getFloat32(p, true));
      case GgufValueType.BOOL:
        return this.u8() !== 0;
      case GgufValueType.STRING:
        return this.string();
      case GgufValueType.UINT64:
        return fixed(8, (v, p) => v.getBigUint64(p, true));
      case GgufValueType.INT64:
        return fixed(8, (v, p) => v.getBigInt64(p, true));
      case GgufValueType.FLOAT64:
        return fixed(8, (v, p) => v.getFloat64(p, true));
      case GgufValueType.ARRAY: {
        const elementType = this.u32();
        const count = this.u64();
        const items: GgufReadValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(elementType));
        return items;
      }
      default:
        throw new RangeError(`GGUF value type ${type} at byte ${at} is unknown`);
    }
  }
}

/** Parses the header from the file's first bytes (they must include all metadata and tensor infos). */
export function parseGgufHeader(bytes: Uint8Array): GgufHeader {
  const c = new Cursor(bytes);
  const magic = Buffer.from(bytes.subarray(0, 4)).toString("latin1");
  if (magic !== GGUF_MAGIC) throw new RangeError(`not a GGUF file: magic ${JSON.stringify(magic)}`);
  c.position = 4;
  const version = c.u32();
  if (version !== 3) throw new RangeError(`GGUF version ${version}; this reader knows version 3`);
  const tensorCount = c.u64();
  const kvCount = c.u64();
  const metadata = new Map<string, GgufReadValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string();
    metadata.set(key, c.value(c.u32()));
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string();
    const dims = c.u32();
    const ne: number[] = [];
    for (let d = 0; d < dims; d++) ne.push(c.u64());
    const type = c.u32();
    tensors.push({ name, ne, type, offset: c.u64() });
  }
  const alignmentValue = metadata.get("general.alignment");
  const alignment = typeof alignmentValue === "number" ? alignmentValue : GGUF_DEFAULT_ALIGNMENT;
  return { version, metadata, tensors, alignment, dataOffset: alignUp(c.position, alignment) };
}
