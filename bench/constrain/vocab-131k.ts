/**
 * The 131,072-token vocabulary the constrained-decoding benchmarks run on: o200k's first 130,072 ranks in
 * Tekken layout plus 1000 special tokens (the real Tekken vocabulary's size and layout).
 */
import { Tekken } from "../../lib/tokenizer/tekken";
import { O200K_NUM_SPECIAL_TOKENS, o200kTekkenJson } from "../../test/tokenizer/o200k-tekken";

export const VOCAB = 131_072;

export function tokenizer131k(): Tekken {
  const json = o200kTekkenJson();
  const ranks = VOCAB - O200K_NUM_SPECIAL_TOKENS;
  return Tekken.fromJson({
    ...json,
    config: { ...json.config, num_vocab_tokens: ranks, default_vocab_size: VOCAB },
    vocab: json.vocab.slice(0, ranks),
  });
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;
