export { type ImageTokenGrid, imageTokenGrid, imageTokenIds } from "./image-tokens";
export { PyFloat, PyInt, type PyJson, pythonFloatRepr, pythonJsonDumps } from "./python-json";
export { tryParsePythonJson } from "./python-json-parse";
export {
  type DefaultSystemPromptOptions,
  fillSystemPrompt,
  loadDefaultSystemPrompt,
  SYSTEM_PROMPT_FILE,
} from "./system-prompt";
export type * from "./types";
export { availableToolsJson, renderChat, toolCallArgumentsJson } from "./v15-encoder";
