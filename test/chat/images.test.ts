import { describe, expect, it } from "vitest";
import { roundHalfEven } from "../../lib/chat/image-tokens";
import { imageTokenGrid } from "../../lib/chat/index";
import type { ContentPart } from "../../lib/chat/types";
import { ChatFormatError, InvalidArgumentError } from "../../lib/errors";
import { MS4_IMAGE_CONFIG } from "../helpers/byte-tokenizer";
import { expectGolden, NONE_SETTINGS, render } from "./golden";

/** The `[IMG]` run of a columns × rows grid, written out by hand. */
function imageRun(columns: number, rows: number): string {
  const run = `${"[IMG]".repeat(columns)}[IMG_BREAK]`.repeat(rows);
  return `${run.slice(0, -"[IMG_BREAK]".length)}[IMG_END]`;
}

function renderImage(width: number, height: number, text = "x"): string {
  const content: ContentPart[] = [
    { type: "text", text },
    { type: "image", width, height },
  ];
  return render({ messages: [{ role: "user", content }] }).text;
}

describe("image token grid", () => {
  it.each([
    [28, 28, 1, 1],
    [29, 29, 2, 2],
    [56, 28, 2, 1],
    [28, 56, 1, 2],
    [1540, 1540, 55, 55],
    [3000, 1000, 55, 19],
    [3080, 561, 55, 10],
    [10, 5000, 1, 55],
  ])("%ix%i gives %i columns × %i rows", (w, h, columns, rows) => {
    expect(imageTokenGrid(w, h, MS4_IMAGE_CONFIG)).toEqual({ columns, rows });
  });

  it("rounds halves to even as Python's round() does", () => {
    expect([0.5, 1.5, 2.5, 280.5, 281.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 280, 282, 2, 3]);
  });
});

describe("images in prompts", () => {
  it("renders a 28x28 image as one [IMG] and [IMG_END], moved before the text", () => {
    expectGolden(
      render({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image", width: 28, height: 28 },
            ],
          },
        ],
      }),
      `<s>${NONE_SETTINGS}[INST][IMG][IMG_END]What is this?[/INST]`,
    );
  });

  it.each([
    [56, 28, 2, 1],
    [28, 56, 1, 2],
    [1540, 1540, 55, 55],
    [3000, 1000, 55, 19],
  ])(
    "lays out a %ix%i image as rows of [IMG] with [IMG_BREAK] and a final [IMG_END]",
    (w, h, columns, rows) => {
      expect(renderImage(w, h)).toBe(`<s>${NONE_SETTINGS}[INST]${imageRun(columns, rows)}x[/INST]`);
    },
  );

  it("keeps images in place when the content is not text followed by one image", () => {
    const rendered = render({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "image", width: 28, height: 28 },
            { type: "text", text: "b" },
          ],
        },
      ],
    });
    expectGolden(rendered, `<s>${NONE_SETTINGS}[INST]a[IMG][IMG_END]b[/INST]`);
  });

  it("reports where each image's tokens are", () => {
    const rendered = render({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", width: 56, height: 56 },
            { type: "text", text: "and" },
            { type: "image", width: 28, height: 28 },
          ],
        },
      ],
    });
    const [first, second] = rendered.images;
    expect(first).toMatchObject({ columns: 2, rows: 2, tokenCount: 6 });
    expect(second).toMatchObject({ columns: 1, rows: 1, tokenCount: 2 });
    expect(rendered.tokens[first!.tokenOffset]).toBe(10);
    expect(rendered.tokens[second!.tokenOffset + 1]).toBe(13);
  });

  it("sizes image_url parts through resolveImageSize", () => {
    const rendered = render(
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "x" },
              { type: "image_url", image_url: { url: "file:///a.png" } },
            ],
          },
        ],
      },
      {
        resolveImageSize: (url) =>
          url === "file:///a.png" ? { width: 56, height: 28 } : { width: 0, height: 0 },
      },
    );
    expect(rendered.text).toBe(`<s>${NONE_SETTINGS}[INST][IMG][IMG][IMG_END]x[/INST]`);
  });

  it("refuses image_url parts when no size resolver is given", () => {
    expect(() =>
      render({
        messages: [{ role: "user", content: [{ type: "image_url", image_url: "data:image/png;base64,AA" }] }],
      }),
    ).toThrow(InvalidArgumentError);
  });

  it("refuses an image so thin that scaling leaves it no pixels", () => {
    expect(() => renderImage(1, 5000)).toThrow(ChatFormatError);
    expect(() => renderImage(1, 5000)).toThrow(/1x5000/);
  });

  it("renders an image inside a tool result", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "Use the tool" },
        { role: "assistant", tool_calls: [{ id: "test12345", function: { name: "fn", arguments: "{}" } }] },
        {
          role: "tool",
          tool_call_id: "test12345",
          content: [
            { type: "text", text: "result" },
            { type: "image", width: 4, height: 4 },
          ],
        },
      ],
    });
    expect(rendered.text.endsWith("[TOOL_RESULTS]result[IMG][IMG_END][/TOOL_RESULTS]")).toBe(true);
  });
});
