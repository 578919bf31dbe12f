/**
 * A real 200k rank table (js-tiktoken's o200k_base) rearranged into Tekken layout, plus the same table
 * in the input formats of js-tiktoken and WASM tiktoken, so all three encoders run one rank table
 * with one pattern. o200k's ranks are kept as they are (its ranks 0..255 are single bytes, though not
 * in byte order; Tekken's encoder only needs rank -> bytes).
 */
import o200k from "js-tiktoken/ranks/o200k_base";
import { v15SpecialTokens } from "../../lib/tokenizer/special-tokens";
import { TEKKEN_PATTERN, type TekkenJson } from "../../lib/tokenizer/tekken-json";

export const O200K_NUM_SPECIAL_TOKENS = 1000;

let cachedRanks: string[] | undefined;

/** Base64 bytes of every o200k rank, indexed by rank. */
export function o200kRanksBase64(): string[] {
  if (cachedRanks) return cachedRanks;
  const ranks: string[] = [];
  // js-tiktoken's compressed format: lines of "<anything> <first rank> <b64> <b64> ..." with consecutive ranks.
  for (const line of o200k.bpe_ranks.split("\n")) {
    if (line === "") continue;
    const [, offset, ...tokens] = line.split(" ");
    const first = Number(offset);
    tokens.forEach((token, i) => {
      ranks[first + i] = token;
    });
  }
  for (let r = 0; r < ranks.length; r++)
    if (ranks[r] === undefined) throw new Error(`o200k has no rank ${r}`);
  cachedRanks = ranks;
  return ranks;
}

/** o200k as a v15 tekken.json object: ids = rank + 1000, the Tekken pattern, all ranks used. */
export function o200kTekkenJson(pattern = TEKKEN_PATTERN): TekkenJson {
  const ranks = o200kRanksBase64();
  return {
    config: {
      pattern,
      num_vocab_tokens: ranks.length,
      default_vocab_size: ranks.length + O200K_NUM_SPECIAL_TOKENS,
      default_num_special_tokens: O200K_NUM_SPECIAL_TOKENS,
      version: "v15",
    },
    vocab: ranks.map((token_bytes, rank) => ({ rank, token_bytes, token_str: null })),
    special_tokens: v15SpecialTokens(O200K_NUM_SPECIAL_TOKENS),
  };
}

/** The table as a `.tiktoken` file ("<b64> <rank>" lines), the input of WASM tiktoken's constructor. */
export function o200kTiktokenFile(): string {
  return o200kRanksBase64()
    .map((b64, rank) => `${b64} ${rank}`)
    .join("\n");
}

/** The table in js-tiktoken's `TiktokenBPE` shape with the given pattern and no special tokens. */
export function o200kJsTiktokenBpe(pattern = TEKKEN_PATTERN): {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
} {
  return { pat_str: pattern, special_tokens: {}, bpe_ranks: o200k.bpe_ranks };
}
