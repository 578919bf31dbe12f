/**
 * Safetensors headers (lib/checkpoint/safetensors/header.ts): valid files built from generated tensor lists, then
 * their header JSON mutated as a value or as text, or the file's bytes mutated. Accepted headers tile the data section
 * exactly, and writing the same tensors and metadata again (encodeSafetensorsHeader) reads back the same.
 */
import fc from "fast-check";
import { SAFETENSORS_DTYPES, tensorByteCount } from "../../../lib/checkpoint/safetensors/dtypes";
import { parseSafetensorsHeader, type SafetensorsHeader } from "../../../lib/checkpoint/safetensors/header";
import { encodeSafetensorsHeader } from "../../../lib/checkpoint/safetensors/write";
import { CheckpointError } from "../../../lib/errors";
import type { FuzzTarget } from "../harness";
import { mutatedBytes, mutatedJson, mutatedText } from "../mutate";

const FILE = "fuzz.safetensors";
const NAMES = [
  "layers.0.attention.wq.weight",
  "norm.weight",
  "output.weight",
  "__proto__",
  "constructor",
  "x".repeat(40),
];
const KEYS = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "format", "", "toString"),
  fc.string({ maxLength: 8 }),
);

const tensorSpec = fc.record({
  name: fc.oneof(fc.constantFrom(...NAMES), fc.string({ minLength: 1, maxLength: 12 })),
  dtype: fc.constantFrom(...SAFETENSORS_DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
});

/** A header object as a writer lays it out, with offsets from the data section's start. */
function headerObject(
  specs: { name: string; dtype: string; shape: number[] }[],
  metadata: [string, string][],
) {
  // Entries, not assignments: "__proto__" is a key like any other in the file.
  const entries: [string, unknown][] = [];
  if (metadata.length > 0) entries.push(["__metadata__", Object.fromEntries(metadata)]);
  let offset = 0;
  for (const s of specs) {
    const count = tensorByteCount(s.dtype as never, s.shape);
    const bytes = count.ok ? Number(count.bytes) : 1;
    entries.push([s.name, { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + bytes] }]);
    offset += bytes;
  }
  return { header: Object.fromEntries(entries), dataBytes: offset };
}

function file(headerText: string, dataBytes: number, declared?: bigint): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const bytes = new Uint8Array(8 + json.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  bytes.set(json, 8);
  for (let i = 8 + json.length; i < bytes.length; i++) bytes[i] = i & 0xff;
  return bytes;
}

const valid = fc
  .record({
    specs: fc.uniqueArray(tensorSpec, { maxLength: 5, selector: (s) => s.name }),
    metadata: fc.uniqueArray(fc.tuple(KEYS, fc.string({ maxLength: 8 })), {
      maxLength: 3,
      selector: (e) => e[0],
    }),
  })
  .map(({ specs, metadata }) => headerObject(specs, metadata));

const input: fc.Arbitrary<Uint8Array> = fc.oneof(
  valid.map(({ header, dataBytes }) => file(JSON.stringify(header), dataBytes)),
  valid.chain(({ header, dataBytes }) =>
    fc
      .tuple(mutatedJson(header), fc.integer({ min: -2, max: 2 }))
      .map(([h, extra]) => file(JSON.stringify(h) ?? "", Math.max(0, dataBytes + extra))),
  ),
  valid.chain(({ header, dataBytes }) =>
    mutatedText(JSON.stringify(header)).map((text) => file(text, dataBytes)),
  ),
  valid.chain(({ header, dataBytes }) => mutatedBytes(file(JSON.stringify(header), dataBytes))),
  fc.uint8Array({ maxLength: 64 }),
);

export const safetensorsHeaderTarget: FuzzTarget<Uint8Array, SafetensorsHeader> = {
  name: "safetensors-header",
  reads: "a safetensors file's length prefix and JSON header",
  input,
  parse: (bytes) => {
    try {
      return parseSafetensorsHeader(FILE, bytes.length, bytes);
    } catch (error) {
      if (error instanceof CheckpointError && !error.message.includes(FILE))
        throw new Error(`a CheckpointError that does not name the file: ${error.message}`);
      throw error;
    }
  },
  check: (bytes, header) => {
    let position = header.dataStart;
    for (const t of header.tensors) {
      if (t.begin !== position) throw new Error(`${t.name} starts at ${t.begin}, not ${position}`);
      const count = tensorByteCount(t.dtype, t.shape);
      if (!count.ok || Number(count.bytes) !== t.end - t.begin || t.byteLength !== t.end - t.begin)
        throw new Error(`${t.name}: ${t.end - t.begin} bytes for ${t.dtype}${JSON.stringify(t.shape)}`);
      if (header.byName.get(t.name) !== t) throw new Error(`${t.name} is not found by name`);
      position = t.end;
    }
    if (position !== bytes.length)
      throw new Error(`the tensors end at ${position}, the file at ${bytes.length}`);
    // Round trip: the same tensors and metadata, written again, read back the same.
    const encoded = encodeSafetensorsHeader(
      header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
      header.metadata,
    );
    const again = new Uint8Array(encoded.fileSize);
    again.set(encoded.bytes);
    const reread = parseSafetensorsHeader(FILE, again.length, again);
    const summary = (h: SafetensorsHeader) =>
      JSON.stringify([
        h.metadata,
        h.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin - h.dataStart, t.byteLength]),
      ]);
    if (summary(reread) !== summary(header))
      throw new Error(`round trip differs:\n${summary(header)}\n${summary(reread)}`);
  },
};
