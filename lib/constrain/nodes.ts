/**
 * The compiled form of a JSON schema (or a tool-call grammar): a graph of nodes, each describing the bytes
 * of one JSON value. Costs are "bytes, a special token counting as one": `minCost` is the length of the
 * shortest text the node accepts. Recursion (`$ref`) goes through RefNode.
 */

/** A trie of byte strings; terminal nodes carry a value index (enum member, property, tool). */
export class ByteTrie {
  readonly children: Map<number, number>[] = [new Map()];
  readonly terminal: number[] = [-1];
  /** Filled by `finishCosts`: the least cost from a trie node to the end of the construct. */
  minRemain: number[] = [];

  add(bytes: Uint8Array, value: number): void {
    let t = 0;
    for (const b of bytes) {
      let next = this.children[t]!.get(b);
      if (next === undefined) {
        next = this.children.length;
        this.children.push(new Map());
        this.terminal.push(-1);
        this.children[t]!.set(b, next);
      }
      t = next;
    }
    if (this.terminal[t]! < 0) this.terminal[t] = value;
  }

  /** minRemain[t] = min(terminalCost(value) if terminal, 1 + minRemain[child]). */
  finishCosts(terminalCost: (value: number) => number): void {
    const n = this.children.length;
    const cost = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
    // Children always have larger indices than their parent: one reverse pass suffices.
    for (let t = n - 1; t >= 0; t--) {
      let c = this.terminal[t]! >= 0 ? terminalCost(this.terminal[t]!) : Number.POSITIVE_INFINITY;
      for (const child of this.children[t]!.values()) c = Math.min(c, 1 + cost[child]!);
      cost[t] = c;
    }
    this.minRemain = cost;
  }
}

interface NodeBase {
  readonly id: number;
  /** Length of the shortest accepted text (bytes; special tokens count 1). */
  minCost: number;
  /** JSON pointer of the schema the node came from (for errors). */
  readonly pointer: string;
}

export interface ObjectProp {
  readonly name: string;
  /** JSON.stringify(name) as UTF-8, quotes included. */
  readonly keyBytes: Uint8Array;
  node: Node;
  readonly required: boolean;
}

export interface ObjectNode extends NodeBase {
  readonly kind: "object";
  /** Declared properties, written in this order (optional ones may be skipped). */
  readonly props: ObjectProp[];
  /** Free-form `"key": value` entries (an EntryNode or a union of them; only when props is empty), or null. */
  free: Node | null;
  /** minProperties / maxProperties (maxProps may be Infinity). */
  readonly minProps: number;
  readonly maxProps: number;
  /** Number of required properties in [i, n). */
  reqSuffix: number[];
  /** Filled by finishNodes: costs to the end of the object by (next candidate, properties written). */
  costs: ObjectCosts | undefined;
  /** Key tries by (start index, count) (candidates j >= i with no required property in [i, j)). */
  keyTries: Map<number, ByteTrie>;
}

/** One free-form member of an object: a key (a string node) and its value. */
export interface EntryNode extends NodeBase {
  readonly kind: "entry";
  readonly key: Node;
  value: Node;
}

export interface ArrayNode extends NodeBase {
  readonly kind: "array";
  /** Schemas of the first items, in order (prefixItems / tuple items). */
  readonly prefix: Node[];
  /** Schema of the items after the prefix, or null when no more may follow. */
  items: Node | null;
  readonly min: number;
  readonly max: number;
  /** Filled by finishNodes: tail[k] = cost of items k..min-1, each with its separator. */
  tail: number[];
}

/** Bytes of JSON text accepted by a byte automaton (bounded numbers, patterns, formats, regexes). */
export interface AutomatonNode extends NodeBase {
  readonly kind: "automaton";
  readonly dfa: ByteDfa;
}

export interface StringNode extends NodeBase {
  readonly kind: "string";
  /** Length bounds in characters (code points). */
  readonly min: number;
  readonly max: number;
}

export interface NumberNode extends NodeBase {
  readonly kind: "number";
  readonly integer: boolean;
}

