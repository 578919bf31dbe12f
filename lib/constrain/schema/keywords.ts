/**
 * The JSON Schema keywords structured output knows: annotations (accepted, no effect on the output) and
 * the keywords it enforces. Anything else is an error naming the keyword (docs/structured-output.md).
 */

/** Keywords that never change what is valid: accepted and ignored. */
export const ANNOTATIONS: ReadonlySet<string> = new Set([
  "title",
  "description",
  "default",
  "examples",
  "example",
  "$schema",
  "$id",
  "$comment",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$defs",
  "definitions",
  "contentEncoding",
  "contentMediaType",
  "contentSchema",
  // OpenAPI: a hint for picking the oneOf branch; the branches themselves decide validity.
  "discriminator",
  "externalDocs",
  "xml",
]);

export const SUPPORTED: ReadonlySet<string> = new Set([
  "type",
  "enum",
  "const",
  "nullable",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "$ref",
  "if",
  "then",
  "else",
  // objects
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
  "dependentRequired",
  "dependencies",
  // arrays
  "items",
  "prefixItems",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  // strings
  "minLength",
  "maxLength",
  "pattern",
  "format",
  // numbers
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
]);

/** Why a known but unsupported keyword is refused. */
export const UNSUPPORTED_REASONS: Readonly<Record<string, string>> = {
  uniqueItems: "uniqueItems: true is not supported (the grammar cannot remember every item written)",
  contains: "contains is not supported",
  minContains: "minContains is not supported",
  maxContains: "maxContains is not supported",
  dependentSchemas: "dependentSchemas is not supported",
  unevaluatedProperties: "unevaluatedProperties is not supported",
  unevaluatedItems: "unevaluatedItems is not supported",
  $dynamicRef: "$dynamicRef is not supported",
  $recursiveRef: "$recursiveRef is not supported",
};

export const OBJECT_KEYS = [
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
];
export const ARRAY_KEYS = ["items", "prefixItems", "minItems", "maxItems"];
export const STRING_KEYS = ["minLength", "maxLength", "pattern", "format"];
export const NUMBER_KEYS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];

/** Internal keys of merged schemas (symbols: no JSON document can carry them). */
export const PATTERNS = Symbol("patterns");
export const FORMATS = Symbol("formats");
/** Values the instance must not equal (from a negated const / enum). */
export const EXCLUDED = Symbol("excluded");

export type Schema = Record<string | symbol, unknown>;

export const isSchemaObject = (v: unknown): v is Schema =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The schema's non-annotation keys. */
export function constraintKeys(s: Schema): string[] {
  return Object.keys(s).filter((k) => !ANNOTATIONS.has(k));
}

/** JSON text with object keys sorted: equal values, equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
