/**
 * A single-consumer async queue: the engine pushes events synchronously, one consumer reads them with
 * for-await. `fail` makes the consumer's next read throw; leaving the loop early (break, return, throw)
 * calls `onReturn`, which the engine uses to abort the request. `size` is the number of unread events and
 * `onRead` is told each time the consumer takes one (the engine's backpressure: it stops scheduling a
 * sequence whose consumer lags, and resumes it when the queue drains).
 */

export class EventQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;
  private iterating = false;

  constructor(
    private readonly onReturn?: () => void,
    private readonly onRead?: (size: number) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Events pushed and not yet read. */
  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: item, done: false });
    } else this.items.push(item);
  }

  /** No more events: the consumer sees the end after the queued ones. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.settleWaiter();
  }

  /** Ends the stream with an error (after the queued events). */
  fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterating) throw new Error("EventQueue can be iterated only once");
    this.iterating = true;
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) {
          this.onRead?.(this.items.length);
          return Promise.resolve({ value: item, done: false });
        }
        if (this.closed) return this.ended();
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
        });
      },
      return: () => {
        this.items.length = 0;
        if (!this.closed) {
          this.closed = true;
          this.onReturn?.();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private ended(): Promise<IteratorResult<T>> {
    const failure = this.failure;
    this.failure = undefined;
    return failure ? Promise.reject(failure.error) : Promise.resolve({ value: undefined, done: true });
  }

  private settleWaiter(): void {
    if (this.waiter === undefined) return;
    const { resolve, reject } = this.waiter;
    this.waiter = undefined;
    this.ended().then(resolve, reject);
  }
}
