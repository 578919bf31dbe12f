/**
 * JSON schemas and the other response formats (lib/constrain: checkResponseFormat, the schema compiler, the regex
 * subset, choices): schemas generated from the keywords the compiler enforces (types, bounds, patterns, formats,
 * properties and required, items and tuples, enums, const, combinators, $ref), regexes from a grammar of pieces,
 * choice lists, then mutated as values. For an accepted format, a decode walks the constraint with random allowed
 * tokens to its end within the token budget, and what it wrote must be valid: JSON that the schema validates (ajv, the
 * independent validator of test/constrain), a whole match of the regex, or one of the choices.
 */
import fc from "fast-check";
import { DecodingConstraint } from "../../../lib/constrain/constraint";
import type { Grammar } from "../../../lib/constrain/grammar";
import { buildGrammar, checkResponseFormat, checkToolChoice } from "../../../lib/constrain/request";
import { TokenTable } from "../../../lib/constrain/token-table";
import { FakeTokenizer } from "../../constrain/fake-tokenizer";
import { validatorFor } from "../../constrain/validator";
import type { FuzzTarget } from "../harness";
import { hostileJson, mutatedJson } from "../mutate";

const table = new TokenTable(new FakeTokenizer());

interface Input {
  readonly format: unknown;
  /** Choices of the random decode walk. */
  readonly walk: number[];
}

const key = fc.constantFrom("a", "b", "name", "id", "x y", "é", "__proto__", "toString", "constructor");
const bound = fc.integer({ min: -3, max: 12 });

const { schema } = fc.letrec<{ schema: unknown; leaf: unknown; node: unknown }>((tie) => ({
  leaf: fc.oneof(
    fc.record(
      { type: fc.constant("string"), minLength: fc.nat(4), maxLength: fc.nat(8) },
      { requiredKeys: ["type"] },
    ),
    fc.record({
      type: fc.constant("string"),
      pattern: fc.constantFrom("^[a-z]+$", "^\\d{2,3}$", "a|b", "^(x|yz)*$"),
    }),
    fc.record({
      type: fc.constant("string"),
      format: fc.constantFrom(
        "date",
        "date-time",
        "email",
        "uuid",
        "ipv4",
        "time",
        "uri",
        "__proto__",
        "toString",
        "bogus",
      ),
    }),
    fc.record(
      {
        type: fc.constantFrom("integer", "number"),
        minimum: bound,
        maximum: bound,
        multipleOf: fc.constantFrom(1, 2, 0.5),
      },
      { requiredKeys: ["type"] },
    ),
    fc.record(
      { type: fc.constantFrom("integer", "number"), exclusiveMinimum: bound, exclusiveMaximum: bound },
      { requiredKeys: ["type"] },
    ),
    fc.record({ type: fc.constantFrom("boolean", "null") }),
    fc.record({ enum: fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 1, maxLength: 3 }) }),
    fc.record({ const: fc.jsonValue({ maxDepth: 1 }) }),
    fc.record({
      type: fc.array(fc.constantFrom("string", "integer", "null", "boolean"), { minLength: 1, maxLength: 2 }),
    }),
    fc.constantFrom<unknown>({}, true),
  ),
  node: fc.oneof(
    fc
      .record(
        {
          properties: fc.dictionary(key, tie("schema"), { maxKeys: 3 }),
          required: fc.array(key, { maxLength: 2 }),
          additionalProperties: fc.oneof(fc.boolean(), tie("schema")),
          minProperties: fc.nat(2),
          maxProperties: fc.nat(4),
        },
        { requiredKeys: ["properties"] },
      )
      .map((o) => ({ type: "object", ...o, required: (o.required ?? []).filter((k) => k in o.properties) })),
    fc.record(
      {
        type: fc.constant("array"),
        items: tie("schema"),
        minItems: fc.nat(2),
        maxItems: fc.nat(4),
        uniqueItems: fc.boolean(),
      },
      { requiredKeys: ["type", "items"] },
    ),
    fc.record(
      {
        type: fc.constant("array"),
        prefixItems: fc.array(tie("schema"), { minLength: 1, maxLength: 2 }),
        items: fc.oneof(fc.constant(false), tie("schema")),
      },
      { requiredKeys: ["type", "prefixItems"] },
    ),
    fc.record({ anyOf: fc.array(tie("schema"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ oneOf: fc.array(tie("schema"), { minLength: 1, maxLength: 2 }) }),
    fc.record({ allOf: fc.array(tie("schema"), { minLength: 1, maxLength: 2 }) }),
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword
    fc.record({ if: tie("leaf"), then: tie("leaf"), else: tie("leaf") }),
    fc.record({
      $defs: fc.record({ d: tie("leaf") }),
      $ref: fc.constantFrom(
        "#/$defs/d",
        "#/$defs/missing",
        "#",
        "#/%",
        "#/$defs/toString",
        "#/%24defs/d",
        "d",
      ),
    }),
  ),
  schema: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("node")),
}));

