/**
 * Sampled ids → output events and the final text, for one request: OutputParser (UTF-8-safe text,
 * reasoning, tool calls) followed by stop-string matching on the content text. Stop strings are matched
 * within each run of content text (not in reasoning or tool-call arguments); an event of another kind
 * ends the run, releasing any text held back.
 */

import { OutputParser } from "../output/index";
import type { InvalidToolCall, OutputEvent, ParsedToolCall } from "../output/types";
import type { Tokenizer } from "../tokenizer/types";
import { StopStringMatcher } from "./stop-strings";

export interface OutputAssemblerOptions {
  readonly stop: readonly string[];
  /**
   * Names of the declared tools: `[TOOL_CALLS]` output is parsed, calls to these tools into `toolCalls` and
   * calls to any other name into `invalidToolCalls`. null: nothing is parsed as a tool call.
   */
  readonly tools: readonly string[] | null;
  /** The prompt ends inside an open `[THINK]` block (a continued message): output starts as reasoning. */
  readonly startInReasoning?: boolean;
}

export class OutputAssembler {
  text = "";
  reasoning = "";
  readonly toolCalls: { id: string; name: string; arguments: string }[] = [];
  readonly invalidToolCalls: InvalidToolCall[] = [];
  /** The stop string that ended the output, if one did. */
  stoppedBy: string | undefined;
  private readonly parser: OutputParser;
  private readonly matcher: StopStringMatcher;
  private pending: OutputEvent[] = [];
  private finished = false;

  constructor(tokenizer: Tokenizer, options: OutputAssemblerOptions) {
    this.parser = new OutputParser(tokenizer, {
      toolCalls: options.tools !== null,
      declaredTools: options.tools ?? undefined,
      startInReasoning: options.startInReasoning ?? false,
    });
    this.matcher = new StopStringMatcher(options.stop);
  }

  get stopped(): boolean {
    return this.stoppedBy !== undefined;
  }

  /** Feeds one sampled id; returns true once a stop string has completed. */
  push(id: number): boolean {
    if (this.stopped || this.finished) return this.stopped;
    for (const e of this.parser.push(id)) this.route(e);
    return this.stopped;
  }

  /** The end of the output: flushes the decoder and any text held back for stop matching. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stopped) return;
    for (const e of this.parser.finish().events) this.route(e);
    if (!this.stopped) this.emitText(this.matcher.flush());
  }

  /** Events ready for the caller since the last call, in order. */
  takeEvents(): OutputEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }

  get calls(): ParsedToolCall[] {
    return this.toolCalls.map((c) => ({ ...c }));
  }

  private route(e: OutputEvent): void {
    if (this.stopped) return;
    if (e.type === "text") {
      const { emit, stop } = this.matcher.push(e.delta);
      this.emitText(emit);
      this.stoppedBy = stop;
      return;
    }
    this.emitText(this.matcher.flush());
    this.pending.push(e);
    if (e.type === "reasoning") this.reasoning += e.delta;
    else if (e.type === "tool_call_start") this.toolCalls.push({ id: e.id, name: e.name, arguments: "" });
    else if (e.type === "tool_call_delta") this.toolCalls[e.index]!.arguments += e.argumentsDelta;
    else if (e.type === "invalid_tool_call") this.invalidToolCalls.push(e.call);
  }

  private emitText(delta: string): void {
    if (delta === "") return;
    this.text += delta;
    const last = this.pending[this.pending.length - 1];
    if (last?.type === "text")
      this.pending[this.pending.length - 1] = { type: "text", delta: last.delta + delta };
    else this.pending.push({ type: "text", delta });
  }
}
