// Vision encoder benchmark (docs/model.md#vision-tower), printed as ONE JSON object: for 224², 896×672 and 1540²
// images, the Pixtral encoder + projector at the real sizes (hidden 1024, 24 layers of 16 × 64 heads, FFN 4096,
// projector into 4096; synthetic BF16 weights, native/checks/kernel_bench.cc "visionEncoder") and its attention
// alone, in seconds and GFLOP/s, each as a fraction of the BF16 GEMM rate (Backend::linear at T = 512, the encoder's
// chunk, on its 1024 × 1024 and 4096 × 1024 shapes) measured right before it in the same run; plus the image
// preprocessing in TypeScript (decode, bicubic resize, normalisation). On a machine shared with other work the
// absolute numbers move a lot between runs; the fractions, measured back to back, much less.
// A `layers` smaller than 24 times that many layers; `encoderSeconds24` then scales the time to 24 layers at the
// measured rate.
// Usage: node bench/run-ts.mjs bench/vision/vision-bench.ts [--threads N] [--path avx2|avx512|portable]
//          [--layers 224=24,896x672=4,1540=1]
import sharp from "sharp";
import { imageTokenGrid } from "../../lib/chat/image-tokens";
import { decodeImage } from "../../lib/image/decode";
import { readImageHeader } from "../../lib/image/header";
import { preprocessImage } from "../../lib/image/preprocess";
import { physicalCores } from "../../lib/model/threads";
import { loadNative } from "../../lib/native";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const native = loadNative();
const threads = Number(arg("threads") ?? physicalCores());
const path = arg("path") ?? "";
const common: Record<string, number | string> = { threads, ...(path ? { path } : {}) };
const LAYERS = 24;
const layerArg = new Map(
  (arg("layers") ?? "224=24,896x672=4,1540=1").split(",").map((kv) => kv.split("=") as [string, string]),
);
const MS4_IMAGE = { imagePatchSize: 14, maxImageSize: 1540, spatialMergeSize: 2 };
const SIZES = [
  { name: "224", width: 224, height: 224 },
  { name: "896x672", width: 896, height: 672 },
  { name: "1540", width: 1540, height: 1540 },
];

/** The BF16 GEMM rate on the encoder's shapes: mean GFLOP/s of the two, best of their calls. */
function gemmGflops(): number {
  const rates = [
    [1024, 1024],
    [4096, 1024],
  ].map(([rows, cols]) =>
    Number(
      native.kernelBench("linear", {
        ...common,
        format: "bf16",
        rows: rows!,
        cols: cols!,
        T: 512,
        minBytes: 16 << 20,
        iters: 6,
      }).bestGflops,
    ),
  );
  return rates.reduce((a, b) => a + b, 0) / rates.length;
}

async function preprocessSeconds(width: number, height: number): Promise<number> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  const png = await sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  const t0 = performance.now();
  const decoded = await decodeImage(png, readImageHeader(png), 1 << 30);
  preprocessImage(decoded, MS4_IMAGE);
  return (performance.now() - t0) / 1000;
}

const rows: Record<string, number | string>[] = [];
for (const size of SIZES) {
  const grid = imageTokenGrid(size.width, size.height, MS4_IMAGE);
  const layers = Number(layerArg.get(size.name) ?? LAYERS);
  const gemmBefore = gemmGflops();
  const enc = native.kernelBench("visionEncoder", {
    ...common,
    columns: grid.columns,
    rows: grid.rows,
    layers,
  });
  const gemmAfter = gemmGflops();
  const attn = native.kernelBench("visionAttention", {
    ...common,
    patchRows: 2 * grid.rows,
    patchCols: 2 * grid.columns,
    iters: 1,
  });
  const gemm = (gemmBefore + gemmAfter) / 2;
  const encGflops = Number(enc.gflops);
  const flops24 = (Number(enc.flops) * LAYERS) / Math.max(layers, 1); // the layers dominate: an upper estimate
  rows.push({
    image: `${size.width}x${size.height}`,
    tokens: `${grid.columns}x${grid.rows}`,
    patches: Number(enc.patches),
    layers,
    encoderSeconds: Number(enc.seconds),
    encoderGflop: Number(enc.flops) / 1e9,
    encoderGflops: encGflops,
    encoderSeconds24: layers === LAYERS ? Number(enc.seconds) : flops24 / (encGflops * 1e9),
    attentionGflops: Number(attn.gflops),
    gemmGflopsBefore: gemmBefore,
    gemmGflopsAfter: gemmAfter,
    encoderFractionOfGemm: encGflops / gemm,
    attentionFractionOfGemm: Number(attn.gflops) / gemm,
    preprocessSeconds: await preprocessSeconds(size.width, size.height),
    kernelPath: String(enc.kernelPath),
  });
}
console.log(JSON.stringify({ threads, rows }, null, 2));
