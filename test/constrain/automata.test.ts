/**
 * The byte automata under the new keyword families, against independent references: TextEncoder for
 * UTF-8, JavaScript's RegExp (u flag) for patterns, number comparison for ranges, ajv-formats for formats,
 * JSON.stringify for the JSON form of strings.
 */
import { describe, expect, it } from "vitest";
import { normalizeSet, utf8Sequences } from "../../lib/constrain/automaton/code-points";
import type { ByteDfa } from "../../lib/constrain/automaton/dfa";
import { nfaToDfa } from "../../lib/constrain/automaton/dfa";
import { FORMAT_PATTERNS } from "../../lib/constrain/automaton/formats";
import { AutomatonError, Nfa } from "../../lib/constrain/automaton/nfa";
import { type NumberRange, numberRangeDfa } from "../../lib/constrain/automaton/number-range";
import {
  anyStringDfa,
  formatDfa,
  fullMatchDfa,
  jsonStringDfa,
  patternDfa,
} from "../../lib/constrain/automaton/string-language";
import { classify, compileSchema } from "./helpers";
import { validatorFor } from "./validator";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every string of up to maxLen characters over the alphabet. */
function* strings(alphabet: readonly string[], maxLen: number): Generator<string> {
  yield "";
  let level = [""];
  for (let l = 1; l <= maxLen; l++) {
    const next: string[] = [];
    for (const s of level) for (const c of alphabet) next.push(s + c);
    yield* next;
    level = next;
  }
}

/** A random accepted string: a walk that only takes live transitions and stops at acceptance by chance. */
function sample(dfa: ByteDfa, random: () => number, maxLen = 40): Uint8Array {
  const out: number[] = [];
  let s = 0;
  while (true) {
    const stopHere =
      dfa.accepting[s] === 1 && (dfa.final[s] === 1 || random() < 0.15 || out.length >= maxLen);
    if (stopHere) return Uint8Array.from(out);
    const moves: [number, number][] = [];
    for (let b = 0; b < 256; b++) {
      const t = dfa.step(s, b);
      if (t >= 0 && (out.length < maxLen || dfa.dist[t]! < dfa.dist[s]!)) moves.push([b, t]);
    }
    const [b, t] = moves[Math.floor(random() * moves.length)]!;
    out.push(b);
    s = t;
  }
}

describe("UTF-8 of code point sets", () => {
  it("byte sequences accept exactly the encodings of the set's members", () => {
    const set = normalizeSet([
      [0x41, 0x5a],
      [0x7f, 0x800],
      [0xd7f0, 0xe010],
      [0xfff0, 0x10010],
      [0x10fff0, 0x10ffff],
    ]);
    const nfa = new Nfa("set");
    const frag = nfa.chars(set);
    nfa.start = frag.start;
    nfa.accepting[frag.end] = true;
    const dfa = nfaToDfa(nfa);
    const random = rng(7);
    const probes = [0x40, 0x41, 0x5a, 0x5b, 0x7e, 0x7f, 0x800, 0x801, 0xd7ff, 0xe000, 0xe010, 0xe011, 0xffff];
    for (let i = 0; i < 2000; i++) probes.push(Math.floor(random() * 0x110000));
    for (const cp of probes) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const member = set.some(([lo, hi]) => cp >= lo && cp <= hi);
      expect(dfa.accepts(enc.encode(String.fromCodePoint(cp))), cp.toString(16)).toBe(member);
    }
    // Every sequence has the length of its range's encoding.
    for (const seq of utf8Sequences(set)) expect(seq.length).toBeLessThanOrEqual(4);
  });
});

