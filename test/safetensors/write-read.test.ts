import { open, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  encodeSafetensorsHeader,
  readSafetensorsHeader,
  SafetensorsWriter,
  writeSafetensors,
} from "../../lib/checkpoint/safetensors/index";
import { InvalidArgumentError } from "../../lib/errors";
import { expectCheckpointErrorAsync, rawSafetensors, withTempDir } from "./helpers";

function bytesFrom(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

describe("writeSafetensors + readSafetensorsHeader", () => {
  it("round-trips names, dtypes, shapes, metadata and bytes, laid out in the order given", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "model.safetensors");
      const tensors = [
        { name: "layers.0.w", dtype: "F32" as const, shape: [2, 3], data: bytesFrom(24, 1) },
        { name: "empty", dtype: "U8" as const, shape: [0], data: new Uint8Array(0) },
        { name: "scale", dtype: "F8_E4M3" as const, shape: [2, 2], data: () => bytesFrom(4, 2) },
        { name: "packed", dtype: "F4" as const, shape: [2, 4], data: async () => bytesFrom(4, 3) },
        { name: "step", dtype: "I64" as const, shape: [], data: bytesFrom(8, 4) },
        { name: "norm", dtype: "BF16" as const, shape: [5], data: bytesFrom(10, 5) },
      ];
      await writeSafetensors(path, tensors, { format: "pt", note: "ünïcode" });
      const header = await readSafetensorsHeader(path);
      const file = await readFile(path);
      expect(header.fileSize).toBe(file.length);
      expect(header.path).toBe(path);
      expect(header.dataStart % 8).toBe(0);
      expect(header.metadata).toEqual({ format: "pt", note: "ünïcode" });
      expect(header.tensors.map((t) => t.name)).toEqual([
        "layers.0.w",
        "empty",
        "scale",
        "packed",
        "step",
        "norm",
      ]);
      let expectedBegin = header.dataStart;
      for (const spec of tensors) {
        const found = header.byName.get(spec.name)!;
        expect(found.dtype).toBe(spec.dtype);
        expect(found.shape).toEqual(spec.shape);
        expect(found.begin).toBe(expectedBegin);
        const data = typeof spec.data === "function" ? await spec.data() : spec.data;
        expect(new Uint8Array(file.subarray(found.begin, found.end))).toEqual(data);
        expectedBegin = found.end;
      }
      expect(await readdir(dir)).toEqual(["model.safetensors"]);
    });
  });

  it("writes the header the way the Rust crate does: compact JSON padded with spaces to 8 bytes", () => {
    const { bytes, fileSize } = encodeSafetensorsHeader([{ name: "a", dtype: "F32", shape: [2] }], {
      format: "pt",
    });
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + " ".repeat((8 - (json.length % 8)) % 8);
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(padded.length));
    expect(new TextDecoder().decode(bytes.subarray(8))).toBe(padded);
    expect(fileSize).toBe(8 + padded.length + 8);
    expect(new TextDecoder().decode(encodeSafetensorsHeader([]).bytes.subarray(8))).toBe("{}      ");
  });

  it("streams a tensor in chunks and lets empty tensors be skipped", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "chunked.safetensors");
      const writer = await SafetensorsWriter.create(path, [
        { name: "big", dtype: "U16", shape: [1000] },
        { name: "nothing", dtype: "F32", shape: [0, 3] },
        { name: "tail", dtype: "U8", shape: [3] },
      ]);
      expect(writer.nextTensor?.name).toBe("big");
      const big = bytesFrom(2000, 9);
      for (let offset = 0; offset < big.length; offset += 300)
        await writer.writeChunk("big", big.subarray(offset, offset + 300));
      await writer.writeTensor("tail", new Uint8Array([1, 2, 3]));
      expect(writer.nextTensor).toBeUndefined();
      await writer.finish();
      const header = await readSafetensorsHeader(path);
      const file = await readFile(path);
      const found = header.byName.get("big")!;
      expect(new Uint8Array(file.subarray(found.begin, found.end))).toEqual(big);
      expect(Array.from(file.subarray(file.length - 3))).toEqual([1, 2, 3]);
    });
  });

  it("refuses out-of-order, wrong-sized, duplicate or unknown-dtype tensors with InvalidArgumentError", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "bad.safetensors");
      const writer = await SafetensorsWriter.create(path, [
        { name: "a", dtype: "U8", shape: [2] },
        { name: "b", dtype: "U8", shape: [2] },
      ]);
      await expect(writer.writeTensor("b", new Uint8Array(2))).rejects.toThrow(InvalidArgumentError);
      await expect(writer.writeTensor("a", new Uint8Array(3))).rejects.toThrow(/2 bytes for U8 \[2\]/);
      await writer.writeChunk("a", new Uint8Array(1));
      await expect(writer.writeChunk("a", new Uint8Array(2))).rejects.toThrow(/at most 1 bytes/);
      await writer.abort();
      expect(await readdir(dir)).toEqual([]);

      const u8 = (name: string) => ({ name, dtype: "U8" as const, shape: [1], data: new Uint8Array(1) });
      await expect(writeSafetensors(path, [u8("x"), u8("x")])).rejects.toThrow(/a name not used before/);
      await expect(writeSafetensors(path, [u8("")])).rejects.toThrow(InvalidArgumentError);
      await expect(writeSafetensors(path, [u8("__metadata__")])).rejects.toThrow(InvalidArgumentError);
      const badDtype = { name: "x", dtype: "F128", shape: [1], data: new Uint8Array(1) };
      await expect(writeSafetensors(path, [badDtype as never])).rejects.toThrow(/safetensors dtype/);
      const oddF4 = { name: "x", dtype: "F4" as const, shape: [3], data: new Uint8Array(2) };
      await expect(writeSafetensors(path, [oddF4])).rejects.toThrow(/whole bytes/);
      const wrongSize = { name: "x", dtype: "F32" as const, shape: [2], data: new Uint8Array(4) };
      await expect(writeSafetensors(path, [wrongSize])).rejects.toThrow(InvalidArgumentError);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it("leaves no file behind when finish() finds a tensor without data", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "partial.safetensors");
      const writer = await SafetensorsWriter.create(path, [{ name: "a", dtype: "U8", shape: [2] }]);
      await expect(writer.finish()).rejects.toThrow(/missing a/);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it("replaces an existing file only when the new one is complete", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "model.safetensors");
      await writeFile(path, "old");
      const failing = [
        { name: "a", dtype: "U8" as const, shape: [1], data: () => Promise.reject(new Error("boom")) },
      ];
      await expect(writeSafetensors(path, failing)).rejects.toThrow("boom");
      expect(await readFile(path, "utf8")).toBe("old");
      expect(await readdir(dir)).toEqual(["model.safetensors"]);
    });
  });
});

