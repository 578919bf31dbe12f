/**
 * The structured-output corpus: the base suite (schemas.ts) plus schemas for every keyword family added
 * since (numeric bounds, patterns, formats, tuples, counted / pattern-keyed objects, conditionals, merged
 * allOf) and real-world shapes (an OpenAI function schema, zod and pydantic output). Every document the
 * grammar allows must validate with ajv + ajv-formats (test/constrain/validator.ts).
 */
import { SCHEMAS } from "./schemas";

type Schema = Record<string, unknown> | boolean;

const str = { type: "string" };
const closed = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

/** if/then/else without writing a `then` key in object literals (a lint rule reads them as promises). */
const conditional = (cond: unknown, then: unknown, otherwise?: unknown) =>
  JSON.parse(
    JSON.stringify({
      if: cond,
      ["th" + "en"]: then,
      ...(otherwise === undefined ? {} : { else: otherwise }),
    }),
  );

export const NEW_SCHEMAS: Readonly<Record<string, Schema>> = {
  "integer range": { type: "integer", minimum: -40, maximum: 125 },
  "integer exclusive range": { type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 1000 },
  "integer lower bound only": { type: "integer", minimum: 1 },
  "integer upper bound only (negative)": { type: "integer", maximum: -3 },
  "number range": { type: "number", minimum: -1.5, maximum: 2.25 },
  "number exclusive unit interval": { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
  "number small bound": { type: "number", minimum: 0.001, maximum: 0.01 },
  multipleOf: { type: "integer", multipleOf: 15, minimum: -300, maximum: 300 },
  "multipleOf on number type": { type: "number", multipleOf: 4 },
  "safe-integer bounds (zod int)": { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
  "pattern anchored": { type: "string", pattern: "^[A-Z]{2,3}-[0-9]{2,4}$" },
  "pattern unanchored": { type: "string", pattern: "ab+c" },
  "pattern with length bounds": { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 5 },
  "pattern with escapes and classes": { type: "string", pattern: '^["\\\\/\\t][\\w.-]*\\d?$' },
  "pattern unicode": { type: "string", pattern: "^(?:café|日本|[à-ÿ]{2})$" },
  "format date": { type: "string", format: "date" },
  "format time": { type: "string", format: "time" },
  "format date-time": { type: "string", format: "date-time" },
  "format duration": { type: "string", format: "duration" },
  "format uuid": { type: "string", format: "uuid" },
  "format email": { type: "string", format: "email" },
  "format ipv4": { type: "string", format: "ipv4" },
  "format ipv6": { type: "string", format: "ipv6" },
  "format hostname": { type: "string", format: "hostname" },
  "format uri": { type: "string", format: "uri" },
  "format with maxLength": { type: "string", format: "email", maxLength: 12 },
  "prefixItems closed": { type: "array", prefixItems: [str, { type: "integer", minimum: 0 }], items: false },
  "prefixItems open": {
    type: "array",
    prefixItems: [{ type: "boolean" }],
    items: { type: "null" },
    maxItems: 3,
  },
  "draft-07 tuple with additionalItems": {
    type: "array",
    items: [{ type: "integer" }, str],
    additionalItems: { type: "boolean" },
    maxItems: 4,
  },
  "draft-07 tuple closed (zod tuple)": {
    type: "array",
    minItems: 2,
    maxItems: 2,
    items: [str, { type: "number" }],
  },
  "minProperties / maxProperties free": {
    type: "object",
    additionalProperties: { type: "integer" },
    minProperties: 1,
    maxProperties: 3,
  },
  "minProperties with declared": {
    type: "object",
    properties: { a: str, b: str, c: str },
    additionalProperties: false,
    minProperties: 2,
    maxProperties: 2,
  },
  "additionalProperties schema": { type: "object", additionalProperties: closed({ v: { type: "boolean" } }) },
  patternProperties: {
    type: "object",
    patternProperties: { "^n_": { type: "integer" }, "^s_": { type: "string", maxLength: 3 } },
    additionalProperties: false,
  },
  "patternProperties with additional": {
    type: "object",
    patternProperties: { "^x-": str },
    additionalProperties: { type: "null" },
    maxProperties: 3,
  },
  propertyNames: {
    type: "object",
    propertyNames: { pattern: "^[a-z]{1,8}$" },
    additionalProperties: { type: "boolean" },
  },
  "propertyNames enum": { type: "object", propertyNames: { enum: ["x", "y", "z"] }, maxProperties: 2 },
  dependentRequired: {
    type: "object",
    properties: { card: str, cvc: { type: "string", pattern: "^[0-9]{3}$" }, name: str },
    dependentRequired: { card: ["cvc"] },
    additionalProperties: false,
  },
  "draft-07 dependencies": {
    type: "object",
    properties: { a: { type: "integer" }, b: { type: "integer" } },
    dependencies: { a: ["b"], b: ["a"] },
    additionalProperties: false,
  },
  "const and enum of structured values": {
    type: "object",
    properties: { point: { const: { x: 1, y: [2, 3] } }, mode: { enum: [[1], { k: null }, "s", 0.5] } },
    required: ["point", "mode"],
    additionalProperties: false,
  },
  "nullable (OpenAPI)": {
    type: "object",
    properties: {
      a: { type: "string", nullable: true, maxLength: 4 },
      b: { type: "string", enum: ["p", "q", null], nullable: true },
      c: { type: "string", enum: ["p", "q"], nullable: true },
    },
    required: ["a", "b", "c"],
    additionalProperties: false,
  },
  "type array with bounds": { type: ["integer", "string", "null"], minimum: 3, maxLength: 2 },
  "if / then / else": {
    ...closed({ kind: { enum: ["metric", "imperial"] }, height: { type: "number", minimum: 0 } }),
    ...conditional(
      { properties: { kind: { const: "metric" } } },
      { properties: { height: { maximum: 300 } } },
      { properties: { height: { maximum: 120 } } },
    ),
  },
  "if / then only": {
    ...closed({ country: str, zip: str }, ["country"]),
    ...conditional(
      { properties: { country: { const: "US" } }, required: ["country"] },
      { properties: { zip: { pattern: "^[0-9]{5}$" } }, required: ["zip"] },
    ),
  },
  "allOf objects": {
    allOf: [
      { type: "object", properties: { id: { type: "integer", minimum: 1 } }, required: ["id"] },
      { type: "object", properties: { id: { maximum: 99 }, label: str }, required: ["label"] },
    ],
  },
  "allOf with $ref and anyOf": {
    $defs: { base: { type: "object", properties: { v: { type: "integer" } }, required: ["v"] } },
    allOf: [
      { $ref: "#/$defs/base" },
      { anyOf: [{ properties: { v: { minimum: 10 } } }, { properties: { v: { maximum: -10 } } }] },
    ],
  },
  "$ref with siblings": {
    $defs: { name: { type: "string", minLength: 1 } },
    type: "object",
    properties: { first: { $ref: "#/$defs/name", maxLength: 4 } },
    required: ["first"],
    additionalProperties: false,
  },
  "not const": { type: "string", not: { const: "admin" }, maxLength: 6 },
  "OpenAI function: calendar event": closed({
    title: { type: "string", description: "Event title" },
    date: { type: "string", format: "date" },
    attendees: {
      type: "array",
      items: closed({
        email: { type: "string", format: "email" },
        role: { type: "string", enum: ["host", "guest"] },
      }),
      maxItems: 3,
    },
    reminders: { type: "array", items: { type: "integer", enum: [5, 10, 30, 60] }, maxItems: 2 },
    visibility: { type: "string", enum: ["public", "private"] },
  }),
  "OpenAI structured output: math steps": closed({
    steps: { type: "array", items: closed({ explanation: str, output: str }), maxItems: 2 },
    final_answer: str,
  }),
  "zod object": {
    $schema: "http://json-schema.org/draft-07/schema#",
    type: "object",
    properties: {
      id: { type: "string", format: "uuid" },
      email: { type: "string", format: "email" },
      age: { type: "integer", minimum: 18, maximum: 130 },
      score: { type: "number", exclusiveMinimum: 0, maximum: 1 },
      tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 8 }, maxItems: 2 },
      createdAt: { type: "string", format: "date-time" },
      website: { type: "string", format: "uri" },
      nickname: { anyOf: [str, { type: "null" }] },
      handle: { type: "string", pattern: "^@[a-z0-9_]{3,10}$" },
    },
    required: ["id", "email", "age", "score", "tags", "createdAt", "nickname", "handle"],
    additionalProperties: false,
  },
  "pydantic model": {
    $defs: {
      Address: {
        properties: {
          street: { title: "Street", type: "string", maxLength: 20 },
          zip: {
            anyOf: [{ type: "string", pattern: "^\\d{5}$" }, { type: "null" }],
            default: null,
            title: "Zip",
          },
        },
        required: ["street"],
        title: "Address",
        type: "object",
      },
      Status: { enum: ["active", "inactive"], title: "Status", type: "string" },
    },
    properties: {
      name: { maxLength: 20, minLength: 1, title: "Name", type: "string" },
      age: { exclusiveMinimum: 0, title: "Age", type: "integer" },
      address: { $ref: "#/$defs/Address" },
      previous: { anyOf: [{ $ref: "#/$defs/Address" }, { type: "null" }], default: null },
      status: { $ref: "#/$defs/Status", default: "active" },
      scores: { additionalProperties: { type: "number" }, title: "Scores", type: "object", maxProperties: 2 },
      coords: {
        maxItems: 2,
        minItems: 2,
        prefixItems: [{ type: "number" }, { type: "number" }],
        type: "array",
      },
      birthday: { anyOf: [{ format: "date", type: "string" }, { type: "null" }] },
    },
    required: ["name", "age", "address"],
    title: "User",
    type: "object",
  },
  "pydantic discriminated union": {
    $defs: {
      Cat: closed({ pet_type: { const: "cat" }, lives: { type: "integer", minimum: 0, maximum: 9 } }),
      Dog: closed({ pet_type: { const: "dog" }, bark: { type: "boolean" } }),
    },
    properties: {
      pet: {
        oneOf: [{ $ref: "#/$defs/Cat" }, { $ref: "#/$defs/Dog" }],
        discriminator: { propertyName: "pet_type", mapping: { cat: "#/$defs/Cat", dog: "#/$defs/Dog" } },
      },
    },
    required: ["pet"],
    type: "object",
  },
};

