/**
 * Shape checks of an OpenAI-style chat request and its conversion to the encoder's message model,
 * following mistral-common's `from_openai` conversions (`protocol/instruct/messages.py`,
 * `tool_calls.py`) and vLLM's request preparation (`vllm/tokenizers/mistral.py`).
 * Wrong types are InvalidArgumentError; content mistral-common refuses is ChatFormatError.
 */

import { ChatFormatError, InvalidArgumentError } from "../errors";
import { type ImageRef, type LoadedImage, loadImage } from "../image/sources";
import { checkKnownKeys } from "../options/known-keys";
import {
  checkToolDefinitionKeys,
  IMAGE_URL_FIELDS,
  MESSAGE_FIELDS,
  PART_FIELDS,
  TOOL_CALL_FIELDS,
  TOOL_CALL_FUNCTION_FIELDS,
} from "./known-fields";
import type { Chunk, Content, Message, ParsedChatRequest, ToolCallEntry, ToolDefinition } from "./messages";
import type { RenderChatOptions } from "./types";

type Role = Message["role"];

/** Chunk kinds each role may hold (mistral-common message allow-lists and the v15 validator). */
const ALLOWED_CHUNKS: Readonly<Record<Role, readonly Chunk["kind"][]>> = {
  system: ["text"],
  user: ["text", "image"],
  assistant: ["text", "think"],
  tool: ["text", "image"],
};

const MISTRAL_ID_LENGTH = 9;

export function parseChatRequest(request: unknown, options: RenderChatOptions = {}): ParsedChatRequest {
  const req = expectObject(request, "request");
  if (!Array.isArray(req["messages"])) {
    throw new InvalidArgumentError("request.messages", "an array of messages", req["messages"]);
  }
  const messages = req["messages"].map((m, i) => parseMessage(m, i, options));
  const continueFinalMessage = req["continueFinalMessage"] ?? false;
  if (typeof continueFinalMessage !== "boolean") {
    throw new InvalidArgumentError("request.continueFinalMessage", "a boolean", continueFinalMessage);
  }
  const reasoningEffort = req["reasoningEffort"] ?? null;
  if (reasoningEffort !== null && reasoningEffort !== "none" && reasoningEffort !== "high") {
    throw new InvalidArgumentError("request.reasoningEffort", '"none" or "high"', reasoningEffort);
  }
  return { messages, tools: parseTools(req["tools"]), reasoningEffort, continueFinalMessage };
}

/** Where a message is: its path for argument errors and its index for image errors. */
interface MessagePlace {
  readonly path: string;
  readonly index: number;
}

function parseMessage(raw: unknown, index: number, options: RenderChatOptions): Message {
  const where = `request.messages[${index}]`;
  const at: MessagePlace = { path: `${where}.content`, index };
  const m = expectObject(raw, where);
  const role = m["role"];
  if (role === "system" || role === "user" || role === "assistant" || role === "tool") {
    checkKnownKeys(m, MESSAGE_FIELDS[role], { path: where, noun: "field" });
    // OpenAI's participant name: checked, never rendered (mistral-common has no place for it).
    optionalString(m["name"], `${where}.name`);
  }
  switch (role) {
    case "system":
    case "user":
      return { role, content: parseContent(m["content"], at, role, options) };
    case "assistant":
      return parseAssistant(m, where, at, options);
    case "tool":
      return parseToolMessage(m, where, at, options);
    default:
      throw new InvalidArgumentError(`${where}.role`, '"system", "user", "assistant" or "tool"', role);
  }
}

function parseAssistant(
  m: Record<string, unknown>,
  where: string,
  at: MessagePlace,
  options: RenderChatOptions,
): Message {
  const rawContent = m["content"] ?? null;
  let content = rawContent === null ? null : parseContent(rawContent, at, "assistant", options);
  const reasoning = parseReasoning(m, where);
  if (reasoning !== null) {
    // mistral-common AssistantMessage.from_openai: the reasoning becomes a leading closed ThinkChunk.
    if (Array.isArray(content) && content.some((c) => c.kind === "think")) {
      throw new ChatFormatError(
        `${where}: a message cannot have both thinking parts in content and a reasoning field`,
      );
    }
    const think: Chunk = { kind: "think", thinking: reasoning, closed: true };
    if (content === null) content = [think];
    else if (typeof content === "string") content = [think, { kind: "text", text: content }];
    else content = [think, ...content];
  }
  const rawCalls = m["tool_calls"] ?? null;
  let toolCalls: ToolCallEntry[] | null = null;
  if (rawCalls !== null) {
    if (!Array.isArray(rawCalls)) {
      throw new InvalidArgumentError(`${where}.tool_calls`, "an array of tool calls", rawCalls);
    }
    toolCalls = rawCalls.map((c, i) => parseToolCall(c, `${where}.tool_calls[${i}]`));
  }
  const prefix = m["prefix"] ?? false;
  if (typeof prefix !== "boolean") throw new InvalidArgumentError(`${where}.prefix`, "a boolean", prefix);
  checkResponseOnlyFields(m, where);
  return { role: "assistant", content, toolCalls, prefix };
}

