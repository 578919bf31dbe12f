/** Command-line option parsing helpers shared by the commands: every bad value is a UsageError naming the flag. */

/** A mistake on the command line: `ms4` prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to print (undefined: the overview). */
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(
      `--${name} expects ${min > 0 ? "a positive" : "a non-negative"} integer, got ${value}`,
    );
  return n;
}

export function numberOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min)
    throw new UsageError(`--${name} expects a number >= ${min}, got ${value}`);
  return n;
}

export function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new UsageError(`--${name} expects one of ${allowed.join(", ")}, got ${value}`);
  return value as T;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** Bytes, with an optional K / M / G (binary) suffix: "8M" is 8 MiB. */
export function sizeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim());
  const bytes = match ? Math.round(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!) : Number.NaN;
  if (!(Number.isSafeInteger(bytes) && bytes > 0))
    throw new UsageError(`--${name} expects a size in bytes (e.g. 8388608, 8M, 1G), got ${value}`);
  return bytes;
}

/** A comma-separated list; repeated flags add up. */
export function listOption(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}
