/**
 * From the request fields (responseFormat, tools, toolChoice) to the answer grammar: checks every field
 * (InvalidArgumentError naming it), compiles the schemas, and caches compiled grammars per tokenizer so a
 * repeated schema reuses its mask caches.
 */

import { InvalidArgumentError } from "../errors";
import type { ByteDfa } from "./automaton/dfa";
import { AutomatonError } from "./automaton/nfa";
import { fullMatchDfa } from "./automaton/string-language";
import { compileTools, SchemaCompiler } from "./compile-schema";
import { Grammar } from "./grammar";
import type { Node, ToolSpec } from "./nodes";
import type { TokenTable } from "./token-table";

export type ResolvedResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | { readonly type: "json_schema"; readonly schema: unknown; readonly argument: string }
  | { readonly type: "regex"; readonly pattern: string }
  | { readonly type: "choice"; readonly choices: readonly string[] };

export type ResolvedToolChoice =
  | { readonly type: "auto" }
  | { readonly type: "none" }
  | { readonly type: "required" }
  | { readonly type: "function"; readonly name: string };

export interface ToolDefinitionLike {
  readonly type?: unknown;
  readonly function?: { readonly name?: unknown; readonly parameters?: unknown } | null;
}

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Most choices of a choice response format. */
export const MAX_CHOICES = 4096;

/**
 * `{type:"text"}`, `{type:"json_object"}`, `{type:"json_schema", schema}`, OpenAI's
 * `{type:"json_schema", json_schema:{name, schema, strict?}}`, `{type:"regex", pattern}` or
 * `{type:"choice", choices}`.
 */
export function checkResponseFormat(v: unknown): ResolvedResponseFormat {
  if (v === undefined || v === null) return { type: "text" };
  const expected =
    '{ type: "text" }, { type: "json_object" }, { type: "json_schema", schema }, { type: "json_schema", json_schema: { name, schema } }, { type: "regex", pattern } or { type: "choice", choices }';
  if (!isObject(v)) throw new InvalidArgumentError("responseFormat", expected, v);
  if (v.type === "text" || v.type === "json_object") return { type: v.type };
  if (v.type === "regex") {
    if (typeof v.pattern !== "string")
      throw new InvalidArgumentError("responseFormat.pattern", "a regular expression (a string)", v.pattern);
    return { type: "regex", pattern: v.pattern };
  }
  if (v.type === "choice") {
    const c = v.choices;
    if (
      !Array.isArray(c) ||
      c.length === 0 ||
      c.length > MAX_CHOICES ||
      !c.every((x) => typeof x === "string")
    )
      throw new InvalidArgumentError("responseFormat.choices", `an array of 1 to ${MAX_CHOICES} strings`, c);
    return { type: "choice", choices: c as string[] };
  }
  if (v.type !== "json_schema")
    throw new InvalidArgumentError(
      "responseFormat.type",
      '"text", "json_object", "json_schema", "regex" or "choice"',
      v.type,
    );
  if (v.json_schema !== undefined) {
    const js = v.json_schema;
    if (!isObject(js))
      throw new InvalidArgumentError("responseFormat.json_schema", "an object { name, schema, strict? }", js);
    if (js.name !== undefined && typeof js.name !== "string")
      throw new InvalidArgumentError("responseFormat.json_schema.name", "a string", js.name);
    if (js.strict !== undefined && js.strict !== null && typeof js.strict !== "boolean")
      throw new InvalidArgumentError("responseFormat.json_schema.strict", "a boolean", js.strict);
    if (js.schema === undefined)
      throw new InvalidArgumentError("responseFormat.json_schema.schema", "a JSON schema", undefined);
    return { type: "json_schema", schema: js.schema, argument: "responseFormat.json_schema.schema" };
  }
  if (v.schema === undefined)
    throw new InvalidArgumentError("responseFormat.schema", "a JSON schema", undefined);
  return { type: "json_schema", schema: v.schema, argument: "responseFormat.schema" };
}

/** "auto" | "none" | "required" | { type: "function", function: { name } } | { name }. */
export function checkToolChoice(v: unknown): ResolvedToolChoice {
  if (v === undefined || v === null || v === "auto") return { type: "auto" };
  if (v === "none" || v === "required") return { type: v };
  const expected = '"auto", "none", "required", { type: "function", function: { name } } or { name }';
  if (!isObject(v)) throw new InvalidArgumentError("toolChoice", expected, v);
  const fn = v.function;
  if (isObject(fn)) {
    if (v.type !== undefined && v.type !== "function")
      throw new InvalidArgumentError("toolChoice.type", '"function"', v.type);
    if (typeof fn.name !== "string")
      throw new InvalidArgumentError("toolChoice.function.name", "a string", fn.name);
    return { type: "function", name: fn.name };
  }
  if (typeof v.name === "string") return { type: "function", name: v.name };
  throw new InvalidArgumentError("toolChoice", expected, v);
}

