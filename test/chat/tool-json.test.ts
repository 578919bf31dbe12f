import { describe, expect, it } from "vitest";
import { toolCallArgumentsJson } from "../../lib/chat/index";
import type { ChatRequest } from "../../lib/chat/types";
import { expectGolden, NONE_SETTINGS, render } from "./golden";

function callWith(args: string | Record<string, unknown> | null): ChatRequest {
  return {
    messages: [
      { role: "user", content: "go" },
      { role: "assistant", tool_calls: [{ id: "abcDEF123", function: { name: "f", arguments: args } }] },
      { role: "tool", tool_call_id: "abcDEF123", content: "done" },
    ],
  };
}

function renderedArgs(args: string | Record<string, unknown> | null): string {
  const text = render(callWith(args)).text;
  return text.slice(text.indexOf("[ARGS]") + "[ARGS]".length, text.indexOf("</s>[TOOL_RESULTS]"));
}

describe("tool JSON", () => {
  it("writes non-ASCII tool definitions unescaped (ensure_ascii=False)", () => {
    const rendered = render({
      messages: [{ role: "user", content: "Météo ?" }],
      tools: [
        {
          type: "function",
          function: {
            name: "meteo_ok",
            description: "Température en °C — 東京 😀",
            parameters: {
              type: "object",
              properties: { ville: { type: "string", enum: ["Zürich", "Kraków"] } },
            },
          },
        },
      ],
    });
    expectGolden(
      rendered,
      '<s>[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "meteo_ok", ' +
        '"description": "Température en °C — 東京 😀", "parameters": {"type": "object", "properties": ' +
        '{"ville": {"type": "string", "enum": ["Zürich", "Kraków"]}}}}}][/AVAILABLE_TOOLS]' +
        `${NONE_SETTINGS}[INST]Météo ?[/INST]`,
    );
  });

  it("re-dumps call arguments with Python spacing, unicode and number formatting", () => {
    expect(renderedArgs('{"city":"Zürich","temp":21.0,"days":3,"eps":0.00001,"tags":["a","b"]}')).toBe(
      '{"city": "Zürich", "temp": 21.0, "days": 3, "eps": 1e-05, "tags": ["a", "b"]}',
    );
  });

  it("escapes control characters in arguments but not U+2028", () => {
    expect(renderedArgs('{"s": "line\\nbreak\u2028end"}')).toBe('{"s": "line\\nbreak\u2028end"}');
  });

  it("renders empty or missing arguments as {}", () => {
    expect(renderedArgs("")).toBe("{}");
    expect(renderedArgs(null)).toBe("{}");
  });

  it("dumps arguments given as an object", () => {
    expect(renderedArgs({ b: 1, a: "é" })).toBe('{"b": 1, "a": "é"}');
  });

  it("renders arguments that are not JSON as a JSON string, as mistral-common does", () => {
    expect(renderedArgs("not json")).toBe('"not json"');
    expect(toolCallArgumentsJson('{"a": 1')).toBe('"{\\"a\\": 1"');
  });
});
