/** The tokenizer: Tekken (tekken.json), its streaming detokenizer, and the small BPE trainer. */

export { REQUIRED_SPECIAL_TOKENS, V15_SPECIAL_TOKEN_LAYOUT, v15SpecialTokens } from "./special-tokens.js";
export { StreamDecoder, type StreamDecoderTokenizer } from "./stream-decoder.js";
export { Tekken } from "./tekken.js";
export {
  TEKKEN_PATTERN,
  type TekkenJson,
  type TekkenJsonConfig,
  type TekkenJsonImage,
  type TekkenJsonModelSetting,
  type TekkenJsonSpecialToken,
  type TekkenJsonVocabEntry,
} from "./tekken-json.js";
export { TINY_CORPUS } from "./tiny-corpus.js";
export { type TrainTekkenOptions, trainTekken } from "./train.js";
export type {
  ModelSettingSpec,
  SpecialTokenPolicy,
  Tokenizer,
  TokenizerImageConfig,
} from "./types.js";
