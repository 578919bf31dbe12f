export { BlockManager } from "./block-manager.js";
export {
  Engine,
  type EngineEvaluateRequest,
  type EngineEvent,
  type EngineGenerateRequest,
  type EngineOptions,
  type EngineStats,
  type RequestHandle,
  type TokenAlternative,
} from "./engine.js";
export { EventQueue } from "./event-queue.js";
export { type LogitRow, type PreparedStep, Runner, type RunnerOptions, type RunStep } from "./runner.js";
export {
  MAX_TOP_LOGPROBS,
  maskWords,
  packSamplingBatch,
  SAMPLING_DEFAULTS,
  type SamplingParams,
  type SamplingRequest,
  type SamplingRowInput,
  validateSamplingParams,
} from "./sampling-params.js";
export { type ScheduledSequence, type ScheduledStep, Scheduler, type SchedulerOptions } from "./scheduler.js";
export {
  type LogitsMode,
  Sequence,
  type SequenceFinishReason,
  type SequenceInit,
  type SequenceStatus,
} from "./sequence.js";
