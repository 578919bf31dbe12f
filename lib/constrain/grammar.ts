/**
 * A compiled grammar bound to a tokenizer: the matcher's start state, token masks and token steps.
 *
 * Mask of a state (a set of stacks) = union over its stacks of:
 * - inside a string: the precomputed mask of tokens that stay inside (by characters left before
 *   maxLength), plus the tokens that close it, found by walking their residues against the stack below;
 * - elsewhere: a walk of the vocabulary's byte trie against the stack (rejected prefixes skip their whole
 *   subtree), plus the special tokens the grammar places; memoised per stack.
 * A token is allowed only when the tokens left after it still cover the shortest way to finish
 * (`tokensToFinish`), so the document always completes within maxTokens.
 */

import {
  advance,
  canFinish,
  dedupe,
  initialStacks,
  normalize,
  type Stack,
  StringFrame,
  stringRemaining,
  tokensToFinish,
} from "./matcher";
import type { Node } from "./nodes";
import type { ResidueTrie, StringTokenTable, TokenTable } from "./token-table";

interface ClosingTokens {
  readonly ids: Int32Array;
  readonly chars: Int32Array;
  readonly fin: Int32Array;
}

interface WalkResult {
  readonly ids: Int32Array;
  /** tokensToFinish after each token. */
  readonly fin: Int32Array;
  readonly maxFin: number;
}

const MAX_CACHED_WALKS = 4096;

export class Grammar {
  readonly initial: readonly Stack[];
  /** Tokens the shortest complete output takes (EOS included when the document does not end by itself). */
  readonly minTokens: number;
  private readonly walks = new Map<string, WalkResult>();
  private readonly closings = new Map<string, ClosingTokens>();

  constructor(
    readonly table: TokenTable,
    readonly root: Node,
  ) {
    this.initial = initialStacks(root);
    this.minTokens = finishOf(this.initial);
  }

  /** Tokens needed to finish from a state. */
  finish(stacks: readonly Stack[]): number {
    return finishOf(stacks);
  }

  isComplete(stacks: readonly Stack[]): boolean {
    return stacks.length > 0 && stacks.every((s) => s.done);
  }

  /**
   * ORs into `mask` the tokens allowed next with `remaining` tokens left (this one included); EOS is
   * allowed when the document may end here.
   */
  fillMask(stacks: readonly Stack[], remaining: number, mask: Uint32Array): void {
    const budget = remaining - 1;
    for (const st of stacks) {
      if (st.frame instanceof StringFrame && st.frame.sub >= 0) this.stringMask(st, st.frame, budget, mask);
      else this.genericMask(st, budget, mask);
    }
    if (stacks.some((s) => !s.done && canFinish(s))) setBit(mask, this.table.eosId);
  }

  /** The state after a token (not EOS); throws when the token is not allowed. */
  advanceToken(stacks: readonly Stack[], id: number): Stack[] {
    const sym = this.table.specialSymbols.get(id);
    let cur: Stack[] = [...stacks];
    const feed = (s: number) => {
      const next: Stack[] = [];
      for (const st of cur) advance(st, s, next);
      cur = dedupe(next);
    };
    if (sym !== undefined) feed(sym);
    else if (id >= this.table.numSpecial && id < this.table.vocabSize) {
      for (const b of this.table.tokenBytes(id)) {
        feed(b);
        if (cur.length === 0) break;
      }
    } else cur = [];
    if (cur.length === 0)
      throw new Error(`constrained decoding: token ${id} is not allowed by the grammar here`);
    return cur;
  }

  private genericMask(st: Stack, budget: number, mask: Uint32Array): void {
    let walk = this.walks.get(st.key);
    if (walk === undefined) {
      walk = this.walk(st);
      if (this.walks.size >= MAX_CACHED_WALKS) this.walks.clear();
      this.walks.set(st.key, walk);
    }
    const { ids, fin } = walk;
    if (walk.maxFin <= budget) {
      for (let i = 0; i < ids.length; i++) setBit(mask, ids[i]!);
    } else {
      for (let i = 0; i < ids.length; i++) if (fin[i]! <= budget) setBit(mask, ids[i]!);
    }
  }

