import { OutputParser, type OutputParserOptions } from "../../lib/output/index";
import type { InvalidToolCall, OutputEvent, ParsedOutput } from "../../lib/output/types";
import { ByteTokenizer } from "../helpers/byte-tokenizer";

export const tokenizer = new ByteTokenizer();

/** Ids "call00000", "call00001", … for each new parser. */
export function countingIds(): () => string {
  let n = 0;
  return () => `call${String(n++).padStart(5, "0")}`;
}

export interface StreamSummary {
  readonly text: string;
  readonly reasoning: string;
  readonly calls: { id: string; name: string; arguments: string; ended: boolean }[];
  /** invalid_tool_call events, in order. */
  readonly invalid: InvalidToolCall[];
  readonly result: ParsedOutput;
}

/** Feeds `ids` in the given chunks and summarises the events, checking each call's event order. */
export function feed(
  ids: readonly number[],
  chunks: readonly number[],
  options: OutputParserOptions = {},
): StreamSummary {
  const parser = new OutputParser(tokenizer, { generateToolCallId: countingIds(), ...options });
  const events: OutputEvent[] = [];
  let at = 0;
  for (const size of chunks) {
    events.push(...parser.push(ids.slice(at, at + size)));
    at += size;
  }
  events.push(...parser.push(ids.slice(at)));
  const { events: last, result } = parser.finish();
  events.push(...last);
  return summarize(events, result);
}

function summarize(events: readonly OutputEvent[], result: ParsedOutput): StreamSummary {
  let text = "";
  let reasoning = "";
  const calls: StreamSummary["calls"] = [];
  const invalid: InvalidToolCall[] = [];
  for (const e of events) {
    switch (e.type) {
      case "text":
        text += e.delta;
        break;
      case "reasoning":
        reasoning += e.delta;
        break;
      case "tool_call_start":
        if (e.index !== calls.length) throw new Error(`call ${e.index} started out of order`);
        calls.push({ id: e.id, name: e.name, arguments: "", ended: false });
        break;
      case "tool_call_delta": {
        const call = calls[e.index];
        if (call === undefined || call.ended)
          throw new Error(`delta for call ${e.index} outside its start/end`);
        call.arguments += e.argumentsDelta;
        break;
      }
      case "tool_call_end": {
        const call = calls[e.index];
        if (call === undefined || call.ended) throw new Error(`bad end for call ${e.index}`);
        call.ended = true;
        break;
      }
      case "invalid_tool_call":
        if (e.index !== invalid.length) throw new Error(`invalid call ${e.index} out of order`);
        invalid.push(e.call);
        break;
    }
  }
  return { text, reasoning, calls, invalid, result };
}

/** Every way of cutting the stream once, every fixed chunk size, and some seeded random partitions. */
export function splits(length: number): number[][] {
  const out: number[][] = [];
  for (let cut = 1; cut < length; cut++) out.push([cut]);
  for (let size = 1; size <= length; size++)
    out.push(Array.from({ length: Math.ceil(length / size) }, () => size));
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  for (let r = 0; r < 20; r++) {
    const parts: number[] = [];
    for (let left = length; left > 0; ) {
      const size = Math.min(left, (next() % 5) + 1);
      parts.push(size);
      left -= size;
    }
    out.push(parts);
  }
  return out;
}
