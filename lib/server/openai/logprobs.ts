/** Token log-probabilities in the chat format (`content: [{ token, logprob, bytes, top_logprobs }]`) and the legacy completions format. */
import type { TokenLogprob } from "../../generation/types";
import type { Tokenizer } from "../../tokenizer/types";

export interface ChatLogprobs {
  readonly content: {
    token: string;
    logprob: number;
    bytes: number[];
    top_logprobs: { token: string; logprob: number; bytes: number[] }[];
  }[];
  readonly refusal: null;
}

export interface CompletionLogprobs {
  readonly tokens: string[];
  readonly token_logprobs: number[];
  readonly top_logprobs: Record<string, number>[];
  readonly text_offset: number[];
}

/** The generated tokens' entries, without a final end-of-sequence token (it is not part of the text). */
export function visibleEntries(
  entries: readonly TokenLogprob[],
  tokenizer: Tokenizer,
): readonly TokenLogprob[] {
  const last = entries[entries.length - 1];
  return last !== undefined && last.id === tokenizer.eosId ? entries.slice(0, -1) : entries;
}

export function chatLogprobs(entries: readonly TokenLogprob[], tokenizer: Tokenizer): ChatLogprobs {
  const bytes = (id: number) => Array.from(tokenizer.tokenBytes(id));
  return {
    content: visibleEntries(entries, tokenizer).map((e) => ({
      token: e.token,
      logprob: e.logprob,
      bytes: bytes(e.id),
      top_logprobs: e.top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytes(t.id) })),
    })),
    refusal: null,
  };
}

/** `textOffset`: where the completion text starts in the returned text (the prompt's length with echo). */
export function completionLogprobs(
  entries: readonly TokenLogprob[],
  tokenizer: Tokenizer,
  textOffset: number,
): CompletionLogprobs {
  const visible = visibleEntries(entries, tokenizer);
  const offsets: number[] = [];
  let offset = textOffset;
  for (const e of visible) {
    offsets.push(offset);
    offset += tokenizer.decode([e.id]).length; // special tokens add no text
  }
  return {
    tokens: visible.map((e) => e.token),
    token_logprobs: visible.map((e) => e.logprob),
    top_logprobs: visible.map((e) => Object.fromEntries(e.top.map((t) => [t.token, t.logprob]))),
    text_offset: offsets,
  };
}
