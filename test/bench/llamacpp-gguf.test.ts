/**
 * The GGUF converter of bench/llamacpp (the llama.cpp side of the prefill/decode comparison) on the built-in tiny
 * model: the file parses back as GGUF v3 with the metadata and tensor infos llama.cpp's mistral4 loader reads,
 * tensors sit at aligned, non-overlapping offsets, NVFP4 experts become Q4_0 within Q4_0's rounding of the exact
 * NVFP4 values, and wkv_b is split into per-head k_b (transposed) and v_b. node-llama-cpp is not needed.
 */
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertCheckpointToGguf } from "../../bench/llamacpp/convert/mistral4-to-gguf";
import { lastMerge } from "../../bench/llamacpp/convert/tekken-vocab";
import { alignUp, GgmlType, type GgmlTypeId, ggmlTensorBytes } from "../../bench/llamacpp/gguf/gguf-format";
import { type GgufHeader, type GgufTensorInfo, parseGgufHeader } from "../../bench/llamacpp/gguf/gguf-reader";
import { dequantizeQ4_0, f16BitsToF32, f32ToF16Bits, quantizeQ4_0 } from "../../bench/llamacpp/gguf/q4-0";
import type { PlannedTensor } from "../../lib/checkpoint/load-plan";
import { openCheckpoint } from "../../lib/checkpoint/open-checkpoint";
import type { ModelConfig } from "../../lib/config/model-config";
import { dequantizeNvfp4 } from "../../lib/quant";
import { makeTempDir } from "../helpers/temp-dir";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

let checkpoints: TinyCheckpoints;
let temp: { dir: string; cleanup: () => void };
let checkpointDir: string;
let ggufPath: string;
let header: GgufHeader;
let file: Buffer;
let config: ModelConfig;
let plannedTensors: Map<string, PlannedTensor>;

/**
 * Q4_0's rounding bound for x in a block whose largest magnitude is amax: half a step, the step being amax / 8
 * rounded to fp16 as stored. Codes reach only 7 steps on the side opposite the extreme, so there a value beyond
 * 7.5 steps is off by |x| − 7 steps (up to about one step). A relative 1e-6 covers float32 arithmetic.
 */
function q4Bound(x: number, amax: number): number {
  const step = Math.abs(f16BitsToF32(f32ToF16Bits(amax / 8)));
  const bound = Math.abs(x) > 7.5 * step ? Math.abs(x) - 7 * step : step / 2;
  return bound * (1 + 1e-6) + 1e-30;
}

beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create();
  temp = makeTempDir("ms4-gguf-");
  checkpointDir = await checkpoints.get({ layout: "native", quant: "nvfp4" });
  ggufPath = join(temp.dir, "tiny.gguf");
  await convertCheckpointToGguf(checkpointDir, ggufPath);
  file = await readFile(ggufPath);
  header = parseGgufHeader(file);
  const plan = await openCheckpoint(checkpointDir);
  config = plan.config;
  plannedTensors = new Map(plan.tensors.map((t) => [t.name, t]));
});

afterAll(async () => {
  temp?.cleanup();
  await checkpoints?.cleanup();
});

function tensor(name: string): GgufTensorInfo {
  const t = header.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
}

function tensorBytes(t: GgufTensorInfo): Buffer {
  const start = header.dataOffset + t.offset;
  return file.subarray(start, start + ggmlTensorBytes(t.type as GgmlTypeId, t.ne));
}

async function checkpointBytes(name: string): Promise<Uint8Array> {
  const t = plannedTensors.get(name);
  if (!t) throw new Error(`no checkpoint tensor ${name}`);
  const handle = await open(join(checkpointDir, "consolidated.safetensors"), "r");
  try {
    const out = new Uint8Array(t.length);
    await handle.read(out, 0, t.length, t.offset);
    return out;
  } finally {
    await handle.close();
  }
}

