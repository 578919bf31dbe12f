/**
 * Writes a GGUF of a Mistral Small 4 checkpoint (either layout, as lib/checkpoint plans it) for llama.cpp's
 * `mistral4` architecture (its DeepSeek-V2 graph: MLA with absorbed k_b / v_b, softmax top-k MoE, a shared expert).
 *
 * Weights:
 * - NVFP4 linears (the routed and shared experts in the published split) → Q4_0. Each is dequantized exactly
 *   (lib/quant `dequantizeNvfp4`, docs/model.md#nvfp4), which applies the per-tensor global scale, then
 *   quantized to Q4_0: the global scale ends up inside the Q4_0 block scales, since llama.cpp's graph has no
 *   place for a separate one. Routed experts are stacked per layer into [in, out, experts] tensors.
 * - Plain linears, the router and the embedding keep their dtype (BF16 / F16 / F32); norms become F32.
 * - `wkv_b` becomes `attn_k_b` (per head W_UKᵀ, ne [nope, latent, heads]) and `attn_v_b` (per head W_UV,
 *   ne [latent, v, heads]) in its own float dtype, F32 when it was quantized: llama.cpp's CPU path gives NaN
 *   or crashes on quantized or F16 k_b / v_b.
 * Metadata: the MLA sizes (heads_kv 1, key 320 = latent + rope, value 256 = latent, and the per-head MLA 128 /
 * 128), YaRN (type, factor, original context, beta fast / slow, `yarn_log_multiplier` = 0.1 · mscale_all_dim,
 * which llama.cpp divides by 0.1 again), the llama-4 query scaling (`attention.temperature_scale` = β,
 * `attention.temperature_length` = its original context) and the Tekken vocabulary (tekken-vocab.ts).
 */
import { type FileHandle, open } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { PlannedModule, PlannedTensor } from "../../../lib/checkpoint/load-plan";
import { openCheckpoint } from "../../../lib/checkpoint/open-checkpoint";
import type { ModelConfig } from "../../../lib/config/model-config";
import { bf16ArrayToF32, dequantizeNvfp4 } from "../../../lib/quant";
import { GGUF_DEFAULT_ALIGNMENT, GgmlType, type GgmlTypeId, type GgufValue } from "../gguf/gguf-format";
import { type GgufTensorSpec, writeGguf } from "../gguf/gguf-writer";
import { dequantizeQ4_0, f16BitsToF32, quantizeQ4_0 } from "../gguf/q4-0";
import { readTekkenVocab } from "./tekken-vocab";

export const GGUF_ARCHITECTURE = "mistral4";
/** llama_ftype LLAMA_FTYPE_MOSTLY_Q4_0. */
const FILE_TYPE_MOSTLY_Q4_0 = 2;
/** llama_expert_gating_func_type SOFTMAX. */
const GATING_SOFTMAX = 1;

export interface ConvertSummary {
  readonly path: string;
  readonly bytes: number;
  readonly tensors: number;
  readonly tensorsByType: Record<string, number>;
  readonly vocabSize: number;
  readonly merges: number;
  /** ‖Q4_0 − NVFP4‖₂ / ‖NVFP4‖₂ over every Q4_0 tensor, both dequantized: the requantization error. */
  readonly q4RelativeL2Error: number;
  readonly seconds: number;
}

type Dtype = "BF16" | "F16" | "F32";
const PLAIN_TYPES: Record<Dtype, GgmlTypeId> = { BF16: GgmlType.BF16, F16: GgmlType.F16, F32: GgmlType.F32 };
const PLAIN_BYTES: Record<Dtype, number> = { BF16: 2, F16: 2, F32: 4 };

function plainDtype(t: PlannedTensor): Dtype {
  if (t.dtype === "BF16" || t.dtype === "F16" || t.dtype === "F32") return t.dtype;
  throw new Error(`${t.source}: dtype ${t.dtype} is not a float type this converter copies`);
}

