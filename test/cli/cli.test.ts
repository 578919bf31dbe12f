import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { makeTempDir } from "../helpers/temp-dir";
import { encodeImage, testImage } from "../helpers/test-images";
import { runCli } from "./run-cli";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

const run = runCli;

describe("ms4 CLI", () => {
  test("make-tiny then inspect works for both layouts and quantizations", async () => {
    for (const layout of ["native", "hf"]) {
      for (const quant of ["nvfp4", "bf16"]) {
        const dir = join(tmp.dir, `${layout}-${quant}`);
        expect(
          (await run(["make-tiny", dir, "--layout", layout, "--quant", quant, "--seed", "3"])).code,
        ).toBe(0);
        const r = await run(["inspect", dir]);
        expect(r.code).toBe(0);
        expect(r.out).toContain(
          layout === "native" ? "Mistral-native params.json" : "Hugging Face config.json",
        );
        expect(r.out).toContain(
          quant === "nvfp4" ? "NVFP4 (quantized): shared_expert 6, expert 48" : "expert 48",
        );
      }
    }
  });

  test("inspect of a config with the real model's numbers gives ≈119B total and ≈6.5B active", async () => {
    const dir = join(tmp.dir, "real");
    const { mkdirSync, copyFileSync } = await import("node:fs");
    mkdirSync(dir);
    copyFileSync(
      join(__dirname, "..", "fixtures", "config", "mistral-small-4.params.json"),
      join(dir, "params.json"),
    );
    const r = await run(["inspect", dir, "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.parameters.total / 1e9).toBeCloseTo(119.4, 1);
    expect(report.parameters.active / 1e9).toBeCloseTo(6.63, 2);
    expect(report.parameters.activeWithoutEmbedding / 1e9).toBeCloseTo(6.1, 1);
    expect(report.kvBytesPerToken).toBe(23040);
    expect(report.weightBytes / 2 ** 30).toBeCloseTo(65.9, 0);
  });

  test("chat --image answers about an image file; a missing file is a typed error", async () => {
    const dir = join(tmp.dir, "vision");
    expect((await run(["make-tiny", dir, "--seed", "4"])).code).toBe(0);
    const image = join(tmp.dir, "picture.png");
    writeFileSync(image, await encodeImage(testImage(70, 40, 3), "png"));
    const args = ["chat", "--model", dir, "--max-tokens", "3", "--temperature", "0", "what is this?"];
    const plain = await run(args);
    const withImage = await run([...args, "--image", image]);
    expect(withImage.code).toBe(0);
    const promptTokens = (r: { err: string }) => Number(/(\d+) prompt/.exec(r.err)?.[1]);
    // a 70 × 40 image: 3 × 2 [IMG] plus 2 row ends
    expect(promptTokens(withImage)).toBe(promptTokens(plain) + 8);
    const missing = await run([...args, "--image", join(tmp.dir, "nope.png")]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/messages\[0\]\.content\[\d\]: cannot read/);
    const textOnly = join(tmp.dir, "text-only");
    expect((await run(["make-tiny", textOnly, "--no-vision"])).code).toBe(0);
    const refused = await run(["chat", "--model", textOnly, "--max-tokens", "1", "x", "--image", image]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/no vision tower/);
  });

  test("make-tiny is deterministic for a seed and differs across seeds", async () => {
    const a = join(tmp.dir, "seed-a");
    const b = join(tmp.dir, "seed-b");
    const c = join(tmp.dir, "seed-c");
    await run(["make-tiny", a, "--seed", "11"]);
    await run(["make-tiny", b, "--seed", "11"]);
    await run(["make-tiny", c, "--seed", "12"]);
    const bytes = (d: string) => readFileSync(join(d, "consolidated.safetensors"));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    expect(readFileSync(join(a, "tekken.json")).equals(readFileSync(join(b, "tekken.json")))).toBe(true);
  });

  test("usage errors exit 2 with the usage text; library errors exit 1 with the message", async () => {
    const bad = await run(["make-tiny", join(tmp.dir, "x"), "--quant", "int3"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--quant expects one of nvfp4, fp8, fp8-ct, fp8-ct-channel, bf16/);
    expect((await run(["frobnicate"])).code).toBe(2);
    const missing = await run(["inspect", join(tmp.dir, "does-not-exist")]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/checkpoint folder not found/);
  });
});