/**
 * Fields of an OpenAI response message that have no place in a Mistral prompt: accepted empty (as a reply
 * sent back carries them), refused with content rather than dropped.
 */
function checkResponseOnlyFields(m: Record<string, unknown>, where: string): void {
  for (const field of ["refusal", "audio", "function_call"] as const) {
    const value = m[field];
    if (value !== undefined && value !== null) {
      throw new InvalidArgumentError(
        `${where}.${field}`,
        `null (${field} cannot be rendered for this model)`,
        value,
      );
    }
  }
  const annotations = m["annotations"];
  if (
    annotations !== undefined &&
    annotations !== null &&
    !(Array.isArray(annotations) && annotations.length === 0)
  )
    throw new InvalidArgumentError(`${where}.annotations`, "null or an empty array", annotations);
}

function parseReasoning(m: Record<string, unknown>, where: string): string | null {
  const reasoning = optionalString(m["reasoning"], `${where}.reasoning`);
  const reasoningContent = optionalString(m["reasoning_content"], `${where}.reasoning_content`);
  if (reasoning !== null && reasoningContent !== null && reasoning !== reasoningContent) {
    throw new ChatFormatError(`${where}: reasoning and reasoning_content must be equal when both are given`);
  }
  return reasoning ?? reasoningContent;
}

function parseToolCall(raw: unknown, where: string): ToolCallEntry {
  const call = expectObject(raw, where);
  checkKnownKeys(call, TOOL_CALL_FIELDS, { path: where, noun: "field" });
  if (call["type"] !== undefined && call["type"] !== "function") {
    throw new InvalidArgumentError(`${where}.type`, '"function"', call["type"]);
  }
  const fn = expectObject(call["function"], `${where}.function`);
  checkKnownKeys(fn, TOOL_CALL_FUNCTION_FIELDS, { path: `${where}.function`, noun: "field" });
  const name = fn["name"];
  if (typeof name !== "string") throw new InvalidArgumentError(`${where}.function.name`, "a string", name);
  const args = fn["arguments"] ?? null;
  if (args !== null && typeof args !== "string" && !isRecord(args)) {
    throw new InvalidArgumentError(`${where}.function.arguments`, "a JSON string or an object", args);
  }
  const id = call["id"];
  if (id === undefined || id === null || id === "null" || id === "") {
    // mistral-common defaults a missing id to "null" and refuses it when encoding v13+ tool calls.
    throw new ChatFormatError(`${where}: a tool call id is required`);
  }
  if (typeof id !== "string") throw new InvalidArgumentError(`${where}.id`, "a string", id);
  return { id: shortenId(id), name, arguments: args };
}

function parseToolMessage(
  m: Record<string, unknown>,
  where: string,
  at: MessagePlace,
  options: RenderChatOptions,
): Message {
  const id = m["tool_call_id"] ?? null;
  if (id !== null && typeof id !== "string") {
    throw new InvalidArgumentError(`${where}.tool_call_id`, "a string", id);
  }
  return {
    role: "tool",
    content: parseContent(m["content"], at, "tool", options),
    toolCallId: id === null ? null : shortenId(id),
    name: optionalString(m["name"], `${where}.name`),
  };
}

/** vLLM keeps the last 9 characters of longer ids (`truncate_tool_call_ids`) before mistral-common checks them. */
function shortenId(id: string): string {
  return id.length > MISTRAL_ID_LENGTH ? id.slice(-MISTRAL_ID_LENGTH) : id;
}

function parseContent(raw: unknown, at: MessagePlace, role: Role, options: RenderChatOptions): Content {
  const where = at.path;
  if (typeof raw === "string") return raw;
  if (!Array.isArray(raw)) throw new InvalidArgumentError(where, "a string or an array of parts", raw);
  const chunks = raw.map((part, i) =>
    parsePart(part, `${where}[${i}]`, { messageIndex: at.index, partIndex: i }, options),
  );
  for (const [i, chunk] of chunks.entries()) {
    if (!ALLOWED_CHUNKS[role].includes(chunk.kind)) {
      const what = chunk.kind === "think" ? "thinking" : chunk.kind;
      throw new ChatFormatError(`${where}[${i}]: ${what} parts are not allowed in ${role} messages`);
    }
  }
  return chunks;
}

