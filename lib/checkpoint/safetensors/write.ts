/**
 * Streaming safetensors writer. The header is written first (JSON padded with spaces to a multiple of
 * 8 bytes, as the Rust crate does), then each tensor's bytes in the order given, contiguously. Data goes to
 * a temporary file next to `path` that is renamed over `path` by `finish()`, so a failed or abandoned write
 * never leaves a truncated checkpoint behind; only one tensor chunk is held in memory at a time.
 */

import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { describe, InvalidArgumentError } from "../../errors";
import { isSafetensorsDtype, type SafetensorsDtype, tensorByteCount } from "./dtypes";
import { SAFETENSORS_LENGTH_PREFIX_BYTES, SAFETENSORS_MAX_HEADER_BYTES } from "./header";

export interface SafetensorsTensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

export type TensorDataSource = Uint8Array | (() => Uint8Array | Promise<Uint8Array>);

export interface SafetensorsTensorInput extends SafetensorsTensorSpec {
  /** The bytes, or a callback that produces them when the writer reaches this tensor. */
  data: TensorDataSource;
}

export interface EncodedSafetensorsHeader {
  /** The 8-byte length followed by the padded JSON: the first `bytes.length` bytes of the file. */
  bytes: Uint8Array;
  /** Byte length of each tensor, in the order given. */
  byteLengths: number[];
  /** Total file size once every tensor is written. */
  fileSize: number;
}

function checkSpecs(specs: readonly SafetensorsTensorSpec[]): number[] {
  const seen = new Set<string>();
  return specs.map((spec, index) => {
    const label = `tensors[${index}]`;
    if (typeof spec.name !== "string" || spec.name === "" || spec.name === "__metadata__") {
      throw new InvalidArgumentError(
        `${label}.name`,
        'a non-empty string other than "__metadata__"',
        spec.name,
      );
    }
    if (seen.has(spec.name))
      throw new InvalidArgumentError(`${label}.name`, "a name not used before", spec.name);
    seen.add(spec.name);
    if (!isSafetensorsDtype(spec.dtype)) {
      throw new InvalidArgumentError(`${label}.dtype`, "a safetensors dtype", spec.dtype);
    }
    if (!Array.isArray(spec.shape) || !spec.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw new InvalidArgumentError(`${label}.shape`, "an array of non-negative integers", spec.shape);
    }
    const count = tensorByteCount(spec.dtype, spec.shape);
    if (!count.ok || count.bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InvalidArgumentError(
        `${label}.shape`,
        `a shape whose ${spec.dtype} data fills whole bytes`,
        spec.shape,
      );
    }
    return Number(count.bytes);
  });
}

function checkMetadata(metadata: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== "string") throw new InvalidArgumentError(`metadata.${key}`, "a string", value);
  }
}

/** Build the header (length prefix + padded JSON) for `specs` laid out contiguously in the order given. */
export function encodeSafetensorsHeader(
  specs: readonly SafetensorsTensorSpec[],
  metadata?: Record<string, string>,
): EncodedSafetensorsHeader {
  const byteLengths = checkSpecs(specs);
  checkMetadata(metadata);
  const entries: [string, unknown][] = [];
  if (metadata && Object.keys(metadata).length > 0) entries.push(["__metadata__", metadata]);
  let offset = 0;
  specs.forEach((spec, index) => {
    const end = offset + byteLengths[index]!;
    entries.push([spec.name, { dtype: spec.dtype, shape: [...spec.shape], data_offsets: [offset, end] }]);
    offset = end;
  });
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  const paddedLength = Math.ceil(json.length / 8) * 8;
  if (paddedLength > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new InvalidArgumentError(
      "tensors",
      `a header of at most ${SAFETENSORS_MAX_HEADER_BYTES} bytes`,
      paddedLength,
    );
  }
  const bytes = new Uint8Array(SAFETENSORS_LENGTH_PREFIX_BYTES + paddedLength).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(paddedLength), true);
  bytes.set(json, SAFETENSORS_LENGTH_PREFIX_BYTES);
  return { bytes, byteLengths, fileSize: bytes.length + offset };
}

/**
 * Incremental writer: give every tensor's name, dtype and shape up front, then the bytes of each tensor in
 * that order (whole with `writeTensor`, or in pieces with `writeChunk`), then `finish()`.
 */
export class SafetensorsWriter {
  readonly path: string;
  private readonly tempPath: string;
  private readonly specs: readonly SafetensorsTensorSpec[];
  private readonly byteLengths: number[];
  private handle: FileHandle | undefined;
  private position: number;
  private tensorIndex = 0;
  private writtenOfTensor = 0;

