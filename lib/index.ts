/** mistral4-runtime: run Mistral Small 4 from Node.js. Public exports only. */
export { Model, type ModelMemory } from "./model/model";
export type { DeviceOption, LoadOptions, LoadProgress } from "./model/load-options";
export type { ModelConfig, MoeConfig, RopeConfig, VisionConfig, Llama4Scaling } from "./config/model-config";
export type { QuantizationConfig, QuantGroup, QuantArgs, WeightFormat } from "./config/quantization";
export { readModelConfig } from "./config/read-model-config";
export type { Tokenizer, SpecialTokenPolicy } from "./tokenizer/types";
export { Tekken } from "./tokenizer/tekken";
export { inspectCheckpoint, formatInspectReport, type InspectReport } from "./inspect/inspect";
export { makeTiny, type MakeTinyOptions, type MakeTinyResult } from "./tiny/make-tiny";
export { systemInfo } from "./system-info";
export {
  AbortError,
  ChatFormatError,
  CheckpointError,
  ConfigError,
  DisposedError,
  InvalidArgumentError,
  Ms4Error,
  NativeAddonError,
  OutOfMemoryError,
  TokenizerError,
  UnsupportedQuantizationError,
} from "./errors";
