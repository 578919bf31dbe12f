/**
 * The independent validator the structured-output tests check outputs with: ajv with ajv-formats, the
 * draft-2020-12 dialect, or draft-07 for schemas written in its spelling (tuple `items: [...]`,
 * `additionalItems`, `dependencies`).
 */
import { Ajv, type ValidateFunction } from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

// ownProperties: a property named "constructor" or "toString" is present only when the document has it (ajv otherwise
// sees Object.prototype's; found by fuzzing). logger: false keeps "unknown format ignored" notes out of test output.
const options = { strict: false, ownProperties: true, logger: false } as const;
const draft07 = new Ajv(options);
const draft2020 = new Ajv2020(options);
addFormats(draft07);
addFormats(draft2020);

function usesDraft07(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(usesDraft07);
  if (v === null || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.items) || "additionalItems" in o || "dependencies" in o) return true;
  if (typeof o.$schema === "string" && o.$schema.includes("draft-07")) return true;
  return Object.values(o).some(usesDraft07);
}

export function validatorFor(schema: unknown): ValidateFunction {
  if (typeof schema === "boolean") return draft2020.compile(schema);
  return (usesDraft07(schema) ? draft07 : draft2020).compile(schema as object);
}
