/**
 * Parse and validate a safetensors header, treating the file as hostile. A file is accepted only when the
 * Rust `safetensors` crate would accept it (plus: no duplicate keys, no empty tensor names):
 *
 *   [u64 LE n][n bytes of UTF-8 JSON][data section]
 *
 * - n ≤ SAFETENSORS_MAX_HEADER_BYTES (the crate's MAX_HEADER_SIZE) and 8 + n ≤ file size;
 * - the JSON is an object; `__metadata__` (optional) maps strings to strings; every other key is a tensor
 *   `{dtype, shape, data_offsets: [begin, end]}` with offsets relative to the data section;
 * - sorted by offset, the tensors tile the data section exactly: the first starts at 0, each starts where
 *   the previous ended (no overlap, no hole) and the last ends at the end of the file;
 * - each tensor's byte count equals its dtype size × product(shape).
 * Every violation is a CheckpointError naming the file (and the tensor when there is one).
 */

import { CheckpointError, describe, InvalidArgumentError } from "../../errors";
import { isSafetensorsDtype, SAFETENSORS_DTYPES, type SafetensorsDtype, tensorByteCount } from "./dtypes";
import { findDuplicateJsonKey } from "./json-keys";

/** Largest header accepted, in bytes (100,000,000 — the Rust crate's MAX_HEADER_SIZE). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
/** Size of the little-endian u64 header length that starts every file. */
export const SAFETENSORS_LENGTH_PREFIX_BYTES = 8;
const METADATA_KEY = "__metadata__";

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute file offset of the first byte. */
  begin: number;
  /** Absolute file offset one past the last byte. */
  end: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** n: the JSON header's length in bytes (padding included). */
  headerSize: number;
  /** Absolute offset of the data section: 8 + n. */
  dataStart: number;
  metadata: Record<string, string>;
  /** Sorted by file offset. */
  tensors: SafetensorsTensor[];
  byName: Map<string, SafetensorsTensor>;
}

/**
 * Validate the u64 header length stored in the first 8 bytes of a file of `fileSize` bytes and return it.
 * `firstBytes` must hold min(8, fileSize) bytes or more from the start of the file.
 */
export function parseSafetensorsHeaderLength(
  fileName: string,
  fileSize: number,
  firstBytes: Uint8Array,
): number {
  if (fileSize < SAFETENSORS_LENGTH_PREFIX_BYTES) {
    throw new CheckpointError(
      `file is ${fileSize} bytes long, shorter than the 8-byte header length every safetensors file starts with`,
      { file: fileName },
    );
  }
  if (firstBytes.length < SAFETENSORS_LENGTH_PREFIX_BYTES) {
    throw new InvalidArgumentError("firstBytes", "at least the first 8 bytes of the file", firstBytes);
  }
  const view = new DataView(firstBytes.buffer, firstBytes.byteOffset, SAFETENSORS_LENGTH_PREFIX_BYTES);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw new CheckpointError(
      `header length ${length} bytes exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`,
      { file: fileName },
    );
  }
  const headerSize = Number(length);
  if (SAFETENSORS_LENGTH_PREFIX_BYTES + headerSize > fileSize) {
    throw new CheckpointError(
      `header length ${headerSize} bytes runs past the end of the file (${fileSize} bytes): the file is truncated or corrupt`,
      { file: fileName },
    );
  }
  return headerSize;
}

/**
 * Parse the header of a safetensors file of `fileSize` bytes whose beginning is `prefix` (at least the first
 * 8 + n bytes, or the whole file).
 */
export function parseSafetensorsHeader(
  fileName: string,
  fileSize: number,
  prefix: Uint8Array,
): SafetensorsHeader {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new InvalidArgumentError("fileSize", "a non-negative integer", fileSize);
  }
  const headerSize = parseSafetensorsHeaderLength(fileName, fileSize, prefix);
  const dataStart = SAFETENSORS_LENGTH_PREFIX_BYTES + headerSize;
  if (prefix.length < dataStart) {
    throw new InvalidArgumentError("prefix", `the first ${dataStart} bytes of the file`, prefix);
  }
  const root = parseJsonObject(fileName, prefix.subarray(SAFETENSORS_LENGTH_PREFIX_BYTES, dataStart));
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  for (const [name, value] of Object.entries(root)) {
    if (name === METADATA_KEY) metadata = parseMetadata(fileName, value);
    else tensors.push(parseTensorEntry(fileName, name, value, dataStart, dataSize));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTensorsTileDataSection(fileName, tensors, dataStart, fileSize);
  return {
    headerSize,
    dataStart,
    metadata,
    tensors,
    byName: new Map(tensors.map((tensor) => [tensor.name, tensor])),
  };
}

