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
