/**
 * Per-tokenizer tables for computing masks, built once and shared by every grammar:
 * - a byte trie of every text token (preorder arrays: byte, depth, subtree end, token id), walked
 *   against a matcher state with whole subtrees skipped as soon as a prefix is rejected;
 * - per string sub-state, what each token does inside a JSON string (stays inside after k characters,
 *   closes it after k characters with some residue, or is invalid), so masks inside strings cost a
 *   bitmask copy plus a walk over the few tokens that close the string.
 */

import type { Tokenizer } from "../tokenizer/types";
import { CHAR_DONE, NUM_STRING_SUBSTATES, S_NORMAL, STR_CLOSE, STR_DEAD, STRING_TABLE } from "./matcher";
import { SYM_ARGS, SYM_TOOL_CALLS } from "./nodes";

/** Tokens that close a string, grouped by what follows the closing quote. */
export interface ResidueTrie {
  readonly children: Map<number, ResidueTrie>;
  /** Tokens whose residue ends here, with the characters each completes before the quote. */
  readonly tokens: number[];
  readonly chars: number[];
}

export interface StringTokenTable {
  /** The string sub-state the table starts from. */
  readonly start: number;
  /** Tokens that stay inside the string: bitmask, and per token the characters they need and end state. */
  readonly insideAll: Uint32Array;
  readonly insideIds: Int32Array;
  /** Characters completed plus one if the token ends inside a character. */
  readonly insideNeed: Int32Array;
  readonly insideChars: Int32Array;
  readonly insideEnd: Uint8Array;
  readonly maxNeed: number;
  readonly closing: ResidueTrie;
  /** Masks of inside tokens with need <= k, built on demand. */
  readonly byNeed: Map<number, Uint32Array>;
}

export class TokenTable {
  readonly vocabSize: number;
  readonly words: number;
  readonly numSpecial: number;
  readonly eosId: number;
  readonly thinkId: number | undefined;
  readonly endThinkId: number | undefined;
  readonly toolCallsId: number | undefined;
  readonly argsId: number | undefined;
  /** Token id → grammar symbol for the special tokens the grammar uses. */
  readonly specialSymbols: ReadonlyMap<number, number>;
  /** Bytes of each text token (id ≥ numSpecial): bytes[offsets[id]..offsets[id+1]). */
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  // Trie in preorder; node 0 is the root.
  readonly trieByte: Uint8Array;
  readonly trieDepth: Uint16Array;
  readonly trieEnd: Int32Array;
  readonly trieToken: Int32Array;
  /** Extra ids for byte strings that several tokens share. */
  readonly trieExtra: ReadonlyMap<number, number[]>;
  readonly maxDepth: number;
  /** Every text token (for reasoning text). */
  readonly textMask: Uint32Array;
  readonly buildMs: number;
  private readonly strings: (StringTokenTable | undefined)[] = [];

  constructor(tokenizer: Tokenizer) {
    const started = performance.now();
    const vocab = tokenizer.vocabSize;
    this.vocabSize = vocab;
    this.words = Math.ceil(vocab / 32);
    this.numSpecial = tokenizer.numSpecialTokens;
    this.eosId = tokenizer.eosId;
    this.thinkId = tokenizer.findSpecialId("[THINK]");
    this.endThinkId = tokenizer.findSpecialId("[/THINK]");
    this.toolCallsId = tokenizer.findSpecialId("[TOOL_CALLS]");
    this.argsId = tokenizer.findSpecialId("[ARGS]");
    const symbols = new Map<number, number>();
    if (this.toolCallsId !== undefined) symbols.set(this.toolCallsId, SYM_TOOL_CALLS);
    if (this.argsId !== undefined) symbols.set(this.argsId, SYM_ARGS);
    this.specialSymbols = symbols;

    const pieces: Uint8Array[] = [];
    let total = 0;
    for (let id = 0; id < vocab; id++) {
      const b = id < this.numSpecial ? new Uint8Array(0) : tokenizer.tokenBytes(id);
      pieces.push(b);
      total += b.length;
    }
    this.bytes = new Uint8Array(total);
    this.offsets = new Uint32Array(vocab + 1);
    let at = 0;
    pieces.forEach((b, id) => {
      this.offsets[id] = at;
      this.bytes.set(b, at);
      at += b.length;
    });
    this.offsets[vocab] = at;

    this.textMask = new Uint32Array(this.words);
    const ids: number[] = [];
    for (let id = this.numSpecial; id < vocab; id++) {
      if (pieces[id]!.length === 0) continue;
      ids.push(id);
      this.textMask[id >>> 5]! |= 1 << (id & 31);
    }
    ids.sort((a, b) => Buffer.compare(pieces[a]!, pieces[b]!));

    const byte: number[] = [0];
    const depth: number[] = [0];
    const end: number[] = [0];
    const token: number[] = [-1];
    const extra = new Map<number, number[]>();
    const path: number[] = [0];
    let prev: Uint8Array = new Uint8Array(0);
    let maxDepth = 0;
    for (const id of ids) {
      const b = pieces[id]!;
      let common = 0;
      while (common < b.length && common < prev.length && b[common] === prev[common]) common++;
      for (let d = path.length - 1; d > common; d--) end[path[d]!] = byte.length;
      path.length = common + 1;
      for (let d = common; d < b.length; d++) {
        path.push(byte.length);
        byte.push(b[d]!);
        depth.push(d + 1);
        end.push(0);
        token.push(-1);
      }
      const node = path[b.length]!;
      if (token[node]! < 0) token[node] = id;
      else {
        const list = extra.get(node) ?? [];
        list.push(id);
        extra.set(node, list);
      }
      maxDepth = Math.max(maxDepth, b.length);
      prev = b;
    }
    for (let d = path.length - 1; d >= 0; d--) end[path[d]!] = byte.length;
    this.trieByte = Uint8Array.from(byte);
    this.trieDepth = Uint16Array.from(depth);
    this.trieEnd = Int32Array.from(end);
    this.trieToken = Int32Array.from(token);
    this.trieExtra = extra;
    this.maxDepth = maxDepth;
    this.buildMs = performance.now() - started;
  }

