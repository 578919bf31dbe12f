/**
 * Automata of JSON numbers within bounds: `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum`
 * for integers (exact ranges of digit strings) and numbers (decimal bounds), and `multipleOf` for
 * integers (the remainder is carried digit by digit).
 *
 * Bounded numbers are written without exponent, with at most 15 digits (integer and fraction digits
 * together, not counting a lone leading 0), and never as -0. Decimals of at most 15 significant digits
 * convert to distinct doubles in the same order, so comparing digit strings here agrees with comparing
 * the parsed numbers, as a validator does.
 */
import { type ByteDfa, buildDfa } from "./dfa";
import { AutomatonError } from "./nfa";

export const MAX_BOUNDED_DIGITS = 15;

export interface NumberBound {
  readonly value: number;
  readonly exclusive: boolean;
}

export interface NumberRange {
  readonly integer: boolean;
  readonly min?: NumberBound | undefined;
  readonly max?: NumberBound | undefined;
  /** A positive integer. */
  readonly multipleOf?: number | undefined;
}

/** A non-negative decimal as digit strings: int without leading zeros ("" for 0), frac without trailing zeros. */
interface Decimal {
  readonly int: string;
  readonly frac: string;
}

interface MagnitudeBound extends Decimal {
  readonly inclusive: boolean;
}

/** Bounds on the magnitude of one sign's numbers; null = none on that side. */
interface Branch {
  readonly lo: MagnitudeBound | null;
  readonly hi: MagnitudeBound | null;
}

/** The exact decimal digits of a finite double's shortest representation. */
export function decimalOf(x: number): Decimal {
  const s = Math.abs(x).toString();
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s);
  if (!m) throw new AutomatonError(`cannot write ${x} as a decimal`);
  let digits = m[1]! + (m[2] ?? "");
  let point = m[1]!.length + Number(m[3] ?? 0);
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += "0".repeat(point - digits.length);
  const int = digits.slice(0, point).replace(/^0+/, "");
  const frac = digits.slice(point).replace(/0+$/, "");
  return { int, frac };
}

const ZERO: Decimal = { int: "", frac: "" };

function branches(r: NumberRange): { pos: Branch | null; neg: Branch | null } {
  const { min, max } = r;
  let pos: Branch | null = { lo: null, hi: null };
  let neg: Branch | null = { lo: { ...ZERO, inclusive: false }, hi: null };
  if (min) {
    if (min.value >= 0) {
      neg = null;
      pos = { ...pos, lo: { ...decimalOf(min.value), inclusive: !min.exclusive } };
    } else if (neg) neg = { ...neg, hi: { ...decimalOf(min.value), inclusive: !min.exclusive } };
  }
  if (max) {
    if (max.value < 0 || (max.value === 0 && max.exclusive)) pos = null;
    else if (pos) pos = { ...pos, hi: { ...decimalOf(max.value), inclusive: !max.exclusive } };
    if (max.value < 0 && neg) neg = { ...neg, lo: { ...decimalOf(max.value), inclusive: !max.exclusive } };
  }
  return { pos, neg };
}

// Phases: before the sign, after "-", integer digits, a lone "0", after ".", fraction digits.
const START = 0;
const MINUS = 1;
const INT = 2;
const ZERO_INT = 3;
const DOT = 4;
const FRAC = 5;

interface State {
  readonly phase: number;
  readonly neg: boolean;
  readonly digits: number;
  /** INT: integer digits so far; FRAC: fraction digits so far. */
  readonly pos: number;
  /**
   * Comparison with the lower / upper bound's digits (-1, 0, 1). INT: the digits so far against the same
   * leading digits of the bound's integer part (lengths are compared at the end). DOT / FRAC: the whole
   * prefix against the bound.
   */
  readonly lo: number;
  readonly hi: number;
  readonly mod: number;
}

const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/** Comparison of a finished integer part (length, leading-digit comparison) with a bound's. */
function intCompare(len: number, lex: number, b: MagnitudeBound | null): number {
  if (b === null) return 0;
  return len !== b.int.length ? sign(len - b.int.length) : lex;
}

/** Final comparison once no more fraction digits come (the bound may have more, all > 0 at its end). */
function endCompare(cmp: number, fracLen: number, b: MagnitudeBound | null): number {
  if (b === null || cmp !== 0) return cmp;
  return b.frac.length > fracLen ? -1 : 0;
}

function within(loCmp: number, hiCmp: number, br: Branch): boolean {
  const loOk = br.lo === null || loCmp > 0 || (loCmp === 0 && br.lo.inclusive);
  const hiOk = br.hi === null || hiCmp < 0 || (hiCmp === 0 && br.hi.inclusive);
  return loOk && hiOk;
}

