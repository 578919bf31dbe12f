/**
 * Deterministic byte automata. `buildDfa` explores a state space given by a step function (subsets of an
 * NFA, products of two DFAs, the digit states of a number range) and produces a `ByteDfa`: an explicit
 * transition table over byte classes, with each state's distance to acceptance. States from which nothing
 * can be accepted are dropped, so every live transition leads somewhere a document can still end, and the
 * distances are exact shortest completions (what the termination guarantee relies on).
 */
import { AutomatonError, Nfa } from "./nfa";

/** A state space explored by buildDfa. */
export interface DfaSource<S> {
  readonly start: S;
  key(s: S): string;
  /** The state after byte b, or null. */
  step(s: S, b: number): S | null;
  accepting(s: S): boolean;
  /** Byte ranges within each of which step behaves the same for every byte; bytes outside lead nowhere. */
  readonly classes: readonly (readonly [number, number])[];
}

export const MAX_DFA_STATES = 60_000;

export class ByteDfa {
  constructor(
    /** Byte → class index, -1 when no state moves on the byte. */
    readonly classOf: Int16Array,
    readonly numClasses: number,
    /** next[state * numClasses + class]: the next state, -1 for none. State 0 is the start. */
    readonly next: Int32Array,
    readonly accepting: Uint8Array,
    /** Fewest bytes from each state to an accepting state. */
    readonly dist: Int32Array,
    /** Accepting with no way to go on. */
    readonly final: Uint8Array,
  ) {}

  get numStates(): number {
    return this.accepting.length;
  }

  step(state: number, b: number): number {
    if (b < 0 || b > 255) return -1;
    const c = this.classOf[b]!;
    return c < 0 ? -1 : this.next[state * this.numClasses + c]!;
  }

  /** True when the whole byte string is accepted. */
  accepts(bytes: Uint8Array): boolean {
    let s = 0;
    for (const b of bytes) {
      s = this.step(s, b);
      if (s < 0) return false;
    }
    return this.accepting[s] === 1;
  }

  /** The DFA as an NFA (to compose it with NFA-level transformations). */
  toNfa(what: string): Nfa {
    const nfa = new Nfa(what);
    for (let s = 0; s < this.numStates; s++) nfa.state();
    const runs: [number, number, number][] = []; // [lo, hi, class]
    for (let b = 0; b < 256; b++) {
      const c = this.classOf[b]!;
      if (c < 0) continue;
      const last = runs[runs.length - 1];
      if (last && last[2] === c && last[1] === b - 1) last[1] = b;
      else runs.push([b, b, c]);
    }
    for (let s = 0; s < this.numStates; s++) {
      nfa.accepting[s] = this.accepting[s] === 1;
      for (const [lo, hi, c] of runs) {
        const t = this.next[s * this.numClasses + c]!;
        if (t >= 0) nfa.edge(s, lo, hi, t);
      }
    }
    nfa.start = 0;
    return nfa;
  }
}

/** Explores `src` from its start; throws AutomatonError past maxStates, or when nothing is accepted. */
export function buildDfa<S>(src: DfaSource<S>, what: string, maxStates = MAX_DFA_STATES): ByteDfa {
  const classOf = new Int16Array(256).fill(-1);
  const reps: number[] = [];
  for (const [lo, hi] of src.classes) {
    for (let b = lo; b <= hi; b++) classOf[b] = reps.length;
    reps.push(lo);
  }
  const numClasses = reps.length;
  const ids = new Map<string, number>();
  const states: S[] = [];
  const next: number[] = [];
  const add = (s: S): number => {
    const k = src.key(s);
    let id = ids.get(k);
    if (id === undefined) {
      id = states.length;
      if (id >= maxStates) throw new AutomatonError(`${what} needs more than ${maxStates} automaton states`);
      ids.set(k, id);
      states.push(s);
    }
    return id;
  };
  add(src.start);
  for (let i = 0; i < states.length; i++) {
    const s = states[i]!;
    for (let c = 0; c < numClasses; c++) {
      const t = src.step(s, reps[c]!);
      next.push(t === null ? -1 : add(t));
    }
  }
  const n = states.length;
  const accepting = Uint8Array.from(states, (s) => (src.accepting(s) ? 1 : 0));
  // Reverse BFS from the accepting states: dist = fewest bytes to acceptance.
  const reverse: number[][] = Array.from({ length: n }, () => []);
  for (let s = 0; s < n; s++)
    for (let c = 0; c < numClasses; c++) {
      const t = next[s * numClasses + c]!;
      if (t >= 0) reverse[t]!.push(s);
    }
  const INF = 0x7fffffff;
  const dist = new Int32Array(n).fill(INF);
  const queue: number[] = [];
  for (let s = 0; s < n; s++)
    if (accepting[s]) {
      dist[s] = 0;
      queue.push(s);
    }
  for (let q = 0; q < queue.length; q++) {
    const t = queue[q]!;
    for (const s of reverse[t]!)
      if (dist[s] === INF) {
        dist[s] = dist[t]! + 1;
        queue.push(s);
      }
  }
  if (dist[0] === INF) throw new AutomatonError(`${what} accepts nothing`);
  // Keep live states only (renumbered, start stays 0).
  const live = new Int32Array(n).fill(-1);
  let count = 0;
  for (let s = 0; s < n; s++) if (dist[s] !== INF) live[s] = count++;
  const outNext = new Int32Array(count * numClasses).fill(-1);
  const outAccepting = new Uint8Array(count);
  const outDist = new Int32Array(count);
  const outFinal = new Uint8Array(count);
  for (let s = 0; s < n; s++) {
    const id = live[s]!;
    if (id < 0) continue;
    outAccepting[id] = accepting[s]!;
    outDist[id] = dist[s]!;
    let moves = false;
    for (let c = 0; c < numClasses; c++) {
      const t = next[s * numClasses + c]!;
      const lt = t >= 0 ? live[t]! : -1;
      outNext[id * numClasses + c] = lt;
      if (lt >= 0) moves = true;
    }
    outFinal[id] = accepting[s] && !moves ? 1 : 0;
  }
  return new ByteDfa(classOf, numClasses, outNext, outAccepting, outDist, outFinal);
}

