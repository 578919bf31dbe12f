/**
 * Each keyword family structured output enforces: its documents that validate (ajv + ajv-formats) are
 * complete documents of the compiled automaton, and its documents that break the keyword are not.
 */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import { classify, compileSchema } from "./helpers";
import { KEYWORD_CASES } from "./keyword-cases";
import { validatorFor } from "./validator";

describe("keyword families", () => {
  for (const c of KEYWORD_CASES) {
    it(`${c.keyword}: accepts what validates, rejects what breaks it`, () => {
      const validate = validatorFor(c.schema);
      for (const text of c.valid) expect(validate(JSON.parse(text)), `ajv: ${text}`).toBe(true);
      for (const text of c.invalid) expect(validate(JSON.parse(text)), `ajv: ${text}`).toBe(false);
      const node = compileSchema(c.schema);
      for (const text of c.valid) expect(classify(node, text), text).toBe("complete");
      for (const text of c.invalid) expect(classify(node, text), text).not.toBe("complete");
    });
  }
});

describe("enum / const objects beside other keywords (found by fuzzing)", () => {
  it("a const that breaks the object keywords beside it leaves no value: an InvalidArgumentError", () => {
    const schema = { allOf: [{ type: "object", required: ["b"] }, { const: {} }] };
    expect(() => compileSchema(schema)).toThrow(InvalidArgumentError);
    expect(() => compileSchema(schema)).toThrow(/enum\/const value that meets/);
  });

  it("a keyword the const check cannot evaluate is refused, not ignored", () => {
    const schema = { allOf: [{ type: "object", propertyNames: { maxLength: 1 } }, { const: { long: 1 } }] };
    expect(() => compileSchema(schema)).toThrow(/not propertyNames/);
  });
});

describe("names that are Object.prototype's own (found by fuzzing)", () => {
  it('a format named "__proto__" or "toString" is an unknown format (an annotation), not a TypeError', () => {
    for (const format of ["__proto__", "toString", "constructor"]) {
      const node = compileSchema({ type: "string", format, maxLength: 2 });
      expect(classify(node, '"ab"')).toBe("complete");
    }
  });

  it('a property named "toString" in an allOf is an ordinary property', () => {
    const node = compileSchema({
      allOf: [
        { type: "object", properties: { toString: { type: "integer" } }, required: ["toString"] },
        { type: "object", properties: { a: { type: "boolean" } } },
      ],
    });
    expect(classify(node, '{"toString":1}')).toBe("complete");
    expect(classify(node, '{"toString":"x"}')).not.toBe("complete");
  });

  it("a $ref with malformed percent-encoding or to an inherited name is an InvalidArgumentError", () => {
    for (const $ref of ["#/%", "#/toString", "#/$defs/constructor"]) {
      expect(() => compileSchema({ $defs: { d: { type: "string" } }, $ref }), $ref).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('an unknown keyword named "toString" is refused with the generic reason', () => {
    expect(() => compileSchema({ type: "string", toString: 1 })).toThrow(/"toString" is not supported/);
  });
});

describe("schemas without end (found by fuzzing)", () => {
  it("an allOf over a recursive $ref is an InvalidArgumentError, not a stack overflow", () => {
    const schema = { type: "array", items: { allOf: [{ $ref: "#" }] } };
    expect(() => compileSchema(schema)).toThrow(InvalidArgumentError);
    expect(() => compileSchema(schema)).toThrow(/nested at most 200 levels/);
  });

  it("a schema nested deeper than the limit is an InvalidArgumentError; recursion through a plain $ref still compiles", () => {
    let deep: unknown = { type: "integer" };
    for (let i = 0; i < 1000; i++) deep = { type: "array", items: deep };
    expect(() => compileSchema(deep)).toThrow(InvalidArgumentError);
    const tree = {
      type: "object",
      properties: { kids: { type: "array", items: { $ref: "#" }, maxItems: 2 } },
    };
    expect(classify(compileSchema(tree), '{"kids":[{"kids":[]},{}]}')).toBe("complete");
  });
});

describe("malformed keywords met while merging an allOf (found by fuzzing)", () => {
  it("required, patternProperties, dependentRequired and enum of the wrong type are InvalidArgumentErrors", () => {
    const cases = [
      [{ required: 0 }, { required: ["a"] }],
      [{ patternProperties: null }, { patternProperties: { "^a": {} } }],
      [{ dependentRequired: 1 }, { dependentRequired: { a: ["b"] } }],
      [{ enum: 0 }, { enum: [1] }],
      [{ enum: [1] }, { enum: 0 }],
    ];
    for (const allOf of cases) {
      expect(() => compileSchema({ type: "object", allOf }), JSON.stringify(allOf)).toThrow(
        InvalidArgumentError,
      );
    }
  });
});