const regexPiece = fc.constantFrom(
  "a",
  "b+",
  "[a-c]",
  "\\d",
  "(x|yz)",
  "?",
  "*",
  "{2}",
  "{1,3}",
  ".",
  "\\w",
  "[^a]",
  "(",
  ")",
  "[",
  "\\",
  "|",
  "^",
  "$",
  "é",
  "(?:a)",
  "\\p{L}",
);
const regex = fc.array(regexPiece, { minLength: 1, maxLength: 6 }).map((p) => p.join(""));

const format: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: schema.map((s) => ({ type: "json_schema", json_schema: { name: "answer", schema: s } })),
  },
  { weight: 3, arbitrary: schema.chain((s) => mutatedJson({ type: "json_schema", schema: s }, 2)) },
  { weight: 2, arbitrary: regex.map((pattern) => ({ type: "regex", pattern })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 4 })
      .map((choices) => ({ type: "choice", choices })),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ type: "json_object" }, { type: "text" }) },
  { weight: 1, arbitrary: hostileJson },
);

/**
 * The schema with every oneOf read as anyOf: structured output documents that it does not enforce oneOf's exclusivity
 * (docs/structured-output.md), so the independent validator checks the same contract.
 */
function oneOfAsAnyOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(oneOfAsAnyOf);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k === "oneOf" ? "anyOf" : k, oneOfAsAnyOf(v)]),
  );
}

/** Whether a schema uses prefixItems (2020-12) and a draft-07 spelling (tuple items, additionalItems, dependencies). */
function mixesDialects(schema: unknown): boolean {
  let prefix = false;
  let draft07 = false;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if ("prefixItems" in o) prefix = true;
      if (Array.isArray(o.items) || "additionalItems" in o || "dependencies" in o) draft07 = true;
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(schema);
  return prefix && draft07;
}

/** Whether some object in the JSON text names a key twice (JSON.parse keeps the last one). */
function hasRepeatedKey(text: string): boolean {
  const keys: Set<string>[] = [];
  // Every string (a key when a ":" follows it) and every brace outside strings.
  for (const [token, colon] of text.matchAll(/"(?:[^"\\]|\\.)*"(\s*:)?|[{}]/g)) {
    if (token === "{") keys.push(new Set());
    else if (token === "}") keys.pop();
    else if (colon !== undefined) {
      const key = JSON.parse(token.slice(0, token.lastIndexOf('"') + 1)) as string;
      const current = keys[keys.length - 1];
      if (current?.has(key)) return true;
      current?.add(key);
    }
  }
  return false;
}

