import { expect } from "vitest";
import { renderChat } from "../../lib/chat/index";
import type { ChatRequest, RenderChatOptions, RenderedChat } from "../../lib/chat/types";
import { ByteTokenizer, tokenizeGolden } from "../helpers/byte-tokenizer";

export const tokenizer = new ByteTokenizer();

export function render(request: ChatRequest, options?: RenderChatOptions, tok = tokenizer): RenderedChat {
  return renderChat(tok, request, options);
}

/** The rendered prompt equals the golden string, and its ids equal an independent tokenization of it. */
export function expectGolden(rendered: RenderedChat, golden: string): void {
  expect(rendered.text).toBe(golden);
  expect(rendered.tokens).toEqual(tokenizeGolden(golden));
}

export const NONE_SETTINGS = '[MODEL_SETTINGS]{"reasoning_effort": "none"}[/MODEL_SETTINGS]';
export const HIGH_SETTINGS = '[MODEL_SETTINGS]{"reasoning_effort": "high"}[/MODEL_SETTINGS]';
