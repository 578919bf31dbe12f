/**
 * Typed, validating reads from a parsed JSON object. Every failure is a ConfigError naming the file and the
 * dotted field path, with what was expected and what was found.
 */
import { readFileSync } from "node:fs";
import { ConfigError, describe } from "../errors";

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads and parses a JSON file whose top level must be an object. */
export function readJsonObject(path: string, displayName = path): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError(
      displayName,
      undefined,
      code === "ENOENT" ? "file not found" : `cannot read file (${code})`,
      {
        cause,
      },
    );
  }
  return parseJsonObject(text, displayName);
}

/** Parses the text of a JSON file whose top level must be an object. */
export function parseJsonObject(text: string, displayName: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(displayName, undefined, `not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isObject(value))
    throw new ConfigError(displayName, undefined, `expected a JSON object, found ${describe(value)}`);
  return value;
}

interface NumberRule {
  min?: number;
  max?: number;
  /** Value must be strictly greater than this. */
  above?: number;
}

export class JsonFields {
  constructor(
    readonly file: string,
    readonly obj: JsonObject,
    readonly path = "",
  ) {}

  fieldPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  fail(key: string | undefined, message: string): never {
    throw new ConfigError(
      this.file,
      key === undefined ? this.path || undefined : this.fieldPath(key),
      message,
    );
  }

  private required(key: string): unknown {
    const value = this.obj[key];
    if (value === undefined || value === null) this.fail(key, "missing required field");
    return value;
  }

  number(key: string, rule: NumberRule = {}, fallback?: number): number {
    const value = this.has(key) ? this.obj[key] : fallback !== undefined ? fallback : this.required(key);
    if (typeof value !== "number" || !Number.isFinite(value))
      this.fail(key, `expected a number, found ${describe(value)}`);
    if (rule.min !== undefined && value < rule.min)
      this.fail(key, `expected a number >= ${rule.min}, found ${value}`);
    if (rule.max !== undefined && value > rule.max)
      this.fail(key, `expected a number <= ${rule.max}, found ${value}`);
    if (rule.above !== undefined && !(value > rule.above)) {
      this.fail(key, `expected a number > ${rule.above}, found ${value}`);
    }
    return value;
  }

  int(key: string, rule: NumberRule = {}, fallback?: number): number {
    const value = this.number(key, rule, fallback);
    if (!Number.isSafeInteger(value)) this.fail(key, `expected an integer, found ${value}`);
    return value;
  }

  /** A positive integer (>= 1). */
  count(key: string, fallback?: number): number {
    return this.int(key, { min: 1 }, fallback);
  }

  bool(key: string, fallback?: boolean): boolean {
    const value = this.has(key) ? this.obj[key] : fallback !== undefined ? fallback : this.required(key);
    if (typeof value !== "boolean") this.fail(key, `expected true or false, found ${describe(value)}`);
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.has(key) ? this.obj[key] : fallback !== undefined ? fallback : this.required(key);
    if (typeof value !== "string") this.fail(key, `expected a string, found ${describe(value)}`);
    return value;
  }

  stringArray(key: string, fallback?: string[]): string[] {
    const value = this.has(key) ? this.obj[key] : fallback !== undefined ? fallback : this.required(key);
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      this.fail(key, `expected an array of strings, found ${describe(value)}`);
    }
    return [...(value as string[])];
  }

  object(key: string): JsonFields {
    const value = this.required(key);
    if (!isObject(value)) this.fail(key, `expected an object, found ${describe(value)}`);
    return new JsonFields(this.file, value, this.fieldPath(key));
  }

  optionalObject(key: string): JsonFields | undefined {
    return this.has(key) ? this.object(key) : undefined;
  }
}