  private walk(st: Stack): WalkResult {
    const t = this.table;
    const ids: number[] = [];
    const fin: number[] = [];
    const record = (id: number, stacks: readonly Stack[]) => {
      const f = finishOf(stacks);
      // A state no document can be finished from (e.g. too few properties left for minProperties).
      if (!Number.isFinite(f)) return;
      ids.push(id);
      fin.push(f);
    };
    const levels: Stack[][] = new Array(t.maxDepth + 1);
    levels[0] = [st];
    const { trieByte, trieDepth, trieEnd, trieToken, trieExtra } = t;
    const n = trieByte.length;
    let i = 1;
    while (i < n) {
      const parent = levels[trieDepth[i]! - 1]!;
      let next: Stack[] = [];
      const b = trieByte[i]!;
      for (const s of parent) advance(s, b, next);
      if (next.length === 0) {
        i = trieEnd[i]!;
        continue;
      }
      if (next.length > 1) next = dedupe(next);
      levels[trieDepth[i]!] = next;
      const tok = trieToken[i]!;
      if (tok >= 0) {
        record(tok, next);
        for (const extra of trieExtra.get(i) ?? []) record(extra, next);
      }
      i++;
    }
    for (const [id, sym] of t.specialSymbols) {
      const next: Stack[] = [];
      advance(st, sym, next);
      if (next.length > 0) record(id, next);
    }
    return { ids: Int32Array.from(ids), fin: Int32Array.from(fin), maxFin: Math.max(0, ...fin) };
  }

  private stringMask(st: Stack, f: StringFrame, budget: number, mask: Uint32Array): void {
    const t = this.table;
    const { node, sub, count } = f;
    const table = t.stringTable(sub);
    const below = st.below!;
    const k = node.max - count;
    // Inside tokens: at most this many tokens to finish afterwards (pending char ≤ 4 bytes).
    const worst = below.cost + 4 + Math.max(0, node.min - count) + 1 + 1;
    if (worst <= budget) orInto(mask, t.insideMask(table, k));
    else {
      const { insideIds, insideNeed, insideChars, insideEnd } = table;
      for (let i = 0; i < insideIds.length; i++) {
        if (insideNeed[i]! > k) continue;
        const cost = below.cost + stringRemaining(node, insideEnd[i]!, count + insideChars[i]!) + 1;
        if (cost <= budget) setBit(mask, insideIds[i]!);
      }
    }
    const closing = this.closingTokens(table, normalize(below));
    const { ids, chars, fin } = closing;
    for (let i = 0; i < ids.length; i++) {
      const c = count + chars[i]!;
      if (fin[i]! <= budget && c >= node.min && c <= node.max) setBit(mask, ids[i]!);
    }
  }

  /**
   * The tokens that close a string and go on validly in the state below it (the string's residue walked
   * against that state), with the characters each adds before the quote and the tokens to finish after
   * it; memoised per state below.
   */
  private closingTokens(table: StringTokenTable, popped: Stack): ClosingTokens {
    const key = `${table.start}|${popped.key}`;
    let found = this.closings.get(key);
    if (found !== undefined) return found;
    const ids: number[] = [];
    const chars: number[] = [];
    const fin: number[] = [];
    const visit = (r: ResidueTrie, stacks: Stack[]) => {
      if (r.tokens.length > 0) {
        const f = finishOf(stacks);
        if (Number.isFinite(f))
          for (let j = 0; j < r.tokens.length; j++) {
            ids.push(r.tokens[j]!);
            chars.push(r.chars[j]!);
            fin.push(f);
          }
      }
      for (const [b, child] of r.children) {
        let next: Stack[] = [];
        for (const s of stacks) advance(s, b, next);
        if (next.length === 0) continue;
        if (next.length > 1) next = dedupe(next);
        visit(child, next);
      }
    };
    visit(table.closing, [popped]);
    found = { ids: Int32Array.from(ids), chars: Int32Array.from(chars), fin: Int32Array.from(fin) };
    if (this.closings.size >= MAX_CACHED_WALKS) this.closings.clear();
    this.closings.set(key, found);
    return found;
  }
}

function finishOf(stacks: readonly Stack[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (const s of stacks) best = Math.min(best, tokensToFinish(s));
  return best;
}

export function setBit(mask: Uint32Array, id: number): void {
  mask[id >>> 5]! |= 1 << (id & 31);
}

function orInto(mask: Uint32Array, other: Uint32Array): void {
  for (let i = 0; i < mask.length; i++) mask[i]! |= other[i]!;
}
