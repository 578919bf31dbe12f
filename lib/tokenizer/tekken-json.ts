/**
 * The on-disk shape of tekken.json (mistral-common `tokens/tokenizers/tekken.py`), as written by the
 * trainer and read (and validated) by the loader.
 */

/** The pre-split pattern every Tekken file ships (o200k's minus contractions, single-digit numbers). */
export const TEKKEN_PATTERN =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|" +
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|" +
  "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export interface TekkenJsonConfig {
  pattern: string;
  num_vocab_tokens: number;
  default_vocab_size: number;
  default_num_special_tokens: number;
  version: string;
}

export interface TekkenJsonVocabEntry {
  rank: number;
  /** The token's bytes, base64. */
  token_bytes: string;
  /** The bytes as UTF-8 text, or null when they are not valid UTF-8. Informational only. */
  token_str: string | null;
}

export interface TekkenJsonSpecialToken {
  rank: number;
  token_str: string;
  is_control: boolean;
}

export interface TekkenJsonImage {
  image_patch_size: number;
  max_image_size: number;
  spatial_merge_size: number;
}

export interface TekkenJsonModelSetting {
  type: "enum";
  values: string[];
  accepts_none: boolean;
  default: string | null;
}

export interface TekkenJson {
  config: TekkenJsonConfig;
  vocab: TekkenJsonVocabEntry[];
  special_tokens: TekkenJsonSpecialToken[];
  image?: TekkenJsonImage;
  model_settings_builder?: Record<string, TekkenJsonModelSetting>;
}