/** A finite set of exact texts (enum, const, true/false/null). */
export interface LiteralNode extends NodeBase {
  readonly kind: "literal";
  readonly trie: ByteTrie;
}

export interface UnionNode extends NodeBase {
  readonly kind: "union";
  readonly options: Node[];
}

export interface RefNode extends NodeBase {
  readonly kind: "ref";
  target: Node | undefined;
}

export interface ToolSpec {
  readonly name: string;
  readonly nameBytes: Uint8Array;
  readonly params: Node;
}

/** `[TOOL_CALLS]name[ARGS]{json}`: one call to one of `tools`. */
export interface ToolCallNode extends NodeBase {
  readonly kind: "toolcall";
  readonly tools: ToolSpec[];
  readonly names: ByteTrie;
}

export type Node =
  | ObjectNode
  | EntryNode
  | ArrayNode
  | StringNode
  | NumberNode
  | AutomatonNode
  | LiteralNode
  | UnionNode
  | RefNode
  | ToolCallNode;

/** Symbols above the byte range: special tokens the grammar places. */
export const SYM_TOOL_CALLS = 256;
export const SYM_ARGS = 257;

/** Most digits in an integer part / fraction / exponent (keeps every number finite as a double). */
export const MAX_INT_DIGITS = 15;
export const MAX_FRAC_DIGITS = 15;
export const MAX_EXP_DIGITS = 2;
/** Most whitespace bytes (space, newline, tab) between two structural characters. */
export const MAX_WHITESPACE = 12;

import type { ByteDfa } from "./automaton/dfa";

const utf8 = new TextEncoder();
export const bytesOf = (s: string): Uint8Array => utf8.encode(s);

/** Builds nodes with fresh ids. */
export class NodeFactory {
  private next = 0;
  readonly all: Node[] = [];

  private add<T extends Node>(n: Omit<T, "id" | "minCost">): T {
    const node = { ...n, id: this.next++, minCost: Number.POSITIVE_INFINITY } as T;
    this.all.push(node);
    return node;
  }

  object(
    pointer: string,
    props: ObjectProp[],
    free: Node | null,
    minProps = 0,
    maxProps = Number.POSITIVE_INFINITY,
  ): ObjectNode {
    return this.add<ObjectNode>({
      kind: "object",
      pointer,
      props,
      free,
      minProps,
      maxProps,
      reqSuffix: [],
      costs: undefined,
      keyTries: new Map(),
    });
  }
  entry(pointer: string, key: Node, value: Node): EntryNode {
    return this.add<EntryNode>({ kind: "entry", pointer, key, value });
  }
  array(pointer: string, prefix: Node[], items: Node | null, min: number, max: number): ArrayNode {
    return this.add<ArrayNode>({ kind: "array", pointer, prefix, items, min, max, tail: [] });
  }
  automaton(pointer: string, dfa: ByteDfa): AutomatonNode {
    return this.add<AutomatonNode>({ kind: "automaton", pointer, dfa });
  }
  string(pointer: string, min: number, max: number): StringNode {
    return this.add<StringNode>({ kind: "string", pointer, min, max });
  }
  number(pointer: string, integer: boolean): NumberNode {
    return this.add<NumberNode>({ kind: "number", pointer, integer });
  }
  literal(pointer: string, texts: readonly string[]): LiteralNode {
    const trie = new ByteTrie();
    texts.forEach((t, i) => {
      trie.add(bytesOf(t), i);
    });
    return this.add<LiteralNode>({ kind: "literal", pointer, trie });
  }
  union(pointer: string, options: Node[]): UnionNode {
    return this.add<UnionNode>({ kind: "union", pointer, options });
  }
  ref(pointer: string): RefNode {
    return this.add<RefNode>({ kind: "ref", pointer, target: undefined });
  }
  toolCall(pointer: string, tools: ToolSpec[]): ToolCallNode {
    const names = new ByteTrie();
    tools.forEach((t, i) => {
      names.add(t.nameBytes, i);
    });
    return this.add<ToolCallNode>({ kind: "toolcall", pointer, tools, names });
  }

