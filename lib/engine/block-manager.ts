/**
 * BlockManager: bookkeeping over the paged KV pool, integers only. The pool has `numBlocks` blocks of
 * `blockSize` entries; a sequence's block table lists the blocks holding its entries in order. Blocks are
 * reference-counted so that several sequences can share the blocks of a common prefix.
 *
 * Prefix cache: once a block is full of computed entries, it can be registered under the hash of its
 * content, chained over its parent block's hash (the root hash covers the RoPE start position, so the
 * same tokens at other positions never match). A new sequence looks its full prompt blocks up and takes a
 * reference to the ones found instead of computing them. A block whose last reference goes stays cached
 * while it sits in the free list: free blocks with no cached content are reused first, cached ones in
 * least-recently-freed order (a block is evicted, i.e. forgets its hash, only when it is taken for new
 * content). Lookups verify the stored tokens and parent hash, so a hash collision can never alias content.
 * Entries fed by input embeddings (lib/engine/input-embeddings.ts) add their rows' content keys to the hash and
 * to the verification, so the same token ids with different rows never share a block.
 *
 * Misuse (freeing a free block, growing past the pool) throws: it is an engine bug.
 */

const NONE = -1;

export interface BlockManagerOptions {
  /** Register full blocks by content and reuse them (default true). */
  readonly prefixCaching?: boolean;
}

/** What a prefix lookup needs from a sequence: its tokens and the hashes of its full blocks. */
export interface HashedTokens {
  readonly startPosition: number;
  readonly numTokens: number;
  tokenAt(i: number): number;
  /** Content key of entry i's input embedding, 0 for a plain token (lib/engine/input-embeddings.ts). */
  inputKeyAt?(i: number): number;
  /** Chain hashes of the first full blocks, extended on demand by `BlockManager.hashes`. */
  readonly blockHashes: number[];
}

