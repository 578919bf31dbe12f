/**
 * Unknown keys in option objects are errors, not silently ignored: `generate({ max_tokens: 4 })` would
 * otherwise run to the default length. The error names the key and, when one is close, the known key the
 * caller probably meant (`unknown option "max_tokens" (did you mean "maxTokens"?)`).
 */
import { InvalidArgumentError } from "../errors";

export interface KnownKeysContext {
  /** Path of the object in the request, e.g. "responseFormat.json_schema"; omit for the request itself. */
  readonly path?: string;
  /** What a key is called in the message: "option" (default) or "field". */
  readonly noun?: string;
}

/** Throws InvalidArgumentError for the first own key of `value` that `known` does not list. */
export function checkKnownKeys(
  value: object,
  known: readonly string[],
  context: KnownKeysContext = {},
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const { path, noun = "option" } = context;
    const suggestion = closestName(key, known);
    const hint =
      suggestion !== undefined ? `did you mean "${suggestion}"?` : `expected one of: ${known.join(", ")}`;
    throw new InvalidArgumentError(
      path === undefined ? key : `${path}.${key}`,
      `one of ${known.join(", ")}`,
      key,
      `unknown ${noun} "${key}"${path === undefined ? "" : ` in ${path}`} (${hint})`,
    );
  }
}

/**
 * The candidate closest to `name` by edit distance, compared without case, "_" or "-" (so "max_tokens"
 * finds "maxTokens"), or undefined when none is within a third of the name's length (at least 2 edits).
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const target = fold(name);
  const limit = Math.max(2, Math.floor(target.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(target, fold(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two adjacent
 * characters each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Uint32Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

function fold(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, "");
}
