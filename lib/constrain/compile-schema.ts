/**
 * JSON Schema → node graph (nodes.ts). The supported keywords are listed in docs/structured-output.md;
 * anything else is an InvalidArgumentError naming the keyword and its JSON pointer, never ignored.
 *
 * A schema is first rewritten at the schema level (schema/: older spellings, allOf merged, anyOf / oneOf
 * beside other keywords distributed, if/then/else and dependentRequired expanded into alternatives), then
 * compiled: objects, arrays and plain strings / numbers to their frames, constrained strings (pattern,
 * format) and bounded numbers to byte automata (automaton/).
 */

import { InvalidArgumentError } from "../errors";
import { type ByteDfa, difference, intersect } from "./automaton/dfa";
import { formatPattern } from "./automaton/formats";
import { AutomatonError } from "./automaton/nfa";
import { type NumberBound, numberRangeDfa } from "./automaton/number-range";
import {
  anyStringDfa,
  jsonStringDfa,
  literalsDfa,
  patternDfa,
  stringValueDfa,
} from "./automaton/string-language";
import {
  bytesOf,
  finishNodes,
  type Node,
  NodeFactory,
  type ObjectProp,
  type RefNode,
  type ToolSpec,
} from "./nodes";
import { expandConditional, expandDependentRequired } from "./schema/expand";
import {
  ANNOTATIONS,
  ARRAY_KEYS,
  canonicalJson,
  constraintKeys,
  EXCLUDED,
  FORMATS,
  isSchemaObject,
  NUMBER_KEYS,
  OBJECT_KEYS,
  PATTERNS,
  type Schema,
  STRING_KEYS,
  SUPPORTED,
  UNSUPPORTED_REASONS,
} from "./schema/keywords";
import { mergeAll, preprocess, type SchemaContext } from "./schema/merge";

const TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"] as const;
type JsonType = (typeof TYPES)[number];

/** Compiled JSON-text automata of constrained strings, shared by every grammar (they depend on the schema only). */
const automatonCache = new Map<string, ByteDfa>();
const MAX_CACHED_AUTOMATA = 256;

function cachedAutomaton(key: string, build: () => ByteDfa): ByteDfa {
  let dfa = automatonCache.get(key);
  if (dfa === undefined) {
    dfa = build();
    if (automatonCache.size >= MAX_CACHED_AUTOMATA)
      automatonCache.delete(automatonCache.keys().next().value!);
    automatonCache.set(key, dfa);
  }
  return dfa;
}

/** Compiles `schema`; errors name `argument` followed by the JSON pointer of the offending keyword. */
export class SchemaCompiler {
  readonly factory = new NodeFactory();
  private readonly refs = new Map<string, RefNode>();
  private readonly pending: { ref: RefNode; pointer: string }[] = [];
  /** Schemas being compiled inside one another now (see MAX_SCHEMA_NESTING). */
  private nesting = 0;
  private anyNode: Node | undefined;
  private anyStringNode: Node | undefined;
  private root: unknown;

  constructor(private argument: string) {}

  /** Compiles one document (its own `$ref` root). Call finish() after the last one. */
  compile(schema: unknown, argument: string = this.argument): Node {
    this.argument = argument;
    this.root = schema;
    this.refs.clear();
    const node = this.node(schema, "#");
    while (this.pending.length > 0) {
      const { ref, pointer } = this.pending.shift()!;
      ref.target = this.node(
        resolvePointer(this.root, pointer, (p) => this.fail(p, "")),
        pointer,
      );
    }
    return node;
  }

  /** Any JSON value. */
  any(): Node {
    this.anyNode ??= this.factory.anyValue("#");
    return this.anyNode;
  }

  /** Any JSON object. */
  anyObject(): Node {
    return this.factory.object("#", [], this.factory.entry("#", this.anyString(), this.any()));
  }

  private anyString(): Node {
    this.anyStringNode ??= this.factory.string("#", 0, Number.POSITIVE_INFINITY);
    return this.anyStringNode;
  }

  /** Fixes costs and checks every node can end and every `$ref` makes progress. */
  finish(roots: readonly Node[]): void {
    finishNodes(this.factory.all);
    for (const n of this.factory.all) checkProgress(n, (p, m) => this.fail(p, m));
    for (const r of roots) {
      if (!Number.isFinite(r.minCost))
        throw new InvalidArgumentError(
          this.argument,
          "a schema that some finite JSON document satisfies",
          "a schema whose recursion never ends",
        );
    }
  }

