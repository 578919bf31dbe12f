/**
 * An independent float64 reference of the Mistral Small 4 text forward pass (docs/model.md#forward-pass),
 * used by tests to check the native forward. Deliberately simple and separate from the native path:
 * - weights are read with node:fs straight from the safetensors byte ranges of the load plan and dequantized
 *   exactly into Float64Array (BF16/F16/F32 → f64; FP8 `W = fp8 · weight_scale`, per tensor or per row;
 *   NVFP4 `W = e2m1 · fp8(block_scale) / weight_global_scale`, low nibble first);
 * - activations are never quantized; every step is float64;
 * - attention uses the expanded form (docs/model.md#absorbed-and-expanded-forms): k_nope and v come from the
 *   normalised latent with wkv_b for every head;
 * - each forward call recomputes everything (no KV cache).
 *
 * Conventions the spec leaves open, fixed here:
 * - the causal mask is by token index (token t sees tokens 0..t), whatever the positions are;
 * - top-k ties: the lower expert index wins;
 * - RMSNorm: `x · 1/sqrt(mean(x²) + eps) · w`, all in float64 (no fp32/bf16 round trips).
 */
import { closeSync, openSync, readSync } from "node:fs";
import type { LoadPlan, PlannedModule, PlannedTensor } from "../../lib/checkpoint/load-plan";
import { openCheckpoint } from "../../lib/checkpoint/open-checkpoint";
import type { Llama4Scaling, ModelConfig, RopeConfig } from "../../lib/config/model-config";
import { bf16BitsToF32 } from "../../lib/quant/bf16";
import { decodeFp8E4m3 } from "../../lib/quant/fp8-e4m3";
import { e2m1Decode, NVFP4_GROUP_SIZE } from "../../lib/quant/nvfp4";

// ---------------------------------------------------------------------------------------------------------
// Small pure functions (exported so tests can check them on hand-computed values)
// ---------------------------------------------------------------------------------------------------------

/** RMSNorm of each row of x [rows, n]: `x · 1/sqrt(mean(x²) + eps) · weight`. Returns a new array. */
export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  const n = weight.length;
  if (n === 0 || x.length % n !== 0) throw new Error(`rmsNorm: ${x.length} values are not rows of ${n}`);
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const base = r * n;
    let sumSq = 0;
    for (let i = 0; i < n; i++) sumSq += x[base + i]! * x[base + i]!;
    const inv = 1 / Math.sqrt(sumSq / n + eps);
    for (let i = 0; i < n; i++) out[base + i] = x[base + i]! * inv * weight[i]!;
  }
  return out;
}

/** silu(x) = x · sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** Numerically stable softmax of a vector (max subtracted first). */
export function softmax(x: ArrayLike<number>): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(x[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < x.length; i++) out[i]! /= sum;
  return out;
}

export type YarnRope = Pick<
  RopeConfig,
  "type" | "theta" | "factor" | "originalMaxPositionEmbeddings" | "betaFast" | "betaSlow"
>;

/**
 * YaRN correction range for `dim` rotary dims (docs/model.md#rope-and-yarn):
 * corr(n) = dim·ln(L0/(n·2π)) / (2·ln(base)); low = max(floor(corr(beta_fast)), 0), high = min(ceil(corr(beta_slow)), dim-1).
 */
export function yarnCorrectionRange(rope: YarnRope, dim: number): { low: number; high: number } {
  const corr = (n: number) =>
    (dim * Math.log(rope.originalMaxPositionEmbeddings / (n * 2 * Math.PI))) / (2 * Math.log(rope.theta));
  return {
    low: Math.max(Math.floor(corr(rope.betaFast)), 0),
    high: Math.min(Math.ceil(corr(rope.betaSlow)), dim - 1),
  };
}

/**
 * Inverse frequencies for `dim` rotary dims. Plain: base^(-2i/dim). YaRN (docs/model.md#rope-and-yarn):
 * ramp[i] = clamp((i-low)/(high-low), 0, 1); inv_freq = inv_inter·ramp + inv_extra·(1-ramp), inv_inter = inv_extra/s.
 * When low == high the ramp denominator gets +0.001, as in HF/vLLM (never the case for MS4).
 */
