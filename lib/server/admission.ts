/**
 * Admission: at most `maxConcurrent` requests generate at once; up to `maxQueued` more wait, first come first
 * served; past that a request is refused at once with a 429 and Retry-After. A waiting request whose client
 * leaves (its signal aborts) leaves the queue.
 */
import { HttpError } from "./errors";

export interface AdmissionLimits {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  /** Seconds a refused client is told to wait. */
  readonly retryAfterSeconds: number;
}

interface Waiter {
  readonly grant: () => void;
}

export class Admission {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Waits for a slot; resolves with the function that gives it back (call it exactly once). */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.active < this.limits.maxConcurrent && this.waiting.length === 0) {
      this.active++;
      return this.releaser();
    }
    if (this.waiting.length >= this.limits.maxQueued) {
      throw new HttpError(
        429,
        "rate_limit_error",
        `The server is at its limit of ${this.limits.maxConcurrent} running and ${this.limits.maxQueued} queued requests; retry later`,
        null,
        "queue_full",
        { "Retry-After": String(this.limits.retryAfterSeconds) },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.active--;
    };
  }
}
