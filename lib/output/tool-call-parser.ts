/**
 * Finds tool calls in content, for v11+ Mistral output `text[TOOL_CALLS]name[ARGS]{json}[TOOL_CALLS]…`,
 * following vLLM's `MistralToolParser` (`vllm/tool_parsers/mistral_tool_parser.py`):
 * - text before the first `[TOOL_CALLS]` is content; everything after it belongs to tool calls;
 * - a call's name runs up to `[ARGS]`, or up to the first "{" when the model wrote no `[ARGS]`;
 * - the arguments are the raw text up to the next `[TOOL_CALLS]` or the end, even when not valid JSON
 *   (so the model can see what it tried); a piece whose name never ends has no call, as in vLLM;
 * - each call gets a fresh id (9 random alphanumerics unless an id generator is injected).
 * Other special tokens are dropped.
 */

import type { OutputEvent, OutputPiece } from "./types";

export interface ToolCallTokenIds {
  /** Undefined when tool calls are not parsed: all text is content. */
  readonly toolCalls: number | undefined;
  readonly args: number | undefined;
}

export class ToolCallParser {
  private state: "content" | "name" | "arguments" = "content";
  private name = "";
  private index = -1;

  constructor(
    private readonly ids: ToolCallTokenIds,
    private readonly newId: () => string,
  ) {}

  push(piece: OutputPiece): OutputEvent[] {
    if (piece.kind === "special") return this.special(piece.id);
    switch (this.state) {
      case "content":
        return [{ type: "text", delta: piece.text }];
      case "arguments":
        return [{ type: "tool_call_delta", index: this.index, argumentsDelta: piece.text }];
      case "name": {
        const brace = piece.text.indexOf("{");
        if (brace < 0) {
          this.name += piece.text;
          return [];
        }
        this.name += piece.text.slice(0, brace);
        const events = this.startCall();
        events.push({ type: "tool_call_delta", index: this.index, argumentsDelta: piece.text.slice(brace) });
        return events;
      }
    }
  }

  /** Ends the open call, if any. */
  finish(): OutputEvent[] {
    const events = this.endCall();
    this.state = "content";
    return events;
  }

  private special(id: number): OutputEvent[] {
    if (id === this.ids.toolCalls) {
      const events = this.endCall();
      this.state = "name";
      this.name = "";
      return events;
    }
    if (id === this.ids.args && this.state === "name") return this.startCall();
    return [];
  }

  private startCall(): OutputEvent[] {
    this.state = "arguments";
    this.index++;
    return [{ type: "tool_call_start", index: this.index, id: this.newId(), name: this.name }];
  }

  private endCall(): OutputEvent[] {
    return this.state === "arguments" ? [{ type: "tool_call_end", index: this.index }] : [];
  }
}