  tokenBytes(id: number): Uint8Array {
    return this.bytes.subarray(this.offsets[id]!, this.offsets[id + 1]!);
  }

  /** What every text token does inside a JSON string, from string sub-state `sub` (built on first use). */
  stringTable(sub: number): StringTokenTable {
    let table = this.strings[sub];
    if (table === undefined) {
      table = this.buildStringTable(sub);
      this.strings[sub] = table;
    }
    return table;
  }

  /** Mask of inside-string tokens (from `sub`) that need at most k characters. */
  insideMask(table: StringTokenTable, k: number): Uint32Array {
    if (k >= table.maxNeed) return table.insideAll;
    let mask = table.byNeed.get(k);
    if (mask === undefined) {
      mask = new Uint32Array(this.words);
      const { insideIds, insideNeed } = table;
      for (let i = 0; i < insideIds.length; i++) {
        if (insideNeed[i]! <= k) {
          const id = insideIds[i]!;
          mask[id >>> 5]! |= 1 << (id & 31);
        }
      }
      table.byNeed.set(k, mask);
    }
    return mask;
  }

  private buildStringTable(start: number): StringTokenTable {
    if (start < 0 || start >= NUM_STRING_SUBSTATES) throw new RangeError(`string sub-state ${start}`);
    const insideAll = new Uint32Array(this.words);
    const insideIds: number[] = [];
    const insideNeed: number[] = [];
    const insideChars: number[] = [];
    const insideEnd: number[] = [];
    const closing: ResidueTrie = { children: new Map(), tokens: [], chars: [] };
    let maxNeed = 0;
    const { bytes, offsets } = this;
    for (let id = this.numSpecial; id < this.vocabSize; id++) {
      const from = offsets[id]!;
      const to = offsets[id + 1]!;
      if (from === to) continue;
      let sub = start;
      let chars = 0;
      let closeAt = -1;
      for (let p = from; p < to; p++) {
        const r = STRING_TABLE[sub * 256 + bytes[p]!]!;
        if (r === STR_DEAD) {
          sub = -1;
          break;
        }
        if (r === STR_CLOSE) {
          closeAt = p + 1;
          break;
        }
        if (r & CHAR_DONE) chars++;
        sub = r & 15;
      }
      if (sub < 0) continue;
      if (closeAt >= 0) {
        let node = closing;
        for (let p = closeAt; p < to; p++) {
          const b = bytes[p]!;
          let child = node.children.get(b);
          if (child === undefined) {
            child = { children: new Map(), tokens: [], chars: [] };
            node.children.set(b, child);
          }
          node = child;
        }
        node.tokens.push(id);
        node.chars.push(chars);
        continue;
      }
      const need = chars + (sub === S_NORMAL ? 0 : 1);
      insideIds.push(id);
      insideNeed.push(need);
      insideChars.push(chars);
      insideEnd.push(sub);
      insideAll[id >>> 5]! |= 1 << (id & 31);
      maxNeed = Math.max(maxNeed, need);
    }
    return {
      start,
      insideAll,
      insideIds: Int32Array.from(insideIds),
      insideNeed: Int32Array.from(insideNeed),
      insideChars: Int32Array.from(insideChars),
      insideEnd: Uint8Array.from(insideEnd),
      maxNeed,
      closing,
      byNeed: new Map(),
    };
  }
}

const tables = new WeakMap<Tokenizer, TokenTable>();

/** The shared table of a tokenizer (built on first use: ~0.1–1 s for a 131k vocabulary). */
export function tokenTableFor(tokenizer: Tokenizer): TokenTable {
  let t = tables.get(tokenizer);
  if (t === undefined) {
    t = new TokenTable(tokenizer);
    tables.set(tokenizer, t);
  }
  return t;
}
