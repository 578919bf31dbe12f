/**
 * The encoder's internal message model: the request after shape checks, close to mistral-common's
 * own classes (TextChunk / ImageChunk / ThinkChunk, messages with `content` as string or chunks).
 */

import type { PromptImage } from "./types";

export type Chunk =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "image"; readonly image: PromptImage }
  | { readonly kind: "think"; readonly thinking: string; readonly closed: boolean };

export type Content = string | readonly Chunk[];

export interface ToolCallEntry {
  readonly id: string;
  readonly name: string;
  /** A JSON string as sent, or an object (dumped as is), or null (rendered as `{}`). */
  readonly arguments: string | Readonly<Record<string, unknown>> | null;
}

export type Message =
  | { readonly role: "system"; readonly content: Content }
  | { readonly role: "user"; readonly content: Content }
  | {
      readonly role: "assistant";
      readonly content: Content | null;
      readonly toolCalls: readonly ToolCallEntry[] | null;
      /** Mistral's `prefix`: the message is the start of the answer, rendered without `</s>` (last message only). */
      readonly prefix: boolean;
    }
  | {
      readonly role: "tool";
      readonly content: Content;
      readonly toolCallId: string | null;
      readonly name: string | null;
    };

export type Role = Message["role"];

/** A tool definition as mistral-common dumps it (`strict` dropped, missing fields defaulted). */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface ParsedChatRequest {
  readonly messages: readonly Message[];
  readonly tools: readonly ToolDefinition[];
  readonly reasoningEffort: string | null;
  readonly continueFinalMessage: boolean;
}

export function isEmptyContent(content: Content | null): boolean {
  return content === null || content.length === 0;
}