export function yarnInvFreq(rope: YarnRope, dim: number): Float64Array {
  const half = dim / 2;
  const out = new Float64Array(half);
  const extra = (i: number) => rope.theta ** ((-2 * i) / dim);
  if (rope.type !== "yarn") {
    for (let i = 0; i < half; i++) out[i] = extra(i);
    return out;
  }
  const { low, high } = yarnCorrectionRange(rope, dim);
  const span = high === low ? 0.001 : high - low;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(Math.max((i - low) / span, 0), 1); // 0: extrapolate (original freq), 1: interpolate (/s)
    const invExtra = extra(i);
    const invInter = invExtra / rope.factor;
    out[i] = invInter * ramp + invExtra * (1 - ramp);
  }
  return out;
}

/**
 * Rotates one rope vector in place: x [dim] at angle pos·invFreq[i] for pair i, cos/sin × attentionFactor.
 * Interleaved (GPT-J, MS4): pair i = (x[2i], x[2i+1]). Otherwise (NeoX rotate-half): pair i = (x[i], x[i+dim/2]).
 */
export function applyRopeInterleaved(
  x: Float64Array,
  offset: number,
  dim: number,
  pos: number,
  invFreq: Float64Array,
  attentionFactor: number,
  interleaved = true,
): void {
  for (let i = 0; i < dim / 2; i++) {
    const angle = pos * invFreq[i]!;
    const c = Math.cos(angle) * attentionFactor;
    const s = Math.sin(angle) * attentionFactor;
    const ia = offset + (interleaved ? 2 * i : i);
    const ib = offset + (interleaved ? 2 * i + 1 : i + dim / 2);
    const a = x[ia]!;
    const b = x[ib]!;
    x[ia] = a * c - b * s;
    x[ib] = b * c + a * s;
  }
}

/** Llama-4 query temperature (docs/model.md#llama-4-query-scaling): 1 + beta·ln(1 + floor(pos/L0)); 1 if none. */
export function llama4Scale(pos: number, scaling: Llama4Scaling | null): number {
  if (!scaling) return 1;
  return 1 + scaling.beta * Math.log(1 + Math.floor(pos / scaling.originalMaxPositionEmbeddings));
}

export interface Route {
  /** Chosen experts, highest probability first (ties: lower index first). */
  readonly experts: number[];
  /** Their weights: p / (Σ_top p + 1e-20) when normTopkProb, else p; then × routedScalingFactor. */
  readonly weights: number[];
  /** softmax(logits) over all experts. */
  readonly probs: Float64Array;
}

/** MoE routing (docs/model.md#moe): softmax → top-k (ties: lower expert index) → renormalise → × scale. */
export function moeRoute(
  logits: ArrayLike<number>,
  topK: number,
  normTopkProb: boolean,
  routedScalingFactor: number,
): Route {
  const probs = softmax(logits);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
  const experts = order.slice(0, topK);
  const sum = experts.reduce((acc, e) => acc + probs[e]!, 0);
  const weights = experts.map(
    (e) => (normTopkProb ? probs[e]! / (sum + 1e-20) : probs[e]!) * routedScalingFactor,
  );
  return { experts, weights, probs };
}

// ---------------------------------------------------------------------------------------------------------
// Weight decoding
// ---------------------------------------------------------------------------------------------------------

/** A dequantized matrix W [rows, cols] (row-major) or vector (rows = n, cols = 1). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** Float tensor bytes (BF16 / F16 / F32, little-endian) → f64. */
export function decodeFloats(dtype: string, bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = dtype === "F32" ? 4 : 2;
  const out = new Float64Array(bytes.byteLength / size);
  for (let i = 0; i < out.length; i++) {
    if (dtype === "F32") out[i] = view.getFloat32(4 * i, true);
    else if (dtype === "BF16") out[i] = bf16BitsToF32(view.getUint16(2 * i, true));
    else if (dtype === "F16") out[i] = f16ToNumber(view.getUint16(2 * i, true));
    else throw new Error(`reference: unsupported float dtype ${dtype}`);
  }
  return out;
}

