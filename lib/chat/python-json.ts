/**
 * Python `json.dumps(value, ensure_ascii=False)` reproduced byte for byte, because mistral-common
 * renders tool definitions, tool-call arguments and model settings with it and the model was trained
 * on that exact text: separators ", " and ": ", non-ASCII characters written as is, control
 * characters escaped (`\n`, `\u001f`, lowercase hex), U+2028/U+2029 and U+007F left alone.
 *
 * Numbers. Python keeps ints and floats apart (`1` vs `1.0`) and prints floats with `repr`
 * (`1e-05`, `1e+16`, `0.0001`). Values parsed from JSON text with {@link parsePythonJson} keep that
 * distinction ({@link PyInt}, {@link PyFloat}). Plain JS numbers have lost it: an integral JS number
 * is written as a Python int (`1.0` in a caller's object becomes `1`), any other as a Python float.
 * NaN and ±Infinity are written as `NaN`, `Infinity`, `-Infinity` (Python's allow_nan default).
 *
 * Objects keep insertion order (Python dicts do too), except that JS itself moves integer-like keys
 * ("1", "42") of plain objects to the front; a `Map` keeps any order. Keys whose value is undefined
 * are left out, as JSON.stringify does.
 */

import { InvalidArgumentError } from "../errors";

/** A Python int from JSON text: the exact decimal digits (arbitrary precision, as Python keeps them). */
export class PyInt {
  constructor(readonly digits: string) {}
}

/** A Python float from JSON text (a number written with a fraction or an exponent). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A JSON value as Python's json module sees it. Objects are Maps so key order is exactly preserved. */
export type PyJson = null | boolean | string | PyInt | PyFloat | PyJson[] | Map<string, PyJson>;

export interface PythonJsonDumpsOptions {
  /** Python's `sort_keys=True`: keys ordered by code point. */
  readonly sortKeys?: boolean;
}

export function pythonJsonDumps(value: unknown, options: PythonJsonDumpsOptions = {}): string {
  const out: string[] = [];
  write(value, options.sortKeys === true, out, "$");
  return out.join("");
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16 on. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mantissa = "", exponentText = "0"] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  const pointPosition = exponent + 1; // value = 0.DIGITS × 10^pointPosition
  if (pointPosition <= -4 || pointPosition > 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exponentDigits = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${head}e${exponent < 0 ? "-" : "+"}${exponentDigits}`;
  }
  if (pointPosition <= 0) return `${sign}0.${"0".repeat(-pointPosition)}${digits}`;
  if (pointPosition >= digits.length) return `${sign}${digits}${"0".repeat(pointPosition - digits.length)}.0`;
  return `${sign}${digits.slice(0, pointPosition)}.${digits.slice(pointPosition)}`;
}

function write(value: unknown, sortKeys: boolean, out: string[], path: string): void {
  if (value === null || value === undefined) {
    out.push("null");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "string") {
    out.push(quote(value));
  } else if (typeof value === "number") {
    out.push(Number.isInteger(value) ? BigInt(value).toString() : pythonFloatRepr(value));
  } else if (typeof value === "bigint") {
    out.push(value.toString());
  } else if (value instanceof PyInt) {
    out.push(value.digits);
  } else if (value instanceof PyFloat) {
    out.push(pythonFloatRepr(value.value));
  } else if (Array.isArray(value)) {
    writeArray(value, sortKeys, out, path);
  } else if (value instanceof Map) {
    writeEntries([...value.entries()], sortKeys, out, path);
  } else if (isPlainObject(value)) {
    writeEntries(Object.entries(value), sortKeys, out, path);
  } else {
    throw new InvalidArgumentError(path, "a JSON value", value);
  }
}

function writeArray(items: readonly unknown[], sortKeys: boolean, out: string[], path: string): void {
  out.push("[");
  items.forEach((item, i) => {
    if (i > 0) out.push(", ");
    write(item, sortKeys, out, `${path}[${i}]`);
  });
  out.push("]");
}

function writeEntries(entries: [unknown, unknown][], sortKeys: boolean, out: string[], path: string): void {
  const kept = entries.filter(([, v]) => v !== undefined);
  for (const [key] of kept) {
    if (typeof key !== "string") throw new InvalidArgumentError(`${path} key`, "a string", key);
  }
  const ordered = kept as [string, unknown][];
  if (sortKeys) ordered.sort(([a], [b]) => compareCodePoints(a, b));
  out.push("{");
  ordered.forEach(([key, v], i) => {
    if (i > 0) out.push(", ");
    out.push(quote(key), ": ");
    write(v, sortKeys, out, `${path}.${key}`);
  });
  out.push("}");
}

/**
 * JSON.stringify's string escaping equals Python's with ensure_ascii=False (same escape set, lowercase
 * hex), except for lone surrogates, which JS writes as `\udXXX` and Python cannot encode to UTF-8 at all.
 */
function quote(s: string): string {
  return JSON.stringify(s);
}

function compareCodePoints(a: string, b: string): number {
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const diff = (x.value.codePointAt(0) ?? 0) - (y.value.codePointAt(0) ?? 0);
    if (diff !== 0) return diff;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
