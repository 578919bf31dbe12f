/**
 * Schema-level rewriting: `allOf` merged into one schema (keyword by keyword: the tighter bound, the union
 * of required properties, both patterns, …), older spellings brought to one form (draft-07 tuple `items`,
 * boolean `exclusiveMinimum`, `dependencies`, OpenAPI `nullable`, `not` around const / enum). A merge that
 * no document satisfies is `false`; one the grammar cannot express is an error naming the keyword.
 */
import {
  canonicalJson,
  constraintKeys,
  EXCLUDED,
  FORMATS,
  isSchemaObject,
  PATTERNS,
  type Schema,
} from "./keywords";

export interface SchemaContext {
  /** The schema a local `$ref` points at. */
  resolve(ref: string): unknown;
  /** Throws an InvalidArgumentError naming the keyword (a path below the current schema). */
  fail(at: string, expected: string, received?: unknown): never;
}

const MAX_ALTERNATIVES = 64;
const MAX_REF_DEPTH = 16;

/** One spelling per constraint (see the file comment); returns a new object. */
export function preprocess(s: Schema, ctx: SchemaContext): Schema {
  const out: Schema = { ...s };
  for (const sym of [PATTERNS, FORMATS, EXCLUDED]) if (s[sym] !== undefined) out[sym] = s[sym];
  if (Array.isArray(out.items)) {
    if (out.prefixItems !== undefined) ctx.fail("items", "tuple items or prefixItems, not both", out.items);
    out.prefixItems = out.items;
    if (out.additionalItems === undefined) delete out.items;
    else out.items = out.additionalItems;
    delete out.additionalItems;
  } else delete out.additionalItems; // applies only beside tuple items
  for (const [bound, exclusive] of [
    ["minimum", "exclusiveMinimum"],
    ["maximum", "exclusiveMaximum"],
  ] as const) {
    if (typeof out[exclusive] !== "boolean") continue;
    if (out[exclusive] === true) {
      if (typeof out[bound] !== "number")
        ctx.fail(exclusive, `${bound} beside ${exclusive}: true`, out[bound]);
      out[exclusive] = out[bound];
      delete out[bound];
    } else delete out[exclusive];
  }
  if (out.dependencies !== undefined) {
    const deps = out.dependencies;
    if (!isSchemaObject(deps)) ctx.fail("dependencies", "an object of property-name arrays", deps);
    for (const [k, v] of Object.entries(deps))
      if (!Array.isArray(v))
        ctx.fail(
          `dependencies/${k}`,
          "an array of property names (schema dependencies are not supported)",
          v,
        );
    out.dependentRequired = {
      ...(isSchemaObject(out.dependentRequired) ? out.dependentRequired : {}),
      ...deps,
    };
    delete out.dependencies;
  }
  if (out.nullable !== undefined) {
    if (typeof out.nullable !== "boolean") ctx.fail("nullable", "a boolean", out.nullable);
    // OpenAPI 3.0.3: nullable adds "null" to an explicit type; enum / const still restrict the value.
    if (out.nullable && out.type !== undefined) {
      const types = Array.isArray(out.type) ? out.type : [out.type];
      if (!types.includes("null")) out.type = [...types, "null"];
    }
    delete out.nullable;
  }
  if (out.not !== undefined) {
    const n = out.not;
    if (!isSchemaObject(n) || constraintKeys(n).some((k) => k !== "const" && k !== "enum"))
      ctx.fail("not", "not around const or enum only (other negations are not supported)", n);
    const values =
      n.const !== undefined
        ? [n.const]
        : Array.isArray(n.enum)
          ? n.enum
          : ctx.fail("not", "const or enum", n);
    out[EXCLUDED] = [...((out[EXCLUDED] as unknown[]) ?? []), ...values];
    delete out.not;
  }
  if (out.uniqueItems === false) delete out.uniqueItems;
  return out;
}