function parseJsonObject(fileName: string, bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new CheckpointError("header is not valid UTF-8", { file: fileName }, { cause });
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    throw new CheckpointError(`header is not valid JSON${detail}`, { file: fileName }, { cause });
  }
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    throw new CheckpointError(`header must be a JSON object but is ${describe(root)}`, { file: fileName });
  }
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate) {
    const [owner = "", ...inner] = [...duplicate.path, duplicate.key];
    const innerKey = JSON.stringify(inner.join("."));
    if (owner === METADATA_KEY) {
      const message = inner.length === 0 ? "appears twice" : `has the key ${innerKey} twice`;
      throw new CheckpointError(`${METADATA_KEY} ${message} in the header`, { file: fileName });
    }
    const message =
      inner.length === 0 ? "appears twice in the header" : `entry has the key ${innerKey} twice`;
    throw new CheckpointError(message, { file: fileName, tensor: owner });
  }
  return root as Record<string, unknown>;
}

function parseMetadata(fileName: string, value: unknown): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new CheckpointError(`${METADATA_KEY} must be an object of strings but is ${describe(value)}`, {
      file: fileName,
    });
  }
  const entries = Object.entries(value);
  for (const [key, entry] of entries) {
    if (typeof entry !== "string") {
      throw new CheckpointError(`${METADATA_KEY}.${key} must be a string but is ${describe(entry)}`, {
        file: fileName,
      });
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseTensorEntry(
  fileName: string,
  name: string,
  value: unknown,
  dataStart: number,
  dataSize: number,
): SafetensorsTensor {
  const where = { file: fileName, tensor: name === "" ? '""' : name };
  if (name === "") throw new CheckpointError("tensor names must not be empty", where);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CheckpointError(
      `entry must be an object {dtype, shape, data_offsets} but is ${describe(value)}`,
      where,
    );
  }
  const entry = value as Record<string, unknown>;
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!Object.hasOwn(entry, field)) throw new CheckpointError(`entry is missing "${field}"`, where);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isSafetensorsDtype(dtype)) {
    throw new CheckpointError(
      `unknown dtype ${describe(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(", ")}`,
      where,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    throw new CheckpointError(
      `shape must be an array of non-negative integers but is ${JSON.stringify(shape)}`,
      where,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    throw new CheckpointError(
      `data_offsets must be [begin, end] with non-negative integers but is ${JSON.stringify(offsets)}`,
      where,
    );
  }
  const [relativeBegin, relativeEnd] = offsets as [number, number];
  if (relativeBegin > relativeEnd) {
    throw new CheckpointError(`data_offsets [${relativeBegin}, ${relativeEnd}] end before they begin`, where);
  }
  if (relativeEnd > dataSize) {
    throw new CheckpointError(
      `data_offsets [${relativeBegin}, ${relativeEnd}] run past the end of the data section (${dataSize} bytes): the file is truncated or the header lies`,
      where,
    );
  }
  const byteLength = relativeEnd - relativeBegin;
  const expected = tensorByteCount(dtype, shape);
  if (!expected.ok) {
    throw new CheckpointError(
      `shape ${JSON.stringify(shape)} of ${dtype} is ${expected.bits} bits, not a whole number of bytes`,
      where,
    );
  }
  if (expected.bytes !== BigInt(byteLength)) {
    throw new CheckpointError(
      `${dtype} ${JSON.stringify(shape)} needs ${expected.bytes} bytes but data_offsets [${relativeBegin}, ${relativeEnd}] hold ${byteLength}`,
      where,
    );
  }
  return {
    name,
    dtype,
    shape: [...shape],
    begin: dataStart + relativeBegin,
    end: dataStart + relativeEnd,
    byteLength,
  };
}

/** `tensors` sorted by offset must cover [dataStart, fileSize) exactly once. */
function checkTensorsTileDataSection(
  fileName: string,
  tensors: readonly SafetensorsTensor[],
  dataStart: number,
  fileSize: number,
): void {
  let position = dataStart;
  let previous: SafetensorsTensor | undefined;
  for (const tensor of tensors) {
    if (tensor.begin < position) {
      throw new CheckpointError(
        `bytes [${tensor.begin - dataStart}, ${tensor.end - dataStart}) overlap tensor ${previous?.name} at [${previous!.begin - dataStart}, ${previous!.end - dataStart}) of the data section`,
        { file: fileName, tensor: tensor.name },
      );
    }
    if (tensor.begin > position) {
      throw new CheckpointError(
        `data section bytes [${position - dataStart}, ${tensor.begin - dataStart}) before this tensor belong to no tensor (safetensors requires tensors to be contiguous)`,
        { file: fileName, tensor: tensor.name },
      );
    }
    position = tensor.end;
    previous = tensor;
  }
  if (position !== fileSize) {
    throw new CheckpointError(
      `the last ${fileSize - position} bytes of the file belong to no tensor (the data section is ${fileSize - dataStart} bytes, tensors cover ${position - dataStart})`,
      { file: fileName },
    );
  }
}
