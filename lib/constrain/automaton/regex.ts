/**
 * The ECMAScript regular-expression subset that patterns compile from (JSON Schema `pattern`, `format`
 * definitions, the regex response format), evaluated as JavaScript's `u` flag does: characters are code
 * points. Supported: literals and escapes (`\d \w \s` and negations, `\t \n \r \f \v \0 \cX \xHH \uHHHH
 * \u{…}`), classes with ranges and negation, `.`, groups (capturing, `(?:…)`, named), alternation,
 * quantifiers `* + ? {m} {m,} {m,n}` (lazy forms too: they match the same strings), and the anchors `^` `$`.
 * Anything else (back-references, look-around, word boundaries, Unicode property escapes) is an
 * AutomatonError naming the construct.
 */
import {
  ANY_CHAR,
  type CodePointSet,
  complement,
  DIGIT,
  DOT,
  normalizeSet,
  type Range,
  SPACE,
  WORD,
} from "./code-points";
import { AutomatonError, type Fragment, Nfa } from "./nfa";

export type RegexNode =
  | { readonly t: "set"; readonly set: CodePointSet }
  | { readonly t: "seq"; readonly items: readonly RegexNode[] }
  | { readonly t: "alt"; readonly options: readonly RegexNode[] }
  | { readonly t: "repeat"; readonly node: RegexNode; readonly min: number; readonly max: number }
  | { readonly t: "start" }
  | { readonly t: "end" };

/** Largest counted repetition accepted (`{m,n}` beyond this is an error). */
export const MAX_REPEAT = 1000;

class Parser {
  private i = 0;
  private readonly cps: number[];

  constructor(private readonly source: string) {
    this.cps = [...source].map((c) => c.codePointAt(0)!);
  }

  parse(): RegexNode {
    const node = this.alternation();
    if (this.i < this.cps.length) this.fail(`unbalanced ")" at position ${this.i}`);
    return node;
  }

