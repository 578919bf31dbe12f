import { describe, expect, it } from "vitest";
import { BlockManager } from "../../lib/engine/block-manager.js";

describe("BlockManager", () => {
  it("grows tables block by block and returns blocks first-in first-out", () => {
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
    // Freed last-block-first: 1 then 0 come back in that order.
    const c: number[] = [];
    bm.grow(c, 32);
    expect(c).toEqual([1, 0]);
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

  it("rejects a bad pool shape", () => {
    expect(() => new BlockManager(0, 16)).toThrow(RangeError);
    expect(() => new BlockManager(4, 1.5)).toThrow(RangeError);
  });
});
