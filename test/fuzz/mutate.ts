/**
 * Structure-aware mutations for the fuzz targets: a valid document changed in a few places is far more likely to
 * reach deep parser code than random bytes. JSON values get fields deleted, replaced by hostile values or wrapped;
 * JSON text and binary files get truncated, spliced and bit-flipped.
 */
import fc from "fast-check";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values parsers stumble on: wrong types, edge numbers, odd strings, deep or large structures. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -0,
      -1,
      1,
      0.5,
      2 ** 31,
      2 ** 53,
      -(2 ** 53),
      1e308,
      -1e308,
      5e-324,
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      "",
      " ",
      "0",
      "1e999",
      "NaN",
      "null",
      "__proto__",
      "constructor",
      "\u0000",
      "\ud800",
      "é",
      "a".repeat(300),
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 70_000 }) },
  { weight: 2, arbitrary: fc.double({ noDefaultInfinity: false }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant<unknown>({}) },
  { weight: 1, arbitrary: fc.constant<unknown>([]) },
);

/** Every path to a value in `value` (the root is []). */
function paths(
  value: unknown,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths(v, [...at, i], out);
  } else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

type Mutation = {
  kind: "delete" | "set" | "wrap" | "duplicate" | "numberNudge" | "rename";
  path: number;
  value: unknown;
};

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("delete", "set", "set", "set", "wrap", "duplicate", "numberNudge", "rename"),
  path: fc.nat(),
  value: hostileJson,
});

function apply(root: unknown, m: Mutation): unknown {
  const all = paths(root);
  const path = all[m.path % all.length]!;
  if (path.length === 0) return m.kind === "set" ? m.value : m.kind === "wrap" ? [root] : root;
  let parent = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const current = parent[key];
  switch (m.kind) {
    case "delete":
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case "set":
      parent[key] = m.value;
      break;
    case "wrap":
      parent[key] = [current];
      break;
    case "duplicate":
      if (Array.isArray(parent)) parent.splice(key as number, 0, clone(current));
      else parent[`${String(key)}_`] = clone(current);
      break;
    case "numberNudge":
      parent[key] =
        typeof current === "number"
          ? [current + 1, current - 1, current * 1000, -current][m.path % 4]
          : m.value;
      break;
    case "rename":
      if (!Array.isArray(parent)) {
        delete parent[key];
        parent[typeof m.value === "string" ? m.value : `${String(key)}x`] = current;
      }
      break;
  }
  return root;
}

/** `base` (a JSON value) with 0 to `max` mutations applied to a copy. */
export function mutatedJson<T>(base: T, max = 3): fc.Arbitrary<unknown> {
  return fc
    .array(mutation, { maxLength: max })
    .map((ms) => ms.reduce<unknown>((v, m) => apply(v, m), clone(base) as Json));
}

/** JSON text edits: truncation, a character inserted or replaced, a digit changed. */
export function mutatedText(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
    fc
      .tuple(
        fc.nat({ max: text.length }),
        fc.constantFrom("{", "}", "[", "]", ",", ":", '"', "\\", "0", "-", "e", " ", "\u0000", "\u2028"),
      )
      .map(([at, c]) => text.slice(0, at) + c + text.slice(at)),
    fc
      .tuple(
        fc.nat({ max: Math.max(0, text.length - 1) }),
        fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
      )
      .map(([at, c]) => text.slice(0, at) + c + text.slice(at + 1)),
    fc
      .tuple(fc.nat(), fc.constantFrom("9", "99999999999999999999", "-1", "1e400", "0.0", ""))
      .map(([at, digits]) => {
        const positions = [...text.matchAll(/\d+/g)];
        if (positions.length === 0) return text;
        const m = positions[at % positions.length]!;
        return text.slice(0, m.index) + digits + text.slice(m.index + m[0].length);
      }),
  );
}

/** Byte edits of a binary file: truncation, bit flips, bytes set, bytes inserted, a 4- or 8-byte field rewritten. */
export function mutatedBytes(file: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = file.length;
  return fc.oneof(
    fc.nat({ max: n }).map((k) => file.slice(0, k)),
    fc
      .array(fc.tuple(fc.nat({ max: Math.max(0, n - 1) }), fc.integer({ min: 0, max: 7 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((flips) => {
        const copy = file.slice();
        for (const [at, bit] of flips) if (at < n) copy[at] = copy[at]! ^ (1 << bit);
        return copy;
      }),
    fc
      .array(fc.tuple(fc.nat({ max: Math.max(0, n - 1) }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((sets) => {
        const copy = file.slice();
        for (const [at, b] of sets) if (at < n) copy[at] = b;
        return copy;
      }),
    fc.tuple(fc.nat({ max: n }), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, bytes]) => {
      const out = new Uint8Array(n + bytes.length);
      out.set(file.subarray(0, at));
      out.set(bytes, at);
      out.set(file.subarray(at), at + bytes.length);
      return out;
    }),
    fc
      .tuple(
        fc.nat({ max: Math.max(0, n - 4) }),
        fc.constantFrom(0, 1, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff, 2 ** 24),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([at, v, wide, littleEndian]) => {
        const copy = file.slice();
        const view = new DataView(copy.buffer);
        if (wide && at + 8 <= n)
          view.setBigUint64(at, v === 0xffffffff ? 2n ** 64n - 1n : BigInt(v), littleEndian);
        else if (at + 4 <= n) view.setUint32(at, v, littleEndian);
        return copy;
      }),
  );
}