function floatsOf(bytes: Uint8Array, dtype: Dtype): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (dtype === "F32")
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4).slice();
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  if (dtype === "BF16") return bf16ArrayToF32(halves);
  return Float32Array.from(halves, f16BitsToF32);
}

function asBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

class TensorReader {
  private constructor(private readonly handles: FileHandle[]) {}
  static async open(paths: readonly string[]): Promise<TensorReader> {
    const handles: FileHandle[] = [];
    try {
      for (const p of paths) handles.push(await open(p, "r"));
    } catch (error) {
      await Promise.all(handles.map((h) => h.close()));
      throw error;
    }
    return new TensorReader(handles);
  }
  async read(t: PlannedTensor): Promise<Uint8Array> {
    const out = new Uint8Array(t.length);
    let done = 0;
    while (done < t.length) {
      const { bytesRead } = await this.handles[t.fileIndex]!.read(
        out,
        done,
        t.length - done,
        t.offset + done,
      );
      if (bytesRead === 0) throw new Error(`${t.source}: file ended inside the tensor`);
      done += bytesRead;
    }
    return out;
  }
  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close()));
  }
}

/** Accumulates ‖Δ‖² and ‖ref‖² of the NVFP4 → Q4_0 requantization. */
class ErrorMeter {
  diff = 0;
  ref = 0;
  add(reference: Float32Array, q4: Uint8Array): void {
    const back = dequantizeQ4_0(q4, reference.length);
    for (let i = 0; i < reference.length; i++) {
      const d = back[i]! - reference[i]!;
      this.diff += d * d;
      this.ref += reference[i]! * reference[i]!;
    }
  }
  relative(): number {
    return this.ref === 0 ? 0 : Math.sqrt(this.diff / this.ref);
  }
}

function requirePart(m: PlannedModule, part: keyof PlannedModule["tensors"]): PlannedTensor {
  const t = m.tensors[part];
  if (!t) throw new Error(`${m.spec.name}: no ${part} tensor in the checkpoint`);
  return t;
}

export class Mistral4GgufConverter {
  private readonly modules: Map<string, PlannedModule>;
  readonly meter = new ErrorMeter();

  constructor(
    private readonly config: ModelConfig,
    modules: readonly PlannedModule[],
    private readonly reader: TensorReader,
  ) {
    this.modules = new Map(modules.map((m) => [m.spec.name, m]));
    for (const m of modules) {
      if (m.format === "fp8") {
        throw new Error(`${m.spec.name} is FP8: this converter writes NVFP4 and float checkpoints only`);
      }
    }
  }

  private module(name: string): PlannedModule {
    const m = this.modules.get(name);
    if (!m) throw new Error(`the checkpoint has no module ${name}`);
    return m;
  }

  /** A linear's weight as float32, row-major [out, in]. */
  private async linearFloats(m: PlannedModule): Promise<Float32Array> {
    const [rows, cols] = m.spec.shape as [number, number];
    if (m.format === "nvfp4") {
      const packed = await this.reader.read(requirePart(m, "weight_packed"));
      const scales = await this.reader.read(requirePart(m, "weight_scale"));
      const globalTensor = requirePart(m, "weight_global_scale");
      const global = floatsOf(await this.reader.read(globalTensor), plainDtype(globalTensor))[0]!;
      return dequantizeNvfp4(packed, scales, global, rows, cols);
    }
    const w = requirePart(m, "weight");
    return floatsOf(await this.reader.read(w), plainDtype(w));
  }

  /** The Q4_0 bytes of an NVFP4 linear, counting its requantization error. */
  private async q4Bytes(m: PlannedModule): Promise<Uint8Array> {
    const values = await this.linearFloats(m);
    const q4 = quantizeQ4_0(values);
    this.meter.add(values, q4);
    return q4;
  }