/** Byte classes: maximal ranges not split by any of the given range boundaries. */
export function classesOf(ranges: Iterable<readonly [number, number]>): [number, number][] {
  const cuts = new Set<number>([0, 256]);
  for (const [lo, hi] of ranges) {
    cuts.add(lo);
    cuts.add(hi + 1);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < sorted.length; i++) out.push([sorted[i]!, sorted[i + 1]! - 1]);
  return out;
}

/** Subset construction of an anchor-free NFA. */
export function nfaToDfa(nfa: Nfa, maxStates = MAX_DFA_STATES): ByteDfa {
  const all: [number, number][] = [];
  for (const list of nfa.edges) for (const e of list) all.push([e.lo, e.hi]);
  const closureOf = (from: Iterable<number>) => [...nfa.closure(from)].sort((a, b) => a - b);
  return buildDfa<number[]>(
    {
      start: closureOf([nfa.start]),
      key: (s) => s.join(","),
      step: (s, b) => {
        const to: number[] = [];
        for (const q of s) for (const e of nfa.edges[q]!) if (b >= e.lo && b <= e.hi) to.push(e.to);
        return to.length === 0 ? null : closureOf(to);
      },
      accepting: (s) => s.some((q) => nfa.accepting[q]),
      classes: classesOf(all),
    },
    nfa.what,
    maxStates,
  );
}

function pairClasses(a: ByteDfa, b: ByteDfa): [number, number][] {
  const out: [number, number][] = [];
  for (let x = 0; x < 256; x++) {
    const last = out[out.length - 1];
    if (
      last &&
      a.classOf[x] === a.classOf[last[0]] &&
      b.classOf[x] === b.classOf[last[0]] &&
      last[1] === x - 1
    )
      last[1] = x;
    else out.push([x, x]);
  }
  return out;
}

/** Strings both accept. */
export function intersect(a: ByteDfa, b: ByteDfa, what: string): ByteDfa {
  return buildDfa<readonly [number, number]>(
    {
      start: [0, 0],
      key: (s) => `${s[0]},${s[1]}`,
      step: (s, x) => {
        const p = a.step(s[0], x);
        const q = p < 0 ? -1 : b.step(s[1], x);
        return q < 0 ? null : [p, q];
      },
      accepting: (s) => a.accepting[s[0]] === 1 && b.accepting[s[1]] === 1,
      classes: pairClasses(a, b),
    },
    what,
  );
}

/** Strings `universe` accepts and `a` does not. */
export function difference(universe: ByteDfa, a: ByteDfa, what: string): ByteDfa {
  return buildDfa<readonly [number, number]>(
    {
      start: [0, 0],
      key: (s) => `${s[0]},${s[1]}`,
      step: (s, x) => {
        const u = universe.step(s[0], x);
        if (u < 0) return null;
        return [u, s[1] < 0 ? -1 : a.step(s[1], x)];
      },
      accepting: (s) => universe.accepting[s[0]] === 1 && (s[1] < 0 || a.accepting[s[1]] === 0),
      classes: pairClasses(universe, a),
    },
    what,
  );
}
