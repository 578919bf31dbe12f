/**
 * The generated checkpoints' tekken.json: a real byte-level BPE learned from the built-in corpus, with every
 * v15 special token. When the model's vocabulary is larger than what the corpus can teach (the real-size
 * presets), the rest is filled with distinct filler tokens (bytes 0xFF 0xFE + index, never valid UTF-8, so
 * BPE over real text never produces them), keeping every model id decodable.
 */

import type { TekkenJson, TekkenJsonImage } from "../tokenizer/tekken-json";
import { TINY_CORPUS } from "../tokenizer/tiny-corpus";
import { trainTekken } from "../tokenizer/train";

const NUM_SPECIAL_TOKENS = 1000;

/** `image`: the tokenizer's image block (the generated checkpoints take their vision tower's patch and image size). */
export function makeTinyTekken(vocabSize: number, image?: TekkenJsonImage): TekkenJson {
  const wanted = vocabSize - NUM_SPECIAL_TOKENS - 256;
  if (wanted < 0) throw new RangeError(`vocabulary ${vocabSize} is smaller than 1000 specials + 256 bytes`);
  const tekken = trainTekken({
    corpus: TINY_CORPUS,
    numMerges: wanted,
    numSpecialTokens: NUM_SPECIAL_TOKENS,
  });
  const vocab = [...tekken.vocab];
  for (let rank = vocab.length; rank < vocabSize - NUM_SPECIAL_TOKENS; rank++) {
    const filler = Buffer.from([0xff, 0xfe, (rank >> 16) & 0xff, (rank >> 8) & 0xff, rank & 0xff]);
    vocab.push({ rank, token_bytes: filler.toString("base64"), token_str: null });
  }
  return {
    ...tekken,
    config: { ...tekken.config, num_vocab_tokens: vocab.length, default_vocab_size: vocabSize },
    vocab,
    ...(image !== undefined ? { image } : {}),
  };
}