  /** Any JSON value (objects with any keys, arrays of anything, strings, numbers, literals). */
  anyValue(pointer: string): Node {
    const any = this.union(pointer, []);
    const anyString = this.string(pointer, 0, Number.POSITIVE_INFINITY);
    any.options.push(
      this.object(pointer, [], this.entry(pointer, anyString, any)),
      this.array(pointer, [], any, 0, Number.POSITIVE_INFINITY),
      anyString,
      this.number(pointer, false),
      this.literal(pointer, ["true", "false", "null"]),
    );
    return any;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Costs

const INF = Number.POSITIVE_INFINITY;

/** The cost tables of an object, by next candidate i (0..n) and properties written c (0..maxCount). */
export interface ObjectCosts {
  /** Largest count tracked: counts beyond behave alike. */
  readonly maxCount: number;
  /** after[i][c]: from "a property was just written, next candidate i, c written" to the end. */
  readonly after: number[][];
  /** next[i][c]: from "after a comma" to the end. */
  readonly next: number[][];
  /** From just after `{`. */
  readonly first: number;
}

/** Properties written, capped where larger counts behave the same. */
export function capCount(node: ObjectNode, c: number): number {
  if (Number.isFinite(node.maxProps)) return c;
  return Math.min(c, node.minProps);
}

function freeObjectCosts(node: ObjectNode, entry: number): ObjectCosts {
  const K = Number.isFinite(node.maxProps) ? node.maxProps : node.minProps;
  const after = new Array<number>(K + 1).fill(INF);
  const next = new Array<number>(K + 1).fill(INF);
  // Counts past K behave as K; at K the object can always close (K is the minimum, or the maximum).
  for (let c = K; c >= 0; c--) {
    const close = c >= node.minProps ? 1 : INF;
    next[c] = c < node.maxProps ? entry + (c === K ? close : after[c + 1]!) : INF;
    after[c] = Math.min(close, 1 + next[c]!);
  }
  const first = Math.min(node.minProps === 0 ? 1 : INF, node.maxProps >= 1 ? next[0]! : INF);
  return { maxCount: K, after: [after], next: [next], first };
}

/** Cost tables of an object from its members' current minCost (a fresh computation each call). */
export function objectCosts(node: ObjectNode): ObjectCosts {
  if (node.free !== null) return freeObjectCosts(node, node.free.minCost);
  const n = node.props.length;
  const K = Math.min(n, Number.isFinite(node.maxProps) ? node.maxProps : node.minProps);
  const req = new Array<number>(n + 1).fill(0);
  for (let k = n - 1; k >= 0; k--) req[k] = req[k + 1]! + (node.props[k]!.required ? 1 : 0);
  const after: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(K + 1).fill(INF));
  const next: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(K + 1).fill(INF));
  for (let i = n; i >= 0; i--) {
    for (let c = 0; c <= K; c++) {
      let best = INF;
      if (c < node.maxProps) {
        for (let j = i; j < n; j++) {
          const p = node.props[j]!;
          const rest = after[j + 1]![capCount(node, c + 1)] ?? INF;
          best = Math.min(best, p.keyBytes.length + 1 + p.node.minCost + rest);
          if (p.required) break;
        }
      }
      next[i]![c] = best;
      const close = req[i] === 0 && c >= node.minProps ? 1 : INF;
      after[i]![c] = Math.min(close, i < n && c < node.maxProps ? 1 + best : INF);
    }
  }
  const first = Math.min(
    req[0] === 0 && node.minProps === 0 ? 1 : INF,
    node.maxProps >= 1 ? next[0]![0]! : INF,
  );
  return { maxCount: K, after, next, first };
}

/** Cost of items k..min-1 of an array (each with the separator before it, but the first). */
function arrayTail(node: ArrayNode): number[] {
  const tail = new Array<number>(node.min + 1).fill(0);
  for (let k = node.min - 1; k >= 0; k--) {
    const item = arrayItem(node, k);
    tail[k] = tail[k + 1]! + 1 + (item === null ? INF : item.minCost);
  }
  return tail;
}