  /** One linear as one GGUF tensor: Q4_0 when NVFP4, else its own float dtype. */
  private linear(ggufName: string, moduleName: string): GgufTensorSpec {
    const m = this.module(moduleName);
    const [rows, cols] = m.spec.shape as [number, number];
    if (m.format === "nvfp4") {
      return {
        name: ggufName,
        ne: [cols, rows],
        type: GgmlType.Q4_0,
        data: () => this.once(() => this.q4Bytes(m)),
      };
    }
    const w = requirePart(m, "weight");
    const dtype = plainDtype(w);
    return {
      name: ggufName,
      ne: [cols, rows],
      type: PLAIN_TYPES[dtype],
      data: () => this.once(() => this.reader.read(w)),
    };
  }

  private async *once(produce: () => Promise<Uint8Array>): AsyncIterable<Uint8Array> {
    yield await produce();
  }

  /** A norm (or any 1-D tensor) as F32. */
  private norm(ggufName: string, moduleName: string): GgufTensorSpec {
    const m = this.module(moduleName);
    const w = requirePart(m, "weight");
    return {
      name: ggufName,
      ne: [m.spec.shape[0]!],
      type: GgmlType.F32,
      data: () => this.once(async () => asBytes(floatsOf(await this.reader.read(w), plainDtype(w)))),
    };
  }

  /** The routed experts' `w` of one layer stacked into [in, out, experts], Q4_0 when NVFP4. */
  private experts(ggufName: string, layer: number, w: "w1" | "w2" | "w3"): GgufTensorSpec {
    const names = Array.from(
      { length: this.config.moe.numExperts },
      (_, e) => `layers.${layer}.experts.${e}.${w}`,
    );
    const first = this.module(names[0]!);
    const [rows, cols] = first.spec.shape as [number, number];
    const ne = [cols, rows, names.length];
    const self = this;
    if (first.format === "nvfp4") {
      return {
        name: ggufName,
        ne,
        type: GgmlType.Q4_0,
        data: async function* () {
          for (const n of names) yield await self.q4Bytes(self.module(n));
        },
      };
    }
    const dtype = plainDtype(requirePart(first, "weight"));
    return {
      name: ggufName,
      ne,
      type: PLAIN_TYPES[dtype],
      data: async function* () {
        for (const n of names) {
          const t = requirePart(self.module(n), "weight");
          if (plainDtype(t) !== dtype)
            throw new Error(`${t.source}: experts of one layer in different dtypes`);
          yield await self.reader.read(t);
        }
      },
    };
  }

  /** wkv_b [H·(N+V), L] split into attn_k_b (ne [N, L, H], per head W_UKᵀ) and attn_v_b (ne [L, V, H]). */
  private splitKvB(layer: number): [GgufTensorSpec, GgufTensorSpec] {
    const c = this.config;
    const H = c.numHeads;
    const N = c.qkNopeHeadDim;
    const V = c.vHeadDim;
    const L = c.kvLoraRank;
    const m = this.module(`layers.${layer}.attention.wkv_b`);
    const plain = m.format === "bf16" ? plainDtype(requirePart(m, "weight")) : "F32";
    const size = PLAIN_BYTES[plain];
    const source = async (): Promise<Uint8Array> =>
      m.format === "bf16" ? this.reader.read(requirePart(m, "weight")) : asBytes(await this.linearFloats(m));
    const kB: GgufTensorSpec = {
      name: `blk.${layer}.attn_k_b.weight`,
      ne: [N, L, H],
      type: PLAIN_TYPES[plain],
      data: () =>
        this.once(async () => {
          const src = await source();
          const out = new Uint8Array(H * L * N * size);
          let o = 0;
          for (let h = 0; h < H; h++) {
            for (let l = 0; l < L; l++) {
              for (let n = 0; n < N; n++) {
                const from = ((h * (N + V) + n) * L + l) * size;
                out.set(src.subarray(from, from + size), o);
                o += size;
              }
            }
          }
          return out;
        }),
    };
    const vB: GgufTensorSpec = {
      name: `blk.${layer}.attn_v_b.weight`,
      ne: [L, V, H],
      type: PLAIN_TYPES[plain],
      data: () =>
        this.once(async () => {
          const src = await source();
          const out = new Uint8Array(H * V * L * size);
          const rowBytes = L * size;
          for (let h = 0; h < H; h++) {
            const from = (h * (N + V) + N) * rowBytes;
            out.set(src.subarray(from, from + V * rowBytes), h * V * rowBytes);
          }
          return out;
        }),
    };
    return [kB, vB];
  }

