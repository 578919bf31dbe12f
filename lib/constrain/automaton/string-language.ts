/**
 * Languages of string values as DFAs over their UTF-8 bytes, and their JSON form. A constrained string
 * value (pattern, format, lengths, excluded values) is built here as the intersection of simple automata,
 * then turned into the automaton of its JSON text: quotes around it, and inside, every byte JSON cannot
 * hold raw written as `JSON.stringify` writes it (`\"`, `\\`, `\n`, `\u001f`, …).
 */
import { type ByteDfa, buildDfa, difference, intersect, nfaToDfa } from "./dfa";
import { formatPattern } from "./formats";
import { Nfa } from "./nfa";
import { regexNfa } from "./regex";

/** UTF-8 decoder states: 0 at a character boundary; others wait for continuation bytes. */
function utf8Next(state: number, b: number): number {
  switch (state) {
    case 0:
      if (b < 0x80) return 0;
      if (b >= 0xc2 && b <= 0xdf) return 1;
      if (b === 0xe0) return 4;
      if (b === 0xed) return 5;
      if (b >= 0xe1 && b <= 0xef) return 2;
      if (b === 0xf0) return 6;
      if (b >= 0xf1 && b <= 0xf3) return 3;
      if (b === 0xf4) return 7;
      return -1;
    case 1:
      return b >= 0x80 && b <= 0xbf ? 0 : -1;
    case 2:
      return b >= 0x80 && b <= 0xbf ? 1 : -1;
    case 3:
      return b >= 0x80 && b <= 0xbf ? 2 : -1;
    case 4:
      return b >= 0xa0 && b <= 0xbf ? 1 : -1;
    case 5:
      return b >= 0x80 && b <= 0x9f ? 1 : -1;
    case 6:
      return b >= 0x90 && b <= 0xbf ? 2 : -1;
    case 7:
      return b >= 0x80 && b <= 0x8f ? 2 : -1;
  }
  return -1;
}

const UTF8_CLASSES: [number, number][] = [
  [0x00, 0x7f],
  [0x80, 0x8f],
  [0x90, 0x9f],
  [0xa0, 0xbf],
  [0xc2, 0xdf],
  [0xe0, 0xe0],
  [0xe1, 0xec],
  [0xed, 0xed],
  [0xee, 0xef],
  [0xf0, 0xf0],
  [0xf1, 0xf3],
  [0xf4, 0xf4],
];

/** Strings of min..max characters (code points); max may be Infinity. */
export function lengthDfa(min: number, max: number): ByteDfa {
  return buildDfa<readonly [number, number]>(
    {
      start: [0, 0],
      key: (s) => `${s[0]},${s[1]}`,
      step: ([u, count], b) => {
        const next = utf8Next(u, b);
        if (next < 0) return null;
        const starts = u === 0; // a byte read at a boundary starts a character
        const c = starts ? count + 1 : count;
        if (Number.isFinite(max) && c > max) return null;
        // Without a maximum, counts past the minimum all behave alike.
        return [next, Number.isFinite(max) ? c : Math.min(c, min)];
      },
      accepting: ([u, count]) => u === 0 && count >= min,
      classes: UTF8_CLASSES,
    },
    `a string of ${min} to ${max} characters`,
  );
}

let anyString: ByteDfa | undefined;
/** Every valid UTF-8 string. */
export function anyStringDfa(): ByteDfa {
  anyString ??= lengthDfa(0, Number.POSITIVE_INFINITY);
  return anyString;
}

/** Exactly the given strings. */
export function literalsDfa(values: readonly string[], what: string): ByteDfa {
  const nfa = new Nfa(what);
  const enc = new TextEncoder();
  const frag = nfa.alternation(values.map((v) => nfa.literal(enc.encode(v))));
  nfa.start = frag.start;
  nfa.accepting[frag.end] = true;
  return nfaToDfa(nfa);
}