  private fail(message: string): never {
    throw new AutomatonError(`pattern ${JSON.stringify(this.source)}: ${message}`);
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.i + offset];
  }

  private eat(cp: number): boolean {
    if (this.peek() === cp) {
      this.i++;
      return true;
    }
    return false;
  }

  private alternation(): RegexNode {
    const options = [this.sequence()];
    while (this.eat(0x7c /* | */)) options.push(this.sequence());
    return options.length === 1 ? options[0]! : { t: "alt", options };
  }

  private sequence(): RegexNode {
    const items: RegexNode[] = [];
    while (this.i < this.cps.length && this.peek() !== 0x7c && this.peek() !== 0x29 /* ) */) {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return items.length === 1 ? items[0]! : { t: "seq", items };
  }

  private quantified(atom: RegexNode): RegexNode {
    const bounds = this.quantifier();
    if (bounds === undefined) return atom;
    this.eat(0x3f); // lazy: matches the same strings
    if (atom.t === "start" || atom.t === "end") this.fail("a quantifier after an anchor");
    if (this.quantifierAhead()) this.fail("nothing to repeat (two quantifiers in a row)");
    return { t: "repeat", node: atom, min: bounds[0], max: bounds[1] };
  }

  private quantifierAhead(): boolean {
    const save = this.i;
    const q = this.quantifier();
    this.i = save;
    return q !== undefined;
  }

  /** Consumes a quantifier at the cursor and returns its bounds; undefined (nothing consumed) if none. */
  private quantifier(): [number, number] | undefined {
    const c = this.peek();
    if (c === 0x2a /* * */ || c === 0x2b /* + */ || c === 0x3f /* ? */) {
      this.i++;
      return c === 0x2a ? [0, Number.POSITIVE_INFINITY] : c === 0x2b ? [1, Number.POSITIVE_INFINITY] : [0, 1];
    }
    if (c !== 0x7b /* { */) return undefined;
    const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return undefined; // a literal "{"
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
    if (max < min) this.fail(`{${min},${max}}: the maximum is below the minimum`);
    if (min > MAX_REPEAT || (Number.isFinite(max) && max > MAX_REPEAT))
      this.fail(`counted repetitions above ${MAX_REPEAT} are not supported`);
    this.i += m[0].length;
    return [min, max];
  }

  private atom(): RegexNode {
    const c = this.peek()!;
    this.i++;
    switch (c) {
      case 0x5e /* ^ */:
        return { t: "start" };
      case 0x24 /* $ */:
        return { t: "end" };
      case 0x2e /* . */:
        return { t: "set", set: DOT };
      case 0x28 /* ( */:
        return this.group();
      case 0x5b /* [ */:
        return { t: "set", set: this.charClass() };
      case 0x5c /* \ */:
        return this.escapeAtom();
      case 0x2a:
      case 0x2b:
      case 0x3f:
        return this.fail("nothing to repeat");
      case 0x7b /* { */:
        this.i--;
        if (this.quantifierAhead()) this.fail("nothing to repeat");
        this.i++;
        return { t: "set", set: [[c, c]] };
      case 0x29 /* ) */:
      case 0x5d /* ] */:
      case 0x7d /* } */:
        return this.fail(`lone "${String.fromCodePoint(c)}" (escape it)`);
      default:
        return { t: "set", set: normalizeSet([[c, c]]) };
    }
  }

  private group(): RegexNode {
    if (this.eat(0x3f /* ? */)) {
      if (this.eat(0x3a /* : */)) return this.closeGroup();
      if (this.peek() === 0x3d || this.peek() === 0x21)
        this.fail("look-ahead ((?= and (?!) is not supported");
      if (this.peek() === 0x3c /* < */) {
        if (this.peek(1) === 0x3d || this.peek(1) === 0x21)
          this.fail("look-behind ((?<= and (?<!) is not supported");
        this.i++;
        while (this.i < this.cps.length && this.peek() !== 0x3e /* > */) this.i++;
        if (!this.eat(0x3e)) this.fail("an unterminated group name");
        return this.closeGroup();
      }
      this.fail("an unknown group kind (?…)");
    }
    return this.closeGroup();
  }

  private closeGroup(): RegexNode {
    const inner = this.alternation();
    if (!this.eat(0x29)) this.fail('a missing ")"');
    return inner;
  }

  private escapeAtom(): RegexNode {
    const c = this.peek();
    if (c === undefined) this.fail("a trailing backslash");
    if (c === 0x62 || c === 0x42) this.fail("word boundaries (\\b, \\B) are not supported");
    if (c >= 0x31 && c <= 0x39) this.fail("back-references (\\1 …) are not supported");
    if (c === 0x6b /* k */ && this.peek(1) === 0x3c)
      this.fail("back-references (\\k<name>) are not supported");
    return { t: "set", set: this.escape(false) };
  }

  /** The escape after a backslash (cursor on the character after it), as a set. */
  private escape(inClass: boolean): CodePointSet {
    const c = this.peek();
    // Inside a class too: "[\" used to reach String.fromCodePoint(undefined), a RangeError (found by fuzzing).
    if (c === undefined) return this.fail("a trailing backslash");
    this.i++;
    const one = (cp: number): CodePointSet => normalizeSet([[cp, cp]]);
    switch (c) {
      case 0x64 /* d */:
        return DIGIT;
      case 0x44 /* D */:
        return complement(DIGIT);
      case 0x77 /* w */:
        return WORD;
      case 0x57 /* W */:
        return complement(WORD);
      case 0x73 /* s */:
        return SPACE;
      case 0x53 /* S */:
        return complement(SPACE);
      case 0x74:
        return one(0x09);
      case 0x6e:
        return one(0x0a);
      case 0x72:
        return one(0x0d);
      case 0x66:
        return one(0x0c);
      case 0x76:
        return one(0x0b);
      case 0x62 /* b */:
        if (inClass) return one(0x08);
        break;
      case 0x30 /* 0 */:
        if (this.peek() !== undefined && this.peek()! >= 0x30 && this.peek()! <= 0x39)
          this.fail("octal escapes are not supported");
        return one(0);
      case 0x63 /* c */:
        {
          const l = this.peek();
          if (l !== undefined && ((l >= 0x41 && l <= 0x5a) || (l >= 0x61 && l <= 0x7a))) {
            this.i++;
            return one(l % 32);
          }
          this.fail("\\c must be followed by a letter");
          break;
        }
      case 0x78 /* x */:
        return one(this.hex(2));
      case 0x75 /* u */:
        {
          if (this.eat(0x7b /* { */)) {
            let v = 0;
            let digits = 0;
            while (this.peek() !== 0x7d) {
              const d = this.hexDigit(this.peek());
              if (d < 0) this.fail("a bad \\u{…} escape");
              v = v * 16 + d;
              digits++;
              this.i++;
              if (v > 0x10ffff) this.fail("a \\u{…} escape above U+10FFFF");
            }
            this.i++;
            if (digits === 0) this.fail("an empty \\u{} escape");
            return one(v);
          }
          const v = this.hex(4);
          if (v >= 0xd800 && v <= 0xdbff && this.peek() === 0x5c && this.peek(1) === 0x75) {
            const save = this.i;
            this.i += 2;
            const lo = this.hex(4);
            if (lo >= 0xdc00 && lo <= 0xdfff) return one(0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00));
            this.i = save;
          }
          if (v >= 0xd800 && v <= 0xdfff) this.fail("a lone surrogate escape");
          return one(v);
        }
      case 0x70 /* p */:
      case 0x50 /* P */:
        this.fail("Unicode property escapes (\\p{…}) are not supported");
        break;
    }
    if (inClass && c === 0x2d) return one(c);
    // Identity escapes: syntax characters and "/".
    if ("^$\\.*+?()[]{}|/".includes(String.fromCodePoint(c))) return one(c);
    return this.fail(`an unknown escape \\${String.fromCodePoint(c)}`);
  }

  private hexDigit(c: number | undefined): number {
    if (c === undefined) return -1;
    if (c >= 0x30 && c <= 0x39) return c - 0x30;
    if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
    if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
    return -1;
  }

  private hex(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const d = this.hexDigit(this.peek());
      if (d < 0) this.fail(`a hex escape with fewer than ${n} digits`);
      v = v * 16 + d;
      this.i++;
    }
    return v;
  }

  private charClass(): CodePointSet {
    const negated = this.eat(0x5e /* ^ */);
    const ranges: Range[] = [];
    while (true) {
      const c = this.peek();
      if (c === undefined) this.fail('an unterminated character class "["');
      if (c === 0x5d /* ] */) {
        this.i++;
        break;
      }
      const lo = this.classAtom();
      if (this.peek() === 0x2d /* - */ && this.peek(1) !== 0x5d && this.peek(1) !== undefined) {
        this.i++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0]![0] !== lo[0]![1] || hi[0]![0] !== hi[0]![1])
          this.fail("a class range whose end is a class escape");
        const a = lo[0]![0];
        const b = hi[0]![0];
        if (b < a) this.fail("a class range out of order");
        ranges.push([a, b]);
      } else ranges.push(...lo);
    }
    const set = normalizeSet(ranges);
    return negated ? complement(set) : set;
  }

  private classAtom(): CodePointSet {
    const c = this.peek()!;
    this.i++;
    if (c === 0x5c) {
      const e = this.peek();
      if (e !== undefined && e >= 0x31 && e <= 0x39) this.fail("back-references (\\1 …) are not supported");
      return this.escape(true);
    }
    return normalizeSet([[c, c]]);
  }
}

