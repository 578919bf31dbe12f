/**
 * A request body checked against its zod schema; the first problem becomes a 400 whose `param` is the field's
 * path (`messages[0].content[1].type`) and whose message says, in the library's words, what was expected and
 * what was received.
 */
import type * as z from "zod/mini";
import { describe } from "../../errors";
import { badRequest, type HttpError } from "../errors";

export function parseBody<T extends z.ZodMiniType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data as z.infer<T>;
  throw issueError(result.error.issues[0]!, body);
}

type Issue = z.core.$ZodIssue;

function issueError(issue: Issue, body: unknown): HttpError {
  const path = issue.path as PropertyKey[];
  let expected: string;
  switch (issue.code) {
    case "invalid_type":
      expected = typeName(issue.expected);
      break;
    case "invalid_value":
      expected = oneOf(issue.values);
      break;
    case "too_small":
      expected = issue.message !== "Invalid input" ? issue.message : `at least ${String(issue.minimum)}`;
      break;
    case "invalid_union": {
      // When one alternative got further into the value than the others (an array of parts whose third part
      // is wrong), its problem is the one to report.
      const deepest = deepestAlternative(issue);
      if (deepest !== undefined) return issueError({ ...deepest, path: [...path, ...deepest.path] }, body);
      expected = issue.message;
      break;
    }
    default:
      expected = issue.message;
  }
  const param = formatPath(path);
  const received = valueAt(body, path);
  const message =
    param === ""
      ? `Expected ${expected} for the request body`
      : `Expected ${expected} for ${param} but received ${describe(received)}`;
  return badRequest(message, param === "" ? null : param);
}

function deepestAlternative(issue: Extract<Issue, { code: "invalid_union" }>): Issue | undefined {
  let best: Issue | undefined;
  for (const alternative of issue.errors) {
    const first = alternative[0];
    if (
      first !== undefined &&
      first.path.length > 0 &&
      (best === undefined || first.path.length > best.path.length)
    )
      best = first;
  }
  return best;
}

function typeName(expected: string): string {
  switch (expected) {
    case "int":
      return "an integer";
    case "array":
    case "object":
      return `an ${expected}`;
    default:
      return `a ${expected}`;
  }
}

function oneOf(values: readonly unknown[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length === 1 ? quoted[0]! : `one of ${quoted.join(", ")}`;
}

/** `messages[0].content[1].type` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
