/** mistral4-runtime: run Mistral Small 4 from Node.js. Public exports only. */

export { setNativeAddonPath } from "./addon/load";
export type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  ImageBytesPart,
  ImagePathPart,
  ImagePlacement,
  ImageSizePart,
  ImageUrlPart,
  PromptImage,
  RenderedChat,
} from "./chat/types";
export type { Llama4Scaling, ModelConfig, MoeConfig, RopeConfig, VisionConfig } from "./config/model-config";
export type { QuantArgs, QuantGroup, QuantizationConfig, WeightFormat } from "./config/quantization";
export { readModelConfig } from "./config/read-model-config";
export {
  AbortError,
  ChatFormatError,
  CheckpointError,
  ConfigError,
  DisposedError,
  ImageError,
  type ImageErrorReason,
  InvalidArgumentError,
  Ms4Error,
  NativeAddonError,
  OutOfMemoryError,
  TokenizerError,
  UnsupportedFeatureError,
  UnsupportedQuantizationError,
} from "./errors";
export type {
  EvaluateChatRequest,
  EvaluateOptions,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  InvalidToolCall,
  InvalidToolCallReason,
  ResponseFormat,
  StreamEvent,
  TokenLogprob,
  ToolCall,
  ToolChoice,
  Usage,
} from "./generation/types";
export { DEFAULT_IMAGE_FETCH_POLICY, fetchImageBytes, type ImageFetchPolicy } from "./image/fetch";
export { formatInspectReport, type InspectReport, inspectCheckpoint } from "./inspect/inspect";
export type { DeviceOption, LoadOptions, LoadProgress } from "./model/load-options";
export {
  type EmbeddedImage,
  Model,
  type ModelMemory,
  type ModelStats,
  type RenderChatOptions,
} from "./model/model";
export type { CpuFeatures, CpuKernelPath, CudaDevice } from "./native";
export {
  createOpenAIHandler,
  createServer,
  type MediaOptions,
  type Ms4Server,
  type OpenAIErrorBody,
  type OpenAIHandler,
  type OpenAIHandlerOptions,
  type ServerOptions,
} from "./server";
export { type AddonInfo, type AddonSource, type SystemInfo, systemInfo } from "./system-info";
export { type MakeTinyOptions, type MakeTinyResult, makeTiny } from "./tiny/make-tiny";
export { Tekken } from "./tokenizer/tekken";
export type { SpecialTokenPolicy, Tokenizer } from "./tokenizer/types";
export type { ImageInput } from "./vision/image-inputs";
