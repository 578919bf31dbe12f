/**
 * The Tekken tokenizer (tekken.json) in the form llama.cpp's BPE tokenizer loads: `tokenizer.ggml.model`
 * "gpt2" with `tokenizer.ggml.pre` "tekken" (llama.cpp has that pre-split regex built in, and no "tekken"
 * tokenizer model of its own). Token ids are the runtime's: the special tokens first, then BPE rank r at
 * id numSpecial + r. GPT-2 BPE stores tokens as text, one character per byte (the printable Latin-1 bytes
 * stand for themselves, the other 68 bytes for U+0100 onwards), and needs the merge list that tiktoken-style
 * ranks imply: a token of rank r is the merge of the two parts byte-pair merging leaves when only ranks
 * below r may merge; merges are listed by r.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTekkenJson, type TekkenTables } from "../../../lib/tokenizer/parse-tekken-json";
import type { GgufValue } from "../gguf/gguf-format";

/** llama.cpp token types (llama_token_type). */
const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;

/** GPT-2's byte → character table. */
function byteCharacters(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) table.push(String.fromCodePoint(printable(b) ? b : next++));
  return table;
}

const BYTE_CHARACTERS = byteCharacters();

export function bytesToGpt2Text(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += BYTE_CHARACTERS[b]!;
  return text;
}

/** A byte string (char code = byte) for Map keys. */
function byteString(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/**
 * The two parts whose merge makes the token `piece` of rank `rank`: byte-pair merging of its bytes where only
 * pairs of rank < `rank` merge (lowest rank first, leftmost on a tie). Undefined when that leaves other than
 * two parts (a token BPE can never produce).
 */
export function lastMerge(
  piece: string,
  rank: number,
  ranks: ReadonlyMap<string, number>,
): [string, string] | undefined {
  const parts = Array.from(piece);
  for (;;) {
    let best = rank;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(parts[i]! + parts[i + 1]!);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    parts.splice(at, 2, parts[at]! + parts[at + 1]!);
  }
  return parts.length === 2 ? [parts[0]!, parts[1]!] : undefined;
}

export interface TekkenGgufVocab {
  readonly metadata: (readonly [string, GgufValue])[];
  readonly vocabSize: number;
  readonly mergeCount: number;
}

export function tekkenVocabFromTables(
  tables: TekkenTables,
  ids: { bos: number; eos: number; unk?: number },
): TekkenGgufVocab {
  const rankCount = tables.rankOffsets.length - 1;
  const rankBytes = (r: number) =>
    tables.rankBytes.subarray(tables.rankOffsets[r], tables.rankOffsets[r + 1]);
  const ranks = new Map<string, number>();
  for (let r = 0; r < rankCount; r++) ranks.set(byteString(rankBytes(r)), r);

  const tokens: string[] = [...tables.specialTokens];
  const types: number[] = tables.specialTokens.map(() => TOKEN_TYPE_CONTROL);
  const merges: string[] = [];
  for (let r = 0; r < rankCount; r++) {
    const bytes = rankBytes(r);
    tokens.push(bytesToGpt2Text(bytes));
    types.push(TOKEN_TYPE_NORMAL);
    if (bytes.length < 2) continue;
    const split = lastMerge(byteString(bytes), r, ranks);
    if (!split) continue;
    const text = (s: string) => bytesToGpt2Text(Uint8Array.from(s, (c) => c.charCodeAt(0)));
    merges.push(`${text(split[0])} ${text(split[1])}`);
  }
  if (tokens.length !== tables.vocabSize) {
    throw new Error(`tekken: ${tokens.length} tokens built, the file's vocabulary has ${tables.vocabSize}`);
  }
  return {
    vocabSize: tokens.length,
    mergeCount: merges.length,
    metadata: [
      ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
      ["tokenizer.ggml.pre", { type: "string", value: "tekken" }],
      ["tokenizer.ggml.tokens", { type: "string[]", value: tokens }],
      ["tokenizer.ggml.token_type", { type: "i32[]", value: types }],
      ["tokenizer.ggml.merges", { type: "string[]", value: merges }],
      ["tokenizer.ggml.bos_token_id", { type: "u32", value: ids.bos }],
      ["tokenizer.ggml.eos_token_id", { type: "u32", value: ids.eos }],
      ["tokenizer.ggml.unknown_token_id", { type: "u32", value: ids.unk ?? 0 }],
      ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
      ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ],
  };
}

export function readTekkenVocab(dir: string, ids: { bos: number; eos: number }): TekkenGgufVocab {
  const path = join(dir, "tekken.json");
  return tekkenVocabFromTables(parseTekkenJson(JSON.parse(readFileSync(path, "utf8")), path), ids);
}