function decode(grammar: Grammar, walk: readonly number[]): string {
  const maxTokens = Math.max(40, grammar.minTokens + 12);
  const constraint = new DecodingConstraint({ table, grammar, maxTokens, thinking: "forbidden" });
  const bytes: number[] = [];
  for (let step = 0; step < maxTokens && !constraint.isComplete(); step++) {
    const mask = constraint.nextMask();
    if (mask === null) throw new Error("no mask while the answer is incomplete");
    const ids: number[] = [];
    for (let id = 0; id < table.vocabSize; id++) if (mask[id >>> 5]! & (1 << (id & 31))) ids.push(id);
    if (ids.length === 0) throw new Error(`no token allowed at step ${step}`);
    const id = ids[(walk[step % walk.length] ?? 0) % ids.length]!;
    constraint.accept(id);
    if (id === table.eosId) break;
    bytes.push(...table.tokenBytes(id));
  }
  if (!constraint.isComplete()) throw new Error(`not complete within ${maxTokens} tokens`);
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
}

export const responseFormatTarget: FuzzTarget<Input, Grammar | null> = {
  name: "response-format",
  reads: "responseFormat: JSON schemas, json_object, regexes and choices",
  input: fc.record({ format, walk: fc.array(fc.nat(), { minLength: 1, maxLength: 64 }) }),
  parse: ({ format: rf }) =>
    buildGrammar(table, {
      responseFormat: checkResponseFormat(rf),
      tools: [],
      toolChoice: checkToolChoice("auto"),
    }),
  check: ({ format: rf, walk }, grammar) => {
    if (grammar === null) return; // free text
    const text = decode(grammar, walk);
    const resolved = checkResponseFormat(rf);
    if (resolved.type === "json_schema" || resolved.type === "json_object") {
      const value = JSON.parse(text);
      if (resolved.type === "json_object") {
        if (value === null || typeof value !== "object" || Array.isArray(value))
          throw new Error(`${text} is no object`);
        return;
      }
      // ajv treats a "__proto__" property name as no property at all; the compiler takes it as any other name.
      if (JSON.stringify(resolved.schema)?.includes('"__proto__"')) return;
      // The validator picks one dialect per schema (draft-07 when a tuple `items: [...]` appears anywhere); a schema that
      // also uses 2020-12's prefixItems means different things in the two, and the compiler reads each keyword as its
      // own dialect defines it.
      if (mixesDialects(resolved.schema)) return;

      let validate: ReturnType<typeof validatorFor> | undefined;
      try {
        validate = validatorFor(oneOfAsAnyOf(resolved.schema));
      } catch {
        return; // a schema ajv cannot compile: nothing independent to check against
      }
      let valid: boolean;
      try {
        valid = validate(value) as boolean;
      } catch (error) {
        // ajv compares const / enum values with fast-deep-equal, which calls an object's own "toString" or "valueOf"
        // key when it has one: a JSON value with such a key (in the schema or the output) is a TypeError there.
        if (error instanceof TypeError && /\b(toString|valueOf) is not a function/.test(error.message))
          return;
        throw error;
      }
      // Free-form keys are not checked for uniqueness (docs/structured-output.md, minProperties): a repeated key can
      // leave fewer distinct properties than minProperties once parsed. Only that is let through.
      // Only minProperties can be undercut that way (a repeated key removes no required key and breaks no value's
      // schema); ajv's errors then name the alternatives that failed as well, so the whole case is left unjudged.
      const repeatedKeyUnderMinProperties =
        (validate.errors ?? []).some((e) => e.keyword === "minProperties") && hasRepeatedKey(text);
      if (!valid && !repeatedKeyUnderMinProperties)
        throw new Error(`${text} does not validate: ${JSON.stringify(validate.errors)}`);
    } else if (resolved.type === "regex") {
      let re: RegExp | undefined;
      try {
        re = new RegExp(`^(?:${resolved.pattern})$`, "u");
      } catch {
        return;
      }
      if (!re.test(text)) throw new Error(`${JSON.stringify(text)} does not match ${resolved.pattern}`);
    } else if (resolved.type === "choice" && !resolved.choices.includes(text)) {
      throw new Error(`${JSON.stringify(text)} is none of the choices`);
    }
  },
};
