/**
 * The vision path (decode, preprocessing, Pixtral encoder, projector) of both checkpoint layouts against the
 * independent float64 reference (test/reference/reference-vision.ts) on the generated tiny checkpoints: several
 * sizes and aspect ratios (below, at and above the largest image side), RGB and RGBA, one and several images per
 * pass; HF files (q / k rows permuted) give the same features, and reading their rows as interleaved pairs (the
 * negative control) does not.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Model } from "../../lib/model/model";
import { makeTiny } from "../../lib/tiny/make-tiny";
import { l2RelativeError } from "../helpers/l2-error";
import { encodeImage, type RawImage, testImage } from "../helpers/test-images";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { type ReferenceImageConfig, ReferenceVision } from "../reference/reference-vision";

/** f32 activations on BF16 weights against float64 on the same weights. */
const BOUND = 1e-4;

const IMAGES: RawImage[] = [
  testImage(224, 224, 3, 1), // at the largest side: 8 × 8 tokens
  testImage(300, 170, 4, 2), // above: scaled to 224 × 127, 8 × 5
  testImage(50, 90, 3, 3), // below: stretched to 56 × 112, 2 × 4
  testImage(28, 28, 4, 4), // one cell
  testImage(13, 200, 3, 5), // thin: 1 × 8
];
const GRIDS = [
  [8, 8],
  [8, 5],
  [2, 4],
  [1, 1],
  [1, 8],
];

let checkpoints: TinyCheckpoints;
const models: Record<"native" | "hf", Model | undefined> = { native: undefined, hf: undefined };
let files: Buffer[];

beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-vision-");
  for (const layout of ["native", "hf"] as const) {
    models[layout] = await Model.load(await checkpoints.get({ layout, quant: "nvfp4", seed: 7 }), {
      threads: 2,
    });
  }
  files = await Promise.all(IMAGES.map((img) => encodeImage(img, "png")));
});

afterAll(async () => {
  await models.native?.dispose();
  await models.hf?.dispose();
  await checkpoints.cleanup();
});

function imageConfig(model: Model): ReferenceImageConfig {
  const image = model.tokenizer.image!;
  return {
    patchSize: image.imagePatchSize,
    maxImageSize: image.maxImageSize,
    mergeSize: image.spatialMergeSize,
  };
}

describe.each(["native", "hf"] as const)("%s layout", (layout) => {
  test("each image alone matches the float64 reference within 1e-4", async () => {
    const model = models[layout]!;
    const reference = new ReferenceVision(model.plan, imageConfig(model));
    const errors: string[] = [];
    for (const [i, image] of IMAGES.entries()) {
      const [got] = await model.embedImages([files[i]!]);
      const [want] = reference.embed([image]);
      expect([got!.columns, got!.rows], `image ${i}`).toEqual(GRIDS[i]);
      expect([want!.columns, want!.rows]).toEqual(GRIDS[i]);
      expect(got!.embeddings.length).toBe(want!.embeddings.length);
      const error = l2RelativeError(got!.embeddings, want!.embeddings);
      errors.push(`${image.width}x${image.height}x${image.channels} ${error.toExponential(2)}`);
      expect(error, `image ${i} (${image.width}x${image.height}, ${image.channels} channels)`).toBeLessThan(
        BOUND,
      );
    }
    console.log(`[vision vs reference, ${layout}] ${errors.join(", ")}`);
  });

  test("several images in one pass: the reference's block-diagonal attention, and each image's bits as alone", async () => {
    const model = models[layout]!;
    const together = await model.embedImages(files);
    const reference = new ReferenceVision(model.plan, imageConfig(model)).embed(IMAGES.slice(1, 4));
    for (let i = 1; i < 4; i++) {
      expect(l2RelativeError(together[i]!.embeddings, reference[i - 1]!.embeddings)).toBeLessThan(BOUND);
    }
    for (const [i, file] of files.entries()) {
      const [alone] = await model.embedImages([file]);
      expect(together[i]!.embeddings, `image ${i}`).toEqual(alone!.embeddings);
    }
  });
});

describe("HF q / k row permutation", () => {
  test("HF files give the same features as native files of the same weights", async () => {
    const native = await models.native!.embedImages(files.slice(0, 3));
    const hf = await models.hf!.embedImages(files.slice(0, 3));
    for (let i = 0; i < 3; i++) expect(hf[i]!.embeddings).toEqual(native[i]!.embeddings);
  });

  test("negative control: HF rows read as interleaved pairs (not un-permuted) disagree", async () => {
    const model = models.hf!;
    const [got] = await model.embedImages([files[0]!]);
    const wrong = new ReferenceVision(model.plan, imageConfig(model), "interleaved").embed([IMAGES[0]!]);
    const right = new ReferenceVision(model.plan, imageConfig(model)).embed([IMAGES[0]!]);
    expect(l2RelativeError(got!.embeddings, right[0]!.embeddings)).toBeLessThan(BOUND);
    expect(l2RelativeError(got!.embeddings, wrong[0]!.embeddings)).toBeGreaterThan(1e-2);
  });
});

describe("projector biases", () => {
  test.each(["native", "hf"] as const)("are loaded and added (%s layout)", async (layout) => {
    const dir = join(checkpoints.root, `bias-${layout}`);
    await makeTiny(dir, { layout, quant: "bf16", seed: 7, projectorBias: true });
    const model = await Model.load(dir, { threads: 2 });
    try {
      expect(model.config.vision?.projectorBias).toBe(true);
      const [got] = await model.embedImages([files[2]!]);
      const [want] = new ReferenceVision(model.plan, imageConfig(model)).embed([IMAGES[2]!]);
      expect(l2RelativeError(got!.embeddings, want!.embeddings)).toBeLessThan(BOUND);
      // the same weights without the biases give other features
      const [plain] = await models[layout]!.embedImages([files[2]!]);
      expect(l2RelativeError(got!.embeddings, plain!.embeddings)).toBeGreaterThan(1e-3);
    } finally {
      await model.dispose();
    }
  });
});

describe("the maxImageSize load option", () => {
  test("a smaller largest side gives fewer tokens, and the reference agrees at that size", async () => {
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 7 });
    const small = await Model.load(dir, { threads: 2, maxImageSize: 112 });
    try {
      const [got] = await small.embedImages([files[0]!]);
      expect([got!.columns, got!.rows]).toEqual([4, 4]);
      const cfg = { ...imageConfig(small), maxImageSize: 112 };
      const [want] = new ReferenceVision(small.plan, cfg).embed([IMAGES[0]!]);
      expect(l2RelativeError(got!.embeddings, want!.embeddings)).toBeLessThan(BOUND);
      expect(
        small.renderChat({ messages: [{ role: "user", content: [{ type: "image", image: files[0]! }] }] })
          .images[0],
      ).toMatchObject({ columns: 4, rows: 4 });
      await expect(Model.load(dir, { maxImageSize: 500 })).rejects.toThrow(/maxImageSize/);
    } finally {
      await small.dispose();
    }
  });
});
