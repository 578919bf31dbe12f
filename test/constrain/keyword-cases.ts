/**
 * One case per JSON Schema keyword family that structured output enforces: a schema, documents that
 * validate, and documents that break only that keyword. The coverage comparison with xgrammar
 * (bench/constrain/xgrammar-compare.ts) and the automaton tests share them.
 */

export interface KeywordCase {
  readonly keyword: string;
  readonly schema: Record<string, unknown>;
  readonly valid: readonly string[];
  readonly invalid: readonly string[];
}

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...extra,
});

export const KEYWORD_CASES: readonly KeywordCase[] = [
  {
    keyword: "minimum / maximum (integer)",
    schema: { type: "integer", minimum: -5, maximum: 120 },
    valid: ["-5", "0", "7", "120", "99"],
    invalid: ["-6", "121", "1000"],
  },
  {
    keyword: "exclusiveMinimum / exclusiveMaximum (integer)",
    schema: { type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 10 },
    valid: ["1", "9"],
    invalid: ["0", "10", "-1"],
  },
  {
    keyword: "minimum / maximum (number)",
    schema: { type: "number", minimum: -1.5, maximum: 2.25 },
    valid: ["-1.5", "0", "2.25", "1.75", "-0.5"],
    invalid: ["-1.6", "2.26", "3"],
  },
  {
    keyword: "exclusiveMinimum / exclusiveMaximum (number)",
    schema: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
    valid: ["0.5", "0.001", "0.999"],
    invalid: ["0", "1", "1.5", "-0.5"],
  },
  {
    keyword: "multipleOf (integer)",
    schema: { type: "integer", multipleOf: 5, minimum: 0, maximum: 100 },
    valid: ["0", "15", "100"],
    invalid: ["3", "101", "-5"],
  },
  {
    keyword: "pattern",
    schema: { type: "string", pattern: "^[A-Z]{2}-\\d{3,4}$" },
    valid: ['"AB-123"', '"ZZ-9999"'],
    invalid: ['"ab-123"', '"AB-12"', '"AB-12345"'],
  },
  {
    keyword: "pattern (unanchored)",
    schema: { type: "string", pattern: "cat|dog" },
    valid: ['"a cat"', '"dog"', '"hotdogs"'],
    invalid: ['"bird"', '""'],
  },
  {
    keyword: "format: date",
    schema: { type: "string", format: "date" },
    valid: ['"2024-02-28"', '"1999-12-31"'],
    invalid: ['"2024-13-01"', '"2024-02-30"', '"24-01-01"'],
  },
  {
    keyword: "format: time",
    schema: { type: "string", format: "time" },
    valid: ['"12:30:00Z"', '"23:59:59+02:00"'],
    invalid: ['"24:00:00Z"', '"12:60:00Z"'],
  },
  {
    keyword: "format: date-time",
    schema: { type: "string", format: "date-time" },
    valid: ['"2024-05-01T12:30:00Z"', '"2024-05-01T12:30:00.123+02:00"'],
    invalid: ['"2024-05-01 12:30"', '"2024-05-01"'],
  },
  {
    keyword: "format: duration",
    schema: { type: "string", format: "duration" },
    valid: ['"P1D"', '"PT2H30M"', '"P3W"', '"P1Y2M3DT4H5M6S"'],
    invalid: ['"P"', '"PT"', '"1D"'],
  },
  {
    keyword: "format: uuid",
    schema: { type: "string", format: "uuid" },
    valid: ['"123e4567-e89b-12d3-a456-426614174000"'],
    invalid: ['"123e4567e89b12d3a456426614174000"', '"xyz"'],
  },
  {
    keyword: "format: email",
    schema: { type: "string", format: "email" },
    valid: ['"ada@example.com"', '"first.last+tag@mail.example.org"'],
    invalid: ['"ada"', '"ada@"', '"@example.com"'],
  },
  {
    keyword: "format: ipv4",
    schema: { type: "string", format: "ipv4" },
    valid: ['"192.168.0.1"', '"255.255.255.255"'],
    invalid: ['"256.1.1.1"', '"1.2.3"', '"01.2.3.4"'],
  },
  {
    keyword: "format: ipv6",
    schema: { type: "string", format: "ipv6" },
    valid: ['"2001:db8::1"', '"::1"', '"fe80:0:0:0:0:0:0:1"'],
    invalid: ['"2001:db8:::1"', '"12345::"', '"1:2:3:4:5:6:7:8:9"'],
  },
  {
    keyword: "format: hostname",
    schema: { type: "string", format: "hostname" },
    valid: ['"example.com"', '"a-b.c"'],
    invalid: ['"-bad.com"', '"bad-.com"', '"a..b"'],
  },
  {
    keyword: "format: uri",
    schema: { type: "string", format: "uri" },
    valid: ['"https://example.com/a?b=c#d"', '"mailto:ada@example.com"'],
    invalid: ['"example.com"', '"://x"'],
  },
  {
    keyword: "prefixItems",
    schema: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false },
    valid: ['["a",1]', '["a"]'],
    invalid: ['[1,"a"]', '["a",1,2]'],
  },
  {
    keyword: "tuple items + additionalItems (draft-07)",
    schema: {
      type: "array",
      items: [{ type: "boolean" }, { type: "null" }],
      additionalItems: { type: "integer" },
    },
    valid: ["[true,null]", "[false,null,3,4]"],
    invalid: ["[true,null,1.5]", "[null]"],
  },
  {
    keyword: "minProperties / maxProperties",
    schema: { type: "object", additionalProperties: { type: "integer" }, minProperties: 1, maxProperties: 2 },
    valid: ['{"a":1}', '{"a":1,"b":2}'],
    invalid: ["{}", '{"a":1,"b":2,"c":3}'],
  },
  {
    keyword: "additionalProperties (schema)",
    schema: { type: "object", additionalProperties: { type: "boolean" } },
    valid: ['{"x":true}', "{}"],
    invalid: ['{"x":1}'],
  },
  {
    keyword: "patternProperties",
    schema: {
      type: "object",
      patternProperties: { "^n_": { type: "integer" }, "^s_": { type: "string" } },
      additionalProperties: false,
    },
    valid: ['{"n_a":1,"s_b":"x"}', "{}"],
    invalid: ['{"n_a":"x"}', '{"other":1}'],
  },
  {
    keyword: "propertyNames",
    schema: {
      type: "object",
      propertyNames: { pattern: "^[a-z]+$" },
      additionalProperties: { type: "integer" },
    },
    valid: ['{"abc":1}'],
    invalid: ['{"ABC":1}', '{"a1":1}'],
  },
  {
    keyword: "dependentRequired",
    schema: {
      type: "object",
      properties: { card: { type: "string" }, billing: { type: "string" } },
      dependentRequired: { card: ["billing"] },
      additionalProperties: false,
    },
    valid: ['{"card":"1","billing":"x"}', '{"billing":"x"}', "{}"],
    invalid: ['{"card":"1"}'],
  },
  {
    keyword: "const / enum of any JSON value",
    schema: { enum: [{ a: [1, 2] }, [null, true], "x", 3.5] },
    valid: ['{"a":[1,2]}', "[null,true]", '"x"', "3.5"],
    invalid: ['{"a":[1]}', "3"],
  },
  {
    keyword: "nullable",
    schema: { type: "string", nullable: true, maxLength: 3 },
    valid: ["null", '"abc"'],
    invalid: ['"abcd"', "1"],
  },
  {
    keyword: "type arrays",
    schema: { type: ["integer", "boolean"] },
    valid: ["1", "true"],
    invalid: ['"1"', "1.5"],
  },
  {
    keyword: "if / then / else",
    schema: obj(
      { kind: { enum: ["a", "b"] }, n: { type: "integer" } },
      {
        if: { properties: { kind: { const: "a" } } },
        // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword
        then: { properties: { n: { minimum: 10 } } },
        else: { properties: { n: { maximum: 0 } } },
      },
    ),
    valid: ['{"kind":"a","n":10}', '{"kind":"b","n":-3}'],
    invalid: ['{"kind":"a","n":5}', '{"kind":"b","n":1}'],
  },
  {
    keyword: "allOf (objects)",
    schema: {
      allOf: [
        { type: "object", properties: { a: { type: "integer" } }, required: ["a"] },
        { type: "object", properties: { b: { type: "string" } }, required: ["b"] },
      ],
    },
    valid: ['{"a":1,"b":"x"}'],
    invalid: ['{"a":1}', '{"b":"x"}'],
  },
  {
    // Found by fuzzing: the merge took one side's prefixItems and dropped the other side's items from those positions.
    keyword: "allOf (items and prefixItems)",
    schema: {
      allOf: [
        { type: "array", items: { type: "integer", maximum: 9 } },
        { type: "array", prefixItems: [{ type: "integer", minimum: 5 }] },
      ],
    },
    valid: ["[]", "[5]", "[9,1,2]"],
    invalid: ["[4]", "[10]", "[5,10]", '["a"]'],
  },
  {
    // Found by fuzzing: an object const was kept without checking it against required / properties beside it.
    keyword: "allOf (const object and object keywords)",
    schema: {
      allOf: [
        { type: "object", properties: { b: { type: "boolean" } }, required: ["b"] },
        { enum: [{}, { b: 1 }, { b: true }, [1]] },
      ],
    },
    valid: ['{"b":true}'],
    invalid: ["{}", '{"b":1}', "[1]"],
  },
];
