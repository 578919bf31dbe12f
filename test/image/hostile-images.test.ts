/**
 * Hostile and unusual images: each is a typed ImageError (naming the message and part it came from) or a correct
 * decode, and oversized ones are refused from their header before anything is decoded.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderChat } from "../../lib/chat";
import { ImageError } from "../../lib/errors";
import { decodeImage, loadSharp } from "../../lib/image/decode";
import { readImageHeader } from "../../lib/image/header";
import { loadImage } from "../../lib/image/sources";
import { Model } from "../../lib/model/model";
import { pngFile, scanlines } from "../helpers/png-bytes";
import { encodeImage, testImage } from "../helpers/test-images";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

async function decoded(bytes: Uint8Array) {
  const file = loadImage({ kind: "bytes", bytes });
  return decodeImage(file.bytes, file, 1 << 30);
}

async function imageError(p: Promise<unknown> | (() => unknown)): Promise<ImageError> {
  let error: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ImageError);
  return error as ImageError;
}

describe("headers", () => {
  it("reads the size of PNG, JPEG, WebP (lossy and lossless) and GIF files", async () => {
    const image = testImage(37, 23, 3);
    for (const format of ["png", "jpeg", "webp", "gif"] as const) {
      expect(readImageHeader(await encodeImage(image, format))).toEqual({ format, width: 37, height: 23 });
    }
    const lossy = await sharp(Buffer.from(image.pixels), { raw: { width: 37, height: 23, channels: 3 } })
      .webp({ quality: 50 })
      .toBuffer();
    expect(readImageHeader(lossy)).toEqual({ format: "webp", width: 37, height: 23 });
  });

  it("refuses wrong magic, empty and cut headers with a reason", async () => {
    expect((await imageError(() => readImageHeader(Buffer.from("%PDF-1.4 not an image")))).reason).toBe(
      "unsupported",
    );
    expect((await imageError(() => readImageHeader(new Uint8Array(0)))).reason).toBe("truncated");
    const png = await encodeImage(testImage(8, 8, 3), "png");
    expect((await imageError(() => readImageHeader(png.subarray(0, 16)))).reason).toBe("truncated");
  });
});

describe("limits before decoding", () => {
  it("a 60000 × 60000 header is too_large before any decoding", async () => {
    const bomb = pngFile(60000, 60000, 2); // no pixel data at all: only the header could be read
    const e = await imageError(() =>
      loadImage({ kind: "bytes", bytes: bomb }, { messageIndex: 2, partIndex: 1 }),
    );
    expect(e.reason).toBe("too_large");
    expect(e.message).toMatch(/^messages\[2\]\.content\[1\]: .*60000x60000/);
    expect(e).toMatchObject({ messageIndex: 2, partIndex: 1, code: "ERR_IMAGE" });
  });

  it("bytes over the limit are refused before reading or base64-decoding", async () => {
    const limits = { maxBytes: 100, maxPixels: 1 << 20 };
    const big = "A".repeat(400);
    expect(
      (
        await imageError(() =>
          loadImage({ kind: "url", url: `data:image/png;base64,${big}` }, {}, { limits }),
        )
      ).reason,
    ).toBe("too_large");
    expect(
      (await imageError(() => loadImage({ kind: "bytes", bytes: new Uint8Array(101) }, {}, { limits })))
        .reason,
    ).toBe("too_large");
  });

  it("libvips refuses more pixels than the limit as well", async () => {
    const png = await encodeImage(testImage(100, 100, 3), "png");
    const e = await imageError(decodeImage(png, readImageHeader(png), 5000));
    expect(e.reason).toBe("too_large");
  });

  it("a zero-sized image is empty", async () => {
    expect((await imageError(() => loadImage({ kind: "bytes", bytes: pngFile(0, 10, 2) }))).reason).toBe(
      "empty",
    );
  });
});

describe("decoding", () => {
  it("truncated PNG and JPEG files are ImageErrors, not crashes", async () => {
    const image = testImage(64, 48, 3);
    for (const format of ["png", "jpeg"] as const) {
      const bytes = await encodeImage(image, format);
      const e = await imageError(decoded(bytes.subarray(0, Math.floor(bytes.length * 0.6))));
      expect(["truncated", "corrupt"]).toContain(e.reason);
    }
  });

  it("an animated GIF decodes to its first frame", async () => {
    const red = new Uint8Array(6 * 4 * 4);
    const blue = new Uint8Array(6 * 4 * 4);
    for (let i = 0; i < 24; i++) {
      red.set([255, 0, 0, 255], 4 * i);
      blue.set([0, 0, 255, 255], 4 * i);
    }
    const gif = await sharp(Buffer.concat([red, blue]), {
      raw: { width: 6, height: 8, channels: 4, pageHeight: 4 },
    })
      .gif()
      .toBuffer({ resolveWithObject: false });
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const d = await decoded(gif);
    expect([d.width, d.height]).toEqual([6, 4]);
    for (let i = 0; i < 24; i++) expect(Array.from(d.rgb.subarray(3 * i, 3 * i + 3))).toEqual([255, 0, 0]);
  });

  it("a CMYK JPEG decodes to RGB close to the image it came from", async () => {
    const image = testImage(40, 30, 3);
    const cmyk = await sharp(Buffer.from(image.pixels), { raw: { width: 40, height: 30, channels: 3 } })
      .toColourspace("cmyk")
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    const d = await decoded(cmyk);
    let diff = 0;
    for (let i = 0; i < d.rgb.length; i++) diff += Math.abs(d.rgb[i]! - image.pixels[i]!);
    // libvips converts through its CMYK profile (Pillow would use its naive formula): close, not exact, plus JPEG loss
    expect(diff / d.rgb.length).toBeLessThan(20);
  });

  it("a 16-bit PNG decodes to its 8-bit values", async () => {
    const rows = scanlines(3, 2, (x, y) => {
      const v = 40 * x + 100 * y;
      return [v, v, 255 - v, 255 - v, 17, 17].map((b) => b & 0xff); // R, G, B as 16-bit big endian v·257
    });
    const d = await decoded(pngFile(3, 2, 2, rows, 16));
    expect(Array.from(d.rgb)).toEqual([
      0, 255, 17, 40, 215, 17, 80, 175, 17, 100, 155, 17, 140, 115, 17, 180, 75, 17,
    ]);
  });

  it("grey + alpha is composited onto white with 8-bit rounding, grey replicated", async () => {
    const pixels: [number, number][] = [
      [0, 0],
      [0, 255],
      [200, 128],
      [10, 1],
    ];
    const rows = scanlines(4, 1, (x) => pixels[x]!);
    const d = await decoded(pngFile(4, 1, 4, rows)); // colour type 4: grey + alpha
    const onWhite = ([g, a]: [number, number]) => Math.floor((g * a + 255 * (255 - a)) / 255 + 0.5);
    expect(Array.from(d.rgb)).toEqual(pixels.flatMap((p) => [onWhite(p), onWhite(p), onWhite(p)]));
    expect(onWhite([200, 128])).toBe(227); // (25600 + 32385) / 255 = 227.4
  });

  it("RGBA is composited onto white; fully transparent pixels become white", async () => {
    const rows = scanlines(2, 1, (x) => (x === 0 ? [10, 20, 30, 0] : [10, 20, 30, 255]));
    const d = await decoded(pngFile(2, 1, 6, rows));
    expect(Array.from(d.rgb)).toEqual([255, 255, 255, 10, 20, 30]);
  });

  it("a missing sharp is an ImageError naming the package to install", async () => {
    const e = await imageError(loadSharp("sharp-that-is-not-installed"));
    expect(e.reason).toBe("decoder_missing");
    expect(e.message).toMatch(/npm install sharp@0\.35\.6/);
  });
});

describe("through a model", () => {
  let checkpoints: TinyCheckpoints;
  let model: Model;

  beforeAll(async () => {
    checkpoints = await TinyCheckpoints.create("ms4-hostile-");
    model = await Model.load(await checkpoints.get({ layout: "native", quant: "nvfp4" }), { threads: 2 });
  });
  afterAll(async () => {
    await model.dispose();
    await checkpoints.cleanup();
  });

  const ask = (image: Uint8Array) => ({
    messages: [
      { role: "user" as const, content: "hello" },
      { role: "assistant" as const, content: "hi" },
      {
        role: "user" as const,
        content: [
          { type: "text" as const, text: "and this?" },
          { type: "image" as const, image },
        ],
      },
    ],
    maxTokens: 2,
  });

  it("a truncated image in a request rejects with the message and part index", async () => {
    const png = await encodeImage(testImage(80, 60, 3), "png");
    const e = await imageError(model.generate(ask(png.subarray(0, png.length - 200))));
    expect(e).toMatchObject({ messageIndex: 2, partIndex: 1 });
    expect(["truncated", "corrupt"]).toContain(e.reason);
  });

  it("a 1 × 100000 image is empty once scaled, at render time and when generating", async () => {
    const thin = await sharp({ create: { width: 1, height: 100000, channels: 3, background: "#808080" } })
      .png()
      .toBuffer();
    expect((await imageError(() => model.renderChat(ask(thin)))).reason).toBe("empty");
    expect((await imageError(model.generate(ask(thin)))).reason).toBe("empty");
    expect((await imageError(model.embedImages([thin]))).imageIndex).toBe(0);
  });

  it("wrong magic is unsupported, everywhere", async () => {
    const e = await imageError(model.generate(ask(Buffer.from("GIF90a is not a real GIF"))));
    expect(e).toMatchObject({ reason: "unsupported", messageIndex: 2, partIndex: 1 });
    expect((await imageError(() => renderChat(model.tokenizer, ask(Buffer.from("xx"))))).reason).toBe(
      "unsupported",
    );
  });
});
