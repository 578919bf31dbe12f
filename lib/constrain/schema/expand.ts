/**
 * Keywords structured output enforces by expanding a schema into alternatives:
 * - `if` / `then` / `else`: (if ∧ then) ∨ (¬if ∧ else), where ¬if is written as alternatives for the
 *   conditions JSON schemas use in practice: properties with const / enum / numeric bounds, and required;
 * - `dependentRequired`: one alternative per combination of present / absent trigger properties.
 */
import { constraintKeys, isSchemaObject, type Schema } from "./keywords";
import { mergeAll, type SchemaContext } from "./merge";

const MAX_DEPENDENT_KEYS = 4;

/** The schema without if/then/else, as alternatives; false when none is satisfiable. */
export function expandConditional(s: Schema, ctx: SchemaContext): Schema | false {
  const { if: cond, then: thenSchema, else: elseSchema, ...base } = s;
  if (cond === undefined) return base; // then / else without if have no effect
  const thenBranch = mergeAll([base, cond, thenSchema ?? true], ctx);
  const negations = negate(cond);
  if (negations === undefined) {
    if (elseSchema !== undefined)
      ctx.fail(
        "if",
        "an if whose negation can be written (properties with const, enum or numeric bounds, required) when else is given",
        cond,
      );
    // Only the then-branch: every document it allows is valid.
    return thenBranch;
  }
  const branches = [thenBranch, ...negations.map((n) => mergeAll([base, n, elseSchema ?? true], ctx))];
  const kept = branches.filter((b): b is Schema => b !== false);
  if (kept.length === 0) return false;
  return kept.length === 1 ? kept[0]! : { anyOf: kept };
}

/** Schemas whose union is the complement of `cond` (or a subset of it), or undefined. */
function negate(cond: unknown): Schema[] | undefined {
  if (cond === true) return [];
  if (!isSchemaObject(cond)) return undefined;
  const keys = constraintKeys(cond);
  if (keys.some((k) => k !== "properties" && k !== "required" && k !== "type")) return undefined;
  if (cond.type !== undefined && cond.type !== "object") return undefined;
  const out: Schema[] = [];
  const required = Array.isArray(cond.required) ? (cond.required as string[]) : [];
  for (const name of required) out.push({ properties: { [name]: false } });
  const props = isSchemaObject(cond.properties) ? cond.properties : {};
  for (const [name, c] of Object.entries(props)) {
    const negated = negateValue(c);
    if (negated === undefined) return undefined;
    for (const n of negated) out.push({ required: [name], properties: { [name]: n } });
  }
  return out;
}

/** Alternatives covering values that fail `c` (a subset of them where types are ignored). */
function negateValue(c: unknown): Schema[] | undefined {
  if (c === true) return [];
  if (!isSchemaObject(c)) return undefined;
  const out: Schema[] = [];
  for (const key of constraintKeys(c)) {
    const v = c[key];
    switch (key) {
      case "type":
        break; // values of another type also fail c; leaving them out keeps a subset of ¬c
      case "const":
        out.push({ not: { const: v } });
        break;
      case "enum":
        out.push({ not: { enum: v } });
        break;
      case "minimum":
        out.push({ exclusiveMaximum: v });
        break;
      case "exclusiveMinimum":
        out.push({ maximum: v });
        break;
      case "maximum":
        out.push({ exclusiveMinimum: v });
        break;
      case "exclusiveMaximum":
        out.push({ minimum: v });
        break;
      default:
        return undefined;
    }
  }
  return out;
}

/** The schema without dependentRequired, as alternatives over its trigger properties. */
export function expandDependentRequired(s: Schema, ctx: SchemaContext): Schema | false {
  const { dependentRequired: deps, ...base } = s;
  if (!isSchemaObject(deps)) ctx.fail("dependentRequired", "an object of property-name arrays", deps);
  const triggers = Object.keys(deps);
  for (const t of triggers) {
    const list = deps[t];
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string"))
      ctx.fail(`dependentRequired/${t}`, "an array of property names", list);
  }
  if (triggers.length > MAX_DEPENDENT_KEYS)
    ctx.fail("dependentRequired", `at most ${MAX_DEPENDENT_KEYS} trigger properties`, triggers.length);
  const alternatives: Schema[] = [];
  for (let mask = 0; mask < 1 << triggers.length; mask++) {
    const parts: unknown[] = [base];
    triggers.forEach((t, i) => {
      if (mask & (1 << i)) parts.push({ required: [t, ...(deps[t] as string[])] });
      else parts.push({ properties: { [t]: false } });
    });
    const merged = mergeAll(parts, ctx);
    if (merged !== false) alternatives.push(merged);
  }
  if (alternatives.length === 0) return false;
  return alternatives.length === 1 ? alternatives[0]! : { anyOf: alternatives };
}
