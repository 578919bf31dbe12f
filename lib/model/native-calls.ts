/**
 * The native model takes one call at a time (a step or an image-encoder pass): NativeCalls queues them, each
 * starting when the one before has settled, so encoding a request's images never collides with the engine's steps.
 */
export class NativeCalls {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(call: () => Promise<T>): Promise<T> {
    const result = this.tail.then(call, call);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every call queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
