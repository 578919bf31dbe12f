/**
 * Input embeddings: vectors that replace the token-embedding lookup of some prompt entries (the projected image
 * patches of a vision request go in this way). A sequence carries them as spans over its prompt; the runner
 * sends the rows a step covers (`NativeStepBatch.inputRows` / `inputEmbeddings`), again on every chunk and
 * after a preemption, since the rows stay with the sequence.
 *
 * Prefix caching stays correct: every row gets a content key (from a SHA-256 of its span's bytes and its index
 * in the span, never 0) that the block manager folds into the hash of the block holding it and compares when
 * it reuses a block, so entries with the same token id but different rows never share KV blocks, and the same
 * rows at the same place do.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../errors";

export interface InputEmbeddingSpan {
  /** The first prompt entry the span covers. */
  readonly start: number;
  /** Rows in the span: entries [start, start + count). */
  readonly count: number;
  /** Values per row (the model's hidden size). */
  readonly width: number;
  /** [count × width], row-major. */
  readonly rows: Float32Array;
  /** Content key of each row (never 0). */
  readonly keys: Int32Array;
}

/** A span of `rows.length / width` rows starting at prompt entry `start`, with the rows' content keys. */
export function inputEmbeddingSpan(start: number, rows: Float32Array, width: number): InputEmbeddingSpan {
  if (!(Number.isSafeInteger(start) && start >= 0))
    throw new InvalidArgumentError("inputEmbeddings.start", "a non-negative integer", start);
  if (!(Number.isSafeInteger(width) && width >= 1))
    throw new InvalidArgumentError("inputEmbeddings.width", "a positive integer", width);
  if (!(rows instanceof Float32Array) || rows.length === 0 || rows.length % width !== 0) {
    throw new InvalidArgumentError(
      "inputEmbeddings.rows",
      `a non-empty Float32Array of whole rows of ${width} values`,
      rows,
    );
  }
  const count = rows.length / width;
  const digest = createHash("sha256")
    .update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength))
    .digest();
  const seed = digest.readInt32LE(0) ^ Math.imul(digest.readInt32LE(4), 0x9e3779b1);
  const keys = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    let h = Math.imul(seed ^ Math.imul(k + 1, 0x85ebca6b), 0xc2b2ae35);
    h ^= h >>> 15;
    keys[k] = h === 0 ? 1 : h;
  }
  return { start, count, width, rows, keys };
}

/** The spans of one sequence, checked against its prompt, with lookups by entry. */
export class InputEmbeddings {
  readonly spans: readonly InputEmbeddingSpan[];
  readonly width: number;

  /** Throws InvalidArgumentError when spans overlap, leave the prompt, or differ in width from `width`. */
  constructor(spans: readonly InputEmbeddingSpan[], promptLength: number, width: number | undefined) {
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    const w = width ?? sorted[0]?.width ?? 0;
    let end = 0;
    for (const s of sorted) {
      if (s.width !== w)
        throw new InvalidArgumentError("inputEmbeddings", `rows of ${w} values (the hidden size)`, s.width);
      if (s.start < end)
        throw new InvalidArgumentError("inputEmbeddings", "spans that do not overlap", s.start);
      end = s.start + s.count;
      if (end > promptLength) {
        throw new InvalidArgumentError(
          "inputEmbeddings",
          `spans inside the ${promptLength}-token prompt`,
          `entries ${s.start}..${end - 1}`,
        );
      }
    }
    this.spans = sorted;
    this.width = w;
  }

  /** The span and row index of prompt entry `entry`, or undefined when the entry is a plain token. */
  rowAt(entry: number): { span: InputEmbeddingSpan; index: number } | undefined {
    // Few spans per sequence (one per image): a linear scan is enough.
    for (const span of this.spans) {
      if (entry < span.start) return undefined;
      if (entry < span.start + span.count) return { span, index: entry - span.start };
    }
    return undefined;
  }

  /** The content key of entry `entry` (0 for a plain token). */
  keyAt(entry: number): number {
    const row = this.rowAt(entry);
    return row === undefined ? 0 : row.span.keys[row.index]!;
  }
}
