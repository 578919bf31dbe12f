/**
 * Special-token names and the layout used when this library *writes* a tekken.json (trainer, test
 * fixtures). Loading never relies on these ranks: ids are always resolved by string from the file.
 */
import type { TekkenJsonSpecialToken } from "./tekken-json";

/** Tokens every file must define (bos/eos/unk/pad ids). */
export const REQUIRED_SPECIAL_TOKENS = ["<s>", "</s>", "<unk>", "<pad>"] as const;

/** Name given to an unnamed special slot. */
export function fillerSpecialToken(rank: number): string {
  return `<SPECIAL_${rank}>`;
}

/**
 * Named special tokens of a v15 file at their documented ranks (docs/model.md#special-tokens: ranks 0..19 are
 * mistral-common's fixed list; the later ones follow its test layout).
 */
export const V15_SPECIAL_TOKEN_LAYOUT: ReadonlyArray<readonly [rank: number, tokenStr: string]> = [
  [0, "<unk>"],
  [1, "<s>"],
  [2, "</s>"],
  [3, "[INST]"],
  [4, "[/INST]"],
  [5, "[AVAILABLE_TOOLS]"],
  [6, "[/AVAILABLE_TOOLS]"],
  [7, "[TOOL_RESULTS]"],
  [8, "[/TOOL_RESULTS]"],
  [9, "[TOOL_CALLS]"],
  [10, "[IMG]"],
  [11, "<pad>"],
  [12, "[IMG_BREAK]"],
  [13, "[IMG_END]"],
  [14, "[PREFIX]"],
  [15, "[MIDDLE]"],
  [16, "[SUFFIX]"],
  [17, "[SYSTEM_PROMPT]"],
  [18, "[/SYSTEM_PROMPT]"],
  [19, "[TOOL_CONTENT]"],
  [24, "[AUDIO]"],
  [25, "[BEGIN_AUDIO]"],
  [32, "[ARGS]"],
  [33, "[CALL_ID]"],
  [35, "[THINK]"],
  [36, "[/THINK]"],
  [37, "[MODEL_SETTINGS]"],
  [38, "[/MODEL_SETTINGS]"],
];

/** The full special_tokens list of a v15 file with `numSpecialTokens` slots (unnamed ones filled). */
export function v15SpecialTokens(numSpecialTokens: number): TekkenJsonSpecialToken[] {
  const named = new Map(V15_SPECIAL_TOKEN_LAYOUT);
  const tokens: TekkenJsonSpecialToken[] = [];
  for (let rank = 0; rank < numSpecialTokens; rank++) {
    tokens.push({ rank, token_str: named.get(rank) ?? fillerSpecialToken(rank), is_control: true });
  }
  return tokens;
}
