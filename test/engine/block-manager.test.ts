import { describe, expect, it } from "vitest";
import { BlockManager, chainHash, type HashedTokens, rootHash } from "../../lib/engine/block-manager";

/** A token list as the prefix lookup sees it. */
function tokens(list: number[], startPosition = 0): HashedTokens {
  return { startPosition, numTokens: list.length, tokenAt: (i) => list[i]!, blockHashes: [] };
}

describe("BlockManager", () => {
  it("grows tables block by block; freed blocks without cached content are reused first", () => {
    const bm = new BlockManager(4, 16);
    expect(bm.capacity).toBe(64);
    const a: number[] = [];
    bm.grow(a, 1);
    expect(a).toEqual([0]);
    bm.grow(a, 16);
    expect(a).toEqual([0]);
    bm.grow(a, 17);
    expect(a).toEqual([0, 1]);
    const b: number[] = [];
    bm.grow(b, 20);
    expect(b).toEqual([2, 3]);
    expect(bm.numFreeBlocks).toBe(0);
    expect(bm.canGrow(b, 32)).toBe(true);
    expect(bm.canGrow(b, 33)).toBe(false);
    expect(() => bm.grow(b, 33)).toThrow(/1 blocks needed but only 0/);
    expect(b).toEqual([2, 3]);

    bm.release(a);
    expect(a).toEqual([]);
    expect(bm.numFreeBlocks).toBe(2);
    expect(bm.refCount(0)).toBe(0);
    expect(bm.refCount(2)).toBe(1);
    // Uncached blocks go back to the front of the free list (last block first, so 0 is in front of 1).
    const c: number[] = [];
    bm.grow(c, 32);
    expect(c).toEqual([0, 1]);
    bm.release(b);
    bm.release(c);
    expect(bm.numFreeBlocks).toBe(4);
    expect(bm.numUsedBlocks).toBe(0);
  });

  it("never frees a block twice", () => {
    const bm = new BlockManager(2, 4);
    const a: number[] = [];
    bm.grow(a, 8);
    const copy = [...a];
    bm.release(a);
    expect(() => bm.release(copy)).toThrow(/freed twice/);
    expect(bm.numFreeBlocks).toBe(2);
    expect(() => bm.release([7])).toThrow(/no block 7/);
  });

  it("keeps its books straight over random alloc/free", () => {
    const bm = new BlockManager(37, 3);
    const tables: number[][] = [];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      if (tables.length > 0 && rand(3) === 0) {
        bm.release(tables.splice(rand(tables.length), 1)[0]!);
      } else if (tables.length > 0 && rand(2) === 0) {
        const t = tables[rand(tables.length)]!;
        const want = t.length * 3 + rand(7);
        if (bm.canGrow(t, want)) bm.grow(t, want);
      } else {
        const t: number[] = [];
        const want = 1 + rand(10);
        if (bm.canGrow(t, want)) {
          bm.grow(t, want);
          tables.push(t);
        }
      }
      const used = tables.flat();
      expect(new Set(used).size).toBe(used.length);
      expect(bm.numUsedBlocks).toBe(used.length);
    }
    for (const t of tables) bm.release(t);
    expect(bm.numFreeBlocks).toBe(37);
  });

  it("chains block hashes over content and start position", () => {
    const a = chainHash(rootHash(0), [1, 2, 3, 4]);
    expect(chainHash(rootHash(0), [1, 2, 3, 4])).toBe(a);
    expect(chainHash(rootHash(1), [1, 2, 3, 4])).not.toBe(a);
    expect(chainHash(rootHash(0), [1, 2, 4, 3])).not.toBe(a);
    expect(chainHash(a, [5, 6, 7, 8])).not.toBe(chainHash(rootHash(0), [5, 6, 7, 8]));
    expect(Number.isSafeInteger(a) && a >= 0).toBe(true);
    const seen = new Set<number>();
    for (let i = 0; i < 20000; i++) seen.add(chainHash(rootHash(0), [i, i >> 3, 7]));
    expect(seen.size).toBe(20000);
  });

  it("finds registered prefixes, shares them by reference count, and keeps freed ones until evicted (LRU)", () => {
    const bm = new BlockManager(6, 4);
    const prompt = [10, 11, 12, 13, 20, 21, 22, 23, 30, 31];
    const a = tokens(prompt);
    const ta: number[] = [];
    bm.grow(ta, 10);
    expect(bm.findCached(a, 2)).toEqual([]);
    bm.register(ta[0]!, a, 0);
    bm.register(ta[1]!, a, 1);
    expect(bm.numCachedBlocks).toBe(2);

    // Same first 8 tokens: both blocks hit; another second block: only the first; other start: none.
    const b = tokens([...prompt.slice(0, 8), 99]);
    expect(bm.findCached(b, 2)).toEqual([ta[0], ta[1]]);
    expect(bm.findCached(tokens([10, 11, 12, 13, 20, 21, 22, 99, 1]), 2)).toEqual([ta[0]]);
    expect(bm.findCached(tokens(prompt, 5), 2)).toEqual([]);
    const tb: number[] = [];
    bm.acquire(tb, bm.findCached(b, 2));
    bm.grow(tb, 9);
    expect(bm.refCount(ta[0]!)).toBe(2);
    expect(bm.numUsedBlocks).toBe(4);

    // Freed cached blocks stay findable; the uncached ones are reused before them.
    bm.release(ta);
    bm.release(tb);
    expect(bm.numFreeBlocks).toBe(6);
    expect(bm.numCachedFreeBlocks).toBe(2);
    expect(bm.findCached(a, 2)).toHaveLength(2);
    const tc: number[] = [];
    bm.grow(tc, 16); // the 4 uncached blocks
    expect(bm.findCached(a, 2)).toHaveLength(2);
    expect(bm.numFreeAmong(bm.findCached(a, 2))).toBe(2);
    // Taking one more block evicts the least recently freed cached block: the tail of the chain went first.
    bm.grow(tc, 17);
    expect(bm.numCachedBlocks).toBe(1);
    expect(bm.findCached(a, 2)).toHaveLength(1);
    expect(bm.numEvictions).toBe(1);
    bm.release(tc);
    expect(bm.numFreeBlocks).toBe(6);
  });

  it("registers duplicate content once and never when prefix caching is off", () => {
    const bm = new BlockManager(4, 2);
    const s = tokens([1, 2, 3]);
    const t1: number[] = [];
    const t2: number[] = [];
    bm.grow(t1, 2);
    bm.grow(t2, 2);
    bm.register(t1[0]!, s, 0);
    bm.register(t2[0]!, s, 0);
    expect(bm.numCachedBlocks).toBe(1);
    expect(bm.findCached(s, 1)).toEqual([t1[0]]);
    const off = new BlockManager(4, 2, { prefixCaching: false });
    const t3: number[] = [];
    off.grow(t3, 2);
    off.register(t3[0]!, s, 0);
    expect(off.numCachedBlocks).toBe(0);
    expect(off.findCached(s, 1)).toEqual([]);
  });

  it("rejects a bad pool shape", () => {
    expect(() => new BlockManager(0, 16)).toThrow(RangeError);
    expect(() => new BlockManager(4, 1.5)).toThrow(RangeError);
  });
});
