export { DEFAULT_MAX_TOKENS, Generator, type GeneratorOptions } from "./generator";
export { OutputAssembler, type OutputAssemblerOptions } from "./output-assembler";
export { type StopMatch, StopStringMatcher } from "./stop-strings";
export type * from "./types";
export { type CheckedRequest, checkGenerateRequest, checkTokenIds, MAX_STOP_STRINGS } from "./validate";