export const CORPUS: Readonly<Record<string, Schema>> = { ...SCHEMAS, ...NEW_SCHEMAS };

/** Patterns of the regex response format tests (the whole answer must match). */
export const REGEX_PATTERNS: readonly string[] = [
  "[0-9]{3}-[0-9]{4}",
  "(yes|no|maybe)",
  "[A-Z][a-z]{1,9}( [A-Z][a-z]{1,9}){0,2}",
  "\\d+(\\.\\d{1,2})?",
  "-?(0|[1-9][0-9]{0,5})",
  "[a-f0-9]{8}",
  "#[0-9A-Fa-f]{6}",
  "\\w+@\\w+\\.(com|org|net)",
  "(\\+|-)?[0-9]{1,3}(,[0-9]{3})*",
  "[^\\s]{1,12}",
  "(ab|cd)*e",
  "x?y?z?w",
  "[\\u00e0-\\u00ff]{1,4}",
  "(日本|中国|한국)語?",
  "\\(\\d{3}\\) \\d{3}-\\d{4}",
  "[A-Z]{3}",
  "(true|false)",
  "[01]{4,8}",
  "v\\d\\.\\d\\.\\d",
  "(?:[a-z]+_)*[a-z]+",
  "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])",
  "https?://[a-z]+\\.[a-z]{2,3}(/[a-z]*)?",
  "[.!?]{1,3}",
  "\\[(\\d+(, ?\\d+)*)?\\]",
  "(?<word>[a-z]{2,5}) \\d",
  "a{2}b{0,1}c{1,}",
  "\\t[^\\n]{0,5}\\n",
  "[\\x41-\\x5a]{2}",
  "(?:🙂|😀){1,3}",
  "Q: [a-z ]{1,20}\\?",
];