  private fail(pointer: string, expected: string, received?: unknown): never {
    throw new InvalidArgumentError(`${this.argument} at ${pointer}`, expected, received);
  }

  private context(pointer: string): SchemaContext {
    return {
      resolve: (ref) => {
        if (!ref.startsWith("#"))
          this.fail(
            `${pointer}/$ref`,
            "a local reference such as #/$defs/Name (remote references are not supported)",
            ref,
          );
        return resolvePointer(this.root, ref, (p) =>
          this.fail(`${pointer}/$ref`, `a reference to an existing schema (nothing at ${p})`, ref),
        );
      },
      fail: (at, expected, received) => this.fail(`${pointer}/${at}`, expected, received),
    };
  }

  /** Runs an automaton construction, turning its errors into errors at `pointer`. */
  private automaton<T>(pointer: string, keyword: string, build: () => T): T {
    try {
      return build();
    } catch (e) {
      if (e instanceof AutomatonError)
        this.fail(`${pointer}/${keyword}`, `an expressible ${keyword}: ${e.message}`);
      throw e;
    }
  }

  private checkKeywords(s: Schema, pointer: string): void {
    for (const key of Object.keys(s)) {
      if (ANNOTATIONS.has(key) || SUPPORTED.has(key) || key.startsWith("x-")) continue;
      const reason = Object.hasOwn(UNSUPPORTED_REASONS, key) ? UNSUPPORTED_REASONS[key] : undefined;
      this.fail(
        `${pointer}/${escapePointer(key)}`,
        `a supported JSON Schema keyword (${reason ?? `${JSON.stringify(key)} is not supported in structured output`}; see docs/structured-output.md)`,
        s[key],
      );
    }
  }

  private node(schema: unknown, pointer: string): Node {
    if (this.nesting >= MAX_SCHEMA_NESTING) {
      // An allOf over a recursive $ref is inlined each time it is met, without end (`items: {allOf: [{$ref: "#"}]}`
      // was a stack overflow; found by fuzzing), and a deeply nested schema would overflow the stack too.
      this.fail(
        pointer,
        `a schema nested at most ${MAX_SCHEMA_NESTING} levels deep (a recursive $ref inside allOf, or beside other ` +
          "keywords, is inlined at every level: put the recursion in a $ref of its own)",
      );
    }
    this.nesting++;
    try {
      return this.nodeAt(schema, pointer);
    } finally {
      this.nesting--;
    }
  }

  private nodeAt(schema: unknown, pointer: string): Node {
    const f = this.factory;
    if (schema === true) return this.any();
    if (schema === false) this.fail(pointer, "a schema other than false (false accepts nothing)", schema);
    if (!isSchemaObject(schema)) this.fail(pointer, "a JSON schema (an object or a boolean)", schema);
    this.checkKeywords(schema, pointer);
    const ctx = this.context(pointer);
    const s = preprocess(schema, ctx);
    const keywords = constraintKeys(s);

    // Schema-level rewrites.
    if (s.$ref !== undefined && (keywords.length > 1 || s[EXCLUDED] !== undefined)) {
      const { $ref, ...rest } = s;
      return this.rewritten(mergeAll([{ $ref }, withInternal(rest, s)], ctx), pointer);
    }
    if (s.allOf !== undefined) return this.rewritten(mergeAll([s], ctx), pointer);
    const comb = s.anyOf !== undefined ? "anyOf" : s.oneOf !== undefined ? "oneOf" : undefined;
    if (comb !== undefined && (keywords.length > 1 || s[EXCLUDED] !== undefined)) {
      if (s.anyOf !== undefined && s.oneOf !== undefined) {
        const { oneOf, ...rest } = s;
        return this.rewritten(mergeAll([withInternal(rest, s), { anyOf: oneOf }], ctx), pointer);
      }
      return this.rewritten(mergeAll([s], ctx), pointer);
    }
    if (s.if !== undefined || s.then !== undefined || s.else !== undefined)
      return this.rewritten(expandConditional(s, ctx), pointer);
    if (s.dependentRequired !== undefined) return this.rewritten(expandDependentRequired(s, ctx), pointer);

    if (s.$ref !== undefined) return this.ref(s.$ref, `${pointer}/$ref`);
    if (comb !== undefined) {
      const list = s[comb];
      if (!Array.isArray(list) || list.length === 0)
        this.fail(`${pointer}/${comb}`, "a non-empty array of schemas", list);
      const options = list.filter((sub) => sub !== false);
      if (options.length === 0) this.fail(`${pointer}/${comb}`, "an alternative other than false", list);
      return f.union(
        pointer,
        list.flatMap((sub, i) => (sub === false ? [] : [this.node(sub, `${pointer}/${comb}/${i}`)])),
      );
    }

    let types = this.types(s, pointer);
    const excluded = Array.isArray(s[EXCLUDED]) ? (s[EXCLUDED] as unknown[]) : [];
    if (s.enum !== undefined || s.const !== undefined) return this.literals(s, types, excluded, pointer);

    if (types === undefined) {
      const inferred: JsonType[] = [];
      if (OBJECT_KEYS.some((k) => s[k] !== undefined)) inferred.push("object");
      if (ARRAY_KEYS.some((k) => s[k] !== undefined) || s.uniqueItems !== undefined) inferred.push("array");
      if (
        STRING_KEYS.some((k) => s[k] !== undefined) ||
        s[PATTERNS] !== undefined ||
        s[FORMATS] !== undefined
      )
        inferred.push("string");
      if (NUMBER_KEYS.some((k) => s[k] !== undefined)) inferred.push("number");
      if (inferred.length === 0 && excluded.length === 0) return this.any();
      types = inferred.length === 0 ? [...TYPES].filter((t) => t !== "integer") : inferred;
    }
    if (types.includes("number")) types = types.filter((t) => t !== "integer");
    const nodes = types.flatMap((t) => {
      const n = this.typed(t, s, excluded, pointer);
      return n === null ? [] : [n];
    });
    if (nodes.length === 0)
      this.fail(pointer, "a schema that some JSON value satisfies (everything is excluded)");
    return nodes.length === 1 ? nodes[0]! : f.union(pointer, nodes);
  }

