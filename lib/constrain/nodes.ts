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
  /** Free-form keys: the schema of their values (only when props is empty), or null for none. */
  free: Node | null;
  /** Number of required properties in [i, n). */
  reqSuffix: number[];
  /** Key tries by start index (candidates j >= i with no required property in [i, j)). */
  keyTries: (ByteTrie | undefined)[];
}

export interface ArrayNode extends NodeBase {
  readonly kind: "array";
  items: Node;
  readonly min: number;
  readonly max: number;
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
  | ArrayNode
  | StringNode
  | NumberNode
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

  object(pointer: string, props: ObjectProp[], free: Node | null): ObjectNode {
    return this.add<ObjectNode>({ kind: "object", pointer, props, free, reqSuffix: [], keyTries: [] });
  }
  array(pointer: string, items: Node, min: number, max: number): ArrayNode {
    return this.add<ArrayNode>({ kind: "array", pointer, items, min, max });
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
      this.object(pointer, [], any),
      this.array(pointer, any, 0, Number.POSITIVE_INFINITY),
      anyString,
      this.number(pointer, false),
      this.literal(pointer, ["true", "false", "null"]),
    );
    return any;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Costs

function objectCloseCost(node: ObjectNode, i: number, wrote: boolean): number {
  if (node.props.length === 0) return 1;
  let cost = 1;
  let count = 0;
  for (let k = i; k < node.props.length; k++) {
    const p = node.props[k]!;
    if (!p.required) continue;
    cost += p.keyBytes.length + 1 + p.node.minCost;
    count++;
  }
  if (count === 0) return 1;
  return cost + (count - 1) + (wrote ? 1 : 0);
}

function nodeCost(n: Node): number {
  switch (n.kind) {
    case "object":
      return 1 + objectCloseCost(n, 0, false);
    case "array":
      return n.min === 0 ? 2 : 2 + n.min * n.items.minCost + (n.min - 1);
    case "string":
      return 2 + n.min;
    case "number":
      return 1;
    case "literal":
      return literalMin(n.trie);
    case "union":
      return Math.min(...n.options.map((o) => o.minCost));
    case "ref":
      return n.target?.minCost ?? Number.POSITIVE_INFINITY;
    case "toolcall":
      return 1 + Math.min(...n.tools.map((t) => t.nameBytes.length + 1 + t.params.minCost));
  }
}

function literalMin(trie: ByteTrie): number {
  const depth = new Array<number>(trie.children.length).fill(0);
  let best = Number.POSITIVE_INFINITY;
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
    else if (n.kind === "object") {
      n.reqSuffix = new Array<number>(n.props.length + 1).fill(0);
      for (let k = n.props.length - 1; k >= 0; k--)
        n.reqSuffix[k] = n.reqSuffix[k + 1]! + (n.props[k]!.required ? 1 : 0);
    }
  }
}

/** The key trie of an object for candidates from index i (built on first use). */
export function keyTrie(node: ObjectNode, i: number): ByteTrie {
  let trie = node.keyTries[i];
  if (trie === undefined) {
    trie = new ByteTrie();
    for (let j = i; j < node.props.length; j++) {
      trie.add(node.props[j]!.keyBytes, j);
      if (node.props[j]!.required) break;
    }
    trie.finishCosts((j) => 1 + node.props[j]!.node.minCost + objectAfterCost(node, j + 1));
    node.keyTries[i] = trie;
  }
  return trie;
}

/** Cost from "a property was just written, next candidate i" to the end of the object. */
export function objectAfterCost(node: ObjectNode, i: number): number {
  if (node.free !== null) return 1;
  const close = node.reqSuffix[i] === 0 ? 1 : Number.POSITIVE_INFINITY;
  const next = i < node.props.length ? 1 + objectNextCost(node, i) : Number.POSITIVE_INFINITY;
  return Math.min(close, next);
}

/** Cost from "after a comma, next candidate i" to the end of the object. */
export function objectNextCost(node: ObjectNode, i: number): number {
  if (node.free !== null) return 3 + node.free.minCost + 1;
  if (i >= node.props.length) return Number.POSITIVE_INFINITY;
  return keyTrie(node, i).minRemain[0]!;
}

/** Cost from just after `{` to the end of the object. */
export function objectFirstCost(node: ObjectNode): number {
  if (node.free !== null) return 1;
  const close = node.reqSuffix[0] === 0 ? 1 : Number.POSITIVE_INFINITY;
  return Math.min(close, objectNextCost(node, 0));
}
