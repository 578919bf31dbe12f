/**
 * A small, deterministic byte-level BPE trainer that writes a complete v15 tekken.json object. Used to
 * make the tiny test model's tokenizer; not meant for large corpora.
 *
 * Ranks 0..255 are the single bytes in order. Each step merges the adjacent token pair that occurs
 * most often inside the corpus's pre-split pieces (ties: the pair with the smaller left rank, then
 * the smaller right rank) and gives the joined bytes the next rank.
 */
import { InvalidArgumentError } from "../errors";
import { compileRustPattern } from "./rust-regex";
import { V15_SPECIAL_TOKEN_LAYOUT, v15SpecialTokens } from "./special-tokens";
import { TEKKEN_PATTERN, type TekkenJson, type TekkenJsonVocabEntry } from "./tekken-json";

export interface TrainTekkenOptions {
  corpus: string;
  /** How many merged tokens to learn (fewer if the corpus runs out of pairs). */
  numMerges: number;
  /** Pre-split pattern in Rust regex syntax; the Tekken pattern by default. */
  pattern?: string;
  version?: "v15";
  /** `default_vocab_size`; by default every learned token is used (numSpecialTokens + 256 + merges). */
  vocabSize?: number;
  numSpecialTokens?: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function trainTekken(options: TrainTekkenOptions): TekkenJson {
  const { corpus, numMerges, pattern = TEKKEN_PATTERN, version = "v15", numSpecialTokens = 1000 } = options;
  if (typeof corpus !== "string") throw new InvalidArgumentError("options.corpus", "a string", corpus);
  if (!Number.isInteger(numMerges) || numMerges < 0) {
    throw new InvalidArgumentError("options.numMerges", "a non-negative integer", numMerges);
  }
  if (version !== "v15") throw new InvalidArgumentError("options.version", '"v15"', version);
  const minSpecial = Math.max(...V15_SPECIAL_TOKEN_LAYOUT.map(([rank]) => rank)) + 1;
  if (!Number.isInteger(numSpecialTokens) || numSpecialTokens < minSpecial) {
    throw new InvalidArgumentError(
      "options.numSpecialTokens",
      `an integer >= ${minSpecial}`,
      numSpecialTokens,
    );
  }
  let splitter: RegExp;
  try {
    splitter = compileRustPattern(pattern);
  } catch {
    throw new InvalidArgumentError("options.pattern", "a pattern that compiles", pattern);
  }

  const tokens = learnMerges(countPieces(corpus, splitter), numMerges);
  const maxVocabSize = numSpecialTokens + tokens.length;
  const vocabSize = options.vocabSize ?? maxVocabSize;
  if (!Number.isInteger(vocabSize) || vocabSize < numSpecialTokens + 256 || vocabSize > maxVocabSize) {
    throw new InvalidArgumentError(
      "options.vocabSize",
      `an integer in [${numSpecialTokens + 256}, ${maxVocabSize}] (specials + learned tokens)`,
      vocabSize,
    );
  }

  return {
    config: {
      pattern,
      num_vocab_tokens: tokens.length,
      default_vocab_size: vocabSize,
      default_num_special_tokens: numSpecialTokens,
      version,
    },
    vocab: tokens.map((bytes, rank) => vocabEntry(rank, bytes)),
    special_tokens: v15SpecialTokens(numSpecialTokens),
    image: { image_patch_size: 14, max_image_size: 1540, spatial_merge_size: 2 },
    model_settings_builder: {
      reasoning_effort: { type: "enum", values: ["none", "high"], accepts_none: true, default: "none" },
    },
  };
}

function vocabEntry(rank: number, bytes: string): TekkenJsonVocabEntry {
  const buffer = Buffer.from(bytes, "latin1");
  let tokenStr: string | null;
  try {
    tokenStr = strictUtf8.decode(buffer);
  } catch {
    tokenStr = null;
  }
  return { rank, token_bytes: buffer.toString("base64"), token_str: tokenStr };
}

/** Distinct pre-split pieces of the corpus with their counts, in order of first appearance. */
function countPieces(corpus: string, splitter: RegExp): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of corpus.matchAll(splitter)) {
    const piece = match[0];
    if (piece !== "") counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  return counts;
}

/** Returns every token's bytes (as a latin1 byte string) by rank: the 256 bytes, then the merges. */
function learnMerges(pieces: Map<string, number>, numMerges: number): string[] {
  const tokens: string[] = [];
  for (let byte = 0; byte < 256; byte++) tokens.push(String.fromCharCode(byte));
  const rankOf = new Map(tokens.map((bytes, rank) => [bytes, rank]));

  const words: number[][] = [];
  const wordCounts: number[] = [];
  for (const [piece, count] of pieces) {
    words.push([...Buffer.from(piece, "utf8")]);
    wordCounts.push(count);
  }

  // Pair key = left * stride + right; ordering keys orders pairs by (left, right).
  const stride = 256 + numMerges + 1;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWord = (w: number, sign: 1 | -1): void => {
    const word = words[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * stride + word[i + 1]!;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * wordCounts[w]!);
      if (sign > 0) {
        const set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, new Set([w]));
        else set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addWord(w, 1);

  let learned = 0;
  while (learned < numMerges) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && count > 0 && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestCount <= 0) break;
    const left = Math.floor(bestKey / stride);
    const right = bestKey - left * stride;
    const bytes = tokens[left]! + tokens[right]!;
    // Two different pairs can spell the same bytes (ab+c, a+bc): reuse the existing token then.
    let merged = rankOf.get(bytes);
    if (merged === undefined) {
      merged = tokens.length;
      tokens.push(bytes);
      rankOf.set(bytes, merged);
      learned++;
    }
    for (const w of pairWords.get(bestKey) ?? []) {
      addWord(w, -1);
      words[w] = mergePair(words[w]!, left, right, merged);
      addWord(w, 1);
    }
    pairWords.delete(bestKey);
    pairCounts.delete(bestKey);
  }
  return tokens;
}

/** Replaces every non-overlapping (left, right), scanning left to right, by `merged`. */
function mergePair(word: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (word[i] === left && word[i + 1] === right) {
      out.push(merged);
      i++;
    } else {
      out.push(word[i]!);
    }
  }
  return out;
}
