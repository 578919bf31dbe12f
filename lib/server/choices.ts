/**
 * The `n` generations of one request, each a `model.stream()`. They are started together (the engine batches
 * them) and each one's first event is awaited before anything is sent, so a request the library refuses
 * (a bad value, a prompt too long, an image it cannot take) is still answered with a plain 400 rather than a
 * stream that fails after its 200. Ending early (an error, a client gone) aborts every generation.
 */
import type { GenerateRequest, GenerateResult, StreamEvent } from "../generation/types";
import type { Model } from "../model/model";
import type { OutputEvent } from "../output/types";

export class ChoiceStream {
  private next: IteratorResult<StreamEvent> | undefined;

  private constructor(
    readonly index: number,
    private readonly iterator: AsyncIterator<StreamEvent>,
    first: IteratorResult<StreamEvent>,
    /** performance.now() of the first event, for time to first token. */
    readonly firstEventAt: number,
  ) {
    this.next = first;
  }

  /** Starts every request; rejects (after aborting the others) if the library refuses any of them. */
  static async start(model: Model, requests: readonly GenerateRequest[]): Promise<ChoiceStream[]> {
    const iterators = requests.map((r) => model.stream(r)[Symbol.asyncIterator]());
    const firsts = await Promise.allSettled(
      iterators.map(async (it) => {
        const first = await it.next();
        return { first, at: performance.now() };
      }),
    );
    const failed = firsts.find((f) => f.status === "rejected");
    if (failed !== undefined) {
      await Promise.allSettled(iterators.map((it) => it.return?.()));
      throw failed.reason;
    }
    return iterators.map((it, i) => {
      const settled = firsts[i] as PromiseFulfilledResult<{ first: IteratorResult<StreamEvent>; at: number }>;
      return new ChoiceStream(i, it, settled.value.first, settled.value.at);
    });
  }

  /**
   * The choice's output events in order; resolves with the final result. `onEvent` may wait (backpressure):
   * the next event is not pulled until it returns.
   */
  async run(onEvent: (event: OutputEvent) => Promise<void> | void): Promise<GenerateResult> {
    try {
      for (;;) {
        const step = this.next ?? (await this.iterator.next());
        this.next = undefined;
        if (step.done) throw new Error("the generation ended without a result");
        if (step.value.type === "done") return step.value.result;
        await onEvent(step.value);
      }
    } finally {
      // Aborts the generation if it is still running (a client gone, an error in onEvent).
      await this.iterator.return?.();
    }
  }

  /** Aborts a choice that will not be run. */
  async cancel(): Promise<void> {
    await this.iterator.return?.();
  }
}

/**
 * Runs every choice to its end. The first failure is rethrown at once; the request's signal (aborted when the
 * handler finishes) then stops the others.
 */
export function runChoices(
  choices: readonly ChoiceStream[],
  onEvent: (choice: ChoiceStream, event: OutputEvent) => Promise<void> | void,
): Promise<GenerateResult[]> {
  return Promise.all(choices.map((c) => c.run((e) => onEvent(c, e))));
}
