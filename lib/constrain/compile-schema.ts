/**
 * JSON Schema → node graph (nodes.ts). The supported subset is listed in docs/structured-output.md;
 * anything else is an InvalidArgumentError naming the keyword and its JSON pointer, never ignored.
 */

import { InvalidArgumentError } from "../errors";
import {
  bytesOf,
  finishNodes,
  type Node,
  NodeFactory,
  type ObjectProp,
  type RefNode,
  type ToolSpec,
} from "./nodes";

/** Keywords that never change what is valid (annotations): accepted and ignored. */
const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "examples",
  "$schema",
  "$id",
  "$comment",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$defs",
  "definitions",
  // JSON Schema 2020-12 makes `format` an annotation unless the format-assertion vocabulary is declared;
  // tool schemas in the wild carry it ("date-time", "email") and expect it not to restrict output.
  "format",
]);

const SUPPORTED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "minLength",
  "maxLength",
]);

const TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"] as const;
type JsonType = (typeof TYPES)[number];

const OBJECT_KEYS = ["properties", "required", "additionalProperties"];
const ARRAY_KEYS = ["items", "minItems", "maxItems"];
const STRING_KEYS = ["minLength", "maxLength"];

/** Compiles `schema`; errors name `argument` followed by the JSON pointer of the offending keyword. */
export class SchemaCompiler {
  readonly factory = new NodeFactory();
  private readonly refs = new Map<string, RefNode>();
  private readonly pending: { ref: RefNode; pointer: string }[] = [];
  private anyNode: Node | undefined;
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
    return this.factory.object("#", [], this.any());
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

  private node(schema: unknown, pointer: string): Node {
    const f = this.factory;
    if (schema === true) return this.any();
    if (schema === false) this.fail(pointer, "a schema other than false (false accepts nothing)", schema);
    if (schema === null || typeof schema !== "object" || Array.isArray(schema))
      this.fail(pointer, "a JSON schema (an object or a boolean)", schema);
    const s = schema as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (ANNOTATIONS.has(key) || SUPPORTED.has(key)) continue;
      this.fail(
        `${pointer}/${escapePointer(key)}`,
        `a supported JSON Schema keyword (${JSON.stringify(key)} is not supported in structured output; see docs/structured-output.md)`,
        s[key],
      );
    }
    const keywords = Object.keys(s).filter((k) => !ANNOTATIONS.has(k));

    if (s.$ref !== undefined) {
      const others = keywords.filter((k) => k !== "$ref");
      if (others.length > 0)
        this.fail(`${pointer}/${others[0]}`, "no keyword beside $ref (except annotations)", s[others[0]!]);
      return this.ref(s.$ref, `${pointer}/$ref`);
    }
    for (const comb of ["anyOf", "oneOf", "allOf"] as const) {
      if (s[comb] === undefined) continue;
      const list = s[comb];
      const at = `${pointer}/${comb}`;
      if (!Array.isArray(list) || list.length === 0) this.fail(at, "a non-empty array of schemas", list);
      const others = keywords.filter((k) => k !== comb);
      if (others.length > 0)
        this.fail(`${pointer}/${others[0]}`, `no keyword beside ${comb} (except annotations)`, s[others[0]!]);
      if (comb === "allOf") {
        if (list.length !== 1)
          this.fail(at, "allOf with exactly one schema (allOf is otherwise not supported)", list);
        return this.node(list[0], `${at}/0`);
      }
      return f.union(
        pointer,
        list.map((sub, i) => this.node(sub, `${at}/${i}`)),
      );
    }

    let types = this.types(s, pointer);
    if (s.enum !== undefined || s.const !== undefined) {
      const values =
        s.const !== undefined
          ? [s.const]
          : Array.isArray(s.enum) && s.enum.length > 0
            ? s.enum
            : this.fail(`${pointer}/enum`, "a non-empty array", s.enum);
      if (s.const !== undefined && s.enum !== undefined)
        this.fail(`${pointer}/enum`, "enum or const, not both", s.enum);
      const kept = values.filter((v) => types === undefined || types.some((t) => isOfType(v, t)));
      for (const v of kept) this.checkLiteral(v, s, pointer);
      if (kept.length === 0)
        this.fail(pointer, `an enum/const value of the declared type ${JSON.stringify(s.type)}`, values);
      return f.literal(pointer, [...new Set(kept.map((v) => JSON.stringify(v)))]);
    }

