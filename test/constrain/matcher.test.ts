import { describe, expect, it } from "vitest";
import { DecodingConstraint } from "../../lib/constrain/constraint";
import { Grammar } from "../../lib/constrain/grammar";
import { canFinish, type Stack } from "../../lib/constrain/matcher";
import { buildGrammar, checkResponseFormat, checkToolChoice, checkTools } from "../../lib/constrain/request";
import { TokenTable } from "../../lib/constrain/token-table";
import { InvalidArgumentError } from "../../lib/errors";
import { CORPUS } from "./corpus";
import { FakeTokenizer } from "./fake-tokenizer";
import { classify, compileSchema, feed } from "./helpers";
import { SCHEMAS } from "./schemas";
import { validatorFor } from "./validator";

const OBJ = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 3 },
    n: { type: "integer" },
    tags: { type: "array", items: { enum: ["x", "yz"] }, maxItems: 2 },
  },
  required: ["name"],
  additionalProperties: false,
} as const;

describe("the byte automaton", () => {
  const cases: [string, unknown, string, "complete" | "prefix" | "dead"][] = [
    ["object", OBJ, '{"name":"abc"}', "complete"],
    ["object with whitespace", OBJ, '{ "name": "é€", "n": -12,\n  "tags": ["x", "yz"] }', "complete"],
    ["property order is the declared order", OBJ, '{"n":1,"name":"a"}', "dead"],
    ["required property missing", OBJ, '{"n":1}', "dead"],
    ["string too long (characters, not bytes)", OBJ, '{"name":"abcd"', "dead"],
    ["3 multi-byte characters fit", OBJ, '{"name":"日本語"}', "complete"],
    ["empty string below minLength", OBJ, '{"name":""', "dead"],
    ["unknown property", OBJ, '{"name":"a","zz":1', "dead"],
    ["too many items", OBJ, '{"name":"a","tags":["x","x","x"', "dead"],
    ["enum member prefix", OBJ, '{"name":"a","tags":["y', "prefix"],
    ["non-member", OBJ, '{"name":"a","tags":["z', "dead"],
    ["integer with a fraction", OBJ, '{"name":"a","n":1.', "dead"],
    ["leading zero", OBJ, '{"name":"a","n":01', "dead"],
    ["incomplete", OBJ, '{"name":"a"', "prefix"],
    ["no whitespace before the document", OBJ, ' {"name":"a"}', "dead"],
    ["no whitespace before a colon", OBJ, '{"name" :"a"}', "dead"],
    ["number", { type: "number" }, "-0.5e+10", "complete"],
    ["number exponent needs digits", { type: "number" }, "1e", "prefix"],
    ["number too many digits", { type: "number" }, "1234567890123456", "dead"],
    ["escapes", { type: "string" }, '"a\\n\\"\\u00e9\\/"', "complete"],
    ["surrogate escape", { type: "string" }, '"\\ud83d', "dead"],
    ["bad escape", { type: "string" }, '"\\x', "dead"],
    ["raw control character", { type: "string" }, '"a\nb"', "dead"],
    ["literal", { enum: [true, null] }, "nul", "prefix"],
    ["anyOf", { anyOf: [{ type: "integer" }, { type: "string" }] }, '"x"', "complete"],
    [
      "recursion",
      SCHEMAS["$ref recursion"],
      '{"value":1,"children":[{"value":2,"children":[]}]}',
      "complete",
    ],
    ["free-form object", { type: "object" }, '{"k":[1,{"a":null}],"k":"dup"}', "complete"],
    [
      "typed free-form values",
      { type: "object", additionalProperties: { type: "integer" } },
      '{"a":1.5',
      "dead",
    ],
    ["empty object only", { type: "object", properties: {}, additionalProperties: false }, '{"', "dead"],
    ["const object", SCHEMAS["object const"], '{"version":2,"kind":"report"}', "complete"],
  ];
  for (const [name, schema, text, expected] of cases) {
    it(`${name}: ${JSON.stringify(text)} is ${expected}`, () => {
      expect(classify(compileSchema(schema), text)).toBe(expected);
    });
  }

  it("tracks UTF-8 across split bytes and rejects invalid sequences", () => {
    const node = compileSchema({ type: "string", maxLength: 1 });
    const euro = new TextEncoder().encode('"€"');
    expect(classify(node, euro.subarray(0, 2))).toBe("prefix");
    expect(classify(node, euro.subarray(0, 3))).toBe("prefix");
    expect(classify(node, euro)).toBe("complete");
    expect(classify(node, Uint8Array.of(0x22, 0xed, 0xa0))).toBe("dead"); // surrogate
    expect(classify(node, Uint8Array.of(0x22, 0xc0))).toBe("dead"); // overlong
    expect(classify(node, Uint8Array.of(0x22, 0x80))).toBe("dead"); // lone continuation
    expect(classify(node, Uint8Array.of(0x22, 0xf4, 0x90))).toBe("dead"); // above U+10FFFF
    expect(classify(node, new TextEncoder().encode('"ab'))).toBe("dead");
  });

  it("costs are the length of the shortest completion", () => {
    const node = compileSchema(OBJ);
    expect(node.minCost).toBe('{"name":"a"}'.length);
    const st = feed(
      [...(new Grammar(new TokenTable(new FakeTokenizer()), node).initial as Stack[])],
      new TextEncoder().encode('{"name":"ab'),
    );
    expect(Math.min(...st.map((s) => s.cost))).toBe(2);
    expect(compileSchema(SCHEMAS["$ref recursion"]).minCost).toBe('{"value":0}'.length);
    expect(
      compileSchema({ type: "array", items: { type: "string", minLength: 2 }, minItems: 2 }).minCost,
    ).toBe('["aa","aa"]'.length);
  });
});