  tensors(): GgufTensorSpec[] {
    const c = this.config;
    const out: GgufTensorSpec[] = [this.linear("token_embd.weight", "tok_embeddings")];
    for (let l = 0; l < c.numLayers; l++) {
      const p = `layers.${l}`;
      const b = `blk.${l}`;
      out.push(
        this.norm(`${b}.attn_norm.weight`, `${p}.attention_norm`),
        this.linear(`${b}.attn_q_a.weight`, `${p}.attention.wq_a`),
        this.norm(`${b}.attn_q_a_norm.weight`, `${p}.attention.q_a_norm`),
        this.linear(`${b}.attn_q_b.weight`, `${p}.attention.wq_b`),
        this.linear(`${b}.attn_kv_a_mqa.weight`, `${p}.attention.wkv_a_with_mqa`),
        this.norm(`${b}.attn_kv_a_norm.weight`, `${p}.attention.kv_a_norm`),
        ...this.splitKvB(l),
        this.linear(`${b}.attn_output.weight`, `${p}.attention.wo`),
        this.norm(`${b}.ffn_norm.weight`, `${p}.ffn_norm`),
        this.linear(`${b}.ffn_gate_inp.weight`, `${p}.gate`),
        this.experts(`${b}.ffn_gate_exps.weight`, l, "w1"),
        this.experts(`${b}.ffn_up_exps.weight`, l, "w3"),
        this.experts(`${b}.ffn_down_exps.weight`, l, "w2"),
      );
      if (c.moe.numSharedExperts > 0) {
        out.push(
          this.linear(`${b}.ffn_gate_shexp.weight`, `${p}.shared_experts.w1`),
          this.linear(`${b}.ffn_up_shexp.weight`, `${p}.shared_experts.w3`),
          this.linear(`${b}.ffn_down_shexp.weight`, `${p}.shared_experts.w2`),
        );
      }
    }
    out.push(this.norm("output_norm.weight", "norm"));
    out.push(this.linear("output.weight", c.tieWordEmbeddings ? "tok_embeddings" : "output"));
    return out;
  }
}

