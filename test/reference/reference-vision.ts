/**
 * An independent float64 reference of the image path (docs/model.md#vision-tower), written from the spec and
 * separate from the library and the kernels: preprocessing (white compositing with 8-bit rounding, the token grid,
 * a bicubic stretch with the a = −0.75 kernel, half-pixel centres and clamped taps, CLIP normalisation), the
 * Pixtral encoder (patch convolution, ln_pre, blocks with 2-D RoPE and attention inside each image, SiLU-gated FFN)
 * and the projector (pre_mm_projector_norm, 2 × 2 unfold, merging layer, GELU adapter), all in float64 from
 * exactly dequantized checkpoint weights (reference-model.ts).
 *
 * Hugging Face files store wq / wk rows in the "halves" order (docs/model.md#vision-qk-row-permutation); this
 * reference does not reorder them but rotates the pairs (x[i], x[i + hd/2]) for those files, which is the same
 * rotation written the other way round. `qkPairs: "interleaved"` forces interleaved pairs whatever the layout (the
 * negative control: on HF files that must disagree).
 */
import type { LoadPlan, PlannedModule } from "../../lib/checkpoint/load-plan";
import type { VisionConfig } from "../../lib/config/model-config";
import {
  decodeFloats,
  dequantizeModule,
  linear,
  type Matrix,
  readTensorBytes,
  rmsNorm,
  silu,
} from "./reference-model";

const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

export interface ReferenceImageConfig {
  readonly patchSize: number;
  readonly maxImageSize: number;
  readonly mergeSize: number;
}

/** Python's round(): halves to even. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** The [IMG] grid of a width × height image (columns, rows). */
export function referenceGrid(width: number, height: number, c: ReferenceImageConfig): [number, number] {
  let w = width;
  let h = height;
  const ratio = Math.max(w, h) / c.maxImageSize;
  if (ratio > 1) {
    w = pyRound(w / ratio);
    h = pyRound(h / ratio);
  }
  const cell = c.patchSize * c.mergeSize;
  return [Math.ceil(w / cell), Math.ceil(h / cell)];
}

/** RGBA (or RGB) 8-bit pixels → RGB 8-bit on white: round((v·a + 255·(255 − a)) / 255), halves up. */
export function compositeOnWhite(pixels: Uint8Array, channels: 3 | 4): Float64Array {
  const n = pixels.length / channels;
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = channels === 4 ? pixels[4 * i + 3]! : 255;
    for (let c = 0; c < 3; c++) {
      out[3 * i + c] = Math.floor((pixels[channels * i + c]! * a + 255 * (255 - a)) / 255 + 0.5);
    }
  }
  return out;
}

/** Keys' cubic convolution kernel with a = −0.75. */
function cubic(t: number): number {
  const a = -0.75;
  const x = Math.abs(t);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** 1-D bicubic stretch of `n` samples to `m`: out[d] = Σ_k in[clamp(s + k)] · cubic(pos − (s + k)). */
function stretch(read: (i: number) => number, n: number, m: number): Float64Array {
  const out = new Float64Array(m);
  for (let d = 0; d < m; d++) {
    const pos = ((d + 0.5) * n) / m - 0.5;
    const s = Math.floor(pos);
    let acc = 0;
    for (let k = -1; k <= 2; k++) acc += read(Math.min(Math.max(s + k, 0), n - 1)) * cubic(pos - (s + k));
    out[d] = acc;
  }
  return out;
}

/** RGB [h, w, 3] → resized and normalised [3, H, W]. */
export function referencePixels(rgb: Float64Array, w: number, h: number, W: number, H: number): Float64Array {
  const rows = new Float64Array(h * W * 3); // horizontal pass
  for (let y = 0; y < h; y++) {
    for (let c = 0; c < 3; c++) {
      const line = stretch((x) => rgb[(y * w + x) * 3 + c]!, w, W);
      for (let x = 0; x < W; x++) rows[(y * W + x) * 3 + c] = line[x]!;
    }
  }
  const out = new Float64Array(3 * H * W);
  for (let x = 0; x < W; x++) {
    for (let c = 0; c < 3; c++) {
      const column = stretch((y) => rows[(y * W + x) * 3 + c]!, h, H);
      for (let y = 0; y < H; y++) out[c * H * W + y * W + x] = (column[y]! / 255 - MEAN[c]!) / STD[c]!;
    }
  }
  return out;
}

/** erf to ~1e-15: the Maclaurin series near 0, the continued fraction of erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(ax) = exp(−ax²)/√π · 1/(ax + 1/2/(ax + 1/(ax + 3/2/(ax + …)))), evaluated from the tail
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export interface ReferenceImage {
  /** 8-bit pixels, RGB or RGBA, [height, width, channels]. */
  readonly pixels: Uint8Array;
  readonly channels: 3 | 4;
  readonly width: number;
  readonly height: number;
}