describe("readSafetensorsHeader", () => {
  it("reports a missing file as a CheckpointError naming the path", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "nope.safetensors");
      await expectCheckpointErrorAsync(() => readSafetensorsHeader(path), {
        file: path,
        message: /file not found/,
      });
      await expectCheckpointErrorAsync(() => readSafetensorsHeader(dir), { file: dir, message: /directory/ });
    });
  });

  it("reports truncated files from disk", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "cut.safetensors");
      const full = rawSafetensors({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 16);
      await writeFile(path, full.subarray(0, full.length - 5));
      await expectCheckpointErrorAsync(() => readSafetensorsHeader(path), {
        file: path,
        tensor: "w",
        message: /run past the end of the data section/,
      });
      await writeFile(path, full.subarray(0, 20));
      await expectCheckpointErrorAsync(() => readSafetensorsHeader(path), {
        file: path,
        message: /truncated/,
      });
      await writeFile(path, full.subarray(0, 3));
      await expectCheckpointErrorAsync(() => readSafetensorsHeader(path), {
        file: path,
        message: /3 bytes long/,
      });
    });
  });

  it("reads only the header of a (sparse) 5 GiB file, with offsets beyond 2^32", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "huge.safetensors");
      const size = 5 * 2 ** 30;
      const header = encodeSafetensorsHeader([
        { name: "small", dtype: "U8", shape: [8] },
        { name: "huge", dtype: "U8", shape: [size] },
      ]);
      const handle = await open(path, "w");
      await handle.write(header.bytes, 0, header.bytes.length, 0);
      await handle.truncate(header.fileSize);
      await handle.close();
      const parsed = await readSafetensorsHeader(path);
      expect(parsed.fileSize).toBe(header.fileSize);
      expect(parsed.byName.get("huge")?.end).toBe(header.fileSize);
      expect(parsed.byName.get("huge")?.byteLength).toBe(size);
    });
  });
});
