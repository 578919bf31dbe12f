/**
 * Tests of the float64 reference model itself: its pure pieces against hand-computed values (docs/model.md),
 * the attention against the independently written absorbed form (docs/model.md), the MoE against a dense
 * masked sum, and whole-model properties on generated tiny checkpoints (causality, determinism, layout
 * independence, quantization closeness, llama-4 scaling beyond the original context).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonObject } from "../../lib/config/json-fields";
import { parseModelConfig } from "../../lib/config/read-model-config";
import { dequantizeNvfp4 } from "../../lib/quant/nvfp4";
import { l2RelativeError } from "../helpers/l2-error";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import {
  applyRopeInterleaved,
  linear,
  llama4Scale,
  moeRoute,
  ReferenceModel,
  rmsNorm,
  silu,
  softmax,
  yarnCorrectionRange,
  yarnInvFreq,
} from "./reference-model";

const MS4_PARAMS = join(import.meta.dirname, "../fixtures/config/mistral-small-4.params.json");
const TOKENS = [1, 5, 100, 2000, 37, 900, 44, 1234, 17, 3, 999, 512];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("pure pieces on hand-computed values", () => {
  it("rmsNorm: x / sqrt(mean(x²) + eps) * w, per row", () => {
    const x = Float64Array.of(1, 2, 3, 4, -2, 0, 0, 0);
    const w = Float64Array.of(1, 1, 2, 0.5);
    const out = rmsNorm(x, w, 0);
    const inv = 1 / Math.sqrt(7.5); // mean(1,4,9,16) = 7.5
    expect([...out.subarray(0, 4)]).toEqual(
      [inv, 2 * inv, 6 * inv, 2 * inv].map((v) => expect.closeTo(v, 15)),
    );
    expect([...out.subarray(4)]).toEqual([-2 / Math.sqrt(1), 0, 0, 0].map((v) => expect.closeTo(v, 15))); // mean = 1
    const withEps = rmsNorm(Float64Array.of(3, 4), Float64Array.of(1, 1), 0.5); // mean = 12.5 → 1/sqrt(13)
    expect(withEps[0]).toBeCloseTo(3 / Math.sqrt(13), 15);
    expect(withEps[1]).toBeCloseTo(4 / Math.sqrt(13), 15);
  });

  it("silu and softmax", () => {
    expect(silu(0)).toBe(0);
    expect(silu(1)).toBeCloseTo(0.7310585786300049, 15);
    expect(silu(-1)).toBeCloseTo(-0.2689414213699951, 15);
    const p = softmax([1, 2, 3]);
    const z = Math.E + Math.E ** 2 + Math.E ** 3;
    expect([...p]).toEqual([Math.E / z, Math.E ** 2 / z, Math.E ** 3 / z].map((v) => expect.closeTo(v, 15)));
    expect([...softmax([1000, 1000])]).toEqual([0.5, 0.5]); // stable for large logits
  });

  it("moeRoute: softmax → top-k → renormalise → × routed_scaling_factor", () => {
    // Logits ln(p) give softmax probabilities exactly p: [0.1, 0.4, 0.2, 0.3].
    const logits = [0.1, 0.4, 0.2, 0.3].map(Math.log);
    const r = moeRoute(logits, 2, true, 2.5);
    expect(r.experts).toEqual([1, 3]);
    expect(r.weights[0]).toBeCloseTo((0.4 / 0.7) * 2.5, 14);
    expect(r.weights[1]).toBeCloseTo((0.3 / 0.7) * 2.5, 14);
    expect([...r.probs]).toEqual([0.1, 0.4, 0.2, 0.3].map((v) => expect.closeTo(v, 15)));
    // Without norm_topk_prob the raw probabilities are kept (still × scale).
    const raw = moeRoute(logits, 2, false, 1);
    expect(raw.weights).toEqual([0.4, 0.3].map((v) => expect.closeTo(v, 15)));
    // Top-k = all experts: renormalised weights are the probabilities themselves.
    const all = moeRoute(logits, 4, true, 1);
    expect(all.experts).toEqual([1, 3, 2, 0]);
    expect(all.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
  });

  it("moeRoute ties: the lower expert index wins", () => {
    expect(moeRoute([0, 0, 0, 0], 2, true, 1)).toMatchObject({ experts: [0, 1], weights: [0.5, 0.5] });
    expect(moeRoute([1, 0, 2, 2], 1, true, 1).experts).toEqual([2]);
    expect(moeRoute([1, 3, 1, 1], 2, true, 1).experts).toEqual([1, 0]);
  });

  it("llama4Scale at the docs/model.md#llama-4-query-scaling positions", () => {
    const s = { beta: 0.1, originalMaxPositionEmbeddings: 8192 };
    expect(llama4Scale(0, s)).toBe(1);
    expect(llama4Scale(8191, s)).toBe(1);
    expect(llama4Scale(8192, s)).toBeCloseTo(1.0693, 4);
    expect(llama4Scale(65535, s)).toBeCloseTo(1.2079, 4);
    expect(llama4Scale(262143, s)).toBeCloseTo(1.3466, 4);
    expect(llama4Scale(1048575, s)).toBeCloseTo(1.4852, 4);
    expect(llama4Scale(8192, s)).toBeCloseTo(1 + 0.1 * Math.LN2, 15);
    expect(llama4Scale(123456, null)).toBe(1);
  });

  it("applyRopeInterleaved rotates pairs (x0,x1),(x2,x3) by pos·inv_freq[i], cos/sin × attention factor", () => {
    const invFreq = Float64Array.of(1, 0.5);
    const x = Float64Array.of(9, 1, 0, 0, 1, 9); // rope dims at offset 1
    applyRopeInterleaved(x, 1, 4, Math.PI / 2, invFreq, 2);
    // pair 0: (1,0) by 90° → (0,1); pair 1: (0,1) by 45° → (-√½, √½); all × 2
    expect([...x]).toEqual([9, 0, 2, -Math.SQRT2, Math.SQRT2, 9].map((v) => expect.closeTo(v, 14)));
    // NeoX (rotate-half) pairs (x0,x2),(x1,x3).
    const y = Float64Array.of(1, 0, 0, 1);
    applyRopeInterleaved(y, 0, 4, Math.PI / 2, invFreq, 1, false);
    expect([...y]).toEqual([0, -Math.SQRT1_2, 1, Math.SQRT1_2].map((v) => expect.closeTo(v, 14)));
  });

  it("yarnInvFreq on Mistral Small 4's config: low = 12, high = 25 (docs/model.md#rope-and-yarn)", () => {
    const c = parseModelConfig(readJsonObject(MS4_PARAMS), "native", MS4_PARAMS);
    expect(c.rope).toMatchObject({
      type: "yarn",
      theta: 10000,
      factor: 128,
      originalMaxPositionEmbeddings: 8192,
    });
    expect(c.qkRopeHeadDim).toBe(64);
    expect(yarnCorrectionRange(c.rope, 64)).toEqual({ low: 12, high: 25 });
    const inv = yarnInvFreq(c.rope, 64);
    expect(inv.length).toBe(32);
    const extra = (i: number) => 10000 ** (-i / 32);
    for (const i of [0, 1, 5, 11, 12]) expect(inv[i]).toBeCloseTo(extra(i), 15); // ramp 0: original frequencies
    for (const i of [25, 26, 30, 31]) expect(inv[i]! / (extra(i) / 128)).toBeCloseTo(1, 14); // ramp 1: / factor
    for (const i of [13, 18, 24]) {
      const ramp = (i - 12) / 13;
      expect(inv[i]! / ((extra(i) / 128) * ramp + extra(i) * (1 - ramp))).toBeCloseTo(1, 14);
    }
    expect(inv[0]).toBe(1);
    expect(inv[31]! / (10000 ** (-62 / 64) / 128)).toBeCloseTo(1, 14);
    // Default rope: no interpolation at all.
    const plain = yarnInvFreq({ ...c.rope, type: "default" }, 64);
    expect(plain[31]! / extra(31)).toBeCloseTo(1, 14);
  });
});

describe("ReferenceModel on generated tiny checkpoints", () => {
  let tiny: TinyCheckpoints;
  const models = new Map<string, ReferenceModel>();
  const model = async (layout: "native" | "hf", quant: "bf16" | "fp8" | "nvfp4", seed = 7) => {
    const key = `${layout}-${quant}-${seed}`;
    let m = models.get(key);
    if (!m) {
      // HF FP8 per-expert: the fused form shares one scale for gate and up, so its weights differ by design.
      const fused = layout === "hf" && quant === "fp8" ? { fusedExperts: false } : {};
      m = await ReferenceModel.open(await tiny.get({ layout, quant, seed, ...fused }), layout);
      models.set(key, m);
    }
    return m;
  };

  beforeAll(async () => {
    tiny = await TinyCheckpoints.create("ms4-reference-");
  });
  afterAll(async () => {
    await tiny?.cleanup();
  });

  it("uses the config's YaRN frequencies, which interpolate the high rope dims", async () => {
    const m = await model("native", "bf16");
    const c = m.config;
    expect(c.rope.type).toBe("yarn");
    expect([...m.invFreq]).toEqual([...yarnInvFreq(c.rope, c.qkRopeHeadDim)]);
    const half = c.qkRopeHeadDim / 2;
    const last = m.invFreq[half - 1]! / c.rope.theta ** (-(2 * (half - 1)) / c.qkRopeHeadDim);
    expect(last).toBeCloseTo(1 / c.rope.factor, 14);
    expect(m.invFreq[0]).toBe(1);
    // docs/model.md#softmax-scale: qk_head_dim^-0.5 · m², m = 1 + 0.1·ln(factor) (mscale_all_dim 1).
    const mscale = 1 + 0.1 * Math.log(c.rope.factor);
    expect(c.softmaxScale).toBeCloseTo(c.qkHeadDim ** -0.5 * mscale * mscale, 14);
  });

  it("gives finite logits [T, vocab], deterministically", async () => {
    const m = await model("native", "nvfp4");
    const a = m.forward(TOKENS);
    expect(a.length).toBe(TOKENS.length * m.config.vocabSize);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(m.forward(TOKENS)).toEqual(a);
    const fresh = await ReferenceModel.open(await tiny.get({ layout: "native", quant: "nvfp4", seed: 7 }));
    expect(fresh.forward(TOKENS)).toEqual(a);
    // A different seed is a different model.
    const other = await model("native", "nvfp4", 8);
    expect(l2RelativeError(other.forward(TOKENS), a)).toBeGreaterThan(0.1);
  });

  it("is causal: logits at position t do not depend on later tokens", async () => {
    const m = await model("native", "bf16");
    const V = m.config.vocabSize;
    const a = m.forward(TOKENS);
    const changed = [...TOKENS.slice(0, 5), 7, 8, 9, 10, 11, 12, 13];
    const b = m.forward(changed);
    expect(b.subarray(0, 5 * V)).toEqual(a.subarray(0, 5 * V));
    expect(maxAbsDiff(a.subarray(5 * V, 6 * V), b.subarray(5 * V, 6 * V))).toBeGreaterThan(1e-3);
    // A prefix alone gives the same logits as the prefix inside a longer sequence.
    expect(m.forward(TOKENS.slice(0, 3))).toEqual(a.subarray(0, 3 * V));
  });

  it.each(["bf16", "fp8", "nvfp4"] as const)(
    "native and HF layouts of one seed give the same logits (%s)",
    async (quant) => {
      const native = await model("native", quant);
      const hf = await model("hf", quant);
      expect(hf.plan.layout).toBe("hf");
      expect(hf.plan.fusedExperts).toBe(quant === "bf16");
      expect(maxAbsDiff(native.forward(TOKENS), hf.forward(TOKENS))).toBeLessThan(1e-12);
    },
  );

  it("dequantizes FP8 and NVFP4 close to the BF16 weights of the same seed", async () => {
    const bf16 = await model("native", "bf16");
    const fp8 = await model("native", "fp8");
    const nvfp4 = await model("native", "nvfp4");
    for (const name of ["layers.0.experts.3.w1", "layers.1.shared_experts.w2"]) {
      const ref = bf16.weight(name).data;
      const e8 = l2RelativeError(fp8.weight(name).data, ref);
      const e4 = l2RelativeError(nvfp4.weight(name).data, ref);
      expect(e8).toBeGreaterThan(1e-4);
      expect(e8).toBeLessThan(0.06); // 3 mantissa bits
      expect(e4).toBeGreaterThan(e8);
      expect(e4).toBeLessThan(0.2); // E2M1 with 16-wide FP8 block scales
    }
    // Attention stays BF16 in the generated NVFP4 checkpoint (its ignore list).
    expect(nvfp4.weight("layers.0.attention.wq_b").data).toEqual(bf16.weight("layers.0.attention.wq_b").data);
  });

  it("decodes NVFP4 like lib/quant's float32 dequantizer (nibble order, scale semantics)", async () => {
    const m = await model("native", "nvfp4");
    const mod = m.plan.modules.find((x) => x.spec.name === "layers.1.experts.5.w2")!;
    expect(mod.format).toBe("nvfp4");
    const { readFileSync } = await import("node:fs");
    const bytes = (part: "weight_packed" | "weight_scale" | "weight_global_scale") => {
      const t = mod.tensors[part]!;
      const file = readFileSync(m.plan.files[t.fileIndex]!.path);
      return new Uint8Array(file.buffer, file.byteOffset + t.offset, t.length);
    };
    const global = new DataView(bytes("weight_global_scale").slice().buffer).getFloat32(0, true);
    const [rows = 0, cols = 0] = mod.spec.shape;
    const f32 = dequantizeNvfp4(bytes("weight_packed"), bytes("weight_scale"), global, rows, cols);
    const f64 = m.weight("layers.1.experts.5.w2").data;
    let maxAbs = 0;
    for (const v of f64) maxAbs = Math.max(maxAbs, Math.abs(v));
    expect(maxAbsDiff(f64, f32)).toBeLessThanOrEqual(maxAbs * 2 ** -23);
  });

  it("NVFP4, FP8 and BF16 checkpoints of one seed give close but different logits", async () => {
    const ref = (await model("native", "bf16")).forward(TOKENS);
    const fp8 = (await model("native", "fp8")).forward(TOKENS);
    const nvfp4 = (await model("native", "nvfp4")).forward(TOKENS);
    for (const other of [fp8, nvfp4]) {
      const e = l2RelativeError(other, ref);
      expect(e).toBeGreaterThan(1e-3);
      expect(e).toBeLessThan(0.3);
    }
    expect(l2RelativeError(nvfp4, fp8)).toBeGreaterThan(1e-3);
  });

  it("positions: RoPE is relative below 8192; llama-4 scaling changes the result beyond it", async () => {
    const m = await model("native", "bf16");
    const T = TOKENS.length;
    const at = (start: number) =>
      m.forward(
        TOKENS,
        Array.from({ length: T }, (_, i) => start + i),
      );
    const base = m.forward(TOKENS);
    // Shifting every position keeps q·k (relative rotation) while the llama-4 bucket stays the same.
    expect(l2RelativeError(at(1000), base)).toBeLessThan(1e-9);
    expect(l2RelativeError(at(9500), at(8192))).toBeLessThan(1e-9);
    // Crossing into another bucket multiplies q by 1 + 0.1·ln 2 (or ln 8, …) and changes the logits.
    expect(l2RelativeError(at(8192), base)).toBeGreaterThan(1e-3);
    expect(l2RelativeError(at(65536), at(8192))).toBeGreaterThan(1e-3);
    // Positions straddling 8192: the tokens before the boundary are unchanged; later ones change.
    const V = m.config.vocabSize;
    const straddle = at(8188);
    expect(maxAbsDiff(base.subarray(0, 4 * V), straddle.subarray(0, 4 * V))).toBeLessThan(1e-9);
    expect(maxAbsDiff(base.subarray(4 * V, 5 * V), straddle.subarray(4 * V, 5 * V))).toBeGreaterThan(1e-3);
    // Default positions are 0..T-1.
    expect(at(0)).toEqual(base);
  });

  it("attention equals the absorbed MLA form of docs/model.md#absorbed-and-expanded-forms", async () => {
    const m = await model("native", "fp8");
    const c = m.config;
    const positions = TOKENS.map((_, i) => 8186 + 3 * i); // crosses 8192: llama-4 scale active for later tokens
    const trace = m.trace(TOKENS, positions);
    const [T, H, L, nope, rope, vDim] = [
      TOKENS.length,
      c.numHeads,
      c.kvLoraRank,
      c.qkNopeHeadDim,
      c.qkRopeHeadDim,
      c.vHeadDim,
    ];
    for (const l of [0, 1]) {
      const p = `layers.${l}.attention`;
      const hIn = l === 0 ? trace.embeddings : trace.layers[l - 1]!.output;
      const x = rmsNorm(hIn, m.weight(`layers.${l}.attention_norm`).data, c.rmsNormEps); // [T, D]
      const q = linear(
        rmsNorm(linear(x, m.weight(`${p}.wq_a`)), m.weight(`${p}.q_a_norm`).data, c.rmsNormEps),
        m.weight(`${p}.wq_b`),
      );
      const kva = linear(x, m.weight(`${p}.wkv_a_with_mqa`)); // [T, L + rope]
      const cKv: Float64Array[] = [];
      const kPe: Float64Array[] = [];
      for (let t = 0; t < T; t++) {
        cKv.push(
          rmsNorm(
            kva.slice(t * (L + rope), t * (L + rope) + L),
            m.weight(`${p}.kv_a_norm`).data,
            c.rmsNormEps,
          ),
        );
        const k = kva.slice(t * (L + rope) + L, (t + 1) * (L + rope));
        applyRopeInterleaved(k, 0, rope, positions[t]!, m.invFreq, c.rope.attentionFactor);
        kPe.push(k);
      }
      const wkvb = m.weight(`${p}.wkv_b`); // [H*(nope+v), L]: per head W_UK (nope×L) then W_UV (v×L)
      const o = new Float64Array(T * H * vDim);
      for (let h = 0; h < H; h++) {
        const rowUK = (i: number) => (h * (nope + vDim) + i) * L;
        const rowUV = (i: number) => (h * (nope + vDim) + nope + i) * L;
        for (let t = 0; t < T; t++) {
          const qh = q.slice((t * H + h) * c.qkHeadDim, (t * H + h + 1) * c.qkHeadDim);
          applyRopeInterleaved(qh, nope, rope, positions[t]!, m.invFreq, c.rope.attentionFactor);
          const temp = llama4Scale(positions[t]!, c.llama4Scaling);
          // q_lat = q_nope @ W_UK: [L]
          const qLat = new Float64Array(L);
          for (let i = 0; i < nope; i++)
            for (let j = 0; j < L; j++) qLat[j]! += temp * qh[i]! * wkvb.data[rowUK(i) + j]!;
          const scores = Array.from({ length: t + 1 }, (_, s) => {
            let dot = 0;
            for (let j = 0; j < L; j++) dot += qLat[j]! * cKv[s]![j]!;
            for (let j = 0; j < rope; j++) dot += temp * qh[nope + j]! * kPe[s]![j]!;
            return dot * c.softmaxScale;
          });
          const probs = softmax(scores);
          const oLat = new Float64Array(L); // Σ_s P·c_kv[s]
          probs.forEach((pr, s) => {
            for (let j = 0; j < L; j++) oLat[j]! += pr * cKv[s]![j]!;
          });
          for (let i = 0; i < vDim; i++) {
            let acc = 0;
            for (let j = 0; j < L; j++) acc += wkvb.data[rowUV(i) + j]! * oLat[j]!;
            o[(t * H + h) * vDim + i] = acc;
          }
        }
      }
      const absorbed = linear(o, m.weight(`${p}.wo`));
      expect(l2RelativeError(absorbed, trace.layers[l]!.attentionOut)).toBeLessThan(1e-12);
    }
  });

  it("MoE equals a dense masked sum over all experts plus the un-gated shared expert", async () => {
    const m = await model("hf", "nvfp4");
    const c = m.config;
    const trace = m.trace(TOKENS);
    const D = c.hiddenSize;
    const E = c.moe.numExperts;
    const layer = trace.layers[1]!;
    const x = rmsNorm(layer.afterAttention, m.weight("layers.1.ffn_norm").data, c.rmsNormEps);
    const logits = linear(x, m.weight("layers.1.gate"));
    const ffn = (prefix: string, xt: Float64Array) => {
      const g = linear(xt, m.weight(`${prefix}.w1`));
      const u = linear(xt, m.weight(`${prefix}.w3`));
      return linear(
        g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!),
        m.weight(`${prefix}.w2`),
      );
    };
    const expected = ffn("layers.1.shared_experts", x);
    for (let t = 0; t < TOKENS.length; t++) {
      const xt = x.slice(t * D, (t + 1) * D);
      const exps = Array.from(logits.subarray(t * E, (t + 1) * E), Math.exp);
      const total = exps.reduce((a, b) => a + b, 0);
      const probs = exps.map((v) => v / total);
      const chosen: number[] = [];
      while (chosen.length < c.moe.numExpertsPerToken) {
        let best = -1;
        for (let e = 0; e < E; e++)
          if (!chosen.includes(e) && (best < 0 || probs[e]! > probs[best]!)) best = e;
        chosen.push(best);
      }
      const mass = chosen.reduce((a, e) => a + probs[e]!, 0);
      expect(layer.routes[t]!.experts).toEqual(chosen);
      for (let e = 0; e < E; e++) {
        const w = chosen.includes(e) ? (probs[e]! / mass) * c.moe.routedScalingFactor : 0;
        const y = ffn(`layers.1.experts.${e}`, xt);
        for (let i = 0; i < D; i++) expected[t * D + i]! += w * y[i]!;
      }
    }
    expect(l2RelativeError(expected, layer.moeOut)).toBeLessThan(1e-12);
    // The residual stream adds both blocks.
    expect(
      maxAbsDiff(
        layer.output,
        layer.afterAttention.map((v, i) => v + layer.moeOut[i]!),
      ),
    ).toBe(0);
  });
});