/** The schema every member describes at once, or false when none exists. */
export function mergeAll(members: readonly unknown[], ctx: SchemaContext, depth = 0): Schema | false {
  const flat: Schema[] = [];
  let unsatisfiable = false;
  const add = (m: unknown, refDepth: number) => {
    if (m === true) return;
    if (m === false) {
      unsatisfiable = true;
      return;
    }
    if (!isSchemaObject(m)) ctx.fail("allOf", "schemas (objects or booleans)", m);
    const s = preprocess(m, ctx);
    if (s.$ref !== undefined) {
      if (refDepth > MAX_REF_DEPTH)
        ctx.fail("$ref", "a $ref chain that ends (allOf through recursive $ref)", s.$ref);
      if (typeof s.$ref !== "string") ctx.fail("$ref", "a string", s.$ref);
      const { $ref, ...rest } = s;
      add(ctx.resolve($ref as string), refDepth + 1);
      add(withSymbols(rest, s), refDepth);
      return;
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf) || s.allOf.length === 0)
        ctx.fail("allOf", "a non-empty array of schemas", s.allOf);
      const { allOf, ...rest } = s;
      for (const x of allOf as unknown[]) add(x, refDepth);
      add(withSymbols(rest, s), refDepth);
      return;
    }
    flat.push(s);
  };
  for (const m of members) add(m, 0);
  if (unsatisfiable) return false;
  const at = flat.findIndex((m) => m.anyOf !== undefined || m.oneOf !== undefined);
  if (at >= 0) {
    const m = flat[at]!;
    const key = m.anyOf !== undefined ? "anyOf" : "oneOf";
    const alternatives = m[key];
    if (!Array.isArray(alternatives) || alternatives.length === 0)
      ctx.fail(key, "a non-empty array of schemas", alternatives);
    const { [key]: _dropped, ...rest } = m;
    const others = [...flat.slice(0, at), withSymbols(rest, m), ...flat.slice(at + 1)];
    if (depth > 8 || alternatives.length > MAX_ALTERNATIVES)
      ctx.fail(
        key,
        `at most ${MAX_ALTERNATIVES} alternatives once allOf is distributed over anyOf / oneOf`,
        alternatives.length,
      );
    const merged: Schema[] = [];
    for (const alt of alternatives) {
      const r = mergeAll([...others, alt], ctx, depth + 1);
      if (r === false) continue;
      if (Array.isArray(r.anyOf) && constraintKeys(r).length === 1) merged.push(...(r.anyOf as Schema[]));
      else merged.push(r);
    }
    if (merged.length > MAX_ALTERNATIVES)
      ctx.fail(
        key,
        `at most ${MAX_ALTERNATIVES} alternatives once allOf is distributed over anyOf / oneOf`,
        merged.length,
      );
    if (merged.length === 0) return false;
    return merged.length === 1 ? merged[0]! : { anyOf: merged };
  }
  let out: Schema = {};
  for (const m of flat) {
    const r = mergeTwo(out, m, ctx);
    if (r === false) return false;
    out = r;
  }
  return requiresForbidden(out) ? false : out;
}

/** A required property whose schema is false: no object satisfies the schema. */
export function requiresForbidden(s: Schema): boolean {
  const props = isSchemaObject(s.properties) ? s.properties : {};
  const required = Array.isArray(s.required) ? (s.required as unknown[]) : [];
  return required.some(
    (r) =>
      typeof r === "string" &&
      (props[r] === false ||
        (!(r in props) && s.additionalProperties === false && s.properties !== undefined)),
  );
}

function withSymbols(target: Schema, from: Schema): Schema {
  for (const sym of [PATTERNS, FORMATS, EXCLUDED]) if (from[sym] !== undefined) target[sym] = from[sym];
  return target;
}

type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";

function typesOf(s: Schema): JsonType[] | undefined {
  if (s.type === undefined) return undefined;
  return (Array.isArray(s.type) ? s.type : [s.type]) as JsonType[];
}

