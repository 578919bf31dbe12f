import { describe, expect, it } from "vitest";
import { ReasoningSplitter, TokenTextDecoder, ToolCallParser } from "../../lib/output/index";
import type { OutputPiece } from "../../lib/output/types";
import { SPECIAL_RANKS } from "../helpers/byte-tokenizer";
import { tokenizer } from "./streams";

const THINK = SPECIAL_RANKS["[THINK]"]!;
const END_THINK = SPECIAL_RANKS["[/THINK]"]!;
const TOOL_CALLS = SPECIAL_RANKS["[TOOL_CALLS]"]!;
const ARGS = SPECIAL_RANKS["[ARGS]"]!;

const text = (t: string): OutputPiece => ({ kind: "text", text: t });
const special = (id: number): OutputPiece => ({ kind: "special", id });

describe("ReasoningSplitter", () => {
  it("routes text between the first [THINK] and its [/THINK] to reasoning", () => {
    const splitter = new ReasoningSplitter({ think: THINK, endThink: END_THINK });
    const routed = [text("a"), special(THINK), text("r"), special(END_THINK), text("c")].map((p) =>
      splitter.push(p),
    );
    expect(routed).toEqual([
      { channel: "content", piece: text("a") },
      undefined,
      { channel: "reasoning", text: "r" },
      undefined,
      { channel: "content", piece: text("c") },
    ]);
    expect(splitter.inReasoning).toBe(false);
  });

  it("passes other special tokens to content but drops them inside reasoning", () => {
    const splitter = new ReasoningSplitter({ think: THINK, endThink: END_THINK });
    expect(splitter.push(special(TOOL_CALLS))).toEqual({ channel: "content", piece: special(TOOL_CALLS) });
    splitter.push(special(THINK));
    expect(splitter.inReasoning).toBe(true);
    expect(splitter.push(special(TOOL_CALLS))).toBeUndefined();
  });
});

describe("ToolCallParser", () => {
  it("takes the name up to the first brace when a text piece holds both", () => {
    const parser = new ToolCallParser({ toolCalls: TOOL_CALLS, args: ARGS }, () => "id0000000");
    expect(
      [special(TOOL_CALLS), text("get_"), text('w({"a"'), text(": 1}")].flatMap((p) => parser.push(p)),
    ).toEqual([
      { type: "tool_call_start", index: 0, id: "id0000000", name: "get_w(" },
      { type: "tool_call_delta", index: 0, argumentsDelta: '{"a"' },
      { type: "tool_call_delta", index: 0, argumentsDelta: ": 1}" },
    ]);
  });
});

describe("TokenTextDecoder", () => {
  it("keeps a byte-order mark at the start of the output", () => {
    const decoder = new TokenTextDecoder(tokenizer);
    const ids = [...new TextEncoder().encode("\ufeffx")].map((b) => b + 1000);
    expect(ids.flatMap((id) => decoder.push(id))).toEqual([text("\ufeff"), text("x")]);
  });
});
