/** The schema suite of the structured-output tests: each must yield only documents that validate. */

export const SCHEMAS: Readonly<Record<string, Record<string, unknown> | boolean>> = {
  "flat object": {
    type: "object",
    properties: { name: { type: "string" }, age: { type: "integer" }, ok: { type: "boolean" } },
    required: ["name", "age", "ok"],
    additionalProperties: false,
  },
  "optional properties": {
    type: "object",
    properties: { a: { type: "string" }, b: { type: "number" }, c: { type: "null" } },
    additionalProperties: false,
  },
  "some required": {
    type: "object",
    properties: {
      a: { type: "integer" },
      b: { type: "integer" },
      c: { type: "integer" },
      d: { type: "integer" },
    },
    required: ["b", "d"],
    additionalProperties: false,
  },
  "nested objects": {
    type: "object",
    properties: {
      user: {
        type: "object",
        properties: {
          id: { type: "integer" },
          profile: {
            type: "object",
            properties: { bio: { type: "string", maxLength: 12 } },
            required: ["bio"],
            additionalProperties: false,
          },
        },
        required: ["id", "profile"],
        additionalProperties: false,
      },
    },
    required: ["user"],
    additionalProperties: false,
  },
  "array with bounds": { type: "array", items: { type: "integer" }, minItems: 2, maxItems: 4 },
  "array of strings, exact": {
    type: "array",
    items: { type: "string", maxLength: 3 },
    minItems: 3,
    maxItems: 3,
  },
  "empty array only": { type: "array", maxItems: 0 },
  "array of objects": {
    type: "array",
    items: {
      type: "object",
      properties: { x: { type: "number" }, y: { type: "number" } },
      required: ["x", "y"],
      additionalProperties: false,
    },
    minItems: 1,
    maxItems: 3,
  },
  "nested arrays": {
    type: "array",
    items: { type: "array", items: { type: "boolean" }, maxItems: 2 },
    maxItems: 3,
  },
  "string enum": { enum: ["red", "green", "blue"] },
  "unicode enum": { type: "string", enum: ["café", "naïve", "日本語", "🙂 smile", 'a"quote'] },
  "mixed enum": { enum: [1, "one", null, true, { k: [1, 2] }, 2.5] },
  const: { const: "fixed value" },
  "object const": {
    type: "object",
    properties: { version: { const: 2 }, kind: { const: "report" } },
    required: ["version", "kind"],
    additionalProperties: false,
  },
  anyOf: {
    anyOf: [
      { type: "string", maxLength: 5 },
      { type: "integer" },
      { type: "array", items: { type: "null" }, maxItems: 2 },
    ],
  },
  "oneOf objects": {
    oneOf: [
      {
        type: "object",
        properties: { kind: { const: "circle" }, r: { type: "number" } },
        required: ["kind", "r"],
        additionalProperties: false,
      },
      {
        type: "object",
        properties: { kind: { const: "square" }, side: { type: "number" } },
        required: ["kind", "side"],
        additionalProperties: false,
      },
    ],
  },
  "$ref recursion": {
    $defs: {
      node: {
        type: "object",
        properties: {
          value: { type: "integer" },
          children: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 },
        },
        required: ["value"],
        additionalProperties: false,
      },
    },
    $ref: "#/$defs/node",
  },
  "definitions ref": {
    definitions: { tag: { type: "string", minLength: 1, maxLength: 4 } },
    type: "object",
    properties: { tags: { type: "array", items: { $ref: "#/definitions/tag" }, maxItems: 3 } },
    required: ["tags"],
    additionalProperties: false,
  },
  "linked list (root ref)": {
    type: "object",
    properties: { v: { type: "integer" }, next: { anyOf: [{ $ref: "#" }, { type: "null" }] } },
    required: ["v", "next"],
    additionalProperties: false,
  },
  nullable: {
    type: "object",
    properties: { a: { type: ["string", "null"] }, b: { type: ["integer", "null"] } },
    required: ["a", "b"],
    additionalProperties: false,
  },
  "integer vs number": {
    type: "object",
    properties: { i: { type: "integer" }, n: { type: "number" } },
    required: ["i", "n"],
    additionalProperties: false,
  },
  "string length bounds": { type: "string", minLength: 3, maxLength: 6 },
  "long min length": { type: "string", minLength: 10 },
  "empty object": { type: "object", properties: {}, additionalProperties: false },
  "free-form object": { type: "object" },
  "typed additionalProperties": { type: "object", additionalProperties: { type: "integer" } },
  "required undeclared": { type: "object", required: ["anything"] },
  "top-level number": { type: "number" },
  "top-level integer": { type: "integer" },
  "top-level boolean": { type: "boolean" },
  "top-level null": { type: "null" },
  "any value (true)": true,
  "any value ({})": {},
  "keys needing escapes": {
    type: "object",
    properties: { 'say "hi"': { type: "string", maxLength: 2 }, "é/ü": { type: "boolean" } },
    required: ['say "hi"', "é/ü"],
    additionalProperties: false,
  },
  "allOf single": { allOf: [{ type: "object", properties: { z: { type: "integer" } }, required: ["z"] }] },
  "type array of many": { type: ["string", "number", "boolean", "null", "array", "object"] },
};