  private rewritten(s: Schema | false, pointer: string): Node {
    if (s === false)
      this.fail(pointer, "a schema that some JSON value satisfies (its keywords contradict each other)");
    return this.node(s, pointer);
  }

  private types(s: Schema, pointer: string): JsonType[] | undefined {
    if (s.type === undefined) return undefined;
    const list = Array.isArray(s.type) ? s.type : [s.type];
    if (list.length === 0)
      this.fail(`${pointer}/type`, "a type name or a non-empty array of type names", s.type);
    for (const t of list) {
      if (!TYPES.includes(t as JsonType)) this.fail(`${pointer}/type`, `one of ${TYPES.join(", ")}`, t);
    }
    return [...new Set(list as JsonType[])];
  }

  private literals(s: Schema, types: JsonType[] | undefined, excluded: unknown[], pointer: string): Node {
    if (s.const !== undefined && s.enum !== undefined)
      this.fail(`${pointer}/enum`, "enum or const, not both", s.enum);
    const values =
      s.const !== undefined
        ? [s.const]
        : Array.isArray(s.enum) && s.enum.length > 0
          ? s.enum
          : this.fail(`${pointer}/enum`, "a non-empty array", s.enum);
    const out = new Set(excluded.map(canonicalJson));
    const kept = values.filter(
      (v) =>
        (types === undefined || types.some((t) => isOfType(v, t))) &&
        !out.has(canonicalJson(v)) &&
        this.literalAllowed(v, s, pointer),
    );
    if (kept.length === 0)
      this.fail(
        pointer,
        `an enum/const value that meets the schema's other keywords (type ${JSON.stringify(s.type)})`,
        values,
      );
    return this.factory.literal(pointer, [...new Set(kept.map((v) => JSON.stringify(v)))]);
  }

