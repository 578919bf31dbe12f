/**
 * OpenAI chat messages → the library's ChatMessage, field by field (only fields the library knows are
 * passed on): "developer" messages are system messages, tool-call ids are mapped to the model's form,
 * image URLs are fetched or passed through (media/image-urls.ts), and names the Mistral format does not
 * render are dropped.
 */
import type { AssistantToolCall, ChatMessage, ContentPart } from "../../chat/types";
import { badRequest } from "../errors";
import type { MediaLimits } from "../media/fetch-image";
import { imageUrlForLibrary } from "../media/image-urls";
import type { OpenAIContent, OpenAIMessage } from "./schemas";
import { toModelToolCallId } from "./tool-call-ids";

export async function toLibraryMessages(
  messages: readonly OpenAIMessage[],
  media: MediaLimits,
  signal: AbortSignal,
): Promise<ChatMessage[]> {
  const images = messages.reduce(
    (n, m) => n + (Array.isArray(m.content) ? m.content.filter((p) => p.type === "image_url").length : 0),
    0,
  );
  if (images > media.maxImages) {
    throw badRequest(
      `The request has ${images} images; this server takes at most ${media.maxImages} per request`,
      "messages",
      "too_many_images",
    );
  }
  // The first failure (a bad URL, an image that is too large) stops the other fetches.
  const fetches = new AbortController();
  const both = AbortSignal.any([signal, fetches.signal]);
  try {
    return await Promise.all(messages.map((m, i) => toLibraryMessage(m, `messages[${i}]`, media, both)));
  } catch (error) {
    fetches.abort(error);
    throw error;
  }
}

async function toLibraryMessage(
  m: OpenAIMessage,
  where: string,
  media: MediaLimits,
  signal: AbortSignal,
): Promise<ChatMessage> {
  const content = (c: OpenAIContent) => toLibraryContent(c, `${where}.content`, media, signal);
  switch (m.role) {
    case "system":
    case "developer":
      return { role: "system", content: await content(m.content) };
    case "user":
      return { role: "user", content: await content(m.content) };
    case "tool":
      return {
        role: "tool",
        tool_call_id: toModelToolCallId(m.tool_call_id),
        content: await content(m.content),
        ...(m.name != null ? { name: m.name } : {}),
      };
    case "assistant": {
      const toolCalls: AssistantToolCall[] | undefined = m.tool_calls?.map((call) => ({
        id: toModelToolCallId(call.id),
        type: "function",
        function: { name: call.function.name, arguments: call.function.arguments ?? null },
      }));
      return {
        role: "assistant",
        content: m.content == null ? null : await content(m.content),
        ...(m.reasoning_content != null ? { reasoning_content: m.reasoning_content } : {}),
        ...(m.reasoning != null ? { reasoning: m.reasoning } : {}),
        ...(toolCalls !== undefined && toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      };
    }
  }
}

async function toLibraryContent(
  content: OpenAIContent,
  where: string,
  media: MediaLimits,
  signal: AbortSignal,
): Promise<string | ContentPart[]> {
  if (typeof content === "string") return content;
  return Promise.all(
    content.map(async (part, i): Promise<ContentPart> => {
      switch (part.type) {
        case "text":
          return { type: "text", text: part.text };
        case "thinking":
          return {
            type: "thinking",
            thinking: part.thinking,
            ...(part.closed != null ? { closed: part.closed } : {}),
          };
        case "image_url": {
          const given = typeof part.image_url === "string" ? part.image_url : part.image_url.url;
          const url = await imageUrlForLibrary(given, media, `${where}[${i}].image_url`, signal);
          return { type: "image_url", image_url: { url } };
        }
      }
    }),
  );
}
