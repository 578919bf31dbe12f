/**
 * A nondeterministic automaton over bytes (Thompson style): byte-range edges, epsilon edges, and the two
 * regex anchors as special edges (`^` may be taken only before the first byte, `$` only at the end).
 * `withoutAnchors` turns those into plain structure, after which `toDfa` (dfa.ts) determinizes.
 */
import { type ByteSequence, type CodePointSet, utf8Sequences } from "./code-points";

export interface ByteEdge {
  readonly lo: number;
  readonly hi: number;
  readonly to: number;
}

export interface Fragment {
  readonly start: number;
  readonly end: number;
}

/** Raised for patterns and schemas whose automaton would be too large or cannot be built. */
export class AutomatonError extends Error {}

export const MAX_NFA_STATES = 200_000;

export class Nfa {
  readonly edges: ByteEdge[][] = [];
  readonly eps: number[][] = [];
  readonly startAnchor: number[][] = [];
  readonly endAnchor: number[][] = [];
  readonly accepting: boolean[] = [];
  start = 0;

  constructor(readonly what: string) {}

  state(): number {
    if (this.edges.length >= MAX_NFA_STATES)
      throw new AutomatonError(`${this.what} needs more than ${MAX_NFA_STATES} automaton states`);
    this.edges.push([]);
    this.eps.push([]);
    this.startAnchor.push([]);
    this.endAnchor.push([]);
    this.accepting.push(false);
    return this.edges.length - 1;
  }

  get size(): number {
    return this.edges.length;
  }

  edge(from: number, lo: number, hi: number, to: number): void {
    this.edges[from]!.push({ lo, hi, to });
  }

  epsilon(from: number, to: number): void {
    this.eps[from]!.push(to);
  }

  // -------------------------------------------------------------------------------------------------------
  // Fragments

  empty(): Fragment {
    const s = this.state();
    return { start: s, end: s };
  }

  bytes(seq: ByteSequence): Fragment {
    const start = this.state();
    let at = start;
    for (const [lo, hi] of seq) {
      const next = this.state();
      this.edge(at, lo, hi, next);
      at = next;
    }
    return { start, end: at };
  }

  /** One character of the set, as UTF-8. */
  chars(set: CodePointSet): Fragment {
    const start = this.state();
    const end = this.state();
    for (const seq of utf8Sequences(set)) {
      let at = start;
      seq.forEach(([lo, hi], i) => {
        const next = i === seq.length - 1 ? end : this.state();
        this.edge(at, lo, hi, next);
        at = next;
      });
    }
    return { start, end };
  }

  literal(bytes: Uint8Array): Fragment {
    return this.bytes([...bytes].map((b) => [b, b] as const));
  }

  concat(parts: readonly Fragment[]): Fragment {
    if (parts.length === 0) return this.empty();
    for (let i = 1; i < parts.length; i++) this.epsilon(parts[i - 1]!.end, parts[i]!.start);
    return { start: parts[0]!.start, end: parts[parts.length - 1]!.end };
  }

  alternation(parts: readonly Fragment[]): Fragment {
    const start = this.state();
    const end = this.state();
    for (const p of parts) {
      this.epsilon(start, p.start);
      this.epsilon(p.end, end);
    }
    return { start, end };
  }

  optional(f: Fragment): Fragment {
    const start = this.state();
    const end = this.state();
    this.epsilon(start, f.start);
    this.epsilon(f.end, end);
    this.epsilon(start, end);
    return { start, end };
  }

  star(f: Fragment): Fragment {
    const hub = this.state();
    this.epsilon(hub, f.start);
    this.epsilon(f.end, hub);
    return { start: hub, end: hub };
  }

  /** `make()` repeated min to max times (max may be Infinity); `make` builds a fresh copy each call. */
  repeat(make: () => Fragment, min: number, max: number): Fragment {
    const parts: Fragment[] = [];
    for (let i = 0; i < min; i++) parts.push(make());
    if (max === Number.POSITIVE_INFINITY) parts.push(this.star(make()));
    else for (let i = min; i < max; i++) parts.push(this.optional(make()));
    return this.concat(parts);
  }

  anchorStart(): Fragment {
    const a = this.state();
    const b = this.state();
    this.startAnchor[a]!.push(b);
    return { start: a, end: b };
  }

  anchorEnd(): Fragment {
    const a = this.state();
    const b = this.state();
    this.endAnchor[a]!.push(b);
    return { start: a, end: b };
  }

  // -------------------------------------------------------------------------------------------------------

  /** States reachable from `from` through epsilon edges (and anchor edges when asked). */
  closure(from: Iterable<number>, anchors: { start?: boolean; end?: boolean } = {}): Set<number> {
    const seen = new Set<number>();
    const stack = [...from];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      for (const t of this.eps[s]!) stack.push(t);
      if (anchors.start) for (const t of this.startAnchor[s]!) stack.push(t);
      if (anchors.end) for (const t of this.endAnchor[s]!) stack.push(t);
    }
    return seen;
  }

  /**
   * An equivalent automaton without anchor edges: a new start leads to everything reachable at position 0
   * (`^` edges allowed there only), and every state from which the end may be asserted (`$` edges and
   * epsilons to an accepting state) becomes accepting.
   */
  withoutAnchors(): Nfa {
    const out = new Nfa(this.what);
    for (let s = 0; s < this.size; s++) out.state();
    for (let s = 0; s < this.size; s++) {
      for (const e of this.edges[s]!) out.edge(s, e.lo, e.hi, e.to);
      for (const t of this.eps[s]!) out.epsilon(s, t);
      const ends = this.closure([s], { end: true });
      out.accepting[s] = [...ends].some((t) => this.accepting[t]);
    }
    const start = out.state();
    for (const t of this.closure([this.start], { start: true })) out.epsilon(start, t);
    // At position 0 both anchors hold: the empty string is accepted when ^/$ lead to an accepting state.
    out.accepting[start] = [...this.closure([this.start], { start: true, end: true })].some(
      (t) => this.accepting[t],
    );
    out.start = start;
    return out;
  }
}
