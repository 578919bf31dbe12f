/**
 * The byte-level pushdown matcher over a node graph. A matcher state is a set of stacks (more than one
 * only while anyOf alternatives or "number may go on" are undecided); a stack is an immutable linked list
 * of frames, each the position inside one JSON value. A frame under another is already in the state it
 * returns to once the value above it is complete, so popping is dropping the top frame.
 *
 * Symbols are bytes (0–255) and the special tokens SYM_TOOL_CALLS / SYM_ARGS. Strings are checked as
 * UTF-8 byte by byte (a multi-byte character may span tokens), including escapes; lengths count code points.
 *
 * Costs: `stack.cost` is the least number of symbols that completes the document from this state.
 */

import {
  type ArrayNode,
  type AutomatonNode,
  arrayItem,
  capCount,
  type EntryNode,
  keyTrie,
  type LiteralNode,
  MAX_EXP_DIGITS,
  MAX_FRAC_DIGITS,
  MAX_INT_DIGITS,
  MAX_WHITESPACE,
  type Node,
  type NumberNode,
  type ObjectNode,
  objectAfterCost,
  objectFirstCost,
  objectNextCost,
  type StringNode,
  SYM_ARGS,
  SYM_TOOL_CALLS,
  type ToolCallNode,
} from "./nodes";

export interface Frame {
  readonly key: string;
  /** Least symbols to complete this frame (the value above it, if any, assumed complete). */
  readonly cost: number;
  /** The value may end here. */
  readonly accepting: boolean;
  /** The value has ended and can take nothing more (popped at once). */
  readonly final: boolean;
  step(sym: number): Frame | Push | null;
}

/** A step that opens a child value: `frame` is the parent's state after the child; `sym` goes to the child. */
export class Push {
  constructor(
    readonly frame: Frame,
    readonly node: Node,
  ) {}
}

export class Stack {
  private k: string | undefined;
  private c = -1;
  constructor(
    readonly frame: Frame,
    readonly below: Stack | null,
  ) {}

  /** Identifies the state (equal keys, equal futures). */
  get key(): string {
    this.k ??= this.below === null ? this.frame.key : `${this.below.key}/${this.frame.key}`;
    return this.k;
  }

  /** Least symbols that complete the document from here. */
  get cost(): number {
    if (this.c < 0) this.c = this.frame.cost + (this.below === null ? 0 : this.below.cost);
    return this.c;
  }

  /** Only the root is left: the document is complete and nothing more can follow. */
  get done(): boolean {
    return this.below === null;
  }
}

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x09;

// ---------------------------------------------------------------------------------------------------------

class RootFrame implements Frame {
  readonly key = "R";
  readonly cost = 0;
  readonly accepting = true;
  readonly final = true;
  step(): null {
    return null;
  }
}
export const ROOT = new RootFrame();

class DoneFrame implements Frame {
  readonly key = "D";
  readonly cost = 0;
  readonly accepting = true;
  readonly final = true;
  step(): null {
    return null;
  }
}
const DONE = new DoneFrame();

class LiteralFrame implements Frame {
  readonly accepting: boolean;
  readonly final: boolean;
  constructor(
    private readonly node: LiteralNode,
    private readonly t: number,
  ) {
    this.accepting = node.trie.terminal[t]! >= 0;
    this.final = this.accepting && node.trie.children[t]!.size === 0;
  }
  get key(): string {
    return `${this.node.id}l${this.t}`;
  }
  get cost(): number {
    return this.node.trie.minRemain[this.t]!;
  }
  step(sym: number): Frame | null {
    const next = this.node.trie.children[this.t]!.get(sym);
    return next === undefined ? null : new LiteralFrame(this.node, next);
  }
}

// Number sub-states.
const N_START = 0;
const N_MINUS = 1;
const N_ZERO = 2;
const N_INT = 3;
const N_DOT = 4;
const N_FRAC = 5;
const N_E = 6;
const N_ESIGN = 7;
const N_EXP = 8;
const NUMBER_COST = [1, 1, 0, 0, 1, 0, 1, 1, 0];
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

