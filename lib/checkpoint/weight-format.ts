/**
 * The weight format of each module of the model under a checkpoint's quantization config. The config's
 * targets / ignore lists decide (lib/config/quantization.ts), with one rule on top: the MoE router (`gate`),
 * like norms and embeddings, is never quantized. vLLM builds the router without a quantization method
 * whatever the config says, and Mistral's FP8 release stores it in BF16 while its legacy config
 * (`qformat_weight`, no ignore list) targets every linear layer (docs/fp8-checkpoints.md).
 */
import {
  configuredQuantGroup,
  type Fp8Scales,
  type QuantizationConfig,
  type WeightFormat,
} from "../config/quantization";
import { type ModuleSpec, moduleClass } from "./module-table";

export function plannedWeightFormat(q: QuantizationConfig, spec: ModuleSpec): WeightFormat {
  if (spec.kind !== "linear" || spec.group === "router") return "bf16";
  return configuredQuantGroup(q, spec.aliases, moduleClass(spec))?.format ?? "bf16";
}

/** FP8 modules: one weight scale, or one per output row. */
export function plannedFp8Scales(q: QuantizationConfig, spec: ModuleSpec): Fp8Scales {
  return configuredQuantGroup(q, spec.aliases, moduleClass(spec))?.fp8Scales ?? "tensor";
}