export function parseRegex(source: string): RegexNode {
  return new Parser(source).parse();
}

/** Builds the NFA fragment of a parsed regex. */
export function regexFragment(nfa: Nfa, node: RegexNode): Fragment {
  switch (node.t) {
    case "set":
      return nfa.chars(node.set);
    case "seq":
      return nfa.concat(node.items.map((n) => regexFragment(nfa, n)));
    case "alt":
      return nfa.alternation(node.options.map((n) => regexFragment(nfa, n)));
    case "repeat":
      return nfa.repeat(() => regexFragment(nfa, node.node), node.min, node.max);
    case "start":
      return nfa.anchorStart();
    case "end":
      return nfa.anchorEnd();
  }
}

/**
 * The NFA of the strings (UTF-8 bytes) a pattern matches: anywhere in the string, as JSON Schema and
 * `RegExp.prototype.test` do ("search"), or the whole string ("full", as the regex response format).
 */
export function regexNfa(source: string, mode: "search" | "full", what: string): Nfa {
  const ast = parseRegex(source);
  const nfa = new Nfa(what);
  const body = regexFragment(nfa, ast);
  let whole: Fragment;
  if (mode === "full") whole = body;
  else {
    const anyPrefix = nfa.star(nfa.chars(ANY_CHAR));
    const anySuffix = nfa.star(nfa.chars(ANY_CHAR));
    whole = nfa.concat([anyPrefix, body, anySuffix]);
  }
  nfa.start = whole.start;
  nfa.accepting[whole.end] = true;
  return nfa.withoutAnchors();
}