/** The model's hyperparameters under llama.cpp's `mistral4` keys. */
export function mistral4Metadata(config: ModelConfig, name: string): (readonly [string, GgufValue])[] {
  const a = GGUF_ARCHITECTURE;
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const f32 = (value: number): GgufValue => ({ type: "f32", value });
  const c = config;
  if (c.moe.numExpertGroups > 1) throw new Error("grouped expert routing is not written by this converter");
  const kv: (readonly [string, GgufValue])[] = [
    ["general.architecture", { type: "string", value: a }],
    ["general.name", { type: "string", value: name }],
    ["general.alignment", u32(GGUF_DEFAULT_ALIGNMENT)],
    ["general.quantization_version", u32(2)],
    ["general.file_type", u32(FILE_TYPE_MOSTLY_Q4_0)],
    [`${a}.context_length`, u32(c.maxPositionEmbeddings)],
    [`${a}.embedding_length`, u32(c.hiddenSize)],
    [`${a}.block_count`, u32(c.numLayers)],
    [`${a}.feed_forward_length`, u32(c.intermediateSize)],
    [`${a}.leading_dense_block_count`, u32(c.firstKDenseReplace)],
    [`${a}.vocab_size`, u32(c.vocabSize)],
    [`${a}.attention.head_count`, u32(c.numHeads)],
    // MLA runs as multi-query attention over the latent: one KV head of key 320 (latent + rope), value 256.
    [`${a}.attention.head_count_kv`, u32(1)],
    [`${a}.attention.key_length`, u32(c.kvLoraRank + c.qkRopeHeadDim)],
    [`${a}.attention.value_length`, u32(c.kvLoraRank)],
    [`${a}.attention.key_length_mla`, u32(c.qkHeadDim)],
    [`${a}.attention.value_length_mla`, u32(c.vHeadDim)],
    [`${a}.attention.q_lora_rank`, u32(c.qLoraRank)],
    [`${a}.attention.kv_lora_rank`, u32(c.kvLoraRank)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps)],
    [`${a}.rope.dimension_count`, u32(c.qkRopeHeadDim)],
    [`${a}.rope.freq_base`, f32(c.rope.theta)],
    [`${a}.expert_count`, u32(c.moe.numExperts)],
    [`${a}.expert_used_count`, u32(c.moe.numExpertsPerToken)],
    [`${a}.expert_shared_count`, u32(c.moe.numSharedExperts)],
    [`${a}.expert_feed_forward_length`, u32(c.moe.expertHiddenSize)],
    [`${a}.expert_weights_scale`, f32(c.moe.routedScalingFactor)],
    [`${a}.expert_weights_norm`, { type: "bool", value: c.moe.normTopkProb }],
    [`${a}.expert_gating_func`, u32(GATING_SOFTMAX)],
  ];
  if (c.rope.type === "yarn") {
    kv.push(
      [`${a}.rope.scaling.type`, { type: "string", value: "yarn" }],
      [`${a}.rope.scaling.factor`, f32(c.rope.factor)],
      [`${a}.rope.scaling.original_context_length`, u32(c.rope.originalMaxPositionEmbeddings)],
      [`${a}.rope.scaling.yarn_beta_fast`, f32(c.rope.betaFast)],
      [`${a}.rope.scaling.yarn_beta_slow`, f32(c.rope.betaSlow)],
    );
    if (c.rope.applyScale && c.rope.mscaleAllDim) {
      kv.push([`${a}.rope.scaling.yarn_log_multiplier`, f32(0.1 * c.rope.mscaleAllDim)]);
    }
  }
  if (c.llama4Scaling) {
    kv.push(
      [`${a}.attention.temperature_scale`, f32(c.llama4Scaling.beta)],
      [`${a}.attention.temperature_length`, u32(c.llama4Scaling.originalMaxPositionEmbeddings)],
    );
  }
  return kv;
}

export async function convertCheckpointToGguf(
  dir: string,
  outPath: string,
  options: { onTensor?: (name: string, index: number, count: number) => void } = {},
): Promise<ConvertSummary> {
  const start = performance.now();
  const plan = await openCheckpoint(dir);
  const c = plan.config;
  if (!c.rope.interleaved)
    throw new Error("llama.cpp's mistral4 graph rotates interleaved pairs; this file does not");
  const vocab = readTekkenVocab(dir, { bos: c.bosTokenId, eos: c.eosTokenId });
  const reader = await TensorReader.open(plan.files.map((f) => f.path));
  try {
    const converter = new Mistral4GgufConverter(c, plan.modules, reader);
    const tensors = converter.tensors();
    const metadata = [...mistral4Metadata(c, basename(resolve(dir))), ...vocab.metadata];
    const bytes = await writeGguf(outPath, metadata, tensors, {
      onTensor: (name, i) => options.onTensor?.(name, i, tensors.length),
    });
    const tensorsByType: Record<string, number> = {};
    for (const t of tensors) {
      const key = Object.entries(GgmlType).find(([, id]) => id === t.type)![0];
      tensorsByType[key] = (tensorsByType[key] ?? 0) + 1;
    }
    return {
      path: outPath,
      bytes,
      tensors: tensors.length,
      tensorsByType,
      vocabSize: vocab.vocabSize,
      merges: vocab.mergeCount,
      q4RelativeL2Error: converter.meter.relative(),
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    await reader.close();
  }
}