describe("GGUF converter for llama.cpp (tiny NVFP4 checkpoint)", () => {
  it("writes a GGUF v3 header whose metadata describes the model under llama.cpp's mistral4 keys", () => {
    expect(header.version).toBe(3);
    expect(file.readUInt32LE(4)).toBe(3);
    expect(Number(file.readBigUInt64LE(8))).toBe(header.tensors.length);
    expect(Number(file.readBigUInt64LE(16))).toBe(header.metadata.size);
    const kv = (key: string) => header.metadata.get(key);
    expect(kv("general.architecture")).toBe("mistral4");
    expect(kv("mistral4.block_count")).toBe(config.numLayers);
    expect(kv("mistral4.embedding_length")).toBe(config.hiddenSize);
    expect(kv("mistral4.attention.head_count")).toBe(config.numHeads);
    expect(kv("mistral4.attention.head_count_kv")).toBe(1);
    expect(kv("mistral4.attention.key_length")).toBe(config.kvLoraRank + config.qkRopeHeadDim);
    expect(kv("mistral4.attention.value_length")).toBe(config.kvLoraRank);
    expect(kv("mistral4.attention.key_length_mla")).toBe(config.qkHeadDim);
    expect(kv("mistral4.attention.value_length_mla")).toBe(config.vHeadDim);
    expect(kv("mistral4.expert_count")).toBe(config.moe.numExperts);
    expect(kv("mistral4.expert_used_count")).toBe(config.moe.numExpertsPerToken);
    expect(kv("mistral4.expert_weights_norm")).toBe(true);
    expect(kv("mistral4.rope.scaling.type")).toBe("yarn");
    expect(kv("mistral4.rope.scaling.factor")).toBeCloseTo(config.rope.factor, 5);
    expect(kv("mistral4.rope.scaling.original_context_length")).toBe(
      config.rope.originalMaxPositionEmbeddings,
    );
    expect(kv("mistral4.attention.temperature_scale")).toBeCloseTo(config.llama4Scaling!.beta, 6);
    expect(kv("mistral4.attention.temperature_length")).toBe(
      config.llama4Scaling!.originalMaxPositionEmbeddings,
    );
    expect(kv("tokenizer.ggml.model")).toBe("gpt2");
    expect(kv("tokenizer.ggml.pre")).toBe("tekken");
    expect((kv("tokenizer.ggml.tokens") as string[]).length).toBe(config.vocabSize);
    expect((kv("tokenizer.ggml.token_type") as number[]).length).toBe(config.vocabSize);
  });

  it("lists every tensor once, at 32-byte aligned, non-overlapping offsets that end at the end of the file", async () => {
    // token_embd, 17 per layer (4 norms, 5 attention linears + k_b/v_b, router, 3 stacked experts, 3 shared), output_norm, output
    expect(header.tensors.length).toBe(1 + 17 * config.numLayers + 2);
    expect(new Set(header.tensors.map((t) => t.name)).size).toBe(header.tensors.length);
    expect(header.alignment).toBe(32);
    expect(header.dataOffset % 32).toBe(0);
    let end = 0;
    for (const t of header.tensors) {
      expect(t.offset % 32).toBe(0);
      expect(t.offset).toBeGreaterThanOrEqual(end);
      end = t.offset + ggmlTensorBytes(t.type as GgmlTypeId, t.ne);
    }
    expect((await stat(ggufPath)).size).toBe(header.dataOffset + alignUp(end, 32));
  });

  it("stores routed experts as Q4_0 within Q4_0's rounding of the exact NVFP4 values, global scale included", async () => {
    const I = config.moe.expertHiddenSize;
    const D = config.hiddenSize;
    const gate = tensor("blk.0.ffn_gate_exps.weight");
    expect(gate.type).toBe(GgmlType.Q4_0);
    expect(gate.ne).toEqual([D, I, config.moe.numExperts]);
    expect(tensor("blk.1.ffn_down_exps.weight").ne).toEqual([I, D, config.moe.numExperts]);
    const expert = 3;
    const perExpert = (I * D * 18) / 32;
    const q4 = dequantizeQ4_0(tensorBytes(gate), I * D, expert * perExpert);
    const m = `layers.0.experts.${expert}.w1`;
    const global = new Float32Array((await checkpointBytes(`${m}.weight_global_scale`)).buffer)[0]!;
    expect(global).not.toBe(1);
    const exact = dequantizeNvfp4(
      await checkpointBytes(`${m}.weight_packed`),
      await checkpointBytes(`${m}.weight_scale`),
      global,
      I,
      D,
    );
    let worst = 0;
    for (let b = 0; b < exact.length; b += 32) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(exact[b + j]!));
      for (let j = 0; j < 32; j++) {
        const err = Math.abs(q4[b + j]! - exact[b + j]!);
        expect(err).toBeLessThanOrEqual(q4Bound(exact[b + j]!, amax));
        worst = Math.max(worst, amax === 0 ? 0 : err / amax);
      }
    }
    expect(worst).toBeGreaterThan(0);
  });

  it("splits wkv_b into per-head transposed k_b and v_b in the checkpoint's BF16", async () => {
    const H = config.numHeads;
    const N = config.qkNopeHeadDim;
    const V = config.vHeadDim;
    const L = config.kvLoraRank;
    const kB = tensor("blk.1.attn_k_b.weight");
    const vB = tensor("blk.1.attn_v_b.weight");
    expect(kB.type).toBe(GgmlType.BF16);
    expect(vB.type).toBe(GgmlType.BF16);
    expect(kB.ne).toEqual([N, L, H]);
    expect(vB.ne).toEqual([L, V, H]);
    const src = await checkpointBytes("layers.1.attention.wkv_b.weight");
    const bits = (bytes: Uint8Array, index: number) => bytes[2 * index]! | (bytes[2 * index + 1]! << 8);
    const k = tensorBytes(kB);
    const v = tensorBytes(vB);
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l += 7) {
        for (let n = 0; n < N; n += 5) {
          expect(bits(k, (h * L + l) * N + n)).toBe(bits(src, (h * (N + V) + n) * L + l));
        }
        for (let d = 0; d < V; d += 9) {
          expect(bits(v, (h * V + d) * L + l)).toBe(bits(src, (h * (N + V) + N + d) * L + l));
        }
      }
    }
  });

  it("keeps norms as F32 and the embedding, output head and router in their BF16", () => {
    expect(tensor("blk.0.attn_norm.weight").type).toBe(GgmlType.F32);
    expect(tensor("output_norm.weight").type).toBe(GgmlType.F32);
    expect(tensor("token_embd.weight").type).toBe(GgmlType.BF16);
    expect(tensor("token_embd.weight").ne).toEqual([config.hiddenSize, config.vocabSize]);
    expect(tensor("output.weight").type).toBe(GgmlType.BF16);
    expect(tensor("blk.0.ffn_gate_inp.weight").type).toBe(GgmlType.BF16);
    expect(tensor("blk.0.ffn_gate_shexp.weight").type).toBe(GgmlType.Q4_0);
  });
});