export class BlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly prefixCaching: boolean;
  private readonly refCounts: Int32Array;
  /** Doubly linked free list (head is reused first); NONE ends it. */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly isFree: Uint8Array;
  private head = NONE;
  private tail = NONE;
  private freeCount = 0;
  /** Hash of each cached block (NaN when it holds no registered content). */
  private readonly hashOf: Float64Array;
  /** Hash of the parent block of each cached block (the root hash for a first block). */
  private readonly parentOf: Float64Array;
  /** Tokens of each cached block, to verify lookups. */
  private readonly tokens: Int32Array;
  /** Input-embedding content key of each cached entry (0 for plain tokens), compared like the tokens. */
  private readonly inputKeys: Int32Array;
  private readonly byHash = new Map<number, number>();
  private cachedFree = 0;
  /** Blocks taken for new content that held cached content (evictions), for stats. */
  numEvictions = 0;

  constructor(numBlocks: number, blockSize: number, options: BlockManagerOptions = {}) {
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1)
      throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isSafeInteger(blockSize) || blockSize < 1)
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.prefixCaching = options.prefixCaching ?? true;
    this.refCounts = new Int32Array(numBlocks);
    this.prev = new Int32Array(numBlocks).fill(NONE);
    this.next = new Int32Array(numBlocks).fill(NONE);
    this.isFree = new Uint8Array(numBlocks);
    this.hashOf = new Float64Array(numBlocks).fill(Number.NaN);
    this.parentOf = new Float64Array(numBlocks).fill(Number.NaN);
    this.tokens = new Int32Array(this.prefixCaching ? numBlocks * blockSize : 0);
    this.inputKeys = new Int32Array(this.prefixCaching ? numBlocks * blockSize : 0);
    for (let b = 0; b < numBlocks; b++) this.pushBack(b);
  }

  /** KV entries the whole pool holds. */
  get capacity(): number {
    return this.numBlocks * this.blockSize;
  }

  /** Blocks no sequence references (cached ones included: they are evicted when taken). */
  get numFreeBlocks(): number {
    return this.freeCount;
  }

  get numUsedBlocks(): number {
    return this.numBlocks - this.freeCount;
  }

  /** Blocks holding registered prefix content, in use or free. */
  get numCachedBlocks(): number {
    return this.byHash.size;
  }

  /** Free blocks that still hold registered prefix content (reusable until evicted). */
  get numCachedFreeBlocks(): number {
    return this.cachedFree;
  }

  refCount(block: number): number {
    return this.refCounts[block] ?? 0;
  }

  /** Blocks needed to hold `entries` KV entries. */
  blocksFor(entries: number): number {
    return Math.ceil(entries / this.blockSize);
  }

  /** Blocks a table must gain to hold `entries` entries. */
  blocksToGrow(table: readonly number[], entries: number): number {
    return Math.max(0, this.blocksFor(entries) - table.length);
  }

  /** Whether `table` can grow to hold `entries` entries now. */
  canGrow(table: readonly number[], entries: number): boolean {
    return this.blocksToGrow(table, entries) <= this.freeCount;
  }

  /** Appends blocks to `table` until it holds `entries` entries. */
  grow(table: number[], entries: number): void {
    const need = this.blocksToGrow(table, entries);
    if (need > this.freeCount)
      throw new Error(`BlockManager: ${need} blocks needed but only ${this.freeCount} are free`);
    for (let i = 0; i < need; i++) table.push(this.take());
  }

  /** Drops one reference to each block of `table` (returning unreferenced ones to the pool) and empties it. */
  release(table: number[]): void {
    // Last block first: a sequence's tail is evicted before its head (the head is the likelier shared prefix).
    for (let i = table.length - 1; i >= 0; i--) this.unref(table[i]!);
    table.length = 0;
  }

  /** Extends `seq.blockHashes` to its first `count` full blocks and returns them. */
  hashes(seq: HashedTokens, count: number): number[] {
    const bs = this.blockSize;
    const out = seq.blockHashes;
    if (count * bs > seq.numTokens) throw new Error("BlockManager.hashes: the sequence has too few tokens");
    const block = new Int32Array(2 * bs);
    while (out.length < count) {
      const b = out.length;
      let keyed = false;
      for (let k = 0; k < bs; k++) {
        block[k] = seq.tokenAt(b * bs + k);
        const key = seq.inputKeyAt?.(b * bs + k) ?? 0;
        block[bs + k] = key;
        if (key !== 0) keyed = true;
      }
      // A block of plain tokens hashes its tokens only; one with input embeddings also its rows' keys.
      const parent = b === 0 ? rootHash(seq.startPosition) : out[b - 1]!;
      out.push(chainHash(parent, keyed ? block : block.subarray(0, bs)));
    }
    return out;
  }

  /**
   * The cached blocks holding the longest prefix of `seq`'s first `maxBlocks` full blocks (not taken yet:
   * pass them to `acquire`). Empty when prefix caching is off.
   */
  findCached(seq: HashedTokens, maxBlocks: number): number[] {
    if (!this.prefixCaching || maxBlocks <= 0 || this.byHash.size === 0) return [];
    const hashes = this.hashes(seq, maxBlocks);
    const bs = this.blockSize;
    const found: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const block = this.byHash.get(hashes[i]!);
      if (block === undefined) break;
      const parent = i === 0 ? rootHash(seq.startPosition) : hashes[i - 1]!;
      if (this.parentOf[block] !== parent) break;
      let same = true;
      for (let k = 0; k < bs && same; k++) {
        same =
          this.tokens[block * bs + k] === seq.tokenAt(i * bs + k) &&
          this.inputKeys[block * bs + k] === (seq.inputKeyAt?.(i * bs + k) ?? 0);
      }
      if (!same) break;
      found.push(block);
    }
    return found;
  }

  /** How many of `blocks` are free now (they count as free, but taking them as cache hits uses them up). */
  numFreeAmong(blocks: readonly number[]): number {
    let n = 0;
    for (const b of blocks) if (this.isFree[b] === 1) n++;
    return n;
  }

  /** Takes a reference to each cached block of `blocks` (from findCached) and appends it to `table`. */
  acquire(table: number[], blocks: readonly number[]): void {
    for (const b of blocks) {
      if (Number.isNaN(this.hashOf[b]!)) throw new Error(`BlockManager: block ${b} holds no cached content`);
      if (this.isFree[b] === 1) {
        this.unlink(b);
        this.cachedFree--;
      }
      this.refCounts[b]!++;
      table.push(b);
    }
  }

  /**
   * Registers `block` (full of computed entries: block `index` of `seq`) as cached content. A block whose
   * content another block already holds stays unregistered (two sequences computed the same prefix at once).
   */
  register(block: number, seq: HashedTokens, index: number): void {
    if (!this.prefixCaching) return;
    if (this.refCounts[block]! <= 0) throw new Error(`BlockManager: registering free block ${block}`);
    const hash = this.hashes(seq, index + 1)[index]!;
    if (!Number.isNaN(this.hashOf[block]!) || this.byHash.has(hash)) return;
    const bs = this.blockSize;
    for (let k = 0; k < bs; k++) {
      this.tokens[block * bs + k] = seq.tokenAt(index * bs + k);
      this.inputKeys[block * bs + k] = seq.inputKeyAt?.(index * bs + k) ?? 0;
    }
    this.hashOf[block] = hash;
    this.parentOf[block] = index === 0 ? rootHash(seq.startPosition) : seq.blockHashes[index - 1]!;
    this.byHash.set(hash, block);
  }

  private take(): number {
    const block = this.head;
    if (block === NONE) throw new Error("BlockManager: no free block");
    this.unlink(block);
    if (this.refCounts[block] !== 0) throw new Error(`BlockManager: free block ${block} is referenced`);
    if (!Number.isNaN(this.hashOf[block]!)) {
      this.cachedFree--;
      this.evict(block);
      this.numEvictions++;
    }
    this.refCounts[block] = 1;
    return block;
  }

  private unref(block: number): void {
    if (!(block >= 0 && block < this.numBlocks)) throw new Error(`BlockManager: no block ${block}`);
    const count = this.refCounts[block]!;
    if (count <= 0) throw new Error(`BlockManager: block ${block} freed twice`);
    this.refCounts[block] = count - 1;
    if (count > 1) return;
    if (Number.isNaN(this.hashOf[block]!)) this.pushFront(block);
    else {
      this.pushBack(block);
      this.cachedFree++;
    }
  }

  private evict(block: number): void {
    this.byHash.delete(this.hashOf[block]!);
    this.hashOf[block] = Number.NaN;
    this.parentOf[block] = Number.NaN;
  }

  private pushBack(b: number): void {
    this.prev[b] = this.tail;
    this.next[b] = NONE;
    if (this.tail === NONE) this.head = b;
    else this.next[this.tail] = b;
    this.tail = b;
    this.isFree[b] = 1;
    this.freeCount++;
  }

  private pushFront(b: number): void {
    this.prev[b] = NONE;
    this.next[b] = this.head;
    if (this.head === NONE) this.tail = b;
    else this.prev[this.head] = b;
    this.head = b;
    this.isFree[b] = 1;
    this.freeCount++;
  }

  private unlink(b: number): void {
    const p = this.prev[b]!;
    const n = this.next[b]!;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
    this.prev[b] = NONE;
    this.next[b] = NONE;
    this.isFree[b] = 0;
    this.freeCount--;
  }
}