export interface ReferenceImageResult {
  readonly columns: number;
  readonly rows: number;
  /** [rows · columns, hidden] in float64. */
  readonly embeddings: Float64Array;
}

export class ReferenceVision {
  private readonly v: VisionConfig;
  private readonly modules: Map<string, PlannedModule>;
  private readonly cache = new Map<string, Matrix>();

  constructor(
    private readonly plan: LoadPlan,
    private readonly image: ReferenceImageConfig,
    private readonly qkPairs: "auto" | "interleaved" = "auto",
  ) {
    if (plan.config.vision === null) throw new Error("reference: the checkpoint has no vision tower");
    this.v = plan.config.vision;
    this.modules = new Map(plan.modules.map((m) => [m.spec.name, m]));
  }

  private weight(name: string): Matrix {
    let m = this.cache.get(name);
    if (!m) {
      const module = this.modules.get(name);
      if (!module) throw new Error(`reference: no module ${name}`);
      m = dequantizeModule(this.plan, module);
      this.cache.set(name, m);
    }
    return m;
  }

  private bias(name: string): Float64Array | undefined {
    const t = this.modules.get(name)?.tensors.bias;
    return t === undefined ? undefined : decodeFloats(t.dtype, readTensorBytes(this.plan, t));
  }

  /** The images of one request, encoded together (attention stays inside each image). */
  embed(images: readonly ReferenceImage[]): ReferenceImageResult[] {
    const v = this.v;
    const ps = v.patchSize;
    const grids = images.map((img) => referenceGrid(img.width, img.height, this.image));
    // ---- pixels → patches (each image's patches row-major, images one after another) ----
    const patchVectors: Float64Array[] = [];
    const images2d: { start: number; prow: number; pcol: number }[] = [];
    images.forEach((img, i) => {
      const [cols, rows] = grids[i]!;
      const W = cols * ps * this.image.mergeSize;
      const H = rows * ps * this.image.mergeSize;
      const px = referencePixels(compositeOnWhite(img.pixels, img.channels), img.width, img.height, W, H);
      const prow = H / ps;
      const pcol = W / ps;
      images2d.push({ start: patchVectors.length, prow, pcol });
      for (let r = 0; r < prow; r++) {
        for (let c = 0; c < pcol; c++) {
          const vec = new Float64Array(3 * ps * ps);
          for (let ch = 0; ch < 3; ch++)
            for (let y = 0; y < ps; y++)
              for (let x = 0; x < ps; x++)
                vec[(ch * ps + y) * ps + x] = px[ch * H * W + (r * ps + y) * W + c * ps + x]!;
          patchVectors.push(vec);
        }
      }
    });
    const N = patchVectors.length;
    const D = v.hiddenSize;
    const patches = new Float64Array(N * 3 * ps * ps);
    patchVectors.forEach((p, i) => {
      patches.set(p, i * p.length);
    });
    const eps = v.rmsNormEps;
    let h = rmsNorm(
      linear(patches, this.weight("vision_encoder.patch_conv")),
      this.vec("vision_encoder.ln_pre"),
      eps,
    );
    const place = (p: number) => {
      const img = images2d.findLast((g) => g.start <= p)!;
      return { img, row: Math.floor((p - img.start) / img.pcol), col: (p - img.start) % img.pcol };
    };
    for (let l = 0; l < v.numLayers; l++) {
      const pre = `vision_encoder.transformer.layers.${l}`;
      const x = rmsNorm(h, this.vec(`${pre}.attention_norm`), eps);
      const q = linear(x, this.weight(`${pre}.attention.wq`));
      const k = linear(x, this.weight(`${pre}.attention.wk`));
      const val = linear(x, this.weight(`${pre}.attention.wv`));
      for (let p = 0; p < N; p++) {
        const { row, col } = place(p);
        this.rotate(q, p, row, col);
        this.rotate(k, p, row, col);
      }
      const attn = new Float64Array(N * D);
      const hd = v.headDim;
      for (let p = 0; p < N; p++) {
        const { img } = place(p);
        const n = img.prow * img.pcol;
        for (let head = 0; head < v.numHeads; head++) {
          const scores = new Float64Array(n);
          for (let j = 0; j < n; j++) {
            let dot = 0;
            for (let d = 0; d < hd; d++)
              dot += q[p * D + head * hd + d]! * k[(img.start + j) * D + head * hd + d]!;
            scores[j] = dot / Math.sqrt(hd);
          }
          const mx = Math.max(...scores);
          let sum = 0;
          for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j]! - mx);
          for (let d = 0; d < hd; d++) {
            let acc = 0;
            for (let j = 0; j < n; j++) acc += scores[j]! * val[(img.start + j) * D + head * hd + d]!;
            attn[p * D + head * hd + d] = acc / sum;
          }
        }
      }
      h = add(h, linear(attn, this.weight(`${pre}.attention.wo`)));
      const y = rmsNorm(h, this.vec(`${pre}.ffn_norm`), eps);
      const gate = linear(y, this.weight(`${pre}.feed_forward.w1`));
      const up = linear(y, this.weight(`${pre}.feed_forward.w3`));
      for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]!) * up[i]!;
      h = add(h, linear(gate, this.weight(`${pre}.feed_forward.w2`)));
    }
    // ---- projector ----
    if (v.addPreMmProjectorLayerNorm) h = rmsNorm(h, this.vec("pre_mm_projector_norm"), eps);
    const m = v.spatialMergeSize;
    const results: ReferenceImageResult[] = [];
    images2d.forEach((img, i) => {
      const [columns, rows] = grids[i]!;
      let feats: Float64Array;
      if (m > 1) {
        const unfolded = new Float64Array(rows * columns * D * m * m);
        for (let br = 0; br < rows; br++)
          for (let bc = 0; bc < columns; bc++)
            for (let c = 0; c < D; c++)
              for (let dy = 0; dy < m; dy++)
                for (let dx = 0; dx < m; dx++) {
                  const p = img.start + (br * m + dy) * img.pcol + bc * m + dx;
                  unfolded[(br * columns + bc) * D * m * m + (c * m + dy) * m + dx] = h[p * D + c]!;
                }
        feats = linear(unfolded, this.weight("patch_merger.merging_layer"));
      } else {
        feats = h.slice(img.start * D, (img.start + rows * columns) * D);
      }
      let hidden = addBias(
        linear(feats, this.weight("vision_language_adapter.w_in")),
        this.bias("vision_language_adapter.w_in"),
      );
      hidden = hidden.map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
      const out = addBias(
        linear(hidden, this.weight("vision_language_adapter.w_out")),
        this.bias("vision_language_adapter.w_out"),
      );
      results.push({ columns, rows, embeddings: out });
    });
    return results;
  }

  private vec(name: string): Float64Array {
    return this.weight(name).data;
  }

  /**
   * 2-D RoPE of every head of row `p` (docs/model.md#2-d-rope): rotation i (of hd/2) turns by row · θ^(−2(2i)/hd)
   * for i < hd/4 and by col · θ^(−2(2(i − hd/4) + 1)/hd) after. Its pair is (2i, 2i + 1), or (i, i + hd/2) for HF
   * files.
   */
  private rotate(x: Float64Array, p: number, row: number, col: number): void {
    const v = this.v;
    const hd = v.headDim;
    const halves = this.qkPairs === "auto" && this.plan.layout === "hf";
    for (let head = 0; head < v.numHeads; head++) {
      const base = p * v.hiddenSize + head * hd;
      for (let i = 0; i < hd / 2; i++) {
        const k = i < hd / 4 ? 2 * i : 2 * (i - hd / 4) + 1;
        const angle = (i < hd / 4 ? row : col) * v.ropeTheta ** ((-2 * k) / hd);
        const [a, b] = halves ? [base + i, base + i + hd / 2] : [base + 2 * i, base + 2 * i + 1];
        const xa = x[a]!;
        const xb = x[b]!;
        x[a] = xa * Math.cos(angle) - xb * Math.sin(angle);
        x[b] = xb * Math.cos(angle) + xa * Math.sin(angle);
      }
    }
  }
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]!);
}

function addBias(y: Float64Array, bias: Float64Array | undefined): Float64Array {
  if (bias === undefined) return y;
  return y.map((v, i) => v + bias[i % bias.length]!);
}
