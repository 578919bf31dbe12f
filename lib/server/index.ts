/** The OpenAI-compatible server: a request handler for any Node HTTP stack, and a ready server on top. */
export type { OpenAIErrorBody } from "./errors";
export { createOpenAIHandler, type OpenAIHandler } from "./handler";
export type { MediaOptions, OpenAIHandlerOptions } from "./options";
export { createServer, type Ms4Server, type ServerOptions } from "./server";
