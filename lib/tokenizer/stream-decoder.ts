/**
 * Incremental detokenizer: push ids as they are sampled, get back the text they complete. A UTF-8
 * character split across tokens is held back until its last byte arrives, so a delta never ends in
 * half a character. The concatenated deltas plus `flush()` equal `tokenizer.decode(allIds, policy)`.
 */
import { InvalidArgumentError } from "../errors";
import type { SpecialTokenPolicy, Tokenizer } from "./types";

export type StreamDecoderTokenizer = Pick<Tokenizer, "tokenBytes" | "isSpecial" | "specialString">;

export class StreamDecoder {
  private readonly keepSpecial: boolean;
  /** `stream: true` buffers an incomplete sequence at the end; ignoreBOM keeps a leading U+FEFF. */
  private utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(
    private readonly tokenizer: StreamDecoderTokenizer,
    options?: { specialTokens?: SpecialTokenPolicy },
  ) {
    const policy = options?.specialTokens ?? "skip";
    if (policy !== "skip" && policy !== "keep") {
      throw new InvalidArgumentError("options.specialTokens", '"skip" or "keep"', policy);
    }
    this.keepSpecial = policy === "keep";
  }

  /** Adds one id or several; returns the text that is now complete (possibly ""). */
  push(ids: number | ArrayLike<number>): string {
    if (typeof ids === "number") return this.pushOne(ids);
    let text = "";
    for (let i = 0; i < ids.length; i++) text += this.pushOne(ids[i]!);
    return text;
  }

  /** Ends the stream: bytes of an unfinished character come out as U+FFFD. The decoder can be reused. */
  flush(): string {
    return this.utf8.decode();
  }

  private pushOne(id: number): string {
    if (this.tokenizer.isSpecial(id)) {
      // A special token ends the current run of bytes, as in Tokenizer.decode.
      const pending = this.utf8.decode();
      return this.keepSpecial ? pending + this.tokenizer.specialString(id) : pending;
    }
    return this.utf8.decode(this.tokenizer.tokenBytes(id), { stream: true });
  }
}
