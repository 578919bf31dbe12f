export { SchemaCompiler } from "./compile-schema.js";
export {
  DecodingConstraint,
  type DecodingConstraintOptions,
  minimumTokens,
  type ThinkingMode,
} from "./constraint.js";
export { Grammar } from "./grammar.js";
export {
  buildGrammar,
  checkResponseFormat,
  checkToolChoice,
  checkTools,
  type GrammarRequest,
  type ResolvedResponseFormat,
  type ResolvedToolChoice,
} from "./request.js";
export { TokenTable, tokenTableFor } from "./token-table.js";