function intersectTypes(a: JsonType[], b: JsonType[]): JsonType[] {
  const out = new Set<JsonType>();
  for (const t of a) {
    if (b.includes(t)) out.add(t);
    else if (t === "integer" && b.includes("number")) out.add("integer");
    else if (t === "number" && b.includes("integer")) out.add("integer");
  }
  return [...out];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** allOf of two property / item schemas, merged at once when either is trivial. */
function both(a: unknown, b: unknown): unknown {
  if (a === undefined || a === true) return b;
  if (b === undefined || b === true) return a;
  if (a === false || b === false) return false;
  return { allOf: [a, b] };
}

function mergeTwo(a: Schema, b: Schema, ctx: SchemaContext): Schema | false {
  const out: Schema = { ...a };
  withSymbols(out, a);
  for (const sym of [PATTERNS, FORMATS, EXCLUDED]) {
    const list = b[sym];
    if (Array.isArray(list)) out[sym] = [...((out[sym] as unknown[]) ?? []), ...list];
  }
  const num = (k: string, pick: (x: number, y: number) => number) => {
    const x = a[k];
    const y = b[k];
    if (typeof y !== "number") return;
    out[k] = typeof x === "number" ? pick(x, y) : y;
  };
  for (const s of [a, b]) {
    // `enum: 0` merged with another enum was a TypeError (found by fuzzing).
    if (s.enum !== undefined && !Array.isArray(s.enum)) ctx.fail("enum", "an array of values", s.enum);
  }
  const aValues = a.const !== undefined ? [a.const] : (a.enum as unknown[] | undefined);
  for (const key of constraintKeys(b)) {
    const x = a[key];
    const y = b[key];
    if ((key === "enum" || key === "const") && aValues !== undefined) {
      const ys = new Set((key === "const" ? [y] : (y as unknown[])).map(canonicalJson));
      const kept = aValues.filter((v) => ys.has(canonicalJson(v)));
      if (kept.length === 0) return false;
      delete out.const;
      out.enum = kept;
      continue;
    }
    if (key === "items" || key === "prefixItems") continue; // below, together
    if (x === undefined && key !== "properties" && key !== "additionalProperties") {
      out[key] = y;
      continue;
    }
    switch (key) {
      case "type": {
        const t = intersectTypes(typesOf(a)!, typesOf(b)!);
        if (t.length === 0) return false;
        out.type = t;
        break;
      }
      case "required":
        // Checked here, before spreading: `required: 0` merged in an allOf was a TypeError (found by fuzzing).
        for (const r of [x, y]) if (!Array.isArray(r)) ctx.fail("required", "an array of property names", r);
        out.required = [...new Set([...(x as string[]), ...(y as string[])])];
        break;
      case "properties":
      case "additionalProperties":
        break; // below, together
      case "patternProperties": {
        for (const p of [x, y])
          if (!isSchemaObject(p)) ctx.fail("patternProperties", "an object of schemas", p);
        const merged: Record<string, unknown> = { ...(x as Record<string, unknown>) };
        for (const [p, v] of Object.entries(y as Record<string, unknown>)) merged[p] = both(merged[p], v);
        out.patternProperties = merged;
        break;
      }
      case "propertyNames":
        out[key] = both(x, y);
        break;
      case "minimum":
      case "exclusiveMinimum":
      case "minLength":
      case "minItems":
      case "minProperties":
        num(key, Math.max);
        break;
      case "maximum":
      case "exclusiveMaximum":
      case "maxLength":
      case "maxItems":
      case "maxProperties":
        num(key, Math.min);
        break;
      case "multipleOf": {
        if (!Number.isInteger(x) || !Number.isInteger(y))
          ctx.fail("allOf", "multipleOf values that are integers (to combine them)", [x, y]);
        out.multipleOf = ((x as number) * (y as number)) / gcd(x as number, y as number);
        break;
      }
      case "pattern":
        if (x !== y) out[PATTERNS] = [...((out[PATTERNS] as unknown[]) ?? []), y];
        break;
      case "format":
        if (x !== y) out[FORMATS] = [...((out[FORMATS] as unknown[]) ?? []), y];
        break;
      case "dependentRequired":
        for (const d of [x, y])
          if (!isSchemaObject(d)) ctx.fail("dependentRequired", "an object of name arrays", d);
        out.dependentRequired = { ...(x as object), ...(y as object) };
        break;
      case "uniqueItems":
        out.uniqueItems = x === true || y === true;
        break;
      default:
        // if/then/else and anything else that appears on both sides.
        if (canonicalJson(x) !== canonicalJson(y))
          ctx.fail(
            `allOf`,
            `schemas whose "${key}" keywords can be merged (only one of them may have it)`,
            key,
          );
    }
  }
  mergeProperties(out, a, b);
  mergeItems(out, a, b);
  return out;
}

/**
 * Items of the merge. Each position gets both sides' constraint on it: a side's prefixItems entry there, or else its
 * `items` (absent: any). A side with `items` alone constrains the other side's prefix positions too (an allOf of
 * `items: integer` and `prefixItems: [string]` has only the empty array; found by fuzzing).
 */
function mergeItems(out: Schema, a: Schema, b: Schema): void {
  const malformed = [a.prefixItems, b.prefixItems].find((p) => p !== undefined && !Array.isArray(p));
  if (malformed !== undefined) {
    out.prefixItems = malformed; // the compiler names it
    return;
  }
  const xs = (a.prefixItems ?? []) as unknown[];
  const ys = (b.prefixItems ?? []) as unknown[];
  const n = Math.max(xs.length, ys.length);
  if (n > 0) {
    out.prefixItems = Array.from({ length: n }, (_, i) =>
      both(i < xs.length ? xs[i] : a.items, i < ys.length ? ys[i] : b.items),
    );
  }
  const items = both(a.items, b.items);
  if (items === undefined) delete out.items;
  else out.items = items;
}

/**
 * Properties of the merge: each side's declared properties, with the other side's constraint on it (its
 * own declaration, or else its additionalProperties, which forbid it when false).
 */
function mergeProperties(out: Schema, a: Schema, b: Schema): void {
  const pa = (a.properties ?? {}) as Record<string, unknown>;
  const pb = (b.properties ?? {}) as Record<string, unknown>;
  if (a.properties === undefined && b.properties === undefined) {
    if (b.additionalProperties !== undefined)
      out.additionalProperties = both(a.additionalProperties, b.additionalProperties);
    return;
  }
  const props: Record<string, unknown> = {};
  for (const name of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    // Own keys only: a property named "toString" is not declared by Object.prototype.
    const fromA = Object.hasOwn(pa, name) ? pa[name] : a.additionalProperties;
    const fromB = Object.hasOwn(pb, name) ? pb[name] : b.additionalProperties;
    props[name] = both(fromA, fromB);
  }
  out.properties = props;
  const add = both(a.additionalProperties, b.additionalProperties);
  if (add === undefined) delete out.additionalProperties;
  else out.additionalProperties = add;
}
