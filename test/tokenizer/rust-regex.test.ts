import { describe, expect, it } from "vitest";
import {
  compileRustPattern,
  PatternTranslationError,
  translateRustPattern,
} from "../../lib/tokenizer/rust-regex";
import { TEKKEN_PATTERN } from "../../lib/tokenizer/tekken-json";

/** The 25 code points with Unicode's White_Space property (Rust's `\s`). */
const WHITE_SPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

function matchingCodePoints(pattern: string): number[] {
  const re = new RegExp(`^(?:${translateRustPattern(pattern)})$`, "u");
  const found: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (re.test(String.fromCodePoint(cp))) found.push(cp);
  }
  return found;
}

describe("translateRustPattern", () => {
  it("makes \\s match exactly Unicode White_Space (JS \\s adds U+FEFF and lacks U+0085)", () => {
    expect(matchingCodePoints("\\s")).toEqual(WHITE_SPACE);
  });

  it("makes \\S and [^\\s...] the exact complements", () => {
    expect(matchingCodePoints("\\S").length).toBe(0x110000 - 0x800 - WHITE_SPACE.length);
    const re = compileRustPattern("[^\\s\\p{L}]");
    expect("\u0085".match(re)).toBeNull();
    expect("\ufeff".match(re)?.[0]).toBe("\ufeff");
  });

  it("splits with Rust's meaning of the Tekken pattern on \\s+(?!\\S)", () => {
    const pieces = (text: string) => [...text.matchAll(compileRustPattern(TEKKEN_PATTERN))].map((m) => m[0]);
    expect(pieces("a   b")).toEqual(["a", "  ", " b"]);
    expect(pieces("x \u0085.")).toEqual(["x", " ", "\u0085", "."]);
    expect(pieces("1\ufeff\ufeff2")).toEqual(["1", "\ufeff\ufeff", "2"]);
    expect(pieces("Hello, World!\r\n\r\n  42")).toEqual([
      "Hello",
      ",",
      " World",
      "!\r\n\r\n",
      " ",
      " ",
      "4",
      "2",
    ]);
  });

  it("translates ., \\d, \\w, \\A, \\z, \\pL, \\x{..} and (?P<name>..) to their Rust meaning", () => {
    expect(compileRustPattern(".+").exec("a\rb\u2028c\nd")?.[0]).toBe("a\rb\u2028c");
    expect(matchingCodePoints("\\d")).toContain(0x0663); // ARABIC-INDIC DIGIT THREE
    expect(compileRustPattern("\\w+").exec("héllo_wörld!")?.[0]).toBe("héllo_wörld");
    expect(translateRustPattern("\\Aa\\z")).toBe("^a$");
    expect(translateRustPattern("\\pL\\PN")).toBe("\\p{L}\\P{N}");
    expect(translateRustPattern("\\x{1F600}")).toBe("\\u{1F600}");
    expect(compileRustPattern("(?P<word>\\p{Greek}+)").exec("abc αβγ")?.groups?.["word"]).toBe("αβγ");
    expect(translateRustPattern("[]a]")).toBe("[\\]a]");
  });

  it("rejects constructs that have no exact JS equivalent", () => {
    for (const pattern of [
      "(?i)abc",
      "(?i:abc)",
      "\\bword\\b",
      "[[a-z]]",
      "[a-z&&[^x]]",
      "[\\S]",
      "[\\W]",
      "[abc",
    ]) {
      expect(() => translateRustPattern(pattern), pattern).toThrow(PatternTranslationError);
    }
  });
});
