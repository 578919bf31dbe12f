import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { NativeAddonError } from "../../lib/errors";
import { loadNative, resetNativeForTests } from "../../lib/native";
import { makeTempDir } from "../helpers/temp-dir";

afterEach(() => {
  delete process.env.MS4_ADDON_PATH;
  resetNativeForTests();
});

describe("the native addon", () => {
  test("loads and reports CPU features and CUDA status", () => {
    const info = loadNative().systemInfo();
    expect(info.cpu.logicalCores).toBeGreaterThanOrEqual(1);
    expect(typeof info.cpu.avx2).toBe("boolean");
    expect(typeof info.cuda.compiled).toBe("boolean");
    if (info.cuda.devices.length === 0) expect(info.cuda.error.length).toBeGreaterThan(0);
  });

  test("a missing binary is one clear NativeAddonError that names where it looked and the ways to point at one", () => {
    process.env.MS4_ADDON_PATH = "/nonexistent/mistral4.node";
    resetNativeForTests();
    expect(() => loadNative()).toThrow(NativeAddonError);
    expect(() => loadNative()).toThrow(
      /not found at \/nonexistent\/mistral4\.node \(given by MS4_ADDON_PATH\).*setNativeAddonPath\(path\).*addonPath/,
    );
  });

  test("a broken binary is a NativeAddonError, not a crash", () => {
    const tmp = makeTempDir();
    try {
      const bad = join(tmp.dir, "mistral4.node");
      writeFileSync(bad, "this is not a shared library");
      process.env.MS4_ADDON_PATH = bad;
      resetNativeForTests();
      expect(() => loadNative()).toThrow(/failed to load/);
    } finally {
      tmp.cleanup();
    }
  });

  test("NativeWeights rejects malformed plans with TypeErrors and out-of-file ranges with a rejection", async () => {
    const { NativeWeights } = loadNative();
    const w = new NativeWeights();
    expect(() => w.load(undefined as never)).toThrow(TypeError);
    expect(() => w.load({ files: "x", tensors: [] } as never)).toThrow(TypeError);
    expect(() => w.load({ files: [{ path: "/x", size: -1 }], tensors: [], prefetch: false })).toThrow(
      RangeError,
    );
    const tmp = makeTempDir();
    try {
      const file = join(tmp.dir, "w.bin");
      writeFileSync(file, Buffer.alloc(64));
      await expect(
        w.load({
          files: [{ path: file, size: 64 }],
          tensors: [{ name: "t", file: 0, offset: 32, length: 64 }],
          prefetch: true,
        }),
      ).rejects.toThrow(/tensor t: byte range \[32, 96\) lies outside the file \(64 bytes\)/);
      await expect(
        w.load({ files: [{ path: file, size: 65 }], tensors: [], prefetch: false }),
      ).rejects.toThrow(/file size changed/);
      await expect(
        w.load({ files: [{ path: join(tmp.dir, "missing"), size: 1 }], tensors: [], prefetch: false }),
      ).rejects.toThrow(/cannot open file/);
      await w.load({
        files: [{ path: file, size: 64 }],
        tensors: [{ name: "t", file: 0, offset: 8, length: 8 }],
        prefetch: true,
      });
      expect(w.readTensor(0).length).toBe(8);
      expect(() => w.readTensor(0, 4, 8)).toThrow(/range outside tensor/);
      w.dispose();
      expect(() => w.readTensor(0)).toThrow(/disposed/);
    } finally {
      tmp.cleanup();
    }
  });
});
