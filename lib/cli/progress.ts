/**
 * Load progress for `serve`, `chat` and `bench`: on a terminal one line redrawn in place (phase, a bar, the
 * share of the checkpoint's bytes done, an ETA); otherwise plain lines, one when a phase starts and one per
 * quarter of it, so logs stay readable.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LoadProgress } from "../model/load-options";
import { formatBytes, formatSeconds } from "./format";

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Bytes of a checkpoint's weight files (what the map and repack phases go through). */
export function checkpointBytes(dir: string): number {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".safetensors"))
      .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

const PHASES: Readonly<Record<string, string>> = {
  plan: "reading headers",
  map: "mapping files",
  repack: "repacking weights",
};

export class LoadProgressReporter {
  private phase = "";
  private phaseStart = 0;
  private lastDraw = 0;
  private lastQuarter = -1;
  private drawn = false;
  private readonly started: number;

  constructor(
    private readonly out: ProgressOutput,
    /** The checkpoint's weight bytes (0 when unknown: no byte counts are shown). */
    private readonly totalBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Pass as Model.load's onProgress. */
  readonly onProgress = (p: LoadProgress): void => {
    const t = this.now();
    if (p.phase !== this.phase) {
      this.phase = p.phase;
      this.phaseStart = t;
      this.lastQuarter = -1;
    }
    const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    if (this.out.isTTY) {
      if (t - this.lastDraw < 100 && fraction < 1) return;
      this.lastDraw = t;
      this.out.write(`\r${this.line(fraction, t)}\x1b[K`);
      this.drawn = true;
    } else {
      const quarter = Math.floor(fraction * 4);
      if (quarter === this.lastQuarter) return;
      this.lastQuarter = quarter;
      this.out.write(`${this.line(fraction, t, false)}\n`);
    }
  };

  /** Ends the display with how long loading took. */
  done(what: string): void {
    const seconds = (this.now() - this.started) / 1000;
    this.out.write(`${this.drawn ? "\r\x1b[K" : ""}loaded ${what} in ${formatSeconds(seconds)}\n`);
  }

  /** Clears the progress line (before an error is printed). */
  clear(): void {
    if (this.drawn) this.out.write("\r\x1b[K");
  }

  /** `repacking weights  [#########-----------]  45%  2.6 GiB / 5.9 GiB  ETA 3.1 s` */
  line(fraction: number, t: number, bar = true): string {
    const name = (PHASES[this.phase] ?? this.phase).padEnd(17);
    const parts = [name];
    if (bar) {
      const width = 24;
      const filled = Math.round(fraction * width);
      parts.push(`[${"#".repeat(filled)}${"-".repeat(width - filled)}]`);
    }
    parts.push(`${Math.floor(fraction * 100)}%`.padStart(4));
    if (this.totalBytes > 0 && this.phase !== "plan")
      parts.push(`${formatBytes(fraction * this.totalBytes)} / ${formatBytes(this.totalBytes)}`);
    const elapsed = (t - this.phaseStart) / 1000;
    if (fraction > 0 && fraction < 1 && elapsed > 0.5)
      parts.push(`ETA ${formatSeconds((elapsed * (1 - fraction)) / fraction)}`);
    return parts.join("  ");
  }
}