describe("patterns against RegExp", () => {
  const alphabet = ["a", "b", "c", "1", "-", "é", " "];
  const patterns = [
    "ab*c",
    "^a|b$",
    "^(a|bc)+$",
    "[a-c]{2,3}",
    "^[^a]?\\d$",
    "(?:ab|a)(?:bc|c)?",
    "^\\w+(-\\w+)*$",
    "é.",
    "^.{0,2}$",
    "\\s",
    "^$",
    "a{0}b",
    "^[\\-a]+",
    "(?<x>b)c?$",
    "^(a?){3}$",
  ];
  for (const p of patterns) {
    it(`${p}: search and full-match automata agree with RegExp on every short string`, () => {
      const search = patternDfa(p);
      const full = fullMatchDfa(p);
      const reSearch = new RegExp(p, "u");
      const reFull = new RegExp(`^(?:${p})$`, "u");
      const wrong: string[] = [];
      for (const s of strings(alphabet, 4)) {
        if (search.accepts(enc.encode(s)) !== reSearch.test(s)) wrong.push(`search ${JSON.stringify(s)}`);
        if (full.accepts(enc.encode(s)) !== reFull.test(s)) wrong.push(`full ${JSON.stringify(s)}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it("refuses constructs outside the subset, naming them", () => {
    const bad: [string, RegExp][] = [
      ["(?=a)", /look-ahead/],
      ["(?<!a)b", /look-behind/],
      ["(a)\\1", /back-references/],
      ["\\bword", /word boundaries/],
      ["\\p{L}", /Unicode property escapes/],
      ["a{2,1}", /maximum is below the minimum/],
      ["a**", /nothing to repeat/],
      ["(a", /missing "\)"/],
      ["[a", /unterminated character class/],
      ["a{5000}", /counted repetitions above 1000/],
    ];
    for (const [p, message] of bad) expect(() => patternDfa(p), p).toThrow(message);
    expect(() => patternDfa("(?=a)")).toThrow(AutomatonError);
  });

  it("a pattern ending in a backslash inside a class is refused, not a RangeError (found by fuzzing)", () => {
    for (const p of ["[\\", "[a\\", "\\"]) {
      expect(() => patternDfa(p), p).toThrow(AutomatonError);
      expect(() => patternDfa(p), p).toThrow(/a trailing backslash/);
    }
  });

  it("negated classes and . never match a surrogate's bytes, which are not UTF-8 (found by fuzzing)", () => {
    // U+D800 as CESU-8 bytes; U+10000 as real UTF-8 must still match.
    const surrogate = Uint8Array.of(0xed, 0xa0, 0x80);
    for (const p of ["[^a]", "\\D", "\\W", "\\S", "."]) {
      expect(fullMatchDfa(p).accepts(surrogate), p).toBe(false);
      expect(fullMatchDfa(p).accepts(enc.encode("\u{10000}")), p).toBe(true);
    }
  });
});

describe("number ranges", () => {
  const alphabet = [..."-.0123456789"];
  const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
  const ranges: NumberRange[] = [
    { integer: true, min: { value: -5, exclusive: false }, max: { value: 120, exclusive: false } },
    { integer: true, min: { value: 0, exclusive: true }, max: { value: 10, exclusive: true } },
    { integer: false, min: { value: -1.5, exclusive: false }, max: { value: 2.25, exclusive: false } },
    { integer: false, min: { value: 0, exclusive: true }, max: { value: 1, exclusive: true } },
    {
      integer: true,
      min: { value: 0, exclusive: false },
      max: { value: 100, exclusive: false },
      multipleOf: 5,
    },
    { integer: false, min: { value: 0.05, exclusive: false } },
    { integer: false, max: { value: -0.5, exclusive: true } },
    { integer: true, multipleOf: 7 },
    { integer: true, min: { value: 1.5, exclusive: false }, max: { value: 1e-7 + 30, exclusive: false } },
  ];
  for (const r of ranges) {
    it(`${JSON.stringify(r)}: accepts exactly the numbers in range (no -0, no exponent)`, () => {
      const dfa = numberRangeDfa(r, "range");
      const wrong: string[] = [];
      for (const s of strings(alphabet, 4)) {
        let want = JSON_NUMBER.test(s) && !/^-0(\.0*)?$/.test(s) && (!r.integer || !s.includes("."));
        if (want) {
          const v = Number(s);
          if (r.min) want &&= r.min.exclusive ? v > r.min.value : v >= r.min.value;
          if (r.max) want &&= r.max.exclusive ? v < r.max.value : v <= r.max.value;
          if (r.multipleOf) want &&= v % r.multipleOf === 0;
        }
        if (dfa.accepts(enc.encode(s)) !== want) wrong.push(s);
      }
      expect(wrong).toEqual([]);
    });
  }

  it("digit strings compare like the doubles they parse to (15 digits at most)", () => {
    const dfa = numberRangeDfa({ integer: false, min: { value: 0.1, exclusive: true } }, "range");
    expect(dfa.accepts(enc.encode("0.1"))).toBe(false);
    expect(dfa.accepts(enc.encode("0.100000000000001"))).toBe(true);
    expect(dfa.accepts(enc.encode("0.1000000000000001"))).toBe(false); // 16 digits: never written
  });

  it("draft-04 boolean exclusiveMinimum / exclusiveMaximum are the same bounds", () => {
    const node = compileSchema({
      type: "integer",
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 3,
      exclusiveMaximum: true,
    });
    expect(["0", "1", "2", "3"].map((t) => classify(node, t))).toEqual([
      "dead",
      "complete",
      "complete",
      "dead",
    ]);
  });
});

describe("formats", () => {
  for (const name of Object.keys(FORMAT_PATTERNS)) {
    it(`${name}: random strings of the automaton validate with ajv-formats`, () => {
      const validate = validatorFor({ type: "string", format: name });
      const dfa = formatDfa(name)!;
      const random = rng(name.length * 31);
      for (let i = 0; i < 150; i++) {
        const s = dec.decode(sample(dfa, random));
        expect(validate(s), `${name}: ${JSON.stringify(s)}`).toBe(true);
      }
    });
  }
});

describe("JSON form of strings", () => {
  it("accepts JSON.stringify of any string, and only canonical escapes", () => {
    const dfa = jsonStringDfa(anyStringDfa(), "any");
    const random = rng(3);
    const pool = [
      '"',
      "\\",
      "\n",
      "\t",
      "\u0001",
      "\u001f",
      "\u007f",
      "a",
      "é",
      "€",
      "🙂",
      "/",
      "\b",
      "\f",
      "\r",
    ];
    for (let i = 0; i < 500; i++) {
      let s = "";
      const n = Math.floor(random() * 8);
      for (let k = 0; k < n; k++) s += pool[Math.floor(random() * pool.length)];
      expect(dfa.accepts(enc.encode(JSON.stringify(s))), JSON.stringify(s)).toBe(true);
    }
    for (const text of ['"\\/"', '"\\u0041"', '"\\u001F"', '"a\nb"', '"\\"', '"a'])
      expect(dfa.accepts(enc.encode(text)), text).toBe(false);
  });
});
