export { DeclaredToolFilter } from "./declared-tool-filter";
export { OutputParser, type OutputParserOptions, parseOutput } from "./output-parser";
export { ReasoningSplitter, type RoutedPiece, type ThinkTokenIds } from "./reasoning-splitter";
export { TokenTextDecoder } from "./token-text-decoder";
export { randomToolCallId } from "./tool-call-id";
export { ToolCallParser, type ToolCallTokenIds } from "./tool-call-parser";
export type * from "./types";
