/**
 * Maps checkpoint tensor names (Mistral-native or Hugging Face, per-expert or fused 3-D experts) onto
 * canonical (module, part) pairs. Canonical module names are the native ones (module-table.ts).
 */
import type { ModuleSpec } from "./module-table";

/** The pieces a module's weight may be stored as. FP8 scale names are normalised to weight_scale/input_scale. */
export type TensorPart =
  | "weight"
  | "bias"
  | "weight_packed"
  | "weight_scale"
  | "weight_global_scale"
  | "input_global_scale"
  | "input_scale";

const NATIVE_PARTS: Record<string, TensorPart> = {
  weight: "weight",
  bias: "bias",
  weight_packed: "weight_packed",
  weight_scale: "weight_scale",
  weight_global_scale: "weight_global_scale",
  input_global_scale: "input_global_scale",
  qscale_weight: "weight_scale",
  qscale_act: "input_scale",
  input_scale: "input_scale",
};

const HF_PARTS: Record<string, TensorPart> = {
  weight: "weight",
  bias: "bias",
  weight_packed: "weight_packed",
  weight_scale: "weight_scale",
  weight_scale_inv: "weight_scale",
  weight_global_scale: "weight_global_scale",
  input_global_scale: "input_global_scale",
  input_scale: "input_scale",
  activation_scale: "input_scale",
};

/** Tensors some exporters write that carry no weights (recomputed buffers); loaded by nobody, on purpose. */
const IGNORED_TENSORS = [/(^|\.)rotary_emb\.inv_freq$/];

export type NameMatch =
  | { kind: "module"; module: ModuleSpec; part: TensorPart }
  /** HF fused experts of one layer: gate_up_proj [E, 2I, D] or down_proj [E, D, I], or one of their scales. */
  | { kind: "fused-experts"; layer: number; which: "gate_up" | "down"; part: TensorPart }
  | { kind: "ignored" }
  | { kind: "unknown" };

export class TensorNameResolver {
  private readonly byAlias = new Map<string, ModuleSpec>();

  constructor(
    modules: readonly ModuleSpec[],
    private readonly layout: "native" | "hf",
  ) {
    for (const m of modules) {
      if (layout === "native") this.byAlias.set(m.name, m);
      else for (const a of m.aliases) if (a !== m.name) this.byAlias.set(a, m);
    }
  }

  resolve(tensorName: string): NameMatch {
    if (IGNORED_TENSORS.some((re) => re.test(tensorName))) return { kind: "ignored" };
    if (this.layout === "hf") {
      const fused =
        /^(?:language_model\.model|model\.language_model|model)\.layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)(?:_(scale_inv|scale|activation_scale|input_scale))?$/.exec(
          tensorName,
        );
      if (fused) {
        const suffix = fused[3];
        const part: TensorPart | undefined =
          suffix === undefined
            ? "weight"
            : suffix === "activation_scale" || suffix === "input_scale"
              ? "input_scale"
              : "weight_scale";
        return {
          kind: "fused-experts",
          layer: Number(fused[1]),
          which: fused[2] === "gate_up_proj" ? "gate_up" : "down",
          part,
        };
      }
    }
    const dot = tensorName.lastIndexOf(".");
    if (dot <= 0) return { kind: "unknown" };
    const moduleName = tensorName.slice(0, dot);
    const partName = tensorName.slice(dot + 1);
    const parts = this.layout === "native" ? NATIVE_PARTS : HF_PARTS;
    const part = Object.hasOwn(parts, partName) ? parts[partName] : undefined;
    const module = this.byAlias.get(moduleName);
    if (!part || !module) return { kind: "unknown" };
    return { kind: "module", module, part };
  }
}