function parsePart(
  raw: unknown,
  where: string,
  place: { messageIndex: number; partIndex: number },
  options: RenderChatOptions,
): Chunk {
  const part = expectObject(raw, where);
  const type = part["type"];
  if (type === "text" || type === "thinking" || type === "image" || type === "image_url")
    checkKnownKeys(part, PART_FIELDS[type], { path: where, noun: "field" });
  switch (type) {
    case "text": {
      const text = part["text"];
      if (typeof text !== "string") throw new InvalidArgumentError(`${where}.text`, "a string", text);
      return { kind: "text", text };
    }
    case "thinking": {
      const thinking = part["thinking"];
      if (typeof thinking !== "string")
        throw new InvalidArgumentError(`${where}.thinking`, "a string", thinking);
      const closed = part["closed"] ?? true;
      if (typeof closed !== "boolean") throw new InvalidArgumentError(`${where}.closed`, "a boolean", closed);
      return { kind: "think", thinking, closed };
    }
    case "image":
      return imagePart(part, where, place, options);
    case "image_url":
      return resolveImageUrl(part["image_url"], where, place, options);
    default:
      throw new InvalidArgumentError(
        `${where}.type`,
        '"text", "image_url", "image" or "thinking"',
        part["type"],
      );
  }
}

function resolveImageUrl(
  raw: unknown,
  where: string,
  place: { messageIndex: number; partIndex: number },
  options: RenderChatOptions,
): Chunk {
  if (isRecord(raw)) checkKnownKeys(raw, IMAGE_URL_FIELDS, { path: `${where}.image_url`, noun: "field" });
  const url = typeof raw === "string" ? raw : isRecord(raw) ? raw["url"] : undefined;
  if (typeof url !== "string") {
    throw new InvalidArgumentError(`${where}.image_url`, "a URL string or { url }", raw);
  }
  if (options.resolveImageSize !== undefined) {
    const size = options.resolveImageSize(url);
    return sizeOnlyChunk(size?.width, size?.height, `${where} (resolved size)`, place);
  }
  return fileChunk({ kind: "url", url }, place, options);
}

/** `{ type: "image" }` with bytes (`image`), a file (`path`), or only a size (`width`, `height`). */
function imagePart(
  part: Record<string, unknown>,
  where: string,
  place: { messageIndex: number; partIndex: number },
  options: RenderChatOptions,
): Chunk {
  const given = (["image", "path", "width"] as const).filter((k) => part[k] !== undefined);
  if (given.length !== 1 || (part["height"] !== undefined && given[0] !== "width")) {
    throw new InvalidArgumentError(
      where,
      "an image part with exactly one of image (bytes), path, or width and height",
      part,
    );
  }
  if (given[0] === "image") {
    if (!(part["image"] instanceof Uint8Array))
      throw new InvalidArgumentError(
        `${where}.image`,
        "a Uint8Array or Buffer of image file bytes",
        part["image"],
      );
    return fileChunk({ kind: "bytes", bytes: part["image"] }, place, options);
  }
  if (given[0] === "path") {
    if (typeof part["path"] !== "string" || part["path"].length === 0)
      throw new InvalidArgumentError(`${where}.path`, "an image file path", part["path"]);
    return fileChunk({ kind: "path", path: part["path"] }, place, options);
  }
  return sizeOnlyChunk(part["width"], part["height"], where, place);
}

/** An image part's file, read and checked by the render options' loader (default: loadImage's limits, no fetching). */
function fileChunk(
  ref: ImageRef,
  place: { messageIndex: number; partIndex: number },
  options: RenderChatOptions,
): Chunk {
  const file: LoadedImage = (options.loadImage ?? loadImage)(ref, place);
  return { kind: "image", image: { width: file.width, height: file.height, ...place, file } };
}

function sizeOnlyChunk(
  width: unknown,
  height: unknown,
  where: string,
  place: { messageIndex: number; partIndex: number },
): Chunk {
  for (const [name, value] of [
    ["width", width],
    ["height", height],
  ] as const) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${where}.${name}`, "a positive integer number of pixels", value);
    }
  }
  return { kind: "image", image: { width: width as number, height: height as number, ...place } };
}

function parseTools(raw: unknown): ToolDefinition[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new InvalidArgumentError("request.tools", "an array of function tools", raw);
  checkToolDefinitionKeys(raw, "request.tools");
  return raw.map((t, i) => {
    const where = `request.tools[${i}]`;
    const tool = expectObject(t, where);
    if ((tool["type"] ?? "function") !== "function") {
      throw new InvalidArgumentError(`${where}.type`, '"function"', tool["type"]);
    }
    const fn = expectObject(tool["function"], `${where}.function`);
    const name = fn["name"];
    if (typeof name !== "string") throw new InvalidArgumentError(`${where}.function.name`, "a string", name);
    const description = fn["description"] ?? "";
    if (typeof description !== "string") {
      throw new InvalidArgumentError(`${where}.function.description`, "a string", description);
    }
    const parameters = fn["parameters"] ?? {};
    if (!isRecord(parameters)) {
      throw new InvalidArgumentError(`${where}.function.parameters`, "a JSON Schema object", parameters);
    }
    return { name, description, parameters };
  });
}

function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new InvalidArgumentError(where, "an object", value);
  return value;
}

function optionalString(value: unknown, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new InvalidArgumentError(where, "a string", value);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
