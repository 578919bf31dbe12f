export { SchemaCompiler } from "./compile-schema";
export {
  DecodingConstraint,
  type DecodingConstraintOptions,
  minimumTokens,
  type ThinkingMode,
} from "./constraint";
export { Grammar } from "./grammar";
export {
  buildGrammar,
  checkResponseFormat,
  checkToolChoice,
  checkTools,
  type GrammarRequest,
  type ResolvedResponseFormat,
  type ResolvedToolChoice,
} from "./request";
export { TokenTable, tokenTableFor } from "./token-table";
