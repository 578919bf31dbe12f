import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { CheckpointError } from "../../lib/errors";

/** Raw safetensors bytes: u64 LE length of `header` (a JSON string or value), the header, then `data`. */
export function rawSafetensors(
  header: string | object,
  data: Uint8Array | number = new Uint8Array(0),
  options: { declaredHeaderLength?: bigint } = {},
): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const dataBytes = typeof data === "number" ? new Uint8Array(data) : data;
  const bytes = new Uint8Array(8 + json.length + dataBytes.length);
  new DataView(bytes.buffer).setBigUint64(0, options.declaredHeaderLength ?? BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(dataBytes, 8 + json.length);
  return bytes;
}

export function expectCheckpointError(
  run: () => unknown,
  where: { file: string; tensor?: string | undefined; message?: RegExp },
): CheckpointError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  const error = caught as CheckpointError;
  expect(error.file).toBe(where.file);
  expect(error.message).toContain(where.file);
  expect(error.tensor).toBe(where.tensor);
  if (where.tensor !== undefined) expect(error.message).toContain(`tensor ${where.tensor}`);
  if (where.message) expect(error.message).toMatch(where.message);
  return error;
}

export async function expectCheckpointErrorAsync(
  run: () => Promise<unknown>,
  where: { file: string; tensor?: string | undefined; message?: RegExp },
): Promise<CheckpointError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  return expectCheckpointError(() => {
    if (caught !== undefined) throw caught;
  }, where);
}

export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "ms4-safetensors-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