    if (types === undefined) {
      const inferred: JsonType[] = [];
      if (OBJECT_KEYS.some((k) => s[k] !== undefined)) inferred.push("object");
      if (ARRAY_KEYS.some((k) => s[k] !== undefined)) inferred.push("array");
      if (STRING_KEYS.some((k) => s[k] !== undefined)) inferred.push("string");
      if (inferred.length === 0) return this.any();
      types = inferred;
    }
    if (types.includes("number")) types = types.filter((t) => t !== "integer");
    const nodes = types.map((t) => this.typed(t, s, pointer));
    return nodes.length === 1 ? nodes[0]! : f.union(pointer, nodes);
  }

  private types(s: Record<string, unknown>, pointer: string): JsonType[] | undefined {
    if (s.type === undefined) return undefined;
    const list = Array.isArray(s.type) ? s.type : [s.type];
    if (list.length === 0)
      this.fail(`${pointer}/type`, "a type name or a non-empty array of type names", s.type);
    for (const t of list) {
      if (!TYPES.includes(t as JsonType)) this.fail(`${pointer}/type`, `one of ${TYPES.join(", ")}`, t);
    }
    return [...new Set(list as JsonType[])];
  }

  private typed(t: JsonType, s: Record<string, unknown>, pointer: string): Node {
    const f = this.factory;
    switch (t) {
      case "null":
        return f.literal(pointer, ["null"]);
      case "boolean":
        return f.literal(pointer, ["true", "false"]);
      case "number":
      case "integer":
        return f.number(pointer, t === "integer");
      case "string": {
        const min = this.count(s, "minLength", pointer, 0);
        const max = this.count(s, "maxLength", pointer, Number.POSITIVE_INFINITY);
        if (min > max) this.fail(`${pointer}/minLength`, `at most maxLength (${max})`, min);
        return f.string(pointer, min, max);
      }
      case "array": {
        if (Array.isArray(s.items))
          this.fail(`${pointer}/items`, "a schema (tuple items are not supported)", s.items);
        const min = this.count(s, "minItems", pointer, 0);
        const max = this.count(s, "maxItems", pointer, Number.POSITIVE_INFINITY);
        if (min > max) this.fail(`${pointer}/minItems`, `at most maxItems (${max})`, min);
        const items = s.items === undefined ? this.any() : this.node(s.items, `${pointer}/items`);
        return f.array(pointer, items, min, max);
      }
      case "object":
        return this.object(s, pointer);
    }
  }

  private object(s: Record<string, unknown>, pointer: string): Node {
    const props: ObjectProp[] = [];
    const properties = s.properties ?? {};
    if (properties === null || typeof properties !== "object" || Array.isArray(properties))
      this.fail(`${pointer}/properties`, "an object of schemas", properties);
    const required = s.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === "string"))
      this.fail(`${pointer}/required`, "an array of property names", required);
    const req = new Set(required as string[]);
    const additional = s.additionalProperties;
    if (
      additional !== undefined &&
      typeof additional !== "boolean" &&
      (typeof additional !== "object" || additional === null || Array.isArray(additional))
    )
      this.fail(`${pointer}/additionalProperties`, "a boolean or a schema", additional);
    for (const [name, sub] of Object.entries(properties as Record<string, unknown>)) {
      const node = this.node(sub, `${pointer}/properties/${escapePointer(name)}`);
      props.push({ name, keyBytes: bytesOf(JSON.stringify(name)), node, required: req.has(name) });
    }
    const declared = new Set(props.map((p) => p.name));
    for (const name of req) {
      if (declared.has(name)) continue;
      if (additional === false)
        this.fail(
          `${pointer}/required`,
          `required properties that are declared (additionalProperties is false)`,
          name,
        );
      const node =
        additional === undefined || additional === true
          ? this.any()
          : this.node(additional, `${pointer}/additionalProperties`);
      props.push({ name, keyBytes: bytesOf(JSON.stringify(name)), node, required: true });
    }
    let free: Node | null = null;
    if (props.length === 0 && additional !== false) {
      free =
        additional === undefined || additional === true
          ? this.any()
          : this.node(additional, `${pointer}/additionalProperties`);
    } else if (props.length > 0 && additional !== undefined && typeof additional === "object") {
      // Validate the schema even though declared-property objects never write extra keys.
      this.node(additional, `${pointer}/additionalProperties`);
    }
    return this.factory.object(pointer, props, free);
  }

  private count(s: Record<string, unknown>, key: string, pointer: string, fallback: number): number {
    const v = s[key];
    if (v === undefined) return fallback;
    if (!(typeof v === "number" && Number.isSafeInteger(v) && v >= 0))
      this.fail(`${pointer}/${key}`, "a non-negative integer", v);
    return v;
  }

  private checkLiteral(v: unknown, s: Record<string, unknown>, pointer: string): void {
    if (typeof v === "number" && !Number.isFinite(v)) this.fail(`${pointer}/enum`, "finite numbers", v);
    if (typeof v === "string") {
      const len = [...v].length;
      const min = typeof s.minLength === "number" ? s.minLength : 0;
      const max = typeof s.maxLength === "number" ? s.maxLength : Number.POSITIVE_INFINITY;
      if (len < min || len > max) this.fail(`${pointer}/enum`, `strings within minLength/maxLength`, v);
    }
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
  let cur: unknown = root;
  for (const raw of pointer.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (cur === null || typeof cur !== "object" || !(key in (cur as object))) fail(pointer);
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
