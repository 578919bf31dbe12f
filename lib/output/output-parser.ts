/**
 * Turns generated token ids into streaming events and a final result, independent of the engine:
 * ids → UTF-8-safe text pieces (TokenTextDecoder) → reasoning vs content (ReasoningSplitter) →
 * text vs tool calls (ToolCallParser). Feeding the same ids in any split gives the same concatenated
 * deltas and the same result.
 */

import type { Tokenizer } from "../tokenizer/types";
import { DeclaredToolFilter } from "./declared-tool-filter";
import { ReasoningSplitter } from "./reasoning-splitter";
import { TokenTextDecoder } from "./token-text-decoder";
import { randomToolCallId } from "./tool-call-id";
import { ToolCallParser } from "./tool-call-parser";
import type { InvalidToolCall, OutputEvent, OutputPiece, ParsedOutput, ParsedToolCall } from "./types";

export interface OutputParserOptions {
  /** Split `[THINK]…[/THINK]` into reasoning (default true; needs the tokenizer's think tokens). */
  readonly reasoning?: boolean;
  /** Parse `[TOOL_CALLS]` into tool calls (default true). */
  readonly toolCalls?: boolean;
  /**
   * Names of the tools the request declared: a call naming another tool becomes an `invalid_tool_call`
   * event and goes to `invalidToolCalls`, never to `toolCalls`. Omitted: names are not checked.
   */
  readonly declaredTools?: readonly string[];
  /** The prompt ends inside an open `[THINK]` block (a continued message): output starts as reasoning. */
  readonly startInReasoning?: boolean;
  /** Id of each new tool call; defaults to 9 random alphanumerics. */
  readonly generateToolCallId?: () => string;
}

export class OutputParser {
  private readonly decoder: TokenTextDecoder;
  private readonly splitter: ReasoningSplitter | undefined;
  private readonly toolCalls: ToolCallParser;
  private readonly toolFilter: DeclaredToolFilter | undefined;
  private text = "";
  private reasoning = "";
  private readonly calls: { id: string; name: string; arguments: string }[] = [];
  private readonly invalidCalls: InvalidToolCall[] = [];
  private finished = false;

  constructor(tokenizer: Tokenizer, options: OutputParserOptions = {}) {
    this.decoder = new TokenTextDecoder(tokenizer);
    const think = tokenizer.findSpecialId("[THINK]");
    const endThink = tokenizer.findSpecialId("[/THINK]");
    this.splitter =
      options.reasoning === false || think === undefined
        ? undefined
        : new ReasoningSplitter({ think, endThink }, options.startInReasoning === true);
    this.toolCalls = new ToolCallParser(
      {
        toolCalls: options.toolCalls === false ? undefined : tokenizer.findSpecialId("[TOOL_CALLS]"),
        args: tokenizer.findSpecialId("[ARGS]"),
      },
      options.generateToolCallId ?? randomToolCallId,
    );
    this.toolFilter =
      options.declaredTools === undefined ? undefined : new DeclaredToolFilter(options.declaredTools);
  }

  /** Feeds generated ids; returns the events they complete (adjacent deltas of one kind merged). */
  push(ids: number | ArrayLike<number>): OutputEvent[] {
    if (this.finished) throw new Error("OutputParser.push called after finish()");
    const events: OutputEvent[] = [];
    for (const id of typeof ids === "number" ? [ids] : Array.from(ids)) {
      for (const piece of this.decoder.push(id)) this.route(piece, events);
    }
    return this.record(events);
  }

  /** Flushes pending bytes and closes an open tool call; returns the last events and the whole result. */
  finish(): { events: OutputEvent[]; result: ParsedOutput } {
    const events: OutputEvent[] = [];
    if (!this.finished) {
      for (const piece of this.decoder.finish()) this.route(piece, events);
      this.pushToolEvents(this.toolCalls.finish(), events);
      this.finished = true;
    }
    return { events: this.record(events), result: this.result };
  }

  /** The result so far (complete after finish()). */
  get result(): ParsedOutput {
    const toolCalls: ParsedToolCall[] = this.calls.map((c) => ({ ...c }));
    return {
      text: this.text,
      reasoning: this.reasoning,
      toolCalls,
      invalidToolCalls: [...this.invalidCalls],
    };
  }

  private route(piece: OutputPiece, events: OutputEvent[]): void {
    const routed =
      this.splitter === undefined ? { channel: "content" as const, piece } : this.splitter.push(piece);
    if (routed === undefined) return;
    if (routed.channel === "reasoning") events.push({ type: "reasoning", delta: routed.text });
    else this.pushToolEvents(this.toolCalls.push(routed.piece), events);
  }

  private pushToolEvents(parsed: readonly OutputEvent[], events: OutputEvent[]): void {
    for (const e of parsed) {
      if (this.toolFilter === undefined) events.push(e);
      else events.push(...this.toolFilter.push(e));
    }
  }

  private record(events: OutputEvent[]): OutputEvent[] {
    const merged = mergeDeltas(events);
    for (const e of merged) {
      if (e.type === "text") this.text += e.delta;
      else if (e.type === "reasoning") this.reasoning += e.delta;
      else if (e.type === "tool_call_start") this.calls.push({ id: e.id, name: e.name, arguments: "" });
      else if (e.type === "tool_call_delta") this.calls[e.index]!.arguments += e.argumentsDelta;
      else if (e.type === "invalid_tool_call") this.invalidCalls.push(e.call);
    }
    return merged;
  }
}

/** Parses a complete output at once. */
export function parseOutput(
  tokenizer: Tokenizer,
  ids: ArrayLike<number>,
  options: OutputParserOptions = {},
): ParsedOutput {
  const parser = new OutputParser(tokenizer, options);
  parser.push(ids);
  return parser.finish().result;
}

function mergeDeltas(events: readonly OutputEvent[]): OutputEvent[] {
  const out: OutputEvent[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (prev?.type === "text" && e.type === "text")
      out[out.length - 1] = { type: "text", delta: prev.delta + e.delta };
    else if (prev?.type === "reasoning" && e.type === "reasoning") {
      out[out.length - 1] = { type: "reasoning", delta: prev.delta + e.delta };
    } else if (prev?.type === "tool_call_delta" && e.type === "tool_call_delta" && prev.index === e.index) {
      out[out.length - 1] = { ...prev, argumentsDelta: prev.argumentsDelta + e.argumentsDelta };
    } else if (!isEmptyDelta(e)) out.push(e);
  }
  return out;
}

function isEmptyDelta(e: OutputEvent): boolean {
  return e.type === "text" || e.type === "reasoning"
    ? e.delta === ""
    : e.type === "tool_call_delta" && e.argumentsDelta === "";
}
