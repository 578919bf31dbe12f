export { BlockManager } from "./block-manager";
export {
  Engine,
  type EngineEvaluateRequest,
  type EngineEvent,
  type EngineGenerateRequest,
  type EngineOptions,
  type EngineStats,
  type RequestHandle,
  type TokenAlternative,
} from "./engine";
export { EventQueue } from "./event-queue";
export { type InputEmbeddingSpan, InputEmbeddings, inputEmbeddingSpan } from "./input-embeddings";
export { type LogitRow, type PreparedStep, Runner, type RunnerOptions, type RunStep } from "./runner";
export {
  MAX_TOP_LOGPROBS,
  maskWords,
  packSamplingBatch,
  SAMPLING_DEFAULTS,
  type SamplingParams,
  type SamplingRequest,
  type SamplingRowInput,
  validateSamplingParams,
} from "./sampling-params";
export { type ScheduledSequence, type ScheduledStep, Scheduler, type SchedulerOptions } from "./scheduler";
export {
  type LogitsMode,
  Sequence,
  type SequenceFinishReason,
  type SequenceInit,
  type SequenceStatus,
} from "./sequence";