/** The schema of item k, or null when an array of the node cannot have k + 1 items. */
export function arrayItem(node: ArrayNode, k: number): Node | null {
  if (k >= node.max) return null;
  return node.prefix[k] ?? node.items;
}

function nodeCost(n: Node): number {
  switch (n.kind) {
    case "object":
      return 1 + objectCosts(n).first;
    case "entry":
      return n.key.minCost + 1 + n.value.minCost;
    case "array":
      // "[" items with separators "]": the tail counts one separator per item, the first has none.
      return n.min === 0 ? 2 : 1 + arrayTail(n)[0]!;
    case "string":
      return 2 + n.min;
    case "number":
      return 1;
    case "automaton":
      return n.dfa.dist[0]!;
    case "literal":
      return literalMin(n.trie);
    case "union":
      return Math.min(...n.options.map((o) => o.minCost));
    case "ref":
      return n.target?.minCost ?? INF;
    case "toolcall":
      return 1 + Math.min(...n.tools.map((t) => t.nameBytes.length + 1 + t.params.minCost));
  }
}

function literalMin(trie: ByteTrie): number {
  const depth = new Array<number>(trie.children.length).fill(0);
  let best = INF;
  for (let t = 0; t < trie.children.length; t++) {
    if (trie.terminal[t]! >= 0) best = Math.min(best, depth[t]!);
    for (const c of trie.children[t]!.values()) depth[c] = depth[t]! + 1;
  }
  return best;
}

/** Least-fixpoint of minCost over the whole graph, then the per-node tables that need it. */
export function finishNodes(all: readonly Node[]): void {
  for (let iter = 0; iter < 10_000; iter++) {
    let changed = false;
    for (const n of all) {
      const c = nodeCost(n);
      if (c < n.minCost) {
        n.minCost = c;
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (const n of all) {
    if (n.kind === "literal") n.trie.finishCosts(() => 0);
    else if (n.kind === "toolcall") n.names.finishCosts((k) => 1 + n.tools[k]!.params.minCost);
    else if (n.kind === "array") n.tail = arrayTail(n);
    else if (n.kind === "object") {
      n.reqSuffix = new Array<number>(n.props.length + 1).fill(0);
      for (let k = n.props.length - 1; k >= 0; k--)
        n.reqSuffix[k] = n.reqSuffix[k + 1]! + (n.props[k]!.required ? 1 : 0);
      n.costs = objectCosts(n);
      n.keyTries.clear();
    }
  }
}

/** The key trie of an object for candidates from index i with c properties written (built on first use). */
export function keyTrie(node: ObjectNode, i: number, c: number): ByteTrie {
  const costs = node.costs!;
  const id = i * (costs.maxCount + 1) + c;
  let trie = node.keyTries.get(id);
  if (trie === undefined) {
    trie = new ByteTrie();
    for (let j = i; j < node.props.length; j++) {
      trie.add(node.props[j]!.keyBytes, j);
      if (node.props[j]!.required) break;
    }
    const rest = costs.after;
    trie.finishCosts((j) => 1 + node.props[j]!.node.minCost + (rest[j + 1]![capCount(node, c + 1)] ?? INF));
    node.keyTries.set(id, trie);
  }
  return trie;
}

/** Cost from "a property was just written, next candidate i, c written" to the end of the object. */
export function objectAfterCost(node: ObjectNode, i: number, c: number): number {
  const costs = node.costs!;
  return (node.free !== null ? costs.after[0]![c] : costs.after[i]![c]) ?? INF;
}

/** Cost from "after a comma, next candidate i, c written" to the end of the object. */
export function objectNextCost(node: ObjectNode, i: number, c: number): number {
  const costs = node.costs!;
  return (node.free !== null ? costs.next[0]![c] : costs.next[i]?.[c]) ?? INF;
}

/** Cost from just after `{` to the end of the object. */
export function objectFirstCost(node: ObjectNode): number {
  return node.costs!.first;
}
