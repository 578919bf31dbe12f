/**
 * Incremental stop-string matching over streamed text. Text that could still turn out to be the start of
 * a stop string is held back, so nothing of a stop string ever reaches the caller; a completed stop string
 * ends the stream, and neither it nor anything after it is emitted. The result does not depend on how the
 * text is split into pieces.
 */

export interface StopMatch {
  /** Text now known to be safe to emit. */
  readonly emit: string;
  /** The stop string that completed, if any (emission ends before it). */
  readonly stop: string | undefined;
}

export class StopStringMatcher {
  private readonly stops: readonly string[];
  private readonly longest: number;
  private held = "";

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  get holding(): string {
    return this.held;
  }

  push(text: string): StopMatch {
    if (this.stops.length === 0) return { emit: text, stop: undefined };
    const s = this.held + text;
    // The stop string that completes first wins (as when the text arrives one character at a time);
    // of two ending together, the longer one.
    let at = -1;
    let end = Number.POSITIVE_INFINITY;
    let stop: string | undefined;
    for (const candidate of this.stops) {
      const i = s.indexOf(candidate);
      if (i < 0) continue;
      const e = i + candidate.length;
      if (e < end || (e === end && i < at)) {
        at = i;
        end = e;
        stop = candidate;
      }
    }
    if (stop !== undefined) {
      this.held = "";
      return { emit: s.slice(0, at), stop };
    }
    const keep = this.partialSuffix(s);
    this.held = s.slice(s.length - keep);
    return { emit: s.slice(0, s.length - keep), stop: undefined };
  }

  /** Gives back the held text (the stream ended, or the text run was interrupted). */
  flush(): string {
    const held = this.held;
    this.held = "";
    return held;
  }

  /** Length of the longest suffix of `s` that is a proper prefix of some stop string. */
  private partialSuffix(s: string): number {
    for (let n = Math.min(s.length, this.longest - 1); n > 0; n--) {
      const tail = s.slice(s.length - n);
      if (this.stops.some((stop) => stop.startsWith(tail))) return n;
    }
    return 0;
  }
}
