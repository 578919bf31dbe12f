/**
 * The same rank table (o200k_base in Tekken layout) and pattern through our Tekken and through WASM
 * tiktoken (Rust fancy-regex + tiktoken's BPE: the reference). js-tiktoken runs the pattern with JS
 * RegExp semantics; where that differs from Rust is documented below.
 */
import { Tiktoken as JsTiktoken } from "js-tiktoken/lite";
import { Tiktoken as WasmTiktoken } from "tiktoken/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tekken } from "../../lib/tokenizer/tekken";
import { TEKKEN_PATTERN } from "../../lib/tokenizer/tekken-json";
import { multilingualDocuments, seededRandom } from "./multilingual-corpus";
import {
  O200K_NUM_SPECIAL_TOKENS,
  o200kJsTiktokenBpe,
  o200kTekkenJson,
  o200kTiktokenFile,
} from "./o200k-tekken";

let ours: Tekken;
let wasm: WasmTiktoken;

beforeAll(() => {
  ours = Tekken.fromJson(o200kTekkenJson(), "o200k-in-tekken-layout");
  wasm = new WasmTiktoken(o200kTiktokenFile(), {}, TEKKEN_PATTERN);
});

afterAll(() => wasm?.free());

/** The reference ids, shifted into Tekken id space. */
function reference(text: string): number[] {
  return Array.from(wasm.encode_ordinary(text), (rank) => rank + O200K_NUM_SPECIAL_TOKENS);
}

/** Where two id lists first differ, with the text around it, for a readable failure. */
function firstDifference(text: string, actual: number[], expected: number[]): string | undefined {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  if (i === actual.length && i === expected.length) return undefined;
  const around = (ids: number[]) => JSON.stringify(ours.decode(ids.slice(Math.max(0, i - 2), i + 3)));
  return `at token ${i} of ${JSON.stringify(text.slice(0, 40))}...: ours ${around(actual)} vs tiktoken ${around(expected)}`;
}

describe("Tekken vs WASM tiktoken on o200k in Tekken layout", () => {
  it("encodes a 1 MB generated multilingual corpus exactly like tiktoken and round-trips it", () => {
    const documents = multilingualDocuments(20260501, 1_000_000);
    const mismatches: string[] = [];
    let roundTripFailures = 0;
    for (const document of documents) {
      const ids = ours.encode(document);
      const difference = firstDifference(document, ids, reference(document));
      if (difference) mismatches.push(difference);
      if (ours.decode(ids) !== document) roundTripFailures++;
    }
    expect(documents.join("").length).toBeGreaterThanOrEqual(1_000_000);
    expect(mismatches).toEqual([]);
    expect(roundTripFailures).toBe(0);
  });

  it("encodes the whole corpus as one text like tiktoken (pieces across document joins)", () => {
    const text = multilingualDocuments(7, 200_000).join("");
    expect(firstDifference(text, ours.encode(text), reference(text))).toBeUndefined();
  });

  it("encodes long single pieces (runs of one character, long words) like tiktoken", () => {
    const random = seededRandom(5);
    const longWord = Array.from({ length: 2500 }, () =>
      String.fromCharCode(97 + Math.floor(random() * 26)),
    ).join("");
    const inputs = [
      "a".repeat(3000),
      "ab".repeat(1500),
      " ".repeat(3000),
      `${" ".repeat(2000)}word`,
      "\n".repeat(2000),
      "\r\n".repeat(1000),
      " \t".repeat(1500),
      "\u3000".repeat(1000),
      "7".repeat(2000),
      "!".repeat(2500),
      longWord,
      `The ${longWord.toUpperCase()} end`,
      "é".repeat(1500),
      "日本".repeat(800),
      "😀".repeat(700),
    ];
    for (const text of inputs) {
      expect(firstDifference(text, ours.encode(text), reference(text))).toBeUndefined();
      expect(ours.decode(ours.encode(text))).toBe(text);
    }
  });

  it("stays about linear on megabyte-long single pieces (one repeated character, one white-space run)", () => {
    const prose = multilingualDocuments(3, 1_000_000, { longRuns: false }).join("");
    const seconds = (text: string): number => {
      ours.encode(text); // warm up
      const start = performance.now();
      ours.encode(text);
      return performance.now() - start;
    };
    const proseMs = seconds(prose);
    for (const text of ["a".repeat(1_000_000), " ".repeat(1_000_000), "\n".repeat(1_000_000)]) {
      // Measured about 1-3x; a quadratic merge or regex backtracking would be thousands of times slower.
      expect(seconds(text) / proseMs).toBeLessThan(10);
    }
  });

  it("follows Rust's white space: U+0085 is \\s, U+FEFF is not, at every place in the pattern", () => {
    const samples = [
      "a\u0085b",
      "a\u0085\u0085 b",
      "x \u0085\n y",
      "end\u0085",
      "a\ufeffb",
      "a\ufeff\ufeff b",
      " \ufeff x",
      "\ufeff\n",
      "1\u00852\ufeff3",
      "word\u1680\u2009\u202f\u205f\u3000word",
      "v\u000bf\u000cline\u2028para\u2029end",
    ];
    for (const text of samples) {
      expect(firstDifference(text, ours.encode(text), reference(text))).toBeUndefined();
    }
  });
});

describe("js-tiktoken (JS RegExp semantics) vs WASM tiktoken (Rust semantics)", () => {
  it("disagrees exactly on the code points whose \\s membership differs: U+0085 and U+FEFF", () => {
    const js = new JsTiktoken(o200kJsTiktokenBpe());
    const jsIds = (text: string) => js.encode(text).map((rank) => rank + O200K_NUM_SPECIAL_TOKENS);
    // Every code point that JS \s and Rust's White_Space classify differently.
    const jsSpace = /^\s$/u;
    const rustSpace = new Set([
      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
      0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
    ]);
    const differing: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (jsSpace.test(String.fromCodePoint(cp)) !== rustSpace.has(cp)) differing.push(cp);
    }
    expect(differing).toEqual([0x85, 0xfeff]);

    // On those code points js-tiktoken's ids differ from the Rust reference (ours do not), e.g. for
    // "x \u0085." js-tiktoken gives ranks [87, 1322, 227, 13], tiktoken [87, 220, 126, 227, 13], and for
    // "1\ufeff\ufeff2" js-tiktoken gives [16, 5574, 5574, 17], tiktoken [16, 135153, 17].
    const disagreements: Array<{ codePoint: string; text: string }> = [];
    for (const cp of [...rustSpace, 0xfeff]) {
      const c = String.fromCodePoint(cp);
      for (const text of [`x ${c}.`, `a  ${c}  b`, `1${c}${c}2`, `a${c}b`, `end${c}`]) {
        expect(ours.encode(text)).toEqual(reference(text));
        const jsAgrees = JSON.stringify(jsIds(text)) === JSON.stringify(reference(text));
        if (!jsAgrees)
          disagreements.push({ codePoint: `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`, text });
      }
    }
    expect([...new Set(disagreements.map((d) => d.codePoint))]).toEqual(["U+0085", "U+FEFF"]);
  });
});