export function readTensorBytes(plan: LoadPlan, t: PlannedTensor): Uint8Array {
  const file = plan.files[t.fileIndex];
  if (!file) throw new Error(`reference: tensor ${t.name} names file #${t.fileIndex}, which the plan lacks`);
  const out = new Uint8Array(t.length);
  const fd = openSync(file.path, "r");
  try {
    let done = 0;
    while (done < t.length) {
      const n = readSync(fd, out, done, t.length - done, t.offset + done);
      if (n === 0) throw new Error(`reference: ${file.path} ends before byte ${t.offset + t.length}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function scalarOf(plan: LoadPlan, t: PlannedTensor): number {
  const values = decodeFloats(t.dtype, readTensorBytes(plan, t));
  if (values.length !== 1)
    throw new Error(`reference: ${t.name} should hold one value, holds ${values.length}`);
  return values[0]!;
}

/** Dequantizes one module's weight exactly into float64 (docs/model.md#weight-formats). */
export function dequantizeModule(plan: LoadPlan, module: PlannedModule): Matrix {
  // Norms are [n] (one column); a convolution's [out, channels, kh, kw] is read as [out, channels·kh·kw].
  const rows = module.spec.shape[0] ?? 0;
  const cols = module.spec.shape.slice(1).reduce((a, b) => a * b, 1);
  const need = (part: keyof PlannedModule["tensors"]): PlannedTensor => {
    const t = module.tensors[part];
    if (!t) throw new Error(`reference: module ${module.spec.name} has no ${part}`);
    return t;
  };
  let data: Float64Array;
  if (module.format === "bf16") {
    const w = need("weight");
    data = decodeFloats(w.dtype, readTensorBytes(plan, w));
  } else if (module.format === "fp8") {
    // One weight_scale for the matrix, or one per output row (per-channel FP8).
    const q = readTensorBytes(plan, need("weight"));
    const scales = decodeFloats(need("weight_scale").dtype, readTensorBytes(plan, need("weight_scale")));
    if (scales.length !== 1 && scales.length !== rows)
      throw new Error(`reference: ${module.spec.name} has ${scales.length} weight scales for ${rows} rows`);
    data = new Float64Array(q.length);
    for (let i = 0; i < q.length; i++)
      data[i] = decodeFp8E4m3(q[i]!) * scales[scales.length === 1 ? 0 : Math.floor(i / cols)]!;
  } else {
    const packed = readTensorBytes(plan, need("weight_packed"));
    const blockScales = readTensorBytes(plan, need("weight_scale"));
    const globalScale = scalarOf(plan, need("weight_global_scale"));
    data = new Float64Array(rows * cols);
    for (let i = 0; i < rows * cols; i++) {
      const byte = packed[i >> 1]!;
      const code = i & 1 ? byte >> 4 : byte & 0x0f; // even column in the low nibble
      const blockScale = decodeFp8E4m3(blockScales[Math.floor(i / NVFP4_GROUP_SIZE)]!);
      data[i] = (e2m1Decode(code) * blockScale) / globalScale;
    }
  }
  if (data.length !== rows * cols) {
    throw new Error(
      `reference: ${module.spec.name} decoded to ${data.length} values, expected ${rows}×${cols}`,
    );
  }
  return { rows, cols, data };
}

/** y [T, rows] = x [T, cols] @ W^T. */
export function linear(x: Float64Array, w: Matrix): Float64Array {
  const T = x.length / w.cols;
  const y = new Float64Array(T * w.rows);
  for (let t = 0; t < T; t++) {
    const xo = t * w.cols;
    for (let n = 0; n < w.rows; n++) {
      const wo = n * w.cols;
      let acc = 0;
      for (let k = 0; k < w.cols; k++) acc += x[xo + k]! * w.data[wo + k]!;
      y[t * w.rows + n] = acc;
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------

export interface LayerTrace {
  /** Residual stream after the attention block: [T, D]. */
  readonly afterAttention: Float64Array;
  /** Attention output added to the residual (after wo): [T, D]. */
  readonly attentionOut: Float64Array;
  /** MoE output added to the residual (routed + shared): [T, D]. */
  readonly moeOut: Float64Array;
  /** Residual stream after the layer: [T, D]. */
  readonly output: Float64Array;
  /** Routing per token. */
  readonly routes: readonly Route[];
}

export interface ForwardTrace {
  /** Token embeddings: [T, D]. */
  readonly embeddings: Float64Array;
  readonly layers: readonly LayerTrace[];
  /** rmsnorm(h, norm): [T, D]. */
  readonly finalNormed: Float64Array;
  /** [T, vocab]. */
  readonly logits: Float64Array;
}

export class ReferenceModel {
  readonly config: ModelConfig;
  readonly plan: LoadPlan;
  /** YaRN inverse frequencies for the rope dims: [qkRopeHeadDim/2]. */
  readonly invFreq: Float64Array;
  private readonly modules: Map<string, PlannedModule>;
  private readonly cache = new Map<string, Matrix>();

  private constructor(plan: LoadPlan) {
    const c = plan.config;
    if (c.firstKDenseReplace !== 0) throw new Error("reference: dense (non-MoE) layers are not supported");
    if (c.moe.numExpertGroups > 1) throw new Error("reference: grouped routing is not supported");
    this.plan = plan;
    this.config = c;
    this.modules = new Map(plan.modules.map((m) => [m.spec.name, m]));
    this.invFreq = yarnInvFreq(c.rope, c.qkRopeHeadDim);
  }

  static async open(dir: string, layout?: "native" | "hf"): Promise<ReferenceModel> {
    return new ReferenceModel(await openCheckpoint(dir, { layout }));
  }

  static fromPlan(plan: LoadPlan): ReferenceModel {
    return new ReferenceModel(plan);
  }

  /** The dequantized float64 weight of a module (cached). */
  weight(name: string): Matrix {
    let m = this.cache.get(name);
    if (!m) {
      const module = this.modules.get(name);
      if (!module) throw new Error(`reference: no module ${name}`);
      m = dequantizeModule(this.plan, module);
      this.cache.set(name, m);
    }
    return m;
  }

  private vec(name: string): Float64Array {
    return this.weight(name).data;
  }

  /** Logits [T, vocab] for `tokens`, causal by token index; positions default to 0..T-1. */
  forward(tokens: readonly number[], positions?: readonly number[]): Float64Array {
    return this.trace(tokens, positions).logits;
  }

  /** The forward pass with every intermediate hidden state kept. */
  trace(tokens: readonly number[], positions?: readonly number[]): ForwardTrace {
    const c = this.config;
    const T = tokens.length;
    const D = c.hiddenSize;
    const pos = positions ? [...positions] : tokens.map((_, i) => i);
    if (T === 0) throw new Error("reference: no tokens");
    if (pos.length !== T) throw new Error(`reference: ${T} tokens but ${pos.length} positions`);
    for (const p of pos)
      if (!Number.isSafeInteger(p) || p < 0) throw new Error(`reference: bad position ${p}`);

    // h: [T, D]
    const emb = this.weight("tok_embeddings");
    const h = new Float64Array(T * D);
    tokens.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
        throw new Error(`reference: token ${id} out of range`);
      h.set(emb.data.subarray(id * D, (id + 1) * D), t * D);
    });
    const embeddings = h.slice();

    const layers: LayerTrace[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const attentionOut = this.attention(
        l,
        rmsNorm(h, this.vec(`layers.${l}.attention_norm`), c.rmsNormEps),
        pos,
      );
      for (let i = 0; i < h.length; i++) h[i]! += attentionOut[i]!;
      const afterAttention = h.slice();
      const { out: moeOut, routes } = this.moe(l, rmsNorm(h, this.vec(`layers.${l}.ffn_norm`), c.rmsNormEps));
      for (let i = 0; i < h.length; i++) h[i]! += moeOut[i]!;
      layers.push({ afterAttention, attentionOut, moeOut, output: h.slice(), routes });
    }
    const finalNormed = rmsNorm(h, this.vec("norm"), c.rmsNormEps);
    const logits = linear(finalNormed, this.weight("output")); // [T, vocab] (untied lm_head)
    return { embeddings, layers, finalNormed, logits };
  }

  /** MLA attention, expanded form (docs/model.md#mla-attention). x: [T, D], normalised. Returns [T, D]. */
  private attention(l: number, x: Float64Array, pos: readonly number[]): Float64Array {
    const c = this.config;
    const T = pos.length;
    const H = c.numHeads;
    const nope = c.qkNopeHeadDim;
    const rope = c.qkRopeHeadDim;
    const qkDim = c.qkHeadDim;
    const vDim = c.vHeadDim;
    const L = c.kvLoraRank;
    const p = `layers.${l}.attention`;

    // Queries. cq: [T, qLoraRank]; q: [T, H, qkDim] with per head [nope | rope]
    const cq = rmsNorm(linear(x, this.weight(`${p}.wq_a`)), this.vec(`${p}.q_a_norm`), c.rmsNormEps);
    const q = linear(cq, this.weight(`${p}.wq_b`));

    // Latent and shared rope key. kva: [T, L + rope]; cKv: [T, L]; kPe: [T, rope]
    const kva = linear(x, this.weight(`${p}.wkv_a_with_mqa`));
    const cKvRaw = new Float64Array(T * L);
    const kPe = new Float64Array(T * rope);
    for (let t = 0; t < T; t++) {
      cKvRaw.set(kva.subarray(t * (L + rope), t * (L + rope) + L), t * L);
      kPe.set(kva.subarray(t * (L + rope) + L, (t + 1) * (L + rope)), t * rope);
    }
    const cKv = rmsNorm(cKvRaw, this.vec(`${p}.kv_a_norm`), c.rmsNormEps);

    // RoPE on q_pe (every head) and k_pe, then llama-4 temperature on the whole q (nope + rope).
    const { attentionFactor, interleaved } = c.rope;
    for (let t = 0; t < T; t++) {
      applyRopeInterleaved(kPe, t * rope, rope, pos[t]!, this.invFreq, attentionFactor, interleaved);
      const scale = llama4Scale(pos[t]!, c.llama4Scaling);
      for (let hd = 0; hd < H; hd++) {
        const base = (t * H + hd) * qkDim;
        applyRopeInterleaved(q, base + nope, rope, pos[t]!, this.invFreq, attentionFactor, interleaved);
        for (let i = 0; i < qkDim; i++) q[base + i]! *= scale;
      }
    }

    // Expand the latent per head. kv: [T, H, nope + vDim] = [k_nope | v]
    const kv = linear(cKv, this.weight(`${p}.wkv_b`));
    const kvDim = nope + vDim;

    // Scores, causal softmax and weighted values. o: [T, H, vDim]
    const o = new Float64Array(T * H * vDim);
    const scores = new Float64Array(T);
    for (let hd = 0; hd < H; hd++) {
      for (let t = 0; t < T; t++) {
        const qBase = (t * H + hd) * qkDim;
        for (let s = 0; s <= t; s++) {
          const kBase = (s * H + hd) * kvDim;
          let dot = 0;
          for (let i = 0; i < nope; i++) dot += q[qBase + i]! * kv[kBase + i]!;
          for (let i = 0; i < rope; i++) dot += q[qBase + nope + i]! * kPe[s * rope + i]!;
          scores[s] = dot * c.softmaxScale;
        }
        const probs = softmax(scores.subarray(0, t + 1));
        const oBase = (t * H + hd) * vDim;
        for (let s = 0; s <= t; s++) {
          const vBase = (s * H + hd) * kvDim + nope;
          for (let i = 0; i < vDim; i++) o[oBase + i]! += probs[s]! * kv[vBase + i]!;
        }
      }
    }
    return linear(o, this.weight(`${p}.wo`)); // [T, D]
  }

  /** SwiGLU expert: w2(silu(w1 x) · w3 x). x: [T, D] → [T, D]. */
  private swiglu(prefix: string, x: Float64Array): Float64Array {
    const gate = linear(x, this.weight(`${prefix}.w1`));
    const up = linear(x, this.weight(`${prefix}.w3`));
    for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]!) * up[i]!;
    return linear(gate, this.weight(`${prefix}.w2`));
  }

  /** MoE block (docs/model.md#moe). x: [T, D] (already normalised). Returns the block output [T, D]. */
  private moe(l: number, x: Float64Array): { out: Float64Array; routes: Route[] } {
    const c = this.config;
    const D = c.hiddenSize;
    const E = c.moe.numExperts;
    const T = x.length / D;
    const routerLogits = linear(x, this.weight(`layers.${l}.gate`)); // [T, E]
    const out = new Float64Array(T * D);
    const routes: Route[] = [];
    for (let t = 0; t < T; t++) {
      const route = moeRoute(
        routerLogits.subarray(t * E, (t + 1) * E),
        c.moe.numExpertsPerToken,
        c.moe.normTopkProb,
        c.moe.routedScalingFactor,
      );
      routes.push(route);
      const xt = x.subarray(t * D, (t + 1) * D);
      route.experts.forEach((e, k) => {
        const y = this.swiglu(`layers.${l}.experts.${e}`, xt);
        const w = route.weights[k]!;
        for (let i = 0; i < D; i++) out[t * D + i]! += w * y[i]!;
      });
    }
    if (c.moe.numSharedExperts > 0) {
      const shared = this.swiglu(`layers.${l}.shared_experts`, x); // always on, un-gated
      for (let i = 0; i < out.length; i++) out[i]! += shared[i]!;
    }
    return { out, routes };
  }
}