  /** Whether an enum / const value also meets the schema's string and number keywords. */
  private literalAllowed(v: unknown, s: Schema, pointer: string): boolean {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) this.fail(`${pointer}/enum`, "finite numbers", v);
      const [min, max] = [lowerBound(s), upperBound(s)];
      if (min && (min.exclusive ? v <= min.value : v < min.value)) return false;
      if (max && (max.exclusive ? v >= max.value : v > max.value)) return false;
      if (typeof s.multipleOf === "number" && !Number.isInteger(v / s.multipleOf)) return false;
      return true;
    }
    if (typeof v === "string") {
      const len = [...v].length;
      const min = typeof s.minLength === "number" ? s.minLength : 0;
      const max = typeof s.maxLength === "number" ? s.maxLength : Number.POSITIVE_INFINITY;
      if (len < min || len > max) return false;
      const dfa = this.automaton(pointer, "pattern", () =>
        stringValueDfa(
          {
            ...this.stringConstraints(s, pointer),
            minLength: 0,
            maxLength: Number.POSITIVE_INFINITY,
            excluded: [],
          },
          "a string",
        ),
      );
      return dfa === undefined || dfa.accepts(bytesOf(v));
    }
    if (v !== null && typeof v === "object") return this.structureAllowed(v, s, pointer);
    return true;
  }

  /**
   * Whether an object / array enum or const value meets the object and array keywords beside it, subschemas included
   * (an allOf of `required: ["b"]` and `const: {}` has no value; found by fuzzing). Keywords this check does not
   * evaluate are refused rather than ignored.
   */
  private structureAllowed(v: object, s: Schema, pointer: string): boolean {
    this.onlyCheckableKeywords(s, pointer, v);
    if (Array.isArray(v)) {
      if (typeof s.minItems === "number" && v.length < s.minItems) return false;
      if (typeof s.maxItems === "number" && v.length > s.maxItems) return false;
      if (s.uniqueItems === true && new Set(v.map(canonicalJson)).size !== v.length) return false;
      const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
      return v.every((item, i) =>
        i < prefix.length
          ? this.valueMeets(item, prefix[i], `${pointer}/prefixItems/${i}`)
          : this.valueMeets(item, s.items, `${pointer}/items`),
      );
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (typeof s.minProperties === "number" && keys.length < s.minProperties) return false;
    if (typeof s.maxProperties === "number" && keys.length > s.maxProperties) return false;
    if (Array.isArray(s.required) && s.required.some((k) => typeof k !== "string" || !Object.hasOwn(o, k)))
      return false;
    const properties = isSchemaObject(s.properties) ? s.properties : {};
    return keys.every((k) =>
      Object.hasOwn(properties, k)
        ? this.valueMeets(o[k], properties[k], `${pointer}/properties/${k}`)
        : this.valueMeets(o[k], s.additionalProperties, `${pointer}/additionalProperties`),
    );
  }

  /** Whether `v` (inside an enum / const value) meets the subschema `sub` (absent: any value). */
  private valueMeets(v: unknown, sub: unknown, pointer: string): boolean {
    if (sub === undefined || sub === true) return true;
    if (!isSchemaObject(sub)) return false;
    const s = preprocess(sub, this.context(pointer));
    this.onlyCheckableKeywords(s, pointer, v);
    const types = this.types(s, pointer);
    if (types !== undefined && !types.some((t) => isOfType(v, t))) return false;
    const same = (e: unknown) => canonicalJson(e) === canonicalJson(v);
    if (s.const !== undefined && !same(s.const)) return false;
    if (Array.isArray(s.enum) && !s.enum.some(same)) return false;
    if (Array.isArray(s[EXCLUDED]) && (s[EXCLUDED] as unknown[]).some(same)) return false;
    return this.literalAllowed(v, s, pointer);
  }

  private onlyCheckableKeywords(s: Schema, pointer: string, value: unknown): void {
    const other = constraintKeys(s).filter((k) => !LITERAL_CHECKED_KEYS.has(k));
    if (other.length > 0) {
      this.fail(
        pointer,
        `an enum / const object or array whose schema has only keywords checked against it (not ${other.join(", ")})`,
        value,
      );
    }
  }

  private typed(t: JsonType, s: Schema, excluded: unknown[], pointer: string): Node | null {
    const f = this.factory;
    switch (t) {
      case "null":
        return excluded.includes(null) ? null : f.literal(pointer, ["null"]);
      case "boolean": {
        const values = ["true", "false"].filter((b) => !excluded.includes(b === "true"));
        return values.length === 0 ? null : f.literal(pointer, values);
      }
      case "number":
      case "integer":
        return this.number(t, s, excluded, pointer);
      case "string":
        return this.string(s, excluded, pointer);
      case "array":
        return this.array(s, pointer);
      case "object":
        return this.object(s, pointer);
    }
  }

  private number(t: "number" | "integer", s: Schema, excluded: unknown[], pointer: string): Node {
    for (const k of NUMBER_KEYS)
      if (s[k] !== undefined && !(typeof s[k] === "number" && Number.isFinite(s[k])))
        this.fail(`${pointer}/${k}`, "a finite number", s[k]);
    let integer = t === "integer";
    let multipleOf: number | undefined;
    if (s.multipleOf !== undefined) {
      const m = s.multipleOf as number;
      if (!(m > 0)) this.fail(`${pointer}/multipleOf`, "a number above 0", m);
      if (!Number.isInteger(m))
        this.fail(`${pointer}/multipleOf`, "an integer multipleOf (fractional steps are not supported)", m);
      integer = true; // multiples of an integer are integers
      if (m > 1) multipleOf = m;
    }
    const min = lowerBound(s);
    const max = upperBound(s);
    const numbers = excluded.filter((v): v is number => typeof v === "number");
    if (numbers.some((v) => !Number.isInteger(v)) || (!integer && numbers.length > 0))
      this.fail(
        pointer,
        "not const / enum over integers only (excluded numbers must be integers of an integer type)",
        numbers,
      );
    if (min === undefined && max === undefined && multipleOf === undefined && numbers.length === 0)
      return this.factory.number(pointer, integer);
    const key = canonicalJson({ integer, min, max, multipleOf, numbers });
    const dfa = this.automaton(pointer, multipleOf !== undefined ? "multipleOf" : "minimum", () =>
      cachedAutomaton(key, () => {
        const range = numberRangeDfa({ integer, min, max, multipleOf }, "a number range");
        return numbers.length === 0
          ? range
          : difference(range, literalsDfa(numbers.map(String), "excluded numbers"), "a number range");
      }),
    );
    return this.factory.automaton(pointer, dfa);
  }

  private stringConstraints(s: Schema, pointer: string) {
    const patterns = [s.pattern, ...((s[PATTERNS] as unknown[]) ?? [])].filter((p) => p !== undefined);
    for (const p of patterns) if (typeof p !== "string") this.fail(`${pointer}/pattern`, "a string", p);
    const formats = [s.format, ...((s[FORMATS] as unknown[]) ?? [])].filter((x) => x !== undefined);
    for (const x of formats) if (typeof x !== "string") this.fail(`${pointer}/format`, "a string", x);
    return {
      patterns: patterns as string[],
      // Formats without a grammar here stay annotations.
      formats: (formats as string[]).filter((x) => formatPattern(x) !== undefined),
    };
  }

  private string(s: Schema, excluded: unknown[], pointer: string): Node | null {
    const min = this.count(s, "minLength", pointer, 0);
    const max = this.count(s, "maxLength", pointer, Number.POSITIVE_INFINITY);
    if (min > max) this.fail(`${pointer}/minLength`, `at most maxLength (${max})`, min);
    const { patterns, formats } = this.stringConstraints(s, pointer);
    const strings = excluded.filter((v): v is string => typeof v === "string");
    if (patterns.length === 0 && formats.length === 0 && strings.length === 0)
      return this.factory.string(pointer, min, max);
    const keyword = patterns.length > 0 ? "pattern" : formats.length > 0 ? "format" : "not";
    const constraints = { patterns, formats, minLength: min, maxLength: max, excluded: strings };
    const dfa = this.automaton(pointer, keyword, () =>
      cachedAutomaton(canonicalJson({ string: constraints }), () =>
        jsonStringDfa(stringValueDfa(constraints, "a string")!, "a JSON string"),
      ),
    );
    return this.factory.automaton(pointer, dfa);
  }

  private array(s: Schema, pointer: string): Node {
    const prefixSchemas = s.prefixItems ?? [];
    if (!Array.isArray(prefixSchemas))
      this.fail(`${pointer}/prefixItems`, "an array of schemas", prefixSchemas);
    const prefix = prefixSchemas.map((sub, i) => this.node(sub, `${pointer}/prefixItems/${i}`));
    let min = this.count(s, "minItems", pointer, 0);
    let max = this.count(s, "maxItems", pointer, Number.POSITIVE_INFINITY);
    const items =
      s.items === undefined ? this.any() : s.items === false ? null : this.node(s.items, `${pointer}/items`);
    if (items === null) max = Math.min(max, prefix.length);
    if (min > max) this.fail(`${pointer}/minItems`, `at most ${max} (maxItems, or the tuple's length)`, min);
    if (s.uniqueItems === true && max > 1)
      this.fail(
        `${pointer}/uniqueItems`,
        `a supported JSON Schema keyword (${UNSUPPORTED_REASONS.uniqueItems}; allowed with maxItems <= 1; see docs/structured-output.md)`,
        true,
      );
    if (min > 0 && prefix.length < min && items === null) min = prefix.length;
    return this.factory.array(pointer, prefix, items, min, max);
  }

  private object(s: Schema, pointer: string): Node {
    const properties = s.properties ?? {};
    if (!isSchemaObject(properties)) this.fail(`${pointer}/properties`, "an object of schemas", properties);
    const required = s.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === "string"))
      this.fail(`${pointer}/required`, "an array of property names", required);
    const req = new Set(required as string[]);
    const additional = s.additionalProperties;
    if (additional !== undefined && typeof additional !== "boolean" && !isSchemaObject(additional))
      this.fail(`${pointer}/additionalProperties`, "a boolean or a schema", additional);
    const patternProps = s.patternProperties ?? {};
    if (!isSchemaObject(patternProps))
      this.fail(`${pointer}/patternProperties`, "an object of schemas", patternProps);
    const patterns = Object.keys(patternProps);
    const patternDfas = patterns.map((p) =>
      this.automaton(pointer, `patternProperties/${escapePointer(p)}`, () => patternDfa(p)),
    );
    const names =
      s.propertyNames === undefined
        ? undefined
        : this.nameLanguage(s.propertyNames, `${pointer}/propertyNames`);
    const minProps = this.count(s, "minProperties", pointer, 0);
    const maxProps = this.count(s, "maxProperties", pointer, Number.POSITIVE_INFINITY);
    if (minProps > maxProps)
      this.fail(`${pointer}/minProperties`, `at most maxProperties (${maxProps})`, minProps);

    /** The schema a property with this name must meet: its declaration, matching patterns, or additionalProperties. */
    const schemaFor = (name: string, declared: unknown, at: string): unknown => {
      if (names !== undefined && !names.accepts(bytesOf(name))) return false;
      const matching = patterns
        .filter((_, k) => patternDfas[k]!.accepts(bytesOf(name)))
        .map((p) => patternProps[p]);
      const own = declared !== undefined ? declared : matching.length > 0 ? true : (additional ?? true);
      if (matching.length === 0) return own;
      const merged = mergeAll([own, ...matching], this.context(at));
      return merged;
    };

    const props: ObjectProp[] = [];
    const forbidden: string[] = [];
    const add = (name: string, sub: unknown, at: string) => {
      const schema = schemaFor(name, sub, at);
      if (schema === false) {
        if (req.has(name))
          this.fail(
            at,
            `a schema for required property ${JSON.stringify(name)} that some value satisfies`,
            sub,
          );
        forbidden.push(name);
        return;
      }
      props.push({
        name,
        keyBytes: bytesOf(JSON.stringify(name)),
        node: this.node(schema, at),
        required: req.has(name),
      });
    };
    for (const [name, sub] of Object.entries(properties))
      add(name, sub, `${pointer}/properties/${escapePointer(name)}`);
    const declared = new Set([...props.map((p) => p.name), ...forbidden]);
    for (const name of req) {
      if (declared.has(name)) continue;
      if (additional === false && !patterns.some((_, k) => patternDfas[k]!.accepts(bytesOf(name))))
        this.fail(
          `${pointer}/required`,
          `required properties that are declared (additionalProperties is false)`,
          name,
        );
      add(name, undefined, `${pointer}/required`);
    }
    if (props.length > 0) {
      // Validate the schemas of keys never written (declared-property objects write no other keys).
      if (isSchemaObject(additional)) this.node(additional, `${pointer}/additionalProperties`);
      if (minProps > props.length)
        this.fail(
          `${pointer}/minProperties`,
          `at most the ${props.length} properties the object may have`,
          minProps,
        );
      return this.factory.object(pointer, props, null, minProps, maxProps);
    }
    const free = this.entries(pointer, patterns, patternDfas, patternProps, additional, names, forbidden);
    if (free === null && minProps > 0)
      this.fail(`${pointer}/minProperties`, "0 (the object may have no properties)", minProps);
    return this.factory.object(pointer, [], free, minProps, maxProps);
  }

  /** The `"key": value` entries of an object without declared properties (null: none allowed). */
  private entries(
    pointer: string,
    patterns: string[],
    patternDfas: ByteDfa[],
    patternProps: Schema,
    additional: unknown,
    names: ByteDfa | undefined,
    forbidden: string[],
  ): Node | null {
    const f = this.factory;
    const entries: Node[] = [];
    const keyNode = (lang: ByteDfa | undefined, at: string): Node | null => {
      let value = lang;
      if (names) value = value ? intersect(value, names, "property names") : names;
      if (forbidden.length > 0)
        value = difference(value ?? anyStringDfa(), literalsDfa(forbidden, "names"), "property names");
      if (value === undefined) return this.anyString();
      try {
        return f.automaton(at, jsonStringDfa(value, "a property name"));
      } catch (e) {
        if (e instanceof AutomatonError && /accepts nothing/.test(e.message)) return null;
        throw e;
      }
    };
    patterns.forEach((p, k) => {
      const at = `${pointer}/patternProperties/${escapePointer(p)}`;
      // Keys matching two patterns would need both schemas: only keys matching this pattern alone.
      let lang: ByteDfa | null = patternDfas[k]!;
      this.automaton(pointer, "patternProperties", () => {
        for (let j = 0; j < patterns.length && lang; j++)
          if (j !== k) {
            try {
              lang = difference(lang, patternDfas[j]!, "property names");
            } catch (e) {
              if (e instanceof AutomatonError && /accepts nothing/.test(e.message)) lang = null;
              else throw e;
            }
          }
      });
      if (lang === null) return;
      const key = this.automaton(pointer, "patternProperties", () => keyNode(lang!, at));
      if (key === null) return;
      const sub = patternProps[p];
      if (sub === false) return;
      entries.push(f.entry(at, key, this.node(sub, at)));
    });
    if (additional !== false) {
      const at = `${pointer}/additionalProperties`;
      let lang: ByteDfa | undefined;
      let empty = false;
      if (patternDfas.length > 0) {
        this.automaton(pointer, "patternProperties", () => {
          let l = anyStringDfa();
          for (const d of patternDfas) {
            try {
              l = difference(l, d, "property names");
            } catch (e) {
              if (e instanceof AutomatonError && /accepts nothing/.test(e.message)) empty = true;
              else throw e;
            }
            if (empty) break;
          }
          lang = l;
        });
      }
      const key = empty ? null : this.automaton(pointer, "propertyNames", () => keyNode(lang, at));
      if (key !== null) {
        const value =
          additional === undefined || additional === true ? this.any() : this.node(additional, at);
        entries.push(f.entry(at, key, value));
      }
    }
    if (entries.length === 0) return null;
    return entries.length === 1 ? entries[0]! : f.union(pointer, entries);
  }

  /** propertyNames: a string schema (pattern, format, lengths, enum / const) as a language of names. */
  private nameLanguage(schema: unknown, pointer: string): ByteDfa | undefined {
    if (schema === true) return undefined;
    if (!isSchemaObject(schema)) this.fail(pointer, "a string schema", schema);
    this.checkKeywords(schema, pointer);
    const s = preprocess(schema, this.context(pointer));
    for (const k of constraintKeys(s))
      if (!["type", "pattern", "format", "minLength", "maxLength", "enum", "const"].includes(k))
        this.fail(
          `${pointer}/${k}`,
          "a propertyNames schema with type, pattern, format, minLength, maxLength, enum or const",
          s[k],
        );
    if (s.type !== undefined && s.type !== "string") this.fail(`${pointer}/type`, '"string"', s.type);
    const only = s.const !== undefined ? [s.const] : (s.enum as unknown[] | undefined);
    if (only && !only.every((v) => typeof v === "string"))
      this.fail(pointer, "string enum / const values", only);
    const constraints = {
      ...this.stringConstraints(s, pointer),
      minLength: this.count(s, "minLength", pointer, 0),
      maxLength: this.count(s, "maxLength", pointer, Number.POSITIVE_INFINITY),
      excluded: ((s[EXCLUDED] as unknown[]) ?? []).filter((v): v is string => typeof v === "string"),
      only: only as string[] | undefined,
    };
    return this.automaton(pointer, "pattern", () => stringValueDfa(constraints, "property names"));
  }

  private count(s: Schema, key: string, pointer: string, fallback: number): number {
    const v = s[key];
    if (v === undefined) return fallback;
    if (!(typeof v === "number" && Number.isSafeInteger(v) && v >= 0))
      this.fail(`${pointer}/${key}`, "a non-negative integer", v);
    return v;
  }

  private ref(ref: unknown, at: string): Node {
    if (typeof ref !== "string" || !ref.startsWith("#"))
      this.fail(at, "a local reference such as #/$defs/Name (remote references are not supported)", ref);
    const pointer =
      ref === "#" ? "#" : ref.startsWith("#/") ? ref : this.fail(at, "a JSON pointer reference (#/...)", ref);
    resolvePointer(this.root, pointer, (p) =>
      this.fail(at, `a reference to an existing schema (nothing at ${p})`, ref),
    );
    let node = this.refs.get(pointer);
    if (node === undefined) {
      node = this.factory.ref(pointer);
      this.refs.set(pointer, node);
      this.pending.push({ ref: node, pointer });
    }
    return node;
  }
}

