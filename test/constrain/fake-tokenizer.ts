/**
 * A small Tokenizer for mask tests: 16 special tokens (ids 0–15, the ones constrained decoding uses named),
 * the 256 single bytes, then multi-byte tokens chosen to cross JSON structure and split UTF-8 characters.
 */
import type { Tokenizer } from "../../lib/tokenizer/types";

const SPECIALS = [
  "<unk>",
  "<s>",
  "</s>",
  "[INST]",
  "[/INST]",
  "[TOOL_CALLS]",
  "[ARGS]",
  "[THINK]",
  "[/THINK]",
];
const NUM_SPECIAL = 16;
const enc = new TextEncoder();

const MULTI: Uint8Array[] = [
  ...[
    '{"',
    '"}',
    '",',
    '":',
    '": "',
    '", "',
    ' "',
    "\n  ",
    "  ",
    "[{",
    "}]",
    "},",
    "],",
    '"]',
    '["',
    "true",
    "false",
    "null",
    "nul",
    "12",
    "-0",
    "0.",
    ".5",
    "e+",
    "1e",
    "00",
    "name",
    '"name"',
    'name":',
    "ab",
    "abc",
    "hello world",
    "\\u00e9",
    "\\u",
    "\\n",
    '\\"',
    "\\",
    "é",
    "日本",
    "🙂",
    '"}]}',
    '"}}',
    'a"',
    '"é"',
    "get_weather",
    "get",
    "_weather",
    "x\u0001",
  ].map((s) => enc.encode(s)),
  // Split characters: the first two bytes of "€" (E2 82 AC), its last byte, and a lone continuation.
  Uint8Array.from([0xe2, 0x82]),
  Uint8Array.from([0xac]),
  Uint8Array.from([0xac, 0x22]),
  Uint8Array.from([0xf0, 0x9f]),
  Uint8Array.from([0x99, 0x82, 0x22, 0x7d]),
  Uint8Array.from([0xed, 0xa0, 0x80]), // an encoded surrogate: never valid
  Uint8Array.from([0xc0, 0x80]), // overlong: never valid
];

export class FakeTokenizer implements Tokenizer {
  readonly numSpecialTokens = NUM_SPECIAL;
  readonly vocabSize = NUM_SPECIAL + 256 + MULTI.length;
  readonly version = "v15";
  readonly bosId = 1;
  readonly eosId = 2;
  readonly padId = 0;
  readonly unkId = 0;
  readonly image = undefined;
  readonly modelSettings = {};

  encode(): number[] {
    throw new Error("not used");
  }
  decode(ids: ArrayLike<number>): string {
    const parts: number[] = [];
    for (const id of Array.from(ids)) parts.push(...this.tokenBytes(id));
    return new TextDecoder().decode(Uint8Array.from(parts));
  }
  tokenBytes(id: number): Uint8Array {
    if (id < NUM_SPECIAL) return enc.encode(SPECIALS[id] ?? `<SPECIAL_${id}>`);
    if (id < NUM_SPECIAL + 256) return Uint8Array.of(id - NUM_SPECIAL);
    return MULTI[id - NUM_SPECIAL - 256]!;
  }
  specialId(s: string): number {
    const id = this.findSpecialId(s);
    if (id === undefined) throw new Error(s);
    return id;
  }
  findSpecialId(s: string): number | undefined {
    const i = SPECIALS.indexOf(s);
    return i < 0 ? undefined : i;
  }
  isSpecial(id: number): boolean {
    return id < NUM_SPECIAL;
  }
  specialString(id: number): string {
    return SPECIALS[id] ?? `<SPECIAL_${id}>`;
  }
  /** Id of the single-byte token for `b`. */
  byteId(b: number): number {
    return NUM_SPECIAL + b;
  }
}