/** 53-bit hash of a block's tokens chained over its parent's hash (two 32-bit lanes, murmur-style mixing). */
export function chainHash(parent: number, tokens: ArrayLike<number>): number {
  let a = (parent >>> 0) ^ 0x9e3779b9;
  let b = Math.floor(parent / 2 ** 32) ^ 0x85ebca6b;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]! | 0;
    a = Math.imul(rotl(a ^ Math.imul(t, 0xcc9e2d51), 15), 0x1b873593);
    a = (Math.imul(rotl(a, 13), 5) + 0xe6546b64) | 0;
    b = Math.imul(rotl(b ^ Math.imul(t ^ 0x5bd1e995, 0x27d4eb2f), 17), 0x165667b1);
    b = (Math.imul(rotl(b, 11), 9) + 0x2545f491) | 0;
  }
  a = fmix(a ^ tokens.length);
  b = fmix(b ^ Math.imul(tokens.length, 0x9e3779b1) ^ a);
  return (b & 0x1fffff) * 2 ** 32 + (a >>> 0);
}

/** The parent hash of a sequence's first block: it covers the RoPE position of entry 0. */
export function rootHash(startPosition: number): number {
  return chainHash(0x6d73_3420, [startPosition & 0x7fffffff, Math.floor(startPosition / 2 ** 31)]);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x;
}