  private constructor(
    path: string,
    tempPath: string,
    handle: FileHandle,
    specs: readonly SafetensorsTensorSpec[],
    header: EncodedSafetensorsHeader,
  ) {
    this.path = path;
    this.tempPath = tempPath;
    this.handle = handle;
    this.specs = specs;
    this.byteLengths = header.byteLengths;
    this.position = header.bytes.length;
  }

  static async create(
    path: string,
    specs: readonly SafetensorsTensorSpec[],
    metadata?: Record<string, string>,
  ): Promise<SafetensorsWriter> {
    const header = encodeSafetensorsHeader(specs, metadata);
    const tempPath = `${path}.partial-${process.pid}-${randomBytes(4).toString("hex")}`;
    const handle = await open(tempPath, "wx");
    const writer = new SafetensorsWriter(path, tempPath, handle, [...specs], header);
    try {
      await writer.writeAt(header.bytes, 0);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer;
  }

  /** The tensor whose bytes are expected next, or undefined when all have been written. */
  get nextTensor(): SafetensorsTensorSpec | undefined {
    return this.specs[this.tensorIndex];
  }

  /** Write all of tensor `name`'s bytes; it must be the next tensor and no chunk of it written yet. */
  async writeTensor(name: string, data: Uint8Array): Promise<void> {
    const expected = this.expectTensor(name);
    if (this.writtenOfTensor !== 0) {
      throw new InvalidArgumentError("name", `a tensor not started yet (${name} is partly written)`, name);
    }
    if (data.length !== this.byteLengths[this.tensorIndex]) {
      throw new InvalidArgumentError(
        `data of ${expected.name}`,
        `${this.byteLengths[this.tensorIndex]} bytes for ${expected.dtype} ${JSON.stringify(expected.shape)}`,
        `${data.length} bytes`,
      );
    }
    await this.writeChunk(name, data);
  }

  /** Append a chunk of tensor `name`'s bytes; the chunk must not run past the end of that tensor. */
  async writeChunk(name: string, chunk: Uint8Array): Promise<void> {
    const expected = this.expectTensor(name);
    const remaining = this.byteLengths[this.tensorIndex]! - this.writtenOfTensor;
    if (!(chunk instanceof Uint8Array) || chunk.length > remaining) {
      throw new InvalidArgumentError(
        `chunk of ${expected.name}`,
        `a Uint8Array of at most ${remaining} bytes`,
        chunk?.length ?? chunk,
      );
    }
    await this.writeAt(chunk, this.position);
    this.position += chunk.length;
    this.writtenOfTensor += chunk.length;
    if (this.writtenOfTensor === this.byteLengths[this.tensorIndex]) {
      this.tensorIndex += 1;
      this.writtenOfTensor = 0;
    }
  }

  /** Check every tensor was written completely, then move the file into place. */
  async finish(): Promise<void> {
    this.skipEmptyTensorsOtherThan(undefined);
    const missing = this.nextTensor;
    if (missing) {
      await this.abort();
      throw new InvalidArgumentError(
        "tensors",
        `data for every tensor before finish() (missing ${missing.name})`,
        this.writtenOfTensor,
      );
    }
    const handle = this.openHandle();
    this.handle = undefined;
    try {
      await handle.close();
      await rename(this.tempPath, this.path);
    } catch (error) {
      await rm(this.tempPath, { force: true });
      throw error;
    }
  }

  /** Stop writing and delete the temporary file; `path` is left untouched. */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }

  private expectTensor(name: string): SafetensorsTensorSpec {
    this.skipEmptyTensorsOtherThan(name);
    const expected = this.nextTensor;
    if (!expected)
      throw new InvalidArgumentError("name", "no further tensor (all tensors are written)", name);
    if (name !== expected.name) {
      throw new InvalidArgumentError("name", `the next tensor in order, ${describe(expected.name)}`, name);
    }
    return expected;
  }

  /** Zero-byte tensors need no data: a caller may write them (as empty) or skip them. */
  private skipEmptyTensorsOtherThan(name: string | undefined): void {
    while (
      this.writtenOfTensor === 0 &&
      this.byteLengths[this.tensorIndex] === 0 &&
      this.specs[this.tensorIndex]!.name !== name
    ) {
      this.tensorIndex += 1;
    }
  }

  private openHandle(): FileHandle {
    if (!this.handle)
      throw new InvalidArgumentError("writer", "a writer that is still open", "a finished or aborted writer");
    return this.handle;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    const handle = this.openHandle();
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }
}

/** Write `tensors` (in the order given) to a new safetensors file at `path`. */
export async function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Record<string, string>,
): Promise<void> {
  const writer = await SafetensorsWriter.create(path, tensors, metadata);
  try {
    for (const tensor of tensors) {
      const data = typeof tensor.data === "function" ? await tensor.data() : tensor.data;
      await writer.writeTensor(tensor.name, data);
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