function withInternal(target: Schema, from: Schema): Schema {
  for (const sym of [PATTERNS, FORMATS, EXCLUDED]) if (from[sym] !== undefined) target[sym] = from[sym];
  return target;
}

/** The tighter of minimum / exclusiveMinimum (exclusive on a tie). */
function lowerBound(s: Schema): NumberBound | undefined {
  const inc = typeof s.minimum === "number" ? s.minimum : undefined;
  const exc = typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum : undefined;
  if (inc === undefined && exc === undefined) return undefined;
  if (exc !== undefined && (inc === undefined || exc >= inc)) return { value: exc, exclusive: true };
  return { value: inc!, exclusive: false };
}

function upperBound(s: Schema): NumberBound | undefined {
  const inc = typeof s.maximum === "number" ? s.maximum : undefined;
  const exc = typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum : undefined;
  if (inc === undefined && exc === undefined) return undefined;
  if (exc !== undefined && (inc === undefined || exc <= inc)) return { value: exc, exclusive: true };
  return { value: inc!, exclusive: false };
}

/** How deep schemas may nest while compiling (inlined $refs included): far beyond real schemas, far below the stack. */
const MAX_SCHEMA_NESTING = 200;

/** The keywords an object / array enum or const value is checked against (structureAllowed); others are refused. */
const LITERAL_CHECKED_KEYS: ReadonlySet<string> = new Set([
  "type",
  "enum",
  "const",
  "properties",
  "required",
  "additionalProperties",
  "minProperties",
  "maxProperties",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  ...STRING_KEYS,
  ...NUMBER_KEYS,
]);