class NumberFrame implements Frame {
  readonly cost: number;
  readonly accepting: boolean;
  readonly final: boolean;
  constructor(
    private readonly node: NumberNode,
    private readonly sub: number,
    private readonly digits: number,
  ) {
    this.cost = NUMBER_COST[sub]!;
    this.accepting = this.cost === 0;
    this.final =
      node.integer && (sub === N_ZERO || (sub === N_INT && digits >= MAX_INT_DIGITS))
        ? true
        : sub === N_EXP && digits >= MAX_EXP_DIGITS;
  }
  get key(): string {
    return `${this.node.id}n${this.sub}.${this.digits}`;
  }
  step(b: number): Frame | null {
    const { node, sub, digits } = this;
    const frac = !node.integer;
    switch (sub) {
      case N_START:
        if (b === 0x2d) return new NumberFrame(node, N_MINUS, 0);
        return this.intStart(b);
      case N_MINUS:
        return this.intStart(b);
      case N_ZERO:
      case N_INT:
        if (sub === N_INT && isDigit(b) && digits < MAX_INT_DIGITS)
          return new NumberFrame(node, N_INT, digits + 1);
        if (frac && b === 0x2e) return new NumberFrame(node, N_DOT, 0);
        if (frac && (b === 0x65 || b === 0x45)) return new NumberFrame(node, N_E, 0);
        return null;
      case N_DOT:
        return isDigit(b) ? new NumberFrame(node, N_FRAC, 1) : null;
      case N_FRAC:
        if (isDigit(b) && digits < MAX_FRAC_DIGITS) return new NumberFrame(node, N_FRAC, digits + 1);
        if (b === 0x65 || b === 0x45) return new NumberFrame(node, N_E, 0);
        return null;
      case N_E:
        if (b === 0x2b || b === 0x2d) return new NumberFrame(node, N_ESIGN, 0);
        return isDigit(b) ? new NumberFrame(node, N_EXP, 1) : null;
      case N_ESIGN:
        return isDigit(b) ? new NumberFrame(node, N_EXP, 1) : null;
      case N_EXP:
        return isDigit(b) && digits < MAX_EXP_DIGITS ? new NumberFrame(node, N_EXP, digits + 1) : null;
    }
    return null;
  }
  private intStart(b: number): Frame | null {
    if (b === 0x30) return new NumberFrame(this.node, N_ZERO, 0);
    if (b >= 0x31 && b <= 0x39) return new NumberFrame(this.node, N_INT, 1);
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Strings: a byte-level DFA over string content. Sub-states:
export const S_NORMAL = 0;
const S_ESC = 1;
const S_U1 = 2;
const S_U2 = 3;
const S_U2D = 4;
const S_U3 = 5;
const S_U4 = 6;
const S_C1 = 7;
const S_C2 = 8;
const S_C2E0 = 9;
const S_C2ED = 10;
const S_C3 = 11;
const S_C3F0 = 12;
const S_C3F4 = 13;
export const NUM_STRING_SUBSTATES = 14;
/** Bytes still needed to finish the character in progress. */
export const PENDING = [0, 1, 4, 3, 3, 2, 1, 1, 2, 2, 2, 3, 3, 3];

/** Transition results: DEAD, CLOSE (the closing quote), or next sub-state | CHAR_DONE. */
export const STR_DEAD = -1;
export const STR_CLOSE = -2;
export const CHAR_DONE = 16;

const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

function stringTransition(sub: number, b: number): number {
  switch (sub) {
    case S_NORMAL:
      if (b === 0x22) return STR_CLOSE;
      if (b === 0x5c) return S_ESC;
      if (b < 0x20) return STR_DEAD;
      if (b < 0x80) return S_NORMAL | CHAR_DONE;
      if (b >= 0xc2 && b <= 0xdf) return S_C1;
      if (b === 0xe0) return S_C2E0;
      if (b === 0xed) return S_C2ED;
      if (b >= 0xe1 && b <= 0xef) return S_C2;
      if (b === 0xf0) return S_C3F0;
      if (b >= 0xf1 && b <= 0xf3) return S_C3;
      if (b === 0xf4) return S_C3F4;
      return STR_DEAD;
    case S_ESC:
      if (b === 0x75) return S_U1;
      return [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(b) ? S_NORMAL | CHAR_DONE : STR_DEAD;
    case S_U1:
      if (b === 0x44 || b === 0x64) return S_U2D;
      return isHex(b) ? S_U2 : STR_DEAD;
    case S_U2:
      return isHex(b) ? S_U3 : STR_DEAD;
    case S_U2D:
      return b >= 0x30 && b <= 0x37 ? S_U3 : STR_DEAD; // no surrogate escapes (\uD800-\uDFFF)
    case S_U3:
      return isHex(b) ? S_U4 : STR_DEAD;
    case S_U4:
      return isHex(b) ? S_NORMAL | CHAR_DONE : STR_DEAD;
    case S_C1:
      return b >= 0x80 && b <= 0xbf ? S_NORMAL | CHAR_DONE : STR_DEAD;
    case S_C2:
      return b >= 0x80 && b <= 0xbf ? S_C1 : STR_DEAD;
    case S_C2E0:
      return b >= 0xa0 && b <= 0xbf ? S_C1 : STR_DEAD;
    case S_C2ED:
      return b >= 0x80 && b <= 0x9f ? S_C1 : STR_DEAD;
    case S_C3:
      return b >= 0x80 && b <= 0xbf ? S_C2 : STR_DEAD;
    case S_C3F0:
      return b >= 0x90 && b <= 0xbf ? S_C2 : STR_DEAD;
    case S_C3F4:
      return b >= 0x80 && b <= 0x8f ? S_C2 : STR_DEAD;
  }
  return STR_DEAD;
}

/** STRING_TABLE[sub * 256 + byte] = stringTransition(sub, byte). */
export const STRING_TABLE = (() => {
  const t = new Int8Array(NUM_STRING_SUBSTATES * 256);
  for (let s = 0; s < NUM_STRING_SUBSTATES; s++)
    for (let b = 0; b < 256; b++) t[s * 256 + b] = stringTransition(s, b);
  return t;
})();

/** Least symbols to finish a string from (sub, count): the pending character, missing characters, `"`. */
export function stringRemaining(node: StringNode, sub: number, count: number): number {
  const pending = PENDING[sub]!;
  return pending + Math.max(0, node.min - count - (pending > 0 ? 1 : 0)) + 1;
}

export class StringFrame implements Frame {
  readonly accepting = false;
  readonly final = false;
  /** sub -1: before the opening quote. count: characters completed (capped at min when max is unbounded). */
  constructor(
    readonly node: StringNode,
    readonly sub: number,
    readonly count: number,
  ) {}
  get key(): string {
    return `${this.node.id}s${this.sub}.${this.count}`;
  }
  get cost(): number {
    return this.sub < 0 ? 2 + this.node.min : stringRemaining(this.node, this.sub, this.count);
  }
  step(b: number): Frame | null {
    const { node, sub, count } = this;
    if (sub < 0) return b === 0x22 ? new StringFrame(node, S_NORMAL, 0) : null;
    if (b > 255) return null;
    const r = STRING_TABLE[sub * 256 + b]!;
    if (r === STR_DEAD) return null;
    if (r === STR_CLOSE) return count >= node.min ? DONE : null;
    // A character starts (from NORMAL, on anything but a completed ASCII char it is pending): room for it?
    if (sub === S_NORMAL && count + 1 > node.max) return null;
    const next = r & 15;
    const c = r & CHAR_DONE ? count + 1 : count;
    return new StringFrame(node, next, Number.isFinite(node.max) ? c : Math.min(c, node.min));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Objects

const O_OPEN = 0;
const O_FIRST = 1;
const O_KEY = 2;
const O_COLON = 3;
const O_VALUE = 4;
const O_AFTER = 5;
const O_NEXT = 6;

class ObjectFrame implements Frame {
  readonly accepting = false;
  readonly final = false;
  /**
   * i: next candidate property (O_FIRST/O_AFTER/O_NEXT/O_KEY), or the property being written
   * (O_COLON/O_VALUE); c: properties written (capped, see capCount); t: position in the key trie.
   */
  constructor(
    private readonly node: ObjectNode,
    private readonly phase: number,
    private readonly ws: number,
    private readonly i: number,
    private readonly c: number,
    private readonly t: number,
  ) {}

  get key(): string {
    return `${this.node.id}o${this.phase}.${this.ws}.${this.i}.${this.c}.${this.t}`;
  }

  get cost(): number {
    const { node, phase, i, c } = this;
    switch (phase) {
      case O_OPEN:
        return node.minCost;
      case O_FIRST:
        return objectFirstCost(node);
      case O_KEY:
        return keyTrie(node, i, c).minRemain[this.t]!;
      case O_COLON:
        return 1 + this.valueCost();
      case O_VALUE:
        return this.valueCost();
      case O_AFTER:
        return objectAfterCost(node, i, c);
      default:
        return objectNextCost(node, i, c);
    }
  }

  /** The value of property i, then the rest (c already counts property i). */
  private valueCost(): number {
    const { node, i, c } = this;
    return node.props[i]!.node.minCost + objectAfterCost(node, i + 1, c);
  }

  private with(phase: number, ws: number, i: number, c: number, t = 0): ObjectFrame {
    return new ObjectFrame(this.node, phase, ws, i, capCount(this.node, c), t);
  }

  step(b: number): Frame | Push | null {
    const { node, phase, ws, i, c } = this;
    if (phase === O_OPEN) return b === 0x7b ? this.with(O_FIRST, 0, 0, 0) : null;
    if (phase === O_KEY) {
      const trie = keyTrie(node, i, c);
      const next = trie.children[this.t]!.get(b);
      if (next === undefined) return null;
      const j = trie.terminal[next]!;
      return j >= 0 ? this.with(O_COLON, 0, j, c + 1) : this.with(O_KEY, 0, i, c, next);
    }
    if (isWs(b)) return ws < MAX_WHITESPACE && phase !== O_COLON ? this.with(phase, ws + 1, i, c) : null;
    const free = node.free;
    switch (phase) {
      case O_FIRST:
      case O_NEXT:
        if (
          phase === O_FIRST &&
          b === 0x7d &&
          node.minProps === 0 &&
          (free !== null || node.reqSuffix[0] === 0)
        )
          return DONE;
        if (b !== 0x22 || c >= node.maxProps) return null;
        if (free !== null) return new Push(this.with(O_AFTER, 0, 0, c + 1), free);
        return this.with(O_KEY, 0, i, c).step(b);
      case O_COLON:
        return b === 0x3a ? this.with(O_VALUE, 0, i, c) : null;
      case O_VALUE:
        return new Push(this.with(O_AFTER, 0, i + 1, c), node.props[i]!.node);
      case O_AFTER:
        if (b === 0x7d && c >= node.minProps && (free !== null || node.reqSuffix[i] === 0)) return DONE;
        if (b === 0x2c && c < node.maxProps && (free !== null || i < node.props.length))
          return this.with(O_NEXT, 0, i, c);
        return null;
    }
    return null;
  }
}

// Entries of free-form objects: "key": value (no whitespace before the colon, as for declared keys).
const E_KEY = 0;
const E_COLON = 1;
const E_VALUE = 2;

class EntryFrame implements Frame {
  readonly accepting = false;
  readonly final = false;
  constructor(
    private readonly node: EntryNode,
    private readonly phase: number,
    private readonly ws: number,
  ) {}
  get key(): string {
    return `${this.node.id}e${this.phase}.${this.ws}`;
  }
  get cost(): number {
    const { node, phase } = this;
    return phase === E_KEY ? node.minCost : phase === E_COLON ? 1 + node.value.minCost : node.value.minCost;
  }
  step(b: number): Frame | Push | null {
    const { node, phase, ws } = this;
    if (phase === E_KEY) return new Push(new EntryFrame(node, E_COLON, 0), node.key);
    if (phase === E_COLON) return b === 0x3a ? new EntryFrame(node, E_VALUE, 0) : null;
    if (isWs(b)) return ws < MAX_WHITESPACE ? new EntryFrame(node, E_VALUE, ws + 1) : null;
    return new Push(DONE, node.value);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Arrays

const A_OPEN = 0;
const A_FIRST = 1;
const A_AFTER = 2;
const A_NEXT = 3;

class ArrayFrame implements Frame {
  readonly accepting = false;
  readonly final = false;
  constructor(
    private readonly node: ArrayNode,
    private readonly phase: number,
    private readonly ws: number,
    private readonly count: number,
  ) {}
  get key(): string {
    return `${this.node.id}a${this.phase}.${this.ws}.${this.count}`;
  }
  get cost(): number {
    return arrayCost(this.node, this.phase, this.count);
  }
  private with(phase: number, ws: number, count: number): ArrayFrame {
    const { node } = this;
    // Without a maximum, counts past the prefix and the minimum all behave alike.
    const c = Number.isFinite(node.max) ? count : Math.min(count, Math.max(node.min, node.prefix.length));
    return new ArrayFrame(node, phase, ws, c);
  }
  step(b: number): Frame | Push | null {
    const { node, phase, ws, count } = this;
    if (phase === A_OPEN) return b === 0x5b ? this.with(A_FIRST, 0, 0) : null;
    if (isWs(b)) return ws < MAX_WHITESPACE ? this.with(phase, ws + 1, count) : null;
    switch (phase) {
      case A_FIRST: {
        if (b === 0x5d) return node.min === 0 ? DONE : null;
        const item = arrayItem(node, 0);
        return item !== null ? new Push(this.with(A_AFTER, 0, 1), item) : null;
      }
      case A_AFTER:
        if (b === 0x5d) return count >= node.min ? DONE : null;
        if (b === 0x2c && arrayItem(node, count) !== null) return this.with(A_NEXT, 0, count);
        return null;
      case A_NEXT:
        return new Push(this.with(A_AFTER, 0, count + 1), arrayItem(node, count)!);
    }
    return null;
  }
}

function arrayCost(node: ArrayNode, phase: number, count: number): number {
  // From "count items written" to the end: the missing items with their separators, then "]".
  const after = (c: number) => (c >= node.min ? 0 : node.tail[c]!) + 1;
  switch (phase) {
    case A_OPEN:
      return node.minCost;
    case A_FIRST:
      return node.min === 0 ? 1 : node.tail[0]! - 1 + 1;
    case A_AFTER:
      return after(count);
    default:
      return arrayItem(node, count)!.minCost + after(count + 1);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Byte automata (bounded numbers, patterns, formats, regexes)

class AutomatonFrame implements Frame {
  readonly accepting: boolean;
  readonly final: boolean;
  constructor(
    private readonly node: AutomatonNode,
    private readonly state: number,
  ) {
    this.accepting = node.dfa.accepting[state] === 1;
    this.final = node.dfa.final[state] === 1;
  }
  get key(): string {
    return `${this.node.id}d${this.state}`;
  }
  get cost(): number {
    return this.node.dfa.dist[this.state]!;
  }
  step(b: number): Frame | null {
    const next = this.node.dfa.step(this.state, b);
    return next < 0 ? null : new AutomatonFrame(this.node, next);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tool calls: [TOOL_CALLS] name [ARGS] {arguments}

const T_START = 0;
const T_NAME = 1;
const T_PARAMS = 2;

class ToolCallFrame implements Frame {
  readonly accepting = false;
  readonly final = false;
  constructor(
    private readonly node: ToolCallNode,
    private readonly phase: number,
    private readonly t: number,
  ) {}
  get key(): string {
    return `${this.node.id}t${this.phase}.${this.t}`;
  }
  get cost(): number {
    const { node, phase, t } = this;
    return phase === T_START
      ? node.minCost
      : phase === T_NAME
        ? node.names.minRemain[t]!
        : node.tools[t]!.params.minCost;
  }
  step(sym: number): Frame | Push | null {
    const { node, phase, t } = this;
    if (phase === T_START) return sym === SYM_TOOL_CALLS ? new ToolCallFrame(node, T_NAME, 0) : null;
    if (phase === T_NAME) {
      if (sym === SYM_ARGS) {
        const k = node.names.terminal[t]!;
        return k >= 0 ? new ToolCallFrame(node, T_PARAMS, k) : null;
      }
      const next = node.names.children[t]!.get(sym);
      return next === undefined ? null : new ToolCallFrame(node, T_NAME, next);
    }
    return new Push(DONE, node.tools[t]!.params);
  }
}

// ---------------------------------------------------------------------------------------------------------

const startCache = new WeakMap<Node, Frame[]>();

/** The frames a value of `node` can start in (unions and refs expanded). */
export function startFrames(node: Node): Frame[] {
  let frames = startCache.get(node);
  if (frames !== undefined) return frames;
  switch (node.kind) {
    case "object":
      frames = [new ObjectFrame(node, O_OPEN, 0, 0, 0, 0)];
      break;
    case "entry":
      frames = [new EntryFrame(node, E_KEY, 0)];
      break;
    case "array":
      frames = [new ArrayFrame(node, A_OPEN, 0, 0)];
      break;
    case "automaton":
      frames = [new AutomatonFrame(node, 0)];
      break;
    case "string":
      frames = [new StringFrame(node, -1, 0)];
      break;
    case "number":
      frames = [new NumberFrame(node, N_START, 0)];
      break;
    case "literal":
      frames = [new LiteralFrame(node, 0)];
      break;
    case "toolcall":
      frames = [new ToolCallFrame(node, T_START, 0)];
      break;
    case "union": {
      const seen = new Set<string>();
      frames = [];
      for (const o of node.options)
        for (const f of startFrames(o))
          if (!seen.has(f.key)) {
            seen.add(f.key);
            frames.push(f);
          }
      break;
    }
    case "ref":
      frames = startFrames(node.target!);
      break;
  }
  startCache.set(node, frames);
  return frames;
}

/** Drops frames that are complete and can take nothing more (never the root). */
export function normalize(st: Stack): Stack {
  let s = st;
  while (s.frame.final && s.below !== null) s = s.below;
  return s;
}

/** The stacks for the start of a document of `node`. */
export function initialStacks(node: Node): Stack[] {
  const root = new Stack(ROOT, null);
  return startFrames(node).map((f) => new Stack(f, root));
}

/** Feeds one symbol to a stack; pushes the resulting stacks (none: rejected) onto `out`. */
export function advance(st: Stack, sym: number, out: Stack[]): void {
  const f = st.frame;
  const r = f.step(sym);
  if (r !== null) {
    if (r instanceof Push) {
      const parent = new Stack(r.frame, st.below);
      for (const child of startFrames(r.node)) advance(new Stack(child, parent), sym, out);
    } else {
      const next = new Stack(r, st.below);
      out.push(r.final ? normalize(next) : next);
    }
  }
  if (f.accepting && st.below !== null && !f.final) {
    const below = normalize(st.below);
    if (below.below !== null) advance(below, sym, out);
  }
}

/** True when the document may end here (every frame can end). */
export function canFinish(st: Stack): boolean {
  let s: Stack | null = st;
  while (s !== null) {
    if (!s.frame.accepting) return false;
    s = s.below;
  }
  return true;
}

/** Tokens needed to finish from a stack: 0 when complete, else the bytes left plus one for EOS. */
export function tokensToFinish(st: Stack): number {
  return st.done ? 0 : st.cost + 1;
}

/** Removes duplicate stacks (same key). */
export function dedupe(stacks: Stack[]): Stack[] {
  if (stacks.length < 2) return stacks;
  const seen = new Set<string>();
  return stacks.filter((s) => {
    if (seen.has(s.key)) return false;
    seen.add(s.key);
    return true;
  });
}
