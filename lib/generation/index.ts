export { DEFAULT_MAX_TOKENS, Generator, type GeneratorOptions } from "./generator.js";
export { OutputAssembler, type OutputAssemblerOptions } from "./output-assembler.js";
export { type StopMatch, StopStringMatcher } from "./stop-strings.js";
export type * from "./types.js";
export { type CheckedRequest, checkGenerateRequest, checkTokenIds, MAX_STOP_STRINGS } from "./validate.js";