/** Strings in which the pattern matches somewhere (JSON Schema `pattern`). */
export function patternDfa(pattern: string): ByteDfa {
  return nfaToDfa(regexNfa(pattern, "search", `pattern ${JSON.stringify(pattern)}`));
}

/** Strings matching the whole pattern (the regex response format). */
export function fullMatchDfa(pattern: string): ByteDfa {
  return nfaToDfa(regexNfa(pattern, "full", `pattern ${JSON.stringify(pattern)}`));
}

export function formatDfa(format: string): ByteDfa | undefined {
  // A format named "__proto__" found Object.prototype here, not a pattern (a TypeError; found by fuzzing).
  const source = formatPattern(format);
  return source === undefined
    ? undefined
    : nfaToDfa(regexNfa(source, "full", `format ${JSON.stringify(format)}`));
}

export interface StringConstraints {
  readonly patterns: readonly string[];
  readonly formats: readonly string[];
  readonly minLength: number;
  readonly maxLength: number;
  /** Values the string must not be (from a negated enum / const). */
  readonly excluded: readonly string[];
  /** When set, the string must be one of these. */
  readonly only?: readonly string[] | undefined;
}

/** The value automaton of a constrained string, or undefined when plain length bounds describe it. */
export function stringValueDfa(c: StringConstraints, what: string): ByteDfa | undefined {
  const parts: ByteDfa[] = [];
  for (const p of c.patterns) parts.push(patternDfa(p));
  for (const f of c.formats) {
    const d = formatDfa(f);
    if (d) parts.push(d);
  }
  if (c.only) parts.push(literalsDfa(c.only, what));
  if (parts.length === 0 && c.excluded.length === 0) return undefined;
  if (c.minLength > 0 || Number.isFinite(c.maxLength)) parts.push(lengthDfa(c.minLength, c.maxLength));
  let dfa = parts.length === 0 ? anyStringDfa() : parts[0]!;
  for (const p of parts.slice(1)) dfa = intersect(dfa, p, what);
  if (c.excluded.length > 0) dfa = difference(dfa, literalsDfa(c.excluded, what), what);
  return dfa;
}

const ESCAPES: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };

const needsEscape = (b: number) => b < 0x20 || b === 0x22 || b === 0x5c;

/** How JSON.stringify writes one byte of a string value. */
function jsonBytes(b: number): number[] {
  if (b === 0x22) return [0x5c, 0x22];
  if (b === 0x5c) return [0x5c, 0x5c];
  if (b < 0x20) {
    const s = ESCAPES[b] ?? `\\u00${b.toString(16).padStart(2, "0")}`;
    return [...s].map((c) => c.charCodeAt(0));
  }
  return [b];
}

/** The automaton of the JSON text (quotes included) of the strings `value` accepts. */
export function jsonStringDfa(value: ByteDfa, what: string): ByteDfa {
  const src = value.toNfa(what);
  const out = new Nfa(what);
  for (let s = 0; s < src.size; s++) out.state();
  for (let s = 0; s < src.size; s++) {
    for (const e of src.edges[s]!) {
      let b = e.lo;
      while (b <= e.hi) {
        if (needsEscape(b)) {
          const seq = jsonBytes(b);
          let at = s;
          seq.forEach((x, i) => {
            const next = i === seq.length - 1 ? e.to : out.state();
            out.edge(at, x, x, next);
            at = next;
          });
          b++;
          continue;
        }
        let end = b;
        while (end < e.hi && !needsEscape(end + 1)) end++;
        out.edge(s, b, end, e.to);
        b = end + 1;
      }
    }
  }
  const open = out.state();
  const close = out.state();
  out.edge(open, 0x22, 0x22, src.start);
  for (let s = 0; s < src.size; s++) if (src.accepting[s]) out.edge(s, 0x22, 0x22, close);
  out.start = open;
  out.accepting[close] = true;
  return nfaToDfa(out);
}
