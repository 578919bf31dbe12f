/**
 * Property-based fuzzing of the parsers that read outside input (docs/reliability.md#fuzzing), with fast-check.
 * A target parses one generated input. Its one property: the input is accepted and the accepted value passes the
 * target's checks (it round-trips, its invariants hold), or the parser throws an Ms4Error with a message — never
 * another exception, and no case takes longer than the time limit (a hang or a super-linear blow-up). fast-check
 * shrinks a failing input to a small one and reports it with the seed that replays it.
 */
import fc from "fast-check";
import { Ms4Error } from "../../lib/errors";

export interface FuzzTarget<Input = unknown, Parsed = unknown> {
  /** Short name, e.g. "safetensors-header" (`npm run fuzz -- --target NAME`). */
  readonly name: string;
  /** What the target reads, for the report. */
  readonly reads: string;
  readonly input: fc.Arbitrary<Input>;
  /** The parser under test: returns what it accepted, or throws (an Ms4Error when the input is bad). */
  readonly parse: (input: Input) => Parsed | Promise<Parsed>;
  /** Checks an accepted value (round trip, invariants); anything it throws is a finding. */
  readonly check: (input: Input, parsed: Parsed) => void | Promise<void>;
}

export interface FuzzOptions {
  readonly numRuns: number;
  readonly seed?: number;
  /**
   * A case taking longer than this is a finding (default 10 000 ms). Generous, because the work a case may do is
   * bounded elsewhere (automata stop at 60 000 states: building to that cap takes about a second idle, several on a
   * loaded machine); what this catches is a hang or a blow-up without such a bound.
   */
  readonly maxCaseMs?: number;
}

export interface FuzzReport {
  readonly name: string;
  readonly runs: number;
  readonly accepted: number;
  /** Rejections by Ms4Error code (and reason, for errors that carry one). */
  readonly rejected: Readonly<Record<string, number>>;
  readonly slowestCaseMs: number;
  readonly seconds: number;
  readonly seed: number;
  /** fast-check's report of the first failure (shrunk counterexample, seed and path), when the property failed. */
  readonly failure: string | undefined;
}

/** A problem with an accepted value, or a case that threw something other than an Ms4Error. */
export class FuzzFinding extends Error {}

/** Runs `target` for `numRuns` generated inputs and reports what happened. */
export async function fuzz(target: FuzzTarget<unknown, unknown>, options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const maxCaseMs = options.maxCaseMs ?? 10_000;
  let runs = 0;
  let accepted = 0;
  let slowest = 0;
  const rejected: Record<string, number> = {};
  const started = performance.now();
  const property = fc.asyncProperty(target.input, async (input) => {
    runs++;
    const t0 = performance.now();
    let parsed: unknown;
    let ok = false;
    try {
      parsed = await target.parse(input);
      ok = true;
    } catch (error) {
      if (!(error instanceof Ms4Error)) throw error;
      if (error.message.length === 0) throw new FuzzFinding(`${error.name} without a message`);
      // Errors with a reason (ImageError's "corrupt", "truncated", ...) are counted per reason.
      const reason = (error as { reason?: unknown }).reason;
      const key = typeof reason === "string" ? `${error.code}:${reason}` : error.code;
      rejected[key] = (rejected[key] ?? 0) + 1;
    }
    if (ok) {
      try {
        await target.check(input, parsed);
      } catch (error) {
        throw new FuzzFinding(`accepted, but the check failed: ${(error as Error).stack ?? String(error)}`);
      }
      accepted++;
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > maxCaseMs) throw new FuzzFinding(`one case took ${ms.toFixed(0)} ms (limit ${maxCaseMs} ms)`);
  });
  const details = await fc.check(property, { numRuns: options.numRuns, seed, verbose: 1 });
  return {
    name: target.name,
    runs,
    accepted,
    rejected,
    slowestCaseMs: slowest,
    seconds: (performance.now() - started) / 1000,
    seed,
    failure: details.failed
      ? `${fc.defaultReportMessage(details)}\nError: ${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance)}`
      : undefined,
  };
}

/** One line per report: runs, accepted, rejections by code, the slowest case. */
export function formatReport(r: FuzzReport): string {
  const codes = Object.entries(r.rejected)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(", ");
  return (
    `${r.name}: ${r.runs} cases in ${r.seconds.toFixed(1)} s, ${r.accepted} accepted, ` +
    `${r.runs - r.accepted} rejected (${codes || "none"}), slowest case ${r.slowestCaseMs.toFixed(1)} ms, seed ${r.seed}` +
    (r.failure ? `\nFAILED:\n${r.failure}` : "")
  );
}
