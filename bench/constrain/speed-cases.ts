/**
 * The schemas and documents the mask benchmarks replay: realistic documents, each tokenized and fed
 * through a constraint one token at a time. Two documents per schema: the first measures a fresh grammar
 * (cold caches), the second the same grammar again (warm).
 */

export interface SpeedCase {
  readonly name: string;
  readonly schema?: unknown;
  /** A regex response format instead of a schema. */
  readonly regex?: string;
  readonly documents: readonly [string, string];
}

const person = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 80 },
    age: { type: "integer" },
    email: { type: ["string", "null"] },
    role: { enum: ["admin", "editor", "viewer"] },
    tags: { type: "array", items: { type: "string" }, maxItems: 8 },
    address: {
      type: "object",
      properties: {
        street: { type: "string" },
        city: { type: "string" },
        zip: { type: "string", maxLength: 10 },
      },
      required: ["street", "city"],
      additionalProperties: false,
    },
  },
  required: ["name", "age", "role"],
  additionalProperties: false,
};
const personDoc = (n: string) =>
  JSON.stringify(
    {
      name: n,
      age: 42,
      email: null,
      role: "editor",
      tags: ["writer", "photographer", "runs marathons on weekends"],
      address: { street: "12 rue de la Paix, appartement 4", city: "Paris — Île-de-France", zip: "75002" },
    },
    null,
    2,
  );

const tree = {
  $defs: {
    node: {
      type: "object",
      properties: { label: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/node" } } },
      required: ["label", "children"],
      additionalProperties: false,
    },
  },
  $ref: "#/$defs/node",
};
const treeDoc = JSON.stringify({
  label: "root",
  children: [
    { label: "left branch", children: [{ label: "leaf one", children: [] }] },
    {
      label: "right",
      children: [
        { label: "leaf two", children: [] },
        { label: "leaf three", children: [] },
      ],
    },
  ],
});
const free = JSON.stringify({
  summary: "The quarterly report shows growth in every region except the north-east.",
  figures: [1.5, 2.25, -3e2, 17],
  ok: true,
  notes: { author: "Zoë", reviewed: null },
});

const order = {
  type: "object",
  properties: {
    id: { type: "integer", minimum: 1, maximum: 999999 },
    quantity: { type: "integer", exclusiveMinimum: 0, maximum: 1000 },
    price: { type: "number", minimum: 0, maximum: 100000 },
    discount: { type: "number", minimum: 0, exclusiveMaximum: 1 },
    step: { type: "integer", multipleOf: 5, minimum: 0, maximum: 500 },
  },
  required: ["id", "quantity", "price", "discount", "step"],
  additionalProperties: false,
};
const orderDoc = (id: number) =>
  JSON.stringify({ id, quantity: 12, price: 1999.95, discount: 0.15, step: 45 }, null, 1);

const contact = {
  type: "object",
  properties: {
    email: { type: "string", format: "email" },
    id: { type: "string", format: "uuid" },
    born: { type: "string", format: "date" },
    seen: { type: "string", format: "date-time" },
    ip: { type: "string", format: "ipv4" },
    site: { type: "string", format: "uri" },
    code: { type: "string", pattern: "^[A-Z]{3}-[0-9]{4}$" },
  },
  required: ["email", "id", "born", "seen", "ip", "site", "code"],
  additionalProperties: false,
};
const contactDoc = (who: string) =>
  JSON.stringify({
    email: `${who}@example.com`,
    id: "123e4567-e89b-12d3-a456-426614174000",
    born: "1815-12-10",
    seen: "2024-05-01T12:30:00Z",
    ip: "192.168.10.254",
    site: "https://example.com/people/ada?lang=en",
    code: "ABC-1234",
  });

const tuple = {
  type: "array",
  prefixItems: [
    { type: "string", maxLength: 40 },
    { type: "integer", minimum: 0, maximum: 150 },
    { type: "array", items: { type: "number", minimum: -90, maximum: 90 }, minItems: 2, maxItems: 2 },
  ],
  items: false,
};

export const SPEED_CASES: readonly SpeedCase[] = [
  {
    name: "person (nested object, enum, nullable, bounded strings, pretty-printed)",
    schema: person,
    documents: [personDoc("Ada Lovelace"), personDoc("Grace Brewster Murray Hopper")],
  },
  {
    name: "tree ($ref recursion)",
    schema: tree,
    documents: [treeDoc, treeDoc.replace("left branch", "gauche")],
  },
  { name: "json_object", schema: { type: "object" }, documents: [free, free.replace("Zoë", "Ana")] },
  {
    name: "numeric bounds (integer / number ranges, multipleOf)",
    schema: order,
    documents: [orderDoc(4711), orderDoc(12)],
  },
  {
    name: "formats and pattern (email, uuid, date, date-time, ipv4, uri, pattern)",
    schema: contact,
    documents: [contactDoc("ada.lovelace"), contactDoc("grace")],
  },
  {
    name: "tuple (prefixItems, items: false)",
    schema: tuple,
    documents: [JSON.stringify(["Lisbon", 38, [38.72, -9.14]]), JSON.stringify(["Oslo", 59, [59.91, 10.75]])],
  },
  {
    name: "regex response format (phone number)",
    regex: "\\+[1-9][0-9]{0,2} [0-9]{3} [0-9]{3} [0-9]{4}",
    documents: ["+33 612 345 6789", "+1 415 555 0199"],
  },
];
