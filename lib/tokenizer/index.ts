/** The tokenizer: Tekken (tekken.json), its streaming detokenizer, and the small BPE trainer. */

export { REQUIRED_SPECIAL_TOKENS, V15_SPECIAL_TOKEN_LAYOUT, v15SpecialTokens } from "./special-tokens";
export { StreamDecoder, type StreamDecoderTokenizer } from "./stream-decoder";
export { Tekken } from "./tekken";
export {
  TEKKEN_PATTERN,
  type TekkenJson,
  type TekkenJsonConfig,
  type TekkenJsonImage,
  type TekkenJsonModelSetting,
  type TekkenJsonSpecialToken,
  type TekkenJsonVocabEntry,
} from "./tekken-json";
export { TINY_CORPUS } from "./tiny-corpus";
export { type TrainTekkenOptions, trainTekken } from "./train";
export type {
  ModelSettingSpec,
  SpecialTokenPolicy,
  Tokenizer,
  TokenizerImageConfig,
} from "./types";
