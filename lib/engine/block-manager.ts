/**
 * BlockManager: bookkeeping over the paged KV pool, integers only. The pool has `numBlocks` blocks of
 * `blockSize` entries; a sequence's block table lists the blocks holding its entries in order. Blocks carry
 * a reference count so that shared prefix blocks can be added later (today every block has one owner).
 * Free blocks are reused first-in first-out, so a freed block stays untouched as long as possible (what a
 * prefix cache wants). Misuse (freeing a free block, growing past the pool) throws: it is an engine bug.
 */

export class BlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  private readonly refCounts: Int32Array;
  /** Circular FIFO of free block ids. */
  private readonly freeQueue: Int32Array;
  private freeHead = 0;
  private freeCount: number;

  constructor(numBlocks: number, blockSize: number) {
    if (!Number.isSafeInteger(numBlocks) || numBlocks < 1)
      throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isSafeInteger(blockSize) || blockSize < 1)
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.refCounts = new Int32Array(numBlocks);
    this.freeQueue = new Int32Array(numBlocks);
    for (let i = 0; i < numBlocks; i++) this.freeQueue[i] = i;
    this.freeCount = numBlocks;
  }

  /** KV entries the whole pool holds. */
  get capacity(): number {
    return this.numBlocks * this.blockSize;
  }

  get numFreeBlocks(): number {
    return this.freeCount;
  }

  get numUsedBlocks(): number {
    return this.numBlocks - this.freeCount;
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
    // Last block first, so a later prefix cache evicts a sequence's tail before its head.
    for (let i = table.length - 1; i >= 0; i--) this.unref(table[i]!);
    table.length = 0;
  }

  private take(): number {
    const block = this.freeQueue[this.freeHead]!;
    this.freeHead = (this.freeHead + 1) % this.numBlocks;
    this.freeCount--;
    if (this.refCounts[block] !== 0) throw new Error(`BlockManager: free block ${block} is referenced`);
    this.refCounts[block] = 1;
    return block;
  }

  private unref(block: number): void {
    if (!(block >= 0 && block < this.numBlocks)) throw new Error(`BlockManager: no block ${block}`);
    const count = this.refCounts[block]!;
    if (count <= 0) throw new Error(`BlockManager: block ${block} freed twice`);
    this.refCounts[block] = count - 1;
    if (count === 1) {
      this.freeQueue[(this.freeHead + this.freeCount) % this.numBlocks] = block;
      this.freeCount++;
    }
  }
}
