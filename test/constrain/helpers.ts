/** Helpers for the constrained-decoding tests: compile a schema and feed byte strings to the matcher. */
import { SchemaCompiler } from "../../lib/constrain/compile-schema";
import { advance, canFinish, dedupe, initialStacks, type Stack } from "../../lib/constrain/matcher";
import type { Node } from "../../lib/constrain/nodes";

export function compileSchema(schema: unknown): Node {
  const c = new SchemaCompiler("schema");
  const node = c.compile(schema);
  c.finish([node]);
  return node;
}

export function feed(stacks: readonly Stack[], symbols: Iterable<number>): Stack[] {
  let cur = [...stacks];
  for (const s of symbols) {
    const next: Stack[] = [];
    for (const st of cur) advance(st, s, next);
    cur = dedupe(next);
    if (cur.length === 0) break;
  }
  return cur;
}

/** "complete": a whole document; "prefix": can still become one; "dead": never. */
export function classify(node: Node, text: string | Uint8Array): "complete" | "prefix" | "dead" {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const st = feed(initialStacks(node), bytes);
  if (st.length === 0) return "dead";
  return st.some((s) => s.done || canFinish(s)) ? "complete" : "prefix";
}