/** Checks the shape of each tool (type "function", a valid name, unique names). Schemas are checked when compiled. */
export function checkTools(tools: unknown): { name: string; parameters: unknown }[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new InvalidArgumentError("tools", "an array of function tools", tools);
  const names = new Set<string>();
  return tools.map((tool: unknown, i) => {
    if (!isObject(tool))
      throw new InvalidArgumentError(
        `tools[${i}]`,
        '{ type: "function", function: { name, parameters } }',
        tool,
      );
    if (tool.type !== "function") throw new InvalidArgumentError(`tools[${i}].type`, '"function"', tool.type);
    const fn = tool.function;
    if (!isObject(fn))
      throw new InvalidArgumentError(
        `tools[${i}].function`,
        "an object { name, description?, parameters? }",
        fn,
      );
    if (typeof fn.name !== "string" || !FUNCTION_NAME.test(fn.name))
      throw new InvalidArgumentError(
        `tools[${i}].function.name`,
        "1 to 64 characters a-z, A-Z, 0-9, _ or -",
        fn.name,
      );
    if (names.has(fn.name))
      throw new InvalidArgumentError(`tools[${i}].function.name`, "a name no other tool has", fn.name);
    names.add(fn.name);
    if (fn.parameters !== undefined && fn.parameters !== null && !isObject(fn.parameters))
      throw new InvalidArgumentError(
        `tools[${i}].function.parameters`,
        "a JSON schema object",
        fn.parameters,
      );
    const type = isObject(fn.parameters) ? fn.parameters.type : undefined;
    if (type !== undefined && type !== "object" && !(Array.isArray(type) && type.includes("object")))
      throw new InvalidArgumentError(
        `tools[${i}].function.parameters`,
        'a schema describing a JSON object (type: "object")',
        fn.parameters,
      );
    return { name: fn.name, parameters: fn.parameters ?? undefined };
  });
}

export interface GrammarRequest {
  readonly responseFormat: ResolvedResponseFormat;
  readonly tools: readonly { name: string; parameters: unknown }[];
  readonly toolChoice: ResolvedToolChoice;
}

const MAX_CACHED_GRAMMARS = 64;
const grammarCaches = new WeakMap<TokenTable, Map<string, Grammar | null>>();

/**
 * The grammar of the answer, or null when the answer is free text. Tool parameters are compiled (and so
 * validated) when they constrain the output. Forced tool calls win over responseFormat; with toolChoice
 * "auto", tools and a JSON responseFormat, the answer is either the JSON document or one tool call.
 */
export function buildGrammar(table: TokenTable, req: GrammarRequest): Grammar | null {
  let cache = grammarCaches.get(table);
  if (cache === undefined) {
    cache = new Map();
    grammarCaches.set(table, cache);
  }
  const key = JSON.stringify([req.responseFormat, req.tools, req.toolChoice]);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const grammar = compileGrammar(table, req);
  if (cache.size >= MAX_CACHED_GRAMMARS) cache.delete(cache.keys().next().value!);
  cache.set(key, grammar);
  return grammar;
}

function compileGrammar(table: TokenTable, req: GrammarRequest): Grammar | null {
  const compiler = new SchemaCompiler("responseFormat.schema");
  const { responseFormat: rf, toolChoice: choice } = req;
  let answer: Node | undefined;
  if (rf.type === "json_schema") answer = compiler.compile(rf.schema, rf.argument);
  else if (rf.type === "json_object") answer = compiler.anyObject();
  else if (rf.type === "regex") answer = compiler.factory.automaton("#", regexAutomaton(rf.pattern));
  else if (rf.type === "choice") answer = compiler.factory.literal("#", rf.choices);
  // Tool schemas only shape the output when a call is forced, or offered beside a JSON answer; under plain
  // "auto" / "none" the model writes calls freely and the output parser reads them.
  const toolsConstrained =
    choice.type === "required" ||
    choice.type === "function" ||
    (choice.type === "auto" && answer !== undefined);
  const specs = toolsConstrained
    ? compileTools(compiler, req.tools, (i) => `tools[${i}].function.parameters`)
    : [];

  const f = compiler.factory;
  const toolCall = (list: ToolSpec[]): Node => {
    if (table.toolCallsId === undefined || table.argsId === undefined)
      throw new InvalidArgumentError("toolChoice", "a tokenizer with [TOOL_CALLS] and [ARGS] tokens", choice);
    return f.toolCall("#", list);
  };
  let root: Node | undefined = answer;
  if (choice.type === "required") {
    if (specs.length === 0)
      throw new InvalidArgumentError(
        "toolChoice",
        'tools to choose from when toolChoice is "required"',
        "no tools",
      );
    root = toolCall(specs);
  } else if (choice.type === "function") {
    const spec = specs.find((s) => s.name === choice.name);
    if (spec === undefined) {
      throw new InvalidArgumentError(
        "toolChoice.function.name",
        `the name of a declared tool (${specs.map((s) => s.name).join(", ") || "no tools declared"})`,
        choice.name,
      );
    }
    root = toolCall([spec]);
  } else if (choice.type === "auto" && answer !== undefined && specs.length > 0) {
    root = f.union("#", [answer, toolCall(specs)]);
  }
  compiler.finish(root === undefined ? specs.map((s) => s.params) : [root]);
  for (const s of specs) {
    if (!Number.isFinite(s.params.minCost))
      throw new InvalidArgumentError(
        `tools[${specs.indexOf(s)}].function.parameters`,
        "a schema that some finite JSON document satisfies",
        "a schema whose recursion never ends",
      );
  }
  return root === undefined ? null : new Grammar(table, root);
}

/** The automaton of texts the whole of which match `pattern`. */
function regexAutomaton(pattern: string): ByteDfa {
  try {
    return fullMatchDfa(pattern);
  } catch (e) {
    if (e instanceof AutomatonError)
      throw new InvalidArgumentError(
        "responseFormat.pattern",
        `a supported regular expression: ${e.message}`,
        pattern,
      );
    throw e;
  }
}