describe("Q4_0 and fp16 encoding", () => {
  it("rounds float32 to IEEE half to nearest even, with overflow to infinity and subnormals", () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // halfway to the smallest subnormal: ties to even (0)
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const x of [0.1, -3.75, 1e-5, 1234.5]) {
      expect(Math.abs(f16BitsToF32(f32ToF16Bits(x)) - x)).toBeLessThanOrEqual(
        Math.abs(x) * 2 ** -11 + 2 ** -25,
      );
    }
  });

  it("maps a block's largest-magnitude value to code 0 and decodes every value within Q4_0's rounding", () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * (i < 32 ? 1 : 0.01));
    values[5] = -2.5;
    const q = quantizeQ4_0(values);
    expect(q.length).toBe(36);
    expect(q[2 + 5]! & 0x0f).toBe(0);
    const back = dequantizeQ4_0(q, 64);
    expect(back[5]).toBeCloseTo(-2.5, 3);
    for (let b = 0; b < 64; b += 32) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b + j]!));
      for (let j = 0; j < 32; j++) {
        expect(Math.abs(back[b + j]! - values[b + j]!)).toBeLessThanOrEqual(q4Bound(values[b + j]!, amax));
      }
    }
  });
});

describe("Tekken ranks as BPE merges", () => {
  it("splits a token into the two parts merging below its rank leaves", () => {
    const ranks = new Map<string, number>([
      ["a", 0],
      ["b", 1],
      ["c", 2],
      ["ab", 3],
      ["bc", 4],
      ["abc", 5],
    ]);
    expect(lastMerge("ab", 3, ranks)).toEqual(["a", "b"]);
    expect(lastMerge("abc", 5, ranks)).toEqual(["ab", "c"]);
    // "xyz" cannot be produced: its bytes are not tokens.
    expect(lastMerge("xyz", 6, ranks)).toBeUndefined();
  });
});
