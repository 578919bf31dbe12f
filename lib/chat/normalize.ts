/**
 * mistral-common's `InstructRequestNormalizerV15` (`protocol/instruct/normalize.py`): consecutive
 * user messages are merged (texts joined by "\n\n"), consecutive assistant messages too (tool calls
 * concatenated), adjacent text parts inside one message are joined with nothing, system and tool
 * messages stay separate, and each block of tool results is reordered to follow the order of the
 * calls it answers.
 */

import type { Chunk, Content, Message, ToolCallEntry } from "./messages";

const MESSAGE_JOIN = "\n\n";
const CHUNK_JOIN = "";

export function normalizeMessages(messages: readonly Message[]): Message[] {
  const out: Message[] = [];
  const latestCallIds: string[] = [];
  let group: Message[] = [];

  const flushGroup = (): void => {
    const role = group[0]?.role;
    if (role === undefined) return;
    if (role === "assistant") {
      const merged = mergeAssistant(group);
      out.push(merged);
      for (const call of merged.role === "assistant" ? (merged.toolCalls ?? []) : [])
        latestCallIds.push(call.id);
    } else if (role === "user") {
      out.push({ role: "user", content: aggregateContents(group.map((m) => m.content as Content)) });
    } else if (role === "tool") {
      out.push(...sortToolResults(group.map(normalizeSingle), latestCallIds));
      latestCallIds.length = 0;
    } else {
      out.push(...group.map(normalizeSingle));
    }
    group = [];
  };

  for (const message of messages) {
    if (group.length > 0 && group[0]!.role !== message.role) flushGroup();
    group.push(message);
  }
  flushGroup();
  return out;
}

function normalizeSingle(message: Message): Message {
  return { ...message, content: aggregateContents([message.content]) } as Message;
}

function mergeAssistant(messages: readonly Message[]): Message {
  const toolCalls: ToolCallEntry[] = [];
  for (const m of messages) if (m.role === "assistant" && m.toolCalls) toolCalls.push(...m.toolCalls);
  const content = aggregateContents(messages.map((m) => m.content));
  const prefix = messages.some((m) => m.role === "assistant" && m.prefix);
  return { role: "assistant", content, toolCalls: toolCalls.length > 0 ? toolCalls : null, prefix };
}

/** `_aggregate_content_chunks_impl`: texts coalesced, non-text chunks kept in place; all-text gives a string. */
export function aggregateContents(contents: readonly (Content | null)[]): Content {
  const chunks: Chunk[] = [];
  let texts: string[] = [];
  const flushText = (): void => {
    if (texts.length > 0) chunks.push({ kind: "text", text: texts.join("") });
    texts = [];
  };
  for (const content of contents) {
    let needsMessageJoin = texts.length > 0;
    if (content === null || content.length === 0) continue;
    if (typeof content === "string") {
      texts.push((needsMessageJoin ? MESSAGE_JOIN : "") + content);
      continue;
    }
    for (const chunk of content) {
      if (chunk.kind !== "text") {
        flushText();
        chunks.push(chunk);
        continue;
      }
      if (chunk.text.length === 0) continue;
      const join = texts.length === 0 ? "" : needsMessageJoin ? MESSAGE_JOIN : CHUNK_JOIN;
      texts.push(join + chunk.text);
      needsMessageJoin = false;
    }
  }
  if (chunks.length === 0) return texts.join("");
  flushText();
  return chunks;
}

/** `_inplace_sort_tool_messages`: by position of the answered call, then by position among the results. */
function sortToolResults(results: Message[], latestCallIds: readonly string[]): Message[] {
  const callIndex = new Map<string, number>();
  latestCallIds.forEach((id, i) => {
    callIndex.set(id, i);
  });
  const resultIndex = new Map<string | null, number>();
  results.forEach((m, i) => {
    resultIndex.set(toolCallId(m), i);
  });
  const key = (m: Message): [number, number] => [
    callIndex.get(toolCallId(m) ?? "null") ?? Number.POSITIVE_INFINITY,
    resultIndex.get(toolCallId(m)) ?? 0,
  ];
  return [...results].sort((a, b) => {
    const [a0, a1] = key(a);
    const [b0, b1] = key(b);
    return a0 !== b0 ? a0 - b0 : a1 - b1;
  });
}

function toolCallId(m: Message): string | null {
  return m.role === "tool" ? m.toolCallId : null;
}
