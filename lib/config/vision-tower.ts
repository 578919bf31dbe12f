/** The Pixtral tower fields that params.json's `vision_encoder` and HF's `vision_config` share (same keys). */
import type { JsonFields } from "./json-fields";
import type { VisionConfig } from "./model-config";

export type VisionTowerFields = Pick<
  VisionConfig,
  | "hiddenSize"
  | "numLayers"
  | "numHeads"
  | "headDim"
  | "intermediateSize"
  | "numChannels"
  | "patchSize"
  | "imageSize"
>;

export function parseVisionTower(v: JsonFields): VisionTowerFields {
  const hidden = v.count("hidden_size");
  const heads = v.count("num_attention_heads");
  return {
    hiddenSize: hidden,
    numLayers: v.count("num_hidden_layers"),
    numHeads: heads,
    headDim: v.count("head_dim", Math.floor(hidden / heads)),
    intermediateSize: v.count("intermediate_size"),
    numChannels: v.count("num_channels", 3),
    patchSize: v.count("patch_size"),
    imageSize: v.count("image_size"),
  };
}
