/** Read a safetensors header from disk, touching only the 8 + n header bytes. */

import { type FileHandle, open } from "node:fs/promises";
import { CheckpointError } from "../../errors";
import {
  parseSafetensorsHeader,
  parseSafetensorsHeaderLength,
  SAFETENSORS_LENGTH_PREFIX_BYTES,
  type SafetensorsHeader,
} from "./header";

/** Which file, and which version of it (fs.Stats in decimal strings): the addon maps only that file. */
export interface FileIdentity {
  dev: string;
  ino: string;
  mtimeNs: string;
}

export interface SafetensorsFileHeader extends SafetensorsHeader {
  path: string;
  fileSize: number;
  /** The file the header was read from, as it was then. */
  identity?: FileIdentity;
}

/** The CheckpointError for a failed open/read/stat of `path`. */
export function fileAccessError(path: string, cause: unknown): CheckpointError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return new CheckpointError(`file not found: ${path}`, { file: path }, { cause });
  if (code === "EISDIR") return new CheckpointError("is a directory, not a file", { file: path }, { cause });
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CheckpointError(`cannot read file: ${reason}`, { file: path }, { cause });
}

async function readExactly(
  handle: FileHandle,
  path: string,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw new CheckpointError(`file ended after ${position + filled} bytes while reading its header`, {
        file: path,
      });
    }
    filled += bytesRead;
  }
  return buffer;
}

export async function readSafetensorsHeader(path: string): Promise<SafetensorsFileHeader> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    throw fileAccessError(path, cause);
  }
  try {
    let fileSize: number;
    let identity: FileIdentity;
    try {
      const stats = await handle.stat({ bigint: true });
      if (stats.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" });
      fileSize = Number(stats.size);
      identity = { dev: String(stats.dev), ino: String(stats.ino), mtimeNs: String(stats.mtimeNs) };
    } catch (cause) {
      throw fileAccessError(path, cause);
    }
    const prefixLength = Math.min(SAFETENSORS_LENGTH_PREFIX_BYTES, fileSize);
    const lengthBytes = await readOrFail(handle, path, 0, prefixLength);
    const headerSize = parseSafetensorsHeaderLength(path, fileSize, lengthBytes);
    const headerBytes = await readOrFail(handle, path, SAFETENSORS_LENGTH_PREFIX_BYTES, headerSize);
    const prefix = new Uint8Array(SAFETENSORS_LENGTH_PREFIX_BYTES + headerSize);
    prefix.set(lengthBytes, 0);
    prefix.set(headerBytes, SAFETENSORS_LENGTH_PREFIX_BYTES);
    return { ...parseSafetensorsHeader(path, fileSize, prefix), path, fileSize, identity };
  } finally {
    await handle.close();
  }
}

async function readOrFail(
  handle: FileHandle,
  path: string,
  position: number,
  length: number,
): Promise<Uint8Array> {
  try {
    return await readExactly(handle, path, position, length);
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
    throw fileAccessError(path, cause);
  }
}
