/**
 * Keeps tool calls to the declared tools apart from calls naming anything else. A call's name is complete at
 * its `tool_call_start`, so a valid call streams as it is written (start, argument deltas, end, indexed among
 * valid calls only) while an invalid one is held back and sent whole as one `invalid_tool_call` event when it
 * ends (indexed among invalid calls). Other events pass through unchanged.
 */

import type { InvalidToolCall, OutputEvent } from "./types";

type Route =
  | { readonly valid: true; readonly index: number }
  | { readonly valid: false; id: string; name: string; arguments: string };

export class DeclaredToolFilter {
  private readonly declared: ReadonlySet<string>;
  /** By the parser's call index. */
  private readonly routes = new Map<number, Route>();
  private validCount = 0;
  private invalidCount = 0;

  constructor(declaredTools: readonly string[]) {
    this.declared = new Set(declaredTools);
  }

  push(e: OutputEvent): OutputEvent[] {
    switch (e.type) {
      case "tool_call_start": {
        if (this.declared.has(e.name)) {
          const index = this.validCount++;
          this.routes.set(e.index, { valid: true, index });
          return [{ ...e, index }];
        }
        this.routes.set(e.index, { valid: false, id: e.id, name: e.name, arguments: "" });
        return [];
      }
      case "tool_call_delta": {
        const route = this.route(e.index);
        if (route.valid) return [{ ...e, index: route.index }];
        route.arguments += e.argumentsDelta;
        return [];
      }
      case "tool_call_end": {
        const route = this.route(e.index);
        if (route.valid) return [{ ...e, index: route.index }];
        return [{ type: "invalid_tool_call", index: this.invalidCount++, call: this.invalid(route) }];
      }
      default:
        return [e];
    }
  }

  private route(index: number): Route {
    const route = this.routes.get(index);
    if (route === undefined) throw new Error(`DeclaredToolFilter: tool call ${index} was never started`);
    return route;
  }

  private invalid(route: Extract<Route, { valid: false }>): InvalidToolCall {
    const declared = [...this.declared];
    return {
      id: route.id,
      name: route.name,
      arguments: route.arguments,
      reason: "unknown_tool",
      message:
        `the model called ${JSON.stringify(route.name)}, which is not a declared tool ` +
        `(declared: ${declared.length > 0 ? declared.join(", ") : "none"})`,
    };
  }
}
