export { OutputParser, type OutputParserOptions, parseOutput } from "./output-parser.js";
export { ReasoningSplitter, type RoutedPiece, type ThinkTokenIds } from "./reasoning-splitter.js";
export { TokenTextDecoder } from "./token-text-decoder.js";
export { randomToolCallId } from "./tool-call-id.js";
export { ToolCallParser, type ToolCallTokenIds } from "./tool-call-parser.js";
export type * from "./types.js";
