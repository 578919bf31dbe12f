/**
 * Builds small synthetic tekken.json objects for unit tests: the 256 single bytes, then `extra`
 * tokens (UTF-8 strings) at ranks 256, 257, ...
 */
import { v15SpecialTokens } from "../../lib/tokenizer/special-tokens";
import { TEKKEN_PATTERN, type TekkenJson } from "../../lib/tokenizer/tekken-json";

export interface SmallTekkenOptions {
  extra?: string[];
  numSpecialTokens?: number;
  /** default_vocab_size; by default all tokens are used. */
  vocabSize?: number;
  pattern?: string;
  version?: string;
}

export function smallTekkenJson(options: SmallTekkenOptions = {}): TekkenJson {
  const { extra = [], numSpecialTokens = 100, pattern = TEKKEN_PATTERN, version = "v15" } = options;
  const tokens = [
    ...Array.from({ length: 256 }, (_, b) => Buffer.from([b])),
    ...extra.map((s) => Buffer.from(s)),
  ];
  return {
    config: {
      pattern,
      num_vocab_tokens: tokens.length,
      default_vocab_size: options.vocabSize ?? numSpecialTokens + tokens.length,
      default_num_special_tokens: numSpecialTokens,
      version,
    },
    vocab: tokens.map((bytes, rank) => ({ rank, token_bytes: bytes.toString("base64"), token_str: null })),
    special_tokens: v15SpecialTokens(numSpecialTokens),
  };
}

/** A deep copy that tests may mutate into a malformed file. */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
