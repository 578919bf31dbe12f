export { type ImageTokenGrid, imageTokenGrid, imageTokenIds } from "./image-tokens.js";
export { PyFloat, PyInt, type PyJson, pythonFloatRepr, pythonJsonDumps } from "./python-json.js";
export { tryParsePythonJson } from "./python-json-parse.js";
export {
  type DefaultSystemPromptOptions,
  fillSystemPrompt,
  loadDefaultSystemPrompt,
  SYSTEM_PROMPT_FILE,
} from "./system-prompt.js";
export type * from "./types.js";
export { availableToolsJson, renderChat, toolCallArgumentsJson } from "./v15-encoder.js";
