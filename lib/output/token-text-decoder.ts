/**
 * Incremental detokenizer: token ids in, text pieces and special tokens out. Bytes of ordinary tokens
 * go through one streaming UTF-8 decoder, so a character split across tokens is emitted whole once
 * its last byte arrives and never half. A special token, or the end, flushes the decoder: bytes left
 * incomplete there become U+FFFD, as decoding that run of tokens on its own would give.
 */

import type { Tokenizer } from "../tokenizer/types";
import type { OutputPiece } from "./types";

export class TokenTextDecoder {
  private decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(private readonly tokenizer: Tokenizer) {}

  push(id: number): OutputPiece[] {
    if (this.tokenizer.isSpecial(id)) {
      const pieces = this.finish();
      pieces.push({ kind: "special", id });
      return pieces;
    }
    const text = this.decoder.decode(this.tokenizer.tokenBytes(id), { stream: true });
    return text.length > 0 ? [{ kind: "text", text }] : [];
  }

  /** Flushes bytes still waiting for the rest of their character. */
  finish(): OutputPiece[] {
    const text = this.decoder.decode();
    return text.length > 0 ? [{ kind: "text", text }] : [];
  }
}