describe("schema annotations", () => {
  it("accepts unknown formats as annotations: they do not restrict the output", () => {
    const withFormat = compileSchema({
      type: "object",
      properties: { d: { type: "string", format: "color" } },
    });
    const plain = compileSchema({ type: "object", properties: { d: { type: "string" } } });
    expect(withFormat.minCost).toBe(plain.minCost);
  });
});

describe("schema compilation errors", () => {
  const bad: [string, unknown, RegExp][] = [
    ["unknown keyword", { type: "string", fancy: true }, /"fancy" is not supported.* for schema at #\/fancy/],
    [
      "uniqueItems over several items",
      { type: "array", uniqueItems: true },
      /uniqueItems: true is not supported.* for schema at #\/uniqueItems/,
    ],
    ["contains", { type: "array", contains: { type: "null" } }, /contains is not supported.*#\/contains/],
    ["not around a schema", { not: { type: "null" } }, /not around const or enum only.*#\/not/],
    [
      "look-ahead in a pattern",
      { type: "string", pattern: "^(?=a)\\w+$" },
      /look-ahead.*is not supported.* for schema at #\/pattern/,
    ],
    ["back-reference in a pattern", { type: "string", pattern: "(a)\\1" }, /back-references/],
    [
      "fractional multipleOf",
      { type: "number", multipleOf: 0.01 },
      /an integer multipleOf \(fractional steps are not supported\) for schema at #\/multipleOf/,
    ],
    [
      "multipleOf whose automaton is too large",
      { type: "integer", multipleOf: 99991 },
      /multipleOf 99991 makes the automaton too large/,
    ],
    [
      "if without an expressible negation, with else",
      JSON.parse('{"if": {"minProperties": 1}, "then": {}, "else": {"type": "null"}}'),
      /an if whose negation can be written.*#\/if/,
    ],
    ["dependentSchemas", { dependentSchemas: { a: {} } }, /dependentSchemas is not supported/],
    [
      "contradicting allOf",
      { allOf: [{ type: "string" }, { type: "integer" }] },
      /some JSON value satisfies \(its keywords contradict each other\)/,
    ],
    [
      "bad type",
      { type: "text" },
      /one of object, array, string, number, integer, boolean, null for schema at #\/type/,
    ],
    ["false", false, /a schema other than false/],
    ["remote ref", { $ref: "http://x/y.json" }, /a local reference/],
    ["dangling ref", { $ref: "#/$defs/missing" }, /nothing at #\/\$defs\/missing/],
    ["self ref with siblings", { $ref: "#", type: "object" }, /a \$ref chain that ends/],
    [
      "unproductive recursion",
      { $defs: { a: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" },
      /reads something before referring back/,
    ],
    [
      "recursion that never ends",
      { type: "object", properties: { next: { $ref: "#" } }, required: ["next"] },
      /some finite JSON document/,
    ],
    ["minLength > maxLength", { type: "string", minLength: 3, maxLength: 2 }, /at most maxLength/],
    [
      "negative minItems",
      { type: "array", minItems: -1 },
      /a non-negative integer for schema at #\/minItems/,
    ],
    [
      "minItems beyond a closed tuple",
      { type: "array", prefixItems: [{}], items: false, minItems: 2 },
      /at most 1 \(maxItems, or the tuple's length\)/,
    ],
    [
      "enum of the wrong type",
      { type: "integer", enum: ["a"] },
      /an enum\/const value that meets the schema's other keywords/,
    ],
    [
      "required but additionalProperties false",
      { type: "object", properties: {}, required: ["x"], additionalProperties: false },
      /required properties that are declared/,
    ],
    [
      "minProperties above the declared properties",
      { type: "object", properties: { a: {} }, additionalProperties: false, minProperties: 2 },
      /at most the 1 properties the object may have/,
    ],
  ];
  for (const [name, schema, message] of bad) {
    it(`rejects ${name}`, () => {
      const err = (() => {
        try {
          compileSchema(schema);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it("tool parameters must describe an object; toolChoice must name a declared tool", () => {
    const table = new TokenTable(new FakeTokenizer());
    const req = (tools: unknown, toolChoice: unknown) => () =>
      buildGrammar(table, {
        responseFormat: checkResponseFormat(undefined),
        tools: checkTools(tools),
        toolChoice: checkToolChoice(toolChoice),
      });
    const tool = (name: string, parameters: unknown) => ({
      type: "function",
      function: { name, parameters },
    });
    expect(req([tool("f", { type: "string" })], "auto")).toThrow(
      /a schema describing a JSON object .* for tools\[0\].function.parameters/,
    );
    expect(req([tool("bad name!", {})], "auto")).toThrow(/for tools\[0\].function.name/);
    expect(req([tool("f", {}), tool("f", {})], "auto")).toThrow(/a name no other tool has/);
    expect(req([tool("f", {})], { name: "g" })).toThrow(/the name of a declared tool \(f\)/);
    expect(req([tool("f", { type: "object" })], { name: "f" })()).not.toBeNull();
    expect(req([tool("f", null)], "required")()).not.toBeNull();
  });
});

// ------------------------------------------------------------------------------------------------------------
// Masks against brute force on a small vocabulary with multi-byte tokens.

const fake = new FakeTokenizer();
const table = new TokenTable(fake);

function bruteForce(grammar: Grammar, stacks: readonly Stack[], remaining: number): Uint32Array {
  const mask = new Uint32Array(table.words);
  for (let id = 0; id < table.vocabSize; id++) {
    if (id === table.eosId) {
      if (stacks.some((s) => !s.done && canFinish(s))) mask[id >>> 5]! |= 1 << (id & 31);
      continue;
    }
    const sym = table.specialSymbols.get(id);
    if (id < table.numSpecial && sym === undefined) continue;
    const after = feed(stacks, sym !== undefined ? [sym] : table.tokenBytes(id));
    if (after.length > 0 && grammar.finish(after) <= remaining - 1) mask[id >>> 5]! |= 1 << (id & 31);
  }
  return mask;
}

function allowed(mask: Uint32Array): number[] {
  const ids: number[] = [];
  for (let id = 0; id < table.vocabSize; id++) if (mask[id >>> 5]! & (1 << (id & 31))) ids.push(id);
  return ids;
}

/** A small deterministic PRNG. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("masks", () => {
  for (const [name, schema] of Object.entries(CORPUS)) {
    it(`equal brute force along random documents, which validate: ${name}`, () => {
      const grammar = buildGrammar(table, {
        responseFormat: checkResponseFormat({ type: "json_schema", schema }),
        tools: [],
        toolChoice: checkToolChoice("auto"),
      })!;
      const validate = validatorFor(schema);
      for (const [seed, maxTokens] of [
        [1, Math.max(60, grammar.minTokens + 12)],
        [2, grammar.minTokens + 3],
      ] as const) {
        const random = rng(seed * 7919 + name.length);
        const constraint = new DecodingConstraint({ table, grammar, maxTokens, thinking: "forbidden" });
        let stacks: readonly Stack[] = grammar.initial;
        const bytes: number[] = [];
        for (let step = 0; step < maxTokens && !constraint.isComplete(); step++) {
          const mask = constraint.nextMask()!;
          // Stack state mirrors the constraint's answer state.
          expect(allowed(mask)).toEqual(allowed(bruteForce(grammar, stacks, maxTokens - step)));
          const ids = allowed(mask);
          expect(ids.length).toBeGreaterThan(0);
          const id = ids[Math.floor(random() * ids.length)]!;
          constraint.accept(id);
          if (id === table.eosId) break;
          stacks = grammar.advanceToken(stacks, id);
          bytes.push(...table.tokenBytes(id));
        }
        const text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
        const value = JSON.parse(text);
        expect(validate(value), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
    });
  }
});
