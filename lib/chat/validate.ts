/**
 * The checks mistral-common's `MistralRequestValidatorV15` makes in `ValidationMode.test` (the mode
 * vLLM uses), from `protocol/instruct/validator.py`, plus the encoder-time refusals of
 * `InstructTokenizerBase.encode_instruct` and `InstructTokenizerV7.encode_assistant_message`.
 * Every failure is a ChatFormatError naming the offending message.
 */

import { ChatFormatError } from "../errors";
import {
  isEmptyContent,
  type Message,
  type ParsedChatRequest,
  type Role,
  type ToolDefinition,
} from "./messages";

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const TOOL_CALL_ID = /^[a-zA-Z0-9]{9}$/;

/** Roles allowed right after each role (`_validate_message_order`). */
const NEXT_ROLES: Readonly<Record<Role, readonly Role[]>> = {
  system: ["user", "assistant", "system"],
  user: ["assistant", "system", "user"],
  assistant: ["assistant", "user", "tool"],
  tool: ["assistant", "tool", "user"],
};

/**
 * `prepended`: how many messages the encoder put before the caller's own (the default system prompt), so
 * errors name messages by the caller's index.
 */
export function validateChatRequest(request: ParsedChatRequest, prepended = 0): void {
  const at = (i: number) => `messages[${i - prepended}]`;
  validateStructure(request.messages, request.continueFinalMessage, at);
  request.messages.forEach((message, i) => {
    validateMessageContent(message, at(i));
  });
  for (const [i, tool] of request.tools.entries()) validateTool(tool, `tools[${i}]`);
}

function validateStructure(
  messages: readonly Message[],
  continueFinal: boolean,
  at: (i: number) => string,
): void {
  const first = messages[0];
  const last = messages[messages.length - 1];
  if (first === undefined || last === undefined) {
    throw new ChatFormatError("a conversation must have at least one message");
  }
  if (messages.length === 1 && first.role !== "user" && first.role !== "system") {
    throw new ChatFormatError(
      `a conversation of one message must be a user or system message, not ${first.role}`,
    );
  }
  const lastIsPrefix = last.role === "assistant" && last.prefix;
  if (last.role === "assistant" && !continueFinal && !lastIsPrefix) {
    throw new ChatFormatError(
      "the last message is an assistant message: set continueFinalMessage (or the message's prefix) to continue it, or end with a user or tool message",
    );
  }
  if (continueFinal && last.role !== "assistant") {
    throw new ChatFormatError(`continueFinalMessage needs a final assistant message, not ${last.role}`);
  }
  if (continueFinal && lastIsPrefix) {
    throw new ChatFormatError(
      "continueFinalMessage and the final message's prefix both continue it: set only one (mistral-common refuses both)",
    );
  }
  messages.forEach((m, i) => {
    if (m.role === "assistant" && m.prefix && i !== messages.length - 1)
      throw new ChatFormatError(`${at(i)}: only the last message can have prefix: true`);
  });
  for (let i = 1; i < messages.length; i++) {
    const prev = messages[i - 1]!.role;
    const role = messages[i]!.role;
    if (!NEXT_ROLES[prev].includes(role)) {
      throw new ChatFormatError(`${at(i)}: unexpected role '${role}' after role '${prev}'`);
    }
  }
  validateToolResults(messages, at);
}

/**
 * `MistralRequestValidatorV13._validate_tool_calls_followed_by_tool_messages` (test mode). Like it,
 * the first message is not looked at (so tool calls of a leading assistant message have no results
 * to match); unlike it, a leading tool message is refused rather than let through.
 */
function validateToolResults(messages: readonly Message[], at: (i: number) => string): void {
  if (messages[0]?.role === "tool") {
    throw new ChatFormatError(`${at(0)}: a tool result must follow an assistant message with tool calls`);
  }
  const expected = new Set<string>();
  const observed = new Set<string>();
  messages.forEach((message, i) => {
    if (i === 0) return;
    if (message.role === "tool") {
      const id = message.toolCallId;
      if (id === null) throw new ChatFormatError(`${at(i)}: a tool message needs a tool_call_id`);
      if (observed.has(id))
        throw new ChatFormatError(`${at(i)}: duplicate tool call id ${id} in tool results`);
      if (!expected.has(id)) {
        throw new ChatFormatError(
          `${at(i)}: tool result for id ${id} does not answer a tool call of the preceding assistant message`,
        );
      }
      observed.add(id);
    } else if (message.role === "assistant") {
      if (expected.size !== observed.size) {
        throw new ChatFormatError(
          `${at(i)}: the previous assistant message made ${expected.size} tool call(s) but ${observed.size} result(s) followed`,
        );
      }
      expected.clear();
      observed.clear();
      for (const call of message.toolCalls ?? []) {
        if (expected.has(call.id)) {
          throw new ChatFormatError(`${at(i)}: duplicate tool call id ${call.id} in assistant message`);
        }
        expected.add(call.id);
      }
    }
  });
}

function validateMessageContent(message: Message, where: string): void {
  switch (message.role) {
    case "assistant":
      if (isEmptyContent(message.content) && (message.toolCalls?.length ?? 0) === 0) {
        throw new ChatFormatError(`${where}: an assistant message needs content, reasoning or tool calls`);
      }
      for (const [j, call] of (message.toolCalls ?? []).entries()) {
        if (!TOOL_CALL_ID.test(call.id)) {
          throw new ChatFormatError(
            `${where}.tool_calls[${j}]: tool call id was ${call.id} but must be 9 characters a-z, A-Z, 0-9`,
          );
        }
        checkFunctionName(call.name, `${where}.tool_calls[${j}].function.name`);
      }
      return;
    case "tool":
      if (message.name !== null) checkFunctionName(message.name, `${where}.name`);
      if (message.toolCallId !== null && !TOOL_CALL_ID.test(message.toolCallId)) {
        throw new ChatFormatError(
          `${where}: tool_call_id was ${message.toolCallId} but must be 9 characters a-z, A-Z, 0-9`,
        );
      }
      return;
    default:
      return;
  }
}

function validateTool(tool: ToolDefinition, where: string): void {
  checkFunctionName(tool.name, `${where}.function.name`);
  checkSchemaShape(tool.parameters, `${where}.function.parameters`);
}

function checkFunctionName(name: string, where: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new ChatFormatError(
      `${where}: function name was ${JSON.stringify(name)} but must be 1 to 64 characters a-z, A-Z, 0-9, _ or -`,
    );
  }
}

const JSON_SCHEMA_TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"];

/**
 * The most common ways a tool's parameters fail mistral-common's Draft-7 `check_schema`: a `type`
 * that is not a JSON Schema type, `properties` that is not an object, `required` that is not a list
 * of strings. (A full meta-schema check belongs to the JSON-schema module.)
 */
function checkSchemaShape(schema: Readonly<Record<string, unknown>>, where: string): void {
  const type = schema["type"];
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (types.length === 0 || !types.every((t) => typeof t === "string" && JSON_SCHEMA_TYPES.includes(t))) {
      throw new ChatFormatError(
        `${where}: invalid tool schema: type ${JSON.stringify(type)} is not a JSON Schema type`,
      );
    }
  }
  const properties = schema["properties"];
  if (
    properties !== undefined &&
    (typeof properties !== "object" || properties === null || Array.isArray(properties))
  ) {
    throw new ChatFormatError(`${where}: invalid tool schema: properties must be an object`);
  }
  const required = schema["required"];
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === "string"))) {
    throw new ChatFormatError(`${where}: invalid tool schema: required must be an array of strings`);
  }
}