function isOfType(v: unknown, t: JsonType): boolean {
  switch (t) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "number":
      return typeof v === "number";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "string":
      return typeof v === "string";
    case "array":
      return Array.isArray(v);
    case "object":
      return v !== null && typeof v === "object" && !Array.isArray(v);
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function resolvePointer(root: unknown, pointer: string, fail: (at: string) => never): unknown {
  if (pointer === "#") return root;
  if (!pointer.startsWith("#/")) fail(pointer);
  let cur: unknown = root;
  for (const raw of pointer.slice(2).split("/")) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    } catch {
      return fail(pointer); // malformed percent-encoding ("#/%"): a URIError before (found by fuzzing)
    }
    // Own keys only: "#/toString" names nothing in a schema.
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, key)) fail(pointer);
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A `$ref` / union chain that comes back to itself without reading a byte would never end. */
function checkProgress(start: Node, fail: (pointer: string, message: string) => never): void {
  const seen = new Set<Node>();
  const visit = (n: Node): void => {
    if (n.kind !== "ref" && n.kind !== "union") return;
    if (n === start && seen.size > 0)
      fail(start.pointer, "a $ref that reads something before referring back to itself");
    if (seen.has(n)) return;
    seen.add(n);
    if (n.kind === "ref") visit(n.target!);
    else for (const o of n.options) visit(o);
  };
  visit(start);
}

/** Tool specs for the tool-call grammar: each tool's parameters must describe an object. */
export function compileTools(
  compiler: SchemaCompiler,
  tools: readonly { name: string; parameters: unknown }[],
  argumentOf: (i: number) => string,
): ToolSpec[] {
  return tools.map((t, i) => {
    const argument = argumentOf(i);
    let params: Node;
    if (t.parameters === undefined || t.parameters === null) params = compiler.anyObject();
    else {
      const node = compiler.compile(t.parameters, argument);
      params = node === compiler.any() ? compiler.anyObject() : node;
      if (!objectish(params))
        throw new InvalidArgumentError(
          argument,
          'a schema describing a JSON object (type: "object")',
          t.parameters,
        );
    }
    return { name: t.name, nameBytes: bytesOf(t.name), params };
  });
}

function objectish(n: Node, seen = new Set<Node>()): boolean {
  if (seen.has(n)) return true;
  seen.add(n);
  if (n.kind === "object") return true;
  if (n.kind === "ref") return objectish(n.target!, seen);
  if (n.kind === "union") return n.options.every((o) => objectish(o, seen));
  return false;
}