/** The automaton of the JSON numbers in the range. */
export function numberRangeDfa(r: NumberRange, what: string): ByteDfa {
  const { pos: posBranch, neg: negBranch } = branches(r);
  if (posBranch === null && negBranch === null) throw new AutomatonError(`${what}: no number is in range`);
  const m = r.multipleOf ?? 1;
  const branchOf = (s: State) => (s.neg ? negBranch : posBranch)!;
  const intStart = (s: State, d: number, isDigit: boolean, br: Branch): State | null => {
    if (!isDigit) return null;
    if (d === 0) return { ...s, phase: ZERO_INT };
    return {
      ...s,
      phase: INT,
      digits: 1,
      pos: 1,
      lo: digitCompareInt(d, br.lo, 0, 0),
      hi: digitCompareInt(d, br.hi, 0, 0),
      mod: d % m,
    };
  };
  const src = {
    start: { phase: START, neg: false, digits: 0, pos: 0, lo: 0, hi: 0, mod: 0 } as State,
    key: (s: State) => {
      // In the fraction, the position only matters while a bound is still being compared digit by digit.
      const br = s.phase === START ? null : branchOf(s);
      const comparing = br !== null && ((br.lo !== null && s.lo === 0) || (br.hi !== null && s.hi === 0));
      const pos = s.phase === FRAC && !comparing ? -1 : s.pos;
      return `${s.phase}${s.neg ? "-" : "+"}${s.digits}.${pos}.${s.lo}.${s.hi}.${s.mod}`;
    },
    step: (s: State, b: number): State | null => {
      const br = s.phase === START ? null : branchOf(s);
      const isDigit = b >= 0x30 && b <= 0x39;
      const d = b - 0x30;
      switch (s.phase) {
        case START:
          if (b === 0x2d) return negBranch ? { ...s, phase: MINUS, neg: true } : null;
          if (!posBranch) return null;
          return intStart({ ...s, phase: MINUS }, d, isDigit, posBranch);
        case MINUS:
          return intStart(s, d, isDigit, br!);
        case INT: {
          if (isDigit) {
            if (s.digits >= MAX_BOUNDED_DIGITS) return null;
            return {
              ...s,
              digits: s.digits + 1,
              pos: s.pos + 1,
              lo: digitCompareInt(d, br!.lo, s.lo, s.pos),
              hi: digitCompareInt(d, br!.hi, s.hi, s.pos),
              mod: (s.mod * 10 + d) % m,
            };
          }
          if (b === 0x2e && !r.integer)
            return {
              ...s,
              phase: DOT,
              pos: 0,
              lo: intCompare(s.pos, s.lo, br!.lo),
              hi: intCompare(s.pos, s.hi, br!.hi),
            };
          return null;
        }
        case ZERO_INT:
          if (b === 0x2e && !r.integer)
            return { ...s, phase: DOT, pos: 0, lo: intCompare(0, 0, br!.lo), hi: intCompare(0, 0, br!.hi) };
          return null;
        case DOT:
        case FRAC:
          if (!isDigit || s.digits >= MAX_BOUNDED_DIGITS) return null;
          return {
            ...s,
            phase: FRAC,
            digits: s.digits + 1,
            pos: s.pos + 1,
            lo: fracCompare(d, br!.lo, s.lo, s.pos),
            hi: fracCompare(d, br!.hi, s.hi, s.pos),
          };
      }
      return null;
    },
    accepting: (s: State) => {
      if (s.mod !== 0) return false;
      if (s.phase === INT || s.phase === ZERO_INT) {
        const br = branchOf(s);
        const len = s.phase === INT ? s.pos : 0;
        const lex = s.phase === INT ? s : { lo: 0, hi: 0 };
        const lo = endCompare(intCompare(len, lex.lo, br.lo), 0, br.lo);
        const hi = endCompare(intCompare(len, lex.hi, br.hi), 0, br.hi);
        return within(lo, hi, br);
      }
      if (s.phase === FRAC) {
        const br = branchOf(s);
        return within(endCompare(s.lo, s.pos, br.lo), endCompare(s.hi, s.pos, br.hi), br);
      }
      return false;
    },
    classes: [
      [0x2d, 0x2d],
      [0x2e, 0x2e],
      ...Array.from({ length: 10 }, (_, i) => [0x30 + i, 0x30 + i] as const),
    ] as (readonly [number, number])[],
  };
  try {
    return buildDfa(src, what);
  } catch (e) {
    if (e instanceof AutomatonError && r.multipleOf !== undefined)
      throw new AutomatonError(`${what}: multipleOf ${r.multipleOf} makes the automaton too large`);
    throw e;
  }
}

/** Leading-digit comparison of the integer part: frozen once unequal; digits past the bound's length don't change it. */
function digitCompareInt(d: number, b: MagnitudeBound | null, cmp: number, at: number): number {
  if (b === null || cmp !== 0 || at >= b.int.length) return cmp;
  return sign(d - Number(b.int[at]));
}

/** Fraction digit at position `at` against the bound's (zero past its end). */
function fracCompare(d: number, b: MagnitudeBound | null, cmp: number, at: number): number {
  if (b === null || cmp !== 0) return cmp;
  const bd = at < b.frac.length ? Number(b.frac[at]) : 0;
  return sign(d - bd);
}
